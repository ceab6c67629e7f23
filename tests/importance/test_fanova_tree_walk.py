"""fANOVA's vectorised tree walk against an exact brute force over each tree's cells."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor

from tunesmith.importance._fanova import variance_fractions
from tunesmith.importance._forest import forest_inputs


def _brute_force(tree_model, absent: np.ndarray) -> np.ndarray:
    """V_j / V of one tree, by evaluating it at the centre of every cell of the grid its splits make.

    A column with absent share a > 0 stands for "absent" on [0, a): its points there are fed as -1.
    """
    t = tree_model.tree_
    d = len(absent)
    edges = []
    for j in range(d):
        cuts = t.threshold[(t.children_left >= 0) & (t.feature == j)]
        cuts = cuts[cuts >= absent[j]]  # below a: the absent/present split, which is a itself
        edges.append(np.unique(np.concatenate([[0.0, 1.0], [absent[j]] if absent[j] > 0 else [], cuts])))
    centres = [(e[1:] + e[:-1]) / 2 for e in edges]
    lengths = [np.diff(e) for e in edges]
    grid = np.array(list(itertools.product(*centres)))
    weight = np.prod(np.array(list(itertools.product(*lengths))), axis=1)
    X = np.where(grid < absent, -1.0, grid)
    y = tree_model.predict(X).reshape([len(c) for c in centres])
    w = weight.reshape(y.shape)
    mean = float((w * y).sum())
    total = float((w * (y - mean) ** 2).sum())
    out = np.zeros(d)
    for j in range(d):
        other = tuple(k for k in range(d) if k != j)
        marginal = (w * y).sum(axis=other) / lengths[j]
        out[j] = float((lengths[j] * (marginal - mean) ** 2).sum()) / total
    return out


@pytest.mark.parametrize("absent", [np.zeros(3), np.array([0.0, 0.4, 0.0])], ids=["plain", "conditional"])
def test_variance_fractions_match_a_brute_force_over_the_cells(absent: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    unit = rng.random((300, 3))
    unit[rng.random(300) < absent[1], 1] = np.nan  # about 40% of trials lack parameter 1
    a = np.isnan(unit).mean(axis=0)
    X = forest_inputs(unit, a)
    y = np.sin(6 * np.nan_to_num(unit[:, 0])) + np.where(np.isnan(unit[:, 1]), 0.5, unit[:, 1] ** 2) \
        + unit[:, 0] * unit[:, 2] + 0.05 * rng.standard_normal(300)
    forest = RandomForestRegressor(n_estimators=4, max_depth=5, random_state=0).fit(X, y)
    expected = np.mean([_brute_force(e, a) for e in forest.estimators_], axis=0)
    got = variance_fractions([e.tree_ for e in forest.estimators_], a)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert 0.0 < got.sum() <= 1.0 + 1e-12  # main effects never exceed the total variance


def test_an_additive_tree_has_main_effects_that_sum_to_the_total() -> None:
    rng = np.random.default_rng(1)
    X = rng.random((500, 2))
    y = 3 * (X[:, 0] > 0.5) + 1 * (X[:, 1] > 0.3)  # additive: no interaction at all
    forest = RandomForestRegressor(n_estimators=2, max_depth=4, random_state=0, bootstrap=False).fit(X, y)
    got = variance_fractions([e.tree_ for e in forest.estimators_], np.zeros(2))
    # Var(3·1[x0>.5]) = 9·.25, Var(1[x1>.3]) = .21 under the uniform measure
    np.testing.assert_allclose(got, [2.25 / 2.46, 0.21 / 2.46], atol=0.02)


def test_a_forest_of_constant_trees_gives_zeros() -> None:
    X = np.random.default_rng(0).random((20, 2))
    forest = RandomForestRegressor(n_estimators=3, random_state=0).fit(X, np.ones(20))
    assert variance_fractions([e.tree_ for e in forest.estimators_], np.zeros(2)).tolist() == [0.0, 0.0]
