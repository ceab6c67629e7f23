"""What every plot shares: reading a study (or a run result), targets, trial limits, lazy imports.

This is the only module of the package that touches a study beyond ``.trials``,
``.directions`` and ``.metric_names`` (see :func:`read_reports`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.distributions import CategoricalDistribution, Distribution, FloatDistribution, IntDistribution
from tunesmith.trial import FrozenTrial, TrialState

__all__ = [
    "StudyView", "Target", "as_json", "import_matplotlib", "import_plotly", "is_log", "limit_trials",
    "read_reports", "read_study", "stratified_sample", "target_values",
]

#: a metric or objective name, or ``FrozenTrial -> float``
Target = str | Callable[[FrozenTrial], float]

_INSTALL = "pip install 'tunesmith[plot]'"


def import_plotly() -> Any:
    """``plotly.graph_objects``, or an ImportError saying how to install it."""
    try:
        import plotly.graph_objects as go
    except ImportError as e:
        raise ImportError(f"tunesmith.visualization needs plotly: {_INSTALL}") from e
    return go


def import_matplotlib() -> Any:
    """``matplotlib.pyplot``, or an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(f"tunesmith.visualization.matplotlib needs matplotlib: {_INSTALL}") from e
    return plt


@dataclass(frozen=True)
class StudyView:
    """The record a plot reads: trials by number, objective directions, metric names."""

    trials: list[FrozenTrial]
    directions: list[str]
    metric_names: list[str]
    source: Any  # the study, for :func:`read_reports`; None for a bare list of trials

    def maximize(self, index: int = 0) -> bool:
        return _is_max(self.directions[index]) if index < len(self.directions) else False


def _is_max(direction: Any) -> bool:
    return str(getattr(direction, "name", direction)).lower().startswith("max")


def read_study(study: Any) -> StudyView:
    """A Study (anything with ``.trials`` and ``.directions``), a ``tunesmith.run`` result (``.study``),
    or a list of FrozenTrial (minimised, one objective)."""
    if hasattr(study, "study") and not hasattr(study, "directions"):
        study = study.study  # RunResult
    if isinstance(study, Sequence) and all(isinstance(t, FrozenTrial) for t in study):
        return StudyView(sorted(study, key=lambda t: t.number), ["minimize"], ["value"], None)
    if not hasattr(study, "trials") or not hasattr(study, "directions"):
        raise TypeError(
            "study must be a Study (anything with .trials and .directions), a tunesmith.run result "
            f"or a list of FrozenTrial, got {type(study).__name__}"
        )
    directions = [str(getattr(d, "name", d)).lower() for d in study.directions]
    names = list(getattr(study, "metric_names", None) or [f"value_{i}" for i in range(len(directions))])
    return StudyView(sorted(study.trials, key=lambda t: t.number), directions, names, study)


def read_reports(view: StudyView, trial: FrozenTrial) -> list[tuple[int, dict[str, Any]]]:
    """Every intermediate report of ``trial`` (step, metrics), in order written.

    The one place that reaches the storage; without one, the trial's last report stands for all.
    """
    study = view.source
    storage = getattr(study, "storage", None)
    study_id = getattr(study, "study_id", None)
    if storage is not None and study_id is not None and trial.trial_id >= 0:
        return list(storage.get_reports(study_id, trial.trial_id))
    if trial.last_result:
        return [(0 if trial.last_step is None else int(trial.last_step), dict(trial.last_result))]
    return []


def target_values(
    view: StudyView, trials: Sequence[FrozenTrial], target: Target | None, what: str = "this plot",
) -> tuple[np.ndarray, bool]:
    """Each trial's target (NaN where it has none) and whether higher is better.

    ``target=None`` is the objective (single-objective studies only); a string names an
    objective or any reported metric (read from the values, else the last report);
    a callable is taken as minimised unless the study has one maximised objective.
    """
    n_obj = len(view.directions)
    if target is None:
        if n_obj != 1:
            raise ValueError(
                f"{what}: the study has {n_obj} objectives {view.metric_names}; pass target= "
                "(an objective or metric name, or a FrozenTrial -> float)"
            )
        target = 0  # type: ignore[assignment]
    if isinstance(target, str) and target in view.metric_names[:n_obj]:
        target = view.metric_names.index(target)  # type: ignore[assignment]
    out = np.full(len(trials), np.nan)
    if isinstance(target, int):
        for i, t in enumerate(trials):
            if t.values is not None and len(t.values) > target:
                out[i] = _float(t.values[target])
            elif t.state == TrialState.RUNNING:
                out[i] = _float(t.last_result.get(view.metric_names[target]))
        return out, view.maximize(target)
    if isinstance(target, str):
        for i, t in enumerate(trials):
            out[i] = _float(t.last_result.get(target))
        return out, False
    if not callable(target):
        raise TypeError(f"target must be a metric name or a FrozenTrial -> float, got target={target!r}")
    for i, t in enumerate(trials):
        out[i] = _float(target(t))
    return out, n_obj == 1 and view.maximize(0)


