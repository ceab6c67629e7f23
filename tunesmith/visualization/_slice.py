"""``plot_slice``: the target against each parameter, one WebGL scatter panel per parameter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.trial import TrialState
from tunesmith.visualization._common import (
    Target,
    check_max_trials,
    distribution_of,
    import_plotly,
    is_log,
    limit_trials,
    param_column,
    param_names,
    read_study,
    target_values,
)

__all__ = ["SliceInfo", "SlicePanel", "plot_slice"]

_DEFAULT_POINTS = 2000


@dataclass(frozen=True)
class SlicePanel:
    param: str
    x: np.ndarray  # parameter values (categorical: choice index into ``labels``)
    y: np.ndarray
    numbers: np.ndarray
    log: bool
    labels: tuple[str, ...] | None


@dataclass(frozen=True)
class SliceInfo:
    panels: list[SlicePanel]
    target_name: str
    n_trials: int


def _slice_info(
    study: Any, params: Sequence[str] | None = None, target: Target | None = None,
    target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_POINTS,
) -> SliceInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, maximize = target_values(view, trials, target, "plot_slice")
    names = param_names(trials, params)
    ok = np.flatnonzero(~np.isnan(values))
    keep = ok[limit_trials(values[ok], maximize, max_trials)]
    shown = [trials[int(i)] for i in keep]
    numbers = np.array([t.number for t in shown], dtype=np.int64)
    panels = []
    for name in names:
        col, labels = param_column(shown, name)
        has = ~np.isnan(col)
        log = is_log(distribution_of(trials, name))
        panels.append(SlicePanel(name, col[has], values[keep][has], numbers[has], log, labels))
    return SliceInfo(panels, target_name, len(ok))


def plot_slice(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_POINTS,
) -> Any:
    """The target against each parameter (points coloured by trial number), as a plotly figure.

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) + t.suggest_int("n", 1, 3), n_trials=5)
    >>> len(plot_slice(study).data)
    2
    """
    info = _slice_info(study, params, target, target_name, max_trials)
    go = import_plotly()
    from plotly.subplots import make_subplots

    n = max(len(info.panels), 1)
    fig = make_subplots(rows=1, cols=n, shared_yaxes=True, horizontal_spacing=min(0.05, 0.5 / n))
    for i, p in enumerate(info.panels, start=1):
        fig.add_trace(go.Scattergl(
            x=p.x, y=p.y, mode="markers", name=p.param, showlegend=False,
            marker={"color": p.numbers, "colorscale": "Blues", "size": 5, "showscale": i == 1,
                    "colorbar": {"title": {"text": "Trial"}}},
        ), row=1, col=i)
        axis: dict[str, Any] = {"title_text": p.param}
        if p.log:
            axis["type"] = "log"
        if p.labels is not None:
            axis.update(tickvals=list(range(len(p.labels))), ticktext=list(p.labels))
        fig.update_xaxes(row=1, col=i, **axis)
    fig.update_yaxes(title_text=info.target_name, row=1, col=1)
    fig.update_layout(title="Slice Plot")
    return fig
