"""Ray Tune's classic API on tunesmith: change ``from ray import tune`` to ``from tunesmith import tune``.

>>> from tunesmith import tune
>>> from tunesmith.tune.schedulers import ASHAScheduler
>>> import os, tempfile
>>> def train(config, checkpoint_dir=None):
...     for epoch in range(8):
...         with tune.checkpoint_dir(epoch) as d:
...             open(os.path.join(d, "state"), "w").write(str(epoch))
...         tune.report(loss=config["lr"] / (epoch + 1))
>>> analysis = tune.run(train, config={"lr": tune.loguniform(1e-4, 1e-1)}, num_samples=6, verbose=0,
...                     scheduler=ASHAScheduler(metric="loss", mode="min", max_t=8, grace_period=1),
...                     local_dir=tempfile.mkdtemp(), storage=os.path.join(tempfile.mkdtemp(), "t.db"))
>>> best = analysis.get_best_trial("loss", "min", "last")
>>> os.path.isdir(best.checkpoint.value)
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tunesmith.checkpoints import Checkpoint, CheckpointConfig
from tunesmith.reporting import CLIReporter, ConsoleReporter
from tunesmith.run import ExperimentAnalysis, ResultTrial, run
from tunesmith.session import checkpoint_dir, get_checkpoint, report, save_checkpoint
from tunesmith.space import (
    choice,
    grid_search,
    lograndint,
    loguniform,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tunesmith.tune import schedulers

__all__ = [
    "CLIReporter",
    "Checkpoint",
    "CheckpointConfig",
    "ConsoleReporter",
    "ExperimentAnalysis",
    "ResultTrial",
    "checkpoint_dir",
    "choice",
    "get_checkpoint",
    "grid_search",
    "lograndint",
    "loguniform",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "report",
    "run",
    "sample_from",
    "save_checkpoint",
    "schedulers",
    "uniform",
    "with_parameters",
]


def with_parameters(trainable: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
    """Ray Tune's ``tune.with_parameters``: bind large objects to the trainable once."""
    return functools.partial(trainable, **kwargs)
