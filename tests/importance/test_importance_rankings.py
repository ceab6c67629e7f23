"""Each evaluator recovers known importances: synthetic functions with known weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
from importance_data import UNIT, WEIGHTS, additive_study, choice, evaluator_ids, evaluators, make_trials
from scipy.stats import spearmanr

from tunesmith.distributions import FloatDistribution, IntDistribution
from tunesmith.importance import (
    BaseImportanceEvaluator,
    FanovaImportanceEvaluator,
    MeanDecreaseImpurityImportanceEvaluator,
    get_param_importances,
)

EVALUATORS = pytest.mark.parametrize("evaluator", evaluators(), ids=evaluator_ids())


@EVALUATORS
@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_the_ranking_of_known_weights(evaluator: BaseImportanceEvaluator, seed: int) -> None:
    trials, names = additive_study(2000, seed=seed)
    importances = get_param_importances(trials, evaluator, directions="minimize")
    estimate = [importances[name] for name in names]
    assert spearmanr(estimate, WEIGHTS).statistic >= 0.9
    assert list(importances)[:3] == ["x0", "x1", "x2"]
    assert min(estimate[:4]) > max(estimate[5:])  # every weight >= 1 beats every zero weight


@EVALUATORS
def test_recovers_a_ranking_where_the_function_is_monotone(evaluator: BaseImportanceEvaluator) -> None:
    weights = (3.0, 1.0, 0.0)
    trials, names = additive_study(1500, weights, seed=3, g=lambda x: x)
    importances = get_param_importances(trials, evaluator, directions="maximize")
    assert list(importances) == names


def _categorical_study(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    colors = ["red", "green", "blue", "black"]
    penalty = {"red": 0.0, "green": 3.0, "blue": 1.0, "black": 2.0}
    params, values = [], []
    for _ in range(n):
        p = {"color": colors[rng.integers(4)], "x": float(rng.random()), "noise": float(rng.random())}
        params.append(p)
        values.append(penalty[p["color"]] + 0.5 * (p["x"] - 0.5) ** 2)
    dists = {"color": choice(colors), "x": FloatDistribution(0.0, 1.0), "noise": FloatDistribution(0.0, 1.0)}
    return make_trials(params, values, dists)


@EVALUATORS
def test_a_categorical_parameter_that_matters_ranks_first(evaluator: BaseImportanceEvaluator) -> None:
    importances = get_param_importances(_categorical_study(1000), evaluator, directions="minimize")
    assert list(importances) == ["color", "x", "noise"]


def _conditional_study(n: int, seed: int = 0) -> list:
    """momentum exists only when opt == "sgd" and matters there; noise never matters."""
    rng = np.random.default_rng(seed)
    params, values = [], []
    for _ in range(n):
        p = {"opt": ["sgd", "adam"][rng.integers(2)], "noise": float(rng.random())}
        if p["opt"] == "sgd":
            p["momentum"] = float(rng.random())
            value = 4.0 * (p["momentum"] - 0.8) ** 2
        else:
            value = 0.3
        params.append(p)
        values.append(value)
    dists = {"opt": choice(["sgd", "adam"]), "momentum": UNIT, "noise": UNIT}
    return make_trials(params, values, dists)


@EVALUATORS
def test_a_conditional_parameter_is_assessed(evaluator: BaseImportanceEvaluator) -> None:
    trials = _conditional_study(1200)
    assert any("momentum" not in t.params for t in trials)
    importances = get_param_importances(trials, evaluator, directions="minimize")
    assert set(importances) == {"opt", "momentum", "noise"}
    assert all(math.isfinite(v) for v in importances.values())
    assert importances["momentum"] > 3 * importances["noise"]


@EVALUATORS
def test_a_conditional_parameter_alone(evaluator: BaseImportanceEvaluator) -> None:
    trials = _conditional_study(600, seed=1)
    importances = get_param_importances(trials, evaluator, params=["momentum"], directions="minimize")
    assert importances == {"momentum": 1.0}


def _log_study(n: int, seed: int = 0) -> list:
    """lr matters around 1e-3 in log space; most of [1e-6, 1] by linear measure is flat."""
    rng = np.random.default_rng(seed)
    lr = np.exp(rng.uniform(math.log(1e-6), 0.0, n))
    layers = rng.integers(1, 9, n)
    values = (np.log10(lr) + 3.0) ** 2 + 0.3 * (layers - 4.5) ** 2 / 4.5
    params = [{"lr": float(a), "layers": int(b)} for a, b in zip(lr, layers, strict=True)]
    dists = {"lr": FloatDistribution(1e-6, 1.0, log=True), "layers": IntDistribution(1, 8)}
    return make_trials(params, values.tolist(), dists)


@EVALUATORS
def test_a_log_scale_parameter_is_evaluated_in_log_space(evaluator: BaseImportanceEvaluator) -> None:
    importances = get_param_importances(_log_study(1000), evaluator, directions="minimize")
    assert list(importances) == ["lr", "layers"]
    assert importances["layers"] > 0.0


@EVALUATORS
def test_a_parameter_with_one_value_gets_zero(evaluator: BaseImportanceEvaluator) -> None:
    trials, _ = additive_study(300, (1.0, 0.5))
    for t in trials:
        t.params["fixed"] = 3
        t.distributions["fixed"] = IntDistribution(3, 3)
    importances = get_param_importances(trials, evaluator, normalize=False, directions="minimize")
    assert importances["fixed"] == 0.0
    assert list(importances)[-1] == "fixed"


@pytest.mark.parametrize("evaluator", evaluators()[1:], ids=evaluator_ids()[1:])
def test_forest_evaluators_are_reproducible_with_a_seed(evaluator: BaseImportanceEvaluator) -> None:
    trials, _ = additive_study(400)
    first = get_param_importances(trials, evaluator, directions="minimize")
    assert get_param_importances(trials, evaluator, directions="minimize") == first


@pytest.mark.parametrize("evaluator_class", [FanovaImportanceEvaluator, MeanDecreaseImpurityImportanceEvaluator])
def test_subsampling_each_tree_keeps_the_ranking(evaluator_class: type) -> None:
    trials, names = additive_study(2500, seed=2)
    small = get_param_importances(trials, evaluator_class(seed=0, max_samples=256), directions="minimize")
    full = get_param_importances(trials, evaluator_class(seed=0, max_samples=None), directions="minimize")
    assert list(small)[:4] == list(full)[:4] == names[:4]
    assert small != full  # the cap did change the forest
