"""``plot_intermediate_values``: the learning curves (intermediate reports) of the trials.

What is drawn from each report is ``target``: a reported metric's name, or a callable taking
the report's metrics (a dict) to a number (``metric=`` is the older spelling of a name).

At size only a capped number of curves are read: every running trial's (up to the cap),
the best ``n_best`` by final value, and a stratified sample of the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
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

__all__ = ["IntermediateValuesInfo", "LearningCurve", "ReportTarget", "plot_intermediate_values", "report_target"]

#: a reported metric's name, or ``metrics dict -> float`` applied to each report
ReportTarget = str | Callable[[Mapping[str, Any]], float]

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
    target_name: str
    n_trials: int  # trials with reports, before the cap


def report_target(
    target: ReportTarget | None, metric: str | None, default: str,
) -> tuple[Callable[[Mapping[str, Any]], float | None], str | None]:
    """``target`` (or its alias ``metric``; default the study's first metric) as ``metrics -> float``
    (None where a report lacks it, NaN where it is not a finite number), and the metric's name
    when it is one."""
    if metric is not None:
        if target is not None and target != metric:
            raise ValueError(f"target={target!r} and metric={metric!r} disagree; pass target= only")
        target = metric
    if target is None:
        target = default
    if isinstance(target, str):
        name = target

        def read(metrics: Mapping[str, Any]) -> float | None:
            return _number(metrics[name]) if name in metrics else None

        return read, name
    if not callable(target):
        raise TypeError(f"target must be a metric name or a callable metrics -> float, got target={target!r}")
    fn = target

    def call(metrics: Mapping[str, Any]) -> float | None:
        try:
            value = fn(metrics)
        except KeyError:  # a report without the metrics the callable reads
            return None
        return None if value is None else _number(value)

    return call, None


def _number(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _intermediate_values_info(
    study: Any, target: ReportTarget | None = None, target_name: str | None = None,
    max_trials: int | None = _DEFAULT_CURVES, *, metric: str | None = None,
) -> IntermediateValuesInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    read, name = report_target(target, metric, view.metric_names[0])
    label = target_name if target_name is not None else (name or "Intermediate Value")
    finals = [(t, read(t.last_result)) for t in view.trials]
    trials = [t for t, v in finals if v is not None]
    final = np.array([v for _, v in finals if v is not None], dtype=float)  # NaN (diverged) ranks last
    maximize = view.maximize(view.metric_names.index(name)) if name in view.metric_names else False
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
        points = [(step, v) for step, m in read_reports(view, t) if (v := read(m)) is not None]
        steps = np.array([p[0] for p in points], dtype=np.int64)
        vals = np.array([p[1] for p in points], dtype=float)
        curves.append(LearningCurve(t.number, t.state.name, steps, vals))
    return IntermediateValuesInfo(curves, label, len(trials))


def plot_intermediate_values(
    study: Any, *, target: ReportTarget | None = None, target_name: str | None = None,
    max_trials: int | None = _DEFAULT_CURVES, metric: str | None = None,
) -> Any:
    """Every trial's reported ``target`` by step (running trials dashed), as a plotly figure.

    Args:
        target: a reported metric's name (default: the study's first metric), or
            ``metrics dict -> float`` applied to each report, e.g. ``lambda m: m["loss"] / m["n"]``.
        target_name: the axis title (default: the metric's name, else "Intermediate Value").
        max_trials: at most this many curves (running ones, the best by last value, a sample).
        metric: an older spelling of ``target`` (a name).

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
    info = _intermediate_values_info(study, target, target_name, max_trials, metric=metric)
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
        title=f"Intermediate Values Plot{shown}", xaxis_title="Step", yaxis_title=info.target_name,
        showlegend=len(info.curves) <= 20,
    )
    return fig
