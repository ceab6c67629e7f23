"""W&B's parameter forms and distributions: inference, validation, and the values programs get."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunesmith.distributions import CategoricalDistribution, FloatDistribution, IntDistribution, NormalDistribution
from tunesmith.sweeps import DISTRIBUTIONS, SweepConfigError, SweepSpace
from tunesmith.sweeps._params import sample_values


def one(cfg: dict, method: str = "random"):
    space = SweepSpace.from_parameters({"p": cfg}, method)
    (param,) = space.parameters
    return param


@pytest.mark.parametrize(("cfg", "kind"), [
    ({"value": 3}, "constant"),
    ({"values": [1, 2]}, "categorical"),
    ({"values": ["a", "b"], "probabilities": [0.2, 0.8]}, "categorical_w_probabilities"),
    ({"min": 1, "max": 5}, "int_uniform"),
    ({"min": 1.0, "max": 5}, "uniform"),
    ({"min": 1, "max": 5.0}, "uniform"),
    ({"mu": 1.0, "sigma": 2.0}, "normal"),
])
def test_inference_without_distribution(cfg: dict, kind: str) -> None:
    assert one(cfg).kind == kind


def test_every_wandb_distribution_is_known() -> None:
    assert set(DISTRIBUTIONS) == {
        "constant", "categorical", "categorical_w_probabilities", "int_uniform", "uniform", "q_uniform",
        "log_uniform", "log_uniform_values", "q_log_uniform", "q_log_uniform_values", "inv_log_uniform",
        "inv_log_uniform_values", "normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta",
    }


N = 4000


def values(cfg: dict) -> np.ndarray:
    return np.asarray(sample_values(one(cfg), N, seed=1), dtype=float)


def test_uniform_int_uniform_and_q_uniform_ranges() -> None:
    v = values({"distribution": "uniform", "min": -2.0, "max": 3.0})
    assert v.min() >= -2 and v.max() <= 3 and abs(v.mean() - 0.5) < 0.1
    ints = sample_values(one({"min": 2, "max": 4}), N)
    assert set(ints) == {2, 3, 4} and all(isinstance(i, int) for i in ints)
    q = sample_values(one({"distribution": "q_uniform", "min": 0, "max": 10, "q": 2}), N)
    assert set(q) <= {0, 2, 4, 6, 8, 10} and all(isinstance(x, int) for x in q)  # int q gives ints, as in W&B
    qf = values({"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25})
    assert set(np.round(qf, 9)) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_log_uniform_bounds_are_natural_log_exponents_as_in_wandb() -> None:
    v = values({"distribution": "log_uniform", "min": -4, "max": 0})
    assert v.min() >= math.exp(-4) and v.max() <= 1.0
    logs = np.log(v)  # uniform on [-4, 0]: mean -2, sd 4/sqrt(12)
    assert abs(logs.mean() + 2) < 0.1 and abs(logs.std() - 4 / math.sqrt(12)) < 0.1
    v2 = values({"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1})
    assert v2.min() >= 1e-4 and v2.max() <= 0.1 and abs(np.log10(v2).mean() + 2.5) < 0.1
    inv = values({"distribution": "inv_log_uniform", "min": 0, "max": 4})  # log(1/x) uniform on [0, 4]
    assert inv.min() >= math.exp(-4) and inv.max() <= 1.0 and abs(np.log(1 / inv).mean() - 2) < 0.1
    inv2 = values({"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1.0})
    assert inv2.min() >= 0.01 and inv2.max() <= 1.0
    q = values({"distribution": "q_log_uniform_values", "min": 1, "max": 1000, "q": 1})
    assert np.all(q == np.round(q)) and q.min() >= 1 and q.max() <= 1000


def test_normal_family_and_beta_moments() -> None:
    n = values({"distribution": "normal", "mu": 3.0, "sigma": 0.5})
    assert abs(n.mean() - 3) < 0.05 and abs(n.std() - 0.5) < 0.05
    qn = values({"distribution": "q_normal", "mu": 0, "sigma": 5, "q": 2})
    assert np.all(np.mod(qn, 2) == 0)
    ln = values({"distribution": "log_normal", "mu": 0.0, "sigma": 0.25})
    assert ln.min() > 0 and abs(np.log(ln).mean()) < 0.03 and abs(np.log(ln).std() - 0.25) < 0.03
    b = values({"distribution": "beta", "a": 2, "b": 5})
    assert b.min() >= 0 and b.max() <= 1 and abs(b.mean() - 2 / 7) < 0.02
    qb = values({"distribution": "q_beta", "a": 1, "b": 1, "q": 0.5})
    assert set(qb) <= {0.0, 0.5, 1.0}
    assert one({"distribution": "normal"}).config == {"mu": 0.0, "sigma": 1.0}  # W&B's defaults


def test_categorical_probabilities_are_followed() -> None:
    v = sample_values(one({"values": ["a", "b", "c"], "probabilities": [0.1, 0.6, 0.3]}), N)
    share = {k: v.count(k) / N for k in "abc"}
    assert abs(share["a"] - 0.1) < 0.03 and abs(share["b"] - 0.6) < 0.03 and abs(share["c"] - 0.3) < 0.03


def test_searched_distributions() -> None:
    assert one({"values": [1, 2]}).distribution() == CategoricalDistribution((1, 2))
    assert one({"min": 1, "max": 3}).distribution() == IntDistribution(1, 3)
    assert one({"distribution": "log_uniform_values", "min": 0.1, "max": 1.0}).distribution() == FloatDistribution(
        0.1, 1.0, log=True)
    assert isinstance(one({"distribution": "log_normal"}).distribution(), NormalDistribution)
    assert one({"value": 1}).distribution() is None


def test_grid_enumerates_like_wandb() -> None:
    space = SweepSpace.from_parameters({
        "a": {"values": [1, 2]}, "b": {"min": 1, "max": 3}, "c": {"distribution": "q_uniform", "min": 0, "max": 1,
                                                                 "q": 0.25}, "d": {"value": "x"},
    }, "grid")
    assert space.grid_lists() == {"a": [1, 2], "b": [1, 2, 3], "c": [0.0, 0.25, 0.5, 0.75]}  # arange: max excluded
    with pytest.raises(SweepConfigError, match=r"method grid needs discrete parameters.*uniform"):
        SweepSpace.from_parameters({"lr": {"min": 0.1, "max": 1.0}}, "grid")
    with pytest.raises(SweepConfigError, match="categorical_w_probabilities"):
        SweepSpace.from_parameters({"x": {"values": [1, 2], "probabilities": [0.5, 0.5]}}, "grid")


def test_nested_parameters_become_dicts() -> None:
    space = SweepSpace.from_parameters({
        "optimizer": {"parameters": {"lr": {"values": [0.1]}, "name": {"value": "adam"}}}, "epochs": {"value": 3},
    })
    assert sorted(space.distributions) == ["optimizer.lr"]
    assert space.config_for({"optimizer.lr": 0.1}) == {"epochs": 3, "optimizer": {"lr": 0.1, "name": "adam"}}


def test_conditional_parameters() -> None:
    space = SweepSpace.from_parameters({
        "opt": {"values": ["sgd", "adam"]}, "momentum": {"min": 0.0, "max": 1.0, "when": {"opt": "sgd"}},
    })
    assert sorted(space.distributions) == ["opt"]
    drawn: dict = {}
    space.suggest_conditionals(lambda n, d: drawn.setdefault(n, 0.5), {"opt": "adam"})
    assert drawn == {}
    space.suggest_conditionals(lambda n, d: drawn.setdefault(n, 0.5), {"opt": "sgd"})
    assert drawn == {"momentum": 0.5}
