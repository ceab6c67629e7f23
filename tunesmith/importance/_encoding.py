"""Parameters as numbers: one column per parameter, in the unit interval of its own measure.

Every evaluator reads the same :class:`ParamTable`. A parameter's column holds

- ``unit``: its value mapped into [0, 1] so that the uniform measure on [0, 1] is the
  search space's own measure (log-scale parameters in log space, each integer level or
  categorical choice an interval of equal width, a Gaussian ``randn`` through its CDF);
  NaN where the trial does not have the parameter (a conditional parameter);
- ``cells``: the index of its grid cell (continuous parameters, :data:`GRID_SIZE` cells),
  integer level or categorical choice; -1 where absent.

>>> from tunesmith.distributions import FloatDistribution
>>> column = encode_column("lr", FloatDistribution(1e-5, 1e-1, log=True), [1e-3, None])
>>> [round(float(u), 3) for u in column.unit[:1]], column.cells.tolist()
([0.5], [25, -1])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr

from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)

__all__ = ["GRID_SIZE", "MISSING", "Column", "ParamTable", "encode_column", "merged_distribution"]

#: cells of a continuous parameter's grid (Optuna's PED-ANOVA uses 50 grid points);
#: integer and stepped parameters with at most this many levels get one cell per level
GRID_SIZE = 50


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: the value of a parameter a trial does not have
MISSING: Any = _Missing()


@dataclass(frozen=True)
class Column:
    """One parameter, encoded (see the module's docstring)."""

    unit: np.ndarray  # (n,) float, NaN where absent
    cells: np.ndarray  # (n,) int, -1 where absent
    n_cells: int  # 1 for a parameter that cannot vary
    ordered: bool  # False for categorical choices


@dataclass(frozen=True)
class ParamTable:
    """The trials an importance is computed from: encoded parameters and a loss (lower is better)."""

    names: tuple[str, ...]
    distributions: tuple[Distribution, ...]
    unit: np.ndarray  # (n, d)
    cells: np.ndarray  # (n, d)
    n_cells: np.ndarray  # (d,)
    ordered: np.ndarray  # (d,) bool
    loss: np.ndarray  # (n,)

    @classmethod
    def from_columns(
        cls, names: Sequence[str], distributions: Sequence[Distribution], columns: Sequence[Column], loss: np.ndarray
    ) -> ParamTable:
        n = len(loss)
        return cls(
            names=tuple(names),
            distributions=tuple(distributions),
            unit=np.column_stack([c.unit for c in columns]) if columns else np.empty((n, 0)),
            cells=np.column_stack([c.cells for c in columns]) if columns else np.empty((n, 0), dtype=np.int64),
            n_cells=np.array([c.n_cells for c in columns], dtype=np.int64),
            ordered=np.array([c.ordered for c in columns], dtype=bool),
            loss=np.asarray(loss, dtype=float),
        )

    @property
    def n_trials(self) -> int:
        return len(self.loss)

    def rows(self, keep: np.ndarray) -> ParamTable:
        """The table of the trials where ``keep`` (a boolean mask) is true."""
        return ParamTable(
            self.names, self.distributions, self.unit[keep], self.cells[keep], self.n_cells, self.ordered,
            self.loss[keep],
        )

    def best(self, fraction: float) -> ParamTable:
        """The best ``ceil(fraction * n)`` trials, and any tied with the last of them."""
        return self.rows(best_mask(self.loss, fraction))


def best_mask(loss: np.ndarray, fraction: float) -> np.ndarray:
    """Which of ``loss`` are among the lowest ``ceil(fraction * n)`` (ties at the cut-off kept).

    >>> best_mask(np.array([3.0, 1.0, 2.0, 1.0]), 0.25).tolist()
    [False, True, False, True]
    """
    n = len(loss)
    if fraction >= 1.0 or n == 0:
        return np.ones(n, dtype=bool)
    k = max(math.ceil(fraction * n), 1) - 1
    cutoff = np.partition(loss, k)[k]
    return loss <= cutoff


def merged_distribution(
    name: str, distributions: Sequence[Distribution], values: Callable[[], Sequence[Any]]
) -> Distribution:
    """One distribution covering every trial's distribution of parameter ``name``.

    Trials of a study whose space changed (or a define-by-run parameter declared differently in
    different branches) disagree; the union is taken: the widest bounds of numeric parameters with
    the same scale, every choice of categorical ones. Where they cannot be joined (different
    kinds, or no distribution recorded) the distribution is inferred from the observed ``values()``.
    """
    unique: list[Distribution] = []
    for d in distributions:
        if not any(d == u for u in unique):
            unique.append(d)
    if len(unique) == 1 and isinstance(
        unique[0], (FloatDistribution, IntDistribution, CategoricalDistribution, NormalDistribution)
    ):
        return unique[0]
    if unique and all(isinstance(d, CategoricalDistribution) for d in unique):
        choices: list[Any] = []
        for d in unique:
            assert isinstance(d, CategoricalDistribution)
            for c in d.choices:
                if not choices or not CategoricalDistribution(tuple(choices)).contains(c):
                    choices.append(c)
        return CategoricalDistribution(tuple(choices))
    numeric = [d for d in unique if isinstance(d, (FloatDistribution, IntDistribution))]
    if unique and len(numeric) == len(unique) and len({d.log for d in numeric}) == 1:
        low, high, log = min(d.low for d in numeric), max(d.high for d in numeric), numeric[0].log
        ints = [d for d in numeric if isinstance(d, IntDistribution)]
        if len(ints) == len(numeric):
            step = 1 if log else math.gcd(*[d.step for d in ints], *[d.low - int(low) for d in ints])
            return IntDistribution(int(low), int(high), log=log, step=step)
        return FloatDistribution(float(low), float(high), log=log)
    return _inferred(name, values())


def _inferred(name: str, values: Sequence[Any]) -> Distribution:
    """Numbers: their observed range; anything else: the observed values as choices."""
    present = [v for v in values if v is not MISSING]
    numbers = [
        float(v) for v in present
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    ]
    if present and len(numbers) == len(present):
        finite = [v for v in numbers if math.isfinite(v)]
        if finite and min(finite) < max(finite):
            return FloatDistribution(min(finite), max(finite))
        return CategoricalDistribution((finite[0] if finite else math.nan,))
    seen: dict[str, Any] = {}
    for v in present:
        seen.setdefault(repr(v), v)
    return CategoricalDistribution(tuple(seen.values()) or (None,))


def encode_column(name: str, dist: Distribution, values: Sequence[Any] | np.ndarray) -> Column:
    """Encode the ``values`` of parameter ``name`` (``MISSING`` or None where a trial lacks it; a
    float array with NaN there for numeric distributions)."""
    if isinstance(dist, CategoricalDistribution):
        return _categorical(name, dist, values)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        x = values
    else:
        try:
            x = np.array([math.nan if v is MISSING or v is None else v for v in values], dtype=float)
        except (TypeError, ValueError):
            bad = next(v for v in values if not _is_number(v) and v is not MISSING and v is not None)
            raise ValueError(
                f"parameter {name!r}: value {bad!r} is not a number, but its distribution is {dist}"
            ) from None
    if isinstance(dist, NormalDistribution):
        u = ndtr((x - dist.mean) / dist.sd)
        return _continuous(u)
    if isinstance(dist, IntDistribution):
        return _integer(dist, x)
    if isinstance(dist, FloatDistribution):
        return _float(dist, x)
    raise ValueError(f"parameter {name!r}: cannot encode a {type(dist).__name__}")  # pragma: no cover


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _float(dist: FloatDistribution, x: np.ndarray) -> Column:
    if dist.low == dist.high:
        return _constant(x)
    if dist.step is not None and not dist.log:
        n_levels = round((dist.high - dist.low) / dist.step) + 1
        if n_levels <= GRID_SIZE:
            return _levels(np.rint((x - dist.low) / dist.step), n_levels)
        half = dist.step / 2  # each stepped value the centre of its cell
        return _continuous((x - dist.low + half) / (dist.high - dist.low + 2 * half))
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _continuous((np.log(x) - lo) / (hi - lo))
    return _continuous((x - dist.low) / (dist.high - dist.low))


def _integer(dist: IntDistribution, x: np.ndarray) -> Column:
    n_levels = (dist.high - dist.low) // dist.step + 1
    if n_levels <= 1:
        return _constant(x)
    if dist.log:
        # Log space widened by half a unit, as IntDistribution.to_unit: each integer gets its share.
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        with np.errstate(divide="ignore", invalid="ignore"):
            column = _continuous((np.log(x) - lo) / (hi - lo))
        if n_levels <= GRID_SIZE:  # a cell per integer; the unit column keeps the log measure
            cells = np.where(np.isnan(column.unit), -1, np.clip(np.rint(x - dist.low), 0, n_levels - 1))
            return Column(column.unit, np.nan_to_num(cells, nan=-1).astype(np.int64), n_levels, True)
        return column
    if n_levels <= GRID_SIZE:
        return _levels(np.rint((x - dist.low) / dist.step), n_levels)
    half = dist.step / 2
    return _continuous((x - dist.low + half) / (dist.high - dist.low + 2 * half))


def _levels(k: np.ndarray, n_levels: int) -> Column:
    """Level ``k`` of ``n_levels`` equal cells (NaN: absent)."""
    absent = np.isnan(k)
    k = np.clip(np.where(absent, 0, k), 0, n_levels - 1)
    unit = np.where(absent, np.nan, (k + 0.5) / n_levels)
    return Column(unit, np.where(absent, -1, k).astype(np.int64), n_levels, True)


def _continuous(u: np.ndarray) -> Column:
    absent = np.isnan(u)
    u = np.clip(u, 0.0, 1.0)
    cells = np.where(absent, -1, np.minimum(np.floor(np.where(absent, 0, u) * GRID_SIZE), GRID_SIZE - 1))
    return Column(u, cells.astype(np.int64), GRID_SIZE, True)


def _constant(x: np.ndarray) -> Column:
    absent = np.isnan(x)
    return Column(np.where(absent, np.nan, 0.5), np.where(absent, -1, 0).astype(np.int64), 1, False)


def _categorical(name: str, dist: CategoricalDistribution, values: Sequence[Any] | np.ndarray) -> Column:
    index: dict[Any, int] = {}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if v is MISSING:
            out[i] = -1
            continue
        try:  # the class in the key keeps True apart from 1, as CategoricalDistribution does
            key: Any = (v.__class__, v)
            k = index.get(key)
        except TypeError:  # an unhashable choice: no cache
            key, k = None, None
        if k is None:
            try:
                k = dist.index_of(v)
            except ValueError:
                raise ValueError(
                    f"parameter {name!r}: value {v!r} is not one of its choices {list(dist.choices)!r}"
                ) from None
            if key is not None:
                index[key] = k
        out[i] = k
    n = len(dist.choices)
    unit = np.where(out < 0, np.nan, (out + 0.5) / n)
    return Column(unit, out, n, False)
