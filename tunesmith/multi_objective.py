"""Several objectives: non-dominated sorting and the Pareto front; feasibility under constraints.

A trial whose stored constraint values (``FrozenTrial.constraints``) are not all ``<= 0``
is infeasible: neither the Pareto front nor the best trial includes it. A trial without
constraint values counts as feasible (Optuna's rule).

>>> import numpy as np
>>> nondominated_ranks(np.array([[1.0, 2.0], [2.0, 1.0], [2.0, 2.0], [3.0, 3.0]])).tolist()
[0, 0, 1, 2]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from tunesmith.trial import FrozenTrial, TrialState

__all__ = [
    "best_feasible",
    "dominates",
    "hypervolume",
    "hypervolume_contributions",
    "is_feasible",
    "nondominated_ranks",
    "pareto_front",
]


def is_feasible(trial: FrozenTrial) -> bool:
    """Whether every stored constraint value of ``trial`` is ``<= 0`` (True without values)."""
    constraints = trial.constraints
    return constraints is None or all(c <= 0 for c in constraints)


def best_feasible(trials: Iterable[FrozenTrial], maximize: bool) -> FrozenTrial | None:
    """The feasible COMPLETE trial with the best first value (the lowest number among equals); None if none."""
    best: FrozenTrial | None = None
    for t in sorted(trials, key=lambda t: t.number):
        if t.state != TrialState.COMPLETE or not t.values or math.isnan(t.values[0]) or not is_feasible(t):
            continue
        if best is None or (t.values[0] > best.values[0] if maximize else t.values[0] < best.values[0]):  # type: ignore[index]
            best = t
    return best


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
    """The feasible COMPLETE trials no other feasible COMPLETE trial dominates, in trial order."""
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    done = [
        t for t in trials
        if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == len(signs)
        and not np.isnan(t.values).any() and is_feasible(t)
    ]
    if not done:
        return []
    losses = np.array([t.values for t in done], dtype=float) * signs
    ranks = nondominated_ranks(losses)
    return [t for t, r in zip(done, ranks, strict=True) if r == 0]


def hypervolume(points: np.ndarray, ref: Sequence[float] | np.ndarray) -> float:
    """Volume dominated by the rows of ``points`` (all objectives minimised) and bounded by ``ref``.

    Two objectives: a sweep along the first, O(n log n). More: slices along the last
    objective, each a hypervolume one dimension lower (exact; fine for the tens of
    points a sampler weighs).

    >>> hypervolume(np.array([[0.0, 0.5], [0.5, 0.0]]), (1.0, 1.0))
    0.75
    >>> hypervolume(np.array([[0.0, 0.0, 0.5], [0.5, 0.5, 0.0]]), (1.0, 1.0, 1.0))
    0.625
    """
    ref_ = np.asarray(ref, dtype=float)
    p = np.asarray(points, dtype=float).reshape(-1, len(ref_))
    return _hypervolume(p[(p < ref_).all(axis=1)], ref_)


def _hypervolume(p: np.ndarray, ref: np.ndarray) -> float:
    if len(p) == 0:
        return 0.0
    if len(ref) == 1:
        return float(ref[0] - p[:, 0].min())
    if len(ref) == 2:
        p = p[np.lexsort((p[:, 1], p[:, 0]))]
        area, level = 0.0, ref[1]
        for f1, f2 in p:
            if f2 < level:
                area += (ref[0] - f1) * (level - f2)
                level = f2
        return float(area)
    p = p[np.argsort(p[:, -1], kind="stable")]
    volume = 0.0
    for i in range(len(p)):  # the slab from p[i]'s last objective to the next point's (or ref's)
        top = p[i + 1, -1] if i + 1 < len(p) else ref[-1]
        if top > p[i, -1]:
            volume += (top - p[i, -1]) * _hypervolume(p[: i + 1, :-1], ref[:-1])
    return float(volume)


def hypervolume_contributions(points: np.ndarray, ref: Sequence[float] | np.ndarray) -> np.ndarray:
    """How much hypervolume each row of ``points`` adds: HV(all) - HV(all but that row); 0 if dominated.

    >>> hypervolume_contributions(np.array([[0.0, 0.5], [0.5, 0.0], [0.6, 0.6]]), (1.0, 1.0)).tolist()
    [0.25, 0.25, 0.0]
    """
    total = hypervolume(points, ref)
    keep = np.ones(len(points), dtype=bool)
    out = np.empty(len(points))
    for i in range(len(points)):
        keep[i] = False
        out[i] = total - hypervolume(points[keep], ref)
        keep[i] = True
    return np.maximum(out, 0.0)
