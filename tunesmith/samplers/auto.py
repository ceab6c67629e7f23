"""The automatic sampler: picks a search algorithm from the problem at each suggestion.

The rules, in order (``n`` is the number of completed trials):

1. ``n`` below the start: independent random draws, the same points the GP or TPE
   sampler with this seed would draw, so where one delegate runs the whole study (and
   the start is its 10 trials) Auto's trials are that sampler's. Several objectives:
   scrambled Sobol points. The start is ``n_startup_trials`` if given, else 10 trials;
   with a planned budget (``Study.optimize(n_trials=...)`` tells it, :meth:`plan`) a
   quarter of it, but at least d + 1 for d parameters and at most 10 (so budgets of 40
   and more, and runs with no planned number of trials, start with 10). With 25 trials
   on BBOB (instance 1, 10 seeds, median regret; ``benchmarks/auto_rules.py``) a 6-trial
   start against 10 was better on 18 of the 24 functions in d = 2 (worse on 5; mean
   log10 ratio -0.12) and on 14 in d = 5 (worse on 9; -0.02), but worse on 14 in
   d = 10 (better on 9; +0.01), where d + 1 keeps the 10.
   GP-BO gets stuck in a local basin more often after a space-filling start: on
   Hartmann-6 (100 trials, seeds 0-19) it reached the global basin in 14 or 15 of 20 runs
   from 10 random points and in 9 of 20 from 10 Sobol points. On a conditional space
   Sobol's coordinates mean nothing for the parameters a branch leaves out (conditional
   Branin / Styblinski-Tang, median of 10 seeds: 1.70 after 25 trials and 1.11 after 50
   from a random start, 2.08 and 1.18 from Sobol). Where TPE takes over in an
   unconditional space the two starts are level: on the mixed Rosenbrock-4 (100 seeds)
   median best 852 / 176 / 42 after 25 / 50 / 100 trials from Sobol, 726 / 168 / 34
   from random; on the 12 Bayesmark tasks Auto sends to TPE (10 seeds, 16 trials) the
   random start was better on 5 and worse on 4 (session 10).
   Either start has parallel workers draw distinct points.
2. Several objectives: TPE (MOTPE) while ``n < nsga2_min_trials`` (300), then NSGA-II,
   whose first parents are the best of the trials so far. On ZDT1 and ZDT2 (d=10, 3
   seeds, ``benchmarks/multi_objective.py``, session 13's MOTPE) TPE alone is ahead of
   NSGA-II alone at every budget to 1,000 trials; switching at 300 gives the best
   hypervolume of the three from 500 trials on (at 1,000: 11.69 against TPE's 11.60
   and NSGA-II's 11.47 on ZDT1; 11.05, 10.92 and 10.54 on ZDT2). TPE's cost per
   suggestion grows as n^2 (it sorts every trial into fronts); NSGA-II's stays about a
   millisecond.
3. A conditional space (some parameter missing from some completed trials),
   categorical parameters for half or more of the space, integer, stepped or
   categorical ones for more than half, or more than ``max_gp_dims`` (10) parameters:
   TPE, whose Parzen estimators handle all of these natively and cost O(n·d).
   - Discrete parameters: a GP relaxes them to a continuum and rounds, which leaves
     plateaus that its acquisition cannot rank. On a Rosenbrock-4 with two integers and
     a categorical offset (median best after 50 trials over 10 seeds) the GP reached
     1038 and TPE 161.
   - Dimension: with a budget of tens of trials, a GP in many dimensions is mostly its
     prior. Up to session 5 the cut was 8: TPE then beat the GP-led rule on 15 of the 24
     BBOB functions in d = 10. Session 7's GP (outputs warped, a lengthscale prior that
     keeps every dimension in play) ranks first of ten samplers on BBOB d = 10 at 50
     trials, and Auto with the cut at 10 beat Auto with the cut at 8 there (10 seeds,
     50 trials; both without rule 4's check): f01 0.58 against 6.9, f02 1.1e4 against
     1.8e5, f05 0 against 60, f20 12 against 633; the losses were smaller (f11 832
     against 306, f12 3.7e7 against 1.5e7); better on 10 functions, worse on 10, mean
     log10 ratio -0.24 (each capped at 100x). Ackley-10 after 100 trials: 6.1 against
     12.8; Rosenbrock-10 level (``benchmarks/RESULTS.md``, session
     8). Beyond 10 parameters nothing is measured, so TPE keeps them.
4. Otherwise (mostly continuous, moderate dimension), while ``n < gp_max_trials`` (200):
   Gaussian-process BO, the most sample-efficient choice for small budgets.
   Optionally (``check_sigmas``, off by default) the GP must first show that it can
   model the objective: a GP fitted to the first ``check_trials`` (15) completed trials
   must predict each of them left out (its leave-one-out posterior) within
   ``check_sigmas`` predictive standard deviations, or TPE takes over for good. With
   session 4's GP that check (at 2.6) caught landscapes a stationary GP could not
   represent; with the warped GP it no longer pays: switched off, Auto was better on
   14 of the 24 BBOB functions in d = 2 and worse on 5 (mean log10 ratio -0.16), and
   level in d = 5 (better on 6, worse on 7), 10 seeds, 50 trials (session 8). In d = 2
   the check had sent 112 of 240 runs to TPE, which ranks well behind the GP there.
5. Past that: TPE, which models every trial so far at O(n·d) per suggestion. Until
   session 13 a continuous space went to CMA-ES here, which starts from the centre of
   the box and so throws the GP phase's progress away: continuing the same 200-trial
   runs to 300 trials (``benchmarks/auto_rules.py``), TPE beat CMA-ES on 15 of the 24
   BBOB functions in d = 10 and lost on 3 (3 seeds, median regret; mean ranks of CMA-ES,
   TPE and the GP 2.54 / 1.81 / 1.65) and on Rosenbrock-10 (125 against 386, 5 seeds;
   level on Branin, Hartmann-6 and Ackley-10). The GP itself continued best, at a cost
   per suggestion that grows as n^3 (46 ms at 300 trials); hence the cap.

Parallel workers do not change the choice: with 4 workers and instant objectives the GP
phase (its constant liar keeps running trials apart) stays ahead of TPE on Branin,
Hartmann-6 and Ackley-10 after 100 trials and behind on Rosenbrock-10, as it is with
one worker (``benchmarks/RESULTS.md``, the batch tables).

Each delegate is a pure function of the study record, so the switch needs no
hand-over, and every worker (with its own copy) makes the same choice for a trial
(rule 4 looks at the first completed trials by number; with parallel workers, a
trial that completes late can still change that set, and with it the verdict).

>>> import tunesmith
>>> study = tunesmith.create_study(sampler=AutoSampler(seed=0))
>>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=15)
>>> study.sampler.last_choice in ("random", "sobol", "gp", "tpe")
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler
from tunesmith.samplers.qmc import QMCSampler
from tunesmith.trial import TrialState

__all__ = ["AutoSampler"]

_STARTUP = 10  # rule 1's length when no budget is planned


class AutoSampler(Sampler):
    """A random start, then GP or TPE (NSGA-II for several objectives) by the rules in this module's docstring."""

    lazy_imports = ("scipy.stats.qmc", "tunesmith.samplers.tpe", "tunesmith.samplers.gp", "tunesmith.samplers.nsga2")

    @property
    def hedges_running(self) -> bool:
        return self.last_choice in ("tpe", "gp")  # the delegate that made the last suggestion

    def __init__(
        self, seed: int | None = None, n_startup_trials: int | None = None, gp_max_trials: int = 200,
        max_gp_dims: int = 10, nsga2_min_trials: int = 300, check_trials: int = 15,
        check_sigmas: float | None = None,
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
            self._delegates[name] = _make(name, self._qmc._qmc_seed)
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


def _make(name: str, seed: int) -> Sampler:
    if name == "gp":
        try:
            from tunesmith.samplers.gp import GPSampler
        except ImportError:
            return _tpe(seed)
        return GPSampler(seed=seed, n_startup_trials=0)
    if name == "nsga2":
        from tunesmith.samplers.nsga2 import NSGAIISampler

        return NSGAIISampler(seed=seed)
    return _tpe(seed)


def _tpe(seed: int | None) -> Sampler:
    from tunesmith.samplers.tpe import TPESampler  # imported when first used: SciPy is slow to import

    return TPESampler(seed=seed, n_startup_trials=0)
