"""``cv_results_`` from per-split scores and times: the keys, order and dtypes of scikit-learn's searches.

>>> import numpy as np
>>> out = cv_results([{"C": 1.0}, {"C": 10.0}], fit_time=np.ones((2, 2)), score_time=np.zeros((2, 2)),
...                  test={"score": np.array([[0.8, 0.9], [0.7, 0.7]])})
>>> out["mean_test_score"], out["rank_test_score"]
(array([0.85, 0.7 ]), array([1, 2], dtype=int32))
>>> out["param_C"]
masked_array(data=[1.0, 10.0],
             mask=[False, False],
       fill_value=1e+20)
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["cv_results", "masked_params"]


def masked_params(candidate_params: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, np.ma.MaskedArray]]:
    """``param_<name>`` columns: masked where a candidate lacks the parameter (a list of grids).

    The dtype is NumPy's for the values, except object for strings and for values that
    are sequences themselves, as in scikit-learn.
    """
    n = len(candidate_params)
    columns: dict[str, dict[int, Any]] = defaultdict(dict)
    for i, params in enumerate(candidate_params):
        for name, value in params.items():
            columns[f"param_{name}"][i] = value
    for key, column in columns.items():
        values = list(column.values())
        try:
            arr = np.array(values)
        except ValueError:  # sequences of different lengths
            dtype = np.dtype(object)
        else:
            dtype = arr.dtype if arr.dtype.kind != "U" and arr.ndim == 1 else np.dtype(object)
        masked = np.ma.MaskedArray(np.empty(n, dtype=dtype), mask=True)
        for i, value in column.items():
            masked[i] = value  # setting a value unmasks it
        yield key, masked


def _rank(means: np.ndarray) -> np.ndarray:
    """Rank 1 for the best mean; NaN (failed) candidates tie with the worst."""
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32, copy=False)


def cv_results(
    candidate_params: Sequence[dict[str, Any]], *, fit_time: np.ndarray, score_time: np.ndarray,
    test: Mapping[str, np.ndarray], train: Mapping[str, np.ndarray] | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The ``cv_results_`` dict; each array is (candidates, splits), ``test``/``train`` keyed by scorer name.

    ``extra`` columns (one value per candidate) come first, as ``more_results`` do in scikit-learn.
    """
    results: dict[str, Any] = {k: np.asarray(v) for k, v in (extra or {}).items()}

    def store(key: str, array: np.ndarray, splits: bool = False, rank: bool = False) -> None:
        array = np.asarray(array, dtype=np.float64)
        if splits:
            for s in range(array.shape[1]):
                results[f"split{s}_{key}"] = array[:, s]
        means = np.average(array, axis=1)
        results[f"mean_{key}"] = means
        if key.startswith(("train_", "test_")) and np.any(~np.isfinite(means)):
            warnings.warn(f"One or more of the {key.split('_')[0]} scores are non-finite: {means}", UserWarning,
                          stacklevel=3)
        results[f"std_{key}"] = np.sqrt(np.average((array - means[:, np.newaxis]) ** 2, axis=1))
        if rank:
            results[f"rank_{key}"] = _rank(means)

    store("fit_time", fit_time)
    store("score_time", score_time)
    for key, column in masked_params(candidate_params):
        results[key] = column
    results["params"] = list(candidate_params)
    for name in test:
        store(f"test_{name}", test[name], splits=True, rank=True)
        if train is not None:
            store(f"train_{name}", train[name], splits=True)
    return results
