"""The loop every worker runs: ask -> objective -> tell, until the budget is spent."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunesmith.exceptions import MaxFailuresError, StorageError, TrialFinishedError
from tunesmith.execution._heartbeat import Heartbeat
from tunesmith.execution._protocol import AskTell
from tunesmith.execution._recovery import release
from tunesmith.storage._retry import is_database_error
from tunesmith.trial import CURRENT, FrozenTrial, Trial, TrialState, TrialStopped, current_trial

if TYPE_CHECKING:
    from tunesmith.study import Objective

__all__ = ["LoopSettings", "MaxFailuresError", "current_trial", "run_trial", "worker_loop"]

_log = logging.getLogger("tunesmith")


@dataclass
class LoopSettings:
    """What a worker needs besides the study and objective (picklable)."""

    catch: tuple[type[BaseException], ...] = (Exception,)
    max_failures: int | None = None
    deadline: float | None = None
    #: seconds between lease renewals of a running trial (None: no heartbeat)
    heartbeat_interval: float | None = 10.0
    #: a trial with no heartbeat for this long has lost its worker
    heartbeat_grace: float = 60.0
    #: times a lost trial is re-queued (same parameters) before it is FAILED
    max_retries: int = 0
    #: seconds a trial may run before its worker process (or Ray task) is killed
    trial_timeout: float | None = None
    #: bytes of address space a worker process may use (processes only)
    memory_limit: int | None = None

    def validate(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries!r}")
        if self.memory_limit is not None and not self.memory_limit > 0:
            raise ValueError(f"memory limit must be a positive number of bytes, got {self.memory_limit!r}")
        if self.trial_timeout is not None and not self.trial_timeout > 0:
            raise ValueError(f"trial_timeout must be positive seconds or None, got {self.trial_timeout!r}")
        if self.heartbeat_interval is not None and not (0 < self.heartbeat_interval < self.heartbeat_grace):
            raise ValueError(
                "heartbeat_interval must be positive and below heartbeat_grace, got "
                f"interval={self.heartbeat_interval!r}, grace={self.heartbeat_grace!r}"
            )


#: ``on_start(trial_id, retries)``: ``retries`` > 0 for a trial that runs again
OnStart = Callable[[int, int], Any]
_PROMOTION_POLL_S = 0.2


def run_trial(
    study: AskTell, objective: Objective, catch: tuple[type[BaseException], ...], on_start: OnStart | None = None,
) -> FrozenTrial | None:
    """Run one trial and record its outcome; exceptions outside ``catch`` are re-raised.

    ``on_start(trial_id, retries)`` is called once the trial is started (``retries`` > 0:
    it ran before). An interrupt (KeyboardInterrupt) in the objective puts the trial back
    in the queue (WAITING, same parameters: a later ``optimize`` runs it again); any other
    exception outside ``catch`` records it FAILED with the traceback. Returns None when
    the outcome could not be recorded: the trial was taken back meanwhile (its lease
    expired), or the storage failed (see :func:`_tell`).
    """
    trial = study.ask()
    token = CURRENT.set(trial)
    try:
        if on_start is not None:
            on_start(trial.trial_id, trial.retries)
        result = objective(trial)
    except TrialStopped:
        return _tell_stopped(study, trial)
    except KeyboardInterrupt:
        release(study, [trial.trial_id], interrupted=True)
        raise
    except catch:
        return _tell(study, trial, state=TrialState.FAILED, error=traceback.format_exc())
    except BaseException:  # SystemExit, or not in `catch`
        _tell(study, trial, state=TrialState.FAILED, error=traceback.format_exc())
        raise
    finally:
        CURRENT.reset(token)
    if result is None:
        trial.report_inherited()  # a PBT clone that had nothing left to train
        result = trial.last_result or None  # tune.run-style trainables report instead of returning
    if trial.should_stop():
        return _tell_stopped(study, trial, result)
    return _tell(study, trial, result)


def _tell_stopped(study: AskTell, trial: Trial, result: Any = None) -> FrozenTrial | None:
    """A trial a scheduler stopped: PRUNED or PAUSED, or COMPLETE with its last result when its budget ran out."""
    if trial.end_state == TrialState.COMPLETE:
        return _tell(study, trial, result if result is not None else (trial.last_result or None))
    return _tell(study, trial, state=trial.end_state or TrialState.PRUNED)  # None: the objective raised TrialStopped


def _tell(study: AskTell, trial: Trial, values: Any = None, **kwargs: Any) -> FrozenTrial | None:
    """Record the outcome; a write that fails (after the storage's own retries) fails this trial, not the run.

    The trial is then recorded FAILED with the error (a StorageError, a database's
    error, or a ValueError such as a parameter registered with another distribution);
    if even that write fails, None is returned and the trial is left to its worker loop
    (see :func:`worker_loop`) or its lease.
    """
    try:
        return study.tell(trial, values, **kwargs)
    except TrialFinishedError:
        _log.warning(
            "trial %d was taken back while it ran (its heartbeat lapsed); its outcome is dropped", trial.number
        )
        return None
    except Exception as e:
        if not _write_failed(e):
            raise
        error = traceback.format_exc()
    _log.warning("tunesmith could not record the outcome of trial %d; recording it FAILED:\n%s", trial.number, error)
    try:
        return study.tell(trial, state=TrialState.FAILED, error=f"recording the trial's outcome failed:\n{error}")
    except Exception as e:
        _log.error("tunesmith could not record trial %d as FAILED either: %s", trial.number, e)
        return None


def _write_failed(e: Exception) -> bool:
    """Whether ``e`` says the storage refused or failed a write (not a bug in the caller)."""
    return isinstance(e, (StorageError, OSError, ValueError)) or is_database_error(e)


class _Held:
    """The trial a worker loop runs now, and those whose outcome it could not record."""

    def __init__(self, beat: Heartbeat | None) -> None:
        self.beat = beat
        self.current: int | None = None
        self.unrecorded: list[int] = []

    def start(self, trial_id: int) -> None:
        self.current = trial_id
        if self.beat is not None:
            trial = current_trial()  # run_trial sets it before it calls on_start
            attempt = trial.attempt if trial is not None and trial.trial_id == trial_id else None
            self.beat.running(trial_id, attempt)

    def end(self, recorded: bool) -> None:
        if not recorded and self.current is not None:
            self.unrecorded.append(self.current)
        self.current = None
        if self.beat is not None:
            self.beat.running(None)


def worker_loop(
    study: AskTell, objective: Objective, settings: LoopSettings, claim: Callable[[], bool],
    on_finished: Callable[[FrozenTrial], Any] | None = None, on_start: OnStart | None = None,
) -> int:
    """Run trials while ``claim()`` grants one; returns the number of trials run.

    On a storage other processes can reach, a heartbeat thread renews the running
    trial's lease and takes back the trials of lost workers. Whatever ends the loop, no
    trial it started stays RUNNING: an interrupt (KeyboardInterrupt, even while the
    sampler suggests) puts the trial back in the queue, any other exception fails it
    with the traceback, and a trial whose outcome could not be written is FAILED at the end.
    """
    beat = None
    if study.storage.url is not None and settings.heartbeat_interval is not None:
        beat = Heartbeat(
            study.storage, study.study_id, settings.heartbeat_interval, settings.heartbeat_grace,
            settings.max_retries,
        )
    held = _Held(beat)

    def started(trial_id: int, retries: int) -> None:
        held.start(trial_id)
        if on_start is not None:
            on_start(trial_id, retries)

    try:
        if beat is None:
            ran = _loop(study, objective, settings, claim, on_finished, started, held)
        else:
            with beat:
                ran = _loop(study, objective, settings, claim, on_finished, started, held)
    except BaseException as e:
        interrupted = isinstance(e, KeyboardInterrupt)
        reason = "" if interrupted else f"the run stopped with an error while this trial ran:\n{traceback.format_exc()}"
        release(study, [t for t in (held.current, *held.unrecorded) if t is not None], interrupted=interrupted,
                reason=reason, all_mine=True)  # all_mine: a trial asked for when the error came
        raise
    release(study, held.unrecorded, interrupted=False, reason="its outcome could not be written to the storage")
    return ran


def _loop(
    study: AskTell, objective: Objective, settings: LoopSettings, claim: Callable[[], bool],
    on_finished: Callable[[FrozenTrial], Any] | None, on_start: OnStart, held: _Held,
) -> int:
    failures = 0
    ran = 0
    while True:
        if settings.deadline is not None and time.time() >= settings.deadline:
            break
        if study.supervisor.take_continuation():
            pass  # the line of a trial this worker stopped goes on here (PBT), outside the trial budget
        elif study.supervisor.resume_promotable():
            pass  # a paused trial promoted by the scheduler (ASHA) runs on here, outside the budget
        elif not claim():
            if study.stop_requested:
                break
            if study.supervisor.promotions_pending():
                time.sleep(_PROMOTION_POLL_S)  # a running trial may yet promote a paused one
                continue
            if not study.supervisor.resume_promotable(final=True):
                break
        frozen = run_trial(study, objective, settings.catch, on_start)
        held.end(recorded=frozen is not None)
        ran += 1
        if frozen is None:
            continue
        if on_finished is not None:
            on_finished(frozen)
        if frozen.state == TrialState.FAILED:
            failures += 1
            if settings.max_failures is not None and failures >= settings.max_failures:
                raise MaxFailuresError(
                    f"{failures} trials failed (max_failures={settings.max_failures}); "
                    f"the last one, trial {frozen.number}, failed with:\n{frozen.error}"
                )
    return ran
