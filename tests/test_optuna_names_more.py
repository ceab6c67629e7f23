"""More of Optuna's names on tunesmith: logging, intermediate values, add_trial, summaries, integration callbacks."""

from __future__ import annotations

import datetime
import logging
import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest

import tunesmith as optuna
from tunesmith.distributions import FloatDistribution, IntDistribution
from tunesmith.record import FrozenTrial, StudyDirection, TrialState, create_trial
from tunesmith.storages import RetryFailedTrialCallback


def _run(code: str, tmp_path: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)


# -- logging ---------------------------------------------------------------------------
def test_default_output_is_optunas_lines_on_stderr(tmp_path: Any) -> None:
    out = _run("""
        import logging, tunesmith as optuna
        assert optuna.logging.get_logger("optuna") is logging.getLogger("tunesmith")
        def objective(trial):
            x = trial.suggest_float("x", 0, 1)
            if trial.number == 1:
                raise ValueError("boom")
            return x
        study = optuna.create_study(study_name="s1", sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(objective, n_trials=3)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(study_name="quiet").optimize(lambda t: t.suggest_float("y", 0, 1), n_trials=1)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith("[I ") and lines[0].endswith("] A new study created in memory with name: s1")
    assert "] Trial 0 finished with value: " in lines[1] and "Best is trial 0 with value: " in lines[1]
    assert lines[2].startswith("[W ") and "] Trial 1 failed with parameters: {'x': " in lines[2]
    assert lines[2].endswith("because of the following error: ValueError('boom').")
    assert "] Trial 2 finished with value: " in lines[3]
    assert len(lines) == 4 and "quiet" not in out.stderr and "'y'" not in out.stderr  # WARNING: nothing more
    assert out.stdout == ""


def test_default_handler_defers_to_the_applications_logging(tmp_path: Any) -> None:
    out = _run("""
        import logging, sys, tunesmith as optuna
        logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="APP %(message)s")
        optuna.create_study(study_name="s2").optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # printed once, by the application's handler
    assert out.stdout.splitlines()[0] == "APP A new study created in memory with name: s2"
    assert "APP Trial 0 finished with value: " in out.stdout


def test_failed_trials_are_warned_with_the_error(caplog: pytest.LogCaptureFixture) -> None:
    def objective(trial: optuna.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise ValueError("boom")

    study = optuna.create_study()
    with caplog.at_level(logging.DEBUG, logger="tunesmith"):
        study.optimize(objective, n_trials=2)  # tunesmith's default catch=(Exception,): the run goes on
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(" with parameters")[0] for r in warned] == ["Trial 0 failed", "Trial 1 failed"]
    assert warned[0].getMessage().endswith("because of the following error: ValueError('boom').")
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("Traceback" in m and "ValueError: boom" in m for m in debug)
    with pytest.raises(ValueError, match="boom"):
        study.optimize(objective, n_trials=1, catch=())  # Optuna's default: raised


def test_workers_failures_are_warned_by_the_driver(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise KeyError("odd")
        return x

    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/w.db")
    with caplog.at_level(logging.INFO, logger="tunesmith"):
        study.optimize(objective, n_trials=4, n_workers=2)
    failed = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "failed" in
                    r.getMessage())
    assert len(failed) == 2 and all(m.endswith("because of the following error: KeyError(\"'odd'\").") for m in failed)
    finished = [r.getMessage() for r in caplog.records if "finished with value" in r.getMessage()]
    assert len(finished) == 2


def test_no_formatting_when_the_level_is_off() -> None:
    from tunesmith._study_compat import TrialLog

    class Boom:
        def __repr__(self) -> str:
            raise AssertionError("formatted")

    logger = logging.getLogger("tunesmith")
    before = logger.level
    try:
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study = optuna.create_study()
        trial = FrozenTrial(number=0, state=TrialState.COMPLETE, params={"x": Boom()}, values=[1.0])
        TrialLog()(study, trial)  # would raise if the line were formatted
        TrialLog()(study, trial.evolve(state=TrialState.FAILED, error="ValueError: x"))
    finally:
        logger.setLevel(before)


