"""Samplers written against Optuna's ``BaseSampler`` interface, run by tunesmith.

A subclass implements Optuna's three methods; tunesmith calls them with views of
its history that have Optuna's reading surface (``study.get_trials(states=...)``,
``study.direction(s)``, ``trial.number``, ``trial.params``, ``frozen.value(s)``)::

    class RandomWalk(tunesmith.samplers.BaseSampler):
        def infer_relative_search_space(self, study, trial):
            return intersection_search_space(study.get_trials(states=[TrialState.COMPLETE]))

        def sample_relative(self, study, trial, search_space):
            ...  # a dict of values for (some of) search_space

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._rng.uniform(param_distribution.low, param_distribution.high)

>>> import tunesmith
>>> class Lowest(BaseSampler):
...     def infer_relative_search_space(self, study, trial):
...         return {}
...     def sample_relative(self, study, trial, search_space):
...         return {}
...     def sample_independent(self, study, trial, param_name, param_distribution):
...         return param_distribution.low
>>> study = tunesmith.create_study(sampler=Lowest())
>>> study.optimize(lambda t: t.suggest_float("x", 2, 3), n_trials=2)
>>> study.best_params
{'x': 2.0}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from tunesmith.distributions import Distribution
from tunesmith.history import History
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.samplers._base import Sampler

__all__ = ["BaseSampler", "intersection_search_space"]


class HistoryStudy:
    """What an Optuna-style sampler reads of the study: its trials (parameters as the objective saw them)."""

    def __init__(self, history: History, space: Mapping[str, Distribution]) -> None:
        self._history = history
        self._space = space
        self.directions = list(history.directions)

    @property
    def direction(self) -> str:
        if len(self.directions) != 1:
            raise RuntimeError("this study has several objectives; use .directions")
        return self.directions[0]

    def get_trials(self, deepcopy: bool = False, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        wanted = None if states is None else set(states)
        out = []
        for t in self._history.trials:
            if wanted is not None and t.state not in wanted:
                continue
            dists = {n: self._space[n] for n in t.internal_params if n in self._space}
            out.append(t.evolve(params={n: d.to_external(t.internal_params[n]) for n, d in dists.items()},
                                distributions=dists))
        return sorted(out, key=lambda t: t.number)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


class TrialView:
    """The trial being sampled: its number and the parameters drawn so far."""

    def __init__(self, number: int, params: Mapping[str, Any]) -> None:
        self.number = number
        self.params = dict(params)


class BaseSampler(Sampler):
    """Optuna's sampler interface: override ``infer_relative_search_space``, ``sample_relative``
    and ``sample_independent``.

    ``self._rng`` (a ``numpy.random.RandomState``, as in Optuna's samplers) is drawn
    afresh for each trial from the study's seed and the trial's number, so a seeded
    study reproduces, and copies in worker processes draw what this one would.
    """

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(seed)
        self._rng = np.random.RandomState(seed)

    def infer_relative_search_space(self, study: HistoryStudy, trial: TrialView) -> dict[str, Distribution]:
        """The parameters :meth:`sample_relative` draws together (default: none)."""
        return {}

    def sample_relative(
        self, study: HistoryStudy, trial: TrialView, search_space: Mapping[str, Distribution],
    ) -> dict[str, Any]:
        """Values for (some of) ``search_space``, drawn together (default: none)."""
        return {}

    def sample_independent(
        self, study: HistoryStudy, trial: TrialView, param_name: str, param_distribution: Distribution,
    ) -> Any:
        """A value for one parameter outside the relative search space."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample_independent")

    def reseed_rng(self) -> None:
        self._rng = np.random.RandomState()

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        self._rng = np.random.RandomState(int(rng.integers(2**32)))
        proposal = super().suggest(space, history, number, rng)  # grid_search axes
        study, trial = HistoryStudy(history, space), TrialView(number, proposal)
        relative = self.infer_relative_search_space(study, trial)
        if relative:
            proposal = {**self.sample_relative(study, trial, relative), **proposal}
        return proposal

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        self._rng = np.random.RandomState(int(rng.integers(2**32)))
        # The trials as this parameter's sampler sees them: with this parameter's values.
        study = HistoryStudy(history, {name: distribution})
        return self.sample_independent(study, TrialView(number, params), name, distribution)


def intersection_search_space(trials: Iterable[FrozenTrial]) -> dict[str, Distribution]:
    """The parameters every given trial has, with the same distribution in each (Optuna's helper).

    >>> from tunesmith.distributions import FloatDistribution
    >>> x, y = FloatDistribution(0, 1), FloatDistribution(0, 2)
    >>> a = FrozenTrial(0, TrialState.COMPLETE, distributions={"x": x, "y": y})
    >>> b = FrozenTrial(1, TrialState.COMPLETE, distributions={"x": x})
    >>> list(intersection_search_space([a, b]))
    ['x']
    """
    common: dict[str, Distribution] | None = None
    for t in trials:
        if common is None:
            common = dict(t.distributions)
        else:
            common = {n: d for n, d in common.items() if t.distributions.get(n) == d}
    return dict(sorted((common or {}).items()))
