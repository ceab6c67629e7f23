"""Constrained optimization (Optuna's ``constraints_func``): stored per trial, used by the samplers,
respected by ``best_trial`` and the Pareto front, carried to workers and reopened studies."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith.record import CONSTRAINTS, FrozenTrial, TrialState
from tunesmith.samplers import AutoSampler, GPSampler, NSGAIISampler, Sampler, TPESampler, sampler_from_spec
from tunesmith.samplers._base import UnstoredFunction
from tunesmith.trial import Trial, TrialPruned

# The toy problem: minimise (x - 2)^2 + (y - 1)^2 subject to x + y <= 1. Unconstrained, the
# minimum (2, 1) breaks the constraint; the constrained one is its projection (1, 0), value 2.
CONSTRAINED_OPTIMUM = 2.0


def toy(trial: Trial) -> float:
    x, y = trial.suggest_float("x", -3, 3), trial.suggest_float("y", -3, 3)
    trial.set_user_attr("slack", x + y - 1)
    return (x - 2) ** 2 + (y - 1) ** 2


def toy_constraints(trial: FrozenTrial) -> list[float]:
    return [trial.user_attrs["slack"]]


def with_pid(trial: FrozenTrial) -> list[float]:
    """The toy's constraint, and a second one that always holds and says which process computed it."""
    return [trial.user_attrs["slack"], -float(os.getpid())]


def _feasibility(study: tunesmith.Study) -> tuple[float, float]:
    """(share of trials inside x + y <= 1, best value among them), from the objective's own record."""
    trials = [t for t in study.trials if t.state == TrialState.COMPLETE]
    inside = [t.value for t in trials if t.user_attrs["slack"] <= 0]
    return len(inside) / len(trials), min((v for v in inside if v is not None), default=np.inf)


SAMPLERS: dict[str, tuple[Callable[..., Sampler], int, float]] = {
    # name: (factory, trials, bound on each seed's best feasible value)
    "tpe": (lambda **kw: TPESampler(n_startup_trials=10, **kw), 60, 2.6),
    "gp": (lambda **kw: GPSampler(n_startup_trials=8, **kw), 25, 2.1),
    "nsga2": (lambda **kw: NSGAIISampler(population_size=12, **kw), 120, 3.0),
    "auto": (lambda **kw: AutoSampler(**kw), 25, 2.1),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_each_constrained_sampler_searches_the_feasible_region(name: str) -> None:
    make, n_trials, bound = SAMPLERS[name]
    rates, plain_rates = [], []
    for seed in range(3):
        study = tunesmith.create_study(sampler=make(seed=seed, constraints_func=toy_constraints))
        study.optimize(toy, n_trials=n_trials)
        rate, best = _feasibility(study)
        rates.append(rate)
        assert CONSTRAINED_OPTIMUM <= best < bound, (seed, best)
        # best_trial is the best feasible trial, and what the sampler stored agrees with the objective
        assert study.best_value == pytest.approx(best)
        assert all(t.constraints == [t.user_attrs["slack"]] for t in study.trials)
        plain = tunesmith.create_study(sampler=make(seed=seed))
        plain.optimize(toy, n_trials=n_trials)
        plain_rates.append(_feasibility(plain)[0])
        assert all(t.constraints is None for t in plain.trials)
    # Told the constraint, a sampler spends most of its trials inside it; blind, it chases (2, 1) outside.
    assert np.mean(rates) > 0.45 and np.mean(rates) > np.mean(plain_rates) + 0.25, (rates, plain_rates)


def _told(study: tunesmith.Study, values: list[Any], slacks: list[float]) -> None:
    for value, slack in zip(values, slacks, strict=True):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.set_user_attr("slack", slack)
        study.tell(t, value)


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_best_trial_is_the_best_feasible_one(direction: str) -> None:
    study = tunesmith.create_study(direction=direction, sampler=TPESampler(seed=0, constraints_func=toy_constraints))
    sign = 1 if direction == "minimize" else -1
    _told(study, [sign * 1.0, sign * 3.0, sign * 2.0, sign * 0.5], [0.5, -1.0, 0.0, 2.0])
    assert study.best_trial.number == 2  # 0 and 3 are better but break the constraint; 0.0 is satisfied
    assert study.best_value == sign * 2.0
    assert [t.constraints for t in study.trials] == [[0.5], [-1.0], [0.0], [2.0]]


def test_best_trial_without_any_feasible_trial_says_so() -> None:
    study = tunesmith.create_study(sampler=TPESampler(seed=0, constraints_func=toy_constraints))
    _told(study, [1.0, 2.0], [0.1, 3.0])
    with pytest.raises(ValueError, match="no feasible completed trial"):
        _ = study.best_trial


def test_pareto_front_leaves_out_infeasible_trials() -> None:
    study = tunesmith.create_study(
        directions=["minimize", "minimize"], sampler=NSGAIISampler(seed=0, constraints_func=toy_constraints),
    )
    _told(study, [[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]], [1.0, -1.0, 0.0, -1.0])
    assert [t.number for t in study.pareto_front()] == [1, 2]  # trial 0 dominates both but is infeasible
    assert [t.number for t in study.best_trials] == [1, 2]


def test_plots_draw_the_feasible_front_and_the_infeasible_trials_apart() -> None:
    pytest.importorskip("plotly")
    from tunesmith.visualization import plot_hypervolume_history, plot_pareto_front
    from tunesmith.visualization.matplotlib import plot_pareto_front as mpl_pareto_front

    study = tunesmith.create_study(
        directions=["minimize", "minimize"], sampler=NSGAIISampler(seed=0, constraints_func=toy_constraints),
    )
    _told(study, [[0.0, 0.0], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]], [1.0, -1.0, 0.0, -1.0])
    traces = {t.name: sorted(t.text) for t in plot_pareto_front(study).data}
    assert traces == {"Infeasible Trial": ["Trial 0"], "Trial": ["Trial 3"], "Best Trial": ["Trial 1", "Trial 2"]}
    # Infeasible trial 0 would fill the whole 4 x 4 box; (1, 2) and (2, 1) fill 6 + 6 - 4 (their overlap).
    hv = plot_hypervolume_history(study, reference_point=[4.0, 4.0]).data[0].y
    assert hv[-1] == pytest.approx(8.0)
    ax = mpl_pareto_front(study)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Infeasible Trial", "Trial", "Best Trial"]


