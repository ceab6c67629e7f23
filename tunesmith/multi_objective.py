"""Several objectives: non-dominated sorting and the Pareto front.

>>> import numpy as np
>>> nondominated_ranks(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [3.0, 3.0]])).tolist()
[0, 0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["dominates", "hypervolume", "nondominated_ranks", "pareto_front"]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` dominates ``b``: no worse anywhere, better somewhere (lower is better)."""
    return bool(np.all(a <= b) and np.any(a < b))


def nondominated_ranks(losses: np.ndarray) -> np.ndarray:
    """Front index of each row of ``losses`` (n, m), lower is better: 0 for the Pareto front.

    Deb's fast non-dominated sort, vectorised: the dominance matrix once (O(n^2 m)),
    then each front removes its members' dominations from the counts.

    >>> nondominated_ranks(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [3.0, 3.0]])).tolist()
    [0, 0, 1, 2]
    """
    n = len(losses)
    ranks = np.full(n, -1, dtype=int)
    if n == 0:
        return ranks
    le = np.ones((n, n), dtype=bool)
    lt = np.zeros((n, n), dtype=bool)
    for k in range(losses.shape[1]):  # n x n per objective, not n x n x m at once
        col = losses[:, k]
        le &= col[:, None] <= col[None, :]
        lt |= col[:, None] < col[None, :]
    dominates_ = le & lt  # [i, j]: i dominates j
    count = dominates_.sum(axis=0)  # dominators of each row
    current = np.flatnonzero(count == 0)
    front = 0
    while current.size:
        ranks[current] = front
        count = count - dominates_[current].sum(axis=0)
        count[ranks >= 0] = -1
        current = np.flatnonzero(count == 0)
        front += 1
    return ranks


def pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[str]) -> list[FrozenTrial]:
    """The COMPLETE trials no other COMPLETE trial dominates, in trial order."""
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    done = [
        t for t in trials
        if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == len(signs)
        and not np.isnan(t.values).any()
    ]
    if not done:
        return []
    losses = np.array([t.values for t in done], dtype=float) * signs
    ranks = nondominated_ranks(losses)
    return [t for t, r in zip(done, ranks, strict=True) if r == 0]


def hypervolume(points: np.ndarray, ref: tuple[float, float]) -> float:
    """Area dominated by the rows of ``points`` (two objectives, both minimised) below ``ref``.

    A sweep along the first objective, O(n log n).

    >>> hypervolume(np.array([[0.0, 0.5], [0.5, 0.0]]), (1.0, 1.0))
    0.75
    """
    p = points[(points < np.array(ref)).all(axis=1)]
    p = p[np.lexsort((p[:, 1], p[:, 0]))]
    area, level = 0.0, ref[1]
    for f1, f2 in p:
        if f2 < level:
            area += (ref[0] - f1) * (level - f2)
            level = f2
    return float(area)
