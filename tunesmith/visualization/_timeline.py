"""``plot_timeline``: when each trial ran, one bar per trial coloured by state (running ones up to now)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.visualization._common import check_max_trials, import_plotly, read_study

__all__ = ["TimelineInfo", "plot_timeline"]

_DEFAULT_BARS = 2000


@dataclass(frozen=True)
class TimelineInfo:
    numbers: np.ndarray
    starts: np.ndarray  # Unix seconds
    ends: np.ndarray  # finish time; now for running trials
    states: list[str]  # TrialState names
    n_trials: int  # started trials, before the limit


def _timeline_info(study: Any, max_trials: int | None = _DEFAULT_BARS, now: float | None = None) -> TimelineInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials = [t for t in view.trials if t.started_at is not None]
    n = len(trials)
    if max_trials is not None and n > max_trials:
        trials = trials[-max_trials:]  # the most recent
    now = time.time() if now is None else now
    starts = np.array([t.started_at for t in trials], dtype=float)
    ends = np.array([now if t.finished_at is None else t.finished_at for t in trials], dtype=float)
    return TimelineInfo(
        np.array([t.number for t in trials], dtype=np.int64), starts, ends, [t.state.name for t in trials], n,
    )


_COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e", "FAILED": "#d62728", "RUNNING": "#2ca02c",
           "PAUSED": "#9467bd", "WAITING": "#7f7f7f"}


def plot_timeline(study: Any, *, max_trials: int | None = _DEFAULT_BARS) -> Any:
    """Each started trial as a bar from its start to its finish, one colour per state (plotly).

    Args:
        max_trials: the most recent this many trials (None: all).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    >>> [trace.name for trace in plot_timeline(study).data]
    ['COMPLETE']
    """
    info = _timeline_info(study, max_trials)
    go = import_plotly()
    fig = go.Figure()
    states = np.array(info.states)
    for state in [s for s in _COLORS if s in set(info.states)]:
        m = states == state
        fig.add_trace(go.Bar(
            base=info.starts[m] * 1000.0, x=(info.ends[m] - info.starts[m]) * 1000.0, y=info.numbers[m],
            orientation="h", name=state, marker={"color": _COLORS[state]},
        ))
    fig.update_xaxes(type="date")
    shown = f" (last {len(info.numbers)} of {info.n_trials} trials)" if len(info.numbers) < info.n_trials else ""
    fig.update_layout(
        title=f"Timeline Plot{shown}", xaxis_title="Datetime", yaxis_title="Trial",
        barmode="overlay",
    )
    return fig
