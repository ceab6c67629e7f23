"""Learning curves read from reports or plain lists, and which metric is which.

A run's curves are its training metric, its validation metric and its learning rate,
each a :class:`Series` of (step, value). Names are guessed from common spellings
(``loss``/``train_loss``, ``val_loss``/``eval_loss``, ``accuracy``/``val_acc``, ``lr``),
case and separators ignored (``train/loss`` is ``train_loss``), and each metric's
direction from its name (losses and errors are minimized, accuracies and scores
maximized), unless given.

>>> curves = curves_from_lists({"train/loss": [2.3, 1.1, 0.7], "val_acc": [0.1, 0.6, 0.7]})
>>> curves.train.name, curves.val.name, curves.val.maximize
('train/loss', 'val_acc', True)
>>> curves.val.bad.round(2).tolist()  # badness: lower is better (an error rate here)
[0.9, 0.4, 0.3]
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "LR_NAMES", "TRAIN_NAMES", "VAL_NAMES", "Curves", "Series", "curves_from_lists", "curves_from_reports",
    "guess_maximize", "normalized",
]

TRAIN_NAMES = (
    "loss", "train_loss", "training_loss",
    "accuracy", "acc", "train_accuracy", "train_acc", "training_accuracy",
)
VAL_NAMES = (
    "val_loss", "valid_loss", "validation_loss", "eval_loss", "test_loss",
    "val_accuracy", "val_acc", "valid_accuracy", "valid_acc", "validation_accuracy", "eval_accuracy", "eval_acc",
    "test_accuracy", "test_acc",
)
LR_NAMES = ("lr", "learning_rate")

_MINIMIZED = ("loss", "error", "err", "mse", "mae", "rmse", "nll", "perplexity", "ppl", "cost", "regret")
_MAXIMIZED = (
    "acc", "accuracy", "auc", "f1", "precision", "recall", "r2", "score", "reward", "return", "iou", "map", "bleu",
)


def normalized(name: str) -> str:
    """Lower case, each run of other characters one ``_``: ``"Val/Loss"`` -> ``"val_loss"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def guess_maximize(name: str) -> bool:
    """Whether a metric of this name is better high: accuracy-like yes, loss-like (and unknown) no."""
    words = normalized(name).split("_")
    if any(w in _MINIMIZED for w in words):
        return False
    return any(w in _MAXIMIZED for w in words)


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class Series:
    """One metric of one run: steps (increasing), values as reported, and its direction.

    ``bad`` is the same curve as badness, lower is better: the values themselves when
    minimized; for a maximized metric within [0, 1] (or [0, 100]) the distance to the
    top (an error rate); else the negated values. ``positive`` says whether every finite
    badness is >= 0, which the rules need before they compare levels by ratio.
    """

    name: str
    steps: np.ndarray
    values: np.ndarray
    maximize: bool
    #: the badness curve (see above)
    bad: np.ndarray = field(init=False, repr=False)
    #: the top of a bounded maximized metric (1 or 100), else None
    top: float | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        top = _bounded_top(self.values[np.isfinite(self.values)]) if self.maximize else None
        bad = self.values if not self.maximize else (top - self.values if top is not None else -self.values)
        object.__setattr__(self, "top", top)
        object.__setattr__(self, "bad", bad)

    @property
    def positive(self) -> bool:
        finite = self.bad[np.isfinite(self.bad)]
        return bool(len(finite) and finite.min() >= 0)

    def to_bad(self, value: float) -> float:
        """A value of this metric in badness units (a target, say)."""
        if not self.maximize:
            return value
        return self.top - value if self.top is not None else -value

    def from_bad(self, bad: float) -> float:
        """A badness back in the metric's own units (for messages)."""
        return self.to_bad(bad)

    def __len__(self) -> int:
        return len(self.steps)


def _bounded_top(finite: np.ndarray) -> float | None:
    if not len(finite) or finite.min() < 0:
        return None
    if finite.max() <= 1:
        return 1.0
    if finite.max() <= 100 and finite.max() > 1.5:
        return 100.0
    return None


@dataclass(frozen=True, eq=False)
class Curves:
    """A run's training and validation metric (either may be missing) and its learning rate."""

    train: Series | None
    val: Series | None
    lr: Series | None

    @property
    def primary(self) -> Series | None:
        """The curve that says how good the run is: validation, else training."""
        return self.val if self.val is not None else self.train

    @property
    def learner(self) -> Series | None:
        """The curve that says whether the optimizer makes progress: training, else validation."""
        return self.train if self.train is not None else self.val


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    return None


def _series(name: str, points: Mapping[int, float], maximize: bool) -> Series | None:
    if not points:
        return None
    steps = sorted(points)
    return Series(name, np.array(steps, dtype=float), np.array([points[s] for s in steps]), maximize)


