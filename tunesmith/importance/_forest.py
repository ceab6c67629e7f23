"""The random forest both forest-based evaluators fit (scikit-learn, imported when first used).

Inputs are the table's unit columns, so that the uniform measure on [0, 1]^d is the search
space's measure (log scale, integer levels and categorical choices as in ``_encoding``;
categorical choices ordinal-coded, which a tree separates with at most two splits each).
A conditional parameter absent from a fraction ``a`` of the trials takes the interval
[0, a) for "absent" and maps its values into [a, 1]: the measure gives absence the weight it
has in the study. Absent trials are coded -1, below every present value, so that any split
between absent and present trials has a threshold below ``a`` (see :func:`absent_fractions`).

Each tree is fit on a bootstrap sample of at most ``max_samples`` trials (default 1,024),
not on n: growing 64 fully grown trees on 10,000 trials takes ~10 s on one core, on 1,024
under 1 s, while the forest as a whole still sees every trial (64 samples of 1,024 cover a
10,000-trial study about 6.5 times over) and the rankings of the synthetic benchmarks
(``benchmarks/importance.py``) stay the same at 8 parameters. With many parameters of small
effect the smaller samples resolve the weakest ones less well (at 10,000 x 32 with geometric
weights, Spearman 0.78 against 0.85 for Optuna's forest on every trial, for mean decrease in
impurity); ``max_samples=None`` fits every tree on a bootstrap of all trials, at ~10x the cost.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tunesmith.importance._encoding import ParamTable
from tunesmith.importance._evaluator import BaseImportanceEvaluator

__all__ = ["ForestSettings", "absent_fractions", "fit_forest", "forest_inputs", "varying_columns"]

#: trials per tree's bootstrap sample, by default
DEFAULT_MAX_SAMPLES = 1024


class ForestSettings:
    """The arguments both forest evaluators take, checked."""

    def __init__(self, n_trees: int, max_depth: int, seed: int | None, max_samples: int | None) -> None:
        for name, v in (("n_trees", n_trees), ("max_depth", max_depth)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {name}={v!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got seed={seed!r}")
        if max_samples is not None and (
            isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 2
        ):
            raise ValueError(
                f"max_samples must be an integer >= 2 or None (every trial), got max_samples={max_samples!r}"
            )
        self.n_trees = int(n_trees)
        self.max_depth = int(max_depth)
        self.seed = seed
        self.max_samples = max_samples

    def __repr__(self) -> str:
        return (
            f"n_trees={self.n_trees}, max_depth={self.max_depth}, seed={self.seed!r}, "
            f"max_samples={self.max_samples!r}"
        )


def varying_columns(table: ParamTable) -> np.ndarray:
    """Indices of the parameters that take more than one value among the table's trials."""
    if table.n_trials == 0:
        return np.zeros(0, dtype=np.int64)
    varies = np.ptp(np.nan_to_num(table.unit, nan=-1.0), axis=0) > 0  # absent (-1) vs present counts
    return np.flatnonzero(varies & (table.n_cells > 1))


def absent_fractions(unit: np.ndarray) -> np.ndarray:
    """Per column of ``unit`` (NaN where absent), the fraction of trials without the parameter."""
    return np.isnan(unit).mean(axis=0) if len(unit) else np.zeros(unit.shape[1])


def forest_inputs(unit: np.ndarray, absent: np.ndarray) -> np.ndarray:
    """The forest's design matrix: present values in [a, 1], absent ones -1 (see the module docstring)."""
    return np.where(np.isnan(unit), -1.0, absent + (1.0 - absent) * np.nan_to_num(unit))


def fit_forest(X: np.ndarray, y: np.ndarray, settings: ForestSettings) -> Any:
    """scikit-learn's ``RandomForestRegressor`` fit on (X, y); each tree on ≤ ``max_samples`` trials."""
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as e:  # pragma: no cover - scikit-learn is in the sklearn and test extras
        raise ImportError(
            "the forest-based importance evaluators need scikit-learn: pip install 'tunesmith[sklearn]'"
        ) from e
    cap = settings.max_samples
    forest = RandomForestRegressor(
        n_estimators=settings.n_trees,
        max_depth=settings.max_depth,
        min_samples_split=2,
        min_samples_leaf=1,
        bootstrap=True,
        max_samples=None if cap is None or cap >= len(y) else int(cap),
        random_state=settings.seed,
    )
    return forest.fit(X, y)


class ForestEvaluator(BaseImportanceEvaluator):
    """An evaluator that fits a random forest on the parameters that vary, then reads importances off it."""

    def __init__(
        self, *, n_trees: int = 64, max_depth: int = 64, seed: int | None = None,
        max_samples: int | None = DEFAULT_MAX_SAMPLES,
    ) -> None:
        self._forest = ForestSettings(n_trees, max_depth, seed, max_samples)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._forest!r})"

    def _importances(self, table: ParamTable) -> np.ndarray:
        out = np.zeros(len(table.names))
        columns = varying_columns(table)
        if table.n_trials <= 1 or columns.size == 0:
            return out
        unit = table.unit[:, columns]
        absent = absent_fractions(unit)
        forest = fit_forest(forest_inputs(unit, absent), table.loss, self._forest)
        out[columns] = self._read(forest, absent)
        return out

    def _read(self, forest: Any, absent: np.ndarray) -> np.ndarray:
        """One importance per forest input (``absent``: each input's share of trials without it)."""
        raise NotImplementedError
