"""BOHB: a TPE model fitted on the results at one budget, paired with Hyperband (Falkner et al. 2018).

Each suggestion fits the multivariate TPE on the largest budget (rung of the
study's scheduler, or ``max_t``) at which at least ``min_points_in_model`` trials
have a result, using each trial's result there (the first report at or past the
budget, as the scheduler records it); a ``random_fraction`` of suggestions is drawn
at random. Use it with :class:`~tunesmith.schedulers.HyperBandScheduler` (or ASHA)::

    study = tunesmith.create_study(metric="loss", mode="min", sampler=BOHBSampler(seed=0),
                                   scheduler=HyperBandScheduler(max_t=27, reduction_factor=3))

>>> import tunesmith
>>> from tunesmith.schedulers import HyperBandScheduler
>>> def objective(trial):
...     x = trial.suggest_float("x", -3, 3)
...     for step in range(1, 10):
...         trial.report(step, loss=(x - 1) ** 2 + 1 / step)
...         if trial.should_stop():
...             break
...     return trial.last_result["loss"]
>>> study = tunesmith.create_study(metric="loss", sampler=BOHBSampler(seed=0),
...                                scheduler=HyperBandScheduler(max_t=9, reduction_factor=3))
>>> study.optimize(objective, n_trials=40)
>>> abs(study.best_params["x"] - 1) < 0.3
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import numpy as np

from tunesmith.distributions import Distribution
from tunesmith.history import History, ReportLog
from tunesmith.samplers._base import next_grid_point
from tunesmith.samplers.tpe import TPESampler
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["BOHBSampler"]


class _Rungs(Protocol):
    """What BOHB reads of a Hyperband-style scheduler."""

    max_t: float
    metric: str
    mode: str

    def milestones(self, bracket: int) -> Sequence[float]: ...

    def time_of(self, step: int, metrics: Mapping[str, Any]) -> float: ...


class BOHBSampler(TPESampler):
    """TPE per budget (BOHB's model); without a scheduler it is plain TPE on final values.

    Args:
        min_points_in_model: results a budget needs before its model is used
            (default: number of parameters + 1, as in BOHB).
        random_fraction: share of suggestions drawn at random (BOHB: 1/3).
        Other arguments as :class:`TPESampler`.
    """

    def __init__(
        self, seed: int | None = None, min_points_in_model: int | None = None, random_fraction: float = 1 / 3,
        n_ei_candidates: int = 24, prior_weight: float = 1.0, gamma_fraction: float = 0.15,
    ) -> None:
        if min_points_in_model is not None and min_points_in_model < 2:
            raise ValueError(f"min_points_in_model must be at least 2, got {min_points_in_model!r}")
        if not 0 <= random_fraction <= 1:
            raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction!r}")
        super().__init__(seed, n_startup_trials=min_points_in_model or 2, n_ei_candidates=n_ei_candidates,
                         prior_weight=prior_weight, gamma_fraction=gamma_fraction)
        self.min_points_in_model = min_points_in_model
        self.random_fraction = random_fraction
        self._reports: ReportLog | None = None
        self._scheduler: _Rungs | None = None

    def use_reports(self, reports: ReportLog, scheduler: object) -> None:
        """A scheduler with rungs (Hyperband, ASHA) gives the budgets to fit a model at."""
        if all(hasattr(scheduler, a) for a in ("milestones", "max_t", "time_of", "metric", "mode")):
            self._reports, self._scheduler = reports, cast(_Rungs, scheduler)

    def __getstate__(self) -> dict[str, object]:
        # The report log reads this process's storage: a worker's study binds its own.
        return {**super().__getstate__(), "_reports": None, "_scheduler": None}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"seed": self.seed, "min_points_in_model": self.min_points_in_model,
                "random_fraction": self.random_fraction, "n_ei_candidates": self.n_ei_candidates,
                "prior_weight": self.prior_weight, "gamma_fraction": self.gamma_fraction}

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        if rng.random() < self.random_fraction:
            return super(TPESampler, self).suggest(space, history, number, rng)  # grid axes only
        view, scheduler = self._reports, self._scheduler
        if view is None or scheduler is None:
            return super().suggest(space, history, number, rng)
        needed = self.min_points_in_model or (sum(1 for d in space.values() if d.numeric_encoding) + 1)
        self.n_startup_trials = needed
        view.refresh()
        budgets = sorted(set(scheduler.milestones(0)) | {scheduler.max_t}, reverse=True)
        by_id = view.trials()
        for budget in budgets:
            at_budget = self._results_at(view, scheduler, budget, by_id)
            if sum(t.state == TrialState.COMPLETE for t in at_budget) >= needed:
                direction = "maximize" if scheduler.mode == "max" else "minimize"
                proposal = super().suggest(space, _history_of(at_budget, [direction]), number, rng)
                # The model sees one budget's trials, renumbered; the grid's rounds are the study's.
                axes = self.grid_axes(space)
                return {**proposal, **next_grid_point(axes, space, history, number)} if axes else proposal
        return super(TPESampler, self).suggest(space, history, number, rng)

    @staticmethod
    def _results_at(
        view: ReportLog, scheduler: _Rungs, budget: float, by_id: Mapping[int, FrozenTrial],
    ) -> list[FrozenTrial]:
        """Trials with a result at ``budget`` (COMPLETE, that value), and the running ones below it."""
        out = []
        for trial_id, reports in view.reports.items():
            trial = by_id.get(trial_id)
            if trial is None:
                continue
            value = None
            for step, metrics in reports:
                if scheduler.time_of(step, metrics) >= budget:
                    value = metrics.get(scheduler.metric)
                    break
            if value is not None:
                out.append(trial.evolve(state=TrialState.COMPLETE, values=[float(value)]))
            elif trial.state == TrialState.RUNNING:
                out.append(trial)
        for trial in by_id.values():
            if trial.trial_id not in view.reports and trial.state == TrialState.RUNNING:
                out.append(trial)
        return out


def _history_of(trials: list[FrozenTrial], directions: list[str]) -> History:
    renumbered = [t.evolve(number=i) for i, t in enumerate(trials)]
    return History(lambda v: (renumbered, 1) if v == 0 else ([], v), directions)