def _float(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def check_max_trials(max_trials: int | None) -> int | None:
    if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1):
        raise ValueError(f"max_trials must be a positive int or None, got max_trials={max_trials!r}")
    return max_trials


def stratified_sample(candidates: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """``k`` of ``candidates`` (sorted indices), one drawn from each of ``k`` equal consecutive strata."""
    n = len(candidates)
    if k >= n:
        return candidates
    if k <= 0:
        return candidates[:0]
    edges = np.linspace(0, n, k + 1).astype(int)
    rng = np.random.default_rng(seed)
    picks = edges[:-1] + (rng.random(k) * (edges[1:] - edges[:-1])).astype(int)
    return candidates[picks]


def limit_trials(values: np.ndarray, maximize: bool, max_trials: int | None, best_share: float = 0.5) -> np.ndarray:
    """Indices (sorted) of at most ``max_trials`` rows: the best ``best_share`` of the budget by
    ``values``, and a stratified sample of the rest, so the optimum is always shown."""
    n = len(values)
    if max_trials is None or n <= max_trials:
        return np.arange(n)
    n_best = int(max_trials * best_share)
    score = np.where(np.isnan(values), np.inf, -values if maximize else values)
    best = np.argsort(score, kind="stable")[:n_best]
    rest = np.setdiff1d(np.arange(n), best)
    return np.sort(np.concatenate([best, stratified_sample(rest, max_trials - n_best)]))


def param_names(trials: Sequence[FrozenTrial], params: Sequence[str] | None) -> list[str]:
    """``params`` checked against the trials' parameters, or all of them (sorted)."""
    seen: dict[str, None] = {}
    for t in trials:
        seen.update(dict.fromkeys(t.params))
    if params is None:
        return sorted(seen)
    if isinstance(params, str):
        raise TypeError(f"params must be a list of names, got params={params!r}")
    unknown = [p for p in params if p not in seen]
    if unknown:
        raise ValueError(f"params: no trial has {unknown}; the parameters are {sorted(seen)}")
    return list(params)


def distribution_of(trials: Sequence[FrozenTrial], name: str) -> Distribution | None:
    for t in reversed(trials):
        d = t.distributions.get(name)
        if d is not None:
            return d
    return None


def is_log(dist: Distribution | None) -> bool:
    return isinstance(dist, (FloatDistribution, IntDistribution)) and bool(dist.log)


def param_column(trials: Sequence[FrozenTrial], name: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """A parameter as floats (NaN where a trial lacks it); categorical choices as their index,
    with the choice labels returned alongside."""
    dist = distribution_of(trials, name)
    raw = [t.params.get(name) for t in trials]
    if isinstance(dist, CategoricalDistribution) or any(isinstance(v, str) for v in raw if v is not None):
        labels = list(dist.choices) if isinstance(dist, CategoricalDistribution) else []
        index = {repr(c): i for i, c in enumerate(labels)}
        col = np.full(len(raw), np.nan)
        for i, v in enumerate(raw):
            if v is None:
                continue
            key = repr(v)
            if key not in index:
                index[key] = len(labels)
                labels.append(v)
            col[i] = index[key]
        return col, tuple(str(c) for c in labels)
    return np.array([_float(v) if v is not None else math.nan for v in raw]), None


def as_json(info: Any) -> Any:
    """An info dataclass (or anything inside one) as JSON-ready lists, dicts and numbers."""
    if dataclasses.is_dataclass(info) and not isinstance(info, type):
        return {f.name: as_json(getattr(info, f.name)) for f in dataclasses.fields(info)}
    if isinstance(info, np.ndarray):
        return as_json(info.tolist())
    if isinstance(info, (list, tuple)):
        return [as_json(x) for x in info]
    if isinstance(info, dict):
        return {str(k): as_json(v) for k, v in info.items()}
    if isinstance(info, float) and math.isnan(info):
        return None
    if isinstance(info, np.generic):
        return info.item()
    return info
