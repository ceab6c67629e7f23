"""Median (and percentile) stopping: stop a trial whose best result so far is worse
than the median of the other trials at the same time.

Two flavours, as users know them: Ray Tune's :class:`MedianStoppingRule` (running
means of the trials that got that far) and Optuna's :class:`MedianPruner` /
:class:`PercentilePruner` (the values of completed trials at the same step).

>>> import tunesmith
>>> from tunesmith.schedulers import MedianPruner
>>> def objective(trial):
...     rate = trial.suggest_float("rate", 0.01, 1.0)
...     for step in range(20):
...         trial.report(1.0 / (rate * (step + 1)), step=step)  # Optuna's spelling
...         if trial.should_prune():
...             raise tunesmith.TrialPruned()
...     return 1.0 / (rate * 20)
>>> study = tunesmith.create_study(seed=1, pruner=MedianPruner(n_startup_trials=3))
>>> study.optimize(objective, n_trials=20)
>>> study.count()[tunesmith.TrialState.PRUNED] > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tunesmith.history import ReportLog
from tunesmith.record import Report
from tunesmith.schedulers._base import Decision, Scheduler
from tunesmith.trial import TrialState

__all__ = ["MedianPruner", "MedianStoppingRule", "NopPruner", "PercentilePruner"]


class _Curves(Scheduler):
    """Keeps each trial's (time, score) points, in report order, and each time's first scores."""

    def reset(self) -> None:
        self._times: dict[int, list[float]] = {}
        self._scores: dict[int, list[float]] = {}
        self._at: dict[float, dict[int, float]] = {}  # time -> trial -> its first score at that time

    def ingest(self, view: ReportLog, report: Report) -> None:
        score = self.score(report.metrics)
        if score is None:
            return
        now = self.time_of(report.step, report.metrics)
        self._times.setdefault(report.trial_id, []).append(now)
        self._scores.setdefault(report.trial_id, []).append(score)
        self._at.setdefault(now, {}).setdefault(report.trial_id, score)


class MedianStoppingRule(_Curves):
    """Ray Tune's median stopping rule (Golovin et al. 2017, Google Vizier).

    After ``grace_period``, a trial stops when its best result so far is worse than
    the median, over the other trials that reached the same time, of their running
    means up to that time; at least ``min_samples_required`` such trials are needed.
    """

    def __init__(
        self, time_attr: str = "time_total_s", metric: str | None = None, mode: str | None = None,
        grace_period: float = 60.0, min_samples_required: int = 3, min_time_slice: float = 0,
        hard_stop: bool = True,
    ) -> None:
        super().__init__(metric, mode, time_attr)
        if min_samples_required < 1:
            raise ValueError(f"min_samples_required must be >= 1, got {min_samples_required!r}")
        if not hard_stop:
            raise ValueError("hard_stop=False (pausing) is not supported: trials are stopped")
        self.grace_period = grace_period
        self.min_samples_required = min_samples_required
        self.min_time_slice = min_time_slice
        self.hard_stop = hard_stop
        self.reset()

    def _spec_kwargs(self) -> dict[str, Any]:
        return {**super()._spec_kwargs(), "grace_period": self.grace_period,
                "min_samples_required": self.min_samples_required, "min_time_slice": self.min_time_slice}

    def decide(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision:
        if not self.require_metric(metrics):  # a report without the metric (Ray: continue)
            return Decision.CONTINUE
        now = self.time_of(step, metrics)
        mine = self._scores.get(trial_id)
        if now <= self.grace_period or not mine:
            return Decision.CONTINUE
        means = []
        for other, times in self._times.items():
            if other == trial_id or times[-1] < now:
                continue
            upto = [s for t, s in zip(times, self._scores[other], strict=True) if t <= now]
            if upto:
                means.append(sum(upto) / len(upto))
        if len(means) < self.min_samples_required:
            return Decision.CONTINUE
        return Decision.STOP if max(mine) < float(np.median(means)) else Decision.CONTINUE


class PercentilePruner(_Curves):
    """Optuna's percentile pruner: stop a trial whose best value so far is worse than
    the ``percentile``-th best of the completed trials' values at the same step."""

    def __init__(
        self, percentile: float, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1,
        *, n_min_trials: int = 1, metric: str | None = None, mode: str | None = None,
    ) -> None:
        super().__init__(metric, mode, "step")
        if not 0 <= percentile <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {percentile!r}")
        if n_startup_trials < 0 or n_warmup_steps < 0 or interval_steps < 1 or n_min_trials < 1:
            raise ValueError(
                "need n_startup_trials >= 0, n_warmup_steps >= 0, interval_steps >= 1, n_min_trials >= 1; got "
                f"{n_startup_trials}, {n_warmup_steps}, {interval_steps}, {n_min_trials}"
            )
        self.percentile = percentile
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.interval_steps = interval_steps
        self.n_min_trials = n_min_trials
        self.reset()

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"percentile": self.percentile, "n_startup_trials": self.n_startup_trials,
                "n_warmup_steps": self.n_warmup_steps, "interval_steps": self.interval_steps,
                "n_min_trials": self.n_min_trials, "metric": self.metric, "mode": self.mode}

    def decide(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision:
        if not self.require_metric(metrics):  # a report without the metric (Ray: continue)
            return Decision.CONTINUE
        if step < self.n_warmup_steps or (step - self.n_warmup_steps) % self.interval_steps:
            return Decision.CONTINUE
        mine = self._scores.get(trial_id)
        if not mine:
            return Decision.CONTINUE
        states = view.trials()
        complete = sum(1 for t in self._times if t != trial_id and states[t].state == TrialState.COMPLETE)
        if complete < max(self.n_startup_trials, 1):
            return Decision.CONTINUE
        at_step = [s for other, s in self._at.get(step, {}).items()
                   if other != trial_id and states[other].state == TrialState.COMPLETE]
        if len(at_step) < self.n_min_trials:
            return Decision.CONTINUE
        # Scores are "larger is better": the p-th best of a minimisation is the (100-p)-th of -values.
        threshold = float(np.percentile(at_step, 100 - self.percentile))
        best = max(mine)
        return Decision.STOP if math.isfinite(best) and best < threshold else Decision.CONTINUE


class MedianPruner(PercentilePruner):
    """Optuna's median pruner: :class:`PercentilePruner` at the 50th percentile."""

    def __init__(
        self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1, *,
        n_min_trials: int = 1, metric: str | None = None, mode: str | None = None,
    ) -> None:
        super().__init__(50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials=n_min_trials,
                         metric=metric, mode=mode)

    def _spec_kwargs(self) -> dict[str, Any]:
        kw = super()._spec_kwargs()
        kw.pop("percentile")
        return kw


class NopPruner(Scheduler):
    """Optuna's name for a scheduler that never stops a trial."""
