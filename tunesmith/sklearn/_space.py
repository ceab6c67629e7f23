"""scikit-learn parameter spaces as a tunesmith search space, and the way back to estimator parameters.

``param_distributions`` (a dict, or a list of dicts of which each candidate takes one) may hold
lists, scipy.stats distributions (frozen, or anything with ``rvs``) and tunesmith distributions;
``param_grid`` (a dict or a list of dicts) holds lists, as for ``GridSearchCV``.

Uniform, log-uniform, randint and normal scipy distributions become tunesmith distributions
that model-based samplers search; any other ``rvs`` object is drawn as it would be by
``RandomizedSearchCV`` (a ``sample_from`` value, seeded per trial).

>>> import scipy.stats as st
>>> space = distributions_space({"C": st.loguniform(1e-3, 1e2), "kernel": ["rbf", "linear"]})
>>> space.config["C"]
FloatDistribution(low=0.001, high=100.0, log=True, step=None)
>>> space.estimator_params({"C": 0.5, "kernel": "rbf"})
{'C': 0.5, 'kernel': 'rbf'}
>>> grid = grid_space([{"kernel": ["linear"]}, {"kernel": ["rbf"], "gamma": [0.1, 1.0]}])
>>> len(grid), grid.estimator_params({"candidate": 2})
(3, {'gamma': 1.0, 'kernel': 'rbf'})
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import Distribution, FloatDistribution, IntDistribution, NormalDistribution
from tunesmith.space import SampleFrom, choice, grid_search, sample_from

__all__ = ["CandidateSpace", "distributions_space", "finite_size", "grid_space"]

#: the study parameter that says which dict of a list of ``param_distributions`` a trial uses
GRID_KEY = "grid"
#: the study parameter of a list of grids: the candidate's index in ``ParameterGrid`` order
CANDIDATE_KEY = "candidate"


class CandidateSpace:
    """A study's config (flat name -> distribution) and how a trial's values become estimator parameters.

    ``groups[i]`` maps study names to estimator parameter names for dict ``i`` of a list
    (one group for a single dict); ``candidates``, for a list of grids, are the grid's points;
    ``exhaustive``: a grid whose every candidate the search runs once.
    """

    def __init__(
        self, config: dict[str, Any], groups: list[dict[str, str]], candidates: Sequence[dict[str, Any]] | None = None,
        exhaustive: bool = False,
    ) -> None:
        self.config = config
        self.groups = groups
        self.candidates = candidates
        self.exhaustive = exhaustive

    def __len__(self) -> int:
        """How many candidates a grid has (the product of the lists; 0 when some axis is continuous)."""
        if self.candidates is not None:
            return len(self.candidates)
        if any(not _is_grid(v) for v in self.config.values()):
            return 0
        return math.prod(len(v.choices) for v in self.config.values())

    def external(self, internal: Mapping[str, Any]) -> dict[str, Any]:
        """A stored trial's parameters (internal form: a choice as its index) as the objective saw them."""
        out = {}
        for name, value in internal.items():
            dist = self.config.get(name)
            out[name] = dist.to_external(value) if isinstance(dist, Distribution) else value
        return out

    def estimator_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The estimator's parameters for a trial's values (as the objective sees them)."""
        if self.candidates is not None:
            return dict(self.candidates[int(values[CANDIDATE_KEY])])
        group = self.groups[int(values[GRID_KEY])] if GRID_KEY in self.config else self.groups[0]
        return {param: values[name] for name, param in group.items()}


def _is_grid(value: Any) -> bool:
    return isinstance(value, Distribution) and getattr(value, "grid", False)


def grid_space(param_grid: Any) -> CandidateSpace:
    """``GridSearchCV``'s ``param_grid`` (validated by sklearn's ``ParameterGrid``) as grid axes.

    One dict: a ``grid_search`` axis per parameter, in sorted order, so trial *k* runs
    ``ParameterGrid``'s candidate *k*. A list of several dicts: one axis over the candidates.
    """
    from sklearn.model_selection import ParameterGrid

    grid = ParameterGrid(param_grid)  # sklearn's own checks and messages
    dicts = [param_grid] if isinstance(param_grid, Mapping) else list(param_grid)
    if len(dicts) == 1:
        names = sorted(dicts[0])
        config = {name: grid_search(list(dicts[0][name])) for name in names}
        for name, dist in config.items():
            dist.validate(name)
        return CandidateSpace(config, [{n: n for n in names}], exhaustive=True)
    candidates = list(grid)
    return CandidateSpace({CANDIDATE_KEY: grid_search(list(range(len(candidates))))}, [], candidates, exhaustive=True)


def finite_size(param_distributions: Any) -> int:
    """How many candidates ``param_distributions`` has when it holds only lists (0 when any is a distribution).

    >>> from scipy.stats import uniform
    >>> finite_size({"C": [1, 10], "kernel": ["rbf", "linear"]}), finite_size({"C": [1], "gamma": uniform()})
    (4, 0)
    """
    if isinstance(param_distributions, Mapping):
        dicts = [param_distributions]
    elif isinstance(param_distributions, Sequence) and not isinstance(param_distributions, str):
        dicts = list(param_distributions)
    else:
        return 0
    if not dicts or not all(
        isinstance(d, Mapping) and all(
            isinstance(v, Iterable) and not isinstance(v, (str, bytes, Mapping, Distribution))
            and not hasattr(v, "rvs") and len(list(v)) > 0
            for v in d.values()
        ) for d in dicts
    ):
        return 0
    from sklearn.model_selection import ParameterGrid

    return len(ParameterGrid(dicts))


def distributions_space(param_distributions: Any) -> CandidateSpace:
    """``RandomizedSearchCV``'s ``param_distributions`` as a study config.

    A list of several dicts adds a ``grid`` choice (which dict a trial uses) and names the
    parameters of dict *i* ``"i/name"``, so that two dicts may give one name different domains.
    """
    if isinstance(param_distributions, Mapping):
        dicts = [param_distributions]
    elif isinstance(param_distributions, Sequence) and not isinstance(param_distributions, str):
        dicts = list(param_distributions)
        if not dicts:
            raise ValueError("param_distributions: an empty list has no candidates; give a dict or a list of dicts")
    else:
        raise TypeError(
            f"param_distributions must be a dict or a list of dicts, got {type(param_distributions).__name__}"
        )
    for i, d in enumerate(dicts):
        if not isinstance(d, Mapping):
            raise TypeError(f"param_distributions[{i}] must be a dict, got {type(d).__name__}")
    config: dict[str, Any] = {}
    groups: list[dict[str, str]] = []
    if len(dicts) > 1:
        config[GRID_KEY] = choice(list(range(len(dicts))))
    for i, d in enumerate(dicts):
        group = {}
        if not all(isinstance(param, str) for param in d):
            bad = next(param for param in d if not isinstance(param, str))
            raise TypeError(f"param_distributions: parameter names must be str, got {bad!r}")
        for param, spec in sorted(d.items()):  # candidates list their parameters sorted, as ParameterSampler's
            name = param if len(dicts) == 1 else f"{i}/{param}"
            config[name] = domain(param, spec)
            group[name] = param
        groups.append(group)
    return CandidateSpace(config, groups)


def domain(name: str, spec: Any) -> Distribution | SampleFrom:
    """One parameter's domain: a list (a choice), a scipy.stats distribution, or a tunesmith distribution."""
    if isinstance(spec, Distribution):
        spec.validate(name)
        return spec
    if hasattr(spec, "rvs"):
        return _from_rvs(name, spec)
    if isinstance(spec, Iterable) and not isinstance(spec, (str, bytes, Mapping)):
        values = list(spec)
        if not values:
            raise ValueError(f"param_distributions: parameter {name!r} has an empty list of values")
        return choice(values)
    raise TypeError(
        f"param_distributions: parameter {name!r} must be a list, a scipy.stats distribution or a tunesmith "
        f"distribution, got {spec!r}"
    )


