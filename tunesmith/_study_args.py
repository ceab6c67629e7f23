"""Checking the arguments of ``create_study``/``load_study``: directions, sampler, scheduler."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tunesmith.samplers import AutoSampler, RandomSampler, Sampler
from tunesmith.schedulers import Scheduler

_DIRECTIONS = {"minimize": "minimize", "maximize": "maximize", "min": "minimize", "max": "maximize"}


def directions_and_metrics(
    direction: str | None, directions: Sequence[str] | None, metric: str | Sequence[str] | None,
    mode: str | Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    if direction is not None and directions is not None:
        raise ValueError("pass either direction= or directions=, not both")
    if (direction is not None or directions is not None) and mode is not None:
        raise ValueError("pass either direction(s)= or mode=, not both")
    raw: list[str]
    if directions is not None:
        raw = list(directions)
    elif direction is not None:
        raw = [direction]
    elif mode is not None:
        raw = [mode] if isinstance(mode, str) else list(mode)
    else:
        raw = ["minimize"]
    names = [metric] if isinstance(metric, str) else list(metric) if metric is not None else []
    out = []
    for d in raw:
        if not isinstance(d, str) or d.lower() not in _DIRECTIONS:
            raise ValueError(f"direction/mode must be 'minimize'/'min' or 'maximize'/'max', got {d!r}")
        out.append(_DIRECTIONS[d.lower()])
    if names and len(out) == 1 and len(names) > 1:
        out = out * len(names)
    if names and len(names) != len(out):
        raise ValueError(f"{len(names)} metric names but {len(out)} directions: {names} vs {out}")
    if not names:
        names = ["value"] if len(out) == 1 else [f"value_{i}" for i in range(len(out))]
    return out, names


def make_sampler(sampler: Sampler | None, seed: int | None, scheduler: Scheduler | None = None) -> Sampler:
    """``sampler`` as given, else the default: Auto, or random search under a scheduler that
    changes parameters as trials train (PBT; as Ray Tune draws PBT's population)."""
    if sampler is not None:
        if seed is not None and sampler.seed is None:
            raise ValueError("seed= goes to the sampler: pass it there, e.g. RandomSampler(seed=...)")
        if not isinstance(sampler, Sampler):
            raise TypeError(f"sampler must be a tunesmith Sampler, got {type(sampler).__name__}")
        return sampler
    if scheduler is not None and scheduler.random_population:
        return RandomSampler(seed=seed)
    return AutoSampler(seed=seed)


def one_name(name: str | None, study_name: str | None) -> str | None:
    """``name``, or Optuna's ``study_name``; both only if they agree."""
    if study_name is not None and name is not None and study_name != name:
        raise ValueError(f"name={name!r} and study_name={study_name!r} disagree; pass one of them")
    return name if name is not None else study_name


_MAX_NAME = 512  # the storage's column


def check_study_name(name: object) -> None:
    """A study name is stored and shown everywhere: a non-empty string of printable characters."""
    if not isinstance(name, str):
        raise TypeError(f"a study name must be a string, got {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"a study name must not be empty or blank, got {name!r}")
    if len(name) > _MAX_NAME:
        raise ValueError(f"a study name may have at most {_MAX_NAME} characters, got {len(name)}: {name[:40]!r}...")
    bad = next((c for c in name if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"a study name must not contain control characters ({bad!r}), got {name!r}")


def one_scheduler(scheduler: Scheduler | None, pruner: Scheduler | None) -> Scheduler | None:
    if scheduler is not None and pruner is not None:
        raise ValueError("pass either scheduler= or pruner= (Optuna's name for the same thing), not both")
    chosen = scheduler if scheduler is not None else pruner
    if chosen is not None and not isinstance(chosen, Scheduler):
        raise TypeError(
            f"scheduler must be a tunesmith scheduler (tunesmith.schedulers), got {type(chosen).__name__}"
        )
    return chosen


def json_spec(scheduler: Scheduler) -> dict[str, Any] | None:
    """The scheduler's spec if it is JSON-safe (one holding functions is not; workers get a copy)."""
    spec = scheduler.spec()
    if not spec:
        return None  # nothing to store (a wrapper around no scheduler)
    try:
        json.dumps(spec, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return spec
