"""Ray Tune 1.x's searchers (``ray.tune.suggest``) as tunesmith samplers.

A searcher here names the tunesmith sampler that does its job (``OptunaSearch`` and
``HyperOptSearch``: TPE; ``BayesOptSearch``/``SkOptSearch``/``AxSearch``/``HEBOSearch``:
the Gaussian-process sampler; ``TuneBOHB``: BOHB; ``NevergradSearch``: CMA-ES;
``BasicVariantGenerator``: random search) and carries ``metric``/``mode`` and
``ConcurrencyLimiter``'s ``max_concurrent`` to ``tune.run``. The search space is
``tune.run(config=...)``'s, as with Ray's searchers given no ``space``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConcurrencyLimiter", "Searcher", "searcher_class"]


class Searcher:
    """A Ray Tune searcher: the tunesmith sampler ``sampler`` (a name in :mod:`tunesmith.samplers`).

    Args:
        metric / mode: the run's, when ``tune.run`` gets none.
        seed / random_state: the sampler's seed (else ``tune.run(seed=)``).
        space / points_to_evaluate / library-specific arguments: refused with the tunesmith way.
    """

    sampler = "RandomSampler"

    def __init__(
        self, space: Any = None, metric: str | None = None, mode: str | None = None,
        points_to_evaluate: Any = None, seed: int | None = None, random_state: int | None = None,
        **kwargs: Any,
    ) -> None:
        name = type(self).__name__
        if space:
            raise NotImplementedError(
                f"{name}(space=...): tunesmith searches the space given as tune.run(config=...); "
                "write it with tune.uniform/choice/... there"
            )
        if points_to_evaluate:
            raise NotImplementedError(
                f"{name}(points_to_evaluate=...): enqueue the configs with study.enqueue_trial(...) on a "
                "study in a storage, then tune.run(..., name=<it>, storage=<it>, resume=True)"
            )
        if kwargs:
            raise NotImplementedError(
                f"{name}: argument(s) {sorted(kwargs)} of the underlying library are not taken; tunesmith runs "
                f"its own {self.sampler} (pass a configured sampler from tunesmith.samplers as search_alg instead)"
            )
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        self.metric, self.mode = metric, mode
        self.seed = seed if seed is not None else random_state
        self.max_concurrent: int | None = None

    def make_sampler(self, seed: int | None = None) -> Any:
        """The tunesmith sampler doing this searcher's job (seeded by its seed, else ``seed``)."""
        from tunesmith import samplers

        return getattr(samplers, self.sampler)(seed=self.seed if self.seed is not None else seed)

    def set_search_properties(self, metric: str | None, mode: str | None, config: Any = None) -> bool:
        self.metric, self.mode = metric or self.metric, mode or self.mode
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(metric={self.metric!r}, mode={self.mode!r}) -> tunesmith {self.sampler}"


def ConcurrencyLimiter(searcher: Any, max_concurrent: int, batch: bool = False) -> Searcher:  # noqa: N802
    """Ray's ``ConcurrencyLimiter``: at most ``max_concurrent`` trials at once (``tune.run``'s
    ``max_concurrent_trials``). ``searcher``: a searcher here, or a tunesmith sampler."""
    if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 1:
        raise ValueError(f"ConcurrencyLimiter: max_concurrent must be a positive integer, got {max_concurrent!r}")
    if not isinstance(searcher, Searcher):
        from tunesmith.samplers import Sampler

        if not isinstance(searcher, Sampler):
            raise TypeError(
                f"ConcurrencyLimiter needs a searcher of tunesmith.tune.suggest or a tunesmith sampler, "
                f"got {type(searcher).__name__}"
            )
        searcher = _Given(searcher)
    searcher.max_concurrent = max_concurrent
    return searcher


class _Given(Searcher):
    """A tunesmith sampler given to ``ConcurrencyLimiter``."""

    def __init__(self, sampler: Any) -> None:
        super().__init__()
        self._given = sampler
        self.sampler = type(sampler).__name__

    def make_sampler(self, seed: int | None = None) -> Any:
        return self._given


def searcher_class(name: str, sampler: str, doc: str) -> type[Searcher]:
    """A :class:`Searcher` subclass called ``name`` running tunesmith's ``sampler``."""
    return type(name, (Searcher,), {"sampler": sampler, "__doc__": doc, "__module__": "tunesmith.tune.suggest"})
