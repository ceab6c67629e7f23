"""``plot_rank``: where the good trials are, for each pair of parameters, as binned mean ranks.

Optuna draws one point per trial per pair (286 MB of figure at 10k trials x 8 parameters);
here each cell of a grid holds the mean rank of its trials (0 = the best trial, 1 = the worst),
so the figure's size depends on the grid, not on the number of trials.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunesmith.trial import FrozenTrial, TrialState
from tunesmith.visualization._common import Target, read_study, target_values
from tunesmith.visualization._contour import ContourInfo, _contour_info, draw_panels

__all__ = ["plot_rank"]


def _rank_info(
    study: Any, params: Sequence[str] | None = None, target: Target | None = None,
    target_name: str = "Objective Value", resolution: int = 30, max_trials: int | None = 500,
) -> ContourInfo:
    """:class:`ContourInfo` whose ``z`` is the mean rank (in [0, 1], 0 best) of each cell's trials."""
    view = read_study(study)
    done = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, maximize = target_values(view, done, target, "plot_rank")
    ok = ~np.isnan(values)
    score = -values[ok] if maximize else values[ok]
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(len(order)) / max(len(order) - 1, 1)
    by_number = {t.number: float(r) for t, r in zip([t for t, g in zip(done, ok, strict=True) if g], ranks,
                                                    strict=True)}

    def rank(t: FrozenTrial) -> float:
        return by_number.get(t.number, float("nan"))

    return _contour_info(study, params, rank, f"Rank of {target_name}", resolution, max_trials, fill=False)


def plot_rank(
    study: Any, params: Sequence[str] | None = None, *, target: Target | None = None,
    target_name: str = "Objective Value", resolution: int = 30, max_trials: int | None = 500,
) -> Any:
    """Each pair of parameters as a heatmap of the mean rank of the trials in each cell (plotly).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + t.suggest_float("y", -1, 1), n_trials=20)
    >>> [trace.type for trace in plot_rank(study).data]
    ['heatmap', 'scattergl']
    """
    info = _rank_info(study, params, target, target_name, resolution, max_trials)
    return draw_panels(info, "Rank Plot", contour=False)
