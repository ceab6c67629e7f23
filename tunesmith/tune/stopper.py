"""Ray Tune's ``ray.tune.stopper``: objects for ``run(stop=...)`` that end trials, or the whole run.

A stopper is called as ``stopper(trial_id, result)`` after each report (True: the trial
ends COMPLETE) and ``stopper.stop_all()`` (True: no new trial starts, and each running
trial ends at its next report). Each worker process holds its own copy of the stopper,
so a stopper's memory covers the trials that ran in that process: one that compares
trials (:class:`ExperimentPlateauStopper`) sees all of them only with one worker
(``max_concurrent_trials=1``).

>>> from tunesmith import tune
>>> from tunesmith.tune.stopper import CombinedStopper, MaximumIterationStopper, TrialPlateauStopper
>>> def train(config):
...     for i in range(100):
...         tune.report(loss=1.0 / (i + 1))
>>> stop = CombinedStopper(MaximumIterationStopper(max_iter=20), TrialPlateauStopper(metric="loss", std=0.01))
>>> analysis = tune.run(train, config={}, stop=stop, verbose=0)
>>> analysis.trials[0].last_result["training_iteration"] < 20
True
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "CombinedStopper",
    "EarlyStopping",
    "ExperimentPlateauStopper",
    "FunctionStopper",
    "MaximumIterationStopper",
    "NoopStopper",
    "Stopper",
    "TimeoutStopper",
    "TrialPlateauStopper",
]


class Stopper:
    """Base class: override ``__call__(trial_id, result) -> bool`` and ``stop_all() -> bool``."""

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        """True if the trial should end (COMPLETE) after this result."""
        raise NotImplementedError(f"{type(self).__name__} must define __call__(trial_id, result)")

    def stop_all(self) -> bool:
        """True if the whole run should end."""
        raise NotImplementedError(f"{type(self).__name__} must define stop_all()")


class CombinedStopper(Stopper):
    """Stops a trial (the run) when any of ``stoppers`` does."""

    def __init__(self, *stoppers: Stopper) -> None:
        self._stoppers = stoppers

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        # Every stopper sees every result (no short cut): each keeps its own count.
        return any([s(trial_id, result) for s in self._stoppers])

    def stop_all(self) -> bool:
        return any(s.stop_all() for s in self._stoppers)


class NoopStopper(Stopper):
    """Stops nothing."""

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return False


class FunctionStopper(Stopper):
    """``function(trial_id, result) -> bool`` as a stopper."""

    def __init__(self, function: Callable[[str, Mapping[str, Any]], bool]) -> None:
        if not callable(function):
            raise TypeError(f"FunctionStopper needs a function (trial_id, result) -> bool, got {function!r}")
        self._fn = function

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        return bool(self._fn(trial_id, result))

    def stop_all(self) -> bool:
        return False

    @classmethod
    def is_valid_function(cls, fn: Any) -> bool:
        return callable(fn) and not isinstance(fn, Stopper)


class MaximumIterationStopper(Stopper):
    """Stops a trial at ``max_iter`` iterations (its ``training_iteration``, which a PBT
    continuation or a resumed trial carries on, rather than Ray's count of calls)."""

    def __init__(self, max_iter: int) -> None:
        if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
        self._max_iter = max_iter
        self._iter: dict[str, int] = {}

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        iteration = result.get("training_iteration", self._iter[trial_id])
        return bool(iteration >= self._max_iter)

    def stop_all(self) -> bool:
        return False


class ExperimentPlateauStopper(Stopper):
    """Ends the run once the ``top`` best results' standard deviation is at most ``std``
    for ``patience`` more results (the results this process saw; see the module)."""

    def __init__(self, metric: str, std: float = 0.001, top: int = 10, mode: str = "min", patience: int = 0) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if isinstance(top, bool) or not isinstance(top, int) or top <= 1:
            raise ValueError(f"top must be an integer greater than 1, got {top!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        if not isinstance(std, float) or std <= 0:
            raise ValueError(f"std must be a positive float, got {std!r}")
        self._metric, self._std, self._top, self._mode, self._patience = metric, std, top, mode, patience
        self._top_values: list[float] = []
        self._iterations = 0

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        self._top_values.append(float(result[self._metric]))
        ranked = sorted(self._top_values)
        self._top_values = ranked[: self._top] if self._mode == "min" else ranked[-self._top:]
        self._iterations = self._iterations + 1 if self.has_plateaued() else 0
        return self.stop_all()

    def has_plateaued(self) -> bool:
        return len(self._top_values) == self._top and float(np.std(self._top_values)) <= self._std

    def stop_all(self) -> bool:
        return self.has_plateaued() and self._iterations >= self._patience


#: Ray Tune's older name
EarlyStopping = ExperimentPlateauStopper


class TrialPlateauStopper(Stopper):
    """Stops a trial whose last ``num_results`` values of ``metric`` have a standard
    deviation under ``std`` (after ``grace_period`` results; past ``metric_threshold``
    in the direction of ``mode`` when given)."""

    def __init__(
        self, metric: str, std: float = 0.01, num_results: int = 4, grace_period: int = 4,
        metric_threshold: float | None = None, mode: str | None = None,
    ) -> None:
        if metric_threshold is not None and mode not in ("min", "max"):
            raise ValueError(f"with metric_threshold, mode must be 'min' or 'max', got {mode!r}")
        self._metric, self._std, self._num_results = metric, std, num_results
        self._grace_period, self._metric_threshold, self._mode = grace_period, metric_threshold, mode
        self._iter: dict[str, int] = {}
        self._results: dict[str, list[float]] = {}

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        value = result.get(self._metric)
        if value is None:
            return False
        values = self._results.setdefault(trial_id, [])
        values.append(float(value))
        del values[: -self._num_results]
        self._iter[trial_id] = self._iter.get(trial_id, 0) + 1
        if self._iter[trial_id] < self._grace_period or len(values) < self._num_results:
            return False
        if self._metric_threshold is not None:
            if (self._mode == "min" and value > self._metric_threshold) or (
                self._mode == "max" and value < self._metric_threshold
            ):
                return False
        return float(np.std(values)) < self._std

    def stop_all(self) -> bool:
        return False


class TimeoutStopper(Stopper):
    """Ends the run ``timeout`` seconds (a number or a ``timedelta``) after its first check
    (each worker process counts from its own first check; ``run(time_budget_s=...)`` is the
    driver's own limit)."""

    def __init__(self, timeout: float | datetime.timedelta) -> None:
        if isinstance(timeout, datetime.timedelta):
            self._timeout_seconds = timeout.total_seconds()
        elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            self._timeout_seconds = float(timeout)
        else:
            raise ValueError(f"timeout must be a number of seconds or a datetime.timedelta, got {timeout!r}")
        self._start: float | None = None

    def __call__(self, trial_id: str, result: Mapping[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        now = time.monotonic()
        if self._start is None:
            self._start = now
            return False
        return now - self._start >= self._timeout_seconds
