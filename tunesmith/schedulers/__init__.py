"""Schedulers: stop, finish, or clone running trials from their intermediate reports.

Every scheduler decides from the study's stored reports, so decisions hold across
worker processes, machines, and a resumed driver. Names and arguments follow Ray
Tune (``ASHAScheduler``, ``HyperBandScheduler``, ``MedianStoppingRule``,
``PopulationBasedTraining``) and Optuna (``MedianPruner``, ``SuccessiveHalvingPruner``,
``HyperbandPruner``...) where they mean the same thing.
"""

from __future__ import annotations

from tunesmith.schedulers._base import Decision, Exploit, FIFOScheduler, ReportLog, Scheduler, scheduler_from_spec
from tunesmith.schedulers.asha import (
    ASHAScheduler,
    AsyncHyperBandScheduler,
    HyperbandPruner,
    HyperBandScheduler,
    SuccessiveHalvingPruner,
)
from tunesmith.schedulers.median import MedianPruner, MedianStoppingRule, NopPruner, PercentilePruner
from tunesmith.schedulers.pbt import PopulationBasedTraining

__all__ = [
    "ASHAScheduler",
    "AsyncHyperBandScheduler",
    "Decision",
    "Exploit",
    "FIFOScheduler",
    "HyperBandScheduler",
    "HyperbandPruner",
    "MedianPruner",
    "MedianStoppingRule",
    "NopPruner",
    "PercentilePruner",
    "PopulationBasedTraining",
    "ReportLog",
    "Scheduler",
    "SuccessiveHalvingPruner",
    "scheduler_from_spec",
]
