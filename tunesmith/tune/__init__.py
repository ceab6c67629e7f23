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

from tunesmith._trainable import ClassTrainable as Trainable
from tunesmith.checkpoints import Checkpoint, CheckpointConfig
from tunesmith.reporting import CLIReporter, ConsoleReporter
from tunesmith.run import ExperimentAnalysis, ResultTrial, TuneError
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
from tunesmith.tune import integration, schedulers, stopper, suggest, utils
from tunesmith.tune._api import (
    ExportFormat,
    PlacementGroupFactory,
    SyncConfig,
    create_scheduler,
    create_searcher,
    function,
    get_trial_dir,
    get_trial_id,
    get_trial_name,
    is_session_enabled,
    with_parameters,
    with_resources,
)
from tunesmith.tune._callback import Callback
from tunesmith.tune._run import run
from tunesmith.tune._unsupported import (
    DurableTrainable,
    Experiment,
    JupyterNotebookReporter,
    durable,
    make_checkpoint_dir,
    qlograndint,
    register_env,
    register_trainable,
    run_experiments,
    track,
)
from tunesmith.tune.stopper import EarlyStopping, Stopper

#: Ray Tune's older name of :class:`ExperimentAnalysis`
Analysis = ExperimentAnalysis
#: Ray's base of progress reporters: tunesmith's console reporter
ProgressReporter = ConsoleReporter

__all__ = [
    "Analysis",
    "CLIReporter",
    "Callback",
    "Checkpoint",
    "CheckpointConfig",
    "ConsoleReporter",
    "DurableTrainable",
    "EarlyStopping",
    "Experiment",
    "ExperimentAnalysis",
    "ExportFormat",
    "JupyterNotebookReporter",
    "PlacementGroupFactory",
    "ProgressReporter",
    "ResultTrial",
    "Stopper",
    "SyncConfig",
    "Trainable",
    "TuneError",
    "checkpoint_dir",
    "choice",
    "create_scheduler",
    "create_searcher",
    "durable",
    "function",
    "get_checkpoint",
    "get_trial_dir",
    "get_trial_id",
    "get_trial_name",
    "grid_search",
    "integration",
    "is_session_enabled",
    "lograndint",
    "loguniform",
    "make_checkpoint_dir",
    "qlograndint",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "register_env",
    "register_trainable",
    "report",
    "run",
    "run_experiments",
    "sample_from",
    "save_checkpoint",
    "schedulers",
    "stopper",
    "suggest",
    "track",
    "uniform",
    "utils",
    "with_parameters",
    "with_resources",
]
