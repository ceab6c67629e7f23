"""fANOVA: each parameter's share of the variance of a random forest's prediction.

Hutter, Hoos & Leyton-Brown (2014), "An Efficient Approach for Assessing Hyperparameter
Importance" (ICML). A regression tree is a piecewise-constant function ŷ over the search
space, one constant v_l on each leaf's box B_l. Under the uniform measure on the unit cube
(the search space's own measure, see ``_forest``), with |B_l| the box's volume:

    mean     f₀ = Σ_l |B_l| v_l
    total    V  = Σ_l |B_l| (v_l − f₀)²                     (main effects and all interactions)
    marginal f_j(x) = Σ_{l: x ∈ B_l,j} v_l |B_l| / w_lj    (w_lj: the box's width along j)
    main     V_j = ∫ (f_j(x) − f₀)² dx

f_j is constant between consecutive split points of parameter j, so V_j is a sum over those
intervals. The importance of j is V_j / V averaged over the trees (as the original fANOVA).

Everything is vectorised over the whole forest: the boxes are found by walking all trees
level by level at once (``tree_.children_left/right``, ``feature``, ``threshold``), and each
parameter's marginal is a difference array over its split points, sorted by (tree, value),
summed with one ``cumsum``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tunesmith.importance._forest import ForestEvaluator

__all__ = ["FanovaImportanceEvaluator", "variance_fractions"]


class FanovaImportanceEvaluator(ForestEvaluator):
    """Functional ANOVA on a random forest (needs scikit-learn).

    Args:
        n_trees: trees in the forest.
        max_depth: their maximum depth.
        seed: the forest's seed (None: not reproducible).
        max_samples: trials in each tree's bootstrap sample, at most (None: as many as there
            are trials). The default, 1,024, keeps a 10,000-trial study under a few seconds;
            the forest as a whole still sees every trial.

    >>> import tunesmith
    >>> from tunesmith.importance import FanovaImportanceEvaluator, get_param_importances
    >>> study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + 0.01 * t.suggest_float("y", -1, 1),
    ...                n_trials=100)
    >>> list(get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0)))
    ['x', 'y']
    """

    def _read(self, forest: Any, absent: np.ndarray) -> np.ndarray:
        return variance_fractions([e.tree_ for e in forest.estimators_], absent)


def variance_fractions(trees: Sequence[Any], absent: np.ndarray) -> np.ndarray:
    """Per input column, the mean over ``trees`` (scikit-learn ``tree_`` objects) of V_j / V.

    ``absent``: per column, the share [0, a) of the unit interval that stands for "absent"
    (0 for parameters every trial has).
    """
    d = len(absent)
    tree, lo, hi, value = _leaf_boxes(trees, absent)
    n_trees = len(trees)
    width = hi - lo
    volume = np.prod(width, axis=1)
    mean = np.bincount(tree, weights=volume * value, minlength=n_trees)
    total = np.bincount(tree, weights=volume * (value - mean[tree]) ** 2, minlength=n_trees)
    valid = total > 1e-14 * np.maximum(np.bincount(tree, weights=volume * value**2, minlength=n_trees), 1e-300)
    if not valid.any():
        return np.zeros(d)
    fractions = np.empty((n_trees, d))
    for j in range(d):
        fractions[:, j] = _main_effect_variance(tree, lo[:, j], hi[:, j], width[:, j], volume * value, mean, n_trees)
    fractions[valid] /= total[valid, None]
    return np.clip(fractions[valid].mean(axis=0), 0.0, 1.0)


def _leaf_boxes(trees: Sequence[Any], absent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every leaf of every tree: its tree, its box [lo, hi) in the unit cube, its value."""
    sizes = np.array([t.node_count for t in trees])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    shift = np.repeat(offsets, sizes)
    left = np.concatenate([t.children_left for t in trees])
    right = np.concatenate([t.children_right for t in trees])
    leaf = left < 0
    left = np.where(leaf, -1, left + shift)
    right = np.where(leaf, -1, right + shift)
    feature = np.where(leaf, 0, np.concatenate([t.feature for t in trees]))
    threshold = np.concatenate([t.threshold for t in trees])
    # A split between absent (-1) and present trials of a conditional parameter has its
    # threshold below a: move it to a, so that "absent" gets exactly its share [0, a).
    a = absent[feature]
    threshold = np.clip(np.where((a > 0) & (threshold < a), a, threshold), 0.0, 1.0)
    value = np.concatenate([t.value[:, 0, 0] for t in trees])

    d = len(absent)
    node = offsets.copy()
    lo, hi = np.zeros((len(node), d)), np.ones((len(node), d))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    while node.size:  # one level of every tree per pass
        is_leaf = leaf[node]
        found.append((node[is_leaf], lo[is_leaf], hi[is_leaf]))
        split = node[~is_leaf]
        lo, hi = lo[~is_leaf], hi[~is_leaf]
        rows, f, t = np.arange(len(split)), feature[split], threshold[split]
        hi_left = hi.copy()
        hi_left[rows, f] = t
        lo_right = lo.copy()
        lo_right[rows, f] = t
        node = np.concatenate([left[split], right[split]])
        lo, hi = np.concatenate([lo, lo_right]), np.concatenate([hi_left, hi])
    leaves = np.concatenate([f[0] for f in found])
    tree = np.searchsorted(offsets, leaves, side="right") - 1
    return tree, np.concatenate([f[1] for f in found]), np.concatenate([f[2] for f in found]), value[leaves]


