"""Bayesian optimisation with a Gaussian process and log expected improvement."""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from tunesmith.history import History
from tunesmith.samplers._base import Sampler, check_constraints_func
from tunesmith.samplers._constraints import constraint_values, violations
from tunesmith.samplers._gp import (
    ConstrainedLogEI,
    GaussianProcess,
    KernelParams,
    LogExpectedImprovement,
    LogProbabilityOfFeasibility,
    SearchBox,
    fit_kernel_params,
    maximize_acqf,
    standardize,
    warp_outputs,
)
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["GPSampler"]

_MAX_LEVELS = 4096  # a discrete parameter with more values is optimised as continuous, then rounded
_N_ANCHORS = 5
_STALL_TRIALS = 5  # completed trials without a new best: the search may be stuck (see _stuck_on_edge)
_STALL_RADIUS = 0.25  # in lengthscales: the neighbourhood a stuck search must leave


_blas_controller: Any = None


def _single_threaded_blas() -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread while we compute, if threadpoolctl is installed.

    The work is many small matrix operations (and SciPy >= 1.15's L-BFGS-B calls BLAS
    at every iteration): pool threads cost more to wake than they save, and on a
    shared or busy machine they spin against each other (scipy/scipy#22438).
    """
    global _blas_controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext()
    if _blas_controller is None:
        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


@dataclass
class _ModelCache:
    """The last fit, reused while the same study grows: warm start, and no refit for a few trials."""

    key: tuple[str, ...]
    X: np.ndarray
    params: KernelParams
    n_fit: int
    gp: GaussianProcess


class GPSampler(Sampler):
    """Gaussian-process Bayesian optimisation: Matérn-5/2 ARD kernel, MAP hyperparameters, LogEI.

    The first ``n_startup_trials`` trials are drawn at random. After that each
    suggestion fits a GP to the completed trials (outputs power-transformed; a lengthscale
    prior that keeps every dimension in play), treats running trials
    as if they had returned the mean value so far (constant liar, Ginsbourger et al.
    2010), and maximizes log expected improvement
    (Ament et al. 2023). When the best value has not moved for 5 trials and the next
    proposal would sit on the incumbent's bound again (a local minimum at the edge of the
    box, where a confident GP proposes near-duplicates), it searches once more outside a
    quarter lengthscale of the latest trials. Integers are optimised relaxed and
    rounded; categories by a Hamming kernel and enumeration. Define-by-run parameters that not every completed
    trial has are drawn at random. Past ``max_trials_gp`` completed trials, where a GP's
    O(n³) cost stops paying, suggestions come from ``TPESampler`` (random if absent).

    Args:
        n_startup_trials: completed trials before the GP takes over.
        max_trials_gp: completed trials after which TPE takes over (None: never).
        n_candidates: quasi-random points scored before the gradient search.
        warp_outputs: model the objective values after a Yeo-Johnson power transform
            (``_gp.warp_outputs``), which pulls in skewed tails; False: only standardized.
        constraints_func: ``trial -> sequence of floats``, each ``<= 0`` where a constraint
            holds (Optuna's); computed when each trial ends and stored with it. Each
            constraint then gets a GP of its own, and the acquisition is LogEI below the best
            feasible value plus the log probability that every constraint holds
            (:class:`~tunesmith.samplers._gp.ConstrainedLogEI`); with no feasible trial
            yet, the probability of feasibility alone.

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=GPSampler(seed=0, n_startup_trials=5))
    >>> study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=15)
    >>> round(study.best_params["x"], 1)
    1.0
    """

    hedges_running = True  # running trials are conditioned on at the mean (constant liar)

    def __init__(
        self, seed: int | None = None, n_startup_trials: int = 10, max_trials_gp: int | None = 500,
        n_candidates: int = 1024, warp_outputs: bool = True,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        super().__init__(seed)
        for name, value, low in (("n_startup_trials", n_startup_trials, 0), ("n_candidates", n_candidates, 1)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {name}={value!r}")
        if max_trials_gp is not None and (
            not isinstance(max_trials_gp, (int, np.integer)) or isinstance(max_trials_gp, bool) or max_trials_gp < 2
        ):
            raise ValueError(f"max_trials_gp must be an integer >= 2 or None, got max_trials_gp={max_trials_gp!r}")
        self.n_startup_trials = int(n_startup_trials)
        self.max_trials_gp = None if max_trials_gp is None else int(max_trials_gp)
        self.n_candidates = int(n_candidates)
        self.warp_outputs = bool(warp_outputs)
        self.constraints_func = check_constraints_func(constraints_func)
        self._fallback: Sampler | None = None
        self._cache: _ModelCache | None = None
        self._levels: dict[str, np.ndarray | None] = {}
        self._proposed: dict[int, dict[str, float]] = {}  # trial number -> unit point, while it runs

    def _spec_kwargs(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "n_startup_trials": self.n_startup_trials, "max_trials_gp": self.max_trials_gp,
            "n_candidates": self.n_candidates, "warp_outputs": self.warp_outputs,
        }

    def __getstate__(self) -> dict[str, Any]:
        # A copy starts from no cached fit, exactly as a fresh sampler would.
        return {**super().__getstate__(), "_cache": None, "_fallback": None, "_proposed": {}}

    def __repr__(self) -> str:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self._spec_kwargs().items())
        return f"{type(self).__name__}({kwargs})"

    # -- the contract ------------------------------------------------------------------
    def suggest(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
    ) -> dict[str, Any]:
        phase = self._phase(history)
        if phase == "fallback":
            return self._fallback_sampler().suggest(space, history, number, rng)
        proposal = super().suggest(space, history, number, rng)  # grid_search axes
        if phase == "startup":
            # Independent random draws (suggest_one). Not a Sobol design: evenly spread points
            # have no close pairs to pin down short lengthscales, so the early fits are
            # overconfident and the search settles in the first good basin.
            return proposal
        try:
            with _single_threaded_blas():
                return {**self._propose(space, history, number, rng, proposal), **proposal}
        except np.linalg.LinAlgError as e:  # only on pathological data: this trial goes random
            warnings.warn(f"GPSampler: the model could not be fitted ({e}); sampling at random", stacklevel=2)
            return proposal

    def suggest_one(
        self, name: str, distribution: Distribution, history: History, number: int,
        rng: np.random.Generator, params: Mapping[str, Any],
    ) -> Any:
        if self._phase(history) == "fallback":
            return self._fallback_sampler().suggest_one(name, distribution, history, number, rng, params)
        return super().suggest_one(name, distribution, history, number, rng, params)  # random

    # -- internals ---------------------------------------------------------------------
    def _phase(self, history: History) -> Literal["startup", "gp", "fallback"]:
        if len(history.directions) != 1:
            return "fallback"  # one GP models one objective; TPE handles the rest
        _, y = history.observations({})
        if len(y) < max(self.n_startup_trials, 2):
            return "startup"
        if self.max_trials_gp is not None and len(y) > self.max_trials_gp:
            return "fallback"
        return "gp"

    def _fallback_sampler(self) -> Sampler:
        if self._fallback is None:
            try:  # by name: TPE may not exist in this installation
                cls = importlib.import_module("tunesmith.samplers.tpe").TPESampler
                self._fallback = cls(seed=self.seed, constraints_func=self.constraints_func)
            except (ImportError, AttributeError):
                self._fallback = Sampler(seed=self.seed)  # random (and grid axes)
        return self._fallback

    def _propose(
        self, space: Mapping[str, Distribution], history: History, number: int, rng: np.random.Generator,
        proposal: Mapping[str, Any],
    ) -> dict[str, Any]:
        dists = {n: d for n, d in space.items() if d.numeric_encoding}
        X, y = history.observations(dists)
        # Model the parameters every completed trial has (the intersection of their spaces).
        keep = ~np.isnan(X).any(axis=0) if len(X) else np.zeros(len(dists), dtype=bool)
        names = [n for n, k in zip(dists, keep, strict=True) if k]
        if not names:
            return {}
        X = X[:, keep]
        box = SearchBox(
            levels=tuple(self._unit_levels(dists[n]) for n in names),
            is_categorical=np.array([isinstance(dists[n], CategoricalDistribution) for n in names], dtype=bool),
            fixed=np.array([dists[n].to_unit(proposal[n]) if n in proposal else np.nan for n in names]),
        )
        if not box.free.any():
            return {}
        running = self._running(history, dists, names, keep)

        y_model = warp_outputs(y) if self.warp_outputs else standardize(y)
        gp = self._model(tuple(dists[n].to_json() + n for n in names), X, y_model, box.is_categorical)
        best = float(y_model.min())
        # Constant liar (Ginsbourger, Le Riche & Carraro 2010): running trials are taken
        # to return the mean observed value, which makes the improvement near them
        # unlikely. The incumbent as the lie ("CL-min") would leave EI a bump there, and
        # workers asking together could propose the same point.
        gp = gp.condition_on(running, np.full(len(running), float(y_model.mean())))
        observed = np.concatenate([X, running])
        acqf: LogExpectedImprovement | ConstrainedLogEI
        if self.constraints_func is None:
            anchors = X[np.argsort(y_model, kind="stable")[:_N_ANCHORS]]
            acqf = LogExpectedImprovement(gp, best)
            X_best, y_best = X, y
        else:
            rows = np.flatnonzero(history.mask(TrialState.COMPLETE) & np.isfinite(history.losses[:, 0]))
            acqf, anchors, feasible = self._constrained_acqf(gp, X, y_model, history, rows, box.is_categorical)
            X_best, y_best = X[feasible], y[feasible]  # the stall check follows the best feasible value
        x = maximize_acqf(acqf, box, rng, anchors=anchors, n_candidates=self.n_candidates, observed=observed)
        if len(y_best) and _stuck_on_edge(x, X_best, y_best, box.continuous):
            recent = np.concatenate([X[-_STALL_TRIALS:], X_best[[int(np.argmin(y_best))]]])
            x = maximize_acqf(acqf, box, rng, anchors=anchors, n_candidates=self.n_candidates, observed=observed,
                              avoid=(recent, _STALL_RADIUS * gp.params.lengthscale))
        self._proposed[number] = dict(zip(names, x.tolist(), strict=True))
        return {n: dists[n].from_unit(float(u)) for n, u, free in zip(names, x, box.free, strict=True) if free}

    def _constrained_acqf(
        self, gp: GaussianProcess, X: np.ndarray, y_model: np.ndarray, history: History, rows: np.ndarray,
        is_categorical: np.ndarray,
    ) -> tuple[ConstrainedLogEI, np.ndarray, np.ndarray]:
        """(acquisition, anchors, feasible mask of X): LogEI below the best feasible value plus
        log P(feasible) from one GP per constraint (Gardner et al. 2014; Optuna's GPSampler).

        Each constraint's GP models its standardized values on the trials that have a
        finite one; the threshold 0 is standardized with them. Kernel parameters are
        fitted afresh each time (no warm start): a copy of the sampler suggests the same.
        """
        violation = violations(history)[rows]
        feasible = violation <= 0
        values = constraint_values(history, rows)
        pofs = []
        for j in range(values.shape[1]):
            ok = np.isfinite(values[:, j])
            if ok.sum() < 2:
                continue
            c = values[ok, j]
            mean, std = float(c.mean()), max(float(c.std()), 1e-12)
            z = (c - mean) / std
            params = fit_kernel_params(X[ok], z, is_categorical)
            pofs.append(LogProbabilityOfFeasibility(GaussianProcess.fit(X[ok], z, params, is_categorical), -mean / std))
        if feasible.any():
            objective: LogExpectedImprovement | None = LogExpectedImprovement(gp, float(y_model[feasible].min()))
            anchors = X[feasible][np.argsort(y_model[feasible], kind="stable")[:_N_ANCHORS]]
        else:  # nothing feasible yet: seek feasibility alone, from the least violating trials
            objective = None
            anchors = X[np.argsort(violation, kind="stable")[:_N_ANCHORS]]
        return ConstrainedLogEI(gp, objective, pofs), anchors, feasible

    def _running(
        self, history: History, dists: Mapping[str, Distribution], names: list[str], keep: np.ndarray,
    ) -> np.ndarray:
        """Unit-cube points of the running trials, for the constant liar.

        A define-by-run trial stores its parameters at its first report or at tell;
        until then, use what this sampler proposed to it (trials asked and not yet
        told in this process). Trials with neither are left out.
        """
        numbers = history.numbers[history.mask(TrialState.RUNNING)]
        X = history.running(dists)[:, keep]
        self._proposed = {k: v for k, v in self._proposed.items() if k in set(numbers.tolist())}
        for row, number in enumerate(numbers.tolist()):
            known = self._proposed.get(number)
            if known is not None and np.isnan(X[row]).any() and all(n in known for n in names):
                X[row] = [known[n] for n in names]
        return X[~np.isnan(X).any(axis=1)]

    def _model(self, key: tuple[str, ...], X: np.ndarray, y: np.ndarray, is_categorical: np.ndarray) -> GaussianProcess:
        """The GP for (X, y): refit (warm-started) every trial at first, every n/50 trials later.

        Kernel parameters settle as data accumulate; between refits the cached
        factorization is extended by the new rows in O(n²) instead of O(n³) per step.
        """
        n = len(X)
        cache = self._cache
        same_study = (
            cache is not None and cache.key == key and len(cache.X) <= n and np.array_equal(cache.X, X[: len(cache.X)])
        )
        if cache is not None and same_study and n - cache.n_fit < max(1, n // 50):
            gp = cache.gp.condition_on(X[len(cache.X):], y[len(cache.X):]).with_targets(y)
            self._cache = _ModelCache(key, X, cache.params, cache.n_fit, gp)
            return gp
        params = fit_kernel_params(X, y, is_categorical, cache.params if cache is not None and same_study else None)
        gp = GaussianProcess.fit(X, y, params, is_categorical)
        self._cache = _ModelCache(key, X, params, n, gp)
        return gp

    def _unit_levels(self, dist: Distribution) -> np.ndarray | None:
        """The sorted unit-cube points of a discrete parameter's values (None: continuous or too many)."""
        key = dist.to_json()
        if key not in self._levels:
            values: list[Any] | range | None = None
            if isinstance(dist, CategoricalDistribution):
                values = list(dist.choices)
            elif isinstance(dist, IntDistribution) and (dist.high - dist.low) // dist.step < _MAX_LEVELS:
                values = range(dist.low, dist.high + 1, dist.step)
            elif isinstance(dist, FloatDistribution) and dist.step is not None:
                count = round((dist.high - dist.low) / dist.step) + 1
                if count <= _MAX_LEVELS:
                    values = [dist.from_unit(dist.to_unit(dist.low + k * dist.step)) for k in range(count)]
            self._levels[key] = None if values is None else np.unique([dist.to_unit(v) for v in values])
        return self._levels[key]


def _stuck_on_edge(x: np.ndarray, X: np.ndarray, y: np.ndarray, continuous: np.ndarray) -> bool:
    """Whether the search is stuck at a bound: no new best in the last ``_STALL_TRIALS``
    trials, and the proposal ``x`` sits on a bound of a continuous dimension where the
    incumbent sits too.

    A GP fitted to a few points tends to be smooth and confident; when the best point
    so far is a local minimum at a bound, LogEI then peaks right next to it, and the
    search proposes near-duplicates there for tens of trials (at an interior minimum the
    same confidence is what refines it). The caller then searches again outside
    ``_STALL_RADIUS`` lengthscales of the incumbent and the latest trials. Only the
    bound case is treated: a search may need long stretches of refinement without a
    new best, and leaving on every stall cuts them short.
    """
    k = _STALL_TRIALS
    if len(y) <= 2 * k or np.min(y[-k:]) < np.min(y[:-k]) or not len(continuous):
        return False
    incumbent = X[int(np.argmin(y))][continuous]
    u = x[continuous]
    return bool(np.any((np.minimum(u, 1.0 - u) < 1e-9) & (np.abs(u - incumbent) < 1e-9)))
