"""Plots of a study (plotly; the same plots drawn with matplotlib are in ``.matplotlib``).

A view: each plot reads the study record and never writes it. Each computes a small info
dataclass from the trials (``_optimization_history_info`` ...; :func:`as_json` turns one into
JSON for a dashboard), then draws it. Sized for large studies: WebGL scatters, binned grids,
exact step-function histories, sampled lines (``max_trials=``). ``import tunesmith`` does not
import plotly or matplotlib; they come with ``pip install 'tunesmith[plot]'``.

>>> import tunesmith
>>> from tunesmith.visualization import plot_optimization_history
>>> study = tunesmith.create_study()
>>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=10)
>>> fig = plot_optimization_history(study)
"""

from __future__ import annotations

import importlib
from typing import Any

from tunesmith.visualization._common import as_json
from tunesmith.visualization._contour import plot_contour
from tunesmith.visualization._edf import plot_edf
from tunesmith.visualization._intermediate_values import plot_intermediate_values
from tunesmith.visualization._optimization_history import plot_optimization_history
from tunesmith.visualization._parallel_coordinate import plot_parallel_coordinate
from tunesmith.visualization._param_importances import plot_param_importances
from tunesmith.visualization._pareto_front import plot_hypervolume_history, plot_pareto_front
from tunesmith.visualization._rank import plot_rank
from tunesmith.visualization._slice import plot_slice
from tunesmith.visualization._timeline import plot_timeline

__all__ = [
    "as_json",
    "plot_contour",
    "plot_edf",
    "plot_hypervolume_history",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_rank",
    "plot_slice",
    "plot_timeline",
]


def __getattr__(name: str) -> Any:
    """``tunesmith.visualization.matplotlib`` as an attribute (Optuna's ``optuna.visualization.matplotlib``)."""
    if name == "matplotlib":
        return importlib.import_module("tunesmith.visualization.matplotlib")
    raise AttributeError(f"module 'tunesmith.visualization' has no attribute {name!r}")
