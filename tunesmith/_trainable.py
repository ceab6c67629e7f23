"""``tunesmith.run``'s trainables: a function of a config run as a trial, and ``stop=`` as a scheduler.

A trainable takes the trial's config (and, if it names the argument, the
``checkpoint_dir`` to resume from) and reports with :func:`tunesmith.report`.
``stop={"training_iteration": 10}`` (or a function of the trial id and result) ends a
trial COMPLETE once reached: :class:`StopWhen` wraps the run's scheduler and answers
FINISH when the scheduler itself would let the trial go on.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tunesmith.history import ReportLog
from tunesmith.record import Report
from tunesmith.schedulers import Decision, Exploit, Scheduler
from tunesmith.space import SearchSpace
from tunesmith.trial import Trial

__all__ = ["Stop", "StopWhen", "Trainable", "check_stop"]

Stop = Mapping[str, float] | Callable[[str, Mapping[str, Any]], bool]


@dataclass
class Trainable:
    """Adapts ``trainable(config[, checkpoint_dir])`` to an objective of a Trial (picklable for workers)."""

    trainable: Callable[..., Any]
    space: SearchSpace

    def __call__(self, trial: Trial) -> Any:
        config = self.space.config_for(trial.params)
        if _takes_checkpoint_dir(self.trainable):
            ckpt = trial.get_checkpoint()
            return self.trainable(config, checkpoint_dir=None if ckpt is None else ckpt.path)
        return self.trainable(config)


def _takes_checkpoint_dir(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "checkpoint_dir" in params


def check_stop(stop: Stop | None) -> None:
    """A clear error for a ``stop=`` that is neither a dict of thresholds nor a function."""
    if stop is None or callable(stop):
        return
    if not isinstance(stop, Mapping) or not all(isinstance(v, (int, float)) for v in stop.values()):
        raise TypeError(
            "stop= must be a dict of metric thresholds, e.g. {'training_iteration': 10}, or a function "
            f"(trial_id, result) -> bool; got {stop!r}"
        )


class StopWhen(Scheduler):
    """``scheduler`` (None: continue every trial), with trials finished (COMPLETE) once ``stop`` is reached.

    ``stop``: ``{metric: threshold}`` (reached when a reported metric is >= its threshold)
    or ``stop(trial_id, result) -> bool``. The study stores the wrapped scheduler's spec.
    """

    def __init__(self, stop: Stop, scheduler: Scheduler | None = None) -> None:
        check_stop(stop)
        self.stop = stop
        self.inner = scheduler
        self.needs_checkpoints = scheduler is not None and scheduler.needs_checkpoints
        self.pauses = scheduler is not None and scheduler.pauses
        self.random_population = scheduler is not None and scheduler.random_population

    def __getattr__(self, name: str) -> Any:
        """The wrapped scheduler's attributes (``metric``, ``mode``, Hyperband's ``milestones``...)."""
        inner = self.__dict__.get("inner")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)

    def bind(self, metric_names: Any, directions: Any) -> None:
        if self.inner is not None:
            self.inner.bind(metric_names, directions)

    def spec(self) -> dict[str, Any]:
        return {} if self.inner is None else self.inner.spec()

    def ingest(self, view: ReportLog, report: Report) -> None:
        if self.inner is not None:
            self.inner.ingest(view, report)

    def promotable(self, view: ReportLog, final: bool = False) -> list[int]:
        return [] if self.inner is None else self.inner.promotable(view, final)

    def on_report(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision | Exploit:
        decision = Decision.CONTINUE if self.inner is None else self.inner.on_report(view, trial_id, step, metrics)
        if decision is Decision.CONTINUE and self._reached(view, trial_id, metrics):
            return Decision.FINISH
        return decision

    def _reached(self, view: ReportLog, trial_id: int, result: Mapping[str, Any]) -> bool:
        if callable(self.stop):
            return bool(self.stop(str(view.trial(trial_id).number), result))
        return any(k in result and result[k] >= v for k, v in self.stop.items())
