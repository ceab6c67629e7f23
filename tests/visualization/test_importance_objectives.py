"""plot_param_importances on a study with several objectives: one bar set per objective."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest
from viz_data import FakeStudy, make_trials

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tunesmith.importance import get_param_importances
from tunesmith.visualization import matplotlib as mpl_vis
from tunesmith.visualization import plot_param_importances
from tunesmith.visualization._param_importances import param_importances_infos


def _two_objectives() -> FakeStudy:
    """``loss`` depends on x, ``acc`` (maximised) on n."""
    trials = [
        dataclasses.replace(t, values=[t.params["x"] ** 2, -((t.params["n"] - 4.0) ** 2)])
        for t in make_trials(300, seed=3)
    ]
    return FakeStudy(trials, directions=["minimize", "maximize"], metric_names=["loss", "acc"])


def test_one_bar_set_per_objective_each_computed_on_its_own() -> None:
    study = _two_objectives()
    fig = plot_param_importances(study)
    assert [t.name for t in fig.data] == ["loss", "acc"] and fig.layout.showlegend
    loss, acc = (dict(zip(t.y, t.x, strict=True)) for t in fig.data)
    assert max(loss, key=loss.__getitem__) == "x" and max(acc, key=acc.__getitem__) == "n"
    assert list(fig.data[0].y) == list(fig.data[1].y)  # one parameter order for both sets
    assert sum(loss.values()) == pytest.approx(1.0) and sum(acc.values()) == pytest.approx(1.0)
    expected = [
        get_param_importances(study, target=lambda t: t.values[0]),
        get_param_importances(study, target=lambda t: -t.values[1]),  # maximised: lower-is-better loss
    ]
    for got, want in zip((loss, acc), expected, strict=True):
        assert got == pytest.approx(want)
    # a target still draws one set, as before
    one = plot_param_importances(study, target="acc", target_name="acc")
    assert len(one.data) == 1 and one.data[0].y[-1] == "n"


def test_parameter_order_is_by_summed_importance() -> None:
    infos = param_importances_infos(_two_objectives())
    total = infos[0].importances + infos[1].importances
    assert list(total) == sorted(total, reverse=True)
    assert set(infos[0].params[:2]) == {"x", "n"}


def test_matplotlib_groups_the_bars_by_objective() -> None:
    study = _two_objectives()
    ax = mpl_vis.plot_param_importances(study)
    infos = param_importances_infos(study)
    assert len(ax.containers) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss", "acc"]
    assert [t.get_text() for t in ax.get_yticklabels()] == infos[0].params[::-1]
    for container, info in zip(ax.containers, infos, strict=True):
        np.testing.assert_allclose([b.get_width() for b in container], info.importances[::-1])
    # the first objective's bar sits above the second's for the same parameter
    assert container[0].get_y() < ax.containers[0][0].get_y()
    assert ax.get_xlabel() == "Importance"
    plt.close("all")
