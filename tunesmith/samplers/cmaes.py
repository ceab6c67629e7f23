"""CMA-ES in the unit cube, with IPOP restarts, rebuilt from the study record.

The algorithm itself (sampling, the rank-one/rank-mu covariance update, step-size
control, termination tests, and the margin that keeps integer coordinates from
freezing) is CyberAgent's ``cmaes`` package: a few hundred lines of numpy that
follow Hansen's tutorial equation by equation, are maintained, and are what
Optuna's CMA-ES sampler runs on, so we gain nothing by writing it again. What
this module adds is the part a study needs: a deterministic mapping from trial
numbers to candidates, and a replay of the record, so that any worker process
reaches the same optimizer state.

How trials become generations. The optimizer's state at generation *g* is the
result of telling it generations ``0..g-1``; it is rebuilt by replaying the
history (and cached in the process, since a told generation never changes).
Candidate *i* of generation *g* of restart *r* is drawn with a random stream
seeded by ``(seed, r, g, i)``; a trial numbered *n* asked while generation *g*
(whose first possible trial number is ``start``) is the newest one gets candidate
``n - start``. Replaying, a trial is a *member* of generation *g* when its
parameters are that candidate's; the generation is told once its first
``popsize`` members (by trial number) are finished, and the next generation
starts after the last of them. Trials that are not members (random start-up
trials, enqueued ones, extra candidates asked by parallel workers while a
generation was still running) are evaluated but not told, as in Optuna. A trial
whose parameters are not recorded yet, or a running member, stops the replay
there, and so does a gap in the numbering: no worker tells a generation that
another could later see differently. The price is that a slow member holds its
generation back; meanwhile the other workers evaluate extra candidates of it.

Failures. A FAILED or PRUNED member (or one with an infinite value) is told as
worse than every completed member of its generation: CMA-ES only uses ranks, and
this moves the search away from parameters that break the objective.

Integers. Linear integer and stepped float parameters use CMA-ES with margin
(``CMAwM``) when ``with_margin`` is true; otherwise, and for log-scale integers,
the continuous coordinate is rounded by the distribution. Categorical parameters
are not part of the search: they are drawn at random (``suggest_one``), as in
Optuna's CMA-ES sampler; ``grid_search`` axes are enumerated.
"""

from __future__ import annotations

import math
import secrets
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
)
from tunesmith.history import History
from tunesmith.samplers._base import Sampler
from tunesmith.trial import TrialState

if TYPE_CHECKING:
    from cmaes import CMA, CMAwM

__all__ = ["CmaEsSampler"]

_RESTART_STRATEGIES = (None, "ipop")
# Two encodings of one value differ by float round-off only (to_unit(from_unit(u))).
_MATCH_TOL = 1e-9
_FINISHED = (int(TrialState.COMPLETE), int(TrialState.PRUNED), int(TrialState.FAILED))
# Stream tags, so that restart means and candidates never share a random stream.
_MEAN_STREAM, _CANDIDATE_STREAM = 0, 1


