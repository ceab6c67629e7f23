"""Pareto front, hypervolume history, timeline."""

from __future__ import annotations

import numpy as np
import pytest
from viz_data import FakeStudy, fake_study, make_trials

import tunesmith
from tunesmith.multi_objective import hypervolume, nondominated_ranks
from tunesmith.visualization import plot_hypervolume_history, plot_pareto_front, plot_timeline
from tunesmith.visualization._pareto_front import _hypervolume_history_info, _pareto_front_info, front_mask
from tunesmith.visualization._timeline import _timeline_info


@pytest.mark.parametrize("m", [2, 3])
def test_front_mask_matches_nondominated_sort(m: int) -> None:
    rng = np.random.default_rng(m)
    losses = np.round(rng.random((400, m)), 1)  # rounding makes ties and duplicates
    np.testing.assert_array_equal(front_mask(losses), nondominated_ranks(losses) == 0)


def _two_objective_study() -> FakeStudy:
    trials = make_trials(300, n_objectives=2)
    return FakeStudy(trials, directions=["minimize", "maximize"], metric_names=["loss", "acc"])


def test_pareto_front_points_and_directions() -> None:
    study = _two_objective_study()
    info = _pareto_front_info(study)
    values = np.array([t.values for t in study.trials])
    expected = nondominated_ranks(values * [1, -1]) == 0
    assert set(info.front_numbers.tolist()) == set(np.flatnonzero(expected).tolist())
    assert len(info.front_numbers) + len(info.dominated_numbers) == 300
    fig = plot_pareto_front(study)
    assert [t.name for t in fig.data] == ["Trial", "Best Trial"]
    assert fig.layout.xaxis.title.text == "loss" and fig.layout.yaxis.title.text == "acc"
    assert len(plot_pareto_front(study, include_dominated_trials=False).data) == 1


def test_pareto_front_needs_several_objectives_or_targets() -> None:
    with pytest.raises(ValueError, match="targets="):
        plot_pareto_front(fake_study(10))
    fig = plot_pareto_front(fake_study(50), targets=lambda t: (t.params["x"], t.values[0]))
    assert fig.data[-1].name == "Best Trial"


def test_hypervolume_history_ends_at_the_fronts_hypervolume_and_never_falls() -> None:
    study = _two_objective_study()
    info = _hypervolume_history_info(study, [30.0, -1.0], max_trials=37)
    values = np.array([t.values for t in study.trials])
    assert info.numbers[-1] == 299 and len(info.numbers) <= 38
    assert info.hypervolumes[-1] == pytest.approx(hypervolume(values * [1, -1], [30.0, 1.0]))
    assert np.all(np.diff(info.hypervolumes) >= 0)
    with pytest.raises(ValueError, match="reference_point"):
        plot_hypervolume_history(study, [1.0])


def test_timeline_bars_and_running_trials() -> None:
    study = fake_study(10, n_running=2)
    info = _timeline_info(study, now=1.7e9 + 100)
    assert info.states.count("RUNNING") == 2 and info.ends[-1] == 1.7e9 + 100
    fig = plot_timeline(study)
    assert [t.name for t in fig.data] == ["COMPLETE", "RUNNING"]
    np.testing.assert_allclose(fig.data[0].x, [500.0] * 10)  # 0.5 s, in ms on a date axis
    assert list(_timeline_info(study, max_trials=3).numbers) == [9, 10, 11]


def test_real_study_and_run_result() -> None:
    study = tunesmith.create_study(directions=["minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1) ** 0.5), n_trials=15)
    assert len(_pareto_front_info(study).front_numbers) == 15  # every trial is on this front
    assert plot_timeline(study).data[0].name == "COMPLETE"


def _train(config: dict) -> None:
    for step in range(3):
        tunesmith.report(loss=(config["x"] - 0.3) ** 2 + 1.0 / (step + 1))


def test_a_run_result_plots_like_its_study(sqlite_url: str) -> None:
    from tunesmith.visualization import plot_intermediate_values, plot_optimization_history

    result = tunesmith.run(
        _train, {"x": tunesmith.uniform(0, 1)}, num_samples=4, metric="loss", mode="min", storage=sqlite_url,
        seed=0, verbose=0, max_concurrent_trials=1,
    )
    fig = plot_optimization_history(result)
    losses = [t.last_result["loss"] for t in result.trials]
    assert list(fig.data[0].y) == losses
    assert fig.data[1].y[-1] == min(losses)
    curves = plot_intermediate_values(result)
    assert [list(c.x) for c in curves.data] == [[1, 2, 3]] * 4  # tune.report counts iterations from 1
    for c, t in zip(curves.data, result.trials, strict=True):
        assert list(c.y) == [(t.config["x"] - 0.3) ** 2 + 1.0 / (s + 1) for s in range(3)]


def test_matplotlib_pareto_front_draws_three_objectives_in_3d() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import dataclasses

    import matplotlib.pyplot as plt

    from tunesmith.visualization import matplotlib as mpl_vis

    trials = [dataclasses.replace(t, values=[*(t.values or []), float(t.params["n"])])
              for t in make_trials(200, n_objectives=2)]
    three = FakeStudy(trials, directions=["minimize", "maximize", "minimize"], metric_names=["l", "a", "n"])
    info = _pareto_front_info(three)
    ax = mpl_vis.plot_pareto_front(three)
    assert ax.name == "3d" and (ax.get_xlabel(), ax.get_ylabel(), ax.get_zlabel()) == ("l", "a", "n")
    dominated, front = ax.collections
    xs, ys, zs = front._offsets3d
    np.testing.assert_array_equal(np.c_[xs, ys, zs], info.front_values)
    assert len(dominated._offsets3d[0]) == len(info.dominated_numbers)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Trial", "Best Trial"]
    ax.figure.canvas.draw()
    image = np.asarray(ax.figure.canvas.buffer_rgba())
    assert ((image[..., 0] > 200) & (image[..., 1] < 80) & (image[..., 2] < 80)).sum() > 20  # red front points
    with pytest.raises(ValueError, match="2 or 3"):
        mpl_vis.plot_pareto_front(three, targets=lambda t: [*(t.values or []), 0.0])
    plt.close("all")
