"""Reading the study record into a :class:`~tunesmith.importance._encoding.ParamTable`.

Only COMPLETE trials with a finite target count. The loss is lower-is-better: the objective
value (negated for ``"maximize"``), or ``target(trial)`` as it is (Optuna's rule: a custom
target is minimised; negate it inside ``target`` to explain high values).
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tunesmith.distributions import Distribution, FloatDistribution, IntDistribution, NormalDistribution
from tunesmith.importance._encoding import MISSING, ParamTable, encode_column, merged_distribution
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["check_fraction", "read_table"]

Target = Callable[[FrozenTrial], float]


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float in (0, 1], or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    if not (0.0 < float(value) <= 1.0):
        raise ValueError(f"{name} must be in (0, 1], got {name}={value!r}")
    return float(value)


def read_table(
    study: Any,
    params: Sequence[str] | None = None,
    target: Target | None = None,
    directions: str | Sequence[Any] | None = None,
) -> ParamTable:
    """The COMPLETE trials of ``study`` (anything with ``.trials`` and ``.directions``, or a list of
    FrozenTrial with ``directions=``), their parameters ``params`` (default: every parameter any of
    them has) and their loss."""
    trials, dirs = _trials_and_directions(study, directions)
    if target is not None and not callable(target):
        raise TypeError(f"target must be a callable FrozenTrial -> float, got {type(target).__name__} {target!r}")
    if target is None:
        if len(dirs) > 1:
            raise ValueError(
                f"this study has {len(dirs)} objectives; importances explain one number: pass target=, "
                "e.g. target=lambda t: t.values[0] for the first objective"
            )
        if not dirs:
            raise ValueError("the study has no objective directions; pass target= (a FrozenTrial -> float)")
    done = TrialState.COMPLETE
    complete = [t for t in trials if t.state is done or t.state == done]  # `is`: IntEnum's == is slow
    if target is None:
        sign = -1.0 if _is_maximize(dirs[0]) else 1.0
        counts = {len(t.values) for t in complete if t.values}
        if counts - {1}:
            raise ValueError(
                f"directions= names 1 objective but trials have {max(counts)} values; "
                "give one direction per objective, or pass target="
            )
        raw = [t.values[0] if t.values else math.nan for t in complete]
    else:
        sign = 1.0
        raw = [target(t) for t in complete]
    try:
        loss = sign * np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        bad = next(v for v in raw if not _is_real(v))
        raise ValueError(f"target must return a number for every trial, got {bad!r}") from None
    if loss.ndim != 1:
        raise ValueError(f"target must return one number per trial, got values of shape {loss.shape[1:]}")
    finite = np.isfinite(loss)
    if not finite.all():
        complete = [t for t, ok in zip(complete, finite.tolist(), strict=True) if ok]
        loss = loss[finite]

    params_of = _ParamColumns([t.params for t in complete])
    names = _param_names(params_of.key_sets, params)
    declared_in = _distinct_dicts([t.distributions for t in complete])
    dists: list[Distribution] = []
    columns = []
    for name in names:
        declared = {id(d): d for d in (dd.get(name) for dd in declared_in) if d is not None}
        dist = merged_distribution(name, list(declared.values()), functools.partial(params_of.objects, name))
        if not isinstance(dist, (FloatDistribution, IntDistribution, NormalDistribution)):
            columns.append(encode_column(name, dist, params_of.objects(name)))
        else:
            columns.append(encode_column(name, dist, params_of.floats(name)))
        dists.append(dist)
    return ParamTable.from_columns(names, dists, columns, loss)


class _ParamColumns:
    """The ``params`` dicts of many trials, read a column at a time.

    Trials are grouped by their set of parameter names (one group unless some are
    conditional), so that a column is one C-level ``map(itemgetter)`` per group.
    """

    def __init__(self, dicts: list[dict[str, Any]]) -> None:
        self.dicts = dicts
        #: per distinct set of parameter names: the names in order, as a set, and the trials' rows
        self.key_sets: list[tuple[tuple[str, ...], frozenset[str], np.ndarray]] = []
        if not dicts:
            return
        every = set().union(*dicts)
        if all(n == len(every) for n in set(map(len, dicts))):  # every trial has every parameter
            self.key_sets = [(tuple(dicts[0]), frozenset(every), np.arange(len(dicts)))]
            return
        keys = list(map(tuple, dicts))
        distinct = dict.fromkeys(keys)  # in order of first appearance
        index = {k: i for i, k in enumerate(distinct)}
        group = np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys))
        self.key_sets = [(k, frozenset(k), np.flatnonzero(group == i)) for k, i in index.items()]

    def _groups(self, name: str) -> list[tuple[np.ndarray, list[dict[str, Any]]]]:
        if len(self.key_sets) == 1:
            _, keys, rows = self.key_sets[0]
            return [(rows, self.dicts)] if name in keys else []
        return [(rows, [self.dicts[i] for i in rows]) for _, keys, rows in self.key_sets if name in keys]

    def objects(self, name: str) -> list[Any]:
        """The column of ``name``, ``MISSING`` where a trial lacks it."""
        get = operator.itemgetter(name)
        groups = self._groups(name)
        if len(groups) == 1 and len(groups[0][0]) == len(self.dicts):  # every trial has it
            return list(map(get, self.dicts))
        out: list[Any] = [MISSING] * len(self.dicts)
        for rows, dicts in groups:
            for i, v in zip(rows.tolist(), map(get, dicts), strict=True):
                out[i] = v
        return out

    def floats(self, name: str) -> np.ndarray | list[Any]:
        """The column of ``name`` as floats, NaN where absent (or as :meth:`objects` if not all numbers)."""
        out = np.full(len(self.dicts), math.nan)
        get = operator.itemgetter(name)
        try:
            for rows, dicts in self._groups(name):
                out[rows] = np.fromiter(map(get, dicts), dtype=float, count=len(rows))
        except (TypeError, ValueError):  # None or a non-number: let the encoder sort it out
            return self.objects(name)
        return out


def _distinct_dicts(dicts: list[dict[str, Distribution]]) -> list[dict[str, Distribution]]:
    """One of each distinct ``distributions`` dict (storages share the distribution objects)."""
    by_id = dict(zip(map(id, dicts), dicts, strict=True))
    by_content = {(tuple(d), tuple(map(id, d.values()))): d for d in by_id.values()}
    return list(by_content.values())


def _trials_and_directions(study: Any, directions: str | Sequence[Any] | None) -> tuple[list[FrozenTrial], list[Any]]:
    if isinstance(study, (list, tuple)):
        bad = [k for k in set(map(type, study)) if not issubclass(k, FrozenTrial)]
        if bad:
            raise TypeError(f"study must be a Study or a list of FrozenTrial; the list holds a {bad[0].__name__}")
        dirs = [] if directions is None else [directions] if isinstance(directions, str) else list(directions)
        for d in dirs:
            _is_maximize(d)
        return list(study), dirs
    if not hasattr(study, "trials") or not hasattr(study, "directions"):
        raise TypeError(
            "study must be a Study (anything with .trials and .directions) or a list of FrozenTrial, "
            f"got {type(study).__name__}"
        )
    if directions is not None:
        raise ValueError("directions= is for a list of trials; a study has its own directions")
    dirs = list(study.directions)
    for d in dirs:
        _is_maximize(d)
    return list(study.trials), dirs


def _is_maximize(direction: Any) -> bool:
    """Whether ``direction`` ("minimize"/"maximize", "min"/"max", or an enum with that name) maximises."""
    text = getattr(direction, "name", direction)
    if isinstance(text, str) and text.lower() in ("maximize", "max"):
        return True
    if isinstance(text, str) and text.lower() in ("minimize", "min"):
        return False
    raise ValueError(f"directions must be 'minimize' or 'maximize' (one per objective), got {direction!r}")


def _is_real(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _param_names(
    key_sets: list[tuple[tuple[str, ...], frozenset[str], np.ndarray]], params: Sequence[str] | None
) -> list[str]:
    seen: dict[str, None] = {}
    for keys, _, _ in key_sets:  # groups in order of their first trial: names in first-seen order
        seen.update(dict.fromkeys(keys))
    if params is None:
        return list(seen)
    if isinstance(params, str) or not isinstance(params, (list, tuple)):
        raise TypeError(f"params must be a list of parameter names, got {params!r}")
    bad = [p for p in params if not isinstance(p, str)]
    if bad:
        raise TypeError(f"params must be a list of parameter names (str), got {bad[0]!r} in {list(params)!r}")
    if len(set(params)) != len(params):
        raise ValueError(f"params lists a name twice: {list(params)!r}")
    missing = [p for p in params if p not in seen]
    if missing:
        raise ValueError(
            f"params {missing!r} appear in no COMPLETE trial with a finite target; "
            f"the parameters are {sorted(seen)!r}"
        )
    return list(params)
