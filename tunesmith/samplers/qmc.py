"""Quasi-random search with a scrambled Sobol sequence."""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from tunesmith.distributions import Distribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler

__all__ = ["QMCSampler"]

_MAX_DIMS = 64


class QMCSampler(Sampler):
    """Scrambled Sobol points: trial *n* takes point *n*, so workers never collide.

    Each parameter gets a fixed coordinate of a 64-dimensional scrambled Sobol
    sequence, in the order parameters are first seen; parameters beyond the 64th are
    drawn at random. Without a seed one is drawn once, at construction, so that
    copies of the sampler in worker processes share the same sequence.

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=QMCSampler(seed=1))
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)
    >>> sorted(int(t.params["x"] * 4) for t in study.trials)  # one point per quarter
    [0, 1, 2, 3]
    """

    lazy_imports = ("scipy.stats.qmc",)

    def __init__(self, seed: int | None = None, scramble: bool = True) -> None:
        super().__init__(seed)
        self._qmc_seed = self.seed if self.seed is not None else secrets.randbits(32)
        self.scramble = scramble
        self._dims: dict[str, int] = {}
        self._engine: Any = None
        self._point: tuple[int, np.ndarray] | None = None

    def _spec_kwargs(self) -> dict[str, Any]:
        # The drawn seed too: every worker must walk the same sequence.
        return {"seed": self._qmc_seed, "scramble": self.scramble}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_engine": None, "_point": None}

    def _coordinate(self, name: str, number: int) -> float | None:
        dim = self._dims.setdefault(name, len(self._dims))
        if dim >= _MAX_DIMS:
            return None
        if self._point is None or self._point[0] != number:
            if self._engine is None:
                from scipy.stats import qmc

                self._engine = qmc.Sobol(_MAX_DIMS, scramble=self.scramble, seed=self._qmc_seed)
            self._engine.reset()
            with warnings.catch_warnings():  # "balance properties" warning for non-2^k prefixes
                warnings.simplefilter("ignore")
                if number:
                    self._engine.fast_forward(number)
                self._point = (number, self._engine.random(1)[0])
        return float(self._point[1][dim])

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        u = self._coordinate(name, number) if distribution.numeric_encoding else None
        if u is None:
            return distribution.sample(rng)
        return distribution.from_unit(u)
