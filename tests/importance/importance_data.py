"""Synthetic studies with known importances, built as FrozenTrials (shared by the importance tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution
from tunesmith.importance import (
    BaseImportanceEvaluator,
    FanovaImportanceEvaluator,
    MeanDecreaseImpurityImportanceEvaluator,
    PedAnovaImportanceEvaluator,
)
from tunesmith.trial import FrozenTrial, TrialState

#: the weights of the additive test function, most important first
WEIGHTS = (8.0, 4.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.0)
UNIT = FloatDistribution(0.0, 1.0)


def evaluators(seed: int = 0) -> list[BaseImportanceEvaluator]:
    return [
        PedAnovaImportanceEvaluator(),
        FanovaImportanceEvaluator(seed=seed),
        MeanDecreaseImpurityImportanceEvaluator(seed=seed),
    ]


def evaluator_ids() -> list[str]:
    return ["ped_anova", "fanova", "mdi"]


def make_trials(
    params: Sequence[dict[str, Any]],
    values: Sequence[float | Sequence[float]],
    distributions: dict[str, Distribution],
    state: TrialState = TrialState.COMPLETE,
    start: int = 0,
) -> list[FrozenTrial]:
    """One FrozenTrial per row, each with the distributions (those given) of the parameters it has."""
    out = []
    for i, (p, v) in enumerate(zip(params, values, strict=True)):
        vals = [float(x) for x in v] if isinstance(v, (list, tuple, np.ndarray)) else [float(v)]
        out.append(
            FrozenTrial(
                number=start + i, state=state, params=dict(p), values=vals,
                distributions={k: distributions[k] for k in p if k in distributions},
            )
        )
    return out


def additive_study(
    n: int, weights: Sequence[float] = WEIGHTS, seed: int = 0,
    g: Callable[[np.ndarray], np.ndarray] = lambda x: (x - 0.5) ** 2,
) -> tuple[list[FrozenTrial], list[str]]:
    """f(x) = Σ w_i g(x_i) over n uniform random points of [0, 1]^d."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, len(weights)))
    y = g(X) @ np.asarray(weights, dtype=float)
    names = [f"x{i}" for i in range(len(weights))]
    params = [dict(zip(names, map(float, row), strict=True)) for row in X]
    return make_trials(params, y.tolist(), dict.fromkeys(names, UNIT)), names


def choice(choices: Sequence[Any]) -> CategoricalDistribution:
    return CategoricalDistribution(tuple(choices))
