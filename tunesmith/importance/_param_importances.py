"""``get_param_importances``: which parameters a study's results depend on (Optuna's entry point)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunesmith.importance._evaluator import BaseImportanceEvaluator, ranked
from tunesmith.importance._ped_anova import PedAnovaImportanceEvaluator
from tunesmith.importance._trials import Target, check_fraction, read_table

__all__ = ["get_param_importances"]


def get_param_importances(
    study: Any,
    evaluator: BaseImportanceEvaluator | None = None,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    normalize: bool = True,
    *,
    top_quantile: float | None = None,
    directions: str | Sequence[str] | None = None,
) -> dict[str, float]:
    """Importance of each parameter, highest first, from the study's COMPLETE trials.

    Reads the record only. Trials whose target is not finite are left out.

    Args:
        study: a Study, or anything with ``.trials`` and ``.directions``, or a list of
            FrozenTrial (then ``directions=`` gives the objectives' directions).
        evaluator: :class:`PedAnovaImportanceEvaluator` (default),
            :class:`FanovaImportanceEvaluator` or :class:`MeanDecreaseImpurityImportanceEvaluator`.
        params: the parameters to assess (default: every parameter of a COMPLETE trial;
            conditional parameters included).
        target: ``FrozenTrial -> float``, the number to explain instead of the objective value,
            e.g. ``lambda t: t.values[1]`` or ``lambda t: t.duration``; needed when the study has
            several objectives. Lower is taken as better (Optuna's rule; it matters to PED-ANOVA
            and ``top_quantile``): negate it to explain what makes it high.
        normalize: scale the importances to sum to 1 (equal shares when they are all 0).
        top_quantile: assess only the best fraction of the trials, in (0, 1].
        directions: ``"minimize"``/``"maximize"`` per objective, when ``study`` is a list of trials.

    >>> import tunesmith
    >>> from tunesmith.importance import get_param_importances
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", -1.0, 1.0)
    ...     lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    ...     opt = trial.suggest_categorical("opt", ["sgd", "adam"])
    ...     return 10 * x**2 + (0.1 if opt == "sgd" else 0.0) + 0.01 * lr
    >>> study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    >>> study.optimize(objective, n_trials=200)
    >>> importances = get_param_importances(study)
    >>> next(iter(importances)), round(sum(importances.values()), 6)
    ('x', 1.0)
    """
    if evaluator is None:
        evaluator = PedAnovaImportanceEvaluator()
    if not isinstance(evaluator, BaseImportanceEvaluator):
        raise TypeError(
            "evaluator must be a tunesmith.importance evaluator (PedAnovaImportanceEvaluator(), "
            f"FanovaImportanceEvaluator(), MeanDecreaseImpurityImportanceEvaluator()), got {evaluator!r}"
        )
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got normalize={normalize!r}")
    fraction = None if top_quantile is None else check_fraction("top_quantile", top_quantile)
    table = read_table(study, params=params, target=target, directions=directions)
    if fraction is not None:
        table = table.best(fraction)
    importances = evaluator._importances(table)
    if normalize and len(importances):
        total = float(importances.sum())
        importances = importances / total if total > 0 else np.full(len(importances), 1.0 / len(importances))
    return ranked(table.names, importances)
