"""Mean decrease in impurity: a random forest's ``feature_importances_``.

Each split's reduction of the squared error, weighted by the trials it splits, summed per
parameter and averaged over the trees (Breiman 2001). Cheap, but biased towards parameters
with many distinct values; fANOVA and PED-ANOVA are not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunesmith.importance._forest import ForestEvaluator

__all__ = ["MeanDecreaseImpurityImportanceEvaluator"]


class MeanDecreaseImpurityImportanceEvaluator(ForestEvaluator):
    """Random-forest impurity importances (needs scikit-learn).

    Args:
        n_trees: trees in the forest.
        max_depth: their maximum depth.
        seed: the forest's seed (None: not reproducible).
        max_samples: trials in each tree's bootstrap sample, at most (None: every trial); as
            for :class:`FanovaImportanceEvaluator`.

    >>> import tunesmith
    >>> from tunesmith.importance import MeanDecreaseImpurityImportanceEvaluator, get_param_importances
    >>> study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + 0.01 * t.suggest_float("y", -1, 1),
    ...                n_trials=100)
    >>> list(get_param_importances(study, evaluator=MeanDecreaseImpurityImportanceEvaluator(seed=0)))
    ['x', 'y']
    """

    def _read(self, forest: Any, absent: np.ndarray) -> np.ndarray:
        return np.asarray(forest.feature_importances_)
