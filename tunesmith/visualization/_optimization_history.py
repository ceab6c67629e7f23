"""``plot_optimization_history``: each trial's value and the best so far, by trial number.

At size the best-so-far line stays exact (it is a step function: only its change points
are kept) while the per-trial scatter is thinned by a stratified sample that always keeps
the improving trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.trial import TrialState
from tunesmith.visualization._common import (
    Target,
    check_max_trials,
    import_plotly,
    read_study,
    stratified_sample,
    target_values,
)

__all__ = ["OptimizationHistoryInfo", "plot_optimization_history"]

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
    keep = np.arange(len(num))
    if max_trials is not None and len(num) > max_trials:
        rest = np.setdiff1d(keep, change)
        keep = np.union1d(change, stratified_sample(rest, max(max_trials - len(change), 0)))
    run_ok = running & ~np.isnan(values)
    return OptimizationHistoryInfo(
        num[keep], val[keep], num[best_idx], best[best_idx], numbers[run_ok], values[run_ok],
        len(num), target_name, maximize,
    )


def plot_optimization_history(
    study: Any, *, target: Target | None = None, target_name: str = "Objective Value",
    error_bar: bool = False, max_trials: int | None = _DEFAULT_POINTS,
) -> Any:
    """Each trial's value and the best value so far, as a plotly figure.

    Args:
        study: a Study, a ``tunesmith.run`` result, or a list of FrozenTrial.
        target: an objective or metric name, or ``FrozenTrial -> float`` (needed with several objectives).
        error_bar: Optuna's spread across several studies; one study has none, so True is an error.
        max_trials: at most this many trials drawn as points (the improving ones always);
            the best-so-far line is exact whatever the limit. None draws all.

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=10)
    >>> fig = plot_optimization_history(study)
    >>> [trace.name for trace in fig.data]
    ['Objective Value', 'Best Value']
    """
    check_error_bar(error_bar)
    info = _optimization_history_info(study, target, target_name, max_trials)
    return _draw(info)


def check_error_bar(error_bar: bool) -> None:
    if error_bar:
        raise ValueError("error_bar=True draws the spread over several studies; these plots take one study")


def _draw(info: OptimizationHistoryInfo) -> Any:
    go = import_plotly()
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=info.numbers, y=info.values, mode="markers", name=info.target_name, marker={"size": 5},
    ))
    if len(info.best_numbers):
        fig.add_trace(go.Scatter(
            x=info.best_numbers, y=info.best_values, mode="lines", line_shape="hv", name="Best Value",
        ))
    if len(info.running_numbers):
        fig.add_trace(go.Scattergl(
            x=info.running_numbers, y=info.running_values, mode="markers", name="Running",
            marker={"symbol": "circle-open", "size": 8, "color": "gray"},
        ))
    shown = f" ({len(info.numbers)} of {info.n_trials} trials shown)" if len(info.numbers) < info.n_trials else ""
    fig.update_layout(
        title=f"Optimization History Plot{shown}", xaxis_title="Trial", yaxis_title=info.target_name,
    )
    return fig
