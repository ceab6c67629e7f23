"""Dict-style search spaces (Ray Tune's vocabulary) compiled to one representation.

A config is a (possibly nested) dict whose leaves are domains (``uniform(0, 1)``),
``grid_search([...])`` axes, ``sample_from(fn)`` or plain constants. A malformed
domain fails where it is written; compiling the config with :class:`SearchSpace`
checks the parameter names and names the offender.

Integer upper bounds are **inclusive** (``randint(1, 3)`` gives 1, 2 or 3), unlike
Ray Tune's ``randint`` which excludes the upper bound.

>>> space = SearchSpace({"lr": loguniform(1e-4, 1e-1), "net": {"layers": randint(1, 3)},
...                      "act": choice(["relu", "tanh"]), "epochs": 10})
>>> sorted(space.distributions)
['act', 'lr', 'net/layers']
>>> uniform(1.0, 0.5)
Traceback (most recent call last):
...
ValueError: low=1.0 must not exceed high=0.5
>>> SearchSpace({"model": {"opt": {"grid_search": []}}})
Traceback (most recent call last):
...
ValueError: parameter 'model/opt': grid_search needs at least one value, got an empty list
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
    check_name,
    named,
)

__all__ = [
    "SampleFrom",
    "SearchSpace",
    "choice",
    "flatten",
    "grid_search",
    "lograndint",
    "loguniform",
    "qloguniform",
    "qrandint",
    "qrandn",
    "quniform",
    "randint",
    "randn",
    "sample_from",
    "uniform",
    "unflatten",
]

SEP = "/"


def uniform(low: float, high: float) -> FloatDistribution:
    """A real drawn uniformly from [low, high]."""
    return FloatDistribution(low, high)


def quniform(low: float, high: float, q: float) -> FloatDistribution:
    """A real from [low, high] rounded to ``low + k*q``."""
    return FloatDistribution(low, high, step=q)


def loguniform(low: float, high: float, base: float = 10) -> FloatDistribution:
    """A real drawn uniformly in log space (the base does not change the distribution)."""
    _check_base(base)
    return FloatDistribution(low, high, log=True)


def qloguniform(low: float, high: float, q: float, base: float = 10) -> FloatDistribution:
    """A log-uniform real rounded to ``low + k*q``."""
    _check_base(base)
    return FloatDistribution(low, high, log=True, step=q)


def randint(low: int, high: int) -> IntDistribution:
    """An integer in [low, high], **both inclusive** (Ray Tune excludes ``high``)."""
    return IntDistribution(low, high)


def qrandint(low: int, high: int, q: int = 1) -> IntDistribution:
    """An integer in [low, high] (inclusive) on the lattice ``low + k*q``."""
    return IntDistribution(low, high, step=q)


def lograndint(low: int, high: int, base: float = 10) -> IntDistribution:
    """An integer in [low, high] (inclusive) drawn uniformly in log space."""
    _check_base(base)
    return IntDistribution(low, high, log=True)


def randn(mean: float = 0.0, sd: float = 1.0) -> NormalDistribution:
    """A Gaussian real."""
    return NormalDistribution(mean, sd)


def qrandn(mean: float, sd: float, q: float) -> NormalDistribution:
    """A Gaussian real rounded to a multiple of ``q``."""
    return NormalDistribution(mean, sd, step=q)


def choice(categories: Any) -> CategoricalDistribution:
    """One of ``categories``, uniformly."""
    return CategoricalDistribution(_values("choice", categories))


def grid_search(values: Any) -> CategoricalDistribution:
    """An axis searched exhaustively: every value is tried (times ``num_samples``)."""
    return CategoricalDistribution(_values("grid_search", values), grid=True)


def _values(what: str, values: Any) -> tuple[Any, ...]:
    if isinstance(values, Mapping) or not isinstance(values, Iterable):
        raise ValueError(f"{what} needs a list of values, got {values!r}")
    return tuple(values)


def _check_base(base: Any) -> None:
    if isinstance(base, bool) or not isinstance(base, (int, float, np.integer, np.floating)) or not (
        base > 0 and base != 1 and math.isfinite(base)
    ):
        raise ValueError(f"the log base must be a finite number > 0 other than 1, got base={base!r}")


@dataclass(frozen=True)
class SampleFrom:
    """A value computed from the rest of the config: ``sample_from(lambda spec: ...)``."""

    func: Any


def sample_from(func: Callable[[Any], Any]) -> SampleFrom:
    """A value computed by ``func(spec)``, where ``spec.config`` is the config so far."""
    return SampleFrom(func)


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dict -> flat dict with ``/``-joined keys."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and set(value) == {"grid_search"}:
            with named(name):
                out[name] = grid_search(value["grid_search"])  # Ray's literal form
        elif isinstance(value, Mapping) and value:
            out.update(flatten(value, name + SEP))
        else:
            out[name] = value
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Flat dict with ``/``-joined keys -> nested dict."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        node = out
        *parents, leaf = name.split(SEP)
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


class _AttrDict(dict[str, Any]):
    """A dict whose keys read as attributes too (``spec.config.lr``), like Ray's spec."""

    def __getattr__(self, key: str) -> Any:
        try:
            value = self[key]
        except KeyError as e:
            raise AttributeError(key) from e
        return _AttrDict(value) if isinstance(value, dict) else value


