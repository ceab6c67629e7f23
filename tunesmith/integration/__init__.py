"""Bridges to the libraries training code already uses: experiment trackers and training frameworks.

Each module imports its library only when used, so ``import tunesmith.integration`` stays light:

- :mod:`tunesmith.integration.trackers`: ``WandbLogger``, ``MLflowLogger``, ``TensorBoardLogger``,
  ``CSVLogger``, ``JSONLogger`` for ``loggers=[...]``, and ``setup_wandb``/``setup_mlflow`` inside a trainable.
- :mod:`tunesmith.integration.keras`: a Keras callback that reports each epoch and stops pruned trials.
- :mod:`tunesmith.integration.lightning`: the PyTorch Lightning callback.
- :mod:`tunesmith.integration.xgboost`, :mod:`tunesmith.integration.lightgbm`: boosting-round callbacks.
- :mod:`tunesmith.integration.optuna`: Optuna's pruning callbacks by their Optuna names, also reachable
  here: ``tunesmith.integration.LightGBMPruningCallback(trial, "auc")`` (``import tunesmith as optuna``:
  ``optuna.integration.XGBoostPruningCallback(trial, "validation-auc")``...).
"""

from __future__ import annotations

import importlib
from typing import Any

#: Optuna's ``optuna.integration`` names, from :mod:`tunesmith.integration.optuna`
_OPTUNA_NAMES = (
    "KerasPruningCallback", "LightGBMPruningCallback", "PyTorchLightningPruningCallback", "TFKerasPruningCallback",
    "XGBoostPruningCallback",
)
_SUBMODULES = ("keras", "lightgbm", "lightning", "optuna", "trackers", "xgboost")


def __getattr__(name: str) -> Any:
    if name in _OPTUNA_NAMES:
        return getattr(importlib.import_module("tunesmith.integration.optuna"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tunesmith.integration.{name}")
    raise AttributeError(f"module 'tunesmith.integration' has no attribute {name!r}")
