"""Experiment trackers for ``optimize(..., loggers=[...])`` and ``tunesmith.run(..., loggers=[...])``.

Each imports its library (wandb, mlflow, tensorboardX) only when a study starts with it:

- :class:`WandbLogger`: a W&B run per trial, grouped by study (``mode="offline"`` by default).
- :class:`MLflowLogger`: an MLflow parent run per study, a nested run per trial.
- :class:`TensorBoardLogger`: tensorboardX event files with scalars and hparams per trial.
- :class:`CSVLogger`, :class:`JSONLogger`: plain files.
- :func:`setup_wandb`, :func:`setup_mlflow`: start a tracker's run inside a trial, grouped by study.

Ray Tune's names are accepted too, in ``callbacks=[...]``: ``WandbLoggerCallback`` (offline by
default here: pass ``mode="online"``), ``MLflowLoggerCallback``, ``TBXLoggerCallback``,
``CSVLoggerCallback``, ``JsonLoggerCallback``.

See :mod:`tunesmith.tracking` for the :class:`~tunesmith.tracking.Logger` interface they share.
"""

from tunesmith.integration.trackers._base import STATE_KEY
from tunesmith.integration.trackers.files import CSVLogger, JSONLogger
from tunesmith.integration.trackers.mlflow import MLflowLogger, setup_mlflow
from tunesmith.integration.trackers.tensorboard import TensorBoardLogger
from tunesmith.integration.trackers.wandb import WandbLogger, setup_wandb
from tunesmith.tracking import Logger

# Ray Tune's names for the same loggers (``tune.run(..., callbacks=[WandbLoggerCallback(project=...)])``)
WandbLoggerCallback = WandbLogger
MLflowLoggerCallback = MLflowLogger
TBXLoggerCallback = TensorBoardLogger
CSVLoggerCallback = CSVLogger
JsonLoggerCallback = JSONLogger

__all__ = [
    "STATE_KEY", "CSVLogger", "CSVLoggerCallback", "JSONLogger", "JsonLoggerCallback", "Logger", "MLflowLogger",
    "MLflowLoggerCallback", "TBXLoggerCallback", "TensorBoardLogger", "WandbLogger", "WandbLoggerCallback",
    "setup_mlflow", "setup_wandb",
]
