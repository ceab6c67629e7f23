"""Exhaustive grid search."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler, grid_index, grid_point

__all__ = ["GridSampler"]


class GridSampler(Sampler):
    """Every combination of the finite axes, each once (per repeat).

    The axes are the ``grid_search`` and ``choice`` parameters of the space, or the
    lists given in ``search_space`` (needed for define-by-run objectives). Trial *k*
    takes point *k*: with several workers no point runs twice and none is skipped.
    Continuous parameters, if any, are drawn at random.

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=GridSampler({"x": [0, 1, 2], "y": ["a", "b"]}))
    >>> study.optimize(lambda t: t.suggest_int("x", 0, 2) + len(t.suggest_categorical("y", ["a", "b"])))
    >>> len(study.trials)
    6
    """

    def __init__(self, search_space: Mapping[str, Sequence[Any]] | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        self.search_space = None
        self._lists = None if search_space is None else {n: list(v) for n, v in search_space.items()}
        if search_space is not None:
            for name, values in search_space.items():
                if len(values) == 0:
                    raise ValueError(f"parameter {name!r}: the grid needs at least one value, got []")
            self.search_space = {n: CategoricalDistribution(tuple(v), grid=True) for n, v in search_space.items()}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"search_space": self._lists, "seed": self.seed}

    def _axes(self, space: Mapping[str, Distribution]) -> dict[str, CategoricalDistribution]:
        if self.search_space is not None:
            return self.search_space
        return {n: d for n, d in space.items() if isinstance(d, CategoricalDistribution)}

    def max_trials(self, space: Mapping[str, Distribution]) -> int | None:
        axes = self._axes(space)
        return math.prod(len(d.choices) for d in axes.values()) if axes else None

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        axes = self._axes(space)
        return grid_point(axes, grid_index(history, number)) if axes else {}