def _pick(
    names: Iterable[str], wanted: Sequence[str], given: str | None, what: str, strict: bool,
    prefer: str | None = None,
) -> str | None:
    """The given name or the first reported name whose normal form is in ``wanted``.

    A given name that is not reported is an error when ``strict`` (plain curves), else
    that curve is missing (a trial that ended before reporting it).
    """
    names = list(names)
    if given is not None:
        if given not in names:
            if not strict:
                return None
            raise ValueError(f"{what}={given!r} is not a reported metric; reported: {sorted(names) or 'none'}")
        return given
    by_norm = {normalized(n): n for n in names}
    order = list(wanted)
    if prefer is not None:  # the same family as the other curve first (loss with loss)
        order = [w for w in wanted if prefer in w] + [w for w in wanted if prefer not in w]
    return next((by_norm[w] for w in order if w in by_norm), None)


def _assemble(
    columns: Mapping[str, Mapping[int, float]], train: str | None, val: str | None, lr: str | None,
    direction: str | None, objective: tuple[str, str] | None, strict: bool,
) -> Curves:
    if direction not in (None, "minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize', 'maximize' or None, got {direction!r}")
    train_name = _pick(columns, TRAIN_NAMES, train, "train", strict)
    family = "loss" if train_name is not None and "loss" in normalized(train_name) else (
        "acc" if train_name is not None else None)
    val_name = _pick(columns, VAL_NAMES, val, "val", strict, prefer=family)
    lr_name = _pick(columns, LR_NAMES, lr, "lr", strict)
    directions: dict[str, bool] = {}
    if train_name is None and val_name is None and objective is not None and objective[0] in columns:
        val_name = objective[0]  # the study's own metric, with the study's direction
        directions[val_name] = objective[1] == "maximize"

    def series(name: str | None) -> Series | None:
        if name is None:
            return None
        maximize = directions.get(name, guess_maximize(name)) if direction is None else direction == "maximize"
        return _series(name, columns[name], maximize)

    lr_series = None if lr_name is None else _series(lr_name, columns[lr_name], False)
    return Curves(series(train_name), series(val_name), lr_series)


def curves_from_reports(
    reports: Iterable[tuple[int, Mapping[str, Any]]], train: str | None = None, val: str | None = None,
    lr: str | None = None, direction: str | None = None, objective: tuple[str, str] | None = None,
) -> Curves:
    """A trial's curves from its reports ``[(step, {metric: value}), ...]``.

    Numbers only (NaN and inf kept: they mean divergence); a step reported again (a
    retried trial) keeps its last value. ``objective`` is the study's (metric, direction),
    used when no common name is reported.
    """
    columns: dict[str, dict[int, float]] = {}
    for step, metrics in reports:
        for name, value in metrics.items():
            v = _number(value)
            if v is not None:
                columns.setdefault(name, {})[int(step)] = v
    return _assemble(columns, train, val, lr, direction, objective, strict=False)


def curves_from_lists(
    curves: Mapping[str, Sequence[float | None]], steps: Sequence[int] | None = None, train: str | None = None,
    val: str | None = None, lr: str | None = None, direction: str | None = None,
) -> Curves:
    """Curves from ``{name: [value per step, ...]}`` (None: not reported at that step)."""
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(f"curves must be a non-empty dict of name -> list of values, got {curves!r:.80}")
    lengths = {name: len(values) for name, values in curves.items()}
    n = max(lengths.values())
    if steps is None:
        step_list = list(range(n))
    else:
        step_list = []
        for s in steps:
            whole = isinstance(s, (float, np.floating)) and math.isfinite(s) and float(s).is_integer()
            if isinstance(s, bool) or not (isinstance(s, (int, np.integer)) or whole):
                raise ValueError(f"steps must be integers, got {s!r}")
            step_list.append(int(s))
        if any(b <= a for a, b in itertools.pairwise(step_list)):
            raise ValueError("steps must increase")
    for name, length in lengths.items():
        if length != len(step_list):
            raise ValueError(
                f"curve {name!r} has {length} values but there are {len(step_list)} steps; "
                "give one value per step (None where it was not reported)"
            )
    columns: dict[str, dict[int, float]] = {}
    for name, values in curves.items():
        column: dict[int, float] = {}
        for step, value in zip(step_list, values, strict=True):
            if value is None:
                continue
            v = _number(value)
            if v is None:
                raise ValueError(f"curve {name!r} holds {value!r} at step {step}; values must be numbers or None")
            column[step] = v
        columns[name] = column
    return _assemble(columns, train, val, lr, direction, None, strict=True)
