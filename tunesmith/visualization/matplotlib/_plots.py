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
from tunesmith.visualization._edf import _edf_info
from tunesmith.visualization._intermediate_values import _intermediate_values_info
from tunesmith.visualization._optimization_history import _DEFAULT_POINTS as _HISTORY_POINTS
from tunesmith.visualization._optimization_history import _optimization_history_info, check_error_bar
from tunesmith.visualization._parallel_coordinate import _parallel_coordinate_info
from tunesmith.visualization._param_importances import _param_importances_info
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
    """Each trial's value (points) and the best so far (``ax.lines[0]``, a step line).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=10)
    >>> ax = plot_optimization_history(study)
    >>> ax.get_ylabel()
    'Objective Value'
    """
    check_error_bar(error_bar)
    info = _optimization_history_info(study, target, target_name, max_trials)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    if len(info.best_numbers):
        ax.step(info.best_numbers, info.best_values, where="post", color="#d62728", label="Best Value")
    ax.scatter(info.numbers, info.values, s=6, color="#1f77b4", label=info.target_name)
    if len(info.running_numbers):
        ax.scatter(info.running_numbers, info.running_values, s=20, facecolors="none", edgecolors="gray",
                   label="Running")
    ax.set(title="Optimization History Plot", xlabel="Trial", ylabel=info.target_name)
    ax.legend()
    return ax


def plot_intermediate_values(study: Any, *, metric: str | None = None, max_trials: int | None = 100) -> Any:
    """One line per trial's reports (``ax.lines``, in trial order); running trials dashed."""
    info = _intermediate_values_info(study, metric, max_trials)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    for c in info.curves:
        ax.plot(c.steps, c.values, marker=".", linestyle="--" if c.state == "RUNNING" else "-",
                label=f"Trial{c.number}")
    ax.set(title="Intermediate Values Plot", xlabel="Step", ylabel=info.metric)
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
    """Horizontal bars, most important on top (``ax.patches`` in the order drawn: least first)."""
    info = _param_importances_info(study, evaluator, params, target, target_name, max_trials)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    ax.barh(info.params[::-1], info.importances[::-1], color="#1f77b4")
    ax.set(title="Hyperparameter Importances", xlabel=f"Importance for {info.target_name}", ylabel="Hyperparameter")
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
        mesh = ax.pcolormesh(panel.x, panel.y, np.ma.masked_invalid(panel.z), cmap="Blues_r", shading="nearest")
        ax.scatter(panel.points_x, panel.points_y, s=3, color="black", alpha=0.5)
        ax.set(xlabel=panel.x_param, ylabel=panel.y_param)
        if panel.x_log:
            ax.set_xscale("log")
        if panel.y_log:
            ax.set_yscale("log")
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
    """Trials in objective space (2 objectives), the front in red (the last collection)."""
    info = _pareto_front_info(study, target_names, include_dominated_trials, targets, max_trials)
    if len(info.target_names) != 2:
        raise ValueError(f"the matplotlib plot_pareto_front draws 2 objectives, got {info.target_names!r}")
    plt = import_matplotlib()
    _, ax = plt.subplots()
    if len(info.dominated_numbers):
        ax.scatter(info.dominated_values[:, 0], info.dominated_values[:, 1], s=6, color="#aaaaaa", label="Trial")
    ax.scatter(info.front_values[:, 0], info.front_values[:, 1], s=12, color="#d62728", label="Best Trial")
    ax.set(title="Pareto-front Plot", xlabel=info.target_names[0], ylabel=info.target_names[1])
    ax.legend()
    return ax


def plot_hypervolume_history(study: Any, reference_point: Sequence[float]) -> Any:
    """The hypervolume of the front found so far, by trial number."""
    info = _hypervolume_history_info(study, reference_point)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    ax.plot(info.numbers, info.hypervolumes, marker=".")
    ax.set(title="Hypervolume History Plot", xlabel="Trial", ylabel="Hypervolume")
    return ax


def plot_edf(study: Any, *, target: Target | None = None, target_name: str = "Objective Value") -> Any:
    """The empirical distribution function of the target."""
    info = _edf_info(study, target, target_name)
    plt = import_matplotlib()
    _, ax = plt.subplots()
    ax.plot(info.x, info.y)
    ax.set(title="Empirical Distribution Function Plot", xlabel=info.target_name, ylabel="Cumulative Probability")
    return ax
