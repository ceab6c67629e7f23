"""The tuning playbook's warm-up recipe: the shortest linear warm-up that makes 10x the unstable rate stable.

Google's Deep Learning Tuning Playbook ("How to apply learning rate warmup"): find
``unstable_base_learning_rate``, the smallest base rate at which training becomes unstable,
then prepend a linear warm-up to a peak of 10 times that rate and take the shortest warm-up
with which training is stable. The evidence (every run's first, largest and last loss) comes
with the answer.

``train(schedule) -> losses`` is yours: it trains from scratch for a fixed number of steps with
the learning rate ``schedule(step)`` and returns the loss after each step (or the last loss).

>>> import numpy as np
>>> def train(schedule, steps=300):     # the problem's sharpness falls as training goes on
...     w, sharp, losses = 1.0, 50.0, []
...     for t in range(steps):
...         w -= schedule(t) * sharp * w
...         sharp = max(1.0, sharp * 0.95)
...         losses.append(w * w)
...     return losses
>>> r = find_warmup(train, lrs=np.logspace(-3, 0, 13), warmup_steps=[10, 100, 300])
>>> round(r.unstable_lr, 4), r.warmup_steps
(0.0562, 100)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tunesmith.lr._schedules import Schedule, schedule

__all__ = ["WarmupResult", "WarmupRun", "find_warmup"]


@dataclass(frozen=True)
class WarmupRun:
    """One training run of the recipe: its peak rate, warm-up, and whether it was stable."""

    lr: float
    warmup_steps: int
    stable: bool
    first_loss: float
    max_loss: float
    final_loss: float


@dataclass(frozen=True)
class WarmupResult:
    """The recipe's answer and its evidence.

    Attributes:
        unstable_lr: the smallest tried base rate at which training (no warm-up) was unstable;
            None when every rate tried was stable (no warm-up is needed up to the largest).
        target_lr: ``factor`` times ``unstable_lr``, the peak rate the warm-up must make stable.
        warmup_steps: the shortest tried warm-up that made ``target_lr`` stable (None: none did).
        runs: every run, in the order made.
    """

    unstable_lr: float | None
    target_lr: float | None
    warmup_steps: int | None
    runs: tuple[WarmupRun, ...]

    def summary(self) -> str:
        """A few lines saying what was found and on what evidence."""
        lines = []
        for r in self.runs:
            tag = "stable" if r.stable else "UNSTABLE"
            lines.append(f"  lr={r.lr:.3g} warmup={r.warmup_steps:>6}: {tag:8} loss {r.first_loss:.4g} -> "
                         f"{r.final_loss:.4g} (max {r.max_loss:.4g})")
        if self.unstable_lr is None:
            head = "every base rate tried was stable without warm-up: no warm-up needed up to the largest"
        elif self.warmup_steps is None:
            head = (f"unstable base rate {self.unstable_lr:.3g}; no warm-up tried made {self.target_lr:.3g} "
                    "stable: try longer warm-ups")
        else:
            head = (f"unstable base rate {self.unstable_lr:.3g}; {self.warmup_steps} warm-up steps make "
                    f"{self.target_lr:.3g} stable")
        return "\n".join([head, *lines])


def default_is_stable(losses: Sequence[float]) -> bool:
    """Stable: every loss finite, the last below the first, and none above twice the first."""
    if not losses or not all(math.isfinite(v) for v in losses):
        return False
    return losses[-1] < losses[0] and max(losses) <= 2.0 * losses[0]


def find_warmup(
    train: Callable[[Schedule], Any], lrs: Sequence[float], warmup_steps: Sequence[int], *,
    factor: float = 10.0, is_stable: Callable[[Sequence[float]], bool] = default_is_stable,
) -> WarmupResult:
    """Run the playbook's recipe: the unstable base rate, then the shortest warm-up stabilizing ``factor`` times it.

    Args:
        train: trains from scratch with ``schedule(step) -> lr`` and returns the losses (or the last loss).
        lrs: base learning rates to try without warm-up, in increasing order.
        warmup_steps: warm-up lengths to try, in increasing order.
        factor: the peak rate the warm-up must make stable, as a multiple of the unstable one (10).
        is_stable: decides from a run's losses whether it was stable (:func:`default_is_stable`).
    """
    lr_list = [float(v) for v in lrs]
    if not lr_list or any(v <= 0 or not math.isfinite(v) for v in lr_list):
        raise ValueError(f"lrs must be positive numbers, got {list(lrs)!r}")
    if any(b <= a for a, b in itertools.pairwise(lr_list)):
        raise ValueError(f"lrs must be increasing, got {lr_list}")
    steps = list(warmup_steps)
    if not steps or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in steps):
        raise ValueError(f"warmup_steps must be positive integers, got {steps!r}")
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError(f"warmup_steps must be increasing, got {steps}")
    if not (isinstance(factor, (int, float)) and factor >= 1):
        raise ValueError(f"factor must be >= 1, got {factor!r}")

    runs: list[WarmupRun] = []

    def attempt(lr: float, warm: int) -> bool:
        out = train(schedule("constant", lr=lr, warmup_steps=warm))
        losses = [float(v) for v in (out if isinstance(out, Sequence) else [out])]
        stable = bool(is_stable(losses))
        finite = [v for v in losses if math.isfinite(v)]
        runs.append(WarmupRun(lr, warm, stable, losses[0] if losses else math.nan,
                              max(finite) if len(finite) == len(losses) and finite else math.inf,
                              losses[-1] if losses else math.nan))
        return stable

    unstable = next((lr for lr in lr_list if not attempt(lr, 0)), None)
    if unstable is None:
        return WarmupResult(None, None, None, tuple(runs))
    target = factor * unstable
    chosen = next((w for w in steps if attempt(target, w)), None)
    return WarmupResult(unstable, target, chosen, tuple(runs))
