"""A LightGBM callback that reports each boosting round to the running trial and stops pruned trials.

>>> def objective(trial):  # doctest: +SKIP
...     params = {"learning_rate": trial.suggest_float("lr", 0.01, 0.3, log=True), "verbose": -1}
...     booster = lgb.train(params, dtrain, 100, valid_sets=[dvalid], valid_names=["valid"],
...                         callbacks=[TuneReportCallback({"loss": "valid-binary_logloss"})])

Each round, the evaluation results (named ``<data>-<metric>``: ``valid-binary_logloss``)
are reported at step = rounds so far; when the study's scheduler stops the trial,
training ends after that round (LightGBM's own early-stop signal, so ``train`` returns
the booster) and the trial is recorded PRUNED. It needs nothing from LightGBM to build.
"""

from __future__ import annotations

from typing import Any

from tunesmith.integration._metric_report import MetricReporter, Metrics
from tunesmith.trial import Trial

__all__ = ["LightGBMPruningCallback", "TuneReportCallback"]


class TuneReportCallback:
    """Report ``<data>-<metric>`` evaluation results each round; stop training when the trial is stopped.

    Args:
        metrics: None (every evaluation result), a name, a list, or ``{reported name: "<data>-<metric>"}``.
        trial: the trial to report to (default: the one running in this thread).
    """

    #: after LightGBM's own logging/recording callbacks (order 10/20), before early stopping (30)
    order = 25
    before_iteration = False

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Trial):  # Optuna's form: LightGBMPruningCallback(trial, "auc", valid_name=)
            from tunesmith.integration.optuna import LightGBMPruningCallback as OptunaForm

            return OptunaForm(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, metrics: Metrics = None, *, trial: Trial | None = None) -> None:
        self._reporter = MetricReporter(metrics, trial, "lightgbm.TuneReportCallback")

    @property
    def stopped_step(self) -> int | None:
        return self._reporter.stopped_step

    def __call__(self, env: Any) -> None:
        results = env.evaluation_result_list or []
        # (data, metric, value, higher_is_better) from train; cv adds the std: value is the mean either way
        available = {f"{item[0]}-{item[1]}": item[2] for item in results}
        if self._reporter.report(env.iteration + 1, available):
            from lightgbm.callback import EarlyStopException

            raise EarlyStopException(env.iteration, results)


LightGBMPruningCallback = TuneReportCallback
