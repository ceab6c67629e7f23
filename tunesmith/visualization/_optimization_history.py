"""``plot_optimization_history``: each trial's value and the best so far, by trial number.

At size the best-so-far line stays exact (it is a step function: only its change points
are kept) while the per-trial scatter is thinned by a stratified sample that always keeps
the improving trials. Several studies are drawn one trace group each, or with
``error_bar=True`` as the mean and standard deviation across them per trial number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.trial import FrozenTrial, TrialState
from tunesmith.visualization._common import (
    Target,
    check_max_trials,
    import_plotly,
    read_study,
    stratified_sample,
    target_values,
)

__all__ = [
    "ErrorBarHistoryInfo", "OptimizationHistoryInfo", "error_bar_history_info", "plot_optimization_history",
    "split_studies",
]

_DEFAULT_POINTS = 5000


@dataclass(frozen=True)
class OptimizationHistoryInfo:
    """What the plot draws. ``best_numbers``/``best_values`` are the best-so-far's change points
    (plus the last finished trial, so the line runs to the end)."""

    numbers: np.ndarray  # trials shown as points (finished with a target value)
    values: np.ndarray
    best_numbers: np.ndarray
    best_values: np.ndarray
    running_numbers: np.ndarray  # running trials, at their last reported target (if any)
    running_values: np.ndarray
    n_trials: int  # finished trials with a value, before thinning
    target_name: str
    maximize: bool


def _optimization_history_info(
    study: Any, target: Target | None = None, target_name: str = "Objective Value",
    max_trials: int | None = _DEFAULT_POINTS,
) -> OptimizationHistoryInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials = [t for t in view.trials if t.state in (TrialState.COMPLETE, TrialState.RUNNING)]
    values, maximize = target_values(view, trials, target, "plot_optimization_history")
    numbers = np.array([t.number for t in trials], dtype=np.int64)
    running = np.array([t.state == TrialState.RUNNING for t in trials], dtype=bool)
    done = ~running & ~np.isnan(values)
    num, val = numbers[done], values[done]
    best = np.maximum.accumulate(val) if maximize else np.minimum.accumulate(val)
    change = np.flatnonzero(np.r_[True, best[1:] != best[:-1]]) if len(best) else np.zeros(0, dtype=np.int64)
    best_idx = change if not len(best) or change[-1] == len(best) - 1 else np.r_[change, len(best) - 1]
    keep = _thin(len(num), change, max_trials)
    run_ok = running & ~np.isnan(values)
    return OptimizationHistoryInfo(
        num[keep], val[keep], num[best_idx], best[best_idx], numbers[run_ok], values[run_ok],
        len(num), target_name, maximize,
    )


def _thin(n: int, must: np.ndarray, max_trials: int | None) -> np.ndarray:
    """Indices of ``n`` points to draw: all of ``must``, and a stratified sample of the rest up to ``max_trials``."""
    keep = np.arange(n)
    if max_trials is not None and n > max_trials:
        rest = np.setdiff1d(keep, must)
        keep = np.union1d(must, stratified_sample(rest, max(max_trials - len(must), 0)))
    return keep


def split_studies(study: Any) -> list[tuple[str, Any]] | None:
    """``(name, study)`` for each of a sequence of studies; None for one study (or a list of FrozenTrial)."""
    if isinstance(study, (str, bytes)) or not isinstance(study, Sequence) or not len(study):
        return None
    if all(isinstance(t, FrozenTrial) for t in study):
        return None
    out = []
    for i, s in enumerate(study):
        inner = s.study if hasattr(s, "study") and not hasattr(s, "directions") else s  # a run result
        name = getattr(inner, "study_name", None) or getattr(inner, "name", None)
        out.append((str(name) if name else f"Study {i}", s))
    return out


@dataclass(frozen=True)
class ErrorBarHistoryInfo:
    """Mean and (population) standard deviation across studies, per trial number: of the values
    (studies with that trial finished) and of the best so far (studies with a value by then).
    ``best_*`` are the change points of the step function (plus the last number), so it is exact."""

    numbers: np.ndarray
    value_mean: np.ndarray
    value_std: np.ndarray
    best_numbers: np.ndarray
    best_mean: np.ndarray
    best_std: np.ndarray
    n_studies: int
    n_trials: int  # trial numbers with a value in some study, before thinning
    target_name: str
    maximize: bool


def error_bar_history_info(
    studies: Sequence[Any], target: Target | None = None, target_name: str = "Objective Value",
    max_trials: int | None = _DEFAULT_POINTS,
) -> ErrorBarHistoryInfo:
    """The spread of the optimization history over ``studies`` (Optuna's ``error_bar=True``)."""
    max_trials = check_max_trials(max_trials)
    rows, maxes = [], set()
    for study in studies:
        view = read_study(study)
        trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
        values, maximize = target_values(view, trials, target, "plot_optimization_history")
        maxes.add(maximize)
        ok = ~np.isnan(values)
        rows.append((np.array([t.number for t in trials], dtype=np.int64)[ok], values[ok]))
    if len(maxes) > 1:
        raise ValueError("error_bar=True: the studies disagree on the direction; pass studies optimized the same way")
    maximize = maxes.pop() if maxes else False
    size = max((int(num.max()) + 1 for num, _ in rows if len(num)), default=0)
    grid = np.arange(size)
    value = np.full((len(rows), size), np.nan)
    best = np.full((len(rows), size), np.nan)
    for k, (num, val) in enumerate(rows):
        order = np.argsort(num, kind="stable")
        num, val = num[order], val[order]
        value[k, num] = val
        if len(val):
            running = np.maximum.accumulate(val) if maximize else np.minimum.accumulate(val)
            at = np.searchsorted(num, grid, side="right") - 1
            best[k] = np.where(at >= 0, running[np.maximum(at, 0)], np.nan)
    numbers = np.flatnonzero(~np.isnan(value).all(axis=0)) if size else np.zeros(0, dtype=np.int64)
    v_mean, v_std = _mean_std(value[:, numbers])
    b_mean, b_std = _mean_std(best[:, numbers])
    change = np.flatnonzero(np.r_[True, (b_mean[1:] != b_mean[:-1]) | (b_std[1:] != b_std[:-1])]) \
        if len(numbers) else np.zeros(0, dtype=np.int64)
    best_idx = change if not len(change) or change[-1] == len(numbers) - 1 else np.r_[change, len(numbers) - 1]
    keep = _thin(len(numbers), change, max_trials)
    return ErrorBarHistoryInfo(
        numbers[keep], v_mean[keep], v_std[keep], numbers[best_idx], b_mean[best_idx], b_std[best_idx],
        len(rows), len(numbers), target_name, maximize,
    )


def _mean_std(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations ignoring NaN (columns with no number are never asked)."""
    n = (~np.isnan(a)).sum(axis=0)
    if not a.shape[1]:
        return np.zeros(0), np.zeros(0)
    total = np.nansum(a, axis=0)
    mean = total / np.maximum(n, 1)
    std = np.sqrt(np.nansum((a - mean) ** 2, axis=0) / np.maximum(n, 1))
    return mean, std


def plot_optimization_history(
    study: Any, *, target: Target | None = None, target_name: str = "Objective Value",
    error_bar: bool = False, max_trials: int | None = _DEFAULT_POINTS,
) -> Any:
    """Each trial's value and the best value so far, as a plotly figure.

    Args:
        study: a Study, a ``tunesmith.run`` result, a list of FrozenTrial, or a sequence of
            studies (one trace group each, in the legend by study name).
        target: an objective or metric name, or ``FrozenTrial -> float`` (needed with several objectives).
        error_bar: draw the mean and standard deviation across the studies per trial number
            (of the values, and of the best so far as a band) instead of each study.
        max_trials: at most this many trials drawn as points per study (the improving ones always);
            the best-so-far line is exact whatever the limit. None draws all.

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=10)
    >>> fig = plot_optimization_history(study)
    >>> [trace.name for trace in fig.data]
    ['Objective Value', 'Best Value']
    """
    named = split_studies(study)
    if error_bar:
        studies = [s for _, s in named] if named is not None else [study]
        return _draw_error_bar(error_bar_history_info(studies, target, target_name, max_trials))
    if named is None or len(named) == 1:  # one study: plain trace names, as Optuna's
        one = study if named is None else named[0][1]
        return _draw([("", _optimization_history_info(one, target, target_name, max_trials))])
    return _draw([(name, _optimization_history_info(s, target, target_name, max_trials)) for name, s in named])


def _draw(infos: list[tuple[str, OptimizationHistoryInfo]]) -> Any:
    """One trace group per study; ``name`` "" is the single-study figure (plain trace names)."""
    go = import_plotly()
    fig = go.Figure()
    palette = _PALETTE if len(infos) > 1 else [None]
    for k, (name, info) in enumerate(infos):
        of = f" of {name}" if name else ""
        color = palette[k % len(palette)]
        group = {"legendgroup": name} if name else {}
        fig.add_trace(go.Scattergl(
            x=info.numbers, y=info.values, mode="markers", name=info.target_name + of,
            marker={"size": 5, "color": color}, **group,
        ))
        if len(info.best_numbers):
            fig.add_trace(go.Scatter(
                x=info.best_numbers, y=info.best_values, mode="lines", line_shape="hv", name="Best Value" + of,
                line={"color": color}, **group,
            ))
        if len(info.running_numbers):
            fig.add_trace(go.Scattergl(
                x=info.running_numbers, y=info.running_values, mode="markers", name="Running" + of,
                marker={"symbol": "circle-open", "size": 8, "color": color or "gray"}, **group,
            ))
    n_shown = sum(len(i.numbers) for _, i in infos)
    n_all = sum(i.n_trials for _, i in infos)
    shown = f" ({n_shown} of {n_all} trials shown)" if n_shown < n_all else ""
    fig.update_layout(
        title=f"Optimization History Plot{shown}", xaxis_title="Trial", yaxis_title=infos[0][1].target_name,
    )
    return fig


def _draw_error_bar(info: ErrorBarHistoryInfo) -> Any:
    go = import_plotly()
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=info.numbers, y=info.value_mean, mode="markers", name=info.target_name, marker={"size": 5},
        error_y={"type": "data", "array": info.value_std, "visible": True},
    ))
    if len(info.best_numbers):
        band = {"mode": "lines", "line_shape": "hv", "line": {"width": 0}, "showlegend": False}
        fig.add_trace(go.Scatter(
            x=info.best_numbers, y=info.best_mean + info.best_std, name="Best Value + Std", **band,
        ))
        fig.add_trace(go.Scatter(
            x=info.best_numbers, y=info.best_mean - info.best_std, name="Best Value - Std", fill="tonexty",
            fillcolor="rgba(255,0,0,0.2)", **band,
        ))
        fig.add_trace(go.Scatter(
            x=info.best_numbers, y=info.best_mean, mode="lines", line_shape="hv", name="Best Value",
            line={"color": "#d62728"},
        ))
    shown = f" ({len(info.numbers)} of {info.n_trials} trials shown)" if len(info.numbers) < info.n_trials else ""
    fig.update_layout(
        title=f"Optimization History Plot over {info.n_studies} studies{shown}", xaxis_title="Trial",
        yaxis_title=info.target_name,
    )
    return fig


_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf"]
