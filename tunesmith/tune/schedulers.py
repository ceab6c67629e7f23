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

TrialScheduler = Scheduler
#: Ray Tune pairs Hyperband with BOHB's sampler under this name (use tunesmith.samplers.BOHBSampler)
HyperBandForBOHB = HyperBandScheduler

__all__ = [
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "FIFOScheduler",
    "HyperBandForBOHB",
    "HyperBandScheduler",
    "MedianStoppingRule",
    "PopulationBasedTraining",
    "TrialScheduler",
]
