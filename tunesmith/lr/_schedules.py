"""Learning-rate schedules with an optional linear warm-up, as ``step -> lr`` functions or torch schedulers.

Kinds and their parameters (``step`` counts optimizer steps from 0):

- ``"constant"``: none.
- ``"linear"``: ``total_steps``, ``end_factor=0.0``: from the base rate down to ``end_factor`` times
  it at ``total_steps``, linearly (after the warm-up).
- ``"step"``: ``milestones`` (steps, increasing), ``gamma=0.1``: multiplied by ``gamma`` at each
  milestone (torch's ``MultiStepLR``; milestones count from step 0, warm-up included).
- ``"exponential"``: ``gamma``: multiplied by ``gamma`` every step after the warm-up.
- ``"cosine"``: ``total_steps``, ``min_factor=0.0``: half a cosine from the base rate down to
  ``min_factor`` times it at ``total_steps`` (after the warm-up).

Every kind takes ``warmup_steps=0`` and ``warmup_start=0.0``: during the first ``warmup_steps``
steps the rate grows linearly from ``warmup_start`` times the scheduled rate to the full rate
(step ``s`` gets ``warmup_start + (1 - warmup_start) * s / warmup_steps`` of it, the tuning
playbook's linear warm-up); the decays of ``linear``, ``exponential`` and ``cosine`` start
when the warm-up ends.

>>> f = schedule("cosine", lr=0.1, total_steps=100, warmup_steps=10)
>>> [round(f(s), 4) for s in (0, 5, 10, 55, 100)]
[0.0, 0.05, 0.1, 0.05, 0.0]
>>> schedule("step", lr=1.0, milestones=[3, 6], gamma=0.5)(7)
0.25
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Schedule", "schedule"]

#: each kind's parameters and their defaults (``...``: required)
KINDS: dict[str, dict[str, Any]] = {
    "constant": {},
    "linear": {"total_steps": ..., "end_factor": 0.0},
    "step": {"milestones": ..., "gamma": 0.1},
    "exponential": {"gamma": ...},
    "cosine": {"total_steps": ..., "min_factor": 0.0},
}
WARMUP = {"warmup_steps": 0, "warmup_start": 0.0}


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: call it with a step for the factor of the base rate (or the rate, with ``lr``).

    Attributes:
        kind: one of :data:`KINDS`.
        params: the kind's parameters, defaults filled in, warm-up included.
        lr: the base learning rate (None: calls return the factor).
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    lr: float | None = None

    def factor(self, step: int) -> float:
        """The multiple of the base learning rate at ``step``."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        p = self.params
        warm = int(p["warmup_steps"])
        ramp = p["warmup_start"] + (1.0 - p["warmup_start"]) * step / warm if step < warm else 1.0
        t = max(0, step - warm)  # steps since the warm-up ended
        kind = self.kind
        if kind == "constant":
            base = 1.0
        elif kind == "step":
            base = float(p["gamma"]) ** sum(1 for m in p["milestones"] if step >= m)
        elif kind == "exponential":
            base = float(p["gamma"]) ** t
        else:
            span = max(1, int(p["total_steps"]) - warm)
            frac = min(1.0, t / span)
            if kind == "linear":
                base = 1.0 + (float(p["end_factor"]) - 1.0) * frac
            else:
                lo = float(p["min_factor"])
                base = lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * frac))
        return ramp * base

    def __call__(self, step: int) -> float:
        f = self.factor(step)
        return f if self.lr is None else self.lr * f

    def torch(self, optimizer: Any) -> Any:
        """A ``torch.optim.lr_scheduler.LambdaLR`` applying this schedule's factor to each group's rate
        (call ``scheduler.step()`` after each ``optimizer.step()``)."""
        from torch.optim.lr_scheduler import LambdaLR

        if self.lr is not None:
            for group in optimizer.param_groups:
                group["lr"] = self.lr
                group.pop("initial_lr", None)
        return LambdaLR(optimizer, self.factor)


def _number(kind: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
            integer: bool = False, open_low: bool = False) -> None:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        what = "an integer" if integer else "a number"
        raise ValueError(f"schedule {kind!r}: {name} must be {what}, got {value!r}")
    if low is not None and (value <= low if open_low else value < low):
        raise ValueError(f"schedule {kind!r}: {name} must be {'>' if open_low else '>='} {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"schedule {kind!r}: {name} must be <= {high}, got {value!r}")


def schedule(kind: str, *, lr: float | None = None, optimizer: Any = None, **params: Any) -> Any:
    """A learning-rate schedule: a :class:`Schedule` (``step -> lr``), or with ``optimizer`` a torch scheduler.

    Args:
        kind: ``"constant"``, ``"linear"``, ``"step"``, ``"exponential"`` or ``"cosine"``.
        lr: the base learning rate; without it the function returns the factor of the base rate.
            With ``optimizer`` it sets every parameter group's rate (else the groups' own rates
            are the base).
        optimizer: a torch optimizer: returns a ``LambdaLR`` whose rates equal the function's.
        params: the kind's parameters (module docstring) and ``warmup_steps``, ``warmup_start``.

    Bad parameters fail here, naming the parameter.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
    allowed = {**KINDS[kind], **WARMUP}
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"schedule {kind!r} takes no parameter {unknown[0]!r}; its parameters: {sorted(allowed)}")
    missing = [n for n, d in allowed.items() if d is ... and n not in params]
    if missing:
        raise ValueError(f"schedule {kind!r} needs {missing[0]!r}")
    full = {**allowed, **params}
    _number(kind, "warmup_steps", full["warmup_steps"], low=0, integer=True)
    _number(kind, "warmup_start", full["warmup_start"], low=0.0, high=1.0)
    if "total_steps" in full:
        _number(kind, "total_steps", full["total_steps"], low=1, integer=True)
        if full["warmup_steps"] > full["total_steps"]:
            raise ValueError(f"schedule {kind!r}: warmup_steps={full['warmup_steps']} exceeds "
                             f"total_steps={full['total_steps']}")
    if kind == "linear":
        _number(kind, "end_factor", full["end_factor"], low=0.0)
    if kind == "cosine":
        _number(kind, "min_factor", full["min_factor"], low=0.0, high=1.0)
    if kind in ("step", "exponential"):
        _number(kind, "gamma", full["gamma"], low=0.0, open_low=True)
    if kind == "step":
        full["milestones"] = _milestones(full["milestones"])
    if lr is not None:
        _number(kind, "lr", lr, low=0.0, open_low=True)
    result = Schedule(kind, full, None if lr is None else float(lr))
    return result if optimizer is None else result.torch(optimizer)


def _milestones(value: Any) -> tuple[int, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"schedule 'step': milestones must be a list of steps, got {value!r}")
    out = tuple(value)
    for m in out:
        _number("step", "milestones", m, low=1, integer=True)
    if any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"schedule 'step': milestones must be strictly increasing, got {list(out)}")
    return out

