"""Each tuner runs on real Keras (torch backend), finds its best trial, and gives back working models."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunesmith.keras_tuner as kt
from tunesmith.record import TrialState

FIT = {"epochs": 3, "validation_split": 0.25, "batch_size": 60, "verbose": 0}


def _best_by_hand(tuner: kt.Tuner) -> Any:
    done = [t for t in tuner.study.trials if t.state == TrialState.COMPLETE]
    return max(done, key=lambda t: (t.value, -t.number))


def test_random_search_finds_its_best_trial_and_rebuilds_its_model(tmp_path: Path, blobs: Any, build: Any) -> None:
    x, y = blobs
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=4, directory=tmp_path, project_name="rs",
                            seed=1)
    tuner.search(x, y, **FIT)
    trials = tuner.study.trials
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    best = _best_by_hand(tuner)
    hps = tuner.get_best_hyperparameters(2)
    assert hps[0].values == {k: v for k, v in best.params.items()}
    assert hps[0]["units"] == best.params["units"] and hps[0].get("lr") == best.params["lr"]
    second = sorted((t.value for t in trials), reverse=True)[1]
    assert tuner.oracle.get_best_trials(2)[1].score == second
    # The trial's value is its best epoch (KerasTuner's rule), from the stored reports.
    reports = tuner.study.storage.get_reports(tuner.study.study_id, best.trial_id)
    assert [s for s, _ in reports] == [1, 2, 3]
    assert best.value == max(m["val_accuracy"] for _, m in reports)
    # The rebuilt model holds the trained weights: it scores on the validation split what the last epoch reported.
    (model,) = tuner.get_best_models(1)
    n_val = int(len(x) * 0.25)
    _, acc = model.evaluate(x[-n_val:], y[-n_val:], verbose=0)
    assert acc == pytest.approx(reports[-1][1]["val_accuracy"], abs=1e-6)
    assert model.predict(x[:5], verbose=0).shape == (5, 2)


def test_summaries_print_keras_tuners_format(tmp_path: Path, blobs: Any, build: Any,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    x, y = blobs
    tuner = kt.RandomSearch(build, objective=kt.Objective("val_loss", "min"), max_trials=2, directory=tmp_path,
                            project_name="sum", seed=0)
    tuner.search_space_summary()
    out = capsys.readouterr().out
    assert out.startswith("Search space summary\nDefault search space size: 3\nunits (Int)\n")
    assert "lr (Float)\n{'default': None, 'conditions': [], 'min_value': 0.0001, 'max_value': 0.1" in out
    tuner.search(x, y, **FIT)
    tuner.results_summary(num_trials=1)
    out = capsys.readouterr().out
    best = tuner.study.best_trial
    assert out.splitlines()[:4] == ["Results summary", f"Results in {tmp_path / 'sum'}", "Showing 1 best trials",
                                    'Objective(name="val_loss", direction="min")']
    assert f"Trial {best.number:04d} summary\nHyperparameters:\nunits: {best.params['units']}\n" in out
    assert f"Score: {best.value}" in out and out.count("summary\nHyperparameters") == 1


def _grid_model(hp: Any) -> Any:
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp.Choice("units", [4, 8]), activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    lr = hp.Float("lr", 0.01, 0.03, step=0.02)
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_grid_search_runs_each_point_once(tmp_path: Path, blobs: Any) -> None:
    x, y = blobs
    tuner = kt.GridSearch(_grid_model, objective="val_accuracy", directory=tmp_path, project_name="grid")
    tuner.search(x, y, **{**FIT, "epochs": 1})
    points = sorted((t.params["units"], t.params["lr"]) for t in tuner.study.trials)
    assert points == [(4, 0.01), (4, 0.03), (8, 0.01), (8, 0.03)]
    with pytest.raises(ValueError, match="Float 'lr' has no step"):
        kt.GridSearch(lambda hp: hp.Float("lr", 0.0, 1.0), objective="loss", directory=tmp_path, project_name="g2")


def test_bayesian_optimization_runs_the_gp(tmp_path: Path, blobs: Any, build: Any) -> None:
    x, y = blobs
    tuner = kt.BayesianOptimization(build, objective="val_accuracy", max_trials=5, num_initial_points=2,
                                    directory=tmp_path, project_name="bo", seed=0)
    assert type(tuner.study.sampler).__name__ == "GPSampler"
    tuner.search(x, y, **FIT)
    assert len(tuner.study.trials) == 5
    assert tuner.get_best_hyperparameters()[0].values == _best_by_hand(tuner).params


def test_hyperband_runs_its_brackets_and_stops_the_weak(tmp_path: Path, blobs: Any) -> None:
    x, y = blobs

    def model(hp: Any) -> Any:  # half the learning rates cannot learn in three epochs
        import keras

        m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
        m.compile(keras.optimizers.Adam(hp.Choice("lr", [1e-5, 3e-2])), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        return m

    tuner = kt.Hyperband(model, objective="val_loss", max_epochs=4, factor=2, directory=tmp_path,
                         project_name="hb", seed=3)
    s_max = 2  # rungs at epochs 1, 2 and 4
    expected = sum(math.ceil((s_max + 1) / (s + 1) * 2 ** s) for s in range(s_max + 1))
    tuner.search(x, y, epochs=1, validation_split=0.25, batch_size=60, verbose=0)  # epochs: Hyperband's max_epochs
    trials = tuner.study.trials
    assert len(trials) == expected == 10
    steps = {t.number: t.last_step for t in trials}
    assert max(steps.values()) == 4  # a trial ran to max_epochs
    assert any(t.state == TrialState.PRUNED and t.last_step is not None and t.last_step < 4 for t in trials)
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert tuner.get_best_hyperparameters()[0]["lr"] == 3e-2


def test_search_prints_one_block_per_trial(tmp_path: Path, blobs: Any, build: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    x, y = blobs
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, directory=tmp_path, project_name="v")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=2)
    out = capsys.readouterr().out
    assert re.search(r"Trial 0 complete \[\d\dh \d\dm \d\ds\]", out) and "Trial 1 complete" in out
    assert f"Best val_accuracy So Far: {tuner.study.best_value}" in out
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=2)
    assert "Search is done: 2 trials ran" in capsys.readouterr().out


def test_unsupported_and_bad_arguments_are_named(tmp_path: Path, build: Any) -> None:
    with pytest.raises(TypeError, match=r"'distribution_strategy'.*KerasTuner's.*n_workers"):
        kt.RandomSearch(build, objective="val_loss", distribution_strategy=object(), directory=tmp_path)
    with pytest.raises(TypeError, match="hyperparameters must be a HyperParameters"):
        kt.RandomSearch(build, objective="val_loss", hyperparameters={"lr": 0.1}, directory=tmp_path)
    with pytest.raises(ValueError, match="max_trials must be a positive integer, got 0"):
        kt.RandomSearch(build, objective="val_loss", max_trials=0, directory=tmp_path)
    with pytest.raises(ValueError, match="Hyperband: factor must be an integer >= 2"):
        kt.Hyperband(build, objective="val_loss", factor=1, directory=tmp_path)
    with pytest.raises(ValueError, match="objective= is required"):
        kt.RandomSearch(build, directory=tmp_path)


def test_a_missing_objective_metric_fails_trials_with_a_clear_error(tmp_path: Path, blobs: Any, build: Any) -> None:
    x, y = blobs
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=3, directory=tmp_path, project_name="nv",
                            max_consecutive_failed_trials=1)
    with pytest.raises(Exception, match="'val_accuracy' is not among the metrics"):
        tuner.search(x, y, epochs=1, verbose=0)  # no validation data
    assert tuner.study.trials[0].state == TrialState.FAILED


def test_hypermodel_class_tunes_fit_arguments(tmp_path: Path, blobs: Any, build: Any) -> None:
    x, y = blobs
    seen: list[int] = []

    class Model(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            return build(hp)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(hp.Choice("batch_size", [30, 60]))
            return model.fit(*args, batch_size=seen[-1], **kwargs)

    tuner = kt.RandomSearch(Model(), objective="val_accuracy", max_trials=2, directory=tmp_path, project_name="hm",
                            executions_per_trial=2, seed=0)
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    assert len(seen) == 4  # two executions per trial
    assert {t.params["batch_size"] for t in tuner.study.trials} <= {30, 60}
    assert np.isfinite(tuner.study.best_value)


def test_fit_arguments_and_callbacks_reach_model_fit(tmp_path: Path, blobs: Any, build: Any) -> None:
    import keras

    x, y = blobs
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # stops after the 2nd epoch
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, directory=tmp_path, project_name="cb",
                            seed=0)
    tuner.search(x[:180], y[:180], epochs=5, validation_data=(x[180:], y[180:]), callbacks=[stop], verbose=0)
    for t in tuner.study.trials:
        assert t.state == TrialState.COMPLETE
        assert len(tuner.study.storage.get_reports(tuner.study.study_id, t.trial_id)) == 2
    assert stop.stopped_epoch == 0  # each execution trained with its own copy


def test_hyperparameters_argument_restricts_the_search(tmp_path: Path, blobs: Any, build: Any,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    x, y = blobs
    hp = kt.HyperParameters()
    hp.Float("lr", 1e-2, 5e-2, sampling="log")
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=2, directory=tmp_path, project_name="r",
                            hyperparameters=hp, tune_new_entries=False, seed=0)
    tuner.search_space_summary()
    assert "Default search space size: 1\nlr (Float)" in capsys.readouterr().out
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    for t in tuner.study.trials:
        assert set(t.params) == {"lr"} and 1e-2 <= t.params["lr"] <= 5e-2
    best = tuner.get_best_hyperparameters()[0]
    assert best.values["units"] == 4 and best.values["dropout"] is False  # the untuned defaults
    (model,) = tuner.get_best_models()
    assert model.layers[0].units == 4
