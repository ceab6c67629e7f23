"""NSGA-II (Deb, Pratap, Agarwal and Meyarivan, 2002), rebuilt from the study record.

A genetic algorithm for several objectives. Trial *n* belongs to generation
``g = n // population_size``. Generation 0 is drawn at random. The parents of
generation *g*, ``P_g``, survive from ``P_{g-1}`` and the finished offspring of
generation *g - 1* (elitism, Sec. III-C of the paper): whole non-dominated fronts
first, then the least crowded members of the front that does not fit. Each child
comes from two binary tournaments on ``P_g`` (lower front wins, then larger
crowding distance), a crossover in the unit cube (simulated binary crossover for
numeric parameters, a uniform swap for categorical ones) and a mutation of each
parameter with probability ``1/d`` (polynomial, or a uniform redraw). Integer,
stepped and log-scale parameters cross and mutate in their unit-cube encoding.

Parallel workers. Only COMPLETE trials with finite values are parents; running,
failed and pruned ones are not. So ``P_g`` is a function of the record (which
trials of earlier generations had finished) and the child of trial *n* a function
of ``P_g`` and the trial's random stream: a seeded serial study reproduces exactly,
and a worker that sees the same record proposes the same child. A trial of an
earlier generation that finishes late changes the ``P`` of the later generations
from then on; nothing is kept that the record does not say.

Cost. The populations depend only on trial states and values; they are cached per
history and rebuilt from the first generation whose finished set changed, one
non-dominated sort of at most ``2 * population_size`` points per generation. A
suggestion reads the history's columns: O(n·d) with numpy, no walk over trials.

Constraints (``constraints_func``, Optuna's): survival and tournaments use Deb's
constrained domination (Deb 2000; Deb et al. 2002, Sec. VI): a feasible trial dominates an
infeasible one, and of two infeasible ones the smaller total violation wins. So the
feasible trials' fronts come first, then one front per level of violation.

Parameters first seen in a trial (define-by-run), conditional ones that neither
parent has, and every parameter of generation 0 are drawn at random
(:meth:`~tunesmith.samplers.Sampler.suggest_one`); ``grid_search`` axes are enumerated.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.history import History
from tunesmith.multi_objective import nondominated_ranks
from tunesmith.samplers._base import Sampler, check_constraints_func
from tunesmith.samplers._constraints import violations
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["NSGAIISampler"]

_CROSSOVERS = ("sbx", "uniform")
_MUTATIONS = ("polynomial", "uniform")
# Distribution indices of SBX and of polynomial mutation: 20 for both, as in Deb et al. (2002), Sec. V.
_ETA_C = 20.0
_ETA_M = 20.0
# Deb's reference code crosses each variable with probability 1/2; the others are copied.
_SBX_VARIABLE_PROB = 0.5


class NSGAIISampler(Sampler):
    """NSGA-II: non-dominated sorting, crowding distance, crossover and mutation.

    Args:
        population_size: children per generation, and parents kept between generations.
        crossover: ``"sbx"`` (simulated binary crossover, Deb and Agrawal 1995) or
            ``"uniform"`` (each parameter from either parent, as Optuna's default) for
            numeric parameters; categorical ones always take a uniform swap.
        crossover_prob: probability that a child is a crossover of two parents rather
            than a copy of the first.
        swapping_prob: in a uniform swap, the probability of taking the second parent's value.
        mutation: ``"polynomial"`` (Deb's bounded polynomial mutation of the unit-cube
            coordinate) or ``"uniform"`` (a fresh random value); categorical parameters
            are always redrawn uniformly.
        mutation_prob: per-parameter mutation probability (default ``1/d`` for ``d`` parameters).
        constraints_func: ``trial -> sequence of floats``, each ``<= 0`` where a constraint
            holds (Optuna's); computed when each trial ends and stored with it. Selection
            then uses constrained domination (feasible first, then less violation).

    >>> import tunesmith
    >>> def zdt1(trial):
    ...     x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(4)]
    ...     g = 1 + 9 * sum(x[1:]) / 3
    ...     return x[0], g * (1 - (x[0] / g) ** 0.5)
    >>> study = tunesmith.create_study(
    ...     directions=["minimize", "minimize"], sampler=NSGAIISampler(population_size=20, seed=0))
    >>> study.optimize(zdt1, n_trials=200)
    >>> len(study.pareto_front()) > 0
    True
    >>> sum(t.values[1] < 1.1 for t in study.trials) > 20  # near the true front, f2 = 1 - sqrt(f1)
    True
    """

    def __init__(
        self, seed: int | None = None, population_size: int = 50, crossover: str = "sbx",
        crossover_prob: float = 0.9, swapping_prob: float = 0.5, mutation: str = "polynomial",
        mutation_prob: float | None = None, constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        super().__init__(seed)
        if isinstance(population_size, bool) or not isinstance(population_size, (int, np.integer)) or (
                population_size < 2):
            raise ValueError(f"population_size must be an integer >= 2, got population_size={population_size!r}")
        if crossover not in _CROSSOVERS:
            raise ValueError(f"crossover must be one of {_CROSSOVERS}, got crossover={crossover!r}")
        if mutation not in _MUTATIONS:
            raise ValueError(f"mutation must be one of {_MUTATIONS}, got mutation={mutation!r}")
        for label, p in (("crossover_prob", crossover_prob), ("swapping_prob", swapping_prob),
                         ("mutation_prob", 0.0 if mutation_prob is None else mutation_prob)):
            if not (isinstance(p, (int, float)) and not isinstance(p, bool) and 0.0 <= p <= 1.0):
                raise ValueError(f"{label} must be a probability in [0, 1], got {label}={p!r}")
        self.population_size = int(population_size)
        self.crossover = crossover
        self.crossover_prob = float(crossover_prob)
        self.swapping_prob = float(swapping_prob)
        self.mutation = mutation
        self.mutation_prob = None if mutation_prob is None else float(mutation_prob)
        self.constraints_func = check_constraints_func(constraints_func)
        self._lineage: _Lineage | None = None

    def _spec_kwargs(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "population_size": self.population_size, "crossover": self.crossover,
            "crossover_prob": self.crossover_prob, "swapping_prob": self.swapping_prob,
            "mutation": self.mutation, "mutation_prob": self.mutation_prob,
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_lineage": None}

    def __repr__(self) -> str:
        return (
            f"NSGAIISampler(seed={self.seed!r}, population_size={self.population_size!r}, "
            f"crossover={self.crossover!r}, mutation={self.mutation!r})"
        )

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        proposal = super().suggest(space, history, number, rng)  # grid_search axes
        dists = {n: d for n, d in space.items() if d.numeric_encoding and n not in proposal}
        generation = number // self.population_size
        if not dists or generation == 0 or not history.directions:
            return proposal
        parents = self.population(history, generation)
        if parents is None:  # nothing of the earlier generations finished yet
            return proposal
        x = history.params_unit(dists)
        categorical = np.array([isinstance(d, CategoricalDistribution) for d in dists.values()])
        child = self._child(x[parents.rows], parents, categorical, rng)
        for (name, dist), u in zip(dists.items(), child, strict=True):
            if not np.isnan(u):
                proposal[name] = dist.from_unit(float(u))
        return proposal

    def population(self, history: History, generation: int) -> Population | None:
        """``P_generation``: the parents of that generation (None if no earlier trial finished)."""
        cache = self._lineage
        if cache is None or cache.history() is not history:
            cache = self._lineage = _Lineage(weakref.ref(history))
        numbers, states, losses = history.numbers, history.states, history.losses
        finished = (states == int(TrialState.COMPLETE)) & np.isfinite(losses).all(axis=1)
        violation = violations(history) if self.constraints_func is not None else None
        rows = np.nonzero(finished & (numbers < generation * self.population_size))[0]
        rows = rows[np.argsort(numbers[rows], kind="stable")]
        starts = np.searchsorted(numbers[rows] // self.population_size, np.arange(generation + 1))
        parents = Population(b"", np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
        for g in range(1, generation + 1):
            offspring = rows[starts[g - 1]:starts[g]]
            key = numbers[offspring].tobytes()
            if g <= len(cache.populations) and cache.populations[g - 1].key == key:
                parents = cache.populations[g - 1]
                continue
            del cache.populations[g - 1:]  # this generation and every later one change
            pool = np.concatenate([parents.rows, offspring])
            parents = _survivors(
                pool, losses[pool], self.population_size, key, None if violation is None else violation[pool],
            )
            cache.populations.append(parents)
        return parents if len(parents.rows) else None

    def _child(
        self, x: np.ndarray, parents: Population, categorical: np.ndarray, rng: np.random.Generator,
    ) -> np.ndarray:
        """One child in the unit cube from the parents' encodings ``x`` (NaN: parameter absent)."""
        first = _tournament(parents, rng, exclude=None)
        second = _tournament(parents, rng, exclude=first)
        # A parameter only one parent has (conditional, or discovered late) is inherited from it.
        p1 = np.where(np.isnan(x[first]), x[second], x[first])
        p2 = np.where(np.isnan(x[second]), x[first], x[second])
        d = len(p1)
        child = p1
        if rng.random() < self.crossover_prob:
            swap = rng.random(d) < self.swapping_prob
            child = np.where(swap, p2, p1)
            if self.crossover == "sbx":
                numeric = ~categorical
                child[numeric] = _sbx(p1[numeric], p2[numeric], rng)
        pm = 1.0 / d if self.mutation_prob is None else self.mutation_prob
        mutate = rng.random(d) < pm
        redraw = rng.random(d)
        if self.mutation == "polynomial":
            moved = _polynomial_mutation(child, rng)
            mutated = np.where(categorical, redraw, moved)
        else:
            mutated = redraw
        child = np.where(mutate & ~np.isnan(child), mutated, child)
        return np.clip(child, 0.0, 1.0)


@dataclass(frozen=True)
class Population:
    """A generation's parents: history rows, with the front and crowding distance survival gave them."""

    key: bytes  # the finished trial numbers of the previous generation it was selected with
    rows: np.ndarray
    rank: np.ndarray
    crowding: np.ndarray


@dataclass
class _Lineage:
    history: weakref.ReferenceType[History]
    populations: list[Population] = field(default_factory=list)  # populations[g - 1] is P_g


def _survivors(
    pool: np.ndarray, losses: np.ndarray, size: int, key: bytes, violation: np.ndarray | None = None,
) -> Population:
    """The ``size`` best of ``pool`` by front, then crowding distance (Deb et al. 2002, Sec. III-C);
    with ``violation``, fronts by constrained domination (:func:`constrained_ranks`)."""
    if not len(pool):
        return Population(key, pool, np.zeros(0, dtype=np.int64), np.zeros(0))
    ranks = nondominated_ranks(losses) if violation is None else constrained_ranks(losses, violation)
    crowding = np.zeros(len(pool))
    keep: list[np.ndarray] = []
    n_kept = 0
    for front in range(int(ranks.max()) + 1):
        members = np.nonzero(ranks == front)[0]
        crowding[members] = _crowding_distance(losses[members])
        if n_kept + len(members) > size:  # the front that does not fit: its least crowded members
            members = members[np.argsort(-crowding[members], kind="stable")[: size - n_kept]]
        keep.append(members)
        n_kept += len(members)
        if n_kept >= size:
            break
    chosen = np.concatenate(keep)
    return Population(key, pool[chosen], ranks[chosen], crowding[chosen])


def constrained_ranks(losses: np.ndarray, violation: np.ndarray) -> np.ndarray:
    """Fronts under constrained domination (Deb et al. 2002, Sec. VI-A): the feasible rows'
    non-dominated fronts first, then the infeasible rows, one front per level of total violation.

    >>> constrained_ranks(np.array([[1.0, 2.0], [2.0, 1.0], [0.0, 0.0], [0.0, 1.0]]),
    ...                   np.array([0.0, 0.0, 0.5, 0.2])).tolist()
    [0, 0, 2, 1]
    """
    feasible = violation <= 0
    ranks = np.empty(len(losses), dtype=int)
    top = 0
    if feasible.any():
        ranks[feasible] = nondominated_ranks(losses[feasible])
        top = int(ranks[feasible].max()) + 1
    infeasible = np.flatnonzero(~feasible)
    if len(infeasible):
        ranks[infeasible] = top + np.unique(violation[infeasible], return_inverse=True)[1].reshape(-1)
    return ranks


def _crowding_distance(f: np.ndarray) -> np.ndarray:
    """Crowding distance of each point of one front ``f`` (n, m) (Deb et al. 2002, Sec. III-B)."""
    n, m = f.shape
    if n <= 2:
        return np.full(n, np.inf)
    distance = np.zeros(n)
    for j in range(m):
        order = np.argsort(f[:, j], kind="stable")
        col = f[order, j]
        span = col[-1] - col[0]
        if span <= 0:
            continue  # an objective on which the front is flat says nothing about crowding
        distance[order[1:-1]] += (col[2:] - col[:-2]) / span
        distance[order[[0, -1]]] = np.inf  # boundary points are always kept
    return distance


def _tournament(parents: Population, rng: np.random.Generator, exclude: int | None) -> int:
    """Binary tournament with the crowded-comparison operator: lower front, then larger crowding distance."""
    skip = exclude if len(parents.rows) > 1 else None  # the first parent, when there is another
    n = len(parents.rows) - (skip is not None)
    if n == 1:
        i = j = 0
    else:  # two distinct entrants out of n
        i, j = int(rng.integers(n)), int(rng.integers(n - 1))
        j += j >= i
    if skip is not None:
        i, j = i + (i >= skip), j + (j >= skip)
    if parents.rank[i] != parents.rank[j]:
        return i if parents.rank[i] < parents.rank[j] else j
    return j if parents.crowding[j] > parents.crowding[i] else i


def _sbx(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bounded simulated binary crossover in [0, 1] (Deb and Agrawal 1995; Deb's NSGA-II code, rev. 1.1.6).

    Each variable is crossed with probability 1/2 and takes one of the two SBX children at
    random; the others keep the first parent's value.
    """
    d = len(p1)
    u, cross, pick = rng.random(d), rng.random(d) < _SBX_VARIABLE_PROB, rng.random(d) < 0.5
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        lo, hi = np.minimum(p1, p2), np.maximum(p1, p2)
        diff = hi - lo
        cross &= diff > 1e-14
        diff = np.where(cross, diff, 1.0)
        power = 1.0 / (_ETA_C + 1.0)

        def beta_q(beta: np.ndarray) -> np.ndarray:
            # The spread factor's distribution, truncated so that the child stays inside the bounds.
            alpha = 2.0 - beta ** -(_ETA_C + 1.0)
            return np.where(u <= 1.0 / alpha, (u * alpha) ** power, (1.0 / (2.0 - u * alpha)) ** power)

        c1 = 0.5 * (lo + hi - beta_q(1.0 + 2.0 * lo / diff) * diff)
        c2 = 0.5 * (lo + hi + beta_q(1.0 + 2.0 * (1.0 - hi) / diff) * diff)
    return np.where(cross, np.where(pick, c1, c2), p1)


def _polynomial_mutation(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bounded polynomial mutation of every coordinate of ``y`` in [0, 1] (Deb's NSGA-II code, rev. 1.1.6)."""
    u = rng.random(len(y))
    power = 1.0 / (_ETA_M + 1.0)
    with np.errstate(invalid="ignore"):
        low = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - y) ** (_ETA_M + 1.0)
        high = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * y ** (_ETA_M + 1.0)
        delta = np.where(u <= 0.5, low**power - 1.0, 1.0 - high**power)
    return y + delta
