"""Values and helpers of the storage conformance suite (see :mod:`tunesmith.testing.storage`)."""

from __future__ import annotations

import dataclasses
import enum
import math
import traceback
from typing import Any

from tunesmith.distributions import (
    Distribution,
)
from tunesmith.storage import Storage, get_storage
from tunesmith.trial import FrozenTrial, TrialState

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)

# Concurrency check: this many workers each start and finish this many trials.
_WORKERS = 4
_TRIALS_PER_WORKER = 200

# Values chosen to break a backend that goes through text, a float column or a JSON
# type on the way: non-finite floats, subnormals, the extremes of a double, signed
# zero, integers beyond 64 bits, quoting and non-ASCII text.
_VALUES: list[list[float]] = [
    [0.1 + 0.2],
    [math.nan],
    [math.inf],
    [-math.inf],
    [5e-324],
    [2.2250738585072014e-308],
    [1.7976931348623157e308],
    [-1.7976931348623157e308],
    [-0.0],
    [1.0, math.nan, -math.inf, 1e-300],
]
_TRICKY_TEXT = "naïve \"double\" 'single' `back` \\ 日本語 🎉 \t tab; DROP TABLE x; --"
_PARAMS: dict[str, Any] = {
    "int_2_62": 2**62,
    "int_10_30": 10**30,
    "neg_int": -7,
    "neg_big": -(2**63),
    "zero": 0,
    "float": 0.1,
    "float_int": 3.0,
    "tiny": 1e-300,
    "huge": 1.5e300,
    "text": _TRICKY_TEXT,
    "empty": "",
    "true": True,
    "false": False,
    "none": None,
    "name with / and ü": 1,
}
_USER_ATTRS: dict[str, Any] = {
    "nested": {"list": [1, [2.5, [None, True]], {"deep": {"x": "ü"}}], "empty": {}, "empty_list": []},
    "list": [1, "two", 3.0, None, False, 10**30],
    "nan": math.nan,
    "inf": [math.inf, -math.inf],
    "text": _TRICKY_TEXT,
}
_METRICS: dict[str, Any] = {
    "loss": math.nan, "acc": math.inf, "neg": -math.inf, "n": 3, "tiny": 5e-324, "label": "ü\n\"q\"",
}
_ERROR = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: ünïcode ✓ "q" \'s\'\r\n\tend\n'


# -- comparison helpers ---------------------------------------------------------------------
def _canon(x: Any) -> Any:
    """A hashable, type-strict, NaN-equal form of ``x`` (True != 1 != 1.0; nan == nan)."""
    if isinstance(x, enum.Enum):
        return ("enum", type(x).__name__, x.name)
    if x is None or isinstance(x, (bool, str)):
        return (type(x).__name__, x)
    if isinstance(x, int):
        return ("int", x)
    if isinstance(x, float):
        return ("float", repr(x))  # repr keeps nan, inf and -0.0 apart and exact
    if isinstance(x, (list, tuple)):
        return ("list", tuple(_canon(v) for v in x))
    if isinstance(x, dict):
        return ("dict", tuple(sorted((str(k), _canon(v)) for k, v in x.items())))
    if isinstance(x, Distribution):
        return ("distribution", x.to_json())
    raise TypeError(f"unexpected {type(x).__name__} in a stored trial: {x!r}")


def _snapshot(trial: FrozenTrial) -> dict[str, Any]:
    """Every field of ``trial`` in canonical form, for before/after comparisons."""
    return {f.name: _canon(getattr(trial, f.name)) for f in dataclasses.fields(trial)}


def _same(a: Any, b: Any) -> bool:
    return bool(_canon(a) == _canon(b))


def _new_study(storage: Storage, name: str = "study", directions: list[str] | None = None) -> int:
    directions = directions or ["minimize"]
    return storage.create_study(name, directions, [f"m{i}" for i in range(len(directions))]).study_id


def _all_trials(storage: Storage, study_id: int) -> dict[int, FrozenTrial]:
    """trial_id -> trial, read from scratch."""
    trials, _ = storage.get_trials(study_id)
    return {t.trial_id: t for t in trials}


def _get(storage: Storage, study_id: int, trial_id: int) -> FrozenTrial:
    return _all_trials(storage, study_id)[trial_id]


def _version(storage: Storage, study_id: int) -> int:
    return storage.get_trials(study_id)[1]


def _run_trials(storage: Storage, study_id: int, states_values: list[tuple[TrialState, list[float] | None]]) -> None:
    for state, values in states_values:
        t = storage.start_trial(study_id)
        if state != TrialState.RUNNING:
            storage.finish_trial(study_id, t.trial_id, state, values, attempt=t.attempt)


# -- concurrency worker (module level so that a spawned process can import it) --------------
def _hammer(storage: Storage, study_name: str, n: int, barrier: Any) -> list[int]:
    """Start and finish ``n`` trials as fast as possible; their numbers."""
    study_id = storage.get_study(study_name).study_id
    barrier.wait()
    numbers = []
    for _ in range(n):
        t = storage.start_trial(study_id)
        storage.finish_trial(study_id, t.trial_id, TrialState.COMPLETE, [float(t.number)], attempt=t.attempt)
        numbers.append(t.number)
    return numbers


def _hammer_process(url: str, study_name: str, n: int, barrier: Any, results: Any) -> None:
    try:
        results.put(("ok", _hammer(get_storage(url), study_name, n, barrier)))
    except BaseException:
        results.put(("error", traceback.format_exc()))
        barrier.abort()
