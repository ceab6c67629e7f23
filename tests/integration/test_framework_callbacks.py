"""Lightning, XGBoost and LightGBM callbacks with the real libraries on tiny models: report every epoch or
round, stop a trial the scheduler prunes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith.record import TrialState
from tunesmith.schedulers import MedianPruner


def pruning_study(metric: str, mode: str = "min") -> tunesmith.Study:
    """Trial 0 sets the median; a worse trial 1 is pruned at its first report."""
    return tunesmith.create_study(metric=metric, mode=mode, seed=0,
                                  pruner=MedianPruner(n_startup_trials=1, n_warmup_steps=0))


def reports(study: tunesmith.Study, number: int) -> list[tuple[int, dict[str, Any]]]:
    trial = next(t for t in study.trials if t.number == number)
    return study.storage.get_reports(study.study_id, trial.trial_id)


# -- XGBoost --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y))
    return x[idx[:400]], y[idx[:400]], x[idx[400:]], y[idx[400:]]


def test_xgboost_reports_each_round_and_stops_pruned(cancer: Any) -> None:
    xgb = pytest.importorskip("xgboost")
    from tunesmith.integration.xgboost import TuneReportCallback, XGBoostPruningCallback

    assert XGBoostPruningCallback is TuneReportCallback
    xt, yt, xv, yv = cancer
    dtrain, dvalid = xgb.DMatrix(xt, label=yt), xgb.DMatrix(xv, label=yv)
    rounds: dict[int, int] = {}

    def objective(trial: tunesmith.Trial) -> float:
        eta = trial.suggest_float("eta", 1e-4, 0.5, log=True)
        params = {"eta": eta, "objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1}
        booster = xgb.train(params, dtrain, 20, evals=[(dvalid, "valid")], verbose_eval=False,
                            callbacks=[TuneReportCallback({"loss": "valid-logloss"})])
        rounds[trial.number] = booster.num_boosted_rounds()
        return float(booster.eval(dvalid).split(":")[1])

    study = pruning_study("loss")
    study.enqueue({"eta": 0.3})
    study.enqueue({"eta": 1e-4})
    study.optimize(objective, n_trials=2)
    t0, t1 = study.trials
    assert t0.state == TrialState.COMPLETE and rounds[0] == 20
    steps = [s for s, _ in reports(study, 0)]
    assert steps == list(range(1, 21))
    assert t1.state == TrialState.PRUNED and rounds[1] == 1 and [s for s, _ in reports(study, 1)] == [1]
    assert set(reports(study, 0)[0][1]) == {"loss", "training_iteration"}


def test_xgboost_unknown_metric_names_the_logged_ones(cancer: Any) -> None:
    xgb = pytest.importorskip("xgboost")
    from tunesmith.integration.xgboost import TuneReportCallback

    xt, yt, xv, yv = cancer

    def objective(trial: tunesmith.Trial) -> float:
        xgb.train({"eval_metric": "logloss", "nthread": 1}, xgb.DMatrix(xt, label=yt), 2,
                  evals=[(xgb.DMatrix(xv, label=yv), "valid")], verbose_eval=False,
                  callbacks=[TuneReportCallback("valid-auc")])
        return 0.0

    with pytest.raises(ValueError, match=r"\['valid-auc'\] are not among the logged ones \['valid-logloss'\]"):
        tunesmith.create_study().optimize(objective, n_trials=1, catch=())


def test_callbacks_outside_a_trial_say_so(cancer: Any) -> None:
    xgb = pytest.importorskip("xgboost")
    from tunesmith.integration.xgboost import TuneReportCallback

    xt, yt, _, _ = cancer
    d = xgb.DMatrix(xt, label=yt)
    with pytest.raises(RuntimeError, match="none runs in this thread"):
        xgb.train({"nthread": 1}, d, 2, evals=[(d, "train")], verbose_eval=False, callbacks=[TuneReportCallback()])
    with pytest.raises(ValueError, match="metrics must be"):
        TuneReportCallback(metrics=[1])  # type: ignore[list-item]


# -- LightGBM -------------------------------------------------------------------------
def test_lightgbm_reports_each_round_and_stops_pruned(cancer: Any) -> None:
    lgb = pytest.importorskip("lightgbm")
    from tunesmith.integration.lightgbm import LightGBMPruningCallback, TuneReportCallback

    assert LightGBMPruningCallback is TuneReportCallback
    xt, yt, xv, yv = cancer
    rounds: dict[int, int] = {}

    def objective(trial: tunesmith.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-4, 0.5, log=True)
        params = {"objective": "binary", "learning_rate": lr, "verbose": -1, "num_threads": 1}
        dtrain = lgb.Dataset(xt, label=yt)
        booster = lgb.train(params, dtrain, 20, valid_sets=[lgb.Dataset(xv, label=yv, reference=dtrain)],
                            valid_names=["valid"], callbacks=[TuneReportCallback({"loss": "valid-binary_logloss"})])
        rounds[trial.number] = booster.current_iteration()
        return float(booster.best_score["valid"]["binary_logloss"]) if booster.best_score else 0.0

    study = pruning_study("loss")
    study.enqueue({"lr": 0.3})
    study.enqueue({"lr": 1e-4})
    study.optimize(objective, n_trials=2, catch=())
    t0, t1 = study.trials
    assert t0.state == TrialState.COMPLETE and rounds[0] == 20
    assert [s for s, _ in reports(study, 0)] == list(range(1, 21))
    assert t1.state == TrialState.PRUNED and rounds[1] == 1 and [s for s, _ in reports(study, 1)] == [1]


# -- PyTorch Lightning ----------------------------------------------------------------
def test_lightning_reports_each_epoch_and_stops_pruned() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("pytorch_lightning")
    from tunesmith.integration.lightning import PruningCallback, TuneReportCallback, import_lightning

    assert PruningCallback is TuneReportCallback
    pl = import_lightning()
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x.sum(dim=1, keepdim=True) > 0).float()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)

    class Mlp(pl.LightningModule):  # type: ignore[misc]
        def __init__(self, lr: float) -> None:
            super().__init__()
            self.lr = lr
            self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))

        def training_step(self, batch: Any, _: int) -> Any:
            xb, yb = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(self.net(xb), yb)

        def validation_step(self, batch: Any, _: int) -> None:
            xb, yb = batch
            self.log("val_loss", torch.nn.functional.binary_cross_entropy_with_logits(self.net(xb), yb))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.lr)

    epochs: dict[int, int] = {}

    def objective(trial: tunesmith.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-6, 1.0, log=True)
        trainer = pl.Trainer(max_epochs=3, callbacks=[TuneReportCallback({"loss": "val_loss"})], logger=False,
                             enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False,
                             accelerator="cpu", num_sanity_val_steps=0)
        torch.manual_seed(trial.number)
        trainer.fit(Mlp(lr), loader, loader)
        epochs[trial.number] = trainer.current_epoch
        return float(trainer.callback_metrics["val_loss"])

    study = pruning_study("loss")
    study.enqueue({"lr": 0.5})
    study.enqueue({"lr": 1e-6})  # learns nothing: worse than trial 0 after its first epoch
    study.optimize(objective, n_trials=2, catch=())
    t0, t1 = study.trials
    assert t0.state == TrialState.COMPLETE and epochs[0] == 3
    assert [s for s, _ in reports(study, 0)] == [1, 2, 3]
    assert t1.state == TrialState.PRUNED and [s for s, _ in reports(study, 1)] == [1]
    assert epochs[1] == 1  # the trainer stopped after the first epoch
    assert reports(study, 0)[-1][1]["loss"] == pytest.approx(t0.values[0])
