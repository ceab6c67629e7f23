"""``tune.integration.<framework>``: Ray Tune 1.x's report and report-and-checkpoint callbacks, real libraries."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tunesmith import tune
from tunesmith.tune.schedulers import ASHAScheduler


def _data(n=200):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5))
    return x, (x[:, 0] + 0.3 * x[:, 1] > 0).astype(int)


def _xgb_train(config):
    import xgboost as xgb

    from tunesmith.tune.integration.xgboost import TuneReportCheckpointCallback

    x, y = _data()
    dtrain, dtest = xgb.DMatrix(x[:150], label=y[:150]), xgb.DMatrix(x[150:], label=y[150:])
    xgb.train({"objective": "binary:logistic", "eval_metric": ["logloss"], "eta": config["eta"], "max_depth": 2},
              dtrain, num_boost_round=6, evals=[(dtest, "eval")],
              callbacks=[TuneReportCheckpointCallback(filename="model.xgb", frequency=2)])


def test_xgboost_checkpoint_callback_saves_the_booster_each_frequency_rounds(tmp_path):
    xgb = pytest.importorskip("xgboost")
    res = tune.run(_xgb_train, config={"eta": tune.loguniform(0.05, 0.5)}, num_samples=2, metric="eval-logloss",
                   mode="min", verbose=0, storage=str(tmp_path / "x.db"))
    assert not res.errors
    best = res.best_checkpoint
    booster = xgb.Booster()
    booster.load_model(os.path.join(best, "model.xgb"))  # Ray's xgboost_example reads it so
    assert booster.num_boosted_rounds() == 6
    assert [c.step for c in res.study.checkpoints.list(res.best_trial.number)] == [2, 4, 6]


def _lgb_train(config):
    import lightgbm as lgb

    from tunesmith.tune.integration.lightgbm import TuneReportCheckpointCallback

    x, y = _data()
    lgb.train({"objective": "binary", "metric": ["binary_error"], "verbose": -1, "learning_rate": config["lr"],
               "num_leaves": 4, "min_data_in_leaf": 5}, lgb.Dataset(x[:150], label=y[:150]), num_boost_round=8,
              valid_sets=[lgb.Dataset(x[150:], label=y[150:])], valid_names=["eval"],
              callbacks=[TuneReportCheckpointCallback({"binary_error": "eval-binary_error"}, filename="model.lgb")])
    tune.report(mean_accuracy=0.5, done=True)  # Ray's lightgbm_example ends so: the scheduler continues it


def test_lightgbm_checkpoint_callback_under_asha(tmp_path):
    lgb = pytest.importorskip("lightgbm")
    res = tune.run(_lgb_train, config={"lr": tune.loguniform(0.01, 0.3)}, num_samples=3, verbose=0,
                   scheduler=ASHAScheduler(metric="binary_error", mode="min", max_t=20, grace_period=2),
                   storage=str(tmp_path / "l.db"))
    assert not res.errors
    model = lgb.Booster(model_file=os.path.join(res.best_checkpoint, "model.lgb"))
    assert model.num_trees() >= 1
    assert res.get_best_config("binary_error", "min") is not None


def _keras_train(config):
    from tunesmith.integration.keras import import_keras
    from tunesmith.tune.integration.keras import TuneReportCheckpointCallback

    keras = import_keras()
    x, y = _data(64)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(config["lr"]), loss="binary_crossentropy")
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.25,
              callbacks=[TuneReportCheckpointCallback({"loss": "val_loss"}, filename="model")])


@pytest.mark.slow
def test_keras_checkpoint_callback_saves_a_loadable_model(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    pytest.importorskip("keras")
    res = tune.run(_keras_train, config={"lr": 0.1}, metric="loss", mode="min", verbose=0,
                   storage=str(tmp_path / "k.db"))
    assert not res.errors
    assert os.path.isfile(os.path.join(res.best_checkpoint, "model.keras"))
    from tunesmith.integration.keras import import_keras

    assert import_keras().models.load_model(os.path.join(res.best_checkpoint, "model.keras")) is not None


def test_report_callbacks_are_tunesmiths():
    from tunesmith.integration import lightgbm, xgboost
    from tunesmith.tune.integration import lightgbm as ray_lightgbm
    from tunesmith.tune.integration import xgboost as ray_xgboost

    assert ray_lightgbm.TuneReportCallback is lightgbm.TuneReportCallback
    assert ray_xgboost.TuneReportCallback is xgboost.TuneReportCallback
    with pytest.raises(ValueError, match="frequency"):
        ray_lightgbm.TuneReportCheckpointCallback(frequency=0)


def _lightning_train(config):
    import torch

    from tunesmith.integration.lightning import import_lightning
    from tunesmith.tune.integration.pytorch_lightning import TuneReportCheckpointCallback

    pl = import_lightning()
    x, y = _data(64)
    data = torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))

    class Net(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(5, 1)

        def _loss(self, batch):
            xb, yb = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(self.layer(xb).squeeze(-1), yb)

        def training_step(self, batch, _):
            return self._loss(batch)

        def validation_step(self, batch, _):
            self.log("val_loss", self._loss(batch))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=config["lr"])

    loader = torch.utils.data.DataLoader(data, batch_size=32)
    trainer = pl.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0,
                         callbacks=[TuneReportCheckpointCallback({"loss": "val_loss"}, filename="model.ckpt")])
    trainer.fit(Net(), loader, loader)


@pytest.mark.slow
def test_lightning_checkpoint_callback_saves_the_trainers_checkpoint(tmp_path):
    pytest.importorskip("torch")
    res = tune.run(_lightning_train, config={"lr": 0.1}, metric="loss", mode="min", verbose=0,
                   storage=str(tmp_path / "p.db"))
    assert not res.errors
    assert os.path.isfile(os.path.join(res.best_checkpoint, "model.ckpt"))
    assert [c.step for c in res.study.checkpoints.list(res.best_trial.number)] == [1, 2]
