"""Several objectives: non-dominated sorting and the Pareto front.

>>> import numpy as np
>>> nondominated_ranks(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [3.0, 3.0]])).tolist()
[0, 0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["dominates", "nondominated_ranks", "pareto_front"]


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether loss vector ``a`` dominates ``b``: no worse anywhere, better somewhere (lower is better)."""
    return bool(np.all(a <= b) and np.any(a < b))


def nondominated_ranks(losses: np.ndarray) -> np.ndarray:
    """Front index of each row of ``losses`` (n, m), lower is better: 0 for the Pareto front.

    Peels fronts with vectorised dominance checks: O(n^2 m) per front at worst.
    """
    n = len(losses)
    ranks = np.full(n, -1, dtype=int)
    remaining = np.arange(n)
    front = 0
    while remaining.size:
        sub = losses[remaining]
        # dominated[i] = some j dominates i
        le = (sub[:, None, :] <= sub[None, :, :]).all(axis=2)
        lt = (sub[:, None, :] < sub[None, :, :]).any(axis=2)
        dominated = (le & lt).any(axis=0)
        ranks[remaining[~dominated]] = front
        remaining = remaining[dominated]
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
