"""plot_intermediate_values: target=/target_name= select what is drawn from each report."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from viz_data import FakeStudy, reporting_study

from tunesmith.visualization import matplotlib as mpl_vis
from tunesmith.visualization import plot_intermediate_values
from tunesmith.visualization._intermediate_values import _intermediate_values_info

_X = [0.1, 0.7, 0.3, 0.9, 0.5]


def _study() -> FakeStudy:
    return reporting_study([[{"value": x / (s + 1), "acc": 1 - x / (s + 2)} for s in range(4)] for x in _X])


def test_target_names_a_reported_metric() -> None:
    study = _study()
    fig = plot_intermediate_values(study, target="acc")
    assert len(fig.data) == 5 and fig.layout.yaxis.title.text == "acc"
    for trace, trial in zip(fig.data, study.trials, strict=True):
        assert list(trace.x) == [0, 1, 2, 3]
        np.testing.assert_allclose(trace.y, [1 - _X[trial.number] / (s + 2) for s in range(4)])
    # metric= is the older spelling of a name, the same figure
    np.testing.assert_array_equal(plot_intermediate_values(study, metric="acc").data[2].y, fig.data[2].y)
    np.testing.assert_array_equal(plot_intermediate_values(study, target="acc", metric="acc").data[2].y, fig.data[2].y)
    with pytest.raises(ValueError, match="disagree"):
        plot_intermediate_values(study, target="acc", metric="value")


def test_target_callable_on_each_report_and_target_name() -> None:
    study = _study()
    fig = plot_intermediate_values(study, target=lambda m: m["value"] * m["acc"], target_name="product")
    assert fig.layout.yaxis.title.text == "product"
    x = _X[1]
    np.testing.assert_allclose(fig.data[1].y, [x / (s + 1) * (1 - x / (s + 2)) for s in range(4)])
    assert _intermediate_values_info(study, target=lambda m: m["value"]).target_name == "Intermediate Value"
    # reports the callable cannot read (KeyError) leave the trial out
    assert _intermediate_values_info(study, target=lambda m: m["nope"]).curves == []
    with pytest.raises(TypeError, match="target="):
        plot_intermediate_values(study, target=3)  # type: ignore[arg-type]


def test_a_nan_report_keeps_its_trial() -> None:
    study = reporting_study([[{"value": 1.0}, {"value": math.nan}]], running=1)  # diverged: still a curve
    info = _intermediate_values_info(study)
    assert len(info.curves) == 1 and list(info.curves[0].steps) == [0, 1] and math.isnan(info.curves[0].values[1])


def test_matplotlib_takes_the_same_target() -> None:
    study = _study()
    ax = mpl_vis.plot_intermediate_values(study, target=lambda m: m["acc"] * 100, target_name="acc %")
    assert ax.get_ylabel() == "acc %" and len(ax.lines) == 5
    x = _X[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [100 * (1 - x / (s + 2)) for s in range(4)])
    assert mpl_vis.plot_intermediate_values(study, metric="acc").get_ylabel() == "acc"
    plt.close("all")
