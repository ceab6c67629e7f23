"""Beyond KerasTuner: resuming a stopped search, pruning by epoch, parallel workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import tunesmith.keras_tuner as kt
from tunesmith.record import TrialState
from tunesmith.schedulers import ASHAScheduler

FIT = {"epochs": 2, "validation_split": 0.25, "batch_size": 60, "verbose": 0}


def test_a_new_tuner_on_the_same_project_continues_without_repeating(tmp_path: Path, blobs: Any, build: Any) -> None:
    x, y = blobs
    first = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, directory=tmp_path, project_name="p",
                            seed=0)
    first.search(x, y, **FIT)
    before = [(t.number, t.params, t.value) for t in first.study.trials]
    assert len(before) == 2

    again = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, directory=tmp_path, project_name="p",
                            seed=0)
    assert again.remaining_trials == 2
    again.search(x, y, **FIT)
    trials = again.study.trials
    assert [(t.number, t.params, t.value) for t in trials[:2]] == before  # the first two were not run again
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({(t.params["units"], t.params["lr"]) for t in trials}) == 4  # the sampler went on, not restarted

    done = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, directory=tmp_path, project_name="p")
    done.search(x, y, **FIT)
    assert len(done.study.trials) == 4
    assert (tmp_path / "p" / "study.db").exists()

    fresh = kt.RandomSearch(build, objective="val_accuracy", max_trials=1, directory=tmp_path, project_name="p",
                            overwrite=True)
    assert fresh.study.trials == []


def test_an_interrupted_search_resumes_with_the_interrupted_trial(tmp_path: Path, blobs: Any, build: Any) -> None:
    x, y = blobs
    calls: list[int] = []

    class Interrupted(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            return build(hp)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt  # Ctrl-C during the third trial
            return model.fit(*args, **kwargs)

    tuner = kt.RandomSearch(Interrupted(), objective="val_accuracy", max_trials=4, directory=tmp_path,
                            project_name="ctrl-c", seed=0)
    with pytest.raises(KeyboardInterrupt):
        tuner.search(x, y, **FIT)
    states = [t.state for t in tuner.study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.WAITING]
    interrupted = tuner.study.trials[2].params

    again = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, directory=tmp_path, project_name="ctrl-c",
                            seed=0)
    again.search(x, y, **FIT)
    trials = again.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert trials[2].params == interrupted  # the interrupted trial ran again with its parameters


def _two_speeds(hp: Any) -> Any:
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(hp.Choice("lr", [1e-6, 5e-2])), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_a_scheduler_stops_poor_trials_after_few_epochs(tmp_path: Path, blobs: Any) -> None:
    x, y = blobs
    tuner = kt.RandomSearch(_two_speeds, objective="val_loss", max_trials=6, directory=tmp_path, project_name="asha",
                            seed=0, scheduler=ASHAScheduler(max_t=6, grace_period=1, reduction_factor=2))
    tuner.search(x, y, epochs=6, validation_split=0.25, batch_size=60, verbose=0)
    trials = tuner.study.trials
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, [(t.params, t.state, t.last_step) for t in trials]
    for t in pruned:
        reports = tuner.study.storage.get_reports(tuner.study.study_id, t.trial_id)
        assert len(reports) == t.last_step < 6  # training stopped at the epoch the scheduler said so
    assert any(t.params["lr"] == 1e-6 for t in pruned), [(t.params, t.state, t.last_step) for t in trials]
    assert tuner.get_best_hyperparameters()[0]["lr"] == 5e-2


def test_pruner_is_the_same_argument(tmp_path: Path, build: Any) -> None:
    with pytest.raises(ValueError, match="scheduler= or pruner="):
        kt.RandomSearch(build, objective="loss", directory=tmp_path, scheduler=ASHAScheduler(),
                        pruner=ASHAScheduler())


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_workers_share_the_search(tmp_path: Path, blobs: Any) -> None:
    x, y = blobs

    def build_here(hp: Any) -> Any:  # a local function goes to the worker processes by value
        import keras

        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4),
                                                                        activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    tuner = kt.BayesianOptimization(build_here, objective="val_accuracy", max_trials=4, num_initial_points=2,
                                    directory=tmp_path, project_name="par", seed=0, n_workers=2)
    tuner.search(x, y, **FIT)
    trials = tuner.study.trials
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    owners = {str(t.owner).split("/")[1] for t in trials}
    assert str(os.getpid()) not in owners and 1 <= len(owners) <= 2  # worker processes ran them
    (model,) = tuner.get_best_models()
    assert model.predict(x[:3], verbose=0).shape == (3, 2)
