"""Ray Tune's ``ray.tune.integration.keras``: report each epoch; the checkpointing callback also
saves the model (``<checkpoint>/<filename>``, ``model.save``; Keras 3 wants a ``.keras`` or
``.h5`` name, so ``.keras`` is added to any other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunesmith.trial import Trial
from tunesmith.tune.integration._checkpoint import check_frequency, lazy_names, save_at

__all__ = ["TuneReportCallback", "TuneReportCheckpointCallback"]  # noqa: F822 (built on first use)


def _build() -> type:
    from tunesmith.integration import keras as base

    parent: Any = base.TuneReportCallback

    class TuneReportCheckpointCallback(parent):
        """Save the model into the trial's checkpoint every ``frequency`` epochs, then report."""

        def __init__(self, metrics: str | Sequence[str] | Mapping[str, str] | None = None,
                     filename: str = "checkpoint", frequency: int = 1, on: str = "epoch_end", *,
                     trial: Trial | None = None) -> None:
            if on != "epoch_end":
                raise ValueError(f"TuneReportCheckpointCallback: on must be 'epoch_end' , got {on!r}")
            super().__init__(metrics, on, trial=trial)
            self.filename = filename if filename.endswith((".keras", ".h5")) else filename + ".keras"
            self.frequency = check_frequency(frequency, "TuneReportCheckpointCallback")
            self._trial = trial

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            if (epoch + 1) % self.frequency == 0:
                save_at(self._trial, epoch + 1, self.filename, self.model.save, "TuneReportCheckpointCallback")
            super().on_epoch_end(epoch, logs)

    TuneReportCheckpointCallback.__module__ = __name__
    return TuneReportCheckpointCallback


__getattr__ = lazy_names(__name__, "tunesmith.integration.keras", _build)
