"""``plot_edf``: the empirical distribution of the target over COMPLETE trials, on a fixed grid.

Several studies (Optuna's ``plot_edf(studies)``) share one grid, one line each. The figure's
size depends on the grid (``resolution``), not on the number of trials; ``max_trials`` limits
the trials the distribution is taken from to a sample stratified by value, which keeps the
line within ``1/max_trials`` of the full one everywhere.
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

__all__ = ["EdfInfo", "edf_infos", "plot_edf"]


@dataclass(frozen=True)
class EdfInfo:
    x: np.ndarray  # grid over the target's range (shared by all the studies of one figure)
    y: np.ndarray  # fraction of the trials used with target <= x
    target_name: str
    n_trials: int  # trials the distribution is taken from (after max_trials)
    study_name: str  # "" for a single study
    n_all: int  # COMPLETE trials with a target, before max_trials


def _sorted_values(
    study: Any, target: Target | None, max_trials: int | None, seed: int = 0,
) -> tuple[np.ndarray, int]:
    """The study's COMPLETE targets, sorted, and how many there were before sampling."""
    view = read_study(study)
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, _ = target_values(view, trials, target, "plot_edf")
    values = np.sort(values[~np.isnan(values)])
    n_all = len(values)
    if max_trials is not None and n_all > max_trials:
        # one trial from each of max_trials equal slices of the sorted values: the sample's
        # EDF is within 1/max_trials + 1/n of the full EDF at every x
        values = values[stratified_sample(np.arange(n_all), max_trials, seed)]
    return values, n_all


def edf_infos(
    study: Any, target: Target | None = None, target_name: str = "Objective Value", resolution: int = 100,
    max_trials: int | None = None,
) -> list[EdfInfo]:
    """One :class:`EdfInfo` per study (``study`` a Study, a run result, or a sequence of them), on one grid."""
    from tunesmith.visualization._optimization_history import split_studies

    max_trials = check_max_trials(max_trials)
    named = split_studies(study)
    if named is None:
        named = [("", study)]
    sorted_values = [(name, *_sorted_values(s, target, max_trials)) for name, s in named]
    finite = [v for _, v, _ in sorted_values if len(v)]
    if not finite:
        return [EdfInfo(np.zeros(0), np.zeros(0), target_name, 0, name, n) for name, _, n in sorted_values]
    lo, hi = min(float(v[0]) for v in finite), max(float(v[-1]) for v in finite)
    x = np.linspace(lo, hi, resolution)
    return [
        EdfInfo(
            x, np.searchsorted(v, x, side="right") / len(v) if len(v) else np.zeros(len(x)),
            target_name, len(v), name, n,
        )
        for name, v, n in sorted_values
    ]


def _edf_info(
    study: Any, target: Target | None = None, target_name: str = "Objective Value", resolution: int = 100,
    max_trials: int | None = None,
) -> EdfInfo:
    """The EDF of one study."""
    return edf_infos(study, target, target_name, resolution, max_trials)[0]


def plot_edf(
    study: Any, *, target: Target | None = None, target_name: str = "Objective Value",
    max_trials: int | None = None,
) -> Any:
    """The fraction of COMPLETE trials whose target is at most each value (plotly).

    Args:
        study: a Study, a ``tunesmith.run`` result, a list of FrozenTrial, or a sequence of
            studies (one line each, named by study, on one grid).
        target: an objective or metric name, or ``FrozenTrial -> float`` (needed with several objectives).
        max_trials: take the distribution from at most this many trials per study, a sample
            stratified by value (within ``1/max_trials`` of the full line). None: all of them.

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10)
    >>> float(plot_edf(study).data[0].y[-1])
    1.0
    """
    infos = edf_infos(study, target, target_name, max_trials=max_trials)
    go = import_plotly()
    fig = go.Figure()
    for info in infos:
        label = f"{info.study_name} ({info.n_trials} trials)" if info.study_name else f"{info.n_trials} trials"
        fig.add_trace(go.Scatter(x=info.x, y=info.y, mode="lines", name=label))
    n_shown = sum(i.n_trials for i in infos)
    n_all = sum(i.n_all for i in infos)
    shown = f" ({n_shown} of {n_all} trials used)" if n_shown < n_all else ""
    fig.update_layout(title=f"Empirical Distribution Function Plot{shown}", xaxis_title=target_name,
                      yaxis_title="Cumulative Probability")
    return fig
