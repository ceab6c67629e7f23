"""tunesmith: hyperparameter optimization on one laptop or a cluster with the same code.

>>> import tunesmith
>>> study = tunesmith.create_study(seed=0)
>>> study.optimize(lambda trial: trial.suggest_float("x", -1, 1) ** 2, n_trials=10)
>>> len(study.trials)
10
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunesmith import artifacts, callbacks, exceptions, logging, pruners, samplers, schedulers, storages
from tunesmith._delete import delete_study
from tunesmith._study_compat import get_all_study_names, get_all_study_summaries
from tunesmith.checkpoints import Checkpoint, CheckpointConfig
from tunesmith.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)
from tunesmith.exceptions import (
    DuplicatedStudyError,
    MaxFailuresError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialFinishedError,
)
from tunesmith.run import ExperimentAnalysis, RunResult, TuneError, run
from tunesmith.session import checkpoint_dir, get_checkpoint, log, report, save_checkpoint
from tunesmith.space import (
    SearchSpace,
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
from tunesmith.study import Study, create_study, load_study
from tunesmith.trial import FrozenTrial, Trial, TrialPruned, TrialState, TrialStopped

if TYPE_CHECKING:
    from tunesmith import analysis, dashboard, importance, reporting, visualization

__version__ = "0.1.0"


#: subpackages imported on first use: rich, plotly, scikit-learn and FastAPI stay out of ``import tunesmith``
_LAZY = (
    "reporting", "importance", "visualization", "analysis", "dashboard", "integration", "lr", "sweeps", "sklearn",
    "keras_tuner", "tune",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"tunesmith.{name}")
    raise AttributeError(f"module 'tunesmith' has no attribute {name!r}")


__all__ = [
    "CategoricalDistribution",
    "Checkpoint",
    "CheckpointConfig",
    "DuplicatedStudyError",
    "ExperimentAnalysis",
    "FloatDistribution",
    "FrozenTrial",
    "MaxFailuresError",
    "IntDistribution",
    "NormalDistribution",
    "RunResult",
    "SchemaVersionError",
    "SearchSpace",
    "StorageError",
    "Study",
    "StudyNotFoundError",
    "Trial",
    "TrialFinishedError",
    "TrialPruned",
    "TrialState",
    "TrialStopped",
    "TuneError",
    "__version__",
    "artifacts",
    "callbacks",
    "checkpoint_dir",
    "choice",
    "create_study",
    "delete_study",
    "exceptions",
    "get_all_study_names",
    "get_all_study_summaries",
    "get_checkpoint",
    "grid_search",
    "load_study",
    "log",
    "lograndint",
    "logging",
    "loguniform",
    "pruners",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "reporting",
    "report",
    "run",
    "save_checkpoint",
    "schedulers",
    "storages",
    "samplers",
    "sample_from",
    "uniform", "analysis", "dashboard", "importance", "visualization",
]
