"""Exhaustive grid search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, build, check_name
from tunesmith.history import History
from tunesmith.samplers._base import Sampler
from tunesmith.space import grid_search

__all__ = ["GridSampler"]


class GridSampler(Sampler):
    """Every combination of the finite axes, each once (per repeat).

    The axes are the ``grid_search`` and ``choice`` parameters of the space (taken in
    name order), or the lists given in ``search_space`` (needed for a define-by-run
    objective to know its grid from the first trial on; a config's ``grid_search``
    axes are crossed with them). Trial *k* takes point *k*: with several workers no
    point runs twice and none is skipped; a resumed study runs the points its trials
    have not taken (:func:`~tunesmith.samplers._base.next_grid_point`). Continuous
    parameters, if any, are drawn at random.

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=GridSampler({"x": [0, 1, 2], "y": ["a", "b"]}))
    >>> study.optimize(lambda t: t.suggest_int("x", 0, 2) + len(t.suggest_categorical("y", ["a", "b"])))
    >>> len(study.trials)
    6
    """

    def __init__(self, search_space: Mapping[str, Sequence[Any]] | None = None, seed: int | None = None) -> None:
        super().__init__(seed)
        self.search_space: dict[str, CategoricalDistribution] | None = None
        self._lists = None
        if search_space is not None:
            for name in search_space:
                check_name(name)
            self.search_space = {n: build(n, grid_search, v) for n, v in search_space.items()}
            self._lists = {n: list(d.choices) for n, d in self.search_space.items()}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"search_space": self._lists, "seed": self.seed}

    def grid_axes(self, space: Mapping[str, Distribution]) -> dict[str, CategoricalDistribution]:
        """``search_space``'s lists and the space's ``grid_search`` axes, else every categorical axis."""
        if self.search_space is None:
            # By name: a study reopened from storage (a resumed run, a worker process) may
            # list its distributions in another order than the objective first asked for them.
            return {n: d for n, d in sorted(space.items()) if isinstance(d, CategoricalDistribution)}
        extra = {n: d for n, d in super().grid_axes(space).items() if n not in self.search_space}
        return {**self.search_space, **extra}

    def max_trials(self, space: Mapping[str, Distribution]) -> int | None:
        return self.grid_size(space) if self.grid_axes(space) else None

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        if self.search_space is None and isinstance(distribution, CategoricalDistribution):
            # An axis the study did not know when the trial started (a define-by-run
            # objective's first trial): its first value, as grid point 0 has.
            return distribution.choices[0]
        return super().suggest_one(name, distribution, history, number, rng, params)
