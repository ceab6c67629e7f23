"""The plots of :mod:`tunesmith.visualization` drawn with matplotlib, from the same info dataclasses.

Each returns the ``Axes`` it drew on (an array of them for panelled plots), like Optuna's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tunesmith.importance import BaseImportanceEvaluator
from tunesmith.trial import FrozenTrial
from tunesmith.visualization._common import Target, import_matplotlib
from tunesmith.visualization._contour import ContourInfo, _contour_info
from tunesmith.visualization._edf import edf_infos
from tunesmith.visualization._intermediate_values import ReportTarget, _intermediate_values_info
from tunesmith.visualization._optimization_history import _DEFAULT_POINTS as _HISTORY_POINTS
from tunesmith.visualization._optimization_history import (
    ErrorBarHistoryInfo,
    _optimization_history_info,
    error_bar_history_info,
    split_studies,
)
from tunesmith.visualization._parallel_coordinate import _parallel_coordinate_info
from tunesmith.visualization._param_importances import param_importances_infos
from tunesmith.visualization._pareto_front import _DEFAULT_HV_POINTS as _HV_POINTS
from tunesmith.visualization._pareto_front import _hypervolume_history_info, _pareto_front_info
from tunesmith.visualization._rank import _rank_info
from tunesmith.visualization._slice import _slice_info
from tunesmith.visualization._timeline import _COLORS, _timeline_info

__all__ = [
    "plot_contour", "plot_edf", "plot_hypervolume_history", "plot_intermediate_values", "plot_optimization_history",
    "plot_parallel_coordinate", "plot_param_importances", "plot_pareto_front", "plot_rank", "plot_slice",
    "plot_timeline",
]


def plot_optimization_history(
    study: Any, *, target: Target | None = None, target_name: str = "Objective Value", error_bar: bool = False,
    max_trials: int | None = _HISTORY_POINTS,
) -> Any:
    """Each trial's value (points) and the best so far (a step line; ``ax.lines[0]`` for one study).

    ``study`` may be a sequence of studies: one colour each, legend by study name; with
    ``error_bar=True`` their mean and standard deviation per trial number instead.

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=10)
    >>> ax = plot_optimization_history(study)
    >>> ax.get_ylabel()
    'Objective Value'
    """
    named = split_studies(study)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    if error_bar:
        studies = [s for _, s in named] if named is not None else [study]
        _history_error_bar(ax, error_bar_history_info(studies, target, target_name, max_trials))
        return ax
    if named is None or len(named) == 1:  # one study: plain labels
        named = [("", study if named is None else named[0][1])]
    infos = [(name, _optimization_history_info(s, target, target_name, max_trials)) for name, s in named]
    several = len(infos) > 1
    for k, (name, info) in enumerate(infos):
        of = f" of {name}" if name else ""
        point_color, line_color = (f"C{k % 10}", f"C{k % 10}") if several else ("#1f77b4", "#d62728")
        if len(info.best_numbers):
            ax.step(info.best_numbers, info.best_values, where="post", color=line_color, label="Best Value" + of)
        ax.scatter(info.numbers, info.values, s=6, color=point_color, label=info.target_name + of,
                   alpha=0.6 if several else 1.0)
        if len(info.running_numbers):
            ax.scatter(info.running_numbers, info.running_values, s=20, facecolors="none",
                       edgecolors=point_color if several else "gray", label="Running" + of)
    ax.set(title="Optimization History Plot", xlabel="Trial", ylabel=target_name)
    ax.legend()
    return ax


def _history_error_bar(ax: Any, info: ErrorBarHistoryInfo) -> None:
    """Mean values with their standard deviation as error bars; the mean best so far with a band."""
    if len(info.best_numbers):
        ax.step(info.best_numbers, info.best_mean, where="post", color="#d62728", label="Best Value")
        ax.fill_between(info.best_numbers, info.best_mean - info.best_std, info.best_mean + info.best_std,
                        step="post", color="#d62728", alpha=0.2, label="Std of Best Value")
    ax.errorbar(info.numbers, info.value_mean, yerr=info.value_std, fmt="o", markersize=2, color="#1f77b4",
                elinewidth=0.8, label=info.target_name)
    ax.set(title=f"Optimization History Plot over {info.n_studies} studies", xlabel="Trial", ylabel=info.target_name)
    ax.legend()


def plot_intermediate_values(
    study: Any, *, target: ReportTarget | None = None, target_name: str | None = None, max_trials: int | None = 100,
    metric: str | None = None,
) -> Any:
    """One line per trial's reports (``ax.lines``, in trial order); running trials dashed, "(running)" in the label.

    ``target``: a reported metric's name or ``metrics dict -> float`` (``metric=``: a name, the older spelling).
    """
    info = _intermediate_values_info(study, target, target_name, max_trials, metric=metric)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    for c in info.curves:
        running = c.state == "RUNNING"
        ax.plot(c.steps, c.values, marker=".", linestyle="--" if running else "-",
                label=f"Trial{c.number}" + (" (running)" if running else ""))
    ax.set(title="Intermediate Values Plot", xlabel="Step", ylabel=info.target_name)
    if 0 < len(info.curves) <= 20:
        ax.legend()
    return ax


def plot_parallel_coordinate(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", max_trials: int | None = 1000,
) -> Any:
    """Lines through the target and each parameter, each axis scaled to [0, 1] (log axes in log10)."""
    info = _parallel_coordinate_info(study, params, target, target_name, max_trials)
    plt = import_matplotlib()
    from matplotlib.collections import LineCollection

    _, ax = plt.subplots()
    dims = [info.target, *info.dimensions]
    cols = []
    for d in dims:
        v = np.log10(d.values) if d.log and d.range[0] > 0 else d.values
        lo, hi = np.nanmin(v) if len(v) else 0.0, np.nanmax(v) if len(v) else 1.0
        cols.append((v - lo) / (hi - lo) if hi > lo else np.full(len(v), 0.5))
    ys = np.array(cols).T  # (trials, axes)
    xs = np.arange(len(dims), dtype=float)
    segments = [np.column_stack([xs, row]) for row in ys]
    lines = LineCollection(segments, cmap="Blues_r" if not info.maximize else "Blues", alpha=0.6, linewidths=0.8)
    lines.set_array(info.target.values)
    ax.add_collection(lines)
    ax.set_xlim(-0.1, len(dims) - 0.9)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(xs, [d.label + (" (log)" if d.log else "") for d in dims], rotation=30)
    ax.set_yticks([])
    ax.set_title("Parallel Coordinate Plot")
    plt.colorbar(lines, ax=ax, label=info.target.label)
    return ax


def plot_slice(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", max_trials: int | None = 2000,
) -> Any:
    """One scatter panel per parameter (x: the parameter's values); returns the array of axes."""
    info = _slice_info(study, params, target, target_name, max_trials)
    plt = import_matplotlib()
    _, axes = plt.subplots(1, max(len(info.panels), 1), sharey=True, squeeze=False)
    for ax, p in zip(axes[0], info.panels, strict=False):
        ax.scatter(p.x, p.y, c=p.numbers, cmap="Blues", s=6)
        ax.set_xlabel(p.param)
        if p.log:
            ax.set_xscale("log")
        if p.labels is not None:
            ax.set_xticks(range(len(p.labels)), p.labels)
    axes[0][0].set_ylabel(info.target_name)
    axes[0][0].figure.suptitle("Slice Plot")
    return axes[0]


def plot_param_importances(
    study: Any, evaluator: BaseImportanceEvaluator | None = None, params: Sequence[str] | None = None, *,
    target: Target | None = None, target_name: str = "Objective Value", max_trials: int | None = 20000,
) -> Any:
    """Horizontal bars, most important on top (``ax.patches`` in the order drawn: least first);
    several objectives without ``target``: one bar set per objective (``ax.containers``), with a legend."""
    infos = param_importances_infos(study, evaluator, params, target, target_name, max_trials)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    names = infos[0].params[::-1]
    height = 0.8 / len(infos)
    for k, info in enumerate(infos):
        # the first objective's bar on top within each parameter's group
        offset = 0.0 if len(infos) == 1 else (len(infos) - 1 - 2 * k) * height / 2
        ax.barh(np.arange(len(names)) + offset, info.importances[::-1], height=height,
                color="#1f77b4" if len(infos) == 1 else f"C{k % 10}", label=info.target_name)
    ax.set_yticks(np.arange(len(names)), names)
    several = len(infos) > 1
    ax.set(title="Hyperparameter Importances", ylabel="Hyperparameter",
           xlabel="Importance" if several else f"Importance for {infos[0].target_name}")
    if several:
        ax.legend()
    return ax


def plot_contour(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", resolution: int = 30, max_trials: int | None = 500,
) -> Any:
    """Binned mean target per pair of parameters (``pcolormesh``), sampled trials on top."""
    info = _contour_info(study, params, target, target_name, resolution, max_trials)
    return _draw_panels(info, "Contour Plot")


def plot_rank(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", resolution: int = 30, max_trials: int | None = 500,
) -> Any:
    """Mean rank (0 best, 1 worst) of the trials in each cell, per pair of parameters."""
    return _draw_panels(_rank_info(study, params, target, target_name, resolution, max_trials), "Rank Plot")


def _draw_panels(info: ContourInfo, title: str) -> Any:
    plt = import_matplotlib()
    n = len(info.params)
    panels = info.panels[:1] if n == 2 else info.panels
    _, axes = plt.subplots(1 if n == 2 else n, 1 if n == 2 else n, squeeze=False)
    index = {p: i for i, p in enumerate(info.params)}
    for panel in panels:
        ax = axes[0][0] if n == 2 else axes[index[panel.y_param]][index[panel.x_param]]
        z = panel.z if panel.surface is None else panel.surface
        mesh = ax.pcolormesh(panel.x, panel.y, np.ma.masked_invalid(z), cmap="Blues_r", shading="nearest")
        ax.scatter(panel.points_x, panel.points_y, s=3, color="black", alpha=0.5)
        ax.set(xlabel=panel.x_param, ylabel=panel.y_param)
        if panel.x_log:
            ax.set_xscale("log")
        if panel.y_log:
            ax.set_yscale("log")
        if panel.x_labels is not None:
            ax.set_xticks(range(len(panel.x_labels)), panel.x_labels)
        if panel.y_labels is not None:
            ax.set_yticks(range(len(panel.y_labels)), panel.y_labels)
    if n == 2:
        plt.colorbar(mesh, ax=axes[0][0], label=info.target_name)
    for i in range(n if n > 2 else 0):
        axes[i][i].set_axis_off()
    axes[0][0].figure.suptitle(title)
    return axes[0][0] if n == 2 else axes


def plot_timeline(study: Any, *, max_trials: int | None = 2000) -> Any:
    """One horizontal bar per trial (start to finish, now for running ones), coloured by state."""
    info = _timeline_info(study, max_trials)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    states = np.array(info.states)
    for state in [s for s in _COLORS if s in set(info.states)]:
        m = states == state
        ax.barh(info.numbers[m], info.ends[m] - info.starts[m], left=info.starts[m], color=_COLORS[state], label=state)
    ax.set(title="Timeline Plot", xlabel="Time (Unix seconds)", ylabel="Trial")
    if info.states:
        ax.legend()
    return ax


def plot_pareto_front(
    study: Any, *, target_names: Sequence[str] | None = None, include_dominated_trials: bool = True,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None, max_trials: int | None = 5000,
) -> Any:
    """Trials in objective space, the front in red (the last collection): 2 objectives on a plane,
    3 on a 3-D Axes (``ax.name == "3d"``)."""
    info = _pareto_front_info(study, target_names, include_dominated_trials, targets, max_trials)
    plt = import_matplotlib()
    three = len(info.target_names) == 3
    if three:
        ax = plt.figure().add_subplot(projection="3d")
    else:
        _, ax = plt.subplots()
    for name, vals, size, color in (
        ("Infeasible Trial", info.infeasible_values, 6, "#f2b8b8"), ("Trial", info.dominated_values, 6, "#aaaaaa"),
        ("Best Trial", info.front_values, 12, "#d62728"),
    ):
        if name != "Best Trial" and not len(vals):
            continue
        ax.scatter(*(vals[:, k] for k in range(vals.shape[1])), s=size, color=color, label=name)
    ax.set(title="Pareto-front Plot", xlabel=info.target_names[0], ylabel=info.target_names[1])
    if three:
        ax.set_zlabel(info.target_names[2])
    ax.legend()
    return ax


def plot_hypervolume_history(
    study: Any, reference_point: Sequence[float], *, max_trials: int | None = _HV_POINTS,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None,
) -> Any:
    """The hypervolume of the front found so far, by trial number (after at most ``max_trials`` trials)."""
    info = _hypervolume_history_info(study, reference_point, max_trials, targets)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    ax.plot(info.numbers, info.hypervolumes, marker=".")
    shown = f" ({len(info.numbers)} of {info.n_trials} trials shown)" if len(info.numbers) < info.n_trials else ""
    ax.set(title=f"Hypervolume History Plot{shown}", xlabel="Trial", ylabel="Hypervolume")
    return ax


def plot_edf(
    study: Any, *, target: Target | None = None, target_name: str = "Objective Value", max_trials: int | None = None,
) -> Any:
    """The empirical distribution function of the target: one line per study (``ax.lines``, in order)."""
    infos = edf_infos(study, target, target_name, max_trials=max_trials)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    for info in infos:
        label = f"{info.study_name} ({info.n_trials} trials)" if info.study_name else f"{info.n_trials} trials"
        ax.plot(info.x, info.y, label=label)
    ax.set(title="Empirical Distribution Function Plot", xlabel=target_name, ylabel="Cumulative Probability")
    if len(infos) > 1:
        ax.legend()
    return ax
