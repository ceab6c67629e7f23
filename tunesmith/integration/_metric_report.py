"""What the framework callbacks (Lightning, XGBoost, LightGBM) share: pick metrics, report them, say stop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunesmith.trial import Trial, current_trial

Metrics = None | str | Sequence[str] | Mapping[str, str]


def metric_map(metrics: Metrics, who: str) -> dict[str, str] | None:
    """``metrics=`` as {reported name: the framework's name}; None: every metric under its own name."""
    if metrics is None:
        return None
    if isinstance(metrics, str):
        return {metrics: metrics}
    out = dict(metrics) if isinstance(metrics, Mapping) else {m: m for m in metrics}
    if not out or not all(isinstance(k, str) and isinstance(v, str) for k, v in out.items()):
        raise ValueError(f"{who}: metrics must be None, a metric name, a list of names or a dict "
                         f"{{reported name: {who.split('.')[0]} name}}, got {metrics!r}")
    return out


def number(v: Any) -> float | None:
    """A metric as a float (tensors, numpy scalars, (mean, std) pairs); None when it is not one."""
    if isinstance(v, (tuple, list)) and v:
        v = v[0]
    try:
        out = float(v.item() if hasattr(v, "item") else v)
    except (TypeError, ValueError, RuntimeError):
        return None
    return out


class MetricReporter:
    """Reports chosen metrics at a step to the running trial; True when the trial's scheduler stops it."""

    def __init__(self, metrics: Metrics, trial: Trial | None, who: str) -> None:
        self.metrics = metric_map(metrics, who)
        self.trial = trial
        self.who = who
        #: the step at which the trial was stopped (None: it ran to the end)
        self.stopped_step: int | None = None

    def select(self, available: Mapping[str, Any]) -> dict[str, float]:
        values = {k: number(v) for k, v in available.items()}
        if self.metrics is None:
            return {k: v for k, v in values.items() if v is not None}
        missing = [name for name in self.metrics.values() if values.get(name) is None]
        if missing:
            raise ValueError(f"{self.who}: metric(s) {missing} are not among the logged ones {sorted(available)}")
        return {reported: values[name] for reported, name in self.metrics.items()}  # type: ignore[misc]

    def report(self, step: int, available: Mapping[str, Any]) -> bool:
        trial = self.trial or current_trial()
        if trial is None:
            raise RuntimeError(f"{self.who} reports to the running tunesmith trial, and none runs in this thread; "
                               "use it inside an objective or trainable, or pass trial=")
        values: dict[str, Any] = self.select(available)
        if not values:
            return False
        values.setdefault("training_iteration", step)
        trial.report(step, **values)
        if trial.should_stop():
            self.stopped_step = step
            return True
        return False
