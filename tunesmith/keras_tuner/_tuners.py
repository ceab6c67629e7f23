"""The four tuners: each a sampler (and for Hyperband a scheduler) on the same :class:`Tuner`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tunesmith.keras_tuner._tuner import Tuner
from tunesmith.schedulers import HyperBandScheduler, Scheduler

if TYPE_CHECKING:
    from tunesmith.samplers import Sampler

__all__ = ["BayesianOptimization", "GridSearch", "Hyperband", "RandomSearch"]


class RandomSearch(Tuner):
    """Random search (KerasTuner's ``RandomSearch``); ``scheduler=`` adds early stopping.

    >>> import tunesmith.keras_tuner as kt  # doctest: +SKIP
    >>> tuner = kt.RandomSearch(build_model, objective="val_accuracy", max_trials=10,
    ...                         directory="runs", project_name="mnist")  # doctest: +SKIP
    >>> tuner.search(x, y, epochs=5, validation_split=0.2)  # doctest: +SKIP
    """


class BayesianOptimization(Tuner):
    """Gaussian-process Bayesian optimization (tunesmith's ``GPSampler``) after ``num_initial_points`` random trials.

    ``alpha`` and ``beta`` (KerasTuner's GP noise and UCB exploration) are accepted and
    not used: the GP fits its noise and uses log expected improvement.
    """

    def __init__(
        self, hypermodel: Any = None, objective: Any = None, max_trials: int = 10,
        num_initial_points: int | None = None, alpha: float = 1e-4, beta: float = 2.6, seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if num_initial_points is not None and (not isinstance(num_initial_points, int) or num_initial_points < 0):
            raise ValueError(f"num_initial_points must be a non-negative integer or None, got {num_initial_points!r}")
        self.num_initial_points = num_initial_points
        self.alpha = alpha
        self.beta = beta
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)

    def _make_sampler(self) -> Sampler:
        from tunesmith.samplers import GPSampler

        # KerasTuner's default: three random points per hyperparameter before the GP.
        n = self.num_initial_points if self.num_initial_points is not None else max(3 * len(self._space.space), 3)
        return GPSampler(seed=self.seed, n_startup_trials=n)


class GridSearch(Tuner):
    """Every combination of the discrete hyperparameters (``Choice``, ``Boolean``, stepped ``Int``/``Float``).

    ``max_trials=None`` (the default) runs the whole grid. A ``Float`` without ``step``
    has no grid: an error names it.
    """

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: int | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)

    def _make_sampler(self) -> Sampler:
        from tunesmith.samplers import GridSampler

        self._grid = _grid(self._space.space)
        return GridSampler(self._grid, seed=self.seed)

    def _total_trials(self) -> int | None:
        size = math.prod(len(v) for v in self._grid.values())
        return size if self.max_trials is None else min(size, self.max_trials)


class Hyperband(Tuner):
    """Hyperband (Li et al. 2018): many trials stopped after few epochs, a few trained to ``max_epochs``.

    Runs asynchronously (ASHA over Hyperband's brackets, tunesmith's ``HyperBandScheduler``):
    each trial trains up to ``max_epochs`` and stops at a rung (epoch ``factor**k``) unless it
    is in the top ``1/factor`` there. The number of trials is Hyperband's: the
    configurations of its brackets, times ``hyperband_iterations``. ``epochs`` given to
    ``search`` is replaced by ``max_epochs``.
    """

    def __init__(
        self, hypermodel: Any = None, objective: Any = None, max_epochs: int = 100, factor: int = 3,
        hyperband_iterations: int = 1, seed: int | None = None, **kwargs: Any,
    ) -> None:
        for name, value, low in (("max_epochs", max_epochs, 1), ("factor", factor, 2),
                                 ("hyperband_iterations", hyperband_iterations, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"Hyperband: {name} must be an integer >= {low}, got {value!r}")
        for key in ("scheduler", "pruner", "max_trials"):
            if key in kwargs:
                raise TypeError(f"Hyperband sets its own {key}: pass max_epochs= and factor= instead")
        self.max_epochs = max_epochs
        self.factor = factor
        self.hyperband_iterations = hyperband_iterations
        super().__init__(hypermodel, objective, None, seed=seed, **kwargs)

    def _make_scheduler(self, scheduler: Scheduler | None) -> Scheduler | None:
        return HyperBandScheduler(max_t=self.max_epochs, reduction_factor=self.factor, grace_period=1,
                                  promotion=False)

    def _fit_kwargs(self, fit_kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**fit_kwargs, "epochs": self.max_epochs}

    def _total_trials(self) -> int | None:
        s_max = math.floor(math.log(self.max_epochs) / math.log(self.factor) + 1e-9)
        per_iteration = sum(math.ceil((s_max + 1) / (s + 1) * self.factor ** s) for s in range(s_max + 1))
        return per_iteration * self.hyperband_iterations


def _grid(space: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, list[Any]]:
    """The values of each declared hyperparameter, for a grid (KerasTuner's GridSearch rules)."""
    grid: dict[str, list[Any]] = {}
    for name, (kind, c) in space.items():
        if kind == "Choice":
            grid[name] = list(c["values"])
        elif kind == "Boolean":
            grid[name] = [False, True]
        elif kind in ("Int", "Float"):
            lo, hi, step, sampling = c["min_value"], c["max_value"], c["step"], c["sampling"]
            if kind == "Float" and step is None:
                raise ValueError(f"GridSearch: Float {name!r} has no step, so no grid; give it step= or use Choice")
            step = 1 if step is None else step
            if sampling in ("log", "reverse_log") and step != 1:
                values: list[Any] = []
                x = lo
                while x <= hi * (1 + 1e-12):
                    values.append(x)
                    x *= step
            elif kind == "Int":
                values = list(range(lo, hi + 1, step))
            else:
                n = math.floor((hi - lo) / step + 1e-9)
                values = [float(v) for v in np.round(lo + step * np.arange(n + 1), 12)]
            grid[name] = values
    return grid
