"""A sampler written against Optuna's BaseSampler interface passes tunesmith's sampler contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tunesmith
from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from tunesmith.samplers import BaseSampler, intersection_search_space
from tunesmith.testing import SamplerConformance
from tunesmith.trial import TrialState


class NearBest(BaseSampler):
    """Optuna-style: perturb the best complete trial's numeric parameters; others at random."""

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Distribution]:
        space = intersection_search_space(study.get_trials(states=[TrialState.COMPLETE]))
        return {n: d for n, d in space.items() if isinstance(d, FloatDistribution) and d.step is None and not d.log}

    def sample_relative(self, study: Any, trial: Any, search_space: Mapping[str, Distribution]) -> dict[str, Any]:
        done = [t for t in study.get_trials(states=[TrialState.COMPLETE]) if t.values and t.values[0] == t.values[0]]
        if not done or not search_space or len(study.directions) != 1:
            return {}
        best = (min if study.direction == "minimize" else max)(done, key=lambda t: t.values[0])
        out = {}
        for name, dist in search_space.items():
            assert isinstance(dist, FloatDistribution)
            width = (dist.high - dist.low) * 0.1
            out[name] = float(min(dist.high, max(dist.low, best.params[name] + self._rng.normal(0, width))))
        return out

    def sample_independent(self, study: Any, trial: Any, param_name: str, param_distribution: Distribution) -> Any:
        d = param_distribution
        if isinstance(d, CategoricalDistribution):
            return d.choices[self._rng.randint(len(d.choices))]
        if isinstance(d, (FloatDistribution, IntDistribution)) and not d.log and d.step in (None, 1):
            value = self._rng.uniform(d.low, d.high)
            return round(value) if isinstance(d, IntDistribution) else float(value)
        return d.sample(self._rng_as_generator())

    def _rng_as_generator(self) -> Any:
        import numpy as np

        return np.random.default_rng(self._rng.randint(2**31))


class TestOptunaStyleSampler(SamplerConformance):
    multi_objective = True
    repeats_values = True  # a perturbation past a bound is clipped onto it

    def make_sampler(self, seed: int | None) -> NearBest:
        return NearBest(seed=seed)


def test_it_optimizes_with_the_views_it_is_given() -> None:
    study = tunesmith.create_study(sampler=NearBest(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=60)
    assert abs(study.best_params["x"] - 1) < 0.3
