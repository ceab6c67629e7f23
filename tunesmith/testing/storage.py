"""The storage conformance suite: the contract of :class:`~tunesmith.storage.Storage`, as tests.

Every backend's test module subclasses :class:`StorageConformance` and provides a
``storage`` fixture returning a fresh, empty storage; pytest then runs every check
below against it::

    class TestSQLite(StorageConformance):
        @pytest.fixture
        def storage(self, tmp_path):
            return SQLStorage(f"sqlite:///{tmp_path}/s.db")

A storage with a ``url`` is also opened from that URL in other processes (the
concurrency check) and must survive pickling; a process-local one (``url`` None),
or one whose URL only names it (set :attr:`StorageConformance.opened_by_url` False,
as for a Ray actor's), is hammered from threads instead.

This module imports pytest, which tunesmith itself does not depend on: import it
from tests only.
"""

from __future__ import annotations

import functools
import math
import multiprocessing
import pickle
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)
from tunesmith.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialFinishedError
from tunesmith.storage import Storage
from tunesmith.testing._storage_helpers import (
    _ERROR,
    _FINISHED,
    _TRIALS_PER_WORKER,
    _WORKERS,
    _all_trials,
    _get,
    _hammer,
    _hammer_process,
    _new_study,
    _run_trials,
    _same,
    _snapshot,
    _version,
)
from tunesmith.testing._storage_leases import LeaseConformance
from tunesmith.testing._storage_records import RecordConformance
from tunesmith.testing._storage_recovery import RecoveryConformance
from tunesmith.testing._storage_reports import ReportsConformance
from tunesmith.testing._storage_studies import StudyLifecycleConformance
from tunesmith.trial import TrialState

__all__ = ["StorageConformance"]


