"""PED-ANOVA: importance as the Pearson divergence of a parameter's good-trial density.

Watanabe et al. (2023), "PED-ANOVA: Efficiently Quantifying Hyperparameter Importance in
Arbitrary Subspaces" (IJCAI). With γ' the target quantile and γ the region quantile, the
importance of parameter d in the region of the top-γ trials is (their Theorem 1)

    v_d = (γ'/γ)² · D_χ²(p_top ‖ p_region) = (γ'/γ)² · Σ_x p_region(x) (p_top(x)/p_region(x) − 1)²,

where p_top and p_region are the 1-D marginal densities of x_d among the top-γ' and top-γ
trials, here Parzen estimators on a grid of the parameter's unit interval (Gaussian kernels
with Scott's bandwidth for ordered parameters, counts for categorical ones, plus one uniform
prior observation). A parameter absent from some trials (conditional) is a mixture of an
"absent" regime and a "present" one; as in Optuna's conditional PED-ANOVA its importance is
the present regime's divergence weighted by α²/β, with α and β the regime's shares of the
top-γ' and top-γ trials. Whether the parameter is active at all is the business of the
parameter that activates it.

All trials are binned at once (one ``bincount`` over every parameter's cells), and the
densities of all parameters on grids of the same size are estimated together.
"""

from __future__ import annotations

import numpy as np

from tunesmith.importance._encoding import ParamTable, best_mask
from tunesmith.importance._evaluator import BaseImportanceEvaluator

__all__ = ["PedAnovaImportanceEvaluator"]

#: a trial regime with fewer trials in the region is ignored (Optuna's ``min_n_trials_in_regime``)
_MIN_REGIME_TRIALS = 2
#: smallest kernel width in grid cells: 90 % of a kernel's mass (±1.64σ) within one cell
_MIN_BANDWIDTH = 0.5 / 1.64


class PedAnovaImportanceEvaluator(BaseImportanceEvaluator):
    """PED-ANOVA (the default evaluator): which parameters the top trials concentrate on.

    Args:
        target_quantile: γ', the top fraction of trials whose parameter densities are compared.
        region_quantile: γ, the top fraction of trials that defines the region compared against
            (1.0: every trial).
        evaluate_on_local: compare with the region's trials (True) or with a uniform density over
            the search space (False; then ``region_quantile`` only scales the result).
        prior_weight: weight of the uniform pseudo-observation in each density.
        seed: accepted so that every evaluator takes ``seed=``; PED-ANOVA draws nothing at random.

    >>> import tunesmith
    >>> from tunesmith.importance import PedAnovaImportanceEvaluator, get_param_importances
    >>> study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + 0.01 * t.suggest_float("y", -1, 1),
    ...                n_trials=100)
    >>> list(get_param_importances(study, evaluator=PedAnovaImportanceEvaluator()))
    ['x', 'y']
    """

    def __init__(
        self,
        *,
        target_quantile: float = 0.1,
        region_quantile: float = 1.0,
        evaluate_on_local: bool = True,
        prior_weight: float = 1.0,
        seed: int | None = None,
    ) -> None:
        for name, q in (("target_quantile", target_quantile), ("region_quantile", region_quantile)):
            if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 < q <= 1.0:
                raise ValueError(f"{name} must be a number in (0, 1], got {name}={q!r}")
        if not target_quantile < region_quantile:
            raise ValueError(
                f"target_quantile must be below region_quantile, got target_quantile={target_quantile!r}, "
                f"region_quantile={region_quantile!r}"
            )
        if isinstance(prior_weight, bool) or not isinstance(prior_weight, (int, float)) or not prior_weight >= 0:
            raise ValueError(f"prior_weight must be a number >= 0, got prior_weight={prior_weight!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got seed={seed!r}")
        self._target_quantile = float(target_quantile)
        self._region_quantile = float(region_quantile)
        self._evaluate_on_local = bool(evaluate_on_local)
        self._prior_weight = float(prior_weight)

    def _importances(self, table: ParamTable) -> np.ndarray:
        d = len(table.names)
        importances = np.zeros(d)
        if table.n_trials <= 1 or d == 0:
            return importances
        in_region = best_mask(table.loss, self._region_quantile)
        in_target = best_mask(table.loss, self._target_quantile) & in_region
        n_region, n_target = int(in_region.sum()), int(in_target.sum())
        if n_target == 0:
            return importances
        width = int(table.n_cells.max())
        region = _grid_counts(table.cells[in_region], width)  # (d, width)
        top = _grid_counts(table.cells[in_target], width)
        n_r, n_t = region.sum(axis=1), top.sum(axis=1)
        alpha, beta = n_t / n_target, n_r / n_region  # each parameter's present regime's shares
        scale = (n_target / n_region) ** 2  # (γ'/γ)², with the quantiles as realised (ties kept)
        assessed = (table.n_cells > 1) & (n_r >= _MIN_REGIME_TRIALS) & (n_t > 0)
        # Parameters on the same grid (all continuous ones: 50 cells) are handled together.
        for g, ordered in {(int(g), bool(o)) for g, o in zip(table.n_cells, table.ordered, strict=True)}:
            cols = np.flatnonzero(assessed & (table.n_cells == g) & (table.ordered == ordered))
            if cols.size == 0:
                continue
            p_top = _parzen_on_grid(top[cols, :g], ordered, self._prior_weight)
            if self._evaluate_on_local:
                p_region = _parzen_on_grid(region[cols, :g], ordered, self._prior_weight)
            else:
                p_region = np.full((len(cols), g), 1.0 / g)
            divergence = (p_region * (p_top / p_region - 1.0) ** 2).sum(axis=1)
            importances[cols] = scale * alpha[cols] ** 2 / beta[cols] * divergence
        return importances


