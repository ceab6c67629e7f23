"""Ray Tune's ``ray.tune.integration.xgboost``: report each boosting round; the checkpointing
callback also saves the booster (``<checkpoint>/<filename>``, ``Booster.save_model``).

>>> from tunesmith.tune.integration.xgboost import TuneReportCheckpointCallback  # doctest: +SKIP
>>> xgb.train(config, dtrain, evals=[(dtest, "eval")],
...           callbacks=[TuneReportCheckpointCallback(filename="model.xgb")])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from tunesmith.integration._metric_report import Metrics
from tunesmith.trial import Trial
from tunesmith.tune.integration._checkpoint import check_frequency, lazy_names, save_at

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]  # noqa: F822 (built on first use)


def _build() -> type:
    from tunesmith.integration import xgboost as base

    parent: Any = base.TuneReportCallback

    class TuneReportCheckpointCallback(parent):
        """Save the booster into the trial's checkpoint every ``frequency`` rounds, then report.

        Args:
            metrics: as :class:`TuneReportCallback`'s (None: every evaluation result).
            filename: the model file in the checkpoint folder.
            frequency: save every this many rounds.
        """

        def __init__(self, metrics: Metrics = None, filename: str = "checkpoint", frequency: int = 1, *,
                     trial: Trial | None = None) -> None:
            super().__init__(metrics, trial=trial)
            self.filename, self.frequency = filename, check_frequency(frequency, "TuneReportCheckpointCallback")
            self._trial = trial

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if (epoch + 1) % self.frequency == 0:
                save_at(self._trial, epoch + 1, self.filename, model.save_model, "TuneReportCheckpointCallback")
            return bool(super().after_iteration(model, epoch, evals_log))

    TuneReportCheckpointCallback.__module__ = __name__
    return TuneReportCheckpointCallback


__getattr__ = lazy_names(__name__, "tunesmith.integration.xgboost", _build)
