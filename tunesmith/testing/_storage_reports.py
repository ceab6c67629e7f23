"""Conformance checks for the study-wide report log (mixed into StorageConformance)."""

from __future__ import annotations

import threading

from tunesmith.storage import Storage
from tunesmith.testing._storage_helpers import _new_study, _same, _version
from tunesmith.trial import TrialState


class ReportsConformance:
    """Schedulers read every report of a study incrementally, none missed, none twice."""

    def test_study_reports_in_write_order(self, storage: Storage) -> None:
        sid, other = _new_study(storage), _new_study(storage, "other")
        a, b = storage.start_trial(sid), storage.start_trial(sid)
        assert storage.get_study_reports(sid) == []
        storage.append_report(sid, a.trial_id, 0, {"loss": 1.0}, attempt=a.attempt)
        elsewhere = storage.start_trial(other)
        storage.append_report(other, elsewhere.trial_id, 0, {"loss": 5.0}, attempt=elsewhere.attempt)
        storage.append_report(sid, b.trial_id, 0, {"loss": 2.0}, attempt=b.attempt)
        storage.append_report(sid, a.trial_id, 1, {"loss": 0.5, "acc": 0.9}, attempt=a.attempt)
        got = storage.get_study_reports(sid)
        assert [(r.trial_id, r.step, r.metrics) for r in got] == [
            (a.trial_id, 0, {"loss": 1.0}), (b.trial_id, 0, {"loss": 2.0}),
            (a.trial_id, 1, {"loss": 0.5, "acc": 0.9}),
        ]
        ids = [r.report_id for r in got]
        assert ids == sorted(set(ids))
        assert storage.get_study_reports(sid, after=ids[0]) == got[1:]
        assert storage.get_study_reports(sid, after=ids[-1]) == []
        got[0].metrics["loss"] = 99.0  # a reader's copy: the stored report does not change
        assert storage.get_study_reports(sid)[0].metrics == {"loss": 1.0}
        storage.finish_trial(sid, a.trial_id, TrialState.COMPLETE, [0.5], attempt=a.attempt)
        assert len(storage.get_study_reports(sid)) == 3  # reports outlive the trial's run

    def test_incremental_reader_misses_nothing_under_concurrent_writers(self, storage: Storage) -> None:
        sid = _new_study(storage)
        writers, per_writer = 4, 40
        started = [storage.start_trial(sid) for _ in range(writers)]
        seen: list[tuple[int, int]] = []
        done = threading.Event()

        def read() -> None:
            cursor = 0
            while True:
                finished = done.is_set()
                for r in storage.get_study_reports(sid, after=cursor):
                    seen.append((r.trial_id, r.step))
                    cursor = r.report_id
                if finished:
                    return

        def write(trial_id: int) -> None:
            for step in range(per_writer):
                storage.append_report(sid, trial_id, step, {"loss": float(step)}, attempt=1)

        reader = threading.Thread(target=read)
        reader.start()
        threads = [threading.Thread(target=write, args=(t.trial_id,)) for t in started]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        done.set()
        reader.join(timeout=60)
        expected = {(t.trial_id, s) for t in started for s in range(per_writer)}
        assert len(seen) == len(expected) and set(seen) == expected

    def test_enqueue_with_system_attrs(self, storage: Storage) -> None:
        sid = _new_study(storage)
        attrs = {"restore": {"path": "/ckpt/3", "step": 4}, "parent": 2}
        storage.enqueue_trial(sid, {"lr": 0.1}, system_attrs=attrs)
        started = storage.start_trial(sid)
        assert _same(started.system_attrs["restore"], attrs["restore"]) and started.system_attrs["parent"] == 2
        assert _same(started.system_attrs["fixed_params"], {"lr": 0.1})
        attrs["parent"] = 7  # the caller's dict is not kept
        (t,) = storage.get_trials(sid)[0]
        assert t.system_attrs["parent"] == 2

    def test_pause_and_resume(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"x": 1.5}, attempt=t.attempt)
        storage.append_report(sid, t.trial_id, 3, {"loss": 0.4}, attempt=t.attempt)
        assert storage.resume_trial(sid, t.trial_id) is False  # RUNNING, not PAUSED
        paused = storage.finish_trial(sid, t.trial_id, TrialState.PAUSED, [0.4], attempt=t.attempt)
        assert paused.state == TrialState.PAUSED and not paused.state.is_finished()
        assert storage.count_trials(sid)[TrialState.PAUSED] == 1
        assert storage.best_trial(sid, maximize=False) is None  # only COMPLETE trials count
        other = storage.start_trial(sid)  # a paused trial is not in the queue
        assert other.number == 1
        version = _version(storage, sid)
        assert storage.resume_trial(sid, t.trial_id) is True
        assert storage.resume_trial(sid, t.trial_id) is False  # a second worker comes too late
        changed, _ = storage.get_trials(sid, version)
        assert [(c.trial_id, c.state) for c in changed] == [(t.trial_id, TrialState.WAITING)]
        again = storage.start_trial(sid)
        assert (again.trial_id, again.number, again.state) == (t.trial_id, 0, TrialState.RUNNING)
        assert _same(again.internal_params, {"x": 1.5}) and again.last_step == 3
        assert again.attempt == t.attempt + 1  # resuming starts a new attempt
        storage.append_report(sid, t.trial_id, 4, {"loss": 0.3}, attempt=again.attempt)
        assert [s for s, _ in storage.get_reports(sid, t.trial_id)] == [3, 4]
        done = storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [0.3], attempt=again.attempt)
        assert done.state == TrialState.COMPLETE and storage.resume_trial(sid, t.trial_id) is False
