"""The plots of :mod:`tunesmith.visualization`, drawn with matplotlib (each returns its Axes).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import tunesmith
>>> from tunesmith.visualization.matplotlib import plot_optimization_history
>>> study = tunesmith.create_study()
>>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=10)
>>> ax = plot_optimization_history(study)
"""

from __future__ import annotations

from tunesmith.visualization.matplotlib._plots import (
    plot_contour,
    plot_edf,
    plot_hypervolume_history,
    plot_intermediate_values,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_pareto_front,
    plot_rank,
    plot_slice,
    plot_timeline,
)

__all__ = [
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