# -- intermediate values, duration, direction -----------------------------------------
def test_intermediate_values_and_duration_read_as_optunas() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report(x * step, step)
            if trial.number == 1 and step == 1:
                raise optuna.TrialPruned()
        return x

    study = optuna.create_study(seed=0)
    study.enqueue_trial({"x": 0.1})
    study.enqueue_trial({"x": 0.9})  # pruned at step 1
    study.optimize(objective, n_trials=2)
    t0, t1 = study.trials
    assert t0.intermediate_values == {0: 0.0, 1: pytest.approx(0.1), 2: pytest.approx(0.2)}
    assert t1.state == TrialState.PRUNED and t1.intermediate_values == {0: 0.0, 1: pytest.approx(0.9)}
    assert study.best_trial.intermediate_values == t0.intermediate_values
    assert isinstance(t0.duration.total_seconds(), float) and t0.duration >= 0  # type: ignore[union-attr]
    assert t0.duration.timedelta() == datetime.timedelta(seconds=float(t0.duration))  # type: ignore[union-attr]
    assert study.direction == StudyDirection.MINIMIZE and optuna.study.StudyDirection.MAXIMIZE == "maximize"
    assert str(StudyDirection.MINIMIZE) == "StudyDirection.MINIMIZE"


def test_intermediate_values_take_the_objective_metric_of_several() -> None:
    study = optuna.create_study(metric="loss", mode="min")

    def objective(trial: optuna.Trial) -> float:
        trial.report(1, loss=0.5, acc=0.9)
        trial.report(2, loss=0.25, acc=0.95)
        return 0.25

    study.optimize(objective, n_trials=1)
    assert study.trials[0].intermediate_values == {1: 0.5, 2: 0.25}


# -- add_trial / create_trial ------------------------------------------------------------
def test_add_trial_records_a_finished_trial_the_sampler_learns_from() -> None:
    dists = {"x": FloatDistribution(0, 1), "n": IntDistribution(0, 7)}
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(params={"x": 0.5, "n": 3}, distributions=dists, value=0.94,
                                 user_attrs={"src": "paper"}, intermediate_values={1: 0.5, 2: 0.9}))
    study.add_trials([
        create_trial(params={"x": 0.75, "n": 5}, distributions=dists, value=0.95),
        create_trial(params={"x": 0.1, "n": 0}, distributions=dists, state=TrialState.FAILED),
        create_trial(params={"x": 0.2, "n": 1}, distributions=dists, state=TrialState.WAITING),
    ])
    t0, _, t2, t3 = study.trials
    assert (t0.state, t0.value, t0.params, t0.user_attrs) == (TrialState.COMPLETE, 0.94, {"x": 0.5, "n": 3},
                                                              {"src": "paper"})
    assert t0.intermediate_values == {1: 0.5, 2: 0.9}
    assert study.best_trial.number == 1 and study.best_value == 0.95
    assert t2.state == TrialState.FAILED and t3.state == TrialState.WAITING
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 0, 7), n_trials=2)
    assert study.trials[3].params == {"x": 0.2, "n": 1} and len(study.trials) == 5


def test_create_trial_and_add_trial_refuse_bad_input() -> None:
    dists = {"x": FloatDistribution(0, 1)}
    with pytest.raises(ValueError, match="outside"):
        create_trial(params={"x": 2.0}, distributions=dists, value=1.0)
    with pytest.raises(ValueError, match="same parameters"):
        create_trial(params={"x": 0.5}, distributions={}, value=1.0)
    with pytest.raises(ValueError, match="needs value"):
        create_trial(params={"x": 0.5}, distributions=dists)
    with pytest.raises(ValueError, match="not both"):
        create_trial(value=1.0, values=[1.0])
    study = optuna.create_study()
    with pytest.raises(ValueError, match="1 objective"):
        study.add_trial(create_trial(values=[1.0, 2.0]))
    with pytest.raises(TypeError, match="FrozenTrial"):
        study.add_trial({"x": 1})  # type: ignore[arg-type]
    study.enqueue_trial({"x": 0.5})
    with pytest.raises(ValueError, match="queued trials"):
        study.add_trial(create_trial(params={"x": 0.5}, distributions=dists, value=1.0))


