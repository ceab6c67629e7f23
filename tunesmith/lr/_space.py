"""A conditional search space over schedules and their parameters, to tune with the learning rate.

The schedule's kind is a categorical parameter; each kind brings its own parameters, drawn only
when that kind is chosen (define-by-run) or set only for it (dict style, where the others are
None). Flat names, the same in both styles (``prefix="schedule"``):

=====================================  =====================================================
``lr``                                  base rate, log-uniform in ``lr=(low, high)`` (if given)
``schedule/kind``                       one of ``kinds``
``schedule/warmup_steps``               0..``max_warmup_steps`` (if > 0), every kind
``schedule/linear/end_factor``          0..0.2: the last step's fraction of the base rate
``schedule/step/gamma``                 0.05..0.7: factor at each drop
``schedule/step/drops``                 1..3 drops, evenly spaced after the warm-up
``schedule/exponential/final_factor``   1e-3..0.5 (log): the rate's fraction at ``total_steps``
``schedule/cosine/min_factor``          0..0.1: the floor as a fraction of the base rate
=====================================  =====================================================

Define-by-run::

    space = schedule_space(total_steps=1000, lr=(1e-4, 1e-1), max_warmup_steps=100)
    def objective(trial):
        sched = space.suggest(trial)              # a Schedule with its lr: sched(step) -> lr
        ...

Dict style (``study.set_space`` / ``tunesmith.run(config=...)``)::

    config = space.config()                      # conditional values via sample_from
    def train(config):
        sched = space.from_config(config)

In the dict style the kind, the learning rate and the warm-up come from the sampler while a
kind's own parameters are ``sample_from`` values (drawn at random, seeded per trial), as Ray
Tune writes conditional spaces; the define-by-run form lets a model-based sampler (TPE) learn
them too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.lr._schedules import KINDS, Schedule, schedule
from tunesmith.space import SEP, choice, loguniform, randint, sample_from

__all__ = ["ScheduleSpace", "schedule_space"]

#: each kind's own parameters: name -> (low, high, log, integer)
CONDITIONAL: dict[str, dict[str, tuple[float, float, bool, bool]]] = {
    "constant": {},
    "linear": {"end_factor": (0.0, 0.2, False, False)},
    "step": {"gamma": (0.05, 0.7, False, False), "drops": (1, 3, False, True)},
    "exponential": {"final_factor": (1e-3, 0.5, True, False)},
    "cosine": {"min_factor": (0.0, 0.1, False, False)},
}


@dataclass(frozen=True)
class ScheduleSpace:
    """Schedules and their parameters as a search space (built by :func:`schedule_space`)."""

    kinds: tuple[str, ...]
    total_steps: int
    lr: tuple[float, float] | None
    max_warmup_steps: int
    prefix: str
    lr_name: str

    def _name(self, *parts: str) -> str:
        return SEP.join((self.prefix, *parts))

    # -- define-by-run --------------------------------------------------------------------------
    def suggest(self, trial: Any) -> Schedule:
        """Draw a schedule on ``trial`` (``trial.suggest_*``): the kind, then only that kind's parameters."""
        lr = trial.suggest_float(self.lr_name, *self.lr, log=True) if self.lr else None
        kind = trial.suggest_categorical(self._name("kind"), list(self.kinds))
        params: dict[str, Any] = {}
        if self.max_warmup_steps > 0:
            params["warmup_steps"] = trial.suggest_int(self._name("warmup_steps"), 0, self.max_warmup_steps)
        for name, (low, high, log, integer) in CONDITIONAL[kind].items():
            full = self._name(kind, name)
            params[name] = (trial.suggest_int(full, int(low), int(high)) if integer
                            else trial.suggest_float(full, low, high, log=log))
        return self._build(kind, lr, params)

    # -- dict style -------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The space as a nested dict-style config (``uniform``/``choice``/``sample_from``)."""
        inner: dict[str, Any] = {"kind": choice(list(self.kinds))}
        if self.max_warmup_steps > 0:
            inner["warmup_steps"] = randint(0, self.max_warmup_steps)
        for kind in self.kinds:
            own = {name: sample_from(_conditional(self.prefix, kind, bounds))
                   for name, bounds in CONDITIONAL[kind].items()}
            if own:
                inner[kind] = own
        out: dict[str, Any] = {self.prefix: inner}
        if self.lr:
            out[self.lr_name] = loguniform(*self.lr)
        return out

    def from_config(self, config: Mapping[str, Any]) -> Schedule:
        """The schedule a trial's config (nested, as a trainable gets it, or flat ``trial.params``) describes."""
        flat = _flat(config)
        kind = flat.get(self._name("kind"))
        if kind not in self.kinds:
            raise ValueError(f"config has no {self._name('kind')!r} among {list(self.kinds)}: {kind!r}")
        params: dict[str, Any] = {}
        if self.max_warmup_steps > 0:
            params["warmup_steps"] = int(flat[self._name("warmup_steps")])
        for name in CONDITIONAL[kind]:
            value = flat.get(self._name(kind, name))
            if value is None:
                raise ValueError(f"config lacks {self._name(kind, name)!r}, which schedule {kind!r} needs")
            params[name] = value
        lr = flat.get(self.lr_name) if self.lr else None
        return self._build(kind, None if lr is None else float(lr), params)

    def _build(self, kind: str, lr: float | None, drawn: Mapping[str, Any]) -> Schedule:
        warm = int(drawn.get("warmup_steps", 0))
        total = self.total_steps
        params: dict[str, Any] = {"warmup_steps": warm}
        if kind == "linear":
            params.update(total_steps=total, end_factor=float(drawn["end_factor"]))
        elif kind == "cosine":
            params.update(total_steps=total, min_factor=float(drawn["min_factor"]))
        elif kind == "exponential":
            params["gamma"] = float(drawn["final_factor"]) ** (1.0 / max(1, total - warm))
        elif kind == "step":
            drops = int(drawn["drops"])
            span = total - warm
            marks = sorted({warm + max(1, round(span * (i + 1) / (drops + 1))) for i in range(drops)})
            params.update(milestones=marks, gamma=float(drawn["gamma"]))
        return schedule(kind, lr=lr, **params)


