"""Constraint values as the samplers read them: per history row, kept up to date incrementally.

A trial's constraint values (``FrozenTrial.constraints``, from the sampler's
``constraints_func``) are satisfied where ``<= 0``; the trial is *feasible* when all
are. Its *violation* is ``sum(max(0, c))`` (Deb 2000's constraint violation, as
Optuna's samplers use it): 0 for a feasible trial. A trial a constrained sampler sees
without values (finished before the function was given, or by a worker without it)
ranks below every trial with values: its violation is infinite, as in Optuna.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from tunesmith.history import History
from tunesmith.record import FrozenTrial

__all__ = ["constraint_values", "violations"]


@dataclass
class _Columns:
    rows: list[FrozenTrial] = field(default_factory=list)
    violation: np.ndarray = field(default_factory=lambda: np.zeros(0))
    values: list[list[float] | None] = field(default_factory=list)


_CACHE: weakref.WeakKeyDictionary[History, _Columns] = weakref.WeakKeyDictionary()


def _columns(history: History) -> _Columns:
    cols = _CACHE.get(history)
    if cols is None:
        cols = _CACHE[history] = _Columns()
    rows = history.trials
    n_old = len(cols.rows)
    if len(rows) > n_old:
        cols.violation = np.concatenate([cols.violation, np.full(len(rows) - n_old, np.inf)])
        cols.values.extend([None] * (len(rows) - n_old))
        cols.rows.extend([None] * (len(rows) - n_old))  # type: ignore[list-item]
    # A row keeps its place and a changed trial is a new object: only those are read again.
    for i, trial in enumerate(rows):
        if cols.rows[i] is trial:
            continue
        cols.rows[i] = trial
        values = trial.constraints
        cols.values[i] = values
        cols.violation[i] = np.inf if values is None else float(np.sum(np.maximum(values, 0.0)))
    return cols


def violations(history: History) -> np.ndarray:
    """(n,) total constraint violation of each history row: 0 when feasible, inf without values."""
    return _columns(history).violation.copy()


def constraint_values(history: History, rows: np.ndarray) -> np.ndarray:
    """(len(rows), k) constraint values of the given rows; NaN where a row has none (k: the most any has)."""
    values = _columns(history).values
    picked = [values[int(r)] for r in rows]
    k = max((len(v) for v in picked if v is not None), default=0)
    out = np.full((len(picked), k), np.nan)
    for i, v in enumerate(picked):
        if v is not None:
            out[i, : len(v)] = v
    return out