def _main_effect_variance(
    tree: np.ndarray, lo: np.ndarray, hi: np.ndarray, width: np.ndarray, mass: np.ndarray, mean: np.ndarray,
    n_trees: int,
) -> np.ndarray:
    """V_j of each tree, from its leaves' extents [lo, hi) along j and ``mass`` = |B_l| v_l."""
    n = len(tree)
    # Each leaf adds |B_l| v_l / w_lj to the marginal on [lo, hi): the other coordinates integrated out.
    with np.errstate(divide="ignore", invalid="ignore"):
        height = np.where(width > 0, mass / width, 0.0)
    trees = np.concatenate([tree, tree])
    points = np.concatenate([lo, hi])
    # Sort by (tree, point) through one float key, 4x faster than np.lexsort: points lie in
    # [0, 1], so 2·tree + point keeps trees apart; split points closer than the key's
    # resolution (~3e-14 for 64 trees) merge into one, losing an interval of that length.
    key = trees * 2.0 + points
    order = np.argsort(key)
    sorted_key, sorted_tree, sorted_point = key[order], trees[order], points[order]
    new = np.ones(2 * n, dtype=bool)
    new[1:] = sorted_key[1:] != sorted_key[:-1]
    rank = np.empty(2 * n, dtype=np.int64)
    rank[order] = np.cumsum(new) - 1
    breaks_tree, breaks_point = sorted_tree[new], sorted_point[new]
    m = len(breaks_point)
    # Difference array: +height where a leaf's interval opens, -height where it closes.
    steps = np.bincount(rank[:n], weights=height, minlength=m) - np.bincount(rank[n:], weights=height, minlength=m)
    same = breaks_tree[1:] == breaks_tree[:-1]
    total = np.cumsum(steps)
    first = np.flatnonzero(np.concatenate([[True], ~same]))  # each tree's first break
    before = np.concatenate([[0.0], total[first[1:] - 1]])  # ~0 in exact arithmetic: restart each tree at 0
    marginal = total - np.repeat(before, np.diff(np.append(first, m)))  # on [breaks[k], breaks[k+1])
    length = np.zeros(m)
    length[:-1] = np.where(same, breaks_point[1:] - breaks_point[:-1], 0.0)
    return np.bincount(breaks_tree, weights=length * (marginal - mean[breaks_tree]) ** 2, minlength=n_trees)
