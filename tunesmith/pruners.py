"""Optuna's ``optuna.pruners`` names: the schedulers that stop trials from their reports.

They are :mod:`tunesmith.schedulers` under Optuna's names and arguments, passed as
``create_study(pruner=...)`` (or ``scheduler=``). A custom pruner subclasses
:class:`tunesmith.schedulers.Scheduler` (``decide`` returns ``Decision.STOP`` to prune).

>>> import tunesmith
>>> study = tunesmith.create_study(pruner=tunesmith.pruners.MedianPruner(n_startup_trials=2))
>>> type(study.scheduler).__name__
'MedianPruner'
"""

from __future__ import annotations

from tunesmith.schedulers import (
    HyperbandPruner,
    MedianPruner,
    NopPruner,
    PercentilePruner,
    Scheduler,
    SuccessiveHalvingPruner,
)

__all__ = [
    "BasePruner", "HyperbandPruner", "MedianPruner", "NopPruner", "PercentilePruner", "SuccessiveHalvingPruner",
]

#: the class a custom pruner subclasses (tunesmith's scheduler contract, not Optuna's ``prune``)
BasePruner = Scheduler