def _conditional(prefix: str, kind: str, bounds: tuple[float, float, bool, bool]) -> Any:
    low, high, log, integer = bounds

    def draw(spec: Any) -> Any:
        if spec.config[prefix]["kind"] != kind:
            return None
        # np.random is seeded per trial by the study before sample_from functions run.
        if integer:
            return int(np.random.randint(int(low), int(high) + 1))
        if log:
            return float(math.exp(np.random.uniform(math.log(low), math.log(high))))
        return float(np.random.uniform(low, high))

    return draw


def _flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat(value, name + SEP))
        else:
            out[name] = value
    return out


def schedule_space(
    kinds: Sequence[str] = tuple(KINDS), *, total_steps: int, lr: tuple[float, float] | None = None,
    max_warmup_steps: int = 0, prefix: str = "schedule", lr_name: str = "lr",
) -> ScheduleSpace:
    """A conditional search space over learning-rate schedules (and the rate itself with ``lr=(low, high)``).

    Args:
        kinds: the schedules to choose among (:data:`~tunesmith.lr._schedules.KINDS`).
        total_steps: the training length the schedules decay over.
        lr: bounds of the base learning rate, log-uniform; None leaves the rate out of the space.
        max_warmup_steps: longest linear warm-up to try (0: none).
        prefix: the parameters' name prefix (``"schedule/kind"``...).
    """
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one schedule")
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"kinds: unknown schedule {k!r}; known: {', '.join(map(repr, KINDS))}")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"kinds has duplicates: {list(kinds)}")
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
    if isinstance(max_warmup_steps, bool) or not isinstance(max_warmup_steps, int) or not (
            0 <= max_warmup_steps < total_steps):
        raise ValueError(f"max_warmup_steps must be an integer in [0, total_steps={total_steps}), "
                         f"got {max_warmup_steps!r}")
    bounds: tuple[float, float] | None = None
    if lr is not None:
        if not (isinstance(lr, Sequence) and len(lr) == 2):
            raise ValueError(f"lr must be a (low, high) pair, got {lr!r}")
        low, high = float(lr[0]), float(lr[1])
        if not (0 < low < high):
            raise ValueError(f"lr must satisfy 0 < low < high, got low={low}, high={high}")
        bounds = (low, high)
    if not prefix or not isinstance(prefix, str):
        raise ValueError(f"prefix must be a non-empty string, got {prefix!r}")
    return ScheduleSpace(kinds, total_steps, bounds, max_warmup_steps, prefix, lr_name)
