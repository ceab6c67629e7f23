"""The sampler contract.

A sampler turns (search space, history, trial number, random generator) into
parameter values. ``suggest`` proposes values for the parameters known before the
trial starts, jointly; ``suggest_one`` fills any other parameter as the objective
asks for it (define-by-run). Both are pure functions of their inputs plus the
sampler's settings, so a seeded study reproduces exactly, and parallel workers that
receive a copy of the sampler suggest the same values for the same trial number.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tunesmith._spec import class_path, from_spec
from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.history import History

__all__ = ["Sampler", "grid_index", "grid_point", "sampler_from_spec"]


class Sampler:
    """Base class; subclasses override :meth:`suggest` and/or :meth:`suggest_one`.

    ``grid_search`` axes are enumerated by every sampler (Ray Tune's semantics): trial
    *k* (not counting enqueued trials) takes grid point *k* mod the grid size.
    """

    #: modules that suggestions import on first use (SciPy is slow to import); a fork
    #: server imports them once, before it forks the workers (:meth:`preload`)
    lazy_imports: tuple[str, ...] = ()

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or None, got seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self._shared_rng: np.random.Generator | None = None

    def __getstate__(self) -> dict[str, object]:
        # A copy in another process must not replay this process's unseeded stream.
        return {**self.__dict__, "_shared_rng": None}

    def rng_for(self, number: int) -> np.random.Generator:
        """The generator for trial ``number``: from (seed, number); unseeded, one fresh stream."""
        if self.seed is None:
            if self._shared_rng is None:
                self._shared_rng = np.random.default_rng()
            return self._shared_rng
        return np.random.default_rng([self.seed, number])

    def spec(self) -> dict[str, Any]:
        """A JSON-safe description that rebuilds an equivalent sampler (see :func:`sampler_from_spec`).

        Studies store it, so that workers started elsewhere (``tunesmith worker``) and
        reopened studies suggest with the same sampler.
        """
        return {"class": class_path(self), "kwargs": self._spec_kwargs()}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @property
    def hedges_running(self) -> bool:
        """Whether the next suggestion reads running trials' parameters (a constant liar), so
        that a running trial's parameters are worth storing as soon as they are drawn."""
        return False

    def preload(self) -> None:
        """Import :attr:`lazy_imports` now, so that processes forked afterwards start warm."""
        for name in self.lazy_imports:
            importlib.import_module(name)

    def plan(self, n_trials: int | None, n_workers: int | None) -> None:
        """Hear what :meth:`Study.optimize` is about to run; the default ignores it.

        ``n_trials`` is the study's planned size (its trials so far plus those this call
        runs; None: until a timeout or a stop), ``n_workers`` the parallel workers (None:
        as many as the executor fits). Called before the sampler is copied to workers.
        """

    def max_trials(self, space: Mapping[str, Distribution]) -> int | None:
        """How many trials exhaust this sampler on ``space`` (None: never exhausted)."""
        return None

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        """Joint proposal for the parameters of ``space`` (may leave some out)."""
        axes = {n: d for n, d in space.items() if isinstance(d, CategoricalDistribution) and d.grid}
        if not axes:
            return {}
        return grid_point(axes, grid_index(history, number))

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        """A value for one parameter not in the joint proposal."""
        return distribution.sample(rng)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r})"


def sampler_from_spec(spec: Mapping[str, Any]) -> Sampler:
    """Rebuild a sampler from :meth:`Sampler.spec`."""
    return from_spec(spec, Sampler, "sampler")


def grid_point(axes: Mapping[str, CategoricalDistribution], index: int) -> dict[str, Any]:
    """The ``index``-th point (mod size) of the product of ``axes``; the first axis varies slowest."""
    size = math.prod(len(d.choices) for d in axes.values())
    index %= size
    out: dict[str, Any] = {}
    for name, dist in reversed(list(axes.items())):
        index, k = divmod(index, len(dist.choices))
        out[name] = dist.choices[k]
    return dict(reversed(list(out.items())))


def grid_index(history: History, number: int) -> int:
    """Position of trial ``number`` among sampler-made trials (enqueued ones do not count).

    Numbers are handed out in one transaction with the trial's creation, so every
    trial numbered below ``number`` is already in storage when this runs.
    """
    return number - history.n_enqueued_before(number)
