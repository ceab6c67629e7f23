"""Leases on running trials: renew ours, take back the ones whose worker is gone."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from tunesmith.exceptions import TrialFinishedError
from tunesmith.storage import Storage

__all__ = ["Heartbeat"]

_log = logging.getLogger("tunesmith")


class Heartbeat:
    """A daemon thread beside a worker loop.

    Every ``interval`` seconds it renews the lease of the trial this worker runs and
    asks the storage to take back trials with no heartbeat for ``grace`` seconds
    (re-queued while they have retries left, else FAILED). Any worker, anywhere,
    thus recovers the trials of a worker that was killed or lost its machine.

    The lease is renewed for this worker's attempt only: once the trial was taken back
    (this worker stalled past ``grace``) the renewal is refused and the heartbeat stops
    renewing it, so it cannot keep the trial's next attempt alive after that one's
    worker is gone.
    """

    def __init__(self, storage: Storage, study_id: int, interval: float, grace: float, max_retries: int) -> None:
        if not interval > 0 or not grace > interval:
            raise ValueError(
                f"heartbeat needs interval > 0 and grace > interval, got interval={interval!r}, grace={grace!r}"
            )
        self.storage = storage
        self.study_id = study_id
        self.interval = interval
        self.grace = grace
        self.max_retries = max_retries
        self._lease: tuple[int, int] | None = None  # (trial id, attempt) renewed at each beat
        self._lease_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tunesmith-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def running(self, trial_id: int | None, attempt: int | None = None) -> None:
        """Tell the heartbeat which trial this worker runs now (None: none), and which attempt of it.

        ``attempt`` is the :attr:`~tunesmith.trial.FrozenTrial.attempt` the trial was started
        with; without it, it is read from the storage now (right after the start, so it is
        this worker's).
        """
        if trial_id is not None and attempt is None:
            attempt = self._read_attempt(trial_id)
        with self._lease_lock:
            self._lease = None if trial_id is None or attempt is None else (trial_id, attempt)

    def _read_attempt(self, trial_id: int) -> int | None:
        trials, _ = self.storage.get_trials(self.study_id)
        return next((t.attempt for t in trials if t.trial_id == trial_id), None)

    def recover(self) -> None:
        """Take back trials whose lease expired."""
        self.storage.recover_trials(
            self.study_id, stale_before=time.time() - self.grace, max_retries=self.max_retries,
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            lease = self._lease
            try:
                if lease is not None:
                    try:
                        self.storage.heartbeat(self.study_id, *lease)
                    except TrialFinishedError:  # finished meanwhile, or taken back (LeaseLostError)
                        with self._lease_lock:
                            if self._lease == lease:
                                self._lease = None  # renew it no more: the lease is not ours
                self.recover()
            except Exception as e:  # a flaky database must not kill the worker; retry next beat
                _log.warning("tunesmith heartbeat failed (will retry): %s", e)
