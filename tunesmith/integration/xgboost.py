"""An XGBoost callback that reports each boosting round to the running trial and stops pruned trials.

>>> def objective(trial):  # doctest: +SKIP
...     params = {"eta": trial.suggest_float("eta", 0.01, 0.3, log=True), "eval_metric": "logloss"}
...     booster = xgb.train(params, dtrain, 100, evals=[(dvalid, "valid")],
...                         callbacks=[TuneReportCallback({"loss": "valid-logloss"})])
...     return booster.best_score if hasattr(booster, "best_score") else ...

Each round, the evaluation results (named ``<data>-<metric>``, Ray Tune's spelling:
``valid-logloss``) are reported at step = rounds so far; when the study's scheduler
stops the trial, training ends after that round and the trial is recorded PRUNED.
xgboost is imported when the class is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunesmith.integration._metric_report import MetricReporter, Metrics
from tunesmith.trial import Trial

__all__ = ["TuneReportCallback", "XGBoostPruningCallback"]


def _flat(evals_log: Any) -> dict[str, Any]:
    return {f"{data}-{metric}": values[-1] for data, metrics in evals_log.items() for metric, values in metrics.items()
            if len(values)}


def _build() -> type:
    import xgboost

    class TuneReportCallback(xgboost.callback.TrainingCallback):
        """Report ``<data>-<metric>`` evaluation results each round; stop training when the trial is stopped.

        Args:
            metrics: None (every evaluation result), a name, a list, or ``{reported name: "<data>-<metric>"}``.
            trial: the trial to report to (default: the one running in this thread).
        """

        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            if args and isinstance(args[0], Trial):  # Optuna's form: XGBoostPruningCallback(trial, ...)
                from tunesmith.integration import optuna

                return optuna.XGBoostPruningCallback(*args, **kwargs)
            return super().__new__(cls)

        def __init__(self, metrics: Metrics = None, *, trial: Trial | None = None) -> None:
            super().__init__()
            self._reporter = MetricReporter(metrics, trial, "xgboost.TuneReportCallback")

        @property
        def stopped_step(self) -> int | None:
            return self._reporter.stopped_step

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            return self._reporter.report(epoch + 1, _flat(evals_log))

    TuneReportCallback.__module__ = __name__
    return TuneReportCallback


if TYPE_CHECKING:
    class TuneReportCallback:
        def __init__(self, metrics: Metrics = None, *, trial: Trial | None = None) -> None: ...

        @property
        def stopped_step(self) -> int | None: ...

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool: ...

    XGBoostPruningCallback = TuneReportCallback
else:
    def __getattr__(name: str) -> Any:
        if name in ("TuneReportCallback", "XGBoostPruningCallback"):
            cls = globals().get("TuneReportCallback") or _build()
            globals()["TuneReportCallback"] = globals()["XGBoostPruningCallback"] = cls
            return cls
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
