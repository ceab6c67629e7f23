"""Random search."""

from __future__ import annotations

from tunesmith.samplers._base import Sampler

__all__ = ["RandomSampler"]


class RandomSampler(Sampler):
    """Independent uniform draws from each distribution (grid axes enumerated).

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
    >>> len(study.trials)
    5
    """
