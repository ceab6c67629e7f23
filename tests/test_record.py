"""The record's typed fields: what the code reads of a trial and a study, without string keys."""

from __future__ import annotations

from typing import Any

import numpy as np

import tunesmith
from tunesmith.checkpoints import CheckpointStore
from tunesmith.distributions import Distribution, FloatDistribution
from tunesmith.record import FrozenTrial, Restore, StudySettings, TrialState
from tunesmith.trial import Trial


def test_a_trial_reads_its_typed_fields_from_the_stored_attributes() -> None:
    plain = FrozenTrial(number=0, state=TrialState.WAITING)
    assert (plain.enqueued, plain.fixed_params, plain.retries, plain.restore, plain.continues) == (
        False, None, 0, None, None)
    restore = Restore("/a/checkpoint_000003", 3, 7, {"loss": 0.5})
    queued = FrozenTrial(number=1, state=TrialState.WAITING, system_attrs={
        "fixed_params": {"lr": 0.1}, "retries": 2, **restore.system_attrs(continues=4)})
    assert queued.enqueued and queued.fixed_params == {"lr": 0.1} and queued.retries == 2
    assert queued.restore == restore and queued.continues == 4
    queued.fixed_params["lr"] = 1.0  # type: ignore[index]  # a copy: the record is not changed
    assert queued.fixed_params == {"lr": 0.1}


def test_study_settings_round_trip_through_the_stored_json() -> None:
    settings = StudySettings({"class": "x.Y", "kwargs": {}}, None, "/tmp/a", {"num_to_keep": 2}, "k1")
    assert StudySettings.from_json(settings.to_json()) == settings
    assert "scheduler" not in settings.to_json()
    assert StudySettings.from_json({}) == StudySettings()


def test_a_created_study_stores_its_settings(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = tunesmith.create_study("s", url, seed=3, scheduler=tunesmith.schedulers.ASHAScheduler(max_t=9),
                                   artifact_dir=tmp_path / "art")
    settings = study.storage.get_study("s").settings
    assert settings.sampler is not None and settings.sampler["kwargs"]["seed"] == 3
    assert settings.scheduler is not None and settings.scheduler["kwargs"]["max_t"] == 9
    assert settings.artifacts == str(tmp_path / "art") and settings.key


class _Writer:
    """A TrialWriter that keeps everything in lists: a Trial needs nothing else of a study."""

    def __init__(self, checkpoints: CheckpointStore) -> None:
        self.metric_names = ["loss"]
        self.checkpoints = checkpoints
        self.writes: list[dict[str, Any]] = []
        self.reports: list[tuple[int, dict[str, Any]]] = []

    def register(self, name: str, distribution: Distribution) -> None:
        distribution.validate(name)

    def propose(self, name: str, distribution: Distribution, number: int, rng: Any, params: Any) -> Any:
        return distribution.sample(rng)

    def write(self, trial: Trial) -> None:
        pending = trial.pending_write()
        if pending is not None:
            self.writes.append(pending.params)
            trial.written()

    def report(self, trial: Trial, step: int, metrics: Any) -> None:
        self.reports.append((step, dict(metrics)))

    def decide(self, trial: Trial, step: int, metrics: Any) -> TrialState | None:
        return TrialState.PRUNED if metrics["loss"] > 1 else None


def test_a_trial_talks_to_its_study_through_the_writer_protocol(tmp_path: Any) -> None:
    writer = _Writer(CheckpointStore(str(tmp_path), "s"))
    trial = Trial(writer, FrozenTrial(number=0, state=TrialState.RUNNING, trial_id=5), {"x": 0.25},
                  np.random.default_rng(0), eager=True)
    assert trial.suggest("x", FloatDistribution(0.0, 1.0)) == 0.25  # the proposal
    assert 0.0 <= trial.suggest_float("y", 0.0, 1.0) <= 1.0  # proposed late
    assert writer.writes == [{"x": 0.25}, {"x": 0.25, "y": trial.params["y"]}]  # eager: stored as drawn
    trial.report(0, loss=0.5)
    assert not trial.should_stop() and trial.end_state is None
    trial.report(2.0, step=1)  # Optuna's spelling: the value goes under the first metric
    assert writer.reports == [(0, {"loss": 0.5}), (1, {"loss": 2.0})]
    assert trial.should_stop() and trial.end_state == TrialState.PRUNED
    assert (trial.trial_id, trial.attempt) == (5, 0)
