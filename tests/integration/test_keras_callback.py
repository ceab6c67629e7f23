"""TuneReportCallback: Keras logs reported each epoch, training stopped when the scheduler says so."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith.record import TrialState
from tunesmith.schedulers import ASHAScheduler

keras = pytest.importorskip("keras")
from tunesmith.integration.keras import TuneReportCallback  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(160, 6)).astype("float32")
Y = (X[:, 0] - X[:, 1] > 0).astype("int64")


def _model(lr: float) -> Any:
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _reports(study: tunesmith.Study, number: int) -> list[tuple[int, dict[str, Any]]]:
    trial = study.trials[number]
    return study.storage.get_reports(study.study_id, trial.trial_id)


def test_reports_each_epoch_under_the_chosen_names() -> None:
    study = tunesmith.create_study(metric="val_loss", mode="min")
    histories: list[Any] = []

    def objective(trial: tunesmith.Trial) -> float:
        cb = TuneReportCallback({"val_loss": "val_loss", "acc": "accuracy"})
        histories.append(_model(1e-2).fit(X, Y, epochs=3, validation_split=0.25, verbose=0, callbacks=[cb]))
        return float(min(histories[-1].history["val_loss"]))

    study.optimize(objective, n_trials=1)
    reports = _reports(study, 0)
    assert [step for step, _ in reports] == [1, 2, 3]
    assert set(reports[0][1]) == {"val_loss", "acc", "training_iteration", "time_total_s"}
    assert [m["acc"] for _, m in reports] == pytest.approx(histories[0].history["accuracy"])
    assert [m["training_iteration"] for _, m in reports] == [1, 2, 3]


def test_every_log_by_default_and_per_batch() -> None:
    study = tunesmith.create_study(metric="loss", mode="min")

    def objective(trial: tunesmith.Trial) -> float:
        _model(1e-2).fit(X, Y, epochs=2, batch_size=40, verbose=0, callbacks=[TuneReportCallback(on="batch_end")])
        return 0.0

    study.optimize(objective, n_trials=1)
    reports = _reports(study, 0)
    assert [step for step, _ in reports] == list(range(1, 9))  # 4 batches a epoch, two epochs
    assert {"loss", "accuracy"} <= set(reports[0][1])


def test_training_stops_when_the_scheduler_stops_the_trial() -> None:
    study = tunesmith.create_study(metric="val_loss", mode="min",
                                   scheduler=ASHAScheduler(max_t=20, grace_period=1, reduction_factor=2))
    study.enqueue({"lr": 3e-2})
    study.enqueue({"lr": 1e-7})  # learns nothing: worse than the first at the first rung
    epochs_run: list[int] = []

    def objective(trial: tunesmith.Trial) -> float:
        model = _model(trial.suggest_categorical("lr", [3e-2, 1e-7]))
        history = model.fit(X, Y, epochs=6, validation_split=0.25, verbose=0,
                            callbacks=[TuneReportCallback(["val_loss"])])
        epochs_run.append(len(history.history["val_loss"]))
        return float(history.history["val_loss"][-1])

    study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.state == TrialState.COMPLETE and epochs_run[0] == 6
    assert second.state == TrialState.PRUNED and epochs_run[1] < 6 and second.last_step == epochs_run[1]


def test_a_scheduler_budget_finishes_the_trial_complete() -> None:
    study = tunesmith.create_study(metric="loss", mode="min", scheduler=ASHAScheduler(max_t=2, grace_period=1))
    runs: list[int] = []

    def objective(trial: tunesmith.Trial) -> float:
        history = _model(1e-2).fit(X, Y, epochs=5, verbose=0, callbacks=[TuneReportCallback(["loss"])])
        runs.append(len(history.history["loss"]))
        return float(history.history["loss"][-1])

    study.optimize(objective, n_trials=1)
    assert runs == [2] and study.trials[0].state == TrialState.COMPLETE


@pytest.mark.timeout(120)
def test_works_in_a_run_trainable() -> None:
    def trainable(config: dict[str, Any]) -> None:
        _model(config["lr"]).fit(X, Y, epochs=2, verbose=0, callbacks=[TuneReportCallback(["loss", "accuracy"])])

    result = tunesmith.run(trainable, config={"lr": tunesmith.choice([1e-2, 3e-2])}, num_samples=2, metric="loss",
                           mode="min", verbose=0, max_concurrent_trials=1)
    trials = result.study.trials
    assert len(trials) == 2 and all(t.last_step == 2 and "accuracy" in t.last_result for t in trials)


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="on must be one of"):
        TuneReportCallback(on="epoch_begin")
    with pytest.raises(RuntimeError, match="none runs in this thread"):
        _model(1e-2).fit(X, Y, epochs=1, verbose=0, callbacks=[TuneReportCallback()])
    study = tunesmith.create_study(metric="loss", mode="min")

    def objective(trial: tunesmith.Trial) -> float:
        _model(1e-2).fit(X, Y, epochs=1, verbose=0, callbacks=[TuneReportCallback(["val_accuracy"])])
        return 0.0

    study.optimize(objective, n_trials=1)
    assert study.trials[0].state == TrialState.FAILED
    assert "['val_accuracy'] are not in Keras' logs" in (study.trials[0].error or "")
