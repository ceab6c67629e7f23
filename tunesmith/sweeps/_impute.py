"""W&B's ``metric.impute`` and ``metric.impute_while_running``: what a model-based sampler sees of
runs that failed, and of runs still going.

W&B's bayes search (``sweeps/bayes_search.py``) fits its model on every finished run and,
instead of leaving the others out:

- a run that failed or crashed (here FAILED, or COMPLETE without a finite value) counts with
  the ``impute`` value: ``worst`` (the default) is the worst value any ended run reached,
  ``best`` the failed run's own best value, ``latest`` its last one (``best``/``latest`` of
  a run that reported nothing: 0.0; ``worst`` when no run reported anything: 0.0);
- with ``impute_while_running`` (``best``, ``worst`` or ``latest``; ``false``: off, the
  default) a running run counts too: with its best value so far, or, before it reports,
  with that strategy's imputed value. Otherwise running runs are only hedged against.

:class:`ImputingSampler` wraps the sweep's sampler (``bayes``, ``gp``, ``tpe``, ``cmaes``,
``auto``; grid and random read no values) and hands it the study's trials so rewritten:
the study's record itself is unchanged (a failed run stays FAILED; ``best_value`` and
``metric.target`` read real values only). Values come from the runs' reports, read
incrementally when the agent attaches the storage (:meth:`ImputingSampler.attach`), else
from each trial's last report.

Where it differs: a finished run counts with its final value (tunesmith's trial value),
where W&B's bayes takes the best value the run ever logged.

>>> from tunesmith.record import FrozenTrial, TrialState
>>> s = ImputingSampler({"class": "tunesmith.samplers.RandomSampler", "kwargs": {"seed": 0}}, "val", "worst")
>>> trials = [FrozenTrial(0, TrialState.COMPLETE, values=[0.5]), FrozenTrial(1, TrialState.COMPLETE, values=[0.9]),
...           FrozenTrial(2, TrialState.FAILED)]
>>> [(t.state.name, t.values) for t in s.imputed(trials, "minimize")]
[('COMPLETE', [0.5]), ('COMPLETE', [0.9]), ('COMPLETE', [0.9])]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.history import History, ReportLog
from tunesmith.record import FrozenTrial, Report, TrialState
from tunesmith.samplers import Sampler, sampler_from_spec

__all__ = ["IMPUTE", "IMPUTE_WHILE_RUNNING", "ImputingSampler"]

IMPUTE = ("worst", "best", "latest")
IMPUTE_WHILE_RUNNING = ("false", "worst", "best", "latest")
_FAILED_VALUE = 0.0  # W&B's value when there is nothing to impute from
_ENDED = (TrialState.COMPLETE, TrialState.FAILED, TrialState.PRUNED)


class ImputingSampler(Sampler):
    """The sweep's sampler, fed failed (and, if asked, running) runs with W&B's imputed values.

    Args:
        base: the wrapped sampler's spec (``Sampler.spec()``), or the sampler.
        metric: the sweep's metric (read from the runs' reports).
        impute: ``worst``, ``best`` or ``latest``.
        impute_while_running: ``false`` (off), ``worst``, ``best`` or ``latest``.
    """

    def __init__(self, base: Mapping[str, Any] | Sampler, metric: str, impute: str = "worst",
                 impute_while_running: str = "false") -> None:
        self.base = base if isinstance(base, Sampler) else sampler_from_spec(base)
        super().__init__(self.base.seed)
        if impute not in IMPUTE:
            raise ValueError(f"impute must be one of {', '.join(IMPUTE)}, got {impute!r}")
        if impute_while_running not in IMPUTE_WHILE_RUNNING:
            raise ValueError(f"impute_while_running must be one of {', '.join(IMPUTE_WHILE_RUNNING)}, "
                             f"got {impute_while_running!r}")
        self.metric = metric
        self.impute = impute
        self.impute_while_running = impute_while_running
        self.lazy_imports = self.base.lazy_imports
        self._fetch: Callable[[int], list[Report]] | None = None
        self._cursor = 0
        self._curves: dict[int, list[float]] = {}

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"base": self.base.spec(), "metric": self.metric, "impute": self.impute,
                "impute_while_running": self.impute_while_running}

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_fetch": None, "_cursor": 0, "_curves": {}}

    def __repr__(self) -> str:
        return (f"ImputingSampler({self.base!r}, impute={self.impute!r}, "
                f"impute_while_running={self.impute_while_running!r})")

    def attach(self, fetch_reports: Callable[[int], list[Report]]) -> None:
        """Read the runs' metric curves from ``fetch_reports(after_report_id)`` (the agent's storage)."""
        self._fetch = fetch_reports
        self._cursor = 0
        self._curves = {}

    # -- what the wrapped sampler sees ------------------------------------------------
    def _curve(self, t: FrozenTrial) -> list[float]:
        curve = self._curves.get(t.trial_id)
        if curve:
            return curve
        v = t.last_result.get(self.metric)
        return [float(v)] if v is not None and _finite(v) else []

    def _sync(self) -> None:
        if self._fetch is None:
            return
        for r in self._fetch(self._cursor):
            self._cursor = max(self._cursor, r.report_id)
            v = r.metrics.get(self.metric)
            if v is not None and _finite(v):
                self._curves.setdefault(r.trial_id, []).append(float(v))

    def imputed(self, trials: Sequence[FrozenTrial], direction: str) -> list[FrozenTrial]:
        """``trials`` as the wrapped sampler sees them (W&B's ``_construct_gp_data``)."""
        maximize = direction == "maximize"
        best_of: Callable[[Sequence[float]], float] = max if maximize else min
        worst_of: Callable[[Sequence[float]], float] = min if maximize else max
        worst_values = []
        for t in trials:
            if t.state in _ENDED:
                curve = self._curve(t)
                if not curve and t.values and _finite(t.values[0]):
                    curve = [float(t.values[0])]
                if curve:
                    worst_values.append(worst_of(curve))
        worst = worst_of(worst_values) if worst_values else _FAILED_VALUE

        def impute(t: FrozenTrial, strategy: str) -> float:
            curve = self._curve(t)
            if strategy == "worst":
                return worst
            if not curve:
                return _FAILED_VALUE
            return best_of(curve) if strategy == "best" else curve[-1]

        out = []
        for t in trials:
            if t.state == TrialState.FAILED or (t.state == TrialState.COMPLETE and not (
                    t.values and _finite(t.values[0]))):
                value = impute(t, self.impute) if t.state == TrialState.FAILED else worst
                out.append(t.evolve(state=TrialState.COMPLETE, values=[value]))
            elif t.state == TrialState.RUNNING and self.impute_while_running != "false":
                curve = self._curve(t)
                value = best_of(curve) if curve else impute(t, self.impute_while_running)
                out.append(t.evolve(state=TrialState.COMPLETE, values=[value]))
            else:
                out.append(t)
        return out

    def _view(self, history: History) -> History:
        self._sync()
        trials = self.imputed(history.trials, history.directions[0] if history.directions else "minimize")
        done = [False]

        def fetch(version: int) -> tuple[list[FrozenTrial], int]:
            if done[0]:
                return [], 1
            done[0] = True
            return trials, 1

        return History(fetch, history.directions)

    # -- the Sampler contract, delegated ------------------------------------------------
    def rng_for(self, number: int) -> np.random.Generator:
        return self.base.rng_for(number)

    @property
    def hedges_running(self) -> bool:
        return self.base.hedges_running

    def use_reports(self, reports: ReportLog, scheduler: object) -> None:
        self.base.use_reports(reports, scheduler)

    def plan(self, n_trials: int | None, n_workers: int | None) -> None:
        self.base.plan(n_trials, n_workers)

    def max_trials(self, space: Mapping[str, Distribution]) -> int | None:
        return self.base.max_trials(space)

    def grid_axes(self, space: Mapping[str, Distribution]) -> dict[str, CategoricalDistribution]:
        return self.base.grid_axes(space)

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        return self.base.suggest(space, self._view(history), number, rng)

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        return self.base.suggest_one(name, distribution, self._view(history), number, rng, params)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
