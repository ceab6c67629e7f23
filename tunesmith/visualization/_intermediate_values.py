"""``plot_intermediate_values``: the learning curves (intermediate reports) of the trials.

At size only a capped number of curves are read: every running trial's (up to the cap),
the best ``n_best`` by final value, and a stratified sample of the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.trial import TrialState
from tunesmith.visualization._common import (
    check_max_trials,
    import_plotly,
    limit_trials,
    read_reports,
    read_study,
)

__all__ = ["IntermediateValuesInfo", "LearningCurve", "plot_intermediate_values"]

_DEFAULT_CURVES = 100


@dataclass(frozen=True)
class LearningCurve:
    number: int
    state: str  # TrialState name; "RUNNING" curves are drawn dashed
    steps: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class IntermediateValuesInfo:
    curves: list[LearningCurve]
    metric: str
    n_trials: int  # trials with reports, before the cap


def _intermediate_values_info(
    study: Any, metric: str | None = None, max_trials: int | None = _DEFAULT_CURVES,
) -> IntermediateValuesInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    metric = metric if metric is not None else view.metric_names[0]
    trials = [t for t in view.trials if metric in t.last_result]
    final = np.array([float(t.last_result[metric]) for t in trials])
    maximize = view.maximize(view.metric_names.index(metric)) if metric in view.metric_names else False
    running = np.array([t.state == TrialState.RUNNING for t in trials], dtype=bool)
    if max_trials is not None and len(trials) > max_trials:
        run_idx = np.flatnonzero(running)[: max_trials // 2]
        others = np.flatnonzero(~running)
        chosen = others[limit_trials(final[others], maximize, max_trials - len(run_idx))]
        picked = np.sort(np.concatenate([run_idx, chosen]))
    else:
        picked = np.arange(len(trials))
    curves = []
    for i in picked:
        t = trials[int(i)]
        points = [(step, float(m[metric])) for step, m in read_reports(view, t) if metric in m]
        steps = np.array([p[0] for p in points], dtype=np.int64)
        vals = np.array([p[1] for p in points], dtype=float)
        curves.append(LearningCurve(t.number, t.state.name, steps, vals))
    return IntermediateValuesInfo(curves, metric, len(trials))


def plot_intermediate_values(study: Any, *, metric: str | None = None, max_trials: int | None = _DEFAULT_CURVES) -> Any:
    """Every trial's reported ``metric`` by step (running trials dashed), as a plotly figure.

    Args:
        metric: the reported metric (default: the study's first metric).
        max_trials: at most this many curves (running ones, the best by last value, a sample).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", 0, 1)
    ...     for step in range(3):
    ...         trial.report(x / (step + 1), step=step)
    ...     return x / 3
    >>> study.optimize(objective, n_trials=4)
    >>> len(plot_intermediate_values(study).data)
    4
    """
    info = _intermediate_values_info(study, metric, max_trials)
    go = import_plotly()
    fig = go.Figure()
    for c in info.curves:
        running = c.state == "RUNNING"
        fig.add_trace(go.Scatter(
            x=c.steps, y=c.values, mode="lines+markers", name=f"Trial{c.number}" + (" (running)" if running else ""),
            line={"dash": "dash"} if running else None, marker={"size": 4},
        ))
    shown = f" ({len(info.curves)} of {info.n_trials} trials)" if len(info.curves) < info.n_trials else ""
    fig.update_layout(
        title=f"Intermediate Values Plot{shown}", xaxis_title="Step", yaxis_title=info.metric,
        showlegend=len(info.curves) <= 20,
    )
    return fig
