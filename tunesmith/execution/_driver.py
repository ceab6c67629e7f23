"""What every multi-worker driver does: hand out trial tickets and watch the study record."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from tunesmith.exceptions import MaxFailuresError
from tunesmith.execution._loop import LoopSettings
from tunesmith.execution._recovery import INTERRUPTED, REQUEUE_ALWAYS
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.reporting._protocol import Reporter
    from tunesmith.study import Callback, Study

POLL_S = 0.25


class TicketOffice:
    """One ticket per trial, so that ``n_trials`` is exact however many workers ask.

    A trial takes one ticket however often it runs. The call *pays* for the trials it
    starts and for those RUNNING when it began (``running``: the caller counted them as
    under way, e.g. ``run(resume=True)``); when one of those goes back to the queue (its
    worker was lost, its lease lapsed), its ticket is given back so that some worker
    runs it again before the call ends. A trial already WAITING when the call began
    (enqueued, or re-queued by an earlier run) takes a ticket like a new one.
    Failures are counted across all workers for ``max_failures``.
    """

    def __init__(
        self, n_trials: int | None, settings: LoopSettings, running: Mapping[int, int] | None = None,
    ) -> None:
        self.n_trials = n_trials
        self.deadline = settings.deadline
        self.max_failures = settings.max_failures
        self.granted = 0
        self.failures = 0
        self.stopping = False
        self.error: BaseException | None = None
        # The trials this call pays for, with their retries count when last started.
        self._retries: dict[int, int] = dict(running or {})
        self._refunded: set[int] = set()  # paid trials back in the queue whose ticket is given back

    def grant(self) -> bool:
        if self.available() == 0:
            return False
        self.granted += 1
        return True

    def available(self) -> int | None:
        """Tickets left to hand out (None: no limit but time)."""
        if self.stopping or (self.deadline is not None and time.time() >= self.deadline):
            return 0
        return None if self.n_trials is None else max(0, self.n_trials - self.granted)

    def requeued(self, trial_id: int, retries: int | None = None) -> bool:
        """A trial went back to the queue; True if its ticket is free again (some worker must run it).

        ``retries``: its retries count now (as read from the record), None when surely
        re-queued. A count no higher than at its last start means it was resumed (a
        scheduler's promotion, outside the budget), not re-queued.
        """
        last = self._retries.get(trial_id)
        if last is None or trial_id in self._refunded or (retries is not None and retries <= last):
            return False
        self._refunded.add(trial_id)
        self.granted -= 1
        return True

    def pending(self, waiting: Iterable[FrozenTrial]) -> bool:
        """Give back the tickets of paid trials among the WAITING trials ``waiting``; True if any."""
        return any([self.requeued(t.trial_id, t.retries) for t in waiting])

    def started(self, retries: int, trial_id: int) -> None:
        """A worker started ``trial_id`` on a ticket (``retries``: its count then)."""
        last = self._retries.get(trial_id)
        self._retries[trial_id] = int(retries)
        if trial_id in self._refunded:
            self._refunded.discard(trial_id)  # runs on the ticket given back when it was re-queued
        elif last is not None and retries > last:
            self.granted -= 1  # re-queued and started before we saw it waiting: no second ticket

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

    def __init__(
        self, study: Study, settings: LoopSettings, callbacks: list[Callback], reporter: Reporter | None,
    ) -> None:
        self.study = study
        self.settings = settings
        self.callbacks = callbacks
        self.reporter = reporter
        self._version = study.history.version
        self._seen_finished: set[int] = set()
        self._last_poll = 0.0
        self._last_recover = time.time()

    def due(self) -> bool:
        return time.time() - self._last_poll >= POLL_S

    def poll(self) -> list[FrozenTrial]:
        """Read what changed (and take back trials whose lease lapsed); returns the trials changed."""
        self._last_poll = now = time.time()
        storage, study_id = self.study.storage, self.study.study_id
        interval = self.settings.heartbeat_interval
        if interval is not None and now - self._last_recover > interval:
            self._last_recover = now
            storage.recover_trials(
                study_id, stale_before=now - self.settings.heartbeat_grace, max_retries=self.settings.max_retries,
            )
        changed, self._version = storage.get_trials(study_id, self._version)
        if not changed:
            return changed
        for frozen in self.study.record_changed(changed):
            if frozen.state.is_finished() and frozen.trial_id not in self._seen_finished:
                self._seen_finished.add(frozen.trial_id)
                for cb in self.callbacks:
                    cb(self.study, frozen)
        if self.reporter is not None:
            self.reporter.update(self.study)
        return changed

    def take_back(self, trial_id: int, reason: str, retry: bool = True, interrupted: bool = False) -> bool:
        """Record a trial whose worker will not finish it; True if it was re-queued (else FAILED).

        ``interrupted``: re-queued whatever its retries (see ``_recovery``).
        """
        max_retries = REQUEUE_ALWAYS if interrupted else self.settings.max_retries if retry else 0
        changed = self.study.storage.recover_trials(
            self.study.study_id, trial_ids=[trial_id], reason=INTERRUPTED if interrupted else reason,
            max_retries=max_retries,
        )
        return any(t.state == TrialState.WAITING for t in changed)