def test_pruned_trials_get_constraints_and_failed_ones_do_not() -> None:
    def objective(trial: Trial) -> float:
        trial.set_user_attr("slack", -1.0)
        if trial.number == 1:
            raise TrialPruned()
        if trial.number == 2:
            raise RuntimeError("boom")
        return toy(trial)

    study = tunesmith.create_study(sampler=TPESampler(seed=0, constraints_func=toy_constraints))
    study.optimize(objective, n_trials=3)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED]
    assert study.trials[1].constraints == [-1.0] and study.trials[2].constraints is None


@pytest.mark.parametrize(("func", "match"), [
    (lambda t: 1 / 0, "ZeroDivisionError"),
    (lambda t: [float("nan")], "NaN"),
    (lambda t: 0.5, "sequence of numbers"),
    (lambda t: ["big"], "not a number"),
])
def test_a_failing_constraints_func_fails_the_trial_with_its_traceback(func: Any, match: str) -> None:
    study = tunesmith.create_study(sampler=TPESampler(seed=0, constraints_func=func))
    study.optimize(toy, n_trials=2)  # the run goes on: each trial is recorded FAILED
    for t in study.trials:
        assert t.state == TrialState.FAILED and t.values is None and t.constraints is None
        assert t.error is not None and "constraints_func failed on trial" in t.error and match in t.error
        assert "Traceback" in t.error


def test_constraints_func_must_be_callable() -> None:
    for make in (TPESampler, GPSampler, NSGAIISampler, AutoSampler):
        with pytest.raises(TypeError, match="constraints_func must be a function"):
            make(constraints_func=[0.0])


