"""plot_optimization_history over several studies: one trace group each, or the error bar."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import matplotlib
import numpy as np
import pytest
from viz_data import FakeStudy, make_trials

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tunesmith.visualization import matplotlib as mpl_vis
from tunesmith.visualization import plot_optimization_history
from tunesmith.visualization._optimization_history import error_bar_history_info


@dataclass
class NamedStudy(FakeStudy):
    name: str = ""


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _studies(direction: str = "minimize") -> list[NamedStudy]:
    return [
        NamedStudy(make_trials(n, seed=s), directions=[direction], name=name)
        for n, s, name in ((60, 1, "a"), (40, 2, "b"), (50, 3, "c"))
    ]


def _best(values: np.ndarray, maximize: bool = False) -> np.ndarray:
    return np.maximum.accumulate(values) if maximize else np.minimum.accumulate(values)


def test_one_trace_group_per_study_named_in_the_legend() -> None:
    studies = _studies()
    fig = plot_optimization_history(studies)
    assert [t.name for t in fig.data] == [
        f"{kind} of {s}" for s in "abc" for kind in ("Objective Value", "Best Value")
    ]
    for k, study in enumerate(studies):
        points, best = fig.data[2 * k], fig.data[2 * k + 1]
        assert points.legendgroup == best.legendgroup == study.name
        assert points.marker.color == best.line.color  # one colour per study
        np.testing.assert_array_equal(points.y, [t.values[0] for t in study.trials])
        values = np.array([t.values[0] for t in study.trials])
        at = np.searchsorted(np.asarray(best.x), np.arange(len(values)), side="right") - 1
        np.testing.assert_array_equal(np.asarray(best.y)[at], _best(values))
    assert len({t.marker.color for t in fig.data[::2]}) == 3
    assert len(plot_optimization_history(tuple(studies[:2])).data) == 4  # a tuple too
    # a list of one study is that study's figure (plain names)
    assert [t.name for t in plot_optimization_history(studies[:1]).data] == ["Objective Value", "Best Value"]
    assert mpl_vis.plot_optimization_history(studies[:1]).get_legend().get_texts()[0].get_text() == "Best Value"


def test_unnamed_studies_are_numbered() -> None:
    fig = plot_optimization_history([FakeStudy(make_trials(5)), FakeStudy(make_trials(5, seed=1))])
    assert [t.name for t in fig.data][::2] == ["Objective Value of Study 0", "Objective Value of Study 1"]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_error_bar_is_mean_and_std_of_the_best_so_far_per_trial(direction: str) -> None:
    studies = _studies(direction)
    maximize = direction == "maximize"
    info = error_bar_history_info(studies, max_trials=None)
    # Reference: every trial number, every study that has reached it.
    best = np.full((3, 60), np.nan)
    value = np.full((3, 60), np.nan)
    for k, s in enumerate(studies):
        v = np.array([t.values[0] for t in s.trials])
        value[k, : len(v)] = v
        best[k, : len(v)] = _best(v, maximize)
        best[k, len(v):] = _best(v, maximize)[-1]  # a finished study's best carries on
    np.testing.assert_allclose(info.value_mean, np.nanmean(value, axis=0))
    np.testing.assert_allclose(info.value_std, np.nanstd(value, axis=0))
    steps = np.searchsorted(info.best_numbers, np.arange(60), side="right") - 1
    np.testing.assert_allclose(info.best_mean[steps], best.mean(axis=0))
    np.testing.assert_allclose(info.best_std[steps], best.std(axis=0), atol=1e-12)
    assert info.n_studies == 3 and info.maximize == maximize
    fig = plot_optimization_history(studies, error_bar=True, max_trials=None)
    names = [t.name for t in fig.data]
    assert names[0] == "Objective Value" and names[-1] == "Best Value"
    np.testing.assert_allclose(fig.data[0].error_y.array, info.value_std)
    np.testing.assert_allclose(fig.data[-1].y, info.best_mean)
    np.testing.assert_allclose(fig.data[1].y, info.best_mean + info.best_std)  # the band
    np.testing.assert_allclose(fig.data[2].y, info.best_mean - info.best_std)


def test_error_bar_thinning_keeps_the_mean_best_line_exact() -> None:
    studies = [FakeStudy(make_trials(20000, seed=s)) for s in range(3)]
    full = error_bar_history_info(studies, max_trials=None)
    thin = error_bar_history_info(studies, max_trials=300)
    assert len(thin.numbers) < 20000 * 0.05 and full.n_trials == thin.n_trials == 20000
    np.testing.assert_array_equal(thin.best_numbers, full.best_numbers)
    np.testing.assert_array_equal(thin.best_mean, full.best_mean)
    assert set(thin.best_numbers[:-1].tolist()) <= set(thin.numbers.tolist())
    np.testing.assert_array_equal(thin.value_mean, full.value_mean[thin.numbers])


def test_error_bar_studies_must_agree_on_direction() -> None:
    mixed = [FakeStudy(make_trials(5)), FakeStudy(make_trials(5), directions=["maximize"])]
    with pytest.raises(ValueError, match="direction"):
        plot_optimization_history(mixed, error_bar=True)


def test_matplotlib_several_studies_and_error_bar() -> None:
    studies = _studies()
    ax = mpl_vis.plot_optimization_history(studies)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"{kind} of {s}" for s in "abc" for kind in ("Best Value", "Objective Value")
    ]
    assert len(ax.lines) == 3 and len({line.get_color() for line in ax.lines}) == 3
    np.testing.assert_array_equal(ax.collections[1].get_offsets()[:, 1], [t.values[0] for t in studies[1].trials])
    ax = mpl_vis.plot_optimization_history(studies, error_bar=True)
    info = error_bar_history_info(studies)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), info.best_mean)
    assert ax.get_title() == "Optimization History Plot over 3 studies"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Best Value", "Std of Best Value", "Objective Value"]
    fig = ax.figure
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())
    pink = (image[..., 0] > 230) & (image[..., 1] > 180) & (image[..., 1] < 225) & (image[..., 2] > 180)
    assert pink.sum() > 100  # the band is drawn
