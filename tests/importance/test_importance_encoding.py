"""Parameters as numbers: unit columns in each parameter's own measure, grid cells, joined distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from importance_data import make_trials

from tunesmith.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    NormalDistribution,
)
from tunesmith.importance._encoding import GRID_SIZE, MISSING, best_mask, encode_column, merged_distribution
from tunesmith.importance._trials import read_table


def test_a_log_float_is_encoded_in_log_space() -> None:
    col = encode_column("lr", FloatDistribution(1e-5, 1e-1, log=True), [1e-5, 1e-4, 1e-3, 1e-1, MISSING])
    np.testing.assert_allclose(col.unit[:4], [0.0, 0.25, 0.5, 1.0])
    assert math.isnan(col.unit[4])
    assert col.cells.tolist() == [0, 12, 25, GRID_SIZE - 1, -1]
    assert (col.n_cells, col.ordered) == (GRID_SIZE, True)


def test_integers_get_one_cell_per_level() -> None:
    col = encode_column("n", IntDistribution(1, 3), [1, 2, 3])
    np.testing.assert_allclose(col.unit, [1 / 6, 1 / 2, 5 / 6])
    assert (col.cells.tolist(), col.n_cells) == ([0, 1, 2], 3)
    stepped = encode_column("n", IntDistribution(0, 10, step=2), [0, 4, 10])
    assert (stepped.cells.tolist(), stepped.n_cells) == ([0, 2, 5], 6)
    wide = encode_column("n", IntDistribution(1, 1000), [1, 500, 1000])
    assert wide.n_cells == GRID_SIZE
    assert wide.cells.tolist() == [0, 24, GRID_SIZE - 1]


def test_a_log_integer_keeps_log_measure_and_one_cell_per_level() -> None:
    col = encode_column("units", IntDistribution(1, 8, log=True), [1, 2, 8])
    assert (col.cells.tolist(), col.n_cells) == ([0, 1, 7], 8)
    lo, hi = math.log(0.5), math.log(8.5)
    np.testing.assert_allclose(col.unit, [(math.log(v) - lo) / (hi - lo) for v in (1, 2, 8)])


def test_a_stepped_float_gets_one_cell_per_step() -> None:
    col = encode_column("p", FloatDistribution(0.0, 1.0, step=0.25), [0.0, 0.5, 1.0])
    assert (col.cells.tolist(), col.n_cells) == ([0, 2, 4], 5)
    np.testing.assert_allclose(col.unit, [0.1, 0.5, 0.9])


def test_categorical_choices_are_their_indices_true_apart_from_one() -> None:
    col = encode_column("c", CategoricalDistribution((1, True, "a", None)), [True, 1, "a", None, MISSING, True])
    assert col.cells.tolist() == [1, 0, 2, 3, -1, 1]
    assert (col.n_cells, col.ordered) == (4, False)
    np.testing.assert_allclose(col.unit[:4], [3 / 8, 1 / 8, 5 / 8, 7 / 8])
    unhashable = encode_column("c", CategoricalDistribution(([1, 2], [3])), [[3], [1, 2]])
    assert unhashable.cells.tolist() == [1, 0]


def test_a_gaussian_parameter_is_encoded_through_its_cdf() -> None:
    col = encode_column("z", NormalDistribution(1.0, 2.0), [1.0, 1.0 + 2 * 1.6448536])
    np.testing.assert_allclose(col.unit, [0.5, 0.95], atol=1e-6)


def test_values_that_do_not_fit_their_distribution_raise_naming_the_parameter() -> None:
    with pytest.raises(ValueError, match="parameter 'c': value 'x' is not one of its choices"):
        encode_column("c", CategoricalDistribution(("a", "b")), ["a", "x"])
    with pytest.raises(ValueError, match="parameter 'lr': value 'fast' is not a number"):
        encode_column("lr", FloatDistribution(0.0, 1.0), [0.5, "fast"])


def test_joined_distributions() -> None:
    def join(*dists, values=()):
        return merged_distribution("p", list(dists), lambda: list(values))

    assert join(FloatDistribution(0.0, 1.0), FloatDistribution(-1.0, 0.5)) == FloatDistribution(-1.0, 1.0)
    assert join(IntDistribution(0, 10, step=2), IntDistribution(1, 5)) == IntDistribution(0, 10, step=1)
    assert join(IntDistribution(0, 8, step=4), IntDistribution(2, 6, step=2)) == IntDistribution(0, 8, step=2)
    assert join(FloatDistribution(1.0, 2.0), IntDistribution(0, 5)) == FloatDistribution(0.0, 5.0)
    both = join(CategoricalDistribution(("a", "b")), CategoricalDistribution(("b", "c")))
    assert both.choices == ("a", "b", "c")
    # Different kinds: inferred from the values.
    assert join(FloatDistribution(1.0, 2.0), CategoricalDistribution(("a",)), values=[1.5, "a"]).choices == (1.5, "a")
    # None recorded: numbers give their observed range; a single value cannot vary.
    assert join(values=[3, MISSING, 1.5]) == FloatDistribution(1.5, 3.0)
    assert len(join(values=[2.0, 2.0]).choices) == 1


def test_read_table_infers_distributions_the_trials_do_not_record() -> None:
    trials = make_trials([{"a": 1.0, "b": "x"}, {"a": 3.0, "b": "y"}, {"a": 2.0}], [1.0, 2.0, 3.0], {})
    table = read_table(trials, directions="minimize")
    assert table.names == ("a", "b")
    assert table.distributions == (FloatDistribution(1.0, 3.0), CategoricalDistribution(("x", "y")))
    np.testing.assert_allclose(table.unit[:, 0], [0.0, 1.0, 0.5])
    assert table.cells[:, 1].tolist() == [0, 1, -1]


def test_read_table_orders_parameters_by_first_appearance_and_loss_by_direction() -> None:
    dists = {"b": FloatDistribution(0.0, 1.0), "a": FloatDistribution(0.0, 1.0), "c": FloatDistribution(0.0, 1.0)}
    trials = make_trials([{"b": 0.1, "a": 0.2}, {"b": 0.3, "c": 0.4, "a": 0.5}], [1.0, 2.0], dists)
    table = read_table(trials, directions="maximize")
    assert table.names == ("b", "a", "c")
    assert table.loss.tolist() == [-1.0, -2.0]
    assert np.isnan(table.unit[0, 2])


def test_best_mask_keeps_ties_at_the_cutoff() -> None:
    loss = np.array([5.0, 1.0, 2.0, 2.0, 9.0])
    assert best_mask(loss, 0.4).tolist() == [False, True, True, True, False]
    assert best_mask(loss, 0.01).tolist() == [False, True, False, False, False]
    assert best_mask(loss, 1.0).all()
