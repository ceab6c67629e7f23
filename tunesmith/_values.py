"""Objective values as floats, from whatever an objective returns.

Python and NumPy numbers, 0-d and one-element arrays or tensors of any array library
(NumPy, PyTorch with or without ``requires_grad``, JAX, CuPy: anything with
``tolist()``), and sequences of those, one per objective.

>>> import numpy as np
>>> as_floats(np.float32(0.5)), as_floats(np.array([[2.0]])), as_floats((1, np.array(3)))
([0.5], [2.0], [1.0, 3.0])
>>> as_floats("0.1")
Traceback (most recent call last):
...
TypeError: the objective returned a str ('0.1'), not a number
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tunesmith.record import TrialState

__all__ = ["as_floats", "objective_values", "outcome", "values_from_metrics"]


def _type_name(obj: Any) -> str:
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _host_list(obj: Any) -> Any:
    """``obj.tolist()`` of an array or tensor (detached from autograd first), else ``obj``."""
    detach = getattr(obj, "detach", None)
    if callable(detach):
        obj = detach()
    tolist = getattr(obj, "tolist", None)
    return tolist() if callable(tolist) else obj


def _flat(obj: Any) -> list[Any]:
    """Nested one-element lists are unwrapped: ``[[x]]`` is ``x``; ``[a, b]`` stays two items."""
    while isinstance(obj, list) and len(obj) == 1 and isinstance(obj[0], list):
        obj = obj[0]
    return obj if isinstance(obj, list) else [obj]


def _scalar(item: Any, whole: Any) -> float:
    value = _host_list(item)
    if isinstance(value, list):
        flat = _flat(value)
        if len(flat) != 1 or isinstance(flat[0], list):
            raise TypeError(
                f"the objective returned a {_type_name(whole)} holding {len(flat)} values where one number "
                "was expected"
            )
        value = flat[0]
    if isinstance(value, (str, bytes)):
        raise TypeError(f"the objective returned a {_type_name(whole)} ({whole!r}), not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"the objective returned a {_type_name(whole)} ({whole!r:.80}), not a number") from None


def as_floats(values: Any) -> list[float]:
    """One float per objective from a number, an array/tensor, or a sequence of them."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"the objective returned a {_type_name(values)} ({values!r}), not a number")
    host = _host_list(values)
    if isinstance(host, list):
        return [_scalar(v, values) for v in _flat(host)]
    if isinstance(host, (tuple, Iterable)) and not isinstance(host, (str, bytes)):
        return [_scalar(v, values) for v in host]
    return [_scalar(host, values)]


def objective_values(values: Any, metric_names: Sequence[str], n_objectives: int) -> list[float]:
    """The study's objective values from what an objective returned: a number, an array or
    tensor, a sequence (one per objective), or a dict of metrics holding ``metric_names``."""
    if isinstance(values, Mapping):
        return values_from_metrics(values, metric_names, strict=True) or []
    out = as_floats(values)
    if len(out) != n_objectives:
        raise ValueError(f"expected {n_objectives} value(s), got {len(out)} from a {type(values).__name__}: {out}")
    return out


def values_from_metrics(metrics: Mapping[str, Any], metric_names: Sequence[str], strict: bool) -> list[float] | None:
    """The values of ``metric_names`` in ``metrics``; a missing one raises (``strict``) or gives None."""
    missing = [m for m in metric_names if m not in metrics]
    if missing:
        if strict:
            raise ValueError(
                f"the objective's result has no metric {missing[0]!r} (it has {sorted(metrics)}); "
                f"the study optimizes {list(metric_names)}"
            )
        return None
    return [_scalar(metrics[m], metrics[m]) for m in metric_names]


def outcome(
    values: Any, state: TrialState | None, error: str | None, metric_names: Sequence[str], n_objectives: int,
    last_result: Mapping[str, Any],
) -> tuple[TrialState, list[float] | None, str | None]:
    """How ``Study.tell(trial, values, state=, error=)`` records a trial: its state, values and error.

    An objective's invalid or NaN value, or no value, fails the trial (with the reason as
    its error); a PRUNED or PAUSED trial without values keeps those of its last report.
    """
    vals: list[float] | None = None
    if values is not None:
        try:
            vals = objective_values(values, metric_names, n_objectives)
        except (TypeError, ValueError) as e:
            if state not in (None, TrialState.COMPLETE):
                raise
            state, error = TrialState.FAILED, f"invalid objective value: {e}"
    if vals is None and not n_objectives and state in (None, TrialState.COMPLETE):
        vals = []  # a study without objectives (tunesmith.run without metric=)
    if state is None:
        if vals is None:
            state, error = TrialState.FAILED, error or "the objective returned no value"
        elif any(math.isnan(v) for v in vals):
            state, error = TrialState.FAILED, f"the objective returned NaN: {vals}"
        else:
            state = TrialState.COMPLETE
    elif state == TrialState.COMPLETE and vals is None:
        raise ValueError("a COMPLETE trial needs values")
    if state in (TrialState.PRUNED, TrialState.PAUSED) and vals is None and last_result:
        vals = values_from_metrics(last_result, metric_names, strict=False)
    return TrialState(state), vals, error
