"""The slow views the API serves: plots, importance and diagnosis, each computed from a study's in-memory copy.

Each takes a :class:`~._data.StudyData`, which reads like a study to the package's views
(``.trials``, ``.directions``, ``.metric_names``, and ``.storage``/``.study_id`` for
reports), so nothing is computed a second way here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tunesmith.analysis import Diagnosis, diagnose
from tunesmith.dashboard._data import StudyData
from tunesmith.record import FrozenTrial, TrialState

__all__ = ["PLOT_KINDS", "build_figure", "compute_importance", "run_diagnosis"]

PLOT_KINDS = (
    "history", "pareto", "parallel", "slice", "contour", "importance", "intermediate", "edf", "rank", "timeline",
    "hypervolume",
)
_EVALUATORS = ("ped_anova", "fanova", "mdi")
_NO_PARAMS = ("history", "hypervolume")  # plots that read the values and numbers alone


class _Subset:
    """A study restricted to some of its trials (the ``trials=`` of the intermediate-values plot)."""

    def __init__(self, data: StudyData, trials: Sequence[Any]) -> None:
        self.trials = trials
        self.directions = data.directions
        self.metric_names = data.metric_names
        self.storage = data.storage
        self.study_id = data.study_id


def _reference_point(data: StudyData) -> list[float]:
    """A point worse than every COMPLETE trial on each objective (10% of the range beyond the worst)."""
    values = np.array([t.values for t in data.stored_trials if t.state == TrialState.COMPLETE and t.values
                       and len(t.values) == len(data.directions)], dtype=float)
    if values.size == 0:
        raise ValueError("the hypervolume needs COMPLETE trials with every objective")
    values = values[np.isfinite(values).all(axis=1)]
    if values.size == 0:
        raise ValueError("the hypervolume needs COMPLETE trials with finite values")
    lo, hi = values.min(axis=0), values.max(axis=0)
    margin = np.maximum((hi - lo) * 0.1, 1e-12 + np.abs(hi) * 1e-6)
    return [float(h + m) if d == "minimize" else float(low - m)
            for d, low, h, m in zip(data.directions, lo, hi, margin, strict=True)]


def build_figure(
    data: StudyData, kind: str, params: Sequence[str] | None, target: str | None,
    trials: Sequence[int] | None, max_trials: int | None,
) -> str:
    """The plot ``kind`` of the study as plotly JSON; ValueError (the plot's own message) where it does not apply."""
    from plotly.utils import PlotlyJSONEncoder

    from tunesmith import visualization as vis

    limit: dict[str, Any] = {} if max_trials is None else {"max_trials": max_trials}
    tgt: dict[str, Any] = {} if target is None else {"target": target}
    source: Any = data
    if kind in _NO_PARAMS:  # the trials as stored: nothing converted for a plot that shows no parameter
        source = _Subset(data, data.stored_trials if data.loaded else data.light_trials())
    if kind == "intermediate" and trials is not None:
        wanted = set(trials)
        source = _Subset(data, [t for t in data.trials if t.number in wanted])
    makers: dict[str, Callable[[], Any]] = {
        "history": lambda: vis.plot_optimization_history(source, **tgt, **limit),
        "pareto": lambda: vis.plot_pareto_front(source, **limit),
        "parallel": lambda: vis.plot_parallel_coordinate(source, params, **tgt, **limit),
        "slice": lambda: vis.plot_slice(source, params, **tgt, **limit),
        "contour": lambda: vis.plot_contour(source, params, **tgt, **limit),
        "importance": lambda: vis.plot_param_importances(source, params=params, **tgt, **limit),
        "intermediate": lambda: vis.plot_intermediate_values(source, **tgt, **limit),
        "edf": lambda: vis.plot_edf(source, **tgt),
        "rank": lambda: vis.plot_rank(source, params, **tgt, **limit),
        "timeline": lambda: vis.plot_timeline(source, **limit),
        "hypervolume": lambda: vis.plot_hypervolume_history(source, _reference_point(data)),
    }
    try:
        fig = makers[kind]()
    except (KeyError, TypeError) as e:  # an unknown parameter or target name
        raise ValueError(f"{kind}: {e.args[0] if e.args else e}") from e
    return json.dumps(fig.to_plotly_json(), cls=PlotlyJSONEncoder)


def compute_importance(data: StudyData, evaluator: str, target: str | None) -> dict[str, float]:
    """``get_param_importances`` with the evaluator named ``ped_anova``, ``fanova`` or ``mdi``."""
    from tunesmith import importance as imp

    if evaluator not in _EVALUATORS:
        raise ValueError(f"evaluator must be one of {', '.join(_EVALUATORS)}; got {evaluator!r}")
    made = {
        "ped_anova": imp.PedAnovaImportanceEvaluator,
        "fanova": imp.FanovaImportanceEvaluator,
        "mdi": imp.MeanDecreaseImpurityImportanceEvaluator,
    }[evaluator]()
    how: Callable[[FrozenTrial], float] | None = None
    if target is not None:
        if target in data.metric_names[:len(data.directions)]:
            i = data.metric_names.index(target)
            sign = -1.0 if data.directions[i] == "maximize" else 1.0  # the evaluators take lower as better

            def how(t: FrozenTrial) -> float:
                return sign * t.values[i] if t.values and len(t.values) > i else float("nan")
        else:
            def how(t: FrozenTrial) -> float:
                return float(t.last_result.get(target, float("nan")))
    elif len(data.directions) > 1:
        raise ValueError(f"the study has {len(data.directions)} objectives {data.metric_names}; pass target=")
    try:
        return dict(imp.get_param_importances(data, evaluator=made, target=how))
    except (TypeError, KeyError) as e:
        raise ValueError(str(e)) from e


def run_diagnosis(data: StudyData) -> Diagnosis:
    """``tunesmith.analysis.diagnose`` of the study's copy."""
    return diagnose(data)
