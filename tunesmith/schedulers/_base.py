"""The scheduler contract: decisions on running trials, computed from the stored reports.

A scheduler sees every intermediate report of the study, in the order they were
written (:class:`~tunesmith.history.ReportLog`), and answers each new report of a trial with a
:class:`Decision`. Because its state is a fold over the stored record, every worker
process, machine, or resumed driver that reads the same storage decides the same.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunesmith._spec import class_path, from_spec
from tunesmith.history import ReportLog
from tunesmith.record import Report

__all__ = ["Decision", "Exploit", "FIFOScheduler", "ReportLog", "Scheduler", "scheduler_from_spec"]

_ITERATION_NAMES = ("training_iteration", "step", "iteration", "epoch")


class Decision(enum.Enum):
    """What a trial does after a report."""

    CONTINUE = "continue"
    #: stop early: the trial ends PRUNED with its last result
    STOP = "stop"
    #: its budget is spent (``max_t`` reached): the trial ends COMPLETE with its last result
    FINISH = "finish"
    #: wait at its checkpoint (PAUSED) until the scheduler promotes it (see ``Scheduler.promotable``)
    PAUSE = "pause"


@dataclass(frozen=True)
class Exploit:
    """PBT's decision: end this trial and continue its line with ``params`` from a checkpoint.

    The successor is a new trial with fixed ``params`` that starts from ``checkpoint``
    (a directory written by trial ``source``) at ``step``. ``result`` is what ``source``
    reported at ``step``: the successor's result if it ends without reporting (it was
    cloned at the last step, with nothing left to train).
    """

    params: dict[str, Any]
    source: int
    checkpoint: str | None
    step: int
    result: dict[str, Any] | None = None


#: the name of :class:`~tunesmith.history.ReportLog` before it moved to the record layer
StudyView = ReportLog


class Scheduler:
    """Base class: continue every trial. Subclasses override :meth:`ingest` and :meth:`decide`.

    ``metric``/``mode`` default to the study's first metric and direction.
    ``time_attr`` names the reported metric that measures progress; the names
    ``training_iteration``/``step``/``iteration``/``epoch`` fall back to the report's step.
    """

    #: the scheduler needs trials to save checkpoints (PBT: to clone them)
    needs_checkpoints = False
    #: the scheduler may PAUSE trials and resume them later (:meth:`promotable`)
    pauses = False
    #: the scheduler changes trials' parameters as they train (PBT), so a study without a
    #: sampler of its own draws its population at random instead of fitting a model to it
    random_population = False
    #: a report without the scheduler's metric: ``"raise"`` (a clear error, tunesmith's default) or
    #: ``"continue"`` (the trial goes on, as Ray Tune's schedulers do; ``tunesmith.run`` sets it)
    missing_metric = "raise"

    def __init__(self, metric: str | None = None, mode: str | None = None, time_attr: str = "training_iteration"):
        if mode is not None and mode not in ("min", "max"):
            raise ValueError(f"{type(self).__name__}: mode must be 'min' or 'max', got {mode!r}")
        self.metric = metric
        self.mode = mode
        self.time_attr = time_attr
        self._bound = False

    # -- set-up ---------------------------------------------------------------------------
    def bind(self, metric_names: Sequence[str], directions: Sequence[str]) -> None:
        """Take the study's metric and direction where none were given; reset the state."""
        if self.metric is None:
            if not metric_names:
                raise ValueError(f"{type(self).__name__} needs metric= (the study has no metric)")
            self.metric = metric_names[0]
        if self.mode is None:
            i = list(metric_names).index(self.metric) if self.metric in metric_names else 0
            self.mode = "max" if directions and directions[min(i, len(directions) - 1)] == "maximize" else "min"
        self._bound = True
        self.reset()

    def reset(self) -> None:
        """Forget the folded state (a new view starts from the first report)."""

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"class": class_path(self), "kwargs": self._spec_kwargs()}
        if self.missing_metric != "raise":
            out["missing_metric"] = self.missing_metric
        return out

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"metric": self.metric, "mode": self.mode, "time_attr": self.time_attr}

    # -- decisions --------------------------------------------------------------------------
    def ingest(self, view: ReportLog, report: Report) -> None:
        """Fold one stored report into the scheduler's state (called in write order)."""

    def decide(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision | Exploit:
        """The decision for a trial that just reported ``metrics`` at ``step``."""
        return Decision.CONTINUE

    def promotable(self, view: ReportLog, final: bool = False) -> list[int]:
        """PAUSED trials (ids) that should run on now, best first; the worker that resumes one runs it.

        ``final``: no new trial will start and none is running, so no later result can
        promote a paused one: the scheduler may relax its rule (ASHA promotes the best).
        """
        return []

    def on_report(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision | Exploit:
        """Bring the view up to date (folding the new reports), then decide for this trial."""
        view.refresh()
        return self.decide(view, trial_id, step, metrics)

    # -- helpers for subclasses ---------------------------------------------------------
    def require_metric(self, metrics: Mapping[str, Any]) -> bool:
        """Whether the report has the metric the scheduler compares; when it has not, a clear
        error, or False under ``missing_metric="continue"`` (the caller lets the trial go on)."""
        if self.metric in metrics:
            return True
        if self.missing_metric == "continue":
            return False
        raise ValueError(
                f"{type(self).__name__} compares trials by {self.metric!r}, but this report has only "
                f"{sorted(metrics)}; report {self.metric!r} or pass metric= to the scheduler"
            )

    def time_of(self, step: int, metrics: Mapping[str, Any]) -> float:
        """Progress of a report: ``metrics[time_attr]``, or its step for iteration-like names."""
        t = metrics.get(self.time_attr)
        if t is None:
            if self.time_attr in _ITERATION_NAMES:
                return float(step)
            raise KeyError(
                f"{type(self).__name__}: time_attr {self.time_attr!r} is not in the reported metrics "
                f"{sorted(metrics)}; report it, or use time_attr='training_iteration'"
            )
        return float(t)

    def score(self, metrics: Mapping[str, Any]) -> float | None:
        """The metric as a number where larger is better (None when absent or NaN)."""
        assert self.metric is not None, "bind() the scheduler to a study first"
        v = metrics.get(self.metric)
        if v is None:
            return None
        v = float(v)
        if math.isnan(v):
            return None
        return v if self.mode == "max" else -v


class FIFOScheduler(Scheduler):
    """Runs every trial to the end (Ray Tune's default)."""


def scheduler_from_spec(spec: Mapping[str, Any]) -> Scheduler:
    """Rebuild a scheduler from :meth:`Scheduler.spec`."""
    scheduler = from_spec(spec, Scheduler, "scheduler")
    missing = spec.get("missing_metric", "raise")
    if missing not in ("raise", "continue"):
        raise ValueError(f"the study's scheduler spec has missing_metric={missing!r}, not 'raise' or 'continue'")
    scheduler.missing_metric = missing
    return scheduler

