"""``plot_parallel_coordinate``: one line per trial through the objective and each parameter.

At size the lines are a sample: the best half of the budget by the target, and a
stratified sample of the rest (``max_trials``).
"""

from __future__ import annotations

import math
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

__all__ = ["Dimension", "ParallelCoordinateInfo", "plot_parallel_coordinate"]

_DEFAULT_LINES = 1000


@dataclass(frozen=True)
class Dimension:
    """One axis: ``values`` per shown trial (categorical: choice index, ``labels`` its names)."""

    label: str
    values: np.ndarray
    range: tuple[float, float]
    log: bool
    labels: tuple[str, ...] | None


@dataclass(frozen=True)
class ParallelCoordinateInfo:
    target: Dimension  # the first axis; its values also colour the lines
    dimensions: list[Dimension]
    numbers: np.ndarray
    n_trials: int
    maximize: bool


def _parallel_coordinate_info(
    study: Any, params: Sequence[str] | None = None, target: Target | None = None,
    target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_LINES,
) -> ParallelCoordinateInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, maximize = target_values(view, trials, target, "plot_parallel_coordinate")
    names = param_names(trials, params)
    ok = ~np.isnan(values)
    trials = [t for t, good in zip(trials, ok, strict=True) if good]
    values = values[ok]
    keep = limit_trials(values, maximize, max_trials)
    shown = [trials[int(i)] for i in keep]
    dims = []
    for name in names:
        col, labels = param_column(shown, name)
        if labels is None and np.isnan(col).all():
            continue
        log = is_log(distribution_of(trials, name))
        dims.append(Dimension(name, col, _range(col), log, labels))
    tval = values[keep]
    return ParallelCoordinateInfo(
        Dimension(target_name, tval, _range(tval), False, None), dims,
        np.array([t.number for t in shown], dtype=np.int64), len(trials), maximize,
    )


def _range(col: np.ndarray) -> tuple[float, float]:
    finite = col[~np.isnan(col)]
    return (float(finite.min()), float(finite.max())) if len(finite) else (math.nan, math.nan)


def plot_parallel_coordinate(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_LINES,
) -> Any:
    """The objective and the parameters of COMPLETE trials as parallel coordinates (plotly).

    Log-scaled parameters are drawn on a log10 axis labelled with their values; at most
    ``max_trials`` lines (the best half of them by the target, the rest a sample).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 1e-3, 1, log=True), n_trials=5)
    >>> [d.label for d in plot_parallel_coordinate(study).data[0].dimensions]
    ['Objective Value', 'x']
    """
    info = _parallel_coordinate_info(study, params, target, target_name, max_trials)
    go = import_plotly()
    dims = [_plotly_dimension(d) for d in [info.target, *info.dimensions]]
    line = {
        "color": info.target.values, "colorscale": "Blues", "showscale": True,
        "reversescale": not info.maximize, "colorbar": {"title": {"text": info.target.label}},
    }
    fig = go.Figure(go.Parcoords(dimensions=dims, line=line, labelangle=30))
    shown = f" ({len(info.numbers)} of {info.n_trials} trials)" if len(info.numbers) < info.n_trials else ""
    fig.update_layout(title=f"Parallel Coordinate Plot{shown}")
    return fig


def _plotly_dimension(d: Dimension) -> dict[str, Any]:
    if d.labels is not None:
        return {
            "label": d.label, "values": d.values, "range": [0, max(len(d.labels) - 1, 0)],
            "tickvals": list(range(len(d.labels))), "ticktext": list(d.labels),
        }
    if d.log and d.range[0] > 0:
        lo, hi = math.log10(d.range[0]), math.log10(d.range[1])
        ticks = list(range(math.floor(lo), math.ceil(hi) + 1)) if hi > lo else [lo]
        return {
            "label": d.label, "values": np.log10(d.values), "range": [lo, hi],
            "tickvals": ticks, "ticktext": [f"{10.0 ** k:.3g}" for k in ticks],
        }
    return {"label": d.label, "values": d.values, "range": list(d.range)}
