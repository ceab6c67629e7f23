"""Ray Tune's ``ray.tune.integration.lightgbm``: report each boosting round; the checkpointing
callback also saves the booster (``<checkpoint>/<filename>``, ``Booster.save_model``).

>>> from tunesmith.tune.integration.lightgbm import TuneReportCheckpointCallback
>>> cb = TuneReportCheckpointCallback({"binary_error": "eval-binary_error"}, filename="model.lgb")
>>> cb.filename, cb.frequency
('model.lgb', 1)
"""

from __future__ import annotations

from typing import Any

from tunesmith.integration._metric_report import Metrics
from tunesmith.integration.lightgbm import TuneReportCallback
from tunesmith.trial import Trial
from tunesmith.tune.integration._checkpoint import check_frequency, save_at

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]


class TuneReportCheckpointCallback(TuneReportCallback):
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

    def __call__(self, env: Any) -> None:
        step = env.iteration + 1
        if step % self.frequency == 0:
            save_at(self._trial, step, self.filename, lambda path: env.model.save_model(path, num_iteration=step),
                    "TuneReportCheckpointCallback")
        super().__call__(env)