class _Spec:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = _AttrDict(config)


class SearchSpace:
    """A compiled, validated config: distributions, derived values and constants.

    Attributes:
        distributions: flat name -> :class:`Distribution` for every sampled parameter.
        derived: flat name -> function, for ``sample_from`` entries (resolved in order).
        constants: flat name -> value, passed through unchanged.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        self.config = dict(config or {})
        self.distributions: dict[str, Distribution] = {}
        self.derived: dict[str, Callable[[Any], Any]] = {}
        self.constants: dict[str, Any] = {}
        for name, value in flatten(self.config).items():
            if isinstance(value, Distribution):
                value.validate(name)
                self.distributions[name] = value
            elif isinstance(value, SampleFrom):
                check_name(name)  # stored with the trial, as a sampled parameter is
                if not callable(value.func):
                    raise ValueError(
                        f"parameter {name!r}: sample_from needs a function of the config, "
                        f"got {value.func!r}"
                    )
                self.derived[name] = value.func
            elif _is_ray_domain(value):
                raise TypeError(
                    f"parameter {name!r}: {type(value).__name__} is a Ray Tune object; "
                    "use the same function from tunesmith instead"
                )
            else:
                self.constants[name] = value
        self.grid_axes = [n for n, d in self.distributions.items() if _is_grid(d)]

    @property
    def grid_size(self) -> int:
        """Number of points of the ``grid_search`` product (1 without grid axes).

        This is the grid every sampler enumerates; a :class:`~tunesmith.samplers.GridSampler`
        crosses the ``choice`` axes too. How many trials a grid takes is the sampler's
        :meth:`~tunesmith.samplers.Sampler.grid_size`.
        """
        dists = self.distributions
        return math.prod(len(d.choices) for d in dists.values() if isinstance(d, CategoricalDistribution) and d.grid)

    def __contains__(self, name: str) -> bool:
        return name in self.distributions or name in self.derived or name in self.constants

    def __len__(self) -> int:
        return len(self.distributions)

    def resolve(self, params: Mapping[str, Any], rng: np.random.Generator | None = None) -> dict[str, Any]:
        """Compute ``sample_from`` values given the sampled ``params``; returns them flat.

        ``np.random`` and ``random`` are seeded from ``rng`` first, so a seeded study
        reproduces lambdas that draw from the global generators.
        """
        if not self.derived:
            return {}
        if rng is not None:
            seed = int(rng.integers(2**31))
            np.random.seed(seed)
            import random

            random.seed(seed)
        flat: dict[str, Any] = {**self.constants, **params}
        out: dict[str, Any] = {}
        pending = dict(self.derived)
        # Several passes: a sample_from may read another one's value.
        for _ in range(len(pending)):
            errors: dict[str, Exception] = {}
            for name, func in list(pending.items()):
                try:
                    value = func(_Spec(unflatten(flat)))
                except (KeyError, AttributeError) as e:
                    errors[name] = e
                    continue
                flat[name] = out[name] = value
                del pending[name]
            if not pending:
                break
        if pending:
            name, err = next(iter(errors.items()))
            raise ValueError(f"parameter {name!r}: sample_from function failed: {err!r}") from err
        return out

    def config_for(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The nested config a trainable receives: constants, then params."""
        return unflatten({**self.constants, **params})


def _is_grid(d: Distribution) -> bool:
    return isinstance(d, CategoricalDistribution) and d.grid


def _is_ray_domain(value: Any) -> bool:
    mod = type(value).__module__
    return mod.startswith("ray.tune")