# -- summaries, _storage, retry helpers ----------------------------------------------------
def test_study_summaries_have_optunas_fields(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="sum", storage=url, direction="maximize")
    study.set_user_attr("dataset", "MNIST")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    (summary,) = optuna.get_all_study_summaries(url)
    assert summary.user_attrs == {"dataset": "MNIST"} and summary.system_attrs == {}
    assert summary.study_name == "sum" and summary.n_trials == 3
    assert summary.direction == StudyDirection.MAXIMIZE and summary.directions == ["maximize"]
    assert isinstance(summary.datetime_start, datetime.datetime)
    assert summary.best_trial is not None and summary.best_trial.number == study.best_trial.number
    assert summary.best_trial.params == study.best_params
    (bare,) = optuna.get_all_study_summaries(url, include_best_trial=False)
    assert bare.best_trial is None


def test_study_storage_under_optunas_private_name() -> None:
    study = optuna.create_study()
    assert study._storage is study.storage
    with pytest.raises(AttributeError):
        study._storage = None  # type: ignore[misc]


def test_retry_helpers_read_the_retries() -> None:
    once = FrozenTrial(number=3, state=TrialState.COMPLETE, values=[1.0])
    twice = once.evolve(system_attrs={"retries": 2})
    assert RetryFailedTrialCallback.retried_trial_number(once) is None
    assert RetryFailedTrialCallback.retry_history(once) == []
    assert RetryFailedTrialCallback.retried_trial_number(twice) == 3
    assert RetryFailedTrialCallback.retry_history(twice) == [3, 3]


# -- integration callbacks ----------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))
    return x[idx[:400]], y[idx[:400]], x[idx[400:]], y[idx[400:]]


def _pruning_study() -> optuna.Study:
    return optuna.create_study(direction="maximize",
                               pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))


def test_lightgbm_callback_by_optunas_names(cancer: Any) -> None:
    lgb = pytest.importorskip("lightgbm")
    import tunesmith.integration.lightgbm as ts_lgb

    xt, yt, xv, yv = cancer

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 0.5, log=True)
        cb = (optuna.integration.LightGBMPruningCallback(trial, "auc", valid_name="valid_0") if trial.number == 0
              else ts_lgb.LightGBMPruningCallback(trial, "auc"))  # Optuna's module path too
        dtrain = lgb.Dataset(xt, label=yt)
        booster = lgb.train({"objective": "binary", "metric": "auc", "verbosity": -1, "learning_rate": lr,
                             "num_threads": 1}, dtrain, 10, valid_sets=[lgb.Dataset(xv, label=yv, reference=dtrain)],
                            callbacks=[cb])
        return float(booster.best_score["valid_0"]["auc"] or 0.9)

    study = _pruning_study()
    study.enqueue_trial({"lr": 0.3})
    study.enqueue_trial({"lr": 1e-4})  # learns next to nothing: below the median auc at once
    study.optimize(objective, n_trials=2, catch=())
    t0, t1 = study.trials
    assert t0.state == TrialState.COMPLETE and sorted(t0.intermediate_values) == list(range(10))
    assert t1.state == TrialState.PRUNED and len(t1.intermediate_values) < 10
    assert optuna.integration.LightGBMPruningCallback is optuna.integration.optuna.LightGBMPruningCallback


