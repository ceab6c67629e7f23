"""Coarse-to-fine search: rounds of quasi-random points in a box that shrinks around the best.

Round *r* is the trials numbered ``r * round_size`` to ``(r + 1) * round_size - 1``;
trial *n* takes point ``n mod round_size`` of a scrambled Sobol sequence seeded by
``(seed, r)``, placed in round *r*'s box. The box is in unit-cube coordinates,
which are log space for log-scale parameters. Round 0's box is the whole cube;
round *r*'s is the bounding box of the best ``keep_fraction`` of round *r - 1*'s
completed trials, padded by a quarter of the typical spacing of that round's
points (an optimum just past the best points stays inside), never narrower than
``shrink_min`` of a parameter's range nor wider than the previous box, and moved
inside [0, 1] rather than cut. A categorical parameter keeps only the choices the
best trials used. Trials rank by the study's first objective; FAILED and PRUNED
ones are left out. ``grid_search`` axes are enumerated.

Everything is derived from the trial number and the record: parallel workers that
see the previous round finished use the same box. (A trial asked while the
previous round is still running uses the box from its finished trials.)
"""

from __future__ import annotations

import math
import secrets
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler
from tunesmith.trial import TrialState

__all__ = ["CoarseToFineSampler"]

_FINISHED = (int(TrialState.COMPLETE), int(TrialState.PRUNED), int(TrialState.FAILED))


@dataclass(frozen=True)
class _Box:
    """A round's search region: ``[low, high]`` per numeric parameter (unit cube), choices per categorical.

    ``low``/``high`` hold NaN at categorical positions; ``choices`` holds the allowed
    choice indices at categorical positions and None elsewhere.
    """

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    choices: tuple[tuple[int, ...] | None, ...]


