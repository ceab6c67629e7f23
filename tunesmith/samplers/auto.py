"""The automatic sampler: picks a search algorithm from the problem at each suggestion.

The rules, in order (``n`` is the number of completed trials, d the number of parameters):

1. ``n`` below the start: random draws, the points the GP or TPE delegate draws with
   this seed (scrambled Sobol points for several objectives); parallel workers draw
   distinct points. The start is ``n_startup_trials`` if given, else 10; with a planned
   budget under 40 trials (:meth:`plan`), a quarter of it, at least d + 1 and at most 10.
   Why random, not Sobol: a GP settles in a local basin more often after a space-filling
   start, and Sobol coordinates mean nothing for parameters a conditional branch leaves
   out. Why shorter for a short budget: it leaves more trials to the model.
2. Several objectives: TPE (MOTPE) while ``n < nsga2_min_trials`` (300), then NSGA-II,
   whose first parents are the best trials so far. Why: TPE leads at small budgets, but
   its cost per suggestion grows as n² (it sorts every trial into fronts); NSGA-II's
   stays about a millisecond.
3. A conditional space (a parameter missing from some completed trial), categorical
   parameters for half the space or more, integer, stepped or categorical ones for more
   than half, or more than ``max_gp_dims`` (10) parameters: TPE. Why: its Parzen
   estimators handle all of these natively at O(n·d); a GP rounds discrete parameters
   onto plateaus its acquisition cannot rank, and with tens of trials in many
   dimensions it is mostly its prior (it still leads at 10; beyond is unmeasured).
4. Otherwise, while ``n < gp_max_trials`` (200): the GP, the most sample-efficient
   choice for small budgets. With ``check_sigmas`` set (off by default: with the warped
   GP the check sends runs to TPE that the GP serves better), the GP must first predict
   each of the first ``check_trials`` (15) completed trials, left out, within
   ``check_sigmas`` predictive standard deviations, or TPE takes over for good.
5. Past that: TPE. Why: it models every trial so far at O(n·d) per suggestion and so
   keeps the GP phase's progress, while the GP's cost grows as n³.

Parallel workers do not change the choice. Each delegate is a pure function of the
study record, so the switch needs no hand-over, and every worker (with its own copy)
makes the same choice for a trial (rule 4 looks at the first completed trials by
number; with parallel workers, a trial that completes late can still change that set,
and with it the verdict).

Constraints (``constraints_func``, Optuna's): whichever delegate runs gets the function and
weighs feasibility its own way (TPE's split, the GP's probability of feasibility, NSGA-II's
constrained domination); the random start is as without constraints.

The figures behind the rules: ``benchmarks/RESULTS.md``, "Why the samplers are built
as they are".

>>> import tunesmith
>>> study = tunesmith.create_study(sampler=AutoSampler(seed=0))
>>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=15)
>>> study.sampler.last_choice in ("random", "sobol", "gp", "tpe")
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler, check_constraints_func
from tunesmith.samplers.qmc import QMCSampler
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["AutoSampler"]

_STARTUP = 10  # rule 1's length when no budget is planned


class AutoSampler(Sampler):
    """A random start, then GP or TPE (NSGA-II for several objectives) by the rules in this module's docstring.

    ``constraints_func`` (``trial -> sequence of floats``, each ``<= 0`` where a constraint
    holds) goes to whichever of them runs; the values are stored with each trial.
    """

    lazy_imports = ("scipy.stats.qmc", "tunesmith.samplers.tpe", "tunesmith.samplers.gp", "tunesmith.samplers.nsga2")

    @property
    def hedges_running(self) -> bool:
        return self.last_choice in ("tpe", "gp")  # the delegate that made the last suggestion

    def __init__(
        self, seed: int | None = None, n_startup_trials: int | None = None, gp_max_trials: int = 200,
        max_gp_dims: int = 10, nsga2_min_trials: int = 300, check_trials: int = 15,
        check_sigmas: float | None = None, constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        super().__init__(seed)
        if n_startup_trials is not None and (
                not isinstance(n_startup_trials, int) or isinstance(n_startup_trials, bool) or n_startup_trials < 0):
            raise ValueError(f"n_startup_trials must be a non-negative integer or None, got {n_startup_trials!r}")
        if not isinstance(check_trials, int) or isinstance(check_trials, bool) or check_trials < 3:
            raise ValueError(f"check_trials must be an integer >= 3, got check_trials={check_trials!r}")
        if check_sigmas is not None and not check_sigmas > 0:
            raise ValueError(f"check_sigmas must be positive or None, got check_sigmas={check_sigmas!r}")
        self.n_startup_trials = n_startup_trials
        self.gp_max_trials = gp_max_trials
        self.max_gp_dims = max_gp_dims
        self.nsga2_min_trials = nsga2_min_trials
        self.check_trials = check_trials
        self.check_sigmas = check_sigmas
        self.constraints_func = check_constraints_func(constraints_func)
        self._check: tuple[np.ndarray, np.ndarray, bool] | None = None  # (X, y, GP calibrated) of rule 4
        self._qmc = QMCSampler(seed)
        self._delegates: dict[str, Sampler] = {}
        self.planned_trials: int | None = None  # from plan(): the study's planned size
        #: the algorithm used for the latest suggestion: "random", "sobol", "gp", "tpe" or "nsga2"
        self.last_choice = "random"

    def _spec_kwargs(self) -> dict[str, Any]:
        return {
            "seed": self._qmc._qmc_seed, "n_startup_trials": self.n_startup_trials,
            "gp_max_trials": self.gp_max_trials, "max_gp_dims": self.max_gp_dims,
            "nsga2_min_trials": self.nsga2_min_trials, "check_trials": self.check_trials,
            "check_sigmas": self.check_sigmas,
        }

    def plan(self, n_trials: int | None, n_workers: int | None) -> None:
        super().plan(n_trials, n_workers)
        self.planned_trials = n_trials

    def startup_trials(self, n_params: int) -> int:
        """Rule 1's length for a space of ``n_params`` parameters: ``n_startup_trials`` if given,
        else 10, or with a planned budget under 40 a quarter of it, but at least ``n_params + 1``."""
        if self.n_startup_trials is not None:
            return self.n_startup_trials
        if self.planned_trials is None:
            return _STARTUP
        return min(_STARTUP, max(n_params + 1, self.planned_trials // 4))

    def choose(self, space: Mapping[str, Distribution], history: History) -> str:
        """The algorithm the rules pick for the next suggestion."""
        numeric = {n: d for n, d in space.items() if d.numeric_encoding}
        states = history.states
        complete = int(np.count_nonzero(states == int(TrialState.COMPLETE)))
        single = len(history.directions) == 1
        if not numeric:  # the first trial of a define-by-run study: nothing known yet
            return "random" if single else "sobol"
        categorical = sum(isinstance(d, CategoricalDistribution) for d in numeric.values())
        continuous = sum(isinstance(d, FloatDistribution) and d.step is None for d in numeric.values())
        discrete = len(numeric) - continuous  # integer, stepped or categorical
        x = history.params_unit(numeric)[states == int(TrialState.COMPLETE)]
        conditional = bool(np.isnan(x).any())
        gp_next = not (conditional or 2 * categorical >= len(numeric) or 2 * discrete > len(numeric)
                       or len(numeric) > self.max_gp_dims)
        if complete < self.startup_trials(len(numeric)):
            return "random" if single else "sobol"
        if not single:
            return "nsga2" if complete >= self.nsga2_min_trials else "tpe"
        if not gp_next:
            return "tpe"
        if complete < self.gp_max_trials and self._gp_calibrated(numeric, history):
            return "gp"
        return "tpe"

    def _gp_calibrated(self, numeric: Mapping[str, Distribution], history: History) -> bool:
        """Rule 4's check: every leave-one-out residual of a GP on the first completed trials is small."""
        if self.check_sigmas is None:
            return True
        X, y = history.observations(numeric)
        if len(y) < self.check_trials:
            return True
        X, y = X[: self.check_trials], y[: self.check_trials]
        if self._check is not None and np.array_equal(self._check[0], X) and np.array_equal(self._check[1], y):
            return self._check[2]
        try:
            from tunesmith.samplers._gp import GaussianProcess, fit_kernel_params, standardize
            from tunesmith.samplers.gp import _single_threaded_blas
        except ImportError:  # no SciPy: the "gp" delegate is TPE anyway
            return True
        is_categorical = np.array([isinstance(d, CategoricalDistribution) for d in numeric.values()], dtype=bool)
        z = standardize(y)
        with _single_threaded_blas():
            try:
                gp = GaussianProcess.fit(X, z, fit_kernel_params(X, z, is_categorical), is_categorical)
                calibrated = bool(np.max(np.abs(gp.loo_residuals())) < self.check_sigmas)
            except np.linalg.LinAlgError:
                calibrated = False
        self._check = (X, y, calibrated)
        return calibrated

    def _delegate(self, name: str) -> Sampler:
        if name not in self._delegates:
            self._delegates[name] = _make(name, self._qmc._qmc_seed, self.constraints_func)
        return self._delegates[name]

    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        self.last_choice = choice = self.choose(space, history)
        if choice in ("random", "sobol"):
            proposal = Sampler.suggest(self, space, history, number, rng)  # grid_search axes
            for name, dist in space.items():
                if name not in proposal:
                    proposal[name] = (
                        dist.sample(rng) if choice == "random"
                        else self._qmc.suggest_one(name, dist, history, number, rng, proposal)
                    )
            return proposal
        return self._delegate(choice).suggest(space, history, number, rng)

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        # Parameters first seen in this trial: drawn as the start draws them (rule 1).
        if self.last_choice == "random":
            return distribution.sample(rng)
        return self._qmc.suggest_one(name, distribution, history, number, rng, params)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_delegates": {}, "_check": None}


_Constraints = Callable[[FrozenTrial], Sequence[float]] | None


def _make(name: str, seed: int, constraints_func: _Constraints = None) -> Sampler:
    if name == "gp":
        try:
            from tunesmith.samplers.gp import GPSampler
        except ImportError:
            return _tpe(seed, constraints_func)
        return GPSampler(seed=seed, n_startup_trials=0, constraints_func=constraints_func)
    if name == "nsga2":
        from tunesmith.samplers.nsga2 import NSGAIISampler

        return NSGAIISampler(seed=seed, constraints_func=constraints_func)
    return _tpe(seed, constraints_func)


def _tpe(seed: int | None, constraints_func: _Constraints = None) -> Sampler:
    from tunesmith.samplers.tpe import TPESampler  # imported when first used: SciPy is slow to import

    return TPESampler(seed=seed, n_startup_trials=0, constraints_func=constraints_func)