class StorageConformance(
    RecoveryConformance, LeaseConformance, RecordConformance, ReportsConformance, StudyLifecycleConformance,
):
    """Checks every :class:`Storage` backend must pass. Subclass it and provide ``storage``."""

    #: Whether other processes can open the storage from its ``url`` (the concurrency
    #: check then runs in processes, else in threads).
    opened_by_url: bool = True

    @pytest.fixture
    def storage(self) -> Storage:
        """A fresh, empty storage of the backend under test."""
        raise NotImplementedError("subclass StorageConformance and define a `storage` fixture")

    # -- studies --------------------------------------------------------------------------
    def test_create_and_get_study(self, storage: Storage) -> None:
        rec = storage.create_study("alpha", ["minimize", "maximize"], ["loss", "acc"])
        assert (rec.name, rec.directions, rec.metric_names, rec.distributions) == (
            "alpha", ["minimize", "maximize"], ["loss", "acc"], {}
        )
        got = storage.get_study("alpha")
        assert (got.study_id, got.name, got.directions, got.metric_names) == (
            rec.study_id, "alpha", ["minimize", "maximize"], ["loss", "acc"]
        )
        assert got.created_at == pytest.approx(rec.created_at) and got.created_at > 0
        other = storage.create_study("beta", ["maximize"], ["acc"])
        assert other.study_id != rec.study_id
        assert storage.get_study("beta").study_id == other.study_id

    def test_duplicated_study_name(self, storage: Storage) -> None:
        rec = storage.create_study("dup", ["minimize"], ["loss"])
        storage.start_trial(rec.study_id)
        with pytest.raises(DuplicatedStudyError, match="dup"):
            storage.create_study("dup", ["minimize"], ["loss"])
        again = storage.create_study("dup", ["minimize"], ["loss"], load_if_exists=True)
        assert again.study_id == rec.study_id
        assert [s.name for s in storage.list_studies()] == ["dup"]
        assert storage.count_trials(rec.study_id)[TrialState.RUNNING] == 1  # loading kept the trials

    def test_unknown_study(self, storage: Storage) -> None:
        with pytest.raises(StudyNotFoundError, match="nope"):
            storage.get_study("nope")
        storage.create_study("yes", ["minimize"], ["loss"])
        with pytest.raises(KeyError):  # StudyNotFoundError is a KeyError
            storage.get_study("Yes")

    def test_list_studies(self, storage: Storage) -> None:
        assert storage.list_studies() == []
        lo = _new_study(storage, "lo", ["minimize"])
        hi = _new_study(storage, "hi", ["maximize", "minimize"])
        _new_study(storage, "empty")
        C, P, F, R = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.RUNNING
        _run_trials(storage, lo, [(C, [3.0]), (C, [1.0]), (P, [-5.0]), (F, None), (R, None)])
        _run_trials(storage, hi, [(C, [3.0, 0.0]), (C, [7.0, 9.0]), (C, [math.nan, 1.0])])
        by_name = {s.name: s for s in storage.list_studies()}
        assert set(by_name) == {"lo", "hi", "empty"}
        s = by_name["lo"]
        assert (s.directions, s.metric_names, s.n_trials, s.best_value) == (["minimize"], ["m0"], 5, 1.0)
        assert s.counts == {TrialState.WAITING: 0, R: 1, C: 2, P: 1, F: 1, TrialState.PAUSED: 0}
        s = by_name["hi"]
        assert (s.directions, s.n_trials, s.best_value) == (["maximize", "minimize"], 3, 7.0)
        assert s.counts[C] == 3
        s = by_name["empty"]
        assert (s.n_trials, s.best_value) == (0, None)
        assert s.counts == dict.fromkeys(TrialState, 0)
        assert s.created_at > 0 and s.last_activity is None
        lo_trials = storage.get_trials(lo)[0]
        latest = max(x for t in lo_trials for x in (t.started_at, t.heartbeat_at, t.finished_at) if x is not None)
        assert by_name["lo"].last_activity == latest

    # -- trial numbers ----------------------------------------------------------------------
    def test_start_trial_numbers_are_contiguous(self, storage: Storage) -> None:
        sid = _new_study(storage)
        started = [storage.start_trial(sid) for _ in range(10)]
        assert [t.number for t in started] == list(range(10))
        assert len({t.trial_id for t in started}) == 10
        for t in started:
            assert t.state == TrialState.RUNNING
            assert t.started_at is not None and t.finished_at is None
            assert t.values is None and t.internal_params == {} and t.user_attrs == {}
        stored = _all_trials(storage, sid)
        assert sorted(t.number for t in stored.values()) == list(range(10))
        assert {tid: t.number for tid, t in stored.items()} == {t.trial_id: t.number for t in started}

    def test_studies_number_trials_independently(self, storage: Storage) -> None:
        a, b = _new_study(storage, "a"), _new_study(storage, "b")
        numbers: dict[int, list[int]] = {a: [], b: []}
        for sid in [a, b, b, a, b, a, a, b, b]:
            numbers[sid].append(storage.start_trial(sid).number)
        assert numbers == {a: [0, 1, 2, 3], b: [0, 1, 2, 3, 4]}
        ta, tb = _all_trials(storage, a), _all_trials(storage, b)
        assert len(ta) == 4 and len(tb) == 5 and not set(ta) & set(tb)
        t = next(iter(ta.values()))
        storage.finish_trial(a, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
        assert storage.count_trials(a)[TrialState.COMPLETE] == 1
        assert storage.count_trials(b)[TrialState.COMPLETE] == 0
        assert storage.best_trial(b, maximize=False) is None
        assert storage.get_trials(b, _version(storage, b))[0] == []

    @pytest.mark.slow
    def test_trial_numbers_unique_under_concurrency(self, storage: Storage) -> None:
        sid = _new_study(storage, "concurrent")
        if storage.url is None or not self.opened_by_url:
            per_worker = self._hammer_threads(storage)
        else:
            per_worker = self._hammer_processes(storage.url)
        total = _WORKERS * _TRIALS_PER_WORKER
        handed_out = [n for numbers in per_worker for n in numbers]
        assert sorted(handed_out) == list(range(total))  # unique and contiguous
        trials, _ = storage.get_trials(sid)
        assert len(trials) == total
        assert {t.number for t in trials} == set(range(total))
        assert all(t.state == TrialState.COMPLETE and t.values == [float(t.number)] for t in trials)
        assert storage.count_trials(sid)[TrialState.COMPLETE] == total

    def _hammer_threads(self, storage: Storage) -> list[list[int]]:
        barrier = threading.Barrier(_WORKERS)
        results: list[list[int]] = [[] for _ in range(_WORKERS)]
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                results[i] = _hammer(storage, "concurrent", _TRIALS_PER_WORKER, barrier)
            except BaseException as e:
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=work, args=(i,)) for i in range(_WORKERS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        if errors:
            raise errors[0]
        assert not any(th.is_alive() for th in threads), "a worker thread hung"
        return results

    def _hammer_processes(self, url: str) -> list[list[int]]:
        # spawn, not fork: each worker opens the storage from its URL, as a real one would.
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(_WORKERS)
        queue = ctx.Queue()
        procs = [
            ctx.Process(target=_hammer_process, args=(url, "concurrent", _TRIALS_PER_WORKER, barrier, queue))
            for _ in range(_WORKERS)
        ]
        for p in procs:
            p.start()
        try:
            outcomes = [queue.get(timeout=120) for _ in procs]
        finally:
            for p in procs:
                p.join(timeout=30)
                if p.is_alive():
                    p.kill()
        errors = [detail for kind, detail in outcomes if kind == "error"]
        assert not errors, "a worker failed:\n" + "\n".join(errors)
        assert all(p.exitcode == 0 for p in procs)
        return [numbers for _, numbers in outcomes]

    # -- the queue of WAITING trials ---------------------------------------------------------
    def test_enqueue_trial(self, storage: Storage) -> None:
        sid = _new_study(storage)
        fixed = {"lr": 0.01, "layers": 3, "opt": "adam", "flag": True}
        number = storage.enqueue_trial(sid, fixed)
        assert number == 0
        (t,) = storage.get_trials(sid)[0]
        assert (t.number, t.state) == (0, TrialState.WAITING)
        assert _same(t.system_attrs["fixed_params"], fixed)
        assert t.started_at is None and t.values is None
        assert storage.count_trials(sid)[TrialState.WAITING] == 1
        assert storage.enqueue_trial(sid, {"lr": 0.1}) == 1

    def test_start_trial_claims_oldest_waiting_first(self, storage: Storage) -> None:
        sid = _new_study(storage)
        assert storage.start_trial(sid).number == 0
        queued = {storage.enqueue_trial(sid, {"which": name}): name for name in ("first", "second", "third")}
        assert list(queued) == [1, 2, 3]
        waiting_ids = {t.number: t.trial_id for t in storage.get_trials(sid)[0] if t.state == TrialState.WAITING}
        counts = storage.count_trials(sid)
        assert (counts[TrialState.WAITING], counts[TrialState.RUNNING]) == (3, 1)
        for number in (1, 2):
            t = storage.start_trial(sid)
            assert (t.number, t.state, t.trial_id) == (number, TrialState.RUNNING, waiting_ids[number])
            assert t.system_attrs["fixed_params"] == {"which": queued[number]}
            assert t.started_at is not None
            assert _get(storage, sid, t.trial_id).state == TrialState.RUNNING
        counts = storage.count_trials(sid)
        assert (counts[TrialState.WAITING], counts[TrialState.RUNNING]) == (1, 3)
        assert storage.enqueue_trial(sid, {"which": "fourth"}) == 4
        assert storage.start_trial(sid).number == 3  # still the oldest first
        assert storage.start_trial(sid).number == 4
        # The queue is empty: a new number, not one consumed by the claims above.
        t = storage.start_trial(sid)
        assert t.number == 5 and "fixed_params" not in t.system_attrs
        counts = storage.count_trials(sid)
        assert (counts[TrialState.WAITING], counts[TrialState.RUNNING]) == (0, 6)
        assert sorted(t.number for t in storage.get_trials(sid)[0]) == list(range(6))

    # -- parameters, attributes, distributions ------------------------------------------------
    def test_update_trial_sets_params_and_user_attrs(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"a": 1, "b": 0.5}, user_attrs={"note": "x"}, attempt=t.attempt)
        got = _get(storage, sid, t.trial_id)
        assert _same(got.internal_params, {"a": 1, "b": 0.5}) and got.user_attrs == {"note": "x"}
        assert got.state == TrialState.RUNNING
        # Parameters are replaced as a whole; None keeps what is stored.
        storage.update_trial(sid, t.trial_id, params={"a": 2, "c": "z"}, attempt=t.attempt)
        got = _get(storage, sid, t.trial_id)
        assert _same(got.internal_params, {"a": 2, "c": "z"}) and got.user_attrs == {"note": "x"}
        storage.update_trial(sid, t.trial_id, user_attrs={"other": [1, 2]}, attempt=t.attempt)
        got = _get(storage, sid, t.trial_id)
        assert _same(got.internal_params, {"a": 2, "c": "z"}) and got.user_attrs == {"other": [1, 2]}
        other = storage.start_trial(sid)
        assert _get(storage, sid, other.trial_id).internal_params == {}

    def test_update_trial_copies_its_arguments(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        params, attrs = {"a": 1}, {"k": "v"}
        storage.update_trial(sid, t.trial_id, params=params, user_attrs=attrs, attempt=t.attempt)
        params["a"] = 99
        attrs["k"] = "changed"
        got = _get(storage, sid, t.trial_id)
        assert (got.internal_params, got.user_attrs) == ({"a": 1}, {"k": "v"})

    def test_update_trial_registers_distributions(self, storage: Storage) -> None:
        sid = _new_study(storage)
        dists: dict[str, Distribution] = {
            "lr": FloatDistribution(1e-5, 1e-1, log=True),
            "dropout": FloatDistribution(0.0, 0.5, step=0.1),
            "layers": IntDistribution(1, 9, step=2),
            "opt": CategoricalDistribution((None, True, "adam", 1.5, 2)),
            "noise": NormalDistribution(0.0, 2.0),
        }
        t = storage.start_trial(sid)
        first = {k: dists[k] for k in ("lr", "layers")}
        storage.update_trial(sid, t.trial_id, params={"lr": 0.001, "layers": 3}, distributions=first, attempt=t.attempt)
        got = storage.get_study("study").distributions
        assert {k: d.to_json() for k, d in got.items()} == {k: dists[k].to_json() for k in ("lr", "layers")}
        # More names later, from another trial; known ones again are fine.
        t2 = storage.start_trial(sid)
        storage.update_trial(sid, t2.trial_id, params={}, distributions=dists, attempt=t2.attempt)
        got = storage.get_study("study").distributions
        assert {k: d.to_json() for k, d in got.items()} == {k: d.to_json() for k, d in dists.items()}
        assert all(isinstance(got[k], type(dists[k])) for k in dists)
        # finish_trial registers too.
        extra = IntDistribution(0, 10)
        storage.finish_trial(
            sid, t2.trial_id, TrialState.COMPLETE, [1.0], distributions={"extra": extra}, attempt=t2.attempt,
        )
        assert storage.get_study("study").distributions["extra"].to_json() == extra.to_json()

    def test_conflicting_distribution_raises(self, storage: Storage) -> None:
        sid = _new_study(storage)
        lr = FloatDistribution(1e-5, 1e-1, log=True)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"lr": 0.01}, distributions={"lr": lr}, attempt=t.attempt)
        before = _snapshot(_get(storage, sid, t.trial_id))
        version = _version(storage, sid)
        for conflict in (FloatDistribution(1e-5, 1e-1), FloatDistribution(1e-5, 1.0, log=True), IntDistribution(1, 5)):
            with pytest.raises(ValueError, match="lr"):
                storage.update_trial(
                    sid, t.trial_id, params={"lr": 0.5, "new": 1},
                    distributions={"new": IntDistribution(0, 3), "lr": conflict}, attempt=t.attempt,
                )
            with pytest.raises(ValueError, match="lr"):
                storage.finish_trial(
                    sid, t.trial_id, TrialState.COMPLETE, [1.0], distributions={"lr": conflict}, attempt=t.attempt,
                )
        # Nothing was written: not the parameters, not the state, not the other new name.
        assert _snapshot(_get(storage, sid, t.trial_id)) == before
        assert storage.get_trials(sid, version)[0] == []
        assert set(storage.get_study("study").distributions) == {"lr"}
        # The same distribution again (an equal, separately built object) is fine.
        storage.update_trial(
            sid, t.trial_id, params={"lr": 0.02}, distributions={"lr": FloatDistribution(1e-5, 1e-1, log=True)},
            attempt=t.attempt,
        )
        t2 = storage.start_trial(sid)
        with pytest.raises(ValueError, match="lr"):
            storage.update_trial(
                sid, t2.trial_id, params={"lr": 3}, distributions={"lr": IntDistribution(1, 5)}, attempt=t2.attempt,
            )
        assert storage.get_study("study").distributions["lr"].to_json() == lr.to_json()

    def test_rejected_write_registers_nothing(self, storage: Storage) -> None:
        """A write refused because its trial is finished must not leave its distributions behind."""
        sid = _new_study(storage)
        done = storage.start_trial(sid)
        storage.finish_trial(sid, done.trial_id, TrialState.COMPLETE, [1.0], attempt=done.attempt)
        x, y, z = FloatDistribution(0.0, 1.0), IntDistribution(0, 4), IntDistribution(0, 9)
        with pytest.raises(TrialFinishedError):
            storage.update_trial(sid, done.trial_id, params={"x": 0.5}, distributions={"x": x}, attempt=done.attempt)
        with pytest.raises(TrialFinishedError):
            storage.finish_trial(
                sid, done.trial_id, TrialState.COMPLETE, [2.0], distributions={"y": y}, attempt=done.attempt,
            )
        with pytest.raises(TrialFinishedError):
            storage.update_trial(sid, done.trial_id, params={"z": 1}, distributions={"z": z}, attempt=done.attempt)
        # A running trial registers the same ones for real (no get_study in between: a
        # backend that remembered the refused registrations would now skip writing them),
        # and may define a refused name differently.
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"x": 0.5}, distributions={"x": x}, attempt=t.attempt)
        storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], distributions={"y": y}, attempt=t.attempt)
        other_z = FloatDistribution(0.0, 9.0)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"z": 1.5}, distributions={"z": other_z}, attempt=t.attempt)
        got = storage.get_study("study").distributions
        assert {k: d.to_json() for k, d in got.items()} == {
            "x": x.to_json(), "y": y.to_json(), "z": other_z.to_json()
        }

    # -- intermediate reports ------------------------------------------------------------
    def test_append_report_and_get_reports(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t, other = storage.start_trial(sid), storage.start_trial(sid)
        assert storage.get_reports(sid, t.trial_id) == []
        written: list[tuple[int, dict[str, Any]]] = [
            (0, {"loss": 1.0}), (1, {"loss": 0.5, "acc": 0.1}), (3, {"loss": 0.4}), (2, {"loss": 0.45}),
            (2, {"loss": 0.44, "note": "again"}),
        ]
        for step, metrics in written:
            storage.append_report(sid, t.trial_id, step, metrics, attempt=t.attempt)
        storage.append_report(sid, other.trial_id, 7, {"loss": 9.0}, attempt=other.attempt)
        assert storage.get_reports(sid, t.trial_id) == written  # in the order written, duplicates kept
        assert storage.get_reports(sid, other.trial_id) == [(7, {"loss": 9.0})]
        got = _get(storage, sid, t.trial_id)
        assert (got.last_step, got.last_result) == (2, {"loss": 0.44, "note": "again"})
        assert got.state == TrialState.RUNNING
        assert _get(storage, sid, other.trial_id).last_step == 7
        # A report is a change: the trial shows up in get_trials since the version before it.
        version = _version(storage, sid)
        storage.append_report(sid, t.trial_id, 4, {"loss": 0.3}, attempt=t.attempt)
        changed, _ = storage.get_trials(sid, version)
        assert [c.trial_id for c in changed] == [t.trial_id] and changed[0].last_step == 4
        # Reports survive finishing.
        storage.finish_trial(sid, t.trial_id, TrialState.PRUNED, [0.3], attempt=t.attempt)
        assert storage.get_reports(sid, t.trial_id) == [*written, (4, {"loss": 0.3})]

    # -- finishing --------------------------------------------------------------------------
    @pytest.mark.parametrize("state", _FINISHED, ids=lambda s: s.name)
    def test_finish_trial(self, storage: Storage, state: TrialState) -> None:
        sid = _new_study(storage, directions=["minimize", "maximize"])
        t = storage.start_trial(sid)
        values = None if state == TrialState.FAILED else [0.25, 4.0]
        error = _ERROR if state == TrialState.FAILED else None
        done = storage.finish_trial(sid, t.trial_id, state, values, error=error, attempt=t.attempt)
        assert (done.number, done.trial_id, done.state, done.values, done.error) == (
            t.number, t.trial_id, state, values, error
        )
        assert done.started_at is not None and done.finished_at is not None
        assert done.finished_at >= done.started_at
        assert _snapshot(_get(storage, sid, t.trial_id)) == _snapshot(done)
        assert storage.count_trials(sid)[state] == 1 and storage.count_trials(sid)[TrialState.RUNNING] == 0

    def test_finish_trial_replaces_params_and_user_attrs(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"a": 1}, user_attrs={"u": 1}, attempt=t.attempt)
        done = storage.finish_trial(
            sid, t.trial_id, TrialState.COMPLETE, [1.0], params={"a": 2, "b": 3}, attempt=t.attempt,
        )
        assert (done.internal_params, done.user_attrs) == ({"a": 2, "b": 3}, {"u": 1})
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"a": 1}, user_attrs={"u": 1}, attempt=t.attempt)
        done = storage.finish_trial(
            sid, t.trial_id, TrialState.FAILED, user_attrs={"v": 2}, error="boom", attempt=t.attempt,
        )
        assert (done.internal_params, done.user_attrs) == ({"a": 1}, {"v": 2})
        assert _snapshot(_get(storage, sid, t.trial_id)) == _snapshot(done)

    @pytest.mark.parametrize("state", _FINISHED, ids=lambda s: s.name)
    def test_finished_trial_is_immutable(self, storage: Storage, state: TrialState) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params={"a": 1}, user_attrs={"u": "x"}, attempt=t.attempt)
        storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)
        storage.finish_trial(
            sid, t.trial_id, state, None if state == TrialState.FAILED else [1.0], error="e", attempt=t.attempt,
        )
        before = _snapshot(_get(storage, sid, t.trial_id))
        counts, version = storage.count_trials(sid), _version(storage, sid)
        best = storage.best_trial(sid, maximize=False)
        attempts: list[Callable[[], object]] = [
            functools.partial(storage.finish_trial, sid, t.trial_id, s, [-100.0], attempt=t.attempt) for s in _FINISHED
        ]
        attempts += [
            lambda: storage.finish_trial(
                sid, t.trial_id, TrialState.COMPLETE, [-1.0], params={"a": 2}, attempt=t.attempt,
            ),
            lambda: storage.update_trial(sid, t.trial_id, params={"a": 2}, attempt=t.attempt),
            lambda: storage.update_trial(sid, t.trial_id, user_attrs={"u": "y"}, attempt=t.attempt),
            lambda: storage.update_trial(sid, t.trial_id, params={"a": 2}, user_attrs={"u": "y"}, attempt=t.attempt),
            lambda: storage.append_report(sid, t.trial_id, 1, {"loss": 0.0}, attempt=t.attempt),
            lambda: storage.heartbeat(sid, t.trial_id, t.attempt),
        ]
        for write in attempts:
            with pytest.raises(TrialFinishedError):
                write()
        assert _snapshot(_get(storage, sid, t.trial_id)) == before
        assert storage.get_reports(sid, t.trial_id) == [(0, {"loss": 1.0})]
        assert storage.count_trials(sid) == counts
        assert storage.get_trials(sid, version)[0] == []
        after = storage.best_trial(sid, maximize=False)
        assert (None if best is None else _snapshot(best)) == (None if after is None else _snapshot(after))

    @pytest.mark.parametrize("state", [TrialState.RUNNING, TrialState.WAITING], ids=lambda s: s.name)
    def test_finish_with_unfinished_state_raises(self, storage: Storage, state: TrialState) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        before, version = _snapshot(_get(storage, sid, t.trial_id)), _version(storage, sid)
        with pytest.raises(ValueError, match=state.name):
            storage.finish_trial(sid, t.trial_id, state, [1.0], attempt=t.attempt)
        assert _snapshot(_get(storage, sid, t.trial_id)) == before
        assert storage.get_trials(sid, version)[0] == []
        storage.finish_trial(
            sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt,
        )  # still RUNNING, so this works

    # -- best trial and counts ---------------------------------------------------------------
    def test_best_trial(self, storage: Storage) -> None:
        sid = _new_study(storage)
        assert storage.best_trial(sid, maximize=False) is None
        assert storage.best_trial(sid, maximize=True) is None
        C, P, F = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED
        # Better values in trials that do not count: PRUNED, FAILED, NaN, no values, RUNNING.
        _run_trials(storage, sid, [(P, [-100.0]), (P, [100.0]), (F, [-200.0]), (F, [200.0]), (C, [math.nan]),
                                   (C, None), (TrialState.RUNNING, None)])
        running = storage.start_trial(sid)
        storage.update_trial(sid, running.trial_id, params={"x": 1}, attempt=running.attempt)
        assert storage.best_trial(sid, maximize=False) is None
        assert storage.best_trial(sid, maximize=True) is None
        _run_trials(storage, sid, [(C, [3.0]), (C, [1.0]), (C, [math.nan]), (C, [7.5]), (C, [2.0])])
        lo, hi = storage.best_trial(sid, maximize=False), storage.best_trial(sid, maximize=True)
        assert lo is not None and hi is not None
        assert (lo.state, lo.values, lo.number) == (C, [1.0], 9)
        assert (hi.state, hi.values, hi.number) == (C, [7.5], 11)
        assert _snapshot(lo) == _snapshot(_get(storage, sid, lo.trial_id))

    def test_best_trial_infinite_and_multi_objective(self, storage: Storage) -> None:
        sid = _new_study(storage, directions=["minimize", "maximize"])
        C = TrialState.COMPLETE
        _run_trials(storage, sid, [(C, [0.0, 9.0]), (C, [-1e300, -5.0]), (C, [1e300, 0.0])])
        lo, hi = storage.best_trial(sid, False), storage.best_trial(sid, True)
        assert lo is not None and lo.values == [-1e300, -5.0]  # by the first objective only
        assert hi is not None and hi.values == [1e300, 0.0]
        _run_trials(storage, sid, [(C, [-math.inf, 0.0]), (C, [math.inf, 0.0])])
        lo, hi = storage.best_trial(sid, False), storage.best_trial(sid, True)
        assert lo is not None and lo.values == [-math.inf, 0.0]
        assert hi is not None and hi.values == [math.inf, 0.0]

    def test_count_trials(self, storage: Storage) -> None:
        sid = _new_study(storage)
        assert storage.count_trials(sid) == dict.fromkeys(TrialState, 0)
        C, P, F, R = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.RUNNING
        _run_trials(storage, sid, [(C, [1.0]), (C, [2.0]), (C, [math.nan]), (P, [1.0]), (F, None), (R, None)])
        storage.enqueue_trial(sid, {})
        storage.enqueue_trial(sid, {})
        expected = {TrialState.WAITING: 2, R: 1, C: 3, P: 1, F: 1, TrialState.PAUSED: 0}
        assert storage.count_trials(sid) == expected
        storage.start_trial(sid)
        assert storage.count_trials(sid) == {**expected, TrialState.WAITING: 1, R: 2}

    def test_derived_queries_agree_with_the_base_class_defaults(self, storage: Storage) -> None:
        # A backend may override get_reports, best_trial and count_trials with an index
        # lookup; the answers must be those the contract's defaults derive from get_trials
        # and get_study_reports.
        sid, other = _new_study(storage), _new_study(storage, "other")
        C, P, F = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED
        _run_trials(storage, other, [(C, [-50.0])])
        _run_trials(storage, sid, [(C, [3.0]), (P, [-9.0]), (C, [math.nan]), (F, None), (C, [-1.5]), (C, [8.0])])
        a, b = storage.start_trial(sid), storage.start_trial(sid)
        for step in range(3):
            storage.append_report(sid, a.trial_id, step, {"loss": 1.0 / (step + 1)}, attempt=a.attempt)
        storage.append_report(sid, b.trial_id, 0, {"loss": 4.0}, attempt=b.attempt)
        storage.enqueue_trial(sid, {})
        for maximize in (False, True):
            mine, base = storage.best_trial(sid, maximize), Storage.best_trial(storage, sid, maximize)
            assert mine is not None and base is not None and mine.number == base.number
        assert storage.count_trials(sid) == Storage.count_trials(storage, sid)
        for t in (a, b):
            assert storage.get_reports(sid, t.trial_id) == Storage.get_reports(storage, sid, t.trial_id)
        assert Storage.get_reports(storage, sid, a.trial_id) == [(0, {"loss": 1.0}), (1, {"loss": 0.5}),
                                                                (2, {"loss": 1.0 / 3})]

    # -- connections ------------------------------------------------------------------------
    def test_close_lets_go_and_the_next_call_reopens(self, storage: Storage) -> None:
        sid = _new_study(storage, "closed")
        t = storage.start_trial(sid)
        storage.close()
        storage.close()  # twice is harmless
        storage.heartbeat(sid, t.trial_id, t.attempt)  # reopened on next use, writes included
        storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
        storage.close()
        assert storage.get_study("closed").study_id == sid
        assert storage.count_trials(sid)[TrialState.COMPLETE] == 1

    # -- sharing across processes -----------------------------------------------------------
    def test_pickle_reopens_by_url(self, storage: Storage) -> None:
        if storage.url is None:
            pytest.skip("a process-local storage is not shared by pickling")
        sid = _new_study(storage, "shared")
        t = storage.start_trial(sid)
        storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [0.5], attempt=t.attempt)
        copy = pickle.loads(pickle.dumps(storage))
        assert type(copy) is type(storage) and copy.url == storage.url
        assert copy.get_study("shared").study_id == sid
        assert [_snapshot(x) for x in copy.get_trials(sid)[0]] == [_snapshot(x) for x in storage.get_trials(sid)[0]]
        assert copy.start_trial(sid).number == 1  # and it writes to the same study
        assert storage.count_trials(sid)[TrialState.RUNNING] == 1
