"""``plot_param_importances``: :func:`tunesmith.importance.get_param_importances` as a bar chart.

A study with several objectives and no ``target`` gets one bar set per objective (Optuna's),
each objective's importances computed on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.importance import BaseImportanceEvaluator, get_param_importances
from tunesmith.trial import FrozenTrial, TrialState
from tunesmith.visualization._common import (
    Target,
    check_max_trials,
    import_plotly,
    limit_trials,
    read_study,
    target_values,
)

__all__ = ["ParamImportancesInfo", "param_importances_infos", "plot_param_importances"]

_DEFAULT_TRIALS = 20000


@dataclass(frozen=True)
class ParamImportancesInfo:
    params: list[str]  # most important first
    importances: np.ndarray
    target_name: str
    n_trials: int


def _param_importances_info(
    study: Any, evaluator: BaseImportanceEvaluator | None = None, params: Sequence[str] | None = None,
    target: Target | None = None, target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_TRIALS,
) -> ParamImportancesInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    values, maximize = target_values(view, trials, target, "plot_param_importances")
    ok = np.flatnonzero(~np.isnan(values))
    keep = ok[limit_trials(values[ok], maximize, max_trials)]
    # get_param_importances takes lower as better: hand it the (sign-adjusted) numbers computed here.
    signed = {trials[int(i)].number: (-values[i] if maximize else values[i]) for i in keep}
    shown = [trials[int(i)] for i in keep]

    def loss(t: FrozenTrial) -> float:
        return float(signed[t.number])

    importances = get_param_importances(shown, evaluator, params, target=loss, directions=["minimize"])
    return ParamImportancesInfo(
        list(importances), np.array(list(importances.values()), dtype=float), target_name, len(ok),
    )


def param_importances_infos(
    study: Any, evaluator: BaseImportanceEvaluator | None = None, params: Sequence[str] | None = None,
    target: Target | None = None, target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_TRIALS,
) -> list[ParamImportancesInfo]:
    """One info per objective when the study has several and ``target`` is None, else one; all
    with the same parameters, ordered by their summed importance (most important first)."""
    view = read_study(study)
    if target is not None or len(view.directions) < 2:
        return [_param_importances_info(study, evaluator, params, target, target_name, max_trials)]
    infos = [
        _param_importances_info(study, evaluator, params, name, name, max_trials)
        for name in view.metric_names[: len(view.directions)]
    ]
    total: dict[str, float] = {}
    for info in infos:
        for p, v in zip(info.params, info.importances, strict=True):
            total[p] = total.get(p, 0.0) + float(v)
    order = sorted(total, key=lambda p: -total[p])
    out = []
    for info in infos:
        by_param = dict(zip(info.params, info.importances, strict=True))
        out.append(ParamImportancesInfo(
            order, np.array([by_param.get(p, 0.0) for p in order]), info.target_name, info.n_trials,
        ))
    return out


def plot_param_importances(
    study: Any, evaluator: BaseImportanceEvaluator | None = None, params: Sequence[str] | None = None, *,
    target: Target | None = None, target_name: str = "Objective Value", max_trials: int | None = _DEFAULT_TRIALS,
) -> Any:
    """Each parameter's importance for the target (horizontal bars, most important on top).

    With several objectives and no ``target``: one bar set per objective, named after it.

    Args:
        evaluator: a :mod:`tunesmith.importance` evaluator (default PED-ANOVA).
        max_trials: assess at most this many COMPLETE trials (the best half of them, a sample of the rest).

    >>> import tunesmith
    >>> study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2 + 0.01 * t.suggest_float("y", -1, 1), n_trials=50)
    >>> plot_param_importances(study).data[0].y[-1]
    'x'
    """
    infos = param_importances_infos(study, evaluator, params, target, target_name, max_trials)
    go = import_plotly()
    several = len(infos) > 1
    fig = go.Figure()
    for info in infos:
        fig.add_trace(go.Bar(
            x=info.importances[::-1], y=info.params[::-1], orientation="h", name=info.target_name,
            text=[f"{v:.2f}" for v in info.importances[::-1]], textposition="outside",
        ))
    fig.update_layout(
        title="Hyperparameter Importances", yaxis_title="Hyperparameter", showlegend=several,
        xaxis_title="Importance" if several else f"Importance for {infos[0].target_name}",
    )
    return fig
