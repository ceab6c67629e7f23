"""``plot_pareto_front`` and ``plot_hypervolume_history`` for studies with several objectives.

The front is found by a sweep (sort by the first loss; a point is on the front when no
earlier front point is no worse everywhere), O(n * front) rather than the O(n^2) dominance
matrix, so 100k trials are fine. Dominated trials are drawn as a stratified sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunesmith.multi_objective import hypervolume, is_feasible
from tunesmith.trial import FrozenTrial, TrialState
from tunesmith.visualization._common import check_max_trials, import_plotly, read_study, stratified_sample

__all__ = [
    "HypervolumeHistoryInfo", "ParetoFrontInfo", "front_mask", "plot_hypervolume_history", "plot_pareto_front",
]

_DEFAULT_DOMINATED = 5000


@dataclass(frozen=True)
class ParetoFrontInfo:
    target_names: list[str]
    front_numbers: np.ndarray
    front_values: np.ndarray  # (n_front, n_targets), as the objectives are (not sign-flipped)
    dominated_numbers: np.ndarray
    dominated_values: np.ndarray
    n_dominated: int  # before thinning
    infeasible_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    infeasible_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # break a constraint


def front_mask(losses: np.ndarray) -> np.ndarray:
    """Which rows of ``losses`` (all minimised) no other row dominates (duplicates all kept)."""
    n = len(losses)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    order = np.lexsort(losses.T[::-1])  # by the first loss, ties by the next ones
    if losses.shape[1] == 2:
        # Sorted by x then y, a point is dominated by an earlier one iff the running minimum
        # of y before it is lower, or equal and first reached at a smaller x (not a duplicate).
        x, y = losses[order, 0], losses[order, 1]
        running = np.minimum.accumulate(y)
        first = np.maximum.accumulate(np.where(np.r_[True, running[1:] < running[:-1]], np.arange(n), 0))
        prev, prev_x = np.r_[np.inf, running[:-1]], np.r_[np.inf, x[first[:-1]]]
        dominated = (prev < y) | ((prev == y) & (prev_x < x))
        mask[order[~dominated]] = True
        return mask
    front: list[int] = []
    for i in order:
        if front:
            f = losses[front]
            dominated = np.all(f <= losses[i], axis=1) & np.any(f < losses[i], axis=1)
            if dominated.any():
                continue
        front.append(int(i))
    mask[front] = True
    return mask


def _objective_values(
    view: Any, targets: Callable[[FrozenTrial], Sequence[float]] | None, target_names: Sequence[str] | None,
    what: str = "plot_pareto_front", dims: tuple[int, ...] = (2, 3),
) -> tuple[list[FrozenTrial], np.ndarray, np.ndarray, list[str]]:
    trials = [t for t in view.trials if t.state == TrialState.COMPLETE]
    if targets is None:
        if len(view.directions) < 2:
            raise ValueError(
                f"{what}: the study has {len(view.directions)} objective; pass targets= "
                "(a FrozenTrial -> sequence of values) to compare several metrics"
            )
        signs = np.array([-1.0 if view.maximize(i) else 1.0 for i in range(len(view.directions))])
        rows = [t.values if t.values is not None else [np.nan] * len(signs) for t in trials]
        names = list(view.metric_names[: len(signs)])
    else:
        rows = [list(targets(t)) for t in trials]
        signs = np.ones(len(rows[0]) if rows else 2)  # custom targets are taken as minimised
        names = [f"Objective {i}" for i in range(len(signs))]
    values = np.array(rows, dtype=float).reshape(len(trials), len(signs))
    if target_names is not None:
        if len(target_names) != len(signs):
            raise ValueError(
                f"target_names has {len(target_names)} names for {len(signs)} objectives: {target_names!r}"
            )
        names = list(target_names)
    if len(signs) not in dims:
        allowed = " or ".join(map(str, dims)) if len(dims) < 3 else f"{dims[0]} or more"
        raise ValueError(f"{what} draws {allowed} objectives, got {len(signs)}; pick them with targets=")
    ok = ~np.isnan(values).any(axis=1)
    return [t for t, g in zip(trials, ok, strict=True) if g], values[ok], signs, names


def _pareto_front_info(
    study: Any, target_names: Sequence[str] | None = None, include_dominated_trials: bool = True,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None, max_trials: int | None = _DEFAULT_DOMINATED,
) -> ParetoFrontInfo:
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials, values, signs, names = _objective_values(view, targets, target_names)
    numbers = np.array([t.number for t in trials], dtype=np.int64)
    feasible = np.array([is_feasible(t) for t in trials], dtype=bool)
    on_front = np.zeros(len(trials), dtype=bool)
    on_front[feasible] = front_mask(values[feasible] * signs)  # the front among feasible trials only
    dom = np.flatnonzero(feasible & ~on_front) if include_dominated_trials else np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero(~feasible) if include_dominated_trials else np.zeros(0, dtype=np.int64)
    n_dom = len(dom)
    if max_trials is not None:
        dom, bad = stratified_sample(dom, max_trials), stratified_sample(bad, max_trials)
    return ParetoFrontInfo(
        names, numbers[on_front], values[on_front], numbers[dom], values[dom], n_dom, numbers[bad], values[bad],
    )


def plot_pareto_front(
    study: Any, *, target_names: Sequence[str] | None = None, include_dominated_trials: bool = True,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None, max_trials: int | None = _DEFAULT_DOMINATED,
) -> Any:
    """The COMPLETE trials in objective space, the Pareto front highlighted (2 or 3 objectives).

    Under constraints (a sampler's ``constraints_func``) the front is found among the feasible
    trials; those that break a constraint are drawn apart as "Infeasible Trial".

    Args:
        targets: ``FrozenTrial -> values`` to plot other numbers (taken as minimised).
        max_trials: at most this many dominated trials drawn (a stratified sample); the front is whole.

    >>> import tunesmith
    >>> study = tunesmith.create_study(directions=["minimize", "minimize"])
    >>> study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1) ** 2), n_trials=5)
    >>> [trace.name for trace in plot_pareto_front(study).data][-1]
    'Best Trial'
    """
    info = _pareto_front_info(study, target_names, include_dominated_trials, targets, max_trials)
    go = import_plotly()
    fig = go.Figure()
    three = len(info.target_names) == 3
    for name, nums, vals, color in (
        ("Infeasible Trial", info.infeasible_numbers, info.infeasible_values, "#f2b8b8"),
        ("Trial", info.dominated_numbers, info.dominated_values, "#cccccc"),
        ("Best Trial", info.front_numbers, info.front_values, "#d62728"),
    ):
        if name != "Best Trial" and not len(nums):
            continue
        common = {"mode": "markers", "name": name, "text": [f"Trial {n}" for n in nums], "marker": {"color": color}}
        if three:
            fig.add_trace(go.Scatter3d(x=vals[:, 0], y=vals[:, 1], z=vals[:, 2], **common))
        else:
            fig.add_trace(go.Scattergl(x=vals[:, 0], y=vals[:, 1], **common))
    if three:
        fig.update_layout(scene={"xaxis_title": info.target_names[0], "yaxis_title": info.target_names[1],
                                 "zaxis_title": info.target_names[2]})
    else:
        fig.update_layout(xaxis_title=info.target_names[0], yaxis_title=info.target_names[1])
    fig.update_layout(title="Pareto-front Plot")
    return fig


@dataclass(frozen=True)
class HypervolumeHistoryInfo:
    numbers: np.ndarray  # trial numbers at which the hypervolume was computed
    hypervolumes: np.ndarray
    n_trials: int  # COMPLETE trials with every objective, i.e. the points the line could have


_DEFAULT_HV_POINTS = 200
_ANY_DIMS = tuple(range(2, 33))


def _hypervolume_history_info(
    study: Any, reference_point: Sequence[float], max_trials: int | None = _DEFAULT_HV_POINTS,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None,
) -> HypervolumeHistoryInfo:
    """The hypervolume after each of at most ``max_trials`` trials (evenly spread by trial count, the
    last always; exact at each, over all the trials up to it). None: after every trial."""
    view = read_study(study)
    max_trials = check_max_trials(max_trials)
    trials, values, signs, _ = _objective_values(view, targets, None, "plot_hypervolume_history", _ANY_DIMS)
    feasible = [i for i, t in enumerate(trials) if is_feasible(t)]  # an infeasible trial adds no volume
    trials, values = [trials[i] for i in feasible], values[feasible]
    ref = np.asarray(reference_point, dtype=float)
    if ref.shape != (len(signs),):
        raise ValueError(
            f"reference_point needs {len(signs)} values (one per objective), got {list(reference_point)!r}"
        )
    losses, ref_loss = values * signs, ref * signs
    n = len(losses)
    k = n if max_trials is None else min(n, max_trials)
    ends = np.unique(np.r_[np.linspace(1, n, k).astype(int), n]) if n else np.zeros(0, dtype=int)
    hv = np.empty(len(ends))
    front = np.zeros((0, len(signs)))
    start = 0
    for j, end in enumerate(ends):  # the front of each prefix, grown block by block
        block = np.vstack([front, losses[start:end]])
        front = block[front_mask(block)]
        start = end
        hv[j] = hypervolume(front, ref_loss)
    numbers = np.array([trials[e - 1].number for e in ends], dtype=np.int64)
    return HypervolumeHistoryInfo(numbers, hv, n)


def plot_hypervolume_history(
    study: Any, reference_point: Sequence[float], *, max_trials: int | None = _DEFAULT_HV_POINTS,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None,
) -> Any:
    """The hypervolume of the Pareto front found so far, by trial number (plotly).

    Args:
        reference_point: in the objectives' own units and directions (worse than every point).
        max_trials: the hypervolume is drawn after at most this many trials, spread evenly over
            the study (the last always); each point is exact. None: after every trial.
        targets: ``FrozenTrial -> values`` for other numbers (taken as minimised).

    >>> import tunesmith
    >>> study = tunesmith.create_study(directions=["minimize", "minimize"])
    >>> study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)), n_trials=5)
    >>> float(plot_hypervolume_history(study, [2.0, 2.0]).data[0].y[-1]) > 0
    True
    """
    info = _hypervolume_history_info(study, reference_point, max_trials, targets)
    go = import_plotly()
    fig = go.Figure(go.Scatter(x=info.numbers, y=info.hypervolumes, mode="lines+markers", name="Hypervolume"))
    shown = f" ({len(info.numbers)} of {info.n_trials} trials shown)" if len(info.numbers) < info.n_trials else ""
    fig.update_layout(title=f"Hypervolume History Plot{shown}", xaxis_title="Trial", yaxis_title="Hypervolume")
    return fig
