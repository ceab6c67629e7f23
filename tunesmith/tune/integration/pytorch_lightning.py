"""Ray Tune's ``ray.tune.integration.pytorch_lightning``: report each validation; the checkpointing
callback also saves the trainer's checkpoint (``<checkpoint>/<filename>``, ``trainer.save_checkpoint``).
"""

from __future__ import annotations

from typing import Any

from tunesmith.integration._metric_report import Metrics
from tunesmith.trial import Trial
from tunesmith.tune.integration._checkpoint import lazy_names, save_at

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]  # noqa: F822 (built on first use)


def _build() -> type:
    from tunesmith.integration import lightning as base

    parent: Any = base.TuneReportCallback

    class TuneReportCheckpointCallback(parent):
        """Save the trainer's checkpoint into the trial's checkpoint, then report (each ``on`` event)."""

        def __init__(self, metrics: Metrics = None, filename: str = "checkpoint", on: str = "validation_end", *,
                     trial: Trial | None = None) -> None:
            super().__init__(metrics, on, trial=trial)
            self.filename = filename
            self._trial = trial

        def _report(self, trainer: Any) -> None:
            if not getattr(trainer, "sanity_checking", False):
                save_at(self._trial, trainer.current_epoch + 1, self.filename, trainer.save_checkpoint,
                        "TuneReportCheckpointCallback")
            super()._report(trainer)

    TuneReportCheckpointCallback.__module__ = __name__
    return TuneReportCheckpointCallback


__getattr__ = lazy_names(__name__, "tunesmith.integration.lightning", _build)
