"""plot_contour with few trials: the drawn surface is filled, never empty or NaN-only."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest
from viz_data import FakeStudy, fake_study, make_trials

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tunesmith.visualization import matplotlib as mpl_vis
from tunesmith.visualization import plot_contour, plot_rank
from tunesmith.visualization._contour import _contour_info, fill_surface

PARAM_SETS = [["x", "lr"], ["x", "opt"], ["lr", "opt"], ["x", "lr", "n"], ["x", "lr", "n", "opt"]]


@pytest.mark.parametrize("n", [1, 3, 5, 10, 20])
@pytest.mark.parametrize("params", PARAM_SETS, ids="-".join)
def test_surface_is_finite_everywhere_and_keeps_the_binned_means(n: int, params: list[str]) -> None:
    info = _contour_info(fake_study(n), params=params)
    assert len(info.panels) == len(params) * (len(params) - 1)
    for panel in info.panels:
        assert panel.surface is not None and np.isfinite(panel.surface).all()
        known = ~np.isnan(panel.z)
        assert known.sum() <= n  # the binned grid itself stays sparse (and JSON null where empty)
        np.testing.assert_array_equal(panel.surface[known], panel.z[known])
        values = [t.values[0] for t in fake_study(n).trials]
        assert min(values) <= panel.surface.min() and panel.surface.max() <= max(values)  # no overshoot


def test_plotly_and_matplotlib_draw_the_filled_surface() -> None:
    study = fake_study(5)
    fig = plot_contour(study, params=["x", "lr"])
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (30, 30) and np.isfinite(z).all()
    ax = mpl_vis.plot_contour(study, params=["x", "opt"])
    mesh = ax.collections[0]
    assert np.ma.count_masked(mesh.get_array()) == 0  # every cell coloured
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sgd", "adam", "rmsprop"]
    ax.figure.canvas.draw()
    image = np.asarray(ax.figure.canvas.buffer_rgba())[..., :3].astype(int)
    bluish = (image[..., 2] > image[..., 0] + 20)
    assert bluish.mean() > 0.3  # the panel is painted, not white
    plt.close("all")
    # the rank plot stays a heatmap of the cells with trials only
    rank = plot_rank(study, params=["x", "lr"])
    assert np.isnan(np.array(rank.data[0].z, dtype=float)).any()


def test_fill_is_linear_inside_the_hull_and_nearest_outside() -> None:
    z = np.full((6, 6), np.nan)
    plane = lambda r, c: 2.0 * r - 3.0 * c + 1.0  # noqa: E731
    for r, c in [(0, 0), (0, 4), (4, 0), (4, 4), (2, 3)]:
        z[r, c] = plane(r, c)
    s = fill_surface(z)
    rows, cols = np.mgrid[0:5, 0:5]
    np.testing.assert_allclose(s[:5, :5], plane(rows, cols), atol=1e-12)  # inside the hull: the plane exactly
    assert s[5, 5] == z[4, 4] and s[0, 5] == z[0, 4]  # outside: the nearest filled cell


@pytest.mark.parametrize("cells", [[(1, 1)], [(1, 1), (3, 4)], [(2, 0), (2, 2), (2, 5)]], ids=["one", "two", "line"])
def test_fill_falls_back_to_nearest_when_no_triangle(cells: list[tuple[int, int]]) -> None:
    z = np.full((5, 6), np.nan)
    for k, (r, c) in enumerate(cells):
        z[r, c] = float(k)
    s = fill_surface(z)
    assert np.isfinite(s).all()
    for k, (r, c) in enumerate(cells):
        assert s[r, c] == k
    if len(cells) == 1:
        assert (s == 0).all()


def test_a_single_category_or_value_still_draws() -> None:
    trials = [dataclasses.replace(t, params={**t.params, "opt": "adam"}) for t in make_trials(5)]
    info = _contour_info(FakeStudy(trials), params=["x", "opt"])
    assert all(p.surface is not None and np.isfinite(p.surface).all() for p in info.panels)
    same = [dataclasses.replace(t, params={**t.params, "x": 1.0}) for t in make_trials(4)]
    info = _contour_info(FakeStudy(same), params=["x", "lr"])
    assert all(p.surface is not None and np.isfinite(p.surface).all() for p in info.panels)


def test_no_trial_with_both_params_leaves_the_surface_empty() -> None:
    trials = make_trials(6)
    split = [dataclasses.replace(t, params={k: v for k, v in t.params.items() if k != ("x" if i % 2 else "lr")})
             for i, t in enumerate(trials)]
    info = _contour_info(FakeStudy(split), params=["x", "lr"])
    assert np.isnan(info.panels[0].surface).all()  # type: ignore[arg-type]
    plot_contour(FakeStudy(split), params=["x", "lr"])  # draws (the points only) without failing
    mpl_vis.plot_contour(FakeStudy(split), params=["x", "lr"])
    plt.close("all")
