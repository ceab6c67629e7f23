"""plot_optimization_history and plot_intermediate_values: data, downsampling, running trials."""

from __future__ import annotations

import numpy as np
import pytest
from viz_data import FakeStudy, fake_study, make_trials

import tunesmith
from tunesmith.visualization import plot_intermediate_values, plot_optimization_history
from tunesmith.visualization._intermediate_values import _intermediate_values_info
from tunesmith.visualization._optimization_history import _optimization_history_info


def _step_at(numbers: np.ndarray, best_numbers: np.ndarray, best_values: np.ndarray) -> np.ndarray:
    """The best-so-far step function (change points) evaluated at ``numbers``."""
    return best_values[np.searchsorted(best_numbers, numbers, side="right") - 1]


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_best_line_is_the_running_best_at_every_trial_after_downsampling(direction: str) -> None:
    study = FakeStudy(make_trials(20000, seed=1), directions=[direction])
    values = np.array([t.values[0] for t in study.trials])
    running = np.maximum.accumulate(values) if direction == "maximize" else np.minimum.accumulate(values)
    info = _optimization_history_info(study, max_trials=500)
    assert 500 <= len(info.numbers) < 20000 * 0.05  # thinned
    # Every change point of the best-so-far is present, as a point and on the line.
    changes = np.flatnonzero(np.r_[True, running[1:] != running[:-1]])
    assert set(changes) <= set(info.numbers.tolist())
    assert set(changes) <= set(info.best_numbers.tolist())
    assert info.best_numbers[-1] == 19999
    # The step line equals the running best at the kept trials and at every trial.
    np.testing.assert_array_equal(_step_at(info.numbers, info.best_numbers, info.best_values), running[info.numbers])
    np.testing.assert_array_equal(_step_at(np.arange(20000), info.best_numbers, info.best_values), running)
    np.testing.assert_array_equal(info.values, values[info.numbers])


def test_history_figure_traces_carry_the_info() -> None:
    study = fake_study(300, n_running=2)
    fig = plot_optimization_history(study)
    points, best, running = fig.data
    assert (points.type, best.type, running.name) == ("scattergl", "scatter", "Running")
    assert list(points.x) == list(range(300))
    assert best.line.shape == "hv"
    assert list(running.x) == [300, 301]  # running trials, at their last reported value
    assert list(running.y) == [study.trials[300].last_result["value"], study.trials[301].last_result["value"]]


def test_history_target_by_metric_name_and_callable() -> None:
    study = fake_study(50)
    info = _optimization_history_info(study, target="acc", target_name="acc")
    np.testing.assert_allclose(info.values, [t.last_result["acc"] for t in study.trials])
    info = _optimization_history_info(study, target=lambda t: t.params["x"])
    np.testing.assert_allclose(info.values, [t.params["x"] for t in study.trials])


def test_multi_objective_history_requires_target() -> None:
    study = FakeStudy(make_trials(10), directions=["minimize", "maximize"], metric_names=["loss", "acc"])
    with pytest.raises(ValueError, match="target="):
        plot_optimization_history(study)
    info = _optimization_history_info(study, target="loss")
    assert not info.maximize


def test_max_trials_is_checked() -> None:
    with pytest.raises(ValueError, match="max_trials=0"):
        plot_optimization_history(fake_study(5), max_trials=0)


def _curves_study() -> tunesmith.Study:
    study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))

    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(4):
            trial.report(step, value=x / (step + 1))
        return x / 4

    study.optimize(objective, n_trials=6)
    live = study.ask()  # a running trial with two reports
    live.report(0, value=0.9)
    live.report(1, value=0.8)
    return study


def test_intermediate_values_one_trace_per_trial_with_its_reports() -> None:
    study = _curves_study()
    fig = plot_intermediate_values(study)
    assert len(fig.data) == 7
    for trace, trial in zip(fig.data[:6], study.trials[:6], strict=True):
        assert list(trace.x) == [0, 1, 2, 3]
        np.testing.assert_allclose(trace.y, [trial.params["x"] / (s + 1) for s in range(4)])
    live = fig.data[6]
    assert live.name.endswith("(running)") and live.line.dash == "dash"
    assert list(live.y) == [0.9, 0.8]


def test_intermediate_values_caps_curves_keeping_best_and_running() -> None:
    study = fake_study(1000, n_running=3)
    info = _intermediate_values_info(study, max_trials=40)
    assert len(info.curves) == 40 and info.n_trials == 1003
    numbers = {c.number for c in info.curves}
    assert {1000, 1001, 1002} <= numbers
    best = min(range(1000), key=lambda i: study.trials[i].last_result["value"])
    assert best in numbers
    # Without a storage a trial's last report stands for its curve.
    c = info.curves[0]
    assert list(c.steps) == [3] and c.values[0] == study.trials[c.number].last_result["value"]


def test_an_empty_study_draws_empty_figures() -> None:
    from tunesmith import visualization as vis

    empty = FakeStudy([])
    assert len(vis.plot_optimization_history(empty).data) == 1  # the (empty) trials trace, no best line
    assert vis.plot_intermediate_values(empty).data == ()
    assert len(vis.plot_edf(empty).data[0].x) == 0
    with pytest.raises(ValueError, match="at least 2 parameters"):
        vis.plot_contour(empty)


def test_error_bar_on_one_study_has_no_spread() -> None:
    from tunesmith.visualization import matplotlib as mpl_plots

    study = fake_study(20)
    fig = plot_optimization_history(study, error_bar=True)  # Optuna's: one study, a spread of 0
    assert list(fig.data[0].error_y.array) == [0.0] * 20
    assert list(fig.data[-1].y) == list(_optimization_history_info(study).best_values)
    ax = mpl_plots.plot_optimization_history(study, error_bar=True)
    assert ax.get_title() == "Optimization History Plot over 1 studies"
    ax.figure.clf()
