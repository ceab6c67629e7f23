"""Scale a tuned learning rate to another batch size (linear or square-root rule).

The linear rule (Goyal et al. 2017) keeps SGD's update per example constant; the square-root
rule (Krizhevsky 2014; Malladi et al. 2022 for Adam) keeps the update's noise constant and
suits Adam-family optimizers. Both are starting points: at a new batch size the best
learning rate, warm-up, momentum/betas and weight decay need tuning again (Shallue et al.
2019; the Deep Learning Tuning Playbook), and the linear rule breaks down for large batches.

>>> scale(0.1, batch_size=256, base_batch_size=64)
0.4
>>> scale(1e-3, batch_size=256, base_batch_size=64, rule="auto", optimizer="adamw")
0.002
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["RULES", "scale"]

RULES = ("linear", "sqrt", "auto")
#: optimizers the "auto" rule scales by the square root (compared in lower case, without "_"/"-")
ADAPTIVE = ("adam", "adamw", "adamax", "nadam", "radam", "adagrad", "adadelta", "rmsprop", "lamb", "adafactor",
            "sparseadam", "lion")


def _optimizer_name(optimizer: Any) -> str:
    name = optimizer if isinstance(optimizer, str) else type(optimizer).__name__
    return name.lower().replace("_", "").replace("-", "")


def scale(lr: float, batch_size: int, base_batch_size: int, rule: str = "linear", optimizer: Any = None) -> float:
    """The learning rate for ``batch_size`` given ``lr`` tuned at ``base_batch_size``.

    Args:
        rule: ``"linear"`` (lr * k), ``"sqrt"`` (lr * sqrt(k)), with k = batch_size / base_batch_size,
            or ``"auto"``: square root for Adam-family optimizers (Adam, AdamW, RMSprop, Adagrad...),
            linear for SGD and the rest; ``"auto"`` needs ``optimizer`` (a torch optimizer or its name).

    Re-tune the other hyperparameters (warm-up, momentum, weight decay) at the new batch size.
    """
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    for name, value in (("batch_size", batch_size), ("base_batch_size", base_batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}; got {rule!r}")
    if rule == "auto":
        if optimizer is None:
            raise ValueError("rule='auto' needs optimizer= (a torch optimizer or its name, e.g. 'adam' or 'sgd')")
        rule = "sqrt" if _optimizer_name(optimizer) in ADAPTIVE else "linear"
    k = batch_size / base_batch_size
    return float(lr * (k if rule == "linear" else math.sqrt(k)))
