"""Early stopping for searches: how an estimator trains in steps, and the scheduler that stops candidates.

A candidate trains its cross-validation folds side by side, one step at a time, and reports
the mean test score after each step; ASHA or Hyperband stops the candidates that fall behind.
A step is one ``partial_fit`` pass over the training fold (``SGDClassifier``, ``MLPClassifier``,
``MultinomialNB``...), or, for ``warm_start`` estimators, a further slice of their resource:
``n_estimators`` (forests, ``GradientBoosting*``) or ``max_iter`` (``HistGradientBoosting*``, its
boosting rounds), growing to the candidate's own value by the last of ``max_iters`` steps. A
warm-start model is refitted only at the steps the scheduler reads (ASHA's rungs), growing
straight to the next rung's size in one ``fit`` call (the same trees as step by step), since
every call re-validates the data (and histogram boosting re-bins it).

>>> from sklearn.ensemble import GradientBoostingClassifier
>>> from sklearn.linear_model import SGDClassifier
>>> Incremental.detect(SGDClassifier()).method, Incremental.detect(GradientBoostingClassifier()).resource
('partial_fit', 'n_estimators')
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tunesmith.schedulers import ASHAScheduler, HyperBandScheduler, Scheduler

__all__ = ["Incremental", "checked_once", "make_scheduler", "report_steps"]


@dataclass(frozen=True)
class Incremental:
    """How to train one estimator in steps: ``method`` is ``"partial_fit"`` or ``"warm_start"``.

    ``prefix`` is ``"<last step>__"`` for a Pipeline (its final estimator warm-starts);
    ``resource`` the parameter that grows (warm start only).
    """

    method: str
    prefix: str = ""
    resource: str | None = None

    @classmethod
    def detect(cls, estimator: Any) -> Incremental:
        """The way ``estimator`` trains in steps; ValueError naming what it lacks otherwise."""
        if callable(getattr(estimator, "partial_fit", None)):
            return cls("partial_fit")
        final, prefix = estimator, ""
        steps = getattr(estimator, "steps", None)
        if isinstance(steps, list) and steps:  # a Pipeline: its final estimator warm-starts
            name, final = steps[-1]
            prefix = f"{name}__"
        params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
        if "warm_start" in params:
            if "n_estimators" in params:
                return cls("warm_start", prefix, "n_estimators")
            if "max_iter" in params and type(final).__name__.startswith("HistGradientBoosting"):
                return cls("warm_start", prefix, "max_iter")
        raise ValueError(
            f"early_stopping needs an estimator that trains in steps: one with partial_fit, or with "
            f"warm_start and n_estimators (forests, gradient boosting) or a HistGradientBoosting model; "
            f"{type(estimator).__name__} has neither"
        )

    def full_resource(self, estimator: Any) -> int | None:
        """The candidate's own ``n_estimators``/``max_iter`` (None for ``partial_fit``)."""
        if self.resource is None:
            return None
        value = estimator.get_params()[self.prefix + self.resource]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"early_stopping: {self.prefix + self.resource} must be a positive integer, got {value!r}")
        return value

    def prepare(self, estimator: Any) -> None:
        """Set ``warm_start=True`` on the estimator that grows (a no-op for ``partial_fit``)."""
        if self.method == "warm_start":
            estimator.set_params(**{f"{self.prefix}warm_start": True})

    @staticmethod
    def size(step: int, max_iters: int, full: int) -> int:
        """The resource (estimators, boosting rounds) a warm-start model has after step ``step``."""
        return max(1, math.ceil(full * step / max_iters))

    def step(
        self, estimator: Any, X: Any, y: Any, step: int, max_iters: int, full: int | None,
        fit_params: dict[str, Any], classes: Any,
    ) -> None:
        """Train ``estimator`` on (X, y) through step ``step`` (1-based) of ``max_iters``.

        A warm-start step trains the estimators (rounds) the model lacks for that step, if any:
        none when the resource does not grow, several when steps were skipped.
        """
        if self.method == "partial_fit":
            if classes is not None and step == 1:
                fit_params = {**fit_params, "classes": classes}
            if y is None:
                estimator.partial_fit(X, **fit_params)
            else:
                estimator.partial_fit(X, y, **fit_params)
            return
        assert full is not None and self.resource is not None
        name, size = self.prefix + self.resource, self.size(step, max_iters, full)
        if step > 1 and estimator.get_params()[name] == size:
            return  # the resource does not grow this step (fewer estimators than steps): nothing to train
        estimator.set_params(**{name: size})
        if y is None:
            estimator.fit(X, **fit_params)
        else:
            estimator.fit(X, y, **fit_params)


def make_scheduler(early_stopping: Any, max_iters: int, metric: str) -> Scheduler | None:
    """The scheduler for ``early_stopping``: False/None (none), True/"asha", "hyperband", or a Scheduler.

    The built-in ones stop rather than pause (a fold's model is not checkpointed): rungs at
    1, 3, 9... steps up to ``max_iters``, the top third going on. A Scheduler given is copied
    and compares ``metric`` (the refit score) unless it names its own.
    """
    if early_stopping is None or early_stopping is False:
        return None
    if early_stopping is True or early_stopping == "asha":
        return ASHAScheduler(metric=metric, mode="max", max_t=max_iters, grace_period=1, reduction_factor=3,
                             promotion=False)
    if early_stopping == "hyperband":
        return HyperBandScheduler(metric=metric, mode="max", max_t=max_iters, reduction_factor=3, promotion=False)
    if isinstance(early_stopping, Scheduler):
        chosen = copy.deepcopy(early_stopping)
        if chosen.metric is None:
            chosen.metric, chosen.mode = metric, "max"
        return chosen
    raise ValueError(
        f"early_stopping must be False, True, 'asha', 'hyperband' or a tunesmith scheduler, got {early_stopping!r}"
    )


def report_steps(scheduler: Scheduler | None, max_iters: int) -> frozenset[int] | None:
    """The steps whose scores the scheduler reads: ASHA's and Hyperband's rungs and the last step.

    Scoring every fold costs as much as a ``partial_fit`` pass on small data, so the steps
    between rungs are trained but not scored. None (every step) for other schedulers, and for
    rungs measured in anything but steps.
    """
    if not isinstance(scheduler, ASHAScheduler) or scheduler.time_attr not in ("training_iteration", "step"):
        return None
    steps = {max_iters}
    for bracket in range(scheduler.brackets):
        steps.update(math.ceil(m) for m in scheduler.milestones(bracket))
    return frozenset(s for s in steps if 1 <= s <= max_iters)


@contextlib.contextmanager
def checked_once(step: int) -> Iterator[None]:
    """From the second step on, skip scikit-learn's repeated checks of what the first step checked.

    Every step trains on the same arrays with the same parameters (a warm-start step changes only
    the resource, to a valid value), so re-validating the parameters and re-scanning the data for
    NaN/inf on each ``partial_fit``/``fit``/scoring call is repeated work: ``skip_parameter_validation``
    and ``assume_finite`` for the steps after the first. Step 1 runs every check.
    """
    if step <= 1:
        yield
        return
    from sklearn import config_context

    with config_context(assume_finite=True, skip_parameter_validation=True):
        yield