def _grid_counts(cells: np.ndarray, width: int) -> np.ndarray:
    """(d, width): per parameter, how many rows of ``cells`` (n, d; -1 absent) fall in each cell."""
    d = cells.shape[1]
    flat = (cells + width * np.arange(d))[cells >= 0]
    return np.bincount(flat, minlength=d * width).reshape(d, width).astype(float)


def _parzen_on_grid(counts: np.ndarray, ordered: bool, prior_weight: float) -> np.ndarray:
    """Densities on the grid of each row of ``counts`` (k, g), plus ``prior_weight`` uniform
    observations; each row sums to 1."""
    g = counts.shape[1]
    n = counts.sum(axis=1, keepdims=True)
    if ordered:
        grid = np.arange(g, dtype=float)
        h = _scott_bandwidth(grid, counts)[:, None, None]
        kernels = np.exp(-0.5 * ((grid[:, None] - grid[None, :]) / h) ** 2)  # (k, g, g)
        kernels /= kernels.sum(axis=2, keepdims=True)  # each kernel truncated to the grid
        smoothed = np.einsum("kc,kcx->kx", counts, kernels)
    else:
        smoothed = counts
    density = (smoothed + prior_weight / g) / (n + prior_weight)
    return np.maximum(density, 1e-12)


def _scott_bandwidth(grid: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Scott's rule, 1.059 · min(σ, IQR/1.34) · n^(-1/5), in grid cells, for each row of ``counts``."""
    n = counts.sum(axis=1)
    mean = counts @ grid / n
    sd = np.sqrt((counts * (grid - mean[:, None]) ** 2).sum(axis=1) / np.maximum(n - 1.0, 1.0))
    cum = np.cumsum(counts, axis=1)
    q1 = grid[np.argmax(cum >= 0.25 * n[:, None], axis=1)]  # the first cell reaching the quartile
    q3 = grid[np.argmax(cum >= 0.75 * n[:, None], axis=1)]
    spread = np.where(q3 > q1, np.minimum(sd, (q3 - q1) / 1.34), sd)
    return np.maximum(1.059 * spread * n**-0.2, _MIN_BANDWIDTH)
