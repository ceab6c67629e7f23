"""Conformance checks for heartbeats and lost-trial recovery (mixed into StorageConformance)."""

from __future__ import annotations

import time

import pytest

from tunesmith.distributions import FloatDistribution
from tunesmith.exceptions import LeaseLostError, TrialFinishedError
from tunesmith.storage import Storage
from tunesmith.testing._storage_helpers import _get, _new_study, _version
from tunesmith.trial import TrialState


class RecoveryConformance:
    """Heartbeats renew a lease; ``recover_trials`` re-queues or fails what lost its worker."""

    def test_heartbeat_renews_the_lease_without_a_version_bump(self, storage: Storage) -> None:
        sid = _new_study(storage)
        trial = storage.start_trial(sid)
        assert trial.heartbeat_at is not None
        before = _version(storage, sid)
        time.sleep(0.02)
        storage.heartbeat(sid, trial.trial_id, trial.attempt)
        after = _get(storage, sid, trial.trial_id)
        assert after.heartbeat_at is not None and after.heartbeat_at > trial.heartbeat_at
        assert _version(storage, sid) == before
        storage.finish_trial(sid, trial.trial_id, TrialState.COMPLETE, [1.0], attempt=trial.attempt)
        with pytest.raises(TrialFinishedError) as refused:
            storage.heartbeat(sid, trial.trial_id, trial.attempt)
        assert not isinstance(refused.value, LeaseLostError)  # its own attempt finished it: not taken back

    def test_nothing_stale_changes_nothing(self, storage: Storage) -> None:
        sid = _new_study(storage)
        storage.start_trial(sid)
        before = _version(storage, sid)
        assert storage.recover_trials(sid, stale_before=time.time() - 60) == []
        assert _version(storage, sid) == before

    def test_stale_trial_fails_with_the_reason(self, storage: Storage) -> None:
        sid = _new_study(storage)
        lost = storage.start_trial(sid)
        time.sleep(0.02)
        cutoff = time.time()
        alive = storage.start_trial(sid)
        done = storage.start_trial(sid)
        storage.finish_trial(sid, done.trial_id, TrialState.COMPLETE, [0.0], attempt=done.attempt)
        changed = storage.recover_trials(sid, stale_before=cutoff)
        assert [t.number for t in changed] == [lost.number]
        failed = _get(storage, sid, lost.trial_id)
        assert failed.state == TrialState.FAILED and failed.finished_at is not None
        assert "heartbeat" in (failed.error or "")
        assert _get(storage, sid, alive.trial_id).state == TrialState.RUNNING
        assert _get(storage, sid, done.trial_id).state == TrialState.COMPLETE

    def test_lost_trial_is_requeued_with_its_params_and_reports(self, storage: Storage) -> None:
        sid = _new_study(storage)
        dist = FloatDistribution(0.0, 1.0)
        lost = storage.start_trial(sid)
        storage.update_trial(sid, lost.trial_id, {"x": 0.25}, {"x": dist}, {"tag": "a"}, attempt=lost.attempt)
        storage.append_report(sid, lost.trial_id, 3, {"loss": 0.5}, attempt=lost.attempt)
        changed = storage.recover_trials(sid, trial_ids=[lost.trial_id], max_retries=2)
        assert len(changed) == 1 and changed[0].state == TrialState.WAITING
        again = storage.start_trial(sid)  # the queue goes first, under the same number
        assert (again.trial_id, again.number) == (lost.trial_id, lost.number)
        assert again.state == TrialState.RUNNING
        assert again.internal_params == {"x": 0.25} and again.user_attrs == {"tag": "a"}
        assert again.system_attrs["retries"] == 1
        assert again.last_step == 3 and again.last_result == {"loss": 0.5}
        assert storage.get_reports(sid, lost.trial_id) == [(3, {"loss": 0.5})]
        assert storage.start_trial(sid).number == lost.number + 1  # no number was consumed

    def test_retries_run_out(self, storage: Storage) -> None:
        sid = _new_study(storage)
        trial = storage.start_trial(sid)
        for expected in (1, 2):
            storage.recover_trials(sid, trial_ids=[trial.trial_id], max_retries=2)
            trial = storage.start_trial(sid)
            assert trial.system_attrs["retries"] == expected
        [failed] = storage.recover_trials(sid, trial_ids=[trial.trial_id], max_retries=2, reason="worker died")
        assert failed.state == TrialState.FAILED and failed.error == "worker died"
        assert storage.count_trials(sid)[TrialState.FAILED] == 1

    def test_requeued_trials_wait_in_number_order(self, storage: Storage) -> None:
        sid = _new_study(storage)
        a, b = storage.start_trial(sid), storage.start_trial(sid)
        storage.recover_trials(sid, trial_ids=[b.trial_id, a.trial_id], max_retries=1)
        assert [storage.start_trial(sid).number for _ in range(3)] == [a.number, b.number, b.number + 1]

    def test_finished_trials_are_never_recovered(self, storage: Storage) -> None:
        sid = _new_study(storage)
        trial = storage.start_trial(sid)
        storage.finish_trial(sid, trial.trial_id, TrialState.PRUNED, [1.0], attempt=trial.attempt)
        assert storage.recover_trials(sid, stale_before=time.time() + 60, trial_ids=[trial.trial_id]) == []
        assert _get(storage, sid, trial.trial_id).state == TrialState.PRUNED