def test_constraints_survive_a_reopened_study_and_need_the_function_to_go_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    study = tunesmith.create_study("c", url, sampler=TPESampler(seed=0, constraints_func=toy_constraints))
    study.optimize(toy, n_trials=12)
    before = [(t.number, t.constraints) for t in study.trials]
    best = study.best_trial.number

    again = tunesmith.load_study("c", url)  # the record holds the function's name, not the function
    assert [(t.number, t.constraints) for t in again.trials] == before
    assert again.best_trial.number == best and again.best_trial.constraints is not None
    assert again.best_trial.constraints[0] <= 0
    assert isinstance(again.sampler.constraints_func, UnstoredFunction)
    with pytest.raises(ValueError, match=r"constraints_func=tests?\.?.*toy_constraints.*pass the sampler again"):
        again.optimize(toy, n_trials=1)
    assert len(again.trials) == 12

    resumed = tunesmith.load_study("c", url, sampler=TPESampler(seed=0, constraints_func=toy_constraints))
    resumed.optimize(toy, n_trials=3)
    assert all(t.constraints == [t.user_attrs["slack"]] for t in resumed.trials)


def test_spec_names_the_function_and_a_rebuilt_sampler_refuses_to_run_without_it() -> None:
    for sampler in (TPESampler(seed=1, constraints_func=toy_constraints),
                    GPSampler(seed=1, constraints_func=toy_constraints),
                    NSGAIISampler(seed=1, constraints_func=toy_constraints),
                    AutoSampler(seed=1, constraints_func=toy_constraints)):
        spec = sampler.spec()
        assert json.loads(json.dumps(spec)) == spec
        assert spec["constraints_func"].endswith("toy_constraints")
        assert "constraints_func" not in spec["kwargs"]
        rebuilt = sampler_from_spec(spec)
        assert type(rebuilt) is type(sampler) and rebuilt.spec() == spec
        with pytest.raises(RuntimeError, match="record cannot hold"):
            rebuilt.constraints(FrozenTrial(0, TrialState.COMPLETE, values=[1.0]))
    assert "constraints_func" not in TPESampler(seed=1).spec()


def test_a_pickled_copy_keeps_the_function_and_suggests_the_same() -> None:
    sampler = TPESampler(seed=3, n_startup_trials=5, constraints_func=toy_constraints)
    copy = pickle.loads(pickle.dumps(sampler))
    a, b = tunesmith.create_study(sampler=sampler), tunesmith.create_study(sampler=copy)
    a.optimize(toy, n_trials=15)
    b.optimize(toy, n_trials=15)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.constraints for t in a.trials] == [t.constraints for t in b.trials]


@pytest.mark.slow
def test_worker_processes_compute_and_store_the_constraints(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    study = tunesmith.create_study("w", url, sampler=TPESampler(seed=0, n_startup_trials=4, constraints_func=with_pid))
    study.optimize(toy, n_trials=12, n_workers=2)
    trials = tunesmith.load_study("w", url).trials
    assert len(trials) == 12 and all(t.state == TrialState.COMPLETE for t in trials)
    for t in trials:
        assert t.constraints is not None and t.constraints[0] == t.user_attrs["slack"]
    pids = {-t.constraints[1] for t in trials if t.constraints is not None}
    assert os.getpid() not in pids  # computed where the trial ran
    best = study.best_trial
    assert best.constraints is not None and best.constraints[0] <= 0


def test_constraints_are_read_through_the_typed_property() -> None:
    t = FrozenTrial(0, TrialState.COMPLETE, values=[1.0], system_attrs={CONSTRAINTS: [0, -1.5]})
    assert t.constraints == [0.0, -1.5]
    assert FrozenTrial(1, TrialState.COMPLETE).constraints is None


@pytest.mark.parametrize("where", ["memory", "sqlite"])
def test_study_summaries_show_the_best_feasible_value(where: str, tmp_path: Path) -> None:
    """``tunesmith ls`` (``Storage.list_studies``) agrees with ``best_trial`` under constraints."""
    storage = None if where == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    study = tunesmith.create_study("c", storage, sampler=TPESampler(seed=0, constraints_func=toy_constraints))
    _told(study, [1.0, 3.0, 2.0, 0.5], [0.5, -1.0, 0.0, 2.0])  # 1.0 and 0.5 break the constraint
    assert study.best_trial.value == 2.0
    [summary] = study.storage.list_studies()
    assert summary.best_value == 2.0