def _from_rvs(name: str, dist: Any) -> Distribution | SampleFrom:
    """A scipy.stats frozen distribution as the tunesmith distribution of the same law, where there is one."""
    family = getattr(getattr(dist, "dist", None), "name", None)
    try:
        lo, hi = (float(b) for b in dist.support())
    except Exception:  # not a frozen scipy distribution: drawn with rvs as it is
        family = None
    if family == "uniform" and lo < hi:
        return FloatDistribution(lo, hi)
    # log-uniform over [lo, hi] only without a shift (loc=0): its median is then sqrt(lo * hi)
    if family in ("loguniform", "reciprocal") and 0 < lo < hi and math.isclose(
        float(dist.ppf(0.5)), math.sqrt(lo * hi), rel_tol=1e-9,
    ):
        return FloatDistribution(lo, hi, log=True)
    if family == "randint" and math.isfinite(hi) and lo <= hi:
        return IntDistribution(int(lo), int(hi))  # scipy's support is inclusive: (low, high - 1)
    if family == "norm":
        return NormalDistribution(float(dist.mean()), float(dist.std()))
    if not callable(getattr(dist, "rvs", None)):
        raise TypeError(f"param_distributions: parameter {name!r}: {dist!r}.rvs is not callable")
    return sample_from(_Draw(dist))


class _Draw:
    """``dist.rvs()`` with a seed from NumPy's global generator (which the study seeds per trial)."""

    def __init__(self, dist: Any) -> None:
        self.dist = dist

    def __call__(self, spec: Any) -> Any:
        value = self.dist.rvs(random_state=int(np.random.randint(2**31 - 1)))
        return value.item() if isinstance(value, np.generic) else value

    def __repr__(self) -> str:
        return f"rvs of {self.dist!r}"
