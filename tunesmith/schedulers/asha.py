"""Asynchronous successive halving (ASHA) and asynchronous Hyperband.

Rungs sit at ``grace_period * reduction_factor**k`` (below ``max_t``). A trial that
reaches a rung continues only if its result there is in the top ``1/reduction_factor``
of the results recorded at that rung so far. Otherwise:

* if it saved a checkpoint since its previous report, it is PAUSED (the *promotion*
  form of Li et al. 2020): whenever it is in the top ``1/reduction_factor`` of its rung
  later, as more trials arrive, a free worker resumes it from that checkpoint
  before starting a new trial;
* if not, it stops (the *stopping* form, as Ray Tune's ``ASHAScheduler``); so does
  every trial with ``promotion=False``.

With several ``brackets``, each trial is assigned one (by its number); bracket ``s``
starts its rungs at ``grace_period * reduction_factor**s``.

>>> import tunesmith
>>> from tunesmith.schedulers import ASHAScheduler
>>> def objective(trial):
...     rate = trial.suggest_float("rate", 0.01, 1.0)
...     for epoch in range(1, 28):
...         trial.report(epoch, loss=1.0 / (rate * epoch))
...         if trial.should_stop():
...             break
...     return trial.last_result["loss"]
>>> study = tunesmith.create_study(metric="loss", mode="min", seed=0,
...                                scheduler=ASHAScheduler(max_t=27, grace_period=1, reduction_factor=3))
>>> study.optimize(objective, n_trials=30)
>>> study.count()[tunesmith.TrialState.PRUNED] > 10
True
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from tunesmith.history import ReportLog
from tunesmith.record import Report
from tunesmith.schedulers._base import Decision, Scheduler
from tunesmith.trial import TrialState

__all__ = ["ASHAScheduler", "AsyncHyperBandScheduler", "HyperBandScheduler", "HyperbandPruner",
           "SuccessiveHalvingPruner"]

_MAX_RUNGS = 40  # for an unbounded max_t (Optuna's pruners)


class _Rung:
    """The scores recorded at one rung, kept sorted (ascending) so each decision is O(log n)."""

    __slots__ = ("milestone", "scores", "seen")

    def __init__(self, milestone: float) -> None:
        self.milestone = milestone
        self.scores: list[float] = []  # sorted, ascending (larger is better)
        self.seen: dict[int, float] = {}  # trial_id -> its score here

    def record(self, trial_id: int, score: float) -> None:
        self.seen[trial_id] = score
        bisect.insort(self.scores, score)

    def in_top(self, score: float, reduction_factor: float, at_least_one: bool = False) -> bool:
        """Whether ``score`` is among the best ``floor(n / reduction_factor)`` recorded here."""
        k = int(len(self.scores) // reduction_factor)
        if at_least_one:
            k = max(k, 1)
        return k > 0 and score >= self.scores[len(self.scores) - k]

    def cutoff(self, reduction_factor: float) -> float | None:
        """The ``1 - 1/reduction_factor`` quantile of the scores (linear interpolation, as numpy's)."""
        n = len(self.scores)
        if not n:
            return None
        pos = (1 - 1 / reduction_factor) * (n - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, n - 1)
        return self.scores[lo] + (self.scores[hi] - self.scores[lo]) * (pos - lo)


class ASHAScheduler(Scheduler):
    """Asynchronous successive halving with Ray Tune's arguments.

    Args:
        time_attr: the reported progress measure (default: the report's step).
        metric / mode: what to compare at a rung; default the study's objective.
        max_t: a trial that reaches this time finishes (COMPLETE).
        grace_period: the first rung; no trial stops before it.
        reduction_factor: keep the top ``1/reduction_factor`` at each rung.
        brackets: number of brackets (different first rungs), as in Ray Tune.
        stop_last_trials: finish trials at ``max_t`` (False: let them run on).
        promotion: pause (rather than stop) a trial that has a checkpoint, and resume it
            if it makes the cut later (False: always stop, as Ray Tune does).
    """

    def __init__(
        self, time_attr: str = "training_iteration", metric: str | None = None, mode: str | None = None,
        max_t: float = 100, grace_period: float = 1, reduction_factor: float = 4, brackets: int = 1,
        stop_last_trials: bool = True, promotion: bool = True,
    ) -> None:
        super().__init__(metric, mode, time_attr)
        self.promotion = self.pauses = promotion
        if not grace_period > 0:
            raise ValueError(f"grace_period must be positive, got {grace_period!r}")
        if not max_t >= grace_period:
            raise ValueError(f"max_t ({max_t!r}) must be at least grace_period ({grace_period!r})")
        if not reduction_factor > 1:
            raise ValueError(f"reduction_factor must be greater than 1, got {reduction_factor!r}")
        if isinstance(brackets, bool) or not isinstance(brackets, int) or brackets < 1:
            raise ValueError(f"brackets must be a positive integer, got {brackets!r}")
        self.max_t = max_t
        self.grace_period = grace_period
        self.reduction_factor = reduction_factor
        self.brackets = brackets
        self.stop_last_trials = stop_last_trials
        self.reset()

    def _spec_kwargs(self) -> dict[str, Any]:
        return {**super()._spec_kwargs(), "max_t": self.max_t, "grace_period": self.grace_period,
                "reduction_factor": self.reduction_factor, "brackets": self.brackets,
                "stop_last_trials": self.stop_last_trials, "promotion": self.promotion}

    # -- brackets -----------------------------------------------------------------------
    def milestones(self, bracket: int) -> list[float]:
        """Rung times of ``bracket``, lowest first."""
        out = []
        for k in range(_MAX_RUNGS):
            m = self.grace_period * self.reduction_factor ** (k + bracket)
            if m >= self.max_t:
                break
            out.append(m)
        return out

    def bracket_weights(self) -> np.ndarray:
        """Probability of each bracket (Ray Tune's: a softmax of the rung counts)."""
        sizes = np.array([len(self.milestones(s)) for s in range(self.brackets)], dtype=float)
        w = np.exp(sizes - sizes.max())
        return w / w.sum()

    def bracket_of(self, number: int) -> int:
        """The bracket of trial ``number``: fixed by the number, so every worker agrees."""
        if self.brackets == 1:
            return 0
        u = np.random.default_rng([0x45A4, number]).random()
        index = int(np.searchsorted(np.cumsum(self._weights), u, side="right"))
        return min(index, self.brackets - 1)

    def reset(self) -> None:
        self._weights = self.bracket_weights()
        self._rungs = [[_Rung(m) for m in reversed(self.milestones(s))] for s in range(self.brackets)]
        # trial_id -> (report index, decision, the stopping form's decision for a trial without checkpoint)
        self._decisions: dict[int, tuple[int, Decision, Decision]] = {}
        self._bracket: dict[int, int] = {}
        self._last_rung: dict[int, _Rung] = {}  # trial_id -> the highest rung it reached

    # -- the fold ---------------------------------------------------------------------------
    def ingest(self, view: ReportLog, report: Report) -> None:
        bracket = self._bracket.get(report.trial_id)
        if bracket is None:
            bracket = self._bracket[report.trial_id] = self.bracket_of(view.trial(report.trial_id).number)
        t = self.time_of(report.step, report.metrics)
        score = self.score(report.metrics)
        action = Decision.FINISH if (self.stop_last_trials and t >= self.max_t) else Decision.CONTINUE
        stopping = action
        for rung in self._rungs[bracket]:  # highest rung first
            if t < rung.milestone or report.trial_id in rung.seen:
                continue
            cutoff = rung.cutoff(self.reduction_factor)
            if cutoff is not None and score is not None and score < cutoff:
                stopping = Decision.STOP
            if score is not None:
                rung.record(report.trial_id, score)
                self._last_rung[report.trial_id] = rung
            if not self.promotion:
                action = stopping
            elif action is not Decision.FINISH and (score is None or not rung.in_top(score, self.reduction_factor)):
                action = Decision.PAUSE  # continue only when in the top 1/rf so far; else wait at the checkpoint
            break
        index = len(view.reports[report.trial_id]) - 1
        self._decisions[report.trial_id] = (index, action, stopping)

    def decide(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision:
        if not self.require_metric(metrics):  # a report without the metric (Ray: continue)
            return Decision.CONTINUE
        reports = view.reports.get(trial_id, ())
        index, action, stopping = self._decisions.get(trial_id, (-1, Decision.CONTINUE, Decision.CONTINUE))
        if index != len(reports) - 1:
            return Decision.CONTINUE
        if action is Decision.PAUSE and not self._checkpointed(view, trial_id, reports):
            return stopping
        return action

    def _checkpointed(self, view: ReportLog, trial_id: int, reports: Any) -> bool:
        """Whether the trial saved a checkpoint since its previous report (so it can be resumed)."""
        if view.checkpoints is None:
            return False
        latest = view.checkpoints.latest(view.trial(trial_id).number)
        if latest is None:
            return False
        return len(reports) < 2 or latest.step >= reports[-2][0]

    def promotable(self, view: ReportLog, final: bool = False) -> list[int]:
        # At the end of a finite budget the top rung may never see reduction_factor trials:
        # then the best paused trial of each rung goes on, so that some trial reaches max_t.
        if not self.promotion:
            return []
        view.refresh()
        out = []
        for trial_id, trial in view.trials().items():
            if trial.state != TrialState.PAUSED:
                continue
            rung = self._last_rung.get(trial_id)
            if rung is not None and rung.in_top(rung.seen[trial_id], self.reduction_factor, at_least_one=final):
                out.append((-rung.milestone, -rung.seen[trial_id], trial_id))
        return [tid for *_, tid in sorted(out)]


AsyncHyperBandScheduler = ASHAScheduler


class HyperBandScheduler(ASHAScheduler):
    """Hyperband, asynchronously: ASHA over all of Hyperband's brackets.

    Bracket ``s`` (first rung ``grace_period * reduction_factor**s``) receives trials
    in proportion to the number of configurations Hyperband gives it (Li et al. 2018),
    so most trials face aggressive early stopping and a few run long without it.
    """

    def __init__(
        self, time_attr: str = "training_iteration", metric: str | None = None, mode: str | None = None,
        max_t: float = 81, reduction_factor: float = 3, grace_period: float = 1, stop_last_trials: bool = True,
        promotion: bool = True,
    ) -> None:
        if not (max_t >= grace_period > 0) or not reduction_factor > 1:
            raise ValueError(
                f"HyperBandScheduler needs max_t >= grace_period > 0 and reduction_factor > 1, got "
                f"max_t={max_t!r}, grace_period={grace_period!r}, reduction_factor={reduction_factor!r}"
            )
        s_max = math.floor(math.log(max_t / grace_period) / math.log(reduction_factor) + 1e-9)
        super().__init__(
            time_attr, metric, mode, max_t, grace_period, reduction_factor, s_max + 1, stop_last_trials, promotion,
        )

    def _spec_kwargs(self) -> dict[str, Any]:
        kw = super()._spec_kwargs()
        kw.pop("brackets")
        return kw

    def bracket_weights(self) -> np.ndarray:
        s_max = self.brackets - 1
        eta = self.reduction_factor
        # Hyperband's n for the bracket with s_max - s halvings.
        n = np.array([math.ceil((s_max + 1) / (s_max - s + 1) * eta ** (s_max - s)) for s in range(s_max + 1)])
        return n / n.sum()


class SuccessiveHalvingPruner(ASHAScheduler):
    """Optuna's name and arguments for ASHA (rungs without an upper end; steps are the time)."""

    def __init__(
        self, min_resource: int | str = "auto", reduction_factor: int = 4, min_early_stopping_rate: int = 0,
        metric: str | None = None, mode: str | None = None,
    ) -> None:
        first = 1 if min_resource == "auto" else min_resource
        if not isinstance(first, (int, float)) or first <= 0:
            raise ValueError(f"min_resource must be 'auto' or a positive number, got {min_resource!r}")
        self.min_resource = min_resource
        self.min_early_stopping_rate = min_early_stopping_rate
        super().__init__("step", metric, mode, math.inf, first * reduction_factor**min_early_stopping_rate,
                         reduction_factor, 1, stop_last_trials=False)

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"min_resource": self.min_resource, "reduction_factor": self.reduction_factor,
                "min_early_stopping_rate": self.min_early_stopping_rate, "metric": self.metric, "mode": self.mode}


class HyperbandPruner(HyperBandScheduler):
    """Optuna's name and arguments for Hyperband (``max_resource``: the steps a full trial runs).

    ``max_resource="auto"`` (Optuna's default): no trial is stopped until one finishes
    (COMPLETE); then ``max_resource`` is its last step + 1 (the largest, when several have
    finished), and the reports so far are folded into the rungs in the order they were written.
    """

    def __init__(
        self, min_resource: int = 1, max_resource: int | str = "auto", reduction_factor: int = 3,
        metric: str | None = None, mode: str | None = None,
    ) -> None:
        auto = max_resource == "auto"
        if not auto and (isinstance(max_resource, bool) or not isinstance(max_resource, (int, float))):
            raise ValueError(
                "HyperbandPruner: max_resource must be 'auto' or the number of steps a trial runs to the end; "
                f"got {max_resource!r}"
            )
        if auto and (isinstance(min_resource, bool) or not isinstance(min_resource, (int, float)) or min_resource <= 0):
            raise ValueError(f"HyperbandPruner: min_resource must be a positive number, got {min_resource!r}")
        self.min_resource, self.max_resource = min_resource, max_resource
        #: the reports seen while max_resource is not known yet ("auto"), folded once it is
        self._pending: list[Report] = []
        limit: Any = min_resource if auto else max_resource
        super().__init__("step", metric, mode, limit, reduction_factor, min_resource, stop_last_trials=False)
        self._resolved = not auto

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"min_resource": self.min_resource, "max_resource": self.max_resource,
                "reduction_factor": self.reduction_factor, "metric": self.metric, "mode": self.mode}

    def reset(self) -> None:
        super().reset()
        self._pending = []

    def _resolve(self, view: ReportLog) -> bool:
        """Infer ``max_resource`` from the finished trials (Optuna's "auto"); whether it is known now."""
        if self._resolved:
            return True
        done = [t for t in view.trials().values() if t.state == TrialState.COMPLETE]
        steps = [t.last_step for t in done if t.last_step is not None]
        if not steps:
            return False
        pending = self._pending
        kept = {"metric": self.metric, "mode": self.mode, "missing_metric": self.missing_metric}
        HyperBandScheduler.__init__(self, "step", self.metric, self.mode, max(steps) + 1, self.reduction_factor,
                                    self.min_resource, stop_last_trials=False)
        self.__dict__.update(kept)
        self._bound, self._resolved = True, True
        for report in pending:
            super().ingest(view, report)
        return True

    def ingest(self, view: ReportLog, report: Report) -> None:
        if self._resolved:
            super().ingest(view, report)
        else:
            self._pending.append(report)

    def on_report(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision:
        view.refresh()
        if not self._resolve(view):
            return Decision.CONTINUE
        return self.decide(view, trial_id, step, metrics)

    def promotable(self, view: ReportLog, final: bool = False) -> list[int]:
        return super().promotable(view, final) if self._resolve(view) else []
