"""Optuna's pruning callbacks under their Optuna names and arguments (``optuna.integration.*``).

Each reports the monitored value as the trial's objective value (Optuna's
``trial.report(value, step)``) and raises :class:`~tunesmith.TrialPruned` when the study's
pruner stops the trial, as Optuna's do::

    import tunesmith as optuna

    def objective(trial):
        ...
        cb = optuna.integration.LightGBMPruningCallback(trial, "auc", valid_name="valid_0")
        booster = lgb.train(params, dtrain, valid_sets=[dvalid], callbacks=[cb])

``LightGBMPruningCallback(trial, metric, valid_name="valid_0")``,
``XGBoostPruningCallback(trial, observation_key)`` (``"validation-auc"``),
``PyTorchLightningPruningCallback(trial, monitor)`` and ``KerasPruningCallback(trial, monitor,
interval=1)``. ``TFKerasPruningCallback`` is refused with guidance: tunesmith supports Keras 3
(``KerasPruningCallback`` on any backend). Each framework is imported when its class is
first used. tunesmith's own callbacks (``tunesmith.integration.lightgbm.TuneReportCallback``
...) report several metrics and end training without an exception instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunesmith.exceptions import TrialPruned
from tunesmith.integration._metric_report import number
from tunesmith.trial import Trial

__all__ = [
    "KerasPruningCallback",
    "LightGBMPruningCallback",
    "PyTorchLightningPruningCallback",
    "TFKerasPruningCallback",
    "XGBoostPruningCallback",
]


def _check_trial(trial: Any, who: str) -> Trial:
    if not isinstance(trial, Trial):
        raise TypeError(f"{who}: the first argument is the running trial (the objective's `trial`), "
                        f"got {type(trial).__name__}")
    return trial


def _report(trial: Trial, value: Any, step: int, key: str, who: str) -> None:
    """Report ``value`` at ``step`` as the objective's value; raise TrialPruned when the pruner says so."""
    v = number(value)
    if v is None:
        raise ValueError(f"{who}: the monitored {key!r} is not a number: {value!r}")
    trial.report(v, step=step)
    if trial.should_prune():
        raise TrialPruned(f"Trial was pruned at step {step}.")


class LightGBMPruningCallback:
    """Optuna's LightGBM callback: reports ``<valid_name>-<metric>`` each round (``lgb.cv``: ``valid``)."""

    order = 25  # after LightGBM's recording callbacks, before early stopping
    before_iteration = False

    def __init__(self, trial: Trial, metric: str, valid_name: str = "valid_0", report_interval: int = 1) -> None:
        self._trial = _check_trial(trial, "LightGBMPruningCallback")
        self._metric = metric
        self._valid_name = valid_name
        self._interval = int(report_interval)
        if self._interval < 1:
            raise ValueError(f"LightGBMPruningCallback: report_interval must be >= 1, got {report_interval!r}")

    def __call__(self, env: Any) -> None:
        step = env.iteration + 1
        if step % self._interval:
            return
        results = {f"{item[0]}-{item[1]}": item[2] for item in env.evaluation_result_list or []}
        key = f"{self._valid_name}-{self._metric}"
        if key not in results and self._valid_name == "valid_0" and f"valid-{self._metric}" in results:
            key = f"valid-{self._metric}"  # lgb.cv names its data "valid"
        if key not in results:
            raise ValueError(f"LightGBMPruningCallback: {key!r} is not among the evaluation results "
                             f"{sorted(results)}; check metric= and valid_name=")
        _report(self._trial, results[key], env.iteration, key, "LightGBMPruningCallback")


def _xgboost_class() -> type:
    import xgboost

    class XGBoostPruningCallback(xgboost.callback.TrainingCallback):
        """Optuna's XGBoost callback: reports ``observation_key`` (``"<data>-<metric>"``) each round."""

        def __init__(self, trial: Trial, observation_key: str) -> None:
            super().__init__()
            self._trial = _check_trial(trial, "XGBoostPruningCallback")
            self._key = observation_key

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            flat = {f"{d}-{m}": vals[-1] for d, ms in evals_log.items() for m, vals in ms.items() if len(vals)}
            if self._key not in flat:
                raise ValueError(f"XGBoostPruningCallback: {self._key!r} is not among the evaluation results "
                                 f"{sorted(flat)}; it is '<evals name>-<eval_metric>'")
            _report(self._trial, flat[self._key], epoch, self._key, "XGBoostPruningCallback")
            return False

    XGBoostPruningCallback.__module__ = __name__
    return XGBoostPruningCallback


def _lightning_class() -> type:
    from tunesmith.integration.lightning import import_lightning

    pl = import_lightning()

    class PyTorchLightningPruningCallback(pl.Callback):  # type: ignore[name-defined]
        """Optuna's Lightning callback: reports ``trainer.callback_metrics[monitor]`` after each validation."""

        def __init__(self, trial: Trial, monitor: str) -> None:
            super().__init__()
            self._trial = _check_trial(trial, "PyTorchLightningPruningCallback")
            self.monitor = monitor

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            if getattr(trainer, "sanity_checking", False):
                return
            metrics = trainer.callback_metrics
            if self.monitor not in metrics:
                raise ValueError(f"PyTorchLightningPruningCallback: {self.monitor!r} is not among the logged "
                                 f"metrics {sorted(metrics)}; log it with self.log({self.monitor!r}, ...)")
            _report(self._trial, metrics[self.monitor], trainer.current_epoch, self.monitor,
                    "PyTorchLightningPruningCallback")

    PyTorchLightningPruningCallback.__module__ = __name__
    return PyTorchLightningPruningCallback


def _keras_class() -> type:
    from tunesmith.integration.keras import import_keras

    keras = import_keras()

    class KerasPruningCallback(keras.callbacks.Callback):  # type: ignore[name-defined]
        """Optuna's Keras callback: reports ``logs[monitor]`` every ``interval`` epochs."""

        def __init__(self, trial: Trial, monitor: str, interval: int = 1) -> None:
            super().__init__()
            self._trial = _check_trial(trial, "KerasPruningCallback")
            self._monitor = monitor
            self._interval = int(interval)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if (epoch + 1) % self._interval:
                return
            logs = logs or {}
            if self._monitor not in logs:
                raise ValueError(f"KerasPruningCallback: {self._monitor!r} is not among the epoch logs "
                                 f"{sorted(logs)}")
            _report(self._trial, logs[self._monitor], epoch, self._monitor, "KerasPruningCallback")

    KerasPruningCallback.__module__ = __name__
    return KerasPruningCallback


def TFKerasPruningCallback(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - Optuna's class name
    """Refused: tunesmith supports Keras 3, not ``tf.keras`` 2; use ``KerasPruningCallback(trial, monitor)``."""
    raise NotImplementedError(
        "TFKerasPruningCallback (tf.keras) is not provided: use optuna.integration.KerasPruningCallback(trial, "
        "monitor) with Keras 3 (`import keras`, any backend), or tunesmith.integration.keras.TuneReportCallback"
    )


_BUILDERS = {
    "XGBoostPruningCallback": _xgboost_class,
    "PyTorchLightningPruningCallback": _lightning_class,
    "KerasPruningCallback": _keras_class,
}


if TYPE_CHECKING:
    XGBoostPruningCallback: Any
    PyTorchLightningPruningCallback: Any
    KerasPruningCallback: Any
else:
    def __getattr__(name: str) -> Any:
        builder = _BUILDERS.get(name)
        if builder is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        cls = builder()
        globals()[name] = cls
        return cls
