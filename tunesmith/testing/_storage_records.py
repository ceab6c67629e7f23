"""Conformance checks for value round trips and change versions (mixed into StorageConformance)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunesmith.storage import Storage
from tunesmith.testing._storage_helpers import (
    _ERROR,
    _METRICS,
    _PARAMS,
    _TRICKY_TEXT,
    _USER_ATTRS,
    _VALUES,
    _canon,
    _get,
    _new_study,
    _same,
    _snapshot,
)
from tunesmith.trial import TrialState


class RecordConformance:
    """Every value type survives storage; readers see exactly what changed since a version."""

    # -- round trips ----------------------------------------------------------------------
    @pytest.mark.parametrize("values", _VALUES, ids=repr)
    def test_values_round_trip(self, storage: Storage, values: list[float]) -> None:
        sid = _new_study(storage, directions=["minimize"] * len(values))
        t = storage.start_trial(sid)
        done = storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, list(values), attempt=t.attempt)
        assert _same(done.values, values)
        assert _same(_get(storage, sid, t.trial_id).values, values)

    def test_params_and_user_attrs_round_trip(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        storage.update_trial(sid, t.trial_id, params=_PARAMS, user_attrs=_USER_ATTRS, attempt=t.attempt)
        got = _get(storage, sid, t.trial_id)
        assert _same(got.internal_params, _PARAMS)
        assert _same(got.user_attrs, _USER_ATTRS)
        done = storage.finish_trial(
            sid, t.trial_id, TrialState.COMPLETE, [1.0], params=_PARAMS, user_attrs=_USER_ATTRS, attempt=t.attempt,
        )
        assert _same(done.internal_params, _PARAMS) and _same(done.user_attrs, _USER_ATTRS)
        got = _get(storage, sid, t.trial_id)
        assert _same(got.internal_params, _PARAMS) and _same(got.user_attrs, _USER_ATTRS)
        assert storage.enqueue_trial(sid, _PARAMS) == 1
        waiting = [w for w in storage.get_trials(sid)[0] if w.state == TrialState.WAITING]
        assert _same(waiting[0].system_attrs["fixed_params"], _PARAMS)

    @pytest.mark.parametrize("with_params", [False, True])
    def test_finish_adds_system_attrs(self, storage: Storage, with_params: bool) -> None:
        """``finish_trial(system_attrs=)`` adds to the stored ones (an enqueued trial keeps its own)."""
        sid = _new_study(storage)
        storage.enqueue_trial(sid, {"x": 1.0}, {"retries": 0})
        t = storage.start_trial(sid)
        extra = {"constraints": [-1.0, 0.5, float("inf")]}
        params: dict[str, float] | None = {"x": 1.0} if with_params else None
        user_attrs: dict[str, float] | None = {} if with_params else None
        done = storage.finish_trial(
            sid, t.trial_id, TrialState.COMPLETE, [1.0], params=params, user_attrs=user_attrs, attempt=t.attempt,
            system_attrs=extra,
        )
        for got in (done, _get(storage, sid, t.trial_id)):
            assert got.state == TrialState.COMPLETE
            assert got.system_attrs["constraints"] == [-1.0, 0.5, float("inf")]
            assert got.system_attrs["fixed_params"] == {"x": 1.0}
        other = storage.start_trial(sid)
        plain = storage.finish_trial(sid, other.trial_id, TrialState.COMPLETE, [2.0], attempt=other.attempt)
        assert "constraints" not in plain.system_attrs

    def test_metrics_round_trip(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        storage.append_report(sid, t.trial_id, 2**31 - 1, _METRICS, attempt=t.attempt)
        assert _same(storage.get_reports(sid, t.trial_id), [(2**31 - 1, _METRICS)])
        got = _get(storage, sid, t.trial_id)
        assert got.last_step == 2**31 - 1 and _same(got.last_result, _METRICS)

    def test_error_text_round_trip(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        long_error = _ERROR + "x" * 100_000
        storage.finish_trial(sid, t.trial_id, TrialState.FAILED, error=long_error, attempt=t.attempt)
        assert _get(storage, sid, t.trial_id).error == long_error

    def test_study_names_round_trip(self, storage: Storage) -> None:
        for name in (_TRICKY_TEXT, "a" * 255, "with\nnewline"):
            sid = storage.create_study(name, ["minimize"], ["loss"]).study_id
            assert storage.get_study(name).study_id == sid
        assert {s.name for s in storage.list_studies()} == {_TRICKY_TEXT, "a" * 255, "with\nnewline"}

    # -- versions ---------------------------------------------------------------------------
    def test_get_trials_since_version(self, storage: Storage) -> None:
        sid = _new_study(storage)
        trials, v0 = storage.get_trials(sid)
        assert trials == []
        a, b = storage.start_trial(sid), storage.start_trial(sid)
        changed, v1 = storage.get_trials(sid, v0)
        assert sorted(t.trial_id for t in changed) == [a.trial_id, b.trial_id] and v1 > v0
        assert storage.get_trials(sid, v1) == ([], v1)
        assert storage.get_trials(sid, v1) == ([], v1)  # asking again changes nothing
        c = storage.start_trial(sid)
        changed, v2 = storage.get_trials(sid, v1)
        assert [t.trial_id for t in changed] == [c.trial_id] and v2 > v1
        # A change to an old trial brings it back, once, in its new state.
        storage.finish_trial(sid, a.trial_id, TrialState.COMPLETE, [1.0], attempt=a.attempt)
        storage.append_report(sid, b.trial_id, 0, {"loss": 1.0}, attempt=b.attempt)
        storage.append_report(sid, b.trial_id, 1, {"loss": 0.5}, attempt=b.attempt)
        changed, v3 = storage.get_trials(sid, v2)
        assert sorted(t.trial_id for t in changed) == sorted([a.trial_id, b.trial_id]) and v3 > v2
        by_id = {t.trial_id: t for t in changed}
        assert by_id[a.trial_id].state == TrialState.COMPLETE and by_id[b.trial_id].last_step == 1
        assert storage.get_trials(sid, v3) == ([], v3)
        # From the start: every trial once, in its latest form.
        everything, v_all = storage.get_trials(sid)
        assert sorted(t.number for t in everything) == [0, 1, 2] and v_all == v3
        # Enqueueing and claiming are changes too.
        storage.enqueue_trial(sid, {"x": 1})
        changed, v4 = storage.get_trials(sid, v3)
        assert [(t.number, t.state) for t in changed] == [(3, TrialState.WAITING)] and v4 > v3
        storage.start_trial(sid)
        changed, v5 = storage.get_trials(sid, v4)
        assert [(t.number, t.state) for t in changed] == [(3, TrialState.RUNNING)] and v5 > v4

    def test_get_trial_values_matches_get_trials(self, storage: Storage) -> None:
        sid = _new_study(storage, directions=["minimize", "maximize"])
        assert storage.get_trial_values(sid) == []
        a, b, c = storage.start_trial(sid), storage.start_trial(sid), storage.start_trial(sid)
        storage.append_report(sid, b.trial_id, 3, {"loss": 0.25, "acc": 0.5}, attempt=b.attempt)
        storage.finish_trial(sid, c.trial_id, TrialState.COMPLETE, [float("inf"), -2.5], attempt=c.attempt)
        storage.finish_trial(sid, a.trial_id, TrialState.FAILED, None, attempt=a.attempt)
        storage.enqueue_trial(sid, {"x": 1})
        found = storage.get_trial_values(sid)
        assert [n for n, *_ in found] == [0, 1, 2, 3]  # by number
        assert found[0][1:] == (TrialState.FAILED, None, {})
        assert found[1][1:] == (TrialState.RUNNING, None, {"loss": 0.25, "acc": 0.5})
        assert found[2][1:] == (TrialState.COMPLETE, [float("inf"), -2.5], {})
        assert found[3][1:] == (TrialState.WAITING, None, {})
        whole = sorted(storage.get_trials(sid)[0], key=lambda t: t.number)
        assert found == [(t.number, t.state, t.values, t.last_result) for t in whole]

    def test_versions_strictly_increase(self, storage: Storage) -> None:
        sid = _new_study(storage)
        other = _new_study(storage, "other")
        _, version = storage.get_trials(sid)
        t = storage.start_trial(sid)
        writes: list[Callable[[], object]] = [
            lambda: storage.start_trial(sid),
            lambda: storage.enqueue_trial(sid, {"a": 1}),
            lambda: storage.start_trial(sid),
            lambda: storage.update_trial(sid, t.trial_id, params={"a": 1}, attempt=t.attempt),
            lambda: storage.update_trial(sid, t.trial_id, user_attrs={"k": 1}, attempt=t.attempt),
            lambda: storage.append_report(sid, t.trial_id, 0, {"m": 1.0}, attempt=t.attempt),
            lambda: storage.append_report(sid, t.trial_id, 0, {"m": 2.0}, attempt=t.attempt),
            lambda: storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt),
        ]
        for write in writes:
            write()
            changed, new_version = storage.get_trials(sid, version)
            assert new_version > version and len(changed) >= 1
            version = new_version
        # Writes to another study are not changes of this one.
        storage.start_trial(other)
        assert storage.get_trials(sid, version) == ([], version)

    def test_handed_out_trials_do_not_change(self, storage: Storage) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        held = [t, _get(storage, sid, t.trial_id)]
        storage.update_trial(sid, t.trial_id, params={"a": 1}, user_attrs={"u": 1}, attempt=t.attempt)
        held.append(_get(storage, sid, t.trial_id))
        snaps = [_snapshot(h) for h in held]
        storage.update_trial(sid, t.trial_id, params={"a": 2}, user_attrs={"u": 2}, attempt=t.attempt)
        storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)
        storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], params={"a": 3}, attempt=t.attempt)
        assert [_snapshot(h) for h in held] == snaps
        assert snaps[0]["state"] == snaps[2]["state"] == _canon(TrialState.RUNNING)

