"""A Keras callback that reports metrics to the running tunesmith trial and stops it when the scheduler says so.

Use it in any objective (``Study.optimize``) or trainable (``tunesmith.run``)::

    def objective(trial):
        model = build(trial.hp)
        history = model.fit(x, y, validation_split=0.2, epochs=20, verbose=0,
                            callbacks=[TuneReportCallback(["val_loss", "val_accuracy"])])
        return min(history.history["val_loss"])

Each epoch (or batch, or the end of training: ``on=``) the chosen Keras logs are
reported with ``trial.report(step, ...)``; once the study's scheduler stops the trial
(ASHA, median rule...), the callback sets ``model.stop_training = True`` so that
``fit`` returns after this epoch, and the trial is recorded PRUNED (or COMPLETE at
the scheduler's ``max_t``). Keras is imported when the class is first used.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith.trial import Trial, current_trial

__all__ = ["TuneReportCallback", "import_keras"]

_WHEN = ("epoch_end", "batch_end", "train_batch_end", "train_end")


def import_keras() -> Any:
    """``import keras``; with no backend chosen and no TensorFlow installed, the torch backend first."""
    if "keras" not in sys.modules and not os.environ.get("KERAS_BACKEND") and importlib.util.find_spec(
        "tensorflow"
    ) is None:
        os.environ["KERAS_BACKEND"] = "torch"
    import keras

    return keras


def _metric_map(metrics: str | Sequence[str] | Mapping[str, str] | None) -> dict[str, str] | None:
    """Reported name -> Keras log name (None: every log under its own name)."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return {metrics: metrics}
    if isinstance(metrics, Mapping):
        out = dict(metrics)
    else:
        out = {m: m for m in metrics}
    if not out or not all(isinstance(k, str) and isinstance(v, str) for k, v in out.items()):
        raise ValueError(f"TuneReportCallback: metrics must be None, a list of log names or a dict "
                         f"{{reported name: log name}}, got {metrics!r}")
    return out


class _Reporter:
    """The callback's logic, without Keras: turn logs into a report and say whether to stop."""

    def __init__(
        self, metrics: str | Sequence[str] | Mapping[str, str] | None, on: str, trial: Trial | None,
        derived: Mapping[str, Callable[[Mapping[str, float]], float]] | None, enabled: bool,
    ) -> None:
        if on not in _WHEN:
            raise ValueError(f"TuneReportCallback: on must be one of {list(_WHEN)}, got {on!r}")
        self.metrics = _metric_map(metrics)
        self.on = "train_batch_end" if on == "batch_end" else on
        self.trial = trial
        self.derived = dict(derived or {})
        self.enabled = enabled
        self.step = 0
        #: the step at which the trial was stopped (None: it ran to the end)
        self.stopped_step: int | None = None

    def values(self, logs: Mapping[str, Any]) -> dict[str, Any]:
        logs = {k: _number(v) for k, v in logs.items()}
        if self.metrics is None:
            out = {k: v for k, v in logs.items() if v is not None}
        else:
            missing = [log for log in self.metrics.values() if log not in logs]
            if missing:
                raise ValueError(
                    f"TuneReportCallback: metric(s) {missing} are not in Keras' logs {sorted(logs)}; compile the model "
                    "with them (and pass validation data for 'val_' metrics)"
                )
            out = {name: logs[log] for name, log in self.metrics.items() if logs[log] is not None}
        for name, fn in self.derived.items():
            out[name] = float(fn(out))
        return out

    def report(self, logs: Mapping[str, Any] | None, step: int) -> bool:
        """Report at ``step``; True when the trial should stop."""
        if not self.enabled:
            return False
        trial = self.trial or current_trial()
        if trial is None:
            raise RuntimeError(
                "TuneReportCallback reports to the running tunesmith trial, and none runs in this thread; "
                "use it inside an objective or trainable, or pass trial="
            )
        values = self.values(logs or {})
        if not values:
            return False
        values.setdefault("training_iteration", step)
        values.setdefault("time_total_s", trial.elapsed)
        trial.report(step, **values)
        if trial.should_stop():
            self.stopped_step = step
            return True
        return False


def _number(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _build_class() -> type:
    keras = import_keras()

    class TuneReportCallback(keras.callbacks.Callback):  # type: ignore[name-defined]
        __doc__ = _DOC

        def __init__(
            self, metrics: str | Sequence[str] | Mapping[str, str] | None = None, on: str = "epoch_end", *,
            trial: Trial | None = None, derived: Mapping[str, Callable[[Mapping[str, float]], float]] | None = None,
            enabled: bool = True,
        ) -> None:
            super().__init__()
            self._reporter = _Reporter(metrics, on, trial, derived, enabled)

        @property
        def stopped_step(self) -> int | None:
            return self._reporter.stopped_step

        def _report(self, logs: Mapping[str, Any] | None, step: int) -> None:
            if self._reporter.report(logs, step):
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            if self._reporter.on == "epoch_end":
                self._report(logs, epoch + 1)  # steps count epochs from 1, so grace_period=1 is one epoch

        def on_train_batch_end(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
            if self._reporter.on == "train_batch_end":
                self._reporter.step += 1
                self._report(logs, self._reporter.step)

        def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
            if self._reporter.on == "train_end":
                self._report(logs, 1)

    TuneReportCallback.__module__ = __name__
    return TuneReportCallback


_DOC = """Report Keras logs to the running trial; stop training when the trial's scheduler stops it.

    Args:
        metrics: None (every log, under its Keras name), a list of log names, or a dict
            ``{reported name: Keras log name}``.
        on: ``"epoch_end"`` (step = epoch number from 1), ``"batch_end"`` (step = batches so far)
            or ``"train_end"``.
        trial: the trial to report to (default: the one running in this thread).
        derived: extra metrics computed from the reported ones, ``{name: fn(metrics) -> float}``.
        enabled: False makes the callback do nothing (a tuner's second execution of a trial).
    """

if TYPE_CHECKING:
    class TuneReportCallback:
        def __init__(
            self, metrics: str | Sequence[str] | Mapping[str, str] | None = None, on: str = "epoch_end", *,
            trial: Trial | None = None, derived: Mapping[str, Callable[[Mapping[str, float]], float]] | None = None,
            enabled: bool = True,
        ) -> None: ...

        @property
        def stopped_step(self) -> int | None: ...
else:
    def __getattr__(name: str) -> Any:
        if name == "TuneReportCallback":
            cls = _build_class()
            globals()[name] = cls
            return cls
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
