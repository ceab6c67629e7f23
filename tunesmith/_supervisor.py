"""A study's scheduler at work: decisions on reports, promotions of paused trials, PBT's continuations.

The scheduler decides from the stored reports (a :class:`~tunesmith.history.ReportLog`
it folds); the supervisor carries its decisions out on the storage: a stopped trial
ends PRUNED, COMPLETE or PAUSED, a promoted one goes back to the queue, and PBT's
exploit queues the trial that continues a line from a checkpoint. A study without a
scheduler has a supervisor that continues every trial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunesmith._json import dumps, loads
from tunesmith.checkpoints import CheckpointStore
from tunesmith.history import History, ReportLog
from tunesmith.record import FrozenTrial, Restore, TrialState
from tunesmith.samplers import Sampler
from tunesmith.schedulers import Decision, Exploit, Scheduler
from tunesmith.storage import Storage

__all__ = ["Supervisor"]

_END_STATES = {
    Decision.STOP: TrialState.PRUNED, Decision.FINISH: TrialState.COMPLETE, Decision.PAUSE: TrialState.PAUSED,
}


class Supervisor:
    """Carries out ``scheduler``'s decisions for one study in this process (None: continue every trial)."""

    def __init__(
        self, scheduler: Scheduler | None, storage: Storage, study_id: int, history: History,
        checkpoints: CheckpointStore, materialize: Callable[[FrozenTrial], FrozenTrial], sampler: Sampler,
    ) -> None:
        self.scheduler = scheduler
        self._storage = storage
        self._study_id = study_id
        #: the study's reports as the scheduler folds them
        self.reports = ReportLog(
            lambda after: storage.get_study_reports(study_id, after), history, checkpoints, materialize,
            None if scheduler is None else scheduler.ingest,
        )
        #: continuation trials (PBT) this process queued and has not started yet
        self._continuations = 0
        if scheduler is not None:
            sampler.use_reports(self.reports, scheduler)

    def decide(self, trial_number: int, trial_id: int, step: int, metrics: Mapping[str, Any]) -> TrialState | None:
        """How the trial that just reported ends (None: it goes on); an exploit queues its successor."""
        if self.scheduler is None:
            return None
        decision = self.scheduler.on_report(self.reports, trial_id, step, metrics)
        if decision is Decision.CONTINUE:
            return None
        if isinstance(decision, Exploit):
            self._continue(trial_number, decision)
            return TrialState.PRUNED
        return _END_STATES[decision]

    def take_continuation(self) -> bool:
        """Whether a continuation this process queued waits to run (it runs outside the trial budget)."""
        if self._continuations > 0:
            self._continuations -= 1
            return True
        return False

    def resume_promotable(self, final: bool = False) -> bool:
        """Re-queue one PAUSED trial the scheduler promotes; True if this process did.

        ``final``: no trial will start or is running (the scheduler may relax its rule).
        """
        if self.scheduler is None or not self.scheduler.pauses:
            return False
        for trial_id in self.scheduler.promotable(self.reports, final):
            if self._storage.resume_trial(self._study_id, trial_id):
                return True
        return False

    def promotions_pending(self) -> bool:
        """PAUSED trials wait while others run: one of those may make them promotable."""
        if self.scheduler is None or not self.scheduler.pauses:
            return False
        counts = self._storage.count_trials(self._study_id)
        return counts.get(TrialState.PAUSED, 0) > 0 and counts.get(TrialState.RUNNING, 0) > 0

    def _continue(self, trial_number: int, exploit: Exploit) -> None:
        """Queue the trial that continues trial ``trial_number``'s line from ``exploit``'s checkpoint."""
        result = None
        if exploit.result:  # finite numbers and strings only: system attributes are plain JSON
            result = {
                k: v for k, v in exploit.result.items()
                if isinstance(v, (str, bool, int)) or (isinstance(v, float) and v - v == 0)
            }
        restore = Restore(exploit.checkpoint, exploit.step, exploit.source, result)
        self._storage.enqueue_trial(self._study_id, loads(dumps(exploit.params)), restore.system_attrs(trial_number))
        self._continuations += 1
