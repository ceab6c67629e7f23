"""The study's side of a running trial: what :class:`~tunesmith.trial.Trial` writes goes through here.

A :class:`StudyTrialWriter` implements the :class:`~tunesmith.trial.TrialWriter`
protocol for one study: it registers parameters, asks the sampler for those the
proposal left out, stores parameters and reports under the trial's lease
(``attempt``), asks the :class:`~tunesmith._supervisor.Supervisor` what a report
means, and writes the trial's end.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith._registry import ParamRegistry
from tunesmith._supervisor import Supervisor
from tunesmith.checkpoints import CheckpointStore
from tunesmith.distributions import Distribution
from tunesmith.history import History
from tunesmith.record import CONSTRAINTS, FrozenTrial, TrialState
from tunesmith.samplers import Sampler
from tunesmith.storage import Storage
from tunesmith.trial import Trial

__all__ = ["StudyTrialWriter"]

_log = logging.getLogger("tunesmith")


class StudyTrialWriter:
    """Writes the running trials of one study (see :class:`~tunesmith.trial.TrialWriter`)."""

    def __init__(
        self, storage: Storage, study_id: int, metric_names: Sequence[str], registry: ParamRegistry,
        sampler: Sampler, history: History, checkpoints: CheckpointStore, supervisor: Supervisor,
    ) -> None:
        self.metric_names = metric_names
        self.checkpoints = checkpoints
        self.sampler = sampler
        self._storage = storage
        self._study_id = study_id
        self._registry = registry
        self._history = history
        self._supervisor = supervisor

    def register(self, name: str, distribution: Distribution) -> None:
        self._registry.register(name, distribution)

    def propose(
        self, name: str, distribution: Distribution, number: int, rng: np.random.Generator,
        params: Mapping[str, Any],
    ) -> Any:
        return self.sampler.suggest_one(name, distribution, self._history, number, rng, params)

    def write(self, trial: Trial) -> None:
        pending = trial.pending_write()
        if pending is None:
            return
        dists = self._registry.unstored(pending.distributions, pending.distributions)
        self._storage.update_trial(
            self._study_id, trial.trial_id, pending.params, dists, trial.user_attrs, attempt=trial.attempt,
        )
        self._registry.mark_stored(dists)
        trial.written()

    def report(self, trial: Trial, step: int, metrics: Mapping[str, Any]) -> None:
        self._storage.append_report(self._study_id, trial.trial_id, step, metrics, attempt=trial.attempt)

    def decide(self, trial: Trial, step: int, metrics: Mapping[str, Any]) -> TrialState | None:
        return self._supervisor.decide(trial.number, trial.trial_id, step, metrics)

    def finish(
        self, trial: Trial, state: TrialState, values: list[float] | None, error: str | None,
    ) -> FrozenTrial:
        """Write the trial's end with whatever of its parameters is not stored yet; returns the stored record.

        A COMPLETE or PRUNED trial gets the sampler's constraint values (Optuna's
        ``constraints_func``), computed here, in the process that ran it, and stored in the
        same write; a constraints function that fails makes the trial FAILED with its traceback.
        """
        system_attrs = None
        if self.sampler.constraints_func is not None and state in (TrialState.COMPLETE, TrialState.PRUNED):
            try:
                constraints = self.sampler.constraints(FrozenTrial(
                    trial.number, state, trial.params, values, user_attrs=dict(trial.user_attrs),
                    last_step=trial.last_step, last_result=dict(trial.last_result), trial_id=trial.trial_id,
                    distributions=trial.distributions, attempt=trial.attempt,
                ))
            except Exception:
                state, values = TrialState.FAILED, None
                error = f"the sampler's constraints_func failed on trial {trial.number}:\n{traceback.format_exc()}"
                _log.warning("trial %d FAILED: %s", trial.number, error)
            else:
                system_attrs = {CONSTRAINTS: constraints}
        pending = trial.pending_write(final=True)
        params, dists = (None, {}) if pending is None else (
            pending.params, self._registry.unstored(pending.distributions, pending.distributions))
        raw = self._storage.finish_trial(
            self._study_id, trial.trial_id, state, values, error, params, dists,
            None if params is None else trial.user_attrs, attempt=trial.attempt, system_attrs=system_attrs,
        )
        if dists:
            self._registry.mark_stored(dists)
        trial.written()
        self._history.ingest([raw])
        return raw
