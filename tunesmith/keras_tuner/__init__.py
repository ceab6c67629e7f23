"""KerasTuner's API on tunesmith: ``import tunesmith.keras_tuner as keras_tuner`` and the same script runs.

``RandomSearch``, ``GridSearch``, ``BayesianOptimization`` and ``Hyperband`` take KerasTuner's
arguments; the search is a tunesmith study in ``directory/project_name/study.db``, so it
resumes after a stop, runs ``n_workers`` trials in parallel, and can stop poor trials early
(``scheduler=ASHAScheduler(...)``). Models are freed between trials; only the best trials'
weights stay, on disk. See ``docs/migration-keras-tuner.md`` for every difference.
"""

from __future__ import annotations

from tunesmith.hyperparameters import Hyperparameters
from tunesmith.keras_tuner._hypermodel import HyperModel
from tunesmith.keras_tuner._objective import Objective
from tunesmith.keras_tuner._results import Oracle, TunerTrial
from tunesmith.keras_tuner._tuner import Tuner
from tunesmith.keras_tuner._tuners import BayesianOptimization, GridSearch, Hyperband, RandomSearch

#: KerasTuner's name for the hyperparameter container
HyperParameters = Hyperparameters

__all__ = [
    "BayesianOptimization",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "Objective",
    "Oracle",
    "RandomSearch",
    "Tuner",
    "TunerTrial",
]
