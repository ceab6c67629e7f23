"""``plot_edf``: the empirical distribution of the target over COMPLETE trials, on a fixed grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.trial import TrialState
from tunesmith.visualization._common import Target, import_plotly, read_study, target_values

__all__ = ["EdfInfo", "plot_edf"]


@dataclass(frozen=True)
class EdfInfo:
    x: np.ndarray  # grid over the target's range
    y: np.ndarray  # fraction of trials with target <= x
    target_name: str
    n_trials: int


def _edf_info(
    study: Any, target: Target | None = None, target_name: str = "Objective Value", resolution: int = 100,
) -> EdfInfo:
    view = read_study(study)
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, _ = target_values(view, trials, target, "plot_edf")
    values = np.sort(values[~np.isnan(values)])
    if not len(values):
        return EdfInfo(np.zeros(0), np.zeros(0), target_name, 0)
    x = np.linspace(values[0], values[-1], resolution)
    y = np.searchsorted(values, x, side="right") / len(values)
    return EdfInfo(x, y, target_name, len(values))


def plot_edf(study: Any, *, target: Target | None = None, target_name: str = "Objective Value") -> Any:
    """The fraction of COMPLETE trials whose target is at most each value (plotly).

    >>> import tunesmith
    >>> study = tunesmith.create_study()
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10)
    >>> float(plot_edf(study).data[0].y[-1])
    1.0
    """
    info = _edf_info(study, target, target_name)
    go = import_plotly()
    fig = go.Figure(go.Scatter(x=info.x, y=info.y, mode="lines", name=f"{info.n_trials} trials"))
    fig.update_layout(title="Empirical Distribution Function Plot", xaxis_title=info.target_name,
                      yaxis_title="Cumulative Probability")
    return fig
