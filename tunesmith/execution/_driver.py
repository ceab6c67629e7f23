"""What every multi-worker driver does: hand out trial tickets and watch the study record."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tunesmith.execution._loop import LoopSettings, MaxFailuresError
from tunesmith.trial import TrialState

if TYPE_CHECKING:
    from tunesmith.study import Callback, Study

POLL_S = 0.25


class TicketOffice:
    """One ticket per trial, so that ``n_trials`` is exact however many workers ask.

    A retried trial (re-queued after its worker was lost) gives its ticket back.
    Failures are counted across all workers for ``max_failures``.
    """

    def __init__(self, n_trials: int | None, settings: LoopSettings) -> None:
        self.n_trials = n_trials
        self.deadline = settings.deadline
        self.max_failures = settings.max_failures
        self.granted = 0
        self.failures = 0
        self.stopping = False
        self.error: BaseException | None = None
        self._refunded: set[int] = set()  # re-queued trials whose ticket is already given back

    def grant(self) -> bool:
        if self.stopping:
            return False
        if self.n_trials is not None and self.granted >= self.n_trials:
            return False
        if self.deadline is not None and time.time() >= self.deadline:
            return False
        self.granted += 1
        return True

    def requeued(self, trial_id: int) -> None:
        """A trial went back to the queue: its ticket is free again (so that some worker runs it)."""
        if trial_id not in self._refunded:
            self._refunded.add(trial_id)
            self.granted -= 1

    def started(self, retry: bool, trial_id: int | None = None) -> None:
        if not retry:
            return
        if trial_id is not None and trial_id in self._refunded:
            self._refunded.discard(trial_id)  # refunded when it was re-queued
        else:
            self.granted -= 1  # re-queued elsewhere (a heartbeat): a retry does not use up the budget

    def finished(self, state: int, number: int, error: str | None) -> None:
        if state != int(TrialState.FAILED):
            return
        self.failures += 1
        if self.max_failures is not None and self.failures >= self.max_failures:
            self.fail(MaxFailuresError(
                f"{self.failures} trials failed (max_failures={self.max_failures}); the last one, trial "
                f"{number}, failed with:\n{error}"
            ))

    def fail(self, error: BaseException) -> None:
        """Stop handing out tickets; the first error is the one raised to the user."""
        self.stopping = True
        if self.error is None:
            self.error = error


class StudyWatcher:
    """Reads what changed in the study record: callbacks, console, and lost-trial recovery."""

    def __init__(self, study: Study, settings: LoopSettings, callbacks: list[Callback], reporter: Any) -> None:
        self.study = study
        self.settings = settings
        self.callbacks = callbacks
        self.reporter = reporter
        self._version = study._history._version
        self._seen_finished: set[int] = set()
        self._last_poll = 0.0
        self._last_recover = time.time()

    def due(self) -> bool:
        return time.time() - self._last_poll >= POLL_S

    def poll(self) -> None:
        self._last_poll = now = time.time()
        storage, study_id = self.study.storage, self.study._study_id
        interval = self.settings.heartbeat_interval
        if interval is not None and now - self._last_recover > interval:
            self._last_recover = now
            storage.recover_trials(
                study_id, stale_before=now - self.settings.heartbeat_grace, max_retries=self.settings.max_retries,
            )
        changed, self._version = storage.get_trials(study_id, self._version)
        if not changed:
            return
        self.study._history.ingest(changed)
        for raw in changed:
            if raw.state.is_finished() and raw.trial_id not in self._seen_finished:
                self._seen_finished.add(raw.trial_id)
                frozen = self.study._materialize(raw)
                for cb in self.callbacks:
                    cb(self.study, frozen)
        if self.reporter is not None:
            self.reporter.update(self.study)

    def take_back(self, trial_id: int, reason: str, retry: bool = True) -> bool:
        """Record a trial whose worker will not finish it; True if it was re-queued (else FAILED)."""
        changed = self.study.storage.recover_trials(
            self.study._study_id, trial_ids=[trial_id], reason=reason,
            max_retries=self.settings.max_retries if retry else 0,
        )
        return any(t.state == TrialState.WAITING for t in changed)