def test_xgboost_callback_by_optunas_names(cancer: Any) -> None:
    xgb = pytest.importorskip("xgboost")
    xt, yt, xv, yv = cancer

    def objective(trial: optuna.Trial) -> float:
        eta = trial.suggest_float("eta", 1e-4, 0.5, log=True)
        cb = optuna.integration.XGBoostPruningCallback(trial, "validation-auc")
        xgb.train({"eta": eta, "eval_metric": "auc", "objective": "binary:logistic", "nthread": 1},
                  xgb.DMatrix(xt, label=yt), 8, evals=[(xgb.DMatrix(xv, label=yv), "validation")],
                  verbose_eval=False, callbacks=[cb])
        return 0.99

    study = _pruning_study()
    study.enqueue_trial({"eta": 0.5})
    study.enqueue_trial({"eta": 1e-4})
    study.optimize(objective, n_trials=2, catch=())
    t0, t1 = study.trials
    assert t0.state == TrialState.COMPLETE and sorted(t0.intermediate_values) == list(range(8))
    assert t1.state in (TrialState.PRUNED, TrialState.COMPLETE)
    from tunesmith.integration.xgboost import XGBoostPruningCallback

    with pytest.raises(ValueError, match="not among the evaluation results"):
        def bad(trial: optuna.Trial) -> float:
            xgb.train({"nthread": 1}, xgb.DMatrix(xt, label=yt), 1, evals=[(xgb.DMatrix(xv, label=yv), "v")],
                      verbose_eval=False, callbacks=[XGBoostPruningCallback(trial, "validation-auc")])
            return 0.0

        optuna.create_study().optimize(bad, n_trials=1, catch=())


def test_tf_keras_callback_is_refused_with_guidance() -> None:
    with pytest.raises(NotImplementedError, match="KerasPruningCallback"):
        optuna.integration.TFKerasPruningCallback(None, "val_loss")


@pytest.mark.slow
def test_keras_and_lightning_callbacks_by_optunas_names() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_lightning")
    from tunesmith.integration.keras import import_keras
    from tunesmith.integration.lightning import import_lightning

    keras = import_keras()
    pl = import_lightning()
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")

    def keras_objective(trial: optuna.Trial) -> float:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.SGD(trial.suggest_float("lr", 1e-3, 0.5)), loss="binary_crossentropy")
        model.fit(x, y, validation_data=(x, y), epochs=3, verbose=0,
                  callbacks=[optuna.integration.KerasPruningCallback(trial, "val_loss")])
        return 0.0

    study = optuna.create_study()
    study.optimize(keras_objective, n_trials=1, catch=())
    assert sorted(study.trials[0].intermediate_values) == [0, 1, 2]

    class Lin(pl.LightningModule):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, _: int) -> Any:
            return torch.nn.functional.mse_loss(self.net(batch[0]).squeeze(1), batch[1])

        def validation_step(self, batch: Any, _: int) -> None:
            self.log("val_acc", torch.nn.functional.mse_loss(self.net(batch[0]).squeeze(1), batch[1]))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=32)

    def pl_objective(trial: optuna.Trial) -> float:
        trainer = pl.Trainer(max_epochs=2, logger=False, enable_progress_bar=False, enable_checkpointing=False,
                             enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=0,
                             callbacks=[optuna.integration.PyTorchLightningPruningCallback(trial, monitor="val_acc")])
        trainer.fit(Lin(), loader, loader)
        return 0.0

    study = optuna.create_study()
    study.optimize(pl_objective, n_trials=1, catch=())
    assert sorted(study.trials[0].intermediate_values) == [0, 1]


def test_visualization_matplotlib_is_an_attribute(tmp_path: Any) -> None:
    out = _run("""
        import tunesmith as optuna
        assert "tunesmith.integration" not in __import__("sys").modules
        print(optuna.visualization.matplotlib.__name__, optuna.integration.__name__)
    """, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["tunesmith.visualization.matplotlib", "tunesmith.integration"]


def test_study_creation_is_logged_new_or_existing(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path}/c.db"
    with caplog.at_level(logging.INFO, logger="tunesmith"):
        study = optuna.create_study(study_name="c", storage=url, direction=StudyDirection.MAXIMIZE)
        optuna.create_study(study_name="c", storage=url, load_if_exists=True)
    assert [r.getMessage() for r in caplog.records] == [
        "A new study created in RDB with name: c",
        "Using an existing study with name 'c' instead of creating a new one.",
    ]
    assert study.direction == "maximize" == StudyDirection.MAXIMIZE
