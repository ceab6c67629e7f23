"""plot_edf and plot_hypervolume_history: several studies, ``max_trials``, targets; both backends."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import numpy as np
import pytest
from viz_data import FakeStudy, fake_study, make_trials

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tunesmith.multi_objective import hypervolume
from tunesmith.visualization import matplotlib as mpl_vis
from tunesmith.visualization import plot_edf, plot_hypervolume_history
from tunesmith.visualization._edf import _edf_info, edf_infos
from tunesmith.visualization._pareto_front import _hypervolume_history_info


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _named(n: int, seed: int, name: str) -> FakeStudy:
    study = fake_study(n, seed=seed)
    study.study_name = name  # type: ignore[attr-defined]
    return study


def _full_edf(study: FakeStudy, x: np.ndarray) -> np.ndarray:
    v = np.sort([t.values[0] for t in study.trials])
    return np.searchsorted(v, x, side="right") / len(v)


@pytest.mark.parametrize("k", [10, 50, 333])
def test_edf_max_trials_stays_within_one_over_k_of_the_full_line(k: int) -> None:
    study = fake_study(2000, seed=4)
    info = _edf_info(study, max_trials=k)
    assert (info.n_trials, info.n_all) == (k, 2000)
    assert np.max(np.abs(info.y - _full_edf(study, info.x))) <= 1 / k + 1 / 2000
    assert info.y[-1] == 1.0
    fig = plot_edf(study, max_trials=k)
    np.testing.assert_array_equal(fig.data[0].y, info.y)
    assert f"({k} of 2000 trials used)" in fig.layout.title.text
    assert "trials used" not in plot_edf(study).layout.title.text  # None (the default): all of them
    with pytest.raises(ValueError, match="max_trials=0"):
        plot_edf(study, max_trials=0)


def test_edf_of_several_studies_one_line_each_on_one_grid() -> None:
    a, b = _named(300, 1, "tpe"), _named(200, 2, "random")
    for t in b.trials:  # shift b so the grids of the two alone would differ
        t.values = [t.values[0] + 10.0]
    infos = edf_infos([a, b])
    np.testing.assert_array_equal(infos[0].x, infos[1].x)
    lo = min(t.values[0] for t in a.trials)
    hi = max(t.values[0] for t in b.trials)
    assert (infos[0].x[0], infos[0].x[-1]) == (lo, hi)
    fig = plot_edf([a, b])
    assert [t.name for t in fig.data] == ["tpe (300 trials)", "random (200 trials)"]
    for trace, study in zip(fig.data, (a, b), strict=True):
        np.testing.assert_allclose(trace.y, _full_edf(study, np.asarray(trace.x)))
    assert fig.data[0].y[-1] == 1.0 and fig.data[1].y[0] == 0.0  # b starts above all of a
    ax = mpl_vis.plot_edf([a, b], max_trials=100)
    assert [ln.get_label() for ln in ax.lines] == ["tpe (100 trials)", "random (100 trials)"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), edf_infos([a, b], max_trials=100)[1].y)
    fig_ = ax.figure
    fig_.canvas.draw()
    image = np.asarray(fig_.canvas.buffer_rgba())[..., :3].astype(int)
    blue = (np.abs(image - [31, 119, 180]).sum(axis=-1) < 40).sum()  # C0
    orange = (np.abs(image - [255, 127, 14]).sum(axis=-1) < 40).sum()  # C1
    assert blue > 50 and orange > 50  # both lines are drawn


def test_edf_target_names_a_metric() -> None:
    study = fake_study(100)
    info = _edf_info(study, target="acc", target_name="acc")
    acc = np.sort([t.last_result["acc"] for t in study.trials])
    assert (info.x[0], info.x[-1], info.target_name) == (acc[0], acc[-1], "acc")
    assert mpl_vis.plot_edf(study, target="acc", target_name="acc").get_xlabel() == "acc"


def _two(n: int) -> FakeStudy:
    return FakeStudy(make_trials(n, n_objectives=2), directions=["minimize", "maximize"], metric_names=["l", "a"])


def _exact_history(study: FakeStudy, ref: list[float]) -> np.ndarray:
    losses = np.array([t.values for t in study.trials]) * [1, -1]
    return np.array([hypervolume(losses[: i + 1], np.array(ref) * [1, -1]) for i in range(len(losses))])


def test_hypervolume_max_trials_limits_the_points_each_exact() -> None:
    study = _two(120)
    exact = _exact_history(study, [40.0, -1.0])
    info = _hypervolume_history_info(study, [40.0, -1.0], max_trials=10)
    assert len(info.numbers) == 10 and info.numbers[-1] == 119 and info.n_trials == 120
    np.testing.assert_allclose(info.hypervolumes, exact[info.numbers])
    every = _hypervolume_history_info(study, [40.0, -1.0], max_trials=None)
    np.testing.assert_array_equal(every.numbers, np.arange(120))
    np.testing.assert_allclose(every.hypervolumes, exact)
    fig = plot_hypervolume_history(study, [40.0, -1.0], max_trials=10)
    np.testing.assert_array_equal(fig.data[0].x, info.numbers)
    assert "(10 of 120 trials shown)" in fig.layout.title.text
    ax = mpl_vis.plot_hypervolume_history(study, [40.0, -1.0], max_trials=10)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), info.hypervolumes)
    with pytest.raises(ValueError, match="max_trials"):
        plot_hypervolume_history(study, [40.0, -1.0], max_trials=0)


def test_hypervolume_of_four_objectives_and_of_custom_targets() -> None:
    trials = make_trials(40, n_objectives=2)
    for t in trials:
        t.values = [t.values[0], t.values[1], t.params["x"], float(t.params["n"])]
    study = FakeStudy(trials, directions=["minimize", "maximize", "minimize", "minimize"],
                      metric_names=["a", "b", "c", "d"])
    info = _hypervolume_history_info(study, [40.0, -1.0, 6.0, 9.0], max_trials=None)
    losses = np.array([t.values for t in trials]) * [1, -1, 1, 1]
    assert info.hypervolumes[-1] == pytest.approx(hypervolume(losses, [40.0, 1.0, 6.0, 9.0]))
    custom = _hypervolume_history_info(
        fake_study(50), [6.0, 60.0], max_trials=None, targets=lambda t: (t.params["x"], t.values[0]),
    )
    pts = np.array([(t.params["x"], t.values[0]) for t in fake_study(50).trials])
    assert custom.hypervolumes[-1] == pytest.approx(hypervolume(pts, [6.0, 60.0]))
    with pytest.raises(ValueError, match="plot_hypervolume_history: the study has 1 objective"):
        plot_hypervolume_history(fake_study(5), [1.0, 1.0])
