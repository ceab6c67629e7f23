"""Ray Tune's ``ray.tune.schedulers`` names, from :mod:`tunesmith.schedulers`."""

from __future__ import annotations

from tunesmith.schedulers import (
    ASHAScheduler,
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    Scheduler,
)
from tunesmith.schedulers.pbt_replay import PopulationBasedTrainingReplay

TrialScheduler = Scheduler
#: Ray Tune pairs Hyperband with BOHB's sampler under this name (use tunesmith.samplers.BOHBSampler)
HyperBandForBOHB = HyperBandScheduler


def create_scheduler(scheduler: str, **kwargs: object) -> Scheduler:
    """A scheduler by Ray's name (``"asha"``, ``"hyperband"``, ``"pbt"``...)."""
    from tunesmith.tune._api import create_scheduler as create

    return create(scheduler, **kwargs)


__all__ = [
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "FIFOScheduler",
    "HyperBandForBOHB",
    "HyperBandScheduler",
    "MedianStoppingRule",
    "PopulationBasedTraining",
    "PopulationBasedTrainingReplay",
    "TrialScheduler",
    "create_scheduler",
]
