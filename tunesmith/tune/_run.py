"""``tune.run``: :func:`tunesmith.run` with Ray Tune 1.x's defaults and searchers.

Without ``search_alg`` the trials' configs are drawn at random (grid axes enumerated),
as Ray's ``BasicVariantGenerator``; ``tunesmith.run`` itself defaults to ``AutoSampler``.
A Ray-style searcher from :mod:`tunesmith.tune.suggest` (``OptunaSearch``, a
``ConcurrencyLimiter``...) gives its sampler, metric/mode and concurrency limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tunesmith.run import RunResult
from tunesmith.run import run as tunesmith_run
from tunesmith.tune.suggest._searcher import Searcher

__all__ = ["run"]


def run(
    run_or_experiment: Callable[..., Any], config: Mapping[str, Any] | None = None, *, search_alg: Any = None,
    seed: int | None = None, metric: str | None = None, mode: str | None = None,
    max_concurrent_trials: int | None = None, resume: bool | str = False, **kwargs: Any,
) -> RunResult:
    """Ray Tune's ``tune.run`` (see :func:`tunesmith.run` for the arguments).

    ``search_alg``: None (random search: Ray's default), a tunesmith sampler, or a searcher
    of :mod:`tunesmith.tune.suggest`.
    """
    if isinstance(search_alg, Searcher):
        metric = metric or search_alg.metric
        mode = mode or search_alg.mode
        if max_concurrent_trials is None:
            max_concurrent_trials = search_alg.max_concurrent
        search_alg = search_alg.make_sampler(seed)
    elif search_alg is None and not resume:  # on resume the stored sampler goes on
        from tunesmith.samplers import RandomSampler

        search_alg = RandomSampler(seed=seed)
    return tunesmith_run(
        run_or_experiment, config, search_alg=search_alg, seed=seed, metric=metric, mode=mode,
        max_concurrent_trials=max_concurrent_trials, resume=resume, **kwargs,
    )
