"""Objectives: KerasTuner's direction inference and its errors."""

from __future__ import annotations

import pytest

import tunesmith.keras_tuner as kt
from tunesmith.keras_tuner._objective import MultiObjective, make_objective


@pytest.mark.parametrize(
    "name, direction",
    [("val_accuracy", "max"), ("accuracy", "max"), ("val_acc", "max"), ("auc", "max"), ("val_precision", "max"),
     ("loss", "min"), ("val_loss", "min"), ("mse", "min"), ("val_mean_absolute_error", "min"),
     ("val_sparse_categorical_accuracy", "max"), ("my_loss", "min")],
)
def test_direction_is_inferred_from_the_metric_name(name: str, direction: str) -> None:
    objective = make_objective(name)
    assert (objective.name, objective.direction) == (name, direction)


def test_unknown_metric_asks_for_an_objective() -> None:
    with pytest.raises(ValueError, match=r'unknown metric "val_custom".*Objective\("val_custom", direction="min"\)'):
        make_objective("val_custom")


def test_objective_object_and_list() -> None:
    assert make_objective(kt.Objective("val_custom", "max")).direction == "max"
    multi = make_objective(["val_loss", kt.Objective("val_accuracy", "max")])
    assert isinstance(multi, MultiObjective) and multi.direction == "min"
    assert multi.value({"val_loss": 0.5, "val_accuracy": 0.75}) == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="direction must be 'min' or 'max'"):
        kt.Objective("x", "maximize")
    with pytest.raises(ValueError, match="'val_loss' is not among the metrics"):
        make_objective("val_loss").value({"loss": 1.0})
