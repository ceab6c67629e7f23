"""KerasTuner's ``Objective``: a metric name and a direction, inferred from the name when not given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Objective", "infer_direction", "make_objective"]

# Metric names whose direction is known (KerasTuner's table, by Keras' metric names and aliases).
_MAX = {
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "auc", "precision", "recall",
    "true_positives", "true_negatives", "f1_score", "fbeta_score", "mean_iou", "iou", "r2_score",
    "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity", "specificity_at_sensitivity",
    "cosine_similarity",
}
_MIN = {
    "loss", "mse", "mae", "mape", "msle", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "root_mean_squared_error", "rmse",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge",
    "squared_hinge", "categorical_hinge", "kl_divergence", "kld", "kullback_leibler_divergence", "logcosh",
    "log_cosh", "poisson", "false_positives", "false_negatives", "huber", "concordance_correlation",
}


class Objective:
    """What a tuner optimizes: a metric ``name`` (``"val_accuracy"``) and ``direction`` (``"min"``/``"max"``).

    >>> Objective("val_auc", "max")
    Objective(name="val_auc", direction="max")
    """

    def __init__(self, name: str, direction: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Objective: name must be a metric name such as 'val_loss', got {name!r}")
        if direction not in ("min", "max"):
            raise ValueError(f"Objective {name!r}: direction must be 'min' or 'max', got {direction!r}")
        self.name = name
        self.direction = direction

    @property
    def study_direction(self) -> str:
        """The study's spelling: ``"minimize"`` or ``"maximize"``."""
        return "maximize" if self.direction == "max" else "minimize"

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` beats ``b``."""
        return a > b if self.direction == "max" else a < b

    def best_of(self, values: Sequence[float]) -> float:
        """The best value of a metric's history (KerasTuner scores a trial by its best epoch)."""
        return max(values) if self.direction == "max" else min(values)

    def value(self, metrics: Mapping[str, Any]) -> float:
        """The objective's value in a dict of metrics (a clear error when it is missing)."""
        if self.name not in metrics:
            raise ValueError(
                f"objective {self.name!r} is not among the metrics the model reported: {sorted(metrics)}; "
                "compile the model with that metric, pass validation data for a 'val_' metric, or change objective="
            )
        return float(metrics[self.name])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Objective) and (self.name, self.direction) == (other.name, other.direction)

    def __hash__(self) -> int:
        return hash((self.name, self.direction))

    def __repr__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'


class MultiObjective(Objective):
    """Several objectives as one: KerasTuner minimizes their sum, with each "max" metric negated."""

    def __init__(self, objectives: Sequence[Objective]) -> None:
        super().__init__("multi_objective", "min")
        self.objectives = list(objectives)

    def value(self, metrics: Mapping[str, Any]) -> float:
        if self.name in metrics:
            return float(metrics[self.name])
        return sum(o.value(metrics) * (-1.0 if o.direction == "max" else 1.0) for o in self.objectives)

    def __repr__(self) -> str:
        return f"MultiObjective({self.objectives})"


def infer_direction(metric: str) -> str | None:
    """``"min"``/``"max"`` for a known Keras metric name (a ``val_`` prefix ignored), else None.

    >>> infer_direction("val_accuracy"), infer_direction("loss"), infer_direction("my_metric")
    ('max', 'min', None)
    """
    name = metric[len("val_"):] if metric.startswith("val_") else metric
    if name in _MAX:
        return "max"
    if name in _MIN or name.endswith("_loss") or name.endswith("_error"):
        return "min"
    if name.endswith("_accuracy") or name.endswith("_auc"):
        return "max"
    return None


def make_objective(objective: Any) -> Objective:
    """An :class:`Objective` from a name, an Objective, or a list of either (KerasTuner's ``objective=``)."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        direction = infer_direction(objective)
        if direction is None:
            raise ValueError(
                f'Could not infer optimization direction ("min" or "max") for unknown metric "{objective}". '
                f'Please specify the objective as a `keras_tuner.Objective`, for example '
                f'`keras_tuner.Objective("{objective}", direction="min")`.'
            )
        return Objective(objective, direction)
    if isinstance(objective, (list, tuple)):
        if not objective:
            raise ValueError("objective= is an empty list; give a metric name or an Objective")
        parts = [make_objective(o) for o in objective]
        return parts[0] if len(parts) == 1 else MultiObjective(parts)
    raise TypeError(
        f"objective must be a metric name, a keras_tuner.Objective or a list of them, got {type(objective).__name__}"
    )
