"""Parallel coordinate, slice, contour, importances, EDF: the figures' data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from viz_data import FakeStudy, fake_study, make_trials

import tunesmith
from tunesmith.visualization import (
    as_json,
    plot_contour,
    plot_edf,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_slice,
)
from tunesmith.visualization._contour import _contour_info
from tunesmith.visualization._edf import _edf_info
from tunesmith.visualization._parallel_coordinate import _parallel_coordinate_info
from tunesmith.visualization._param_importances import _param_importances_info
from tunesmith.visualization._slice import _slice_info


def test_parallel_coordinate_dimensions_ranges_log_and_categorical() -> None:
    study = fake_study(200)
    fig = plot_parallel_coordinate(study)
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims) == ["Objective Value", "lr", "n", "opt", "x"]
    values = [t.values[0] for t in study.trials]
    assert tuple(dims["Objective Value"].range) == (min(values), max(values))
    lrs = np.array([t.params["lr"] for t in study.trials])
    # log parameter: log10 axis, its range in log10, ticks labelled with the values
    np.testing.assert_allclose(dims["lr"].values, np.log10(lrs))
    np.testing.assert_allclose(dims["lr"].range, [math.log10(lrs.min()), math.log10(lrs.max())])
    assert "1e-05" in dims["lr"].ticktext or "0.0001" in dims["lr"].ticktext
    assert list(dims["opt"].ticktext) == ["sgd", "adam", "rmsprop"]
    assert list(dims["opt"].values) == [["sgd", "adam", "rmsprop"].index(t.params["opt"]) for t in study.trials]
    assert list(dims["x"].values) == [t.params["x"] for t in study.trials]


def test_parallel_coordinate_sample_keeps_the_best() -> None:
    study = fake_study(5000)
    info = _parallel_coordinate_info(study, params=["x"], max_trials=100)
    assert len(info.numbers) == 100 and info.n_trials == 5000
    values = np.array([t.values[0] for t in study.trials])
    best50 = set(np.argsort(values)[:50].tolist())
    assert best50 <= set(info.numbers.tolist())
    np.testing.assert_array_equal(info.target.values, values[info.numbers])


def test_slice_x_values_are_the_params() -> None:
    study = fake_study(100)
    fig = plot_slice(study, params=["x", "lr", "opt"])
    assert [t.name for t in fig.data] == ["x", "lr", "opt"]
    assert all(t.type == "scattergl" for t in fig.data)
    assert list(fig.data[0].x) == [t.params["x"] for t in study.trials]
    assert list(fig.data[0].y) == [t.values[0] for t in study.trials]
    assert fig.layout.xaxis2.type == "log"
    assert list(fig.layout.xaxis3.ticktext) == ["sgd", "adam", "rmsprop"]
    info = _slice_info(study, max_trials=30)
    assert all(len(p.x) == 30 for p in info.panels)


def test_unknown_params_name_them() -> None:
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        plot_slice(fake_study(5), params=["x", "nope"])


def test_contour_grid_holds_binned_means() -> None:
    study = fake_study(2000)
    info = _contour_info(study, params=["x", "n"], resolution=4)
    panel = info.panels[0]
    assert (panel.x_param, panel.y_param) == ("x", "n")
    x = np.array([t.params["x"] for t in study.trials])
    n = np.array([t.params["n"] for t in study.trials])
    v = np.array([t.values[0] for t in study.trials])
    xe = np.linspace(x.min(), x.max(), 5)
    ne = np.linspace(1, 8, 5)
    in_cell = (x >= xe[1]) & (x < xe[2]) & (n >= ne[2]) & (n < ne[3])
    assert panel.counts[2, 1] == in_cell.sum()
    assert panel.z[2, 1] == pytest.approx(v[in_cell].mean())
    assert panel.counts.sum() == 2000
    fig = plot_contour(study, params=["x", "n"], resolution=4)
    assert fig.data[0].type == "contour" and np.shape(fig.data[0].z) == (4, 4)


def test_contour_many_params_is_a_matrix_and_needs_two() -> None:
    fig = plot_contour(fake_study(300), params=["x", "lr", "n"])
    assert len(fig.data) == 2 * 6  # one grid and one sample per ordered pair
    # panel (row y, col x) of the 3x3 matrix is axis 3*row + col + 1: row 0 col 1 is x=lr, y=x
    assert (fig.layout.xaxis2.title.text, fig.layout.yaxis2.title.text) == ("lr", "x")
    assert fig.layout.xaxis2.type == "log" and fig.data[0].xaxis == "x4"
    with pytest.raises(ValueError, match="at least 2 parameters"):
        plot_contour(fake_study(10), params=["x"])


def test_param_importances_ranks_the_parameter_that_matters() -> None:
    study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: 10 * t.suggest_float("a", -1, 1) ** 2 + 0.01 * t.suggest_float("b", -1, 1), n_trials=80)
    fig = plot_param_importances(study)
    assert list(fig.data[0].y) == ["b", "a"]  # least important first: the top bar is the most important
    assert sum(fig.data[0].x) == pytest.approx(1.0)
    info = _param_importances_info(study, target=lambda t: t.params["b"])
    assert info.params[0] == "b"


def test_edf_is_the_fraction_at_most_x() -> None:
    study = fake_study(500)
    info = _edf_info(study)
    v = np.sort([t.values[0] for t in study.trials])
    assert info.y[-1] == 1.0 and info.x[0] == v[0]
    assert info.y[50] == pytest.approx(np.mean(v <= info.x[50]))
    assert plot_edf(study).data[0].x[0] == v[0]


def test_info_serves_as_json() -> None:
    import json

    info = _slice_info(fake_study(20))
    data = as_json(info)
    assert json.loads(json.dumps(data))["panels"][0]["param"] == "lr"
    grid = as_json(_contour_info(fake_study(20), params=["x", "lr"], resolution=10))
    text = json.dumps(grid, allow_nan=False)  # empty cells are null, not NaN
    assert json.loads(text)["panels"][0]["z"][0].count(None) > 0


def test_multi_objective_needs_target_everywhere() -> None:
    study = FakeStudy(make_trials(10), directions=["minimize", "minimize"], metric_names=["a", "b"])
    for plot in (plot_parallel_coordinate, plot_slice, plot_contour, plot_edf):
        with pytest.raises(ValueError, match="2 objectives"):
            plot(study)


def test_rank_cells_hold_mean_ranks() -> None:
    from tunesmith.visualization import plot_rank
    from tunesmith.visualization._rank import _rank_info

    study = fake_study(1000)
    info = _rank_info(study, params=["x", "opt"], resolution=5)
    panel = info.panels[0]
    v = np.array([t.values[0] for t in study.trials])
    rank = np.argsort(np.argsort(v)) / 999
    x = np.array([t.params["x"] for t in study.trials])
    opt = np.array([["sgd", "adam", "rmsprop"].index(t.params["opt"]) for t in study.trials])
    # x^2 dominates the value: the middle x column is where the good ranks are
    in_cell = (np.searchsorted(np.linspace(x.min(), x.max(), 6), x, side="right") - 1 == 2) & (opt == 1)
    assert panel.z[1, 2] == pytest.approx(rank[in_cell].mean())
    assert np.nanargmin(panel.z.mean(axis=0)) == 2
    fig = plot_rank(study, params=["x", "lr", "n"])
    assert [t.type for t in fig.data[:2]] == ["heatmap", "scattergl"] and len(fig.data) == 12
