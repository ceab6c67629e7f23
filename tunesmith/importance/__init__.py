"""Hyperparameter importance: which parameters a study's results depend on.

A view: it reads the study record (COMPLETE trials) and never writes it. ``import tunesmith``
does not import it; the forest-based evaluators import scikit-learn when first used.

>>> import tunesmith
>>> from tunesmith.importance import get_param_importances
>>> study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
>>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + 0.01 * t.suggest_float("y", -1, 1), n_trials=100)
>>> list(get_param_importances(study))
['x', 'y']
"""

from __future__ import annotations

from tunesmith.importance._evaluator import BaseImportanceEvaluator
from tunesmith.importance._fanova import FanovaImportanceEvaluator
from tunesmith.importance._mean_decrease_impurity import MeanDecreaseImpurityImportanceEvaluator
from tunesmith.importance._param_importances import get_param_importances
from tunesmith.importance._ped_anova import PedAnovaImportanceEvaluator

__all__ = [
    "BaseImportanceEvaluator",
    "FanovaImportanceEvaluator",
    "MeanDecreaseImpurityImportanceEvaluator",
    "PedAnovaImportanceEvaluator",
    "get_param_importances",
]