class CoarseToFineSampler(Sampler):
    """Rounds of scrambled Sobol points, each round in a box shrunk around the previous round's best.

    Args:
        seed: seeds the Sobol scrambling of every round (drawn once at construction
            if None, so that copies in worker processes share it).
        round_size: trials per round (a power of two keeps Sobol's balance best).
        keep_fraction: share of a round's completed trials whose bounding box makes
            the next round's box.
        shrink_min: the narrowest a box side may get, as a fraction of the parameter's
            range, so that later rounds keep exploring a little (and integers keep
            a few values).

    >>> import tunesmith
    >>> sampler = CoarseToFineSampler(seed=0, round_size=16)
    >>> study = tunesmith.create_study(sampler=sampler)
    >>> study.optimize(lambda t: (t.suggest_float("x", 0, 10) - 7) ** 2, n_trials=64)
    >>> xs = [t.params["x"] for t in study.trials[48:]]  # round 3
    >>> 6 < min(xs) and max(xs) < 8
    True
    """

    lazy_imports = ("scipy.stats.qmc",)

    def __init__(
        self, seed: int | None = None, round_size: int = 20, keep_fraction: float = 0.2,
        shrink_min: float = 0.02,
    ) -> None:
        super().__init__(seed)
        if not (isinstance(round_size, (int, np.integer)) and not isinstance(round_size, bool) and round_size >= 2):
            raise ValueError(f"round_size must be an integer >= 2, got {round_size!r}")
        if not (isinstance(keep_fraction, (int, float)) and 0 < keep_fraction <= 1):
            raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction!r}")
        if not (isinstance(shrink_min, (int, float)) and 0 < shrink_min <= 1):
            raise ValueError(f"shrink_min must be in (0, 1] (a fraction of each range), got {shrink_min!r}")
        self._qmc_seed = self.seed if self.seed is not None else secrets.randbits(32)
        self.round_size = int(round_size)
        self.keep_fraction = float(keep_fraction)
        self.shrink_min = float(shrink_min)
        self._boxes: _Boxes | None = None
        self._points: dict[tuple[int, int], np.ndarray] = {}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {
            "seed": self._qmc_seed, "round_size": self.round_size, "keep_fraction": self.keep_fraction,
            "shrink_min": self.shrink_min,
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_boxes": None, "_points": {}}

    def __repr__(self) -> str:
        return (
            f"CoarseToFineSampler(seed={self._qmc_seed!r}, round_size={self.round_size!r}, "
            f"keep_fraction={self.keep_fraction!r}, shrink_min={self.shrink_min!r})"
        )

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        proposal = super().suggest(space, history, number, rng)
        dims = _searched(space)
        if not dims:
            return proposal
        r, k = divmod(number, self.round_size)
        box = self._box(dims, history, r)
        u = self._sobol(len(dims), r)[k]
        out: dict[str, Any] = {}
        for j, (name, dist) in enumerate(dims.items()):
            allowed = box.choices[j]
            if allowed is not None:
                assert isinstance(dist, CategoricalDistribution)
                out[name] = dist.choices[allowed[min(int(u[j] * len(allowed)), len(allowed) - 1)]]
            else:
                out[name] = dist.from_unit(float(box.low[j] + u[j] * (box.high[j] - box.low[j])))
        return {**proposal, **out}

    def _box(self, space: Mapping[str, Distribution], history: History, round_index: int) -> _Box:
        """Round ``round_index``'s box for the searched parameters of ``space`` (as the record stands)."""
        dims = _searched(space)
        key = tuple((n, d.to_json()) for n, d in dims.items())
        cache = self._boxes
        if cache is None or cache.history() is not history or cache.key != key:
            names = tuple(dims)
            cat = [isinstance(d, CategoricalDistribution) for d in dims.values()]
            full = _Box(
                names,
                np.array([np.nan if c else 0.0 for c in cat]),
                np.array([np.nan if c else 1.0 for c in cat]),
                tuple(tuple(range(len(d.choices))) if isinstance(d, CategoricalDistribution) else None
                      for d in dims.values()),
            )
            cache = self._boxes = _Boxes(weakref.ref(history), key, [full])
        if round_index < len(cache.final):
            return cache.final[round_index]
        numbers, states = history.numbers, history.states
        X = history.params_unit(dims)
        losses = history.losses[:, 0] if history.directions else np.zeros(len(numbers))
        box = cache.final[-1]
        for r in range(len(cache.final), round_index + 1):
            in_round = (numbers >= (r - 1) * self.round_size) & (numbers < r * self.round_size)
            box = self._shrink(box, X[in_round], losses[in_round], states[in_round], dims)
            finished = np.isin(states[in_round], _FINISHED)
            if len(cache.final) == r and finished.sum() == self.round_size:
                cache.final.append(box)  # its round is over: this box never changes
        return box

    def _shrink(
        self, box: _Box, X: np.ndarray, y: np.ndarray, states: np.ndarray, dims: Mapping[str, Distribution],
    ) -> _Box:
        ok = (states == int(TrialState.COMPLETE)) & np.isfinite(y)
        if not ok.any():
            return box
        X, y = X[ok], y[ok]
        n_top = max(1, math.ceil(self.keep_fraction * len(y)))
        top = X[np.argsort(y, kind="stable")[:n_top]]
        low, high = box.low.copy(), box.high.copy()
        choices = list(box.choices)
        n_numeric = sum(c is None for c in box.choices)
        # A quarter of the typical distance between the round's points along one axis: enough to keep
        # an optimum that lies just past the best points, little enough to zoom in round after round.
        pad_share = 0.25 * self.round_size ** (-1.0 / max(n_numeric, 1))
        for j, dist in enumerate(dims.values()):
            col = top[:, j][~np.isnan(top[:, j])]
            if len(col) == 0:
                continue  # a conditional parameter the best trials did not use
            if isinstance(dist, CategoricalDistribution):
                n = len(dist.choices)
                chosen = tuple(sorted({min(int(u * n), n - 1) for u in col}))
                choices[j] = chosen or choices[j]
                continue
            prev = box.high[j] - box.low[j]
            pad = pad_share * prev
            lo, hi = float(col.min()) - pad, float(col.max()) + pad
            side = min(max(hi - lo, self.shrink_min), prev)
            centre = min(max((lo + hi) / 2, side / 2), 1.0 - side / 2)
            low[j], high[j] = max(centre - side / 2, 0.0), min(centre + side / 2, 1.0)
        return _Box(box.names, low, high, tuple(choices))

    def _sobol(self, d: int, round_index: int) -> np.ndarray:
        key = (d, round_index)
        points = self._points.get(key)
        if points is None:
            from scipy.stats import qmc

            engine = qmc.Sobol(d, scramble=True, seed=np.random.default_rng([self._qmc_seed, round_index]))
            with warnings.catch_warnings():  # "balance properties" warning when round_size is not 2^k
                warnings.simplefilter("ignore")
                points = engine.random(self.round_size)
            if len(self._points) > 8:
                self._points.clear()
            self._points[key] = points
        return points


@dataclass
class _Boxes:
    history: weakref.ReferenceType[History]
    key: tuple[Any, ...]
    final: list[_Box]  # boxes of rounds whose previous round is over, from round 0


def _searched(space: Mapping[str, Distribution]) -> dict[str, Distribution]:
    """The parameters the box covers, sorted by name so that every worker orders them alike."""
    out: dict[str, Distribution] = {}
    for name in sorted(space):
        dist = space[name]
        if not dist.numeric_encoding or (isinstance(dist, CategoricalDistribution) and dist.grid):
            continue
        out[name] = dist
    return out