class CmaEsSampler(Sampler):
    """CMA-ES over the numeric parameters, with IPOP restarts; parallel workers agree.

    Args:
        seed: seeds every candidate (drawn once at construction if None, so that
            copies of the sampler in worker processes walk the same sequence).
        sigma0: initial step size in the unit cube (default 1/6: a sixth of each
            parameter's range, as in Optuna).
        popsize: candidates per generation (default ``4 + floor(3 ln d)``).
        n_startup_trials: trials numbered below this are drawn at random (a
            define-by-run objective declares its parameters in the first one).
        restart_strategy: ``"ipop"`` restarts from a random mean with ``popsize *
            inc_popsize`` once the search has converged or stalls (the ``cmaes``
            package's termination tests); ``None`` never restarts.
        inc_popsize: growth factor of the population at each restart.
        with_margin: CMA-ES with margin for linear integer and stepped float
            parameters, so that they keep being explored once the search narrows.

    After a suggestion, ``restart_``, ``generation_`` and ``population_size_`` give
    the state it came from (None before the first CMA-ES suggestion).

    >>> import tunesmith
    >>> def sphere(trial):
    ...     return sum((trial.suggest_float(f"x{i}", -5, 5) - 1) ** 2 for i in range(3))
    >>> study = tunesmith.create_study(sampler=CmaEsSampler(seed=0))
    >>> study.optimize(sphere, n_trials=120)
    >>> study.best_value < 0.5
    True
    """

    def __init__(
        self, seed: int | None = None, sigma0: float | None = None, popsize: int | None = None,
        n_startup_trials: int = 1, restart_strategy: str | None = "ipop", inc_popsize: int = 2,
        with_margin: bool = True,
    ) -> None:
        super().__init__(seed)
        if sigma0 is not None and not (isinstance(sigma0, (int, float)) and 0 < sigma0 <= 1):
            raise ValueError(f"sigma0 must be in (0, 1] (a fraction of each parameter's range), got {sigma0!r}")
        if popsize is not None and not (_is_int(popsize) and popsize >= 2):
            raise ValueError(f"popsize must be an integer >= 2 or None, got {popsize!r}")
        if not (_is_int(n_startup_trials) and n_startup_trials >= 0):
            raise ValueError(f"n_startup_trials must be a non-negative integer, got {n_startup_trials!r}")
        if restart_strategy not in _RESTART_STRATEGIES:
            raise ValueError(f"restart_strategy must be one of {_RESTART_STRATEGIES}, got {restart_strategy!r}")
        if not (_is_int(inc_popsize) and inc_popsize >= 1):
            raise ValueError(f"inc_popsize must be an integer >= 1, got {inc_popsize!r}")
        self._cma_seed = self.seed if self.seed is not None else secrets.randbits(32)
        self.sigma0 = None if sigma0 is None else float(sigma0)
        self.popsize = None if popsize is None else int(popsize)
        self.n_startup_trials = int(n_startup_trials)
        self.restart_strategy = restart_strategy
        self.inc_popsize = int(inc_popsize)
        self.with_margin = bool(with_margin)
        self.restart_: int | None = None
        self.generation_: int | None = None
        self.population_size_: int | None = None
        self._cache: _Replay | None = None
        _optimizers()

    def _spec_kwargs(self) -> dict[str, Any]:
        # The drawn seed too: every worker must draw the same candidates.
        return {
            "seed": self._cma_seed, "sigma0": self.sigma0, "popsize": self.popsize,
            "n_startup_trials": self.n_startup_trials, "restart_strategy": self.restart_strategy,
            "inc_popsize": self.inc_popsize, "with_margin": self.with_margin,
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_cache": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        _optimizers()  # in a new worker process: import now, not while its first trial is RUNNING

    def __repr__(self) -> str:
        return (
            f"CmaEsSampler(seed={self._cma_seed!r}, sigma0={self.sigma0!r}, popsize={self.popsize!r}, "
            f"restart_strategy={self.restart_strategy!r})"
        )

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        proposal = super().suggest(space, history, number, rng)
        if len(history.directions) != 1:
            raise ValueError(
                f"CmaEsSampler optimizes one objective; this study has {len(history.directions)} "
                f"({history.directions}); use RandomSampler or QMCSampler"
            )
        box = _UnitBox.of(space, self.with_margin)
        if box is None or number < self.n_startup_trials:
            return proposal
        gen = self._replay(box, history, number)
        self.restart_, self.generation_, self.population_size_ = gen.restart, gen.generation, gen.popsize
        if number < gen.start:  # an old trial run again: it keeps its recorded parameters anyway
            return proposal
        cand = self._candidate(gen, number - gen.start)
        coords = zip(box.names, box.dists, cand.x_eval, strict=True)
        values = {name: dist.from_unit(float(u)) for name, dist, u in coords}
        return {**proposal, **values}

    # -- replay -----------------------------------------------------------------------
    def _replay(self, box: _UnitBox, history: History, number: int) -> _Generation:
        """The generation trial ``number`` belongs to, after telling every generation the record completes."""
        cache = self._cache
        if cache is None or cache.history() is not history or cache.key != box.key:
            first = self._new_generation(box, restart=0, generation=0, start=self.n_startup_trials,
                                         popsize=self.popsize)
            cache = self._cache = _Replay(weakref.ref(history), box.key, first)
        gen = cache.gen
        numbers, states = history.numbers, history.states
        X = history.params_unit(box.as_mapping())
        losses = history.losses[:, 0]
        rows = np.nonzero(numbers >= gen.next_number)[0]
        rows = rows[np.argsort(numbers[rows], kind="stable")]
        for row in rows:
            n = int(numbers[row])
            if n != gen.next_number or n == number:
                break  # a number not visible yet, or the asking trial: both still unknown
            verdict = self._membership(gen, n, X[row], int(states[row]))
            if verdict == _BLOCK:
                break
            gen.next_number = n + 1
            if verdict == _MEMBER:
                y = float(losses[row])
                ok = states[row] == int(TrialState.COMPLETE) and math.isfinite(y)
                gen.members.append((self._candidate(gen, n - gen.start).x_tell, y if ok else None))
                if len(gen.members) == gen.popsize:
                    gen = cache.gen = self._tell(box, gen, next_start=n + 1)
        return gen

    def _membership(self, gen: _Generation, n: int, x: np.ndarray, state: int) -> int:
        present = ~np.isnan(x)
        finished = state in _FINISHED
        if present.any():
            cand = self._candidate(gen, n - gen.start)
            if not np.all(np.abs(x[present] - cand.unit[present]) <= _MATCH_TOL):
                return _OTHER  # recorded parameters never change: not this generation's candidate
            return _MEMBER if finished else _BLOCK
        return _OTHER if finished else _BLOCK  # none recorded: finished without them, or not yet flushed

    def _candidate(self, gen: _Generation, index: int) -> _Candidate:
        cand = gen.candidates.get(index)
        if cand is None:
            gen.optimizer.reseed_rng(_seed32(self._cma_seed, _CANDIDATE_STREAM, gen.restart, gen.generation, index))
            asked = gen.optimizer.ask()
            x_eval, x_tell = asked if isinstance(asked, tuple) else (asked, asked)
            unit = np.array([d.to_unit(d.from_unit(float(u))) for d, u in zip(gen.dists, x_eval, strict=True)])
            cand = gen.candidates[index] = _Candidate(x_eval, x_tell, unit)
        return cand

    def _tell(self, box: _UnitBox, gen: _Generation, next_start: int) -> _Generation:
        ys = [y for _, y in gen.members if y is not None]
        # Failed/pruned members rank below every completed one (CMA-ES uses ranks only).
        worst = (max(ys) + (max(ys) - min(ys)) + 1.0) if ys else 0.0
        gen.optimizer.tell([(x, worst if y is None else y) for x, y in gen.members])
        if self.restart_strategy == "ipop" and gen.optimizer.should_stop():
            return self._new_generation(box, gen.restart + 1, gen.generation + 1, next_start,
                                        gen.popsize * self.inc_popsize)
        return _Generation(gen.optimizer, gen.dists, gen.restart, gen.generation + 1, next_start, gen.popsize)

    def _new_generation(
        self, box: _UnitBox, restart: int, generation: int, start: int, popsize: int | None,
    ) -> _Generation:
        cma, cma_with_margin = _optimizers()
        lo, hi = box.bounds[:, 0], box.bounds[:, 1]
        if restart == 0:
            mean = np.clip(np.full(len(lo), 0.5), lo, hi)
        else:  # IPOP: a fresh start anywhere in the box
            mean = lo + (hi - lo) * np.random.default_rng([self._cma_seed, _MEAN_STREAM, restart]).random(len(lo))
        sigma = 1.0 / 6.0 if self.sigma0 is None else self.sigma0
        optimizer: CMA | CMAwM
        if self.with_margin and np.any(box.steps > 0):
            optimizer = cma_with_margin(mean=mean, sigma=sigma, bounds=box.bounds, steps=box.steps, seed=0,
                                        population_size=popsize)
        else:
            optimizer = cma(mean=mean, sigma=sigma, bounds=box.bounds, seed=0, population_size=popsize)
        return _Generation(optimizer, box.dists, restart, generation, start, optimizer.population_size)


_MEMBER, _OTHER, _BLOCK = 0, 1, 2


@dataclass
class _Candidate:
    x_eval: np.ndarray  # the point evaluated (integer coordinates on their values)
    x_tell: np.ndarray  # the point the optimizer learns from
    unit: np.ndarray  # x_eval as the history encodes the parameters it becomes


@dataclass
class _Generation:
    """An optimizer at a generation not yet told, and what the replay has settled about it."""

    optimizer: CMA | CMAwM
    dists: tuple[Distribution, ...]
    restart: int
    generation: int
    start: int  # the first trial number that can hold one of its candidates
    popsize: int
    candidates: dict[int, _Candidate] = field(default_factory=dict)
    members: list[tuple[np.ndarray, float | None]] = field(default_factory=list)  # finished, by number
    next_number: int = -1  # first trial not yet classified

    def __post_init__(self) -> None:
        if self.next_number < 0:
            self.next_number = self.start


@dataclass
class _Replay:
    history: weakref.ReferenceType[History]
    key: tuple[Any, ...]
    gen: _Generation


@dataclass(frozen=True)
class _UnitBox:
    """The numeric parameters CMA-ES searches, in a fixed (sorted) order, with their unit-cube bounds."""

    names: tuple[str, ...]
    dists: tuple[Distribution, ...]
    bounds: np.ndarray  # (d, 2)
    steps: np.ndarray  # (d,): grid spacing of a discrete coordinate, 0 if continuous

    @property
    def key(self) -> tuple[Any, ...]:
        return self.names, tuple(d.to_json() for d in self.dists)

    def as_mapping(self) -> dict[str, Distribution]:
        return dict(zip(self.names, self.dists, strict=True))

    @classmethod
    def of(cls, space: Mapping[str, Distribution], with_margin: bool) -> _UnitBox | None:
        names, dists, bounds, steps = [], [], [], []
        for name in sorted(space):
            dist = space[name]
            if isinstance(dist, CategoricalDistribution) or not dist.numeric_encoding:
                continue
            n_values = _n_values(dist)
            if n_values == 1:
                continue
            lo, hi, step = 0.0, 1.0, 0.0
            if with_margin and n_values is not None:
                if isinstance(dist, IntDistribution):  # values at the centres of n equal bins
                    lo, hi, step = 0.5 / n_values, 1.0 - 0.5 / n_values, 1.0 / n_values
                else:  # stepped float: values at k / (n - 1)
                    step = 1.0 / (n_values - 1)
            names.append(name)
            dists.append(dist)
            bounds.append((lo, hi))
            steps.append(step)
        if not names:
            return None
        return cls(tuple(names), tuple(dists), np.array(bounds, dtype=float), np.array(steps, dtype=float))


def _n_values(dist: Distribution) -> int | None:
    """How many values a linear discrete parameter takes (None: continuous or log-scale)."""
    if isinstance(dist, IntDistribution):
        if dist.log:
            return 1 if dist.low == dist.high else None
        return (dist.high - dist.low) // dist.step + 1
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        if dist.log:
            return 1 if dist.low == dist.high else None
        return round((dist.high - dist.low) / dist.step) + 1
    return None


def _optimizers() -> tuple[type[CMA], type[CMAwM]]:
    # Importing cmaes imports scipy.stats (about a second). The sampler does it when it is built or
    # unpickled in a worker: a trial that waits on it RUNNING holds its generation back for everyone.
    from cmaes import CMA, CMAwM

    return CMA, CMAwM


def _seed32(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)
