"""At 100k trials every figure stays small: its JSON size is bounded (a behaviour, not a timing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from viz_data import FakeStudy, make_trials

from tunesmith import visualization as vis

N = 100_000
LIMIT = 5_000_000  # bytes of figure JSON


@pytest.fixture(scope="module")
def big() -> FakeStudy:
    return FakeStudy(make_trials(N, seed=3, n_running=20))


@pytest.fixture(scope="module")
def big_two() -> FakeStudy:
    return FakeStudy(make_trials(N, seed=4, n_objectives=2), directions=["minimize", "maximize"],
                     metric_names=["loss", "acc"])


PLOTS: dict[str, Any] = {
    "history": vis.plot_optimization_history,
    "intermediate": vis.plot_intermediate_values,
    "parallel": vis.plot_parallel_coordinate,
    "slice": vis.plot_slice,
    "contour": vis.plot_contour,
    "timeline": vis.plot_timeline,
    "edf": vis.plot_edf,
    "importance": vis.plot_param_importances,
    "rank": vis.plot_rank,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(PLOTS))
def test_figure_json_is_bounded_at_100k_trials(big: FakeStudy, kind: str) -> None:
    fig = PLOTS[kind](big)
    assert len(fig.to_json()) <= LIMIT


@pytest.mark.slow
def test_pareto_and_hypervolume_bounded_at_100k_trials(big_two: FakeStudy) -> None:
    assert len(vis.plot_pareto_front(big_two).to_json()) <= LIMIT
    fig = vis.plot_hypervolume_history(big_two, [40.0, -1.0])
    assert len(fig.to_json()) <= LIMIT and np.all(np.diff(fig.data[0].y) >= 0)


@pytest.mark.slow
def test_history_at_100k_keeps_the_best_line_exact(big: FakeStudy) -> None:
    fig = vis.plot_optimization_history(big)
    values = np.array([t.values[0] for t in big.trials[:N]])
    running = np.minimum.accumulate(values)
    best_x, best_y = np.asarray(fig.data[1].x), np.asarray(fig.data[1].y)
    changes = np.flatnonzero(np.r_[True, running[1:] != running[:-1]])
    np.testing.assert_array_equal(best_x[:-1], changes)
    np.testing.assert_array_equal(best_y[:-1], running[changes])
    assert len(fig.data[0].x) <= 5000 + len(changes)
