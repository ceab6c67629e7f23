"""The matplotlib versions draw the same info: checked on the Axes and on rendered pixels (Agg)."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import numpy as np
import pytest
from viz_data import FakeStudy, fake_study, make_trials

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tunesmith.visualization import matplotlib as mpl_vis
from tunesmith.visualization._intermediate_values import _intermediate_values_info
from tunesmith.visualization._optimization_history import _optimization_history_info


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _pixels(ax: object) -> np.ndarray:
    fig = ax.figure  # type: ignore[attr-defined]
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def test_history_line_is_the_info_best_line() -> None:
    study = fake_study(3000, n_running=1)
    ax = mpl_vis.plot_optimization_history(study, max_trials=200)
    info = _optimization_history_info(study, max_trials=200)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), info.best_numbers)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), info.best_values)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Trial", "Objective Value")
    assert len(ax.collections) == 2  # trials, and the running one marked apart
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 1], info.values)
    image = _pixels(ax)
    assert image.ndim == 3 and (image[..., :3] != 255).any()
    red = (image[..., 0] > 200) & (image[..., 1] < 80) & (image[..., 2] < 80)
    assert red.sum() > 50  # the best-so-far line (#d62728) is drawn


def test_intermediate_values_lines_per_trial() -> None:
    study = fake_study(30, n_running=1)
    ax = mpl_vis.plot_intermediate_values(study)
    info = _intermediate_values_info(study)
    assert len(ax.lines) == 31
    assert ax.lines[-1].get_linestyle() == "--" and ax.lines[0].get_linestyle() == "-"
    assert ax.lines[-1].get_label() == "Trial30 (running)" and ax.lines[0].get_label() == "Trial0"
    np.testing.assert_array_equal(ax.lines[5].get_ydata(), info.curves[5].values)


def test_slice_and_importance_and_parallel() -> None:
    study = fake_study(200)
    axes = mpl_vis.plot_slice(study, params=["x", "lr"])
    np.testing.assert_array_equal(axes[0].collections[0].get_offsets()[:, 0], [t.params["x"] for t in study.trials])
    assert axes[1].get_xscale() == "log" and axes[0].get_ylabel() == "Objective Value"
    ax = mpl_vis.plot_param_importances(study)
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "x"
    ax = mpl_vis.plot_parallel_coordinate(study)
    assert len(ax.collections[0].get_segments()) == 200
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Objective Value", "lr (log)", "n", "opt", "x"]
    _pixels(ax)


def test_contour_timeline_pareto_edf_draw() -> None:
    study = fake_study(300, n_running=1)
    ax = mpl_vis.plot_contour(study, params=["x", "lr"])
    assert ax.get_xlabel() == "x" and ax.get_yscale() == "log"
    axes = mpl_vis.plot_contour(study, params=["x", "lr", "n"])
    assert axes.shape == (3, 3) and not axes[0][0].axison
    axes = mpl_vis.plot_rank(study, params=["x", "lr", "n"])
    assert axes.shape == (3, 3) and len(axes[0][1].collections) == 2  # the grid, the sampled trials
    ax = mpl_vis.plot_timeline(study)
    assert len(ax.patches) == 301
    two = FakeStudy(make_trials(100, n_objectives=2), directions=["minimize", "maximize"], metric_names=["l", "a"])
    ax = mpl_vis.plot_pareto_front(two)
    assert (ax.get_xlabel(), ax.get_ylabel(), len(ax.collections)) == ("l", "a", 2)
    assert mpl_vis.plot_hypervolume_history(two, [40.0, -1.0]).lines[0].get_ydata()[-1] > 0
    assert mpl_vis.plot_edf(study).lines[0].get_ydata()[-1] == 1.0
    _pixels(ax)
