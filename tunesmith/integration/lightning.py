"""A PyTorch Lightning callback that reports metrics each epoch and stops the trainer when the trial is stopped.

Use it in any objective (``Study.optimize``) or trainable (``tunesmith.run``)::

    def objective(trial):
        model = LitModel(lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True))
        trainer = pl.Trainer(max_epochs=20, callbacks=[TuneReportCallback({"loss": "val_loss"})],
                             enable_progress_bar=False, logger=False)
        trainer.fit(model, train_loader, val_loader)
        return trainer.callback_metrics["val_loss"].item()

At the end of each validation run (``on="validation_end"``, the default; or
``"train_epoch_end"``) the chosen ``trainer.callback_metrics`` are reported with
``trial.report(epoch, ...)`` (epochs counted from 1; the sanity check is skipped).
When the study's scheduler stops the trial, ``trainer.should_stop`` is set, ``fit``
returns after this epoch and the trial is recorded PRUNED. ``PruningCallback`` is the
same class under Optuna's idea of it. ``lightning.pytorch`` is used when it is
installed (or already imported), else ``pytorch_lightning``; either is imported only
when the class is first used.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from tunesmith.integration._metric_report import MetricReporter, Metrics
from tunesmith.trial import Trial

__all__ = ["PruningCallback", "TuneReportCallback", "import_lightning"]

_WHEN = ("validation_end", "train_epoch_end")


def import_lightning() -> Any:
    """The Lightning package the user's Trainer comes from: ``lightning.pytorch`` or ``pytorch_lightning``."""
    for name in ("lightning.pytorch", "pytorch_lightning"):
        if name in sys.modules:
            return sys.modules[name]
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("TuneReportCallback needs PyTorch Lightning: pip install lightning (or pytorch-lightning)")


def _build() -> type:
    pl = import_lightning()

    class TuneReportCallback(pl.Callback):  # type: ignore[name-defined]
        """Report ``trainer.callback_metrics`` each epoch; stop the trainer when the trial's scheduler stops it.

        Args:
            metrics: None (every logged scalar), a name, a list of names, or ``{reported name: logged name}``.
            on: ``"validation_end"`` (default) or ``"train_epoch_end"``.
            trial: the trial to report to (default: the one running in this thread).
        """

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], Trial):  # Optuna's form: PyTorchLightningPruningCallback(trial, ...)
                from tunesmith.integration import optuna

                return optuna.PyTorchLightningPruningCallback(*args, **kwargs)
            return super().__new__(cls)

        def __init__(self, metrics: Metrics = None, on: str = "validation_end", *, trial: Trial | None = None) -> None:
            super().__init__()
            if on not in _WHEN:
                raise ValueError(f"TuneReportCallback: on must be one of {list(_WHEN)}, got {on!r}")
            self.on = on
            self._reporter = MetricReporter(metrics, trial, "lightning.TuneReportCallback")

        @property
        def stopped_step(self) -> int | None:
            return self._reporter.stopped_step

        def _report(self, trainer: Any) -> None:
            if getattr(trainer, "sanity_checking", False):
                return
            if self._reporter.report(trainer.current_epoch + 1, dict(trainer.callback_metrics)):
                trainer.should_stop = True

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            if self.on == "validation_end":
                self._report(trainer)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.on == "train_epoch_end":
                self._report(trainer)

    TuneReportCallback.__module__ = __name__
    return TuneReportCallback


if TYPE_CHECKING:
    class TuneReportCallback:
        def __init__(self, metrics: Metrics = None, on: str = "validation_end", *, trial: Trial | None = None) -> None:
            ...

        @property
        def stopped_step(self) -> int | None: ...

    PruningCallback = TuneReportCallback
else:
    def __getattr__(name: str) -> Any:
        if name in ("TuneReportCallback", "PruningCallback"):
            cls = globals().get("TuneReportCallback") or _build()
            globals()["TuneReportCallback"] = globals()["PruningCallback"] = cls
            return cls
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
