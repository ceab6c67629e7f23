"""Callbacks for ``Study.optimize(callbacks=[...])``: called as ``callback(study, frozen_trial)``.

>>> import tunesmith
>>> from tunesmith.trial import TrialState
>>> study = tunesmith.create_study(seed=0)
>>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=50,
...                callbacks=[MaxTrialsCallback(5, states=(TrialState.COMPLETE,))])
>>> len(study.trials)
5
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tunesmith.record import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["MaxTrialsCallback"]


class MaxTrialsCallback:
    """Stop the study once it holds ``n_trials`` trials in ``states`` (Optuna's; all workers count).

    Useful with several workers or processes sharing a study: each stops once the
    study as stored reaches the total, whatever each ran itself.
    """

    def __init__(self, n_trials: int, states: Iterable[TrialState] | None = (TrialState.COMPLETE,)) -> None:
        if not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(f"MaxTrialsCallback needs a positive number of trials, got {n_trials!r}")
        self.n_trials = n_trials
        self.states = None if states is None else tuple(states)

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        counts = study.count()
        total = sum(counts.values()) if self.states is None else sum(counts.get(s, 0) for s in self.states)
        if total >= self.n_trials:
            study.stop()
