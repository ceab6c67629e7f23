"""Conformance checks for attempts, the lease tokens of running trials (mixed into StorageConformance).

A worker that stalls past its lease (SIGSTOP, a frozen VM) wakes up to find its trial
re-queued and started again by another worker. Every write it then makes must be
refused, and must leave the new attempt's record exactly as it was.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import pytest

from tunesmith.distributions import FloatDistribution, IntDistribution
from tunesmith.exceptions import LeaseLostError, TrialFinishedError
from tunesmith.storage import Storage
from tunesmith.testing._storage_helpers import _get, _new_study, _snapshot, _version
from tunesmith.trial import FrozenTrial, TrialState


def _stale_writes(storage: Storage, sid: int, old: FrozenTrial) -> list[tuple[str, Callable[[], object]]]:
    """Every write a worker holding attempt ``old.attempt`` could still try."""
    tid, attempt = old.trial_id, old.attempt
    writes: list[tuple[str, Callable[[], object]]] = [
        ("heartbeat", lambda: storage.heartbeat(sid, tid, attempt)),
        ("params", lambda: storage.update_trial(
            sid, tid, {"x": 0.9, "stale": 1}, {"stale": IntDistribution(0, 3)}, attempt=attempt)),
        ("user_attrs", lambda: storage.update_trial(sid, tid, user_attrs={"by": "stale"}, attempt=attempt)),
        ("report", lambda: storage.append_report(sid, tid, 99, {"loss": -1.0}, attempt=attempt)),
    ]
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.PAUSED):
        finish = functools.partial(
            storage.finish_trial, sid, tid, state, None if state == TrialState.FAILED else [-100.0], error="stale",
            params={"x": 0.9}, user_attrs={"by": "stale"}, attempt=attempt,
        )
        writes.append((f"finish {state.name}", finish))
    return writes


class LeaseConformance:
    """Each start of a trial is a new attempt; only the attempt holding the trial may write it."""

    def test_each_start_is_a_new_attempt(self, storage: Storage) -> None:
        sid = _new_study(storage)
        fresh = storage.start_trial(sid, owner="host-a/10/100")
        assert (fresh.attempt, fresh.owner) == (1, "host-a/10/100")
        stored = _get(storage, sid, fresh.trial_id)
        assert (stored.attempt, stored.owner) == (1, "host-a/10/100")
        assert storage.start_trial(sid).owner is None  # no owner given
        storage.enqueue_trial(sid, {"x": 0.5})
        queued = storage.start_trial(sid, owner="host-b/20/200")
        assert (queued.attempt, queued.owner) == (1, "host-b/20/200")
        # Re-queued after its worker was lost, then started by another worker: attempt 2.
        storage.recover_trials(sid, trial_ids=[fresh.trial_id], max_retries=1)
        again = storage.start_trial(sid, owner="host-c/30/300")
        assert (again.trial_id, again.attempt, again.owner) == (fresh.trial_id, 2, "host-c/30/300")
        assert _snapshot(_get(storage, sid, again.trial_id)) == _snapshot(again)
        # Paused and resumed: attempt 3.
        storage.finish_trial(sid, again.trial_id, TrialState.PAUSED, [1.0], attempt=again.attempt)
        assert storage.resume_trial(sid, again.trial_id)
        resumed = storage.start_trial(sid, owner="host-a/10/100")
        assert (resumed.trial_id, resumed.attempt, resumed.owner) == (fresh.trial_id, 3, "host-a/10/100")
        done = storage.finish_trial(sid, resumed.trial_id, TrialState.COMPLETE, [0.5], attempt=resumed.attempt)
        assert (done.attempt, done.owner) == (3, "host-a/10/100")  # the finished record keeps who ran it

    def test_superseded_attempt_cannot_write(self, storage: Storage) -> None:
        sid = _new_study(storage)
        x = FloatDistribution(0.0, 1.0)
        stalled = storage.start_trial(sid)
        storage.update_trial(sid, stalled.trial_id, {"x": 0.25}, {"x": x}, {"by": "first"}, attempt=stalled.attempt)
        storage.append_report(sid, stalled.trial_id, 0, {"loss": 0.5}, attempt=stalled.attempt)
        # Its heartbeat lapsed: taken back, and queued again.
        storage.recover_trials(sid, trial_ids=[stalled.trial_id], max_retries=1)
        self._check_refused(storage, sid, stalled)  # while WAITING
        # Another worker runs it now.
        successor = storage.start_trial(sid)
        assert successor.trial_id == stalled.trial_id and successor.attempt > stalled.attempt
        storage.update_trial(sid, successor.trial_id, {"x": 0.25}, user_attrs={"by": "second"},
                             attempt=successor.attempt)
        storage.append_report(sid, successor.trial_id, 1, {"loss": 0.4}, attempt=successor.attempt)
        self._check_refused(storage, sid, stalled)  # while the successor runs
        # The successor's own writes still go through, and its outcome stands.
        storage.heartbeat(sid, successor.trial_id, successor.attempt)
        done = storage.finish_trial(sid, successor.trial_id, TrialState.COMPLETE, [0.4], attempt=successor.attempt)
        assert (done.state, done.values, done.user_attrs) == (TrialState.COMPLETE, [0.4], {"by": "second"})
        self._check_refused(storage, sid, stalled)  # after it finished
        assert storage.best_trial(sid, maximize=False) is not None
        assert storage.get_reports(sid, stalled.trial_id) == [(0, {"loss": 0.5}), (1, {"loss": 0.4})]

    def _check_refused(self, storage: Storage, sid: int, stale: FrozenTrial) -> None:
        before = _snapshot(_get(storage, sid, stale.trial_id))
        reports, version = storage.get_reports(sid, stale.trial_id), _version(storage, sid)
        counts, names = storage.count_trials(sid), set(storage.get_study("study").distributions)
        for what, write in _stale_writes(storage, sid, stale):
            with pytest.raises(LeaseLostError, match=f"attempt {stale.attempt}"):
                write()
            assert _snapshot(_get(storage, sid, stale.trial_id)) == before, what
        assert isinstance(LeaseLostError(), TrialFinishedError)  # callers that catch the latter drop it too
        assert storage.get_reports(sid, stale.trial_id) == reports
        assert storage.get_trials(sid, version)[0] == []
        assert storage.count_trials(sid) == counts
        assert set(storage.get_study("study").distributions) == names  # "stale" was not registered

    def test_stalled_worker_finishing_first_does_not_win(self, storage: Storage) -> None:
        """The audit's case: the stalled worker wakes and finishes before its successor."""
        sid = _new_study(storage)
        stalled = storage.start_trial(sid)
        storage.recover_trials(sid, stale_before=time.time() + 1, max_retries=1)
        successor = storage.start_trial(sid)
        with pytest.raises(LeaseLostError):
            storage.finish_trial(sid, stalled.trial_id, TrialState.COMPLETE, [-1.0], attempt=stalled.attempt)
        assert _get(storage, sid, stalled.trial_id).state == TrialState.RUNNING
        done = storage.finish_trial(sid, successor.trial_id, TrialState.COMPLETE, [2.0], attempt=successor.attempt)
        assert done.values == [2.0] and _get(storage, sid, stalled.trial_id).values == [2.0]

    def test_stale_heartbeat_does_not_renew_the_successor(self, storage: Storage) -> None:
        sid = _new_study(storage)
        stalled = storage.start_trial(sid)
        storage.recover_trials(sid, trial_ids=[stalled.trial_id], max_retries=1)
        successor = storage.start_trial(sid)
        leased = _get(storage, sid, successor.trial_id).heartbeat_at
        time.sleep(0.02)
        with pytest.raises(LeaseLostError):
            storage.heartbeat(sid, stalled.trial_id, stalled.attempt)
        assert _get(storage, sid, successor.trial_id).heartbeat_at == leased
        # So the successor's lease still lapses when its own worker is gone.
        [lost] = storage.recover_trials(sid, stale_before=time.time(), max_retries=1)
        assert lost.trial_id == successor.trial_id and lost.state == TrialState.FAILED

    def test_write_of_a_missing_trial_is_refused(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        with pytest.raises(TrialFinishedError, match="missing"):
            storage.update_trial(sid, t.trial_id + 1000, params={"x": 1}, attempt=1)
        with pytest.raises(TrialFinishedError, match="missing"):
            storage.heartbeat(sid, t.trial_id + 1000, 1)
