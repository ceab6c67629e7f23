"""Taking back running trials that no one will finish, so that none stays RUNNING.

The rules, the same for every executor:

- a trial whose worker process is gone (its ``owner`` names a process of this
  machine that exited: ``kill -9``, a segfault, the machine's OOM killer) is an
  *orphan*. A restarted driver takes it back at once, without waiting for its lease
  to expire, and re-queues it with the same parameters: a crash of the whole run is
  not the trial's fault. So that a trial that crashes its own process (a segfault in a
  serial run) cannot crash every restart, it is re-queued at most ``max(max_retries, 1)``
  times, then FAILED;
- a trial with no heartbeat for ``heartbeat_grace`` seconds is taken back the same way
  (re-queued while it has ``max_retries`` left, else FAILED);
- an *interrupted* trial (Ctrl-C, SIGTERM of its worker by an interrupted driver) goes
  back to the queue (WAITING, same number and parameters, its ``retries`` count one
  more) whatever its retries: a later ``optimize`` or ``run(resume=True)`` runs it again;
- a trial whose run was aborted by an error (not in ``catch``, ``max_failures``) is
  FAILED with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from tunesmith._process import identity, is_gone
from tunesmith.execution._protocol import AskTell
from tunesmith.trial import FrozenTrial, TrialState

__all__ = [
    "INTERRUPTED", "REQUEUE_ALWAYS", "orphaned", "recover_lost_trials", "release", "release_orphans", "running_trials",
]

_log = logging.getLogger("tunesmith")

#: the reason given when an interrupted trial is taken back (it is re-queued, never FAILED)
INTERRUPTED = "interrupted (KeyboardInterrupt)"
#: ``recover_trials(max_retries=...)`` that re-queues whatever the trial's retries count
REQUEUE_ALWAYS = 2**31 - 1


def running_trials(study: AskTell) -> list[FrozenTrial]:
    """The study's RUNNING trials, as the storage has them now."""
    return study.get_trials(states=[TrialState.RUNNING])


def orphaned(trials: Iterable[FrozenTrial]) -> list[int]:
    """Ids of the RUNNING trials whose process is gone (see :func:`tunesmith._process.is_gone`)."""
    return [t.trial_id for t in trials if t.state == TrialState.RUNNING and is_gone(t.owner)]


def recover_lost_trials(study: AskTell, max_retries: int, heartbeat_grace: float) -> list[FrozenTrial]:
    """Take back orphans and trials with a lapsed lease; returns the trials changed.

    Called when a run starts, so that a restarted driver runs again what its previous
    incarnation left behind.
    """
    storage, study_id = study.storage, study.study_id
    changed = []
    lost = orphaned(running_trials(study))
    if lost:
        changed += storage.recover_trials(
            study_id, trial_ids=lost, max_retries=max(max_retries, 1),
            reason="the process that ran this trial is gone (killed or crashed) and it was retried already",
        )
    changed += storage.recover_trials(study_id, stale_before=time.time() - heartbeat_grace, max_retries=max_retries)
    if changed:
        study.history.ingest(changed)
    return changed


def release(
    study: AskTell, trial_ids: Iterable[int], *, interrupted: bool, reason: str = "", all_mine: bool = False,
) -> list[FrozenTrial]:
    """Record trials this process started and will not finish: re-queued if ``interrupted``, else FAILED.

    Only trials still RUNNING and held by this process (or by no known process) are
    touched: a trial taken back meanwhile and started again elsewhere is left alone.
    ``all_mine``: also every other RUNNING trial this process holds (one asked for when
    an interrupt cut the sampler short). Errors are logged, not raised: the lease (or the
    owner check of the next run) takes the trials back later.
    """
    wanted = set(trial_ids)
    me = identity()
    try:
        if not wanted and not all_mine:
            return []
        mine = [
            t.trial_id for t in running_trials(study)
            if (t.trial_id in wanted and t.owner in (me, None)) or (all_mine and t.owner == me)
        ]
        if not mine:
            return []
        changed = study.storage.recover_trials(
            study.study_id, trial_ids=mine, max_retries=REQUEUE_ALWAYS if interrupted else 0,
            reason=INTERRUPTED if interrupted else reason,
        )
    except Exception as e:
        _log.warning("tunesmith could not record trial(s) %s (%s); they are taken back later", sorted(wanted), e)
        return []
    study.history.ingest(changed)
    return changed


def release_orphans(study: AskTell, *, interrupted: bool, reason: str) -> list[FrozenTrial]:
    """Record the RUNNING trials whose process is gone (a driver's workers, after they were stopped)."""
    try:
        lost = orphaned(running_trials(study))
        if not lost:
            return []
        changed = study.storage.recover_trials(
            study.study_id, trial_ids=lost, max_retries=REQUEUE_ALWAYS if interrupted else 0,
            reason=INTERRUPTED if interrupted else reason,
        )
    except Exception as e:
        _log.warning("tunesmith could not record the trials of stopped workers (%s); they are taken back later", e)
        return []
    study.history.ingest(changed)
    return changed
