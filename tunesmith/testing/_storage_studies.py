"""Conformance checks for deleting studies, ending paused trials and values a database cannot hold.

Mixed into :class:`~tunesmith.testing.StorageConformance`.
"""

from __future__ import annotations

import pytest

from tunesmith.distributions import CategoricalDistribution, FloatDistribution
from tunesmith.exceptions import StorageError, StudyNotFoundError, TrialFinishedError
from tunesmith.storage import Storage
from tunesmith.testing._storage_helpers import _get, _new_study, _same, _snapshot, _version
from tunesmith.trial import TrialState

# A NUL byte and a lone surrogate (what os.fsdecode makes of undecodable bytes): PostgreSQL
# TEXT holds neither, and no database encoding holds the second.
_NUL_TEXT = "before\x00after \udcff end"


class StudyLifecycleConformance:
    """A study can be deleted; a run's end leaves no trial PAUSED; any Python text can be stored."""

    # -- delete_study -----------------------------------------------------------------------
    def test_delete_study(self, storage: Storage) -> None:
        gone, kept = _new_study(storage, "gone"), _new_study(storage, "kept")
        for sid in (gone, kept):
            t = storage.start_trial(sid)
            storage.update_trial(sid, t.trial_id, {"x": 0.5}, {"x": FloatDistribution(0.0, 1.0)}, attempt=t.attempt)
            storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)
            storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
            storage.enqueue_trial(sid, {"x": 0.1})
        running = storage.start_trial(gone)
        kept_before = ([_snapshot(t) for t in storage.get_trials(kept)[0]], storage.get_study_reports(kept))
        storage.delete_study("gone")
        with pytest.raises(StudyNotFoundError, match="gone"):
            storage.get_study("gone")
        assert [s.name for s in storage.list_studies()] == ["kept"]
        assert ([_snapshot(t) for t in storage.get_trials(kept)[0]], storage.get_study_reports(kept)) == kept_before
        assert set(storage.get_study("kept").distributions) == {"x"}
        # Its worker, still running a trial, finds it gone.
        with pytest.raises(TrialFinishedError):
            storage.append_report(gone, running.trial_id, 1, {"loss": 0.5}, attempt=running.attempt)
        with pytest.raises(StudyNotFoundError):
            storage.start_trial(gone)
        with pytest.raises(StudyNotFoundError, match="gone"):
            storage.delete_study("gone")
        # The name is free again, for a study with nothing of the old one's.
        again = storage.create_study("gone", ["maximize"], ["acc"])
        assert again.distributions == {} and again.directions == ["maximize"]
        assert storage.get_trials(again.study_id)[0] == [] and storage.get_study_reports(again.study_id) == []
        assert storage.start_trial(again.study_id).number == 0
        assert storage.count_trials(again.study_id)[TrialState.RUNNING] == 1

    # -- study user attributes ----------------------------------------------------------------
    def test_study_user_attrs(self, storage: Storage) -> None:
        rec = storage.create_study("noted", ["minimize"], ["loss"], attrs={"key": "k1"})
        other = _new_study(storage, "other")
        assert rec.user_attrs == {} and storage.get_study("noted").user_attrs == {}
        t = storage.start_trial(rec.study_id)
        version = _version(storage, rec.study_id)
        storage.set_study_user_attr(rec.study_id, "notes", "<b>first</b> \u00e9")
        storage.set_study_user_attr(rec.study_id, "tags", ["a", 1, None, {"x": 1.5}])
        got = storage.get_study("noted")
        assert got.user_attrs == {"notes": "<b>first</b> \u00e9", "tags": ["a", 1, None, {"x": 1.5}]}
        assert got.attrs == {"key": "k1"}  # the settings are untouched and hold no user attributes
        assert [s.name for s in storage.list_studies()] == ["noted", "other"]
        storage.set_study_user_attr(rec.study_id, "notes", "second")  # replaced; the other key stays
        assert storage.get_study("noted").user_attrs == {"notes": "second", "tags": ["a", 1, None, {"x": 1.5}]}
        assert storage.get_study("other").user_attrs == {}
        assert storage.get_study("noted").user_attrs is not storage.get_study("noted").user_attrs
        # No trial changed; the running trial still writes.
        assert storage.get_trials(rec.study_id, version)[0] == []
        storage.finish_trial(rec.study_id, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
        with pytest.raises(TypeError, match="key"):
            storage.set_study_user_attr(rec.study_id, 3, "x")  # type: ignore[arg-type]
        assert storage.get_study("noted").user_attrs["notes"] == "second"
        storage.delete_study("other")
        with pytest.raises(StudyNotFoundError):
            storage.set_study_user_attr(other, "notes", "gone")

    # -- finish_paused ----------------------------------------------------------------------
    def test_finish_paused(self, storage: Storage) -> None:
        sid, other = _new_study(storage), _new_study(storage, "other")
        paused = []
        for i in range(2):
            t = storage.start_trial(sid)
            storage.update_trial(sid, t.trial_id, params={"x": i}, user_attrs={"i": i}, attempt=t.attempt)
            storage.append_report(sid, t.trial_id, 1, {"loss": float(i)}, attempt=t.attempt)
            paused.append(storage.finish_trial(sid, t.trial_id, TrialState.PAUSED, [float(i)], attempt=t.attempt))
        running, done = storage.start_trial(sid), storage.start_trial(sid)
        storage.finish_trial(sid, done.trial_id, TrialState.COMPLETE, [5.0], attempt=done.attempt)
        t = storage.start_trial(other)
        elsewhere = storage.finish_trial(other, t.trial_id, TrialState.PAUSED, [1.0], attempt=t.attempt)
        version = _version(storage, sid)
        changed = storage.finish_paused(sid)
        assert sorted(c.trial_id for c in changed) == sorted(p.trial_id for p in paused)
        for before in paused:
            after = _get(storage, sid, before.trial_id)
            assert after.state == TrialState.PRUNED and after.state.is_finished()
            assert _snapshot(after) == {**_snapshot(before), "state": _snapshot(after)["state"]}  # all else kept
            assert storage.get_reports(sid, before.trial_id) == [(1, {"loss": before.values[0]})]  # type: ignore[index]
            assert storage.resume_trial(sid, before.trial_id) is False  # finished: never resumed
        # Readers see the change; the counts add up.
        assert sorted(t.trial_id for t in storage.get_trials(sid, version)[0]) == sorted(p.trial_id for p in paused)
        counts = storage.count_trials(sid)
        assert (counts[TrialState.PAUSED], counts[TrialState.PRUNED], counts[TrialState.RUNNING]) == (0, 2, 1)
        assert counts[TrialState.COMPLETE] == 1 and sum(counts.values()) == 4
        assert _get(storage, sid, running.trial_id).state == TrialState.RUNNING
        assert _snapshot(_get(storage, other, elsewhere.trial_id)) == _snapshot(elsewhere)  # other studies untouched
        assert storage.finish_paused(sid) == []

    # -- values a database cannot hold as they are -------------------------------------------
    def test_nul_and_undecodable_text_are_stored(self, storage: Storage) -> None:
        sid = _new_study(storage)
        choices = CategoricalDistribution(("plain", "nul\x00inside"))
        t = storage.start_trial(sid)
        user_attrs = {"msg": _NUL_TEXT, "key\x00": ["\x00"]}
        storage.update_trial(sid, t.trial_id, {"c": 1, "s": _NUL_TEXT}, {"c": choices}, user_attrs, attempt=t.attempt)
        storage.append_report(sid, t.trial_id, 0, {"loss": 1.0, "note": _NUL_TEXT}, attempt=t.attempt)
        done = storage.finish_trial(sid, t.trial_id, TrialState.FAILED, error=f"ValueError: {_NUL_TEXT}",
                                    attempt=t.attempt)
        # JSON fields round-trip exactly; the error text (plain text) is escaped the same everywhere.
        got = _get(storage, sid, t.trial_id)
        assert _same(got.internal_params, {"c": 1, "s": _NUL_TEXT}) and _same(got.user_attrs, user_attrs)
        assert storage.get_reports(sid, t.trial_id) == [(0, {"loss": 1.0, "note": _NUL_TEXT})]
        assert storage.get_study("study").distributions["c"].to_json() == choices.to_json()
        assert done.error == got.error == "ValueError: before\\x00after \\udcff end"
        storage.enqueue_trial(sid, {"s": _NUL_TEXT})
        assert _same(storage.start_trial(sid).system_attrs["fixed_params"], {"s": _NUL_TEXT})
        lost = storage.start_trial(sid)
        [failed] = storage.recover_trials(sid, trial_ids=[lost.trial_id], reason=f"worker said {_NUL_TEXT}")
        assert failed.error == "worker said before\\x00after \\udcff end"

    @pytest.mark.parametrize("name", ["nul\x00name", "n" * 513], ids=["nul", "513 chars"])
    def test_unstorable_names_are_storage_errors(self, storage: Storage, name: str) -> None:
        sid = _new_study(storage)
        t = storage.start_trial(sid)
        before, version = _snapshot(_get(storage, sid, t.trial_id)), _version(storage, sid)
        with pytest.raises(StorageError, match="parameter name"):
            storage.update_trial(sid, t.trial_id, {name: 1.0}, {name: FloatDistribution(0.0, 2.0)}, attempt=t.attempt)
        with pytest.raises(StorageError, match="parameter name"):
            storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], params={name: 1.0},
                                 distributions={name: FloatDistribution(0.0, 2.0)}, attempt=t.attempt)
        assert _snapshot(_get(storage, sid, t.trial_id)) == before and storage.get_trials(sid, version)[0] == []
        with pytest.raises(StorageError, match="study name"):
            storage.create_study(name, ["minimize"], ["loss"])
        with pytest.raises(StudyNotFoundError):
            storage.get_study(name)
        assert [s.name for s in storage.list_studies()] == ["study"]
        # The longest name that fits is fine, for both.
        longest = "n" * 512
        storage.update_trial(sid, t.trial_id, {longest: 1.0}, {longest: FloatDistribution(0.0, 2.0)}, attempt=t.attempt)
        assert storage.create_study(longest, ["minimize"], ["loss"]).name == longest
        assert set(storage.get_study("study").distributions) == {longest}
