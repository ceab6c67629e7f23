"""tunesmith: hyperparameter optimization on one laptop or a cluster with the same code.

>>> import tunesmith
>>> study = tunesmith.create_study(seed=0)
>>> study.optimize(lambda trial: trial.suggest_float("x", -1, 1) ** 2, n_trials=10)
>>> len(study.trials)
10
"""

from __future__ import annotations

from tunesmith import reporting, samplers
from tunesmith.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)
from tunesmith.exceptions import (
    DuplicatedStudyError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialFinishedError,
)
from tunesmith.run import ExperimentAnalysis, RunResult, report, run
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
from tunesmith.trial import FrozenTrial, Trial, TrialState, TrialStopped

__version__ = "0.1.0"

__all__ = [
    "CategoricalDistribution",
    "DuplicatedStudyError",
    "ExperimentAnalysis",
    "FloatDistribution",
    "FrozenTrial",
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
    "TrialState",
    "TrialStopped",
    "__version__",
    "choice",
    "create_study",
    "grid_search",
    "load_study",
    "lograndint",
    "loguniform",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "reporting",
    "report",
    "run",
    "samplers",
    "sample_from",
    "uniform",
]
