from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.multi_objective import hypervolume
from tunesmith.samplers import AutoSampler, NSGAIISampler, RandomSampler, Sampler, sampler_from_spec

TWO = ["minimize", "minimize"]


def zdt1(d: int):
    def objective(trial: tunesmith.Trial) -> tuple[float, float]:
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(d)]
        g = 1.0 + 9.0 * sum(x[1:]) / (d - 1)
        return x[0], g * (1.0 - math.sqrt(x[0] / g))

    return objective


def test_hypervolume_helper() -> None:
    assert hypervolume(np.array([[0.5, 0.5]]), (1.0, 1.0)) == pytest.approx(0.25)
    pts = np.array([[0.0, 0.5], [0.5, 0.0], [0.6, 0.6], [2.0, 0.0]])  # one dominated, one outside
    assert hypervolume(pts, (1.0, 1.0)) == pytest.approx(0.75)


def _run(sampler: Sampler, objective: Any, n: int, directions: list[str] | None = None) -> tunesmith.Study:
    study = tunesmith.create_study(directions=directions or TWO, sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


def test_zdt1_hypervolume_beats_random_search() -> None:
    ref = (1.1, 11.0)  # f1 <= 1 and f2 <= g <= 10 on ZDT1: every point counts
    gains = []
    for seed in range(3):
        hv = {}
        for name, sampler in (("nsga2", NSGAIISampler(seed=seed)), ("random", RandomSampler(seed=seed))):
            study = _run(sampler, zdt1(6), 300)
            hv[name] = hypervolume(np.array([t.values for t in study.trials]), ref)
        gains.append(hv["nsga2"] - hv["random"])
    assert min(gains) > 0 and np.mean(gains) > 0.5, gains  # measured: 1.18, 0.93, 0.66


def test_seeded_study_reproduces_and_spec_round_trips() -> None:
    def params(sampler: Sampler) -> list[dict[str, Any]]:
        return [t.params for t in _run(sampler, zdt1(3), 40).trials]

    sampler = NSGAIISampler(seed=3, population_size=8, crossover="uniform", mutation="uniform", mutation_prob=0.2)
    first = params(sampler)
    rebuilt = sampler_from_spec(sampler.spec())
    assert isinstance(rebuilt, NSGAIISampler) and rebuilt.spec() == sampler.spec()
    assert params(rebuilt) == first
    assert params(NSGAIISampler(seed=3, population_size=8, crossover="uniform", mutation="uniform",
                                mutation_prob=0.2)) == first
    assert params(NSGAIISampler(seed=4, population_size=8)) != first


def test_parents_come_from_finished_trials_only() -> None:
    """A child copies a parent when crossover and mutation are off: only COMPLETE trials can be copied."""
    sampler = NSGAIISampler(seed=0, population_size=4, crossover_prob=0.0, mutation_prob=0.0)
    study = tunesmith.create_study(directions=TWO, sampler=sampler)

    def ask() -> tunesmith.Trial:
        trial = study.ask()
        trial.suggest_int("k", 0, 1000)
        trial.suggest_categorical("c", ["a", "b", "c", "d", "e"])
        return trial

    gen0 = [ask() for _ in range(4)]
    study.tell(gen0[0], (1.0, 2.0))
    study.tell(gen0[1], (2.0, 1.0))
    study.tell(gen0[3], state=TrialState.FAILED)  # gen0[2] is still running
    finished = {(t.params["k"], t.params["c"]) for t in gen0[:2]}
    assert len(finished) == 2
    gen1 = [ask() for _ in range(4)]
    assert {(t.params["k"], t.params["c"]) for t in gen1} <= finished
    parents = sampler.population(study.history, 1)
    assert parents is not None and sorted(study.history.numbers[parents.rows]) == [0, 1]

    study.tell(gen0[2], (0.0, 0.0))  # finishes late: it joins generation 1's parents from now on
    parents = sampler.population(study.history, 1)
    assert parents is not None and sorted(study.history.numbers[parents.rows]) == [0, 1, 2]
    for trial in gen1:
        study.tell(trial, (3.0, 3.0))
    parents = sampler.population(study.history, 2)  # elitism: the best 4 of P_1 and generation 1
    assert parents is not None and len(parents.rows) == 4
    assert {0, 1, 2} <= set(study.history.numbers[parents.rows].tolist())


def test_a_single_finished_parent_is_enough() -> None:
    study = tunesmith.create_study(directions=TWO, sampler=NSGAIISampler(seed=0, population_size=3))
    gen0 = [study.ask() for _ in range(3)]
    xs = [t.suggest_float("x", 0, 1) for t in gen0]
    study.tell(gen0[0], (xs[0], 1 - xs[0]))
    for t in gen0[1:]:
        study.tell(t, state=TrialState.FAILED)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.params["x"]), n_trials=6)
    assert all(t.state == TrialState.COMPLETE for t in study.trials[3:])


def test_values_stay_inside_every_kind_of_distribution() -> None:
    def objective(trial: tunesmith.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", -2.0, 3.0)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        n = trial.suggest_int("n", 1, 10)
        s = trial.suggest_int("s", 0, 20, step=5)
        w = trial.suggest_int("w", 2, 512, log=True)
        q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
        opt = trial.suggest_categorical("opt", ["sgd", "adam", "rmsprop"])
        return x + n + math.log(lr) + q, -x + s + math.log(w) + (opt == "adam")

    study = _run(NSGAIISampler(seed=1, population_size=10), objective, 80)
    for t in study.trials:
        p = t.params
        assert -2.0 <= p["x"] <= 3.0 and 1e-5 <= p["lr"] <= 1e-1
        assert type(p["n"]) is int and 1 <= p["n"] <= 10
        assert p["s"] in {0, 5, 10, 15, 20} and p["q"] in {0.0, 0.25, 0.5, 0.75, 1.0}
        assert type(p["w"]) is int and 2 <= p["w"] <= 512
        assert p["opt"] in {"sgd", "adam", "rmsprop"}
    assert {t.params["opt"] for t in study.trials[40:]} - {"sgd", "adam", "rmsprop"} == set()
    assert len({t.params["x"] for t in study.trials[10:]} - {t.params["x"] for t in study.trials[:10]}) > 25


def test_pareto_front_and_maximized_objectives() -> None:
    def objective(trial: tunesmith.Trial) -> tuple[float, float]:
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        return x + y, (1 - x) ** 2 - y  # minimize, maximize: y at 0 is best for both

    study = _run(NSGAIISampler(seed=2, population_size=10), objective, 100, ["minimize", "maximize"])
    front = study.pareto_front()
    assert front and all(t.state == TrialState.COMPLETE for t in front)
    losses = np.array([t.values for t in study.trials]) * np.array([1.0, -1.0])
    for t in front:  # nothing dominates a front member
        v = np.array(t.values) * np.array([1.0, -1.0])
        assert not np.any(np.all(losses <= v, axis=1) & np.any(losses < v, axis=1))
    early = np.median([t.params["y"] for t in study.trials[:10]])
    late = np.median([t.params["y"] for t in study.trials[-20:]])
    assert late < early / 2  # the maximised objective is maximised


def test_conditional_and_late_parameters_fall_back_to_random() -> None:
    def objective(trial: tunesmith.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        extra = trial.suggest_float("late", 10, 20) if trial.number >= 25 else 15.0
        if trial.suggest_categorical("branch", ["a", "b"]) == "a":
            x += trial.suggest_float("only_a", -1, 1) ** 2
        return x, extra - x

    study = _run(NSGAIISampler(seed=5, population_size=10), objective, 60)
    for t in study.trials:
        assert ("late" in t.params) == (t.number >= 25)
        assert ("only_a" in t.params) == (t.params["branch"] == "a")
        assert 10 <= t.params.get("late", 15) <= 20 and -1 <= t.params.get("only_a", 0) <= 1


def test_single_objective_degenerates_to_a_genetic_algorithm() -> None:
    def sphere(trial: tunesmith.Trial) -> float:
        return sum((trial.suggest_float(f"x{i}", -5, 5) - 1) ** 2 for i in range(3))

    ga = [_run(NSGAIISampler(seed=s, population_size=20), sphere, 200, ["minimize"]).best_value for s in range(3)]
    rs = [_run(RandomSampler(seed=s), sphere, 200, ["minimize"]).best_value for s in range(3)]
    assert np.median(ga) < np.median(rs) / 2, (ga, rs)  # measured: 0.05 against 0.46


@pytest.mark.slow
def test_two_worker_processes(tmp_path: Path) -> None:
    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path}/n.db", directions=TWO,
                                   sampler=NSGAIISampler(seed=0, population_size=6))
    study.optimize(zdt1(3), n_trials=30, n_workers=2)
    trials = study.trials
    assert len(trials) == 30 and all(t.state == TrialState.COMPLETE for t in trials)
    assert all(0.0 <= v <= 1.0 for t in trials for v in t.params.values())
    assert study.pareto_front()


def test_auto_sampler_hands_long_multi_objective_studies_to_nsga2() -> None:
    def params(seed: int) -> tuple[list[dict[str, Any]], str]:
        sampler = AutoSampler(seed=seed, n_startup_trials=5, nsga2_min_trials=20)
        study = _run(sampler, zdt1(3), 50)
        return [t.params for t in study.trials], sampler.last_choice

    first, choice = params(1)
    assert choice == "nsga2" and params(1) == (first, choice)
    sampler = AutoSampler(seed=1, nsga2_min_trials=20)
    study = _run(RandomSampler(seed=0), zdt1(3), 19)
    assert sampler.choose(study.distributions, study.history) == "tpe"
    study.optimize(zdt1(3), n_trials=1)
    assert sampler.choose(study.distributions, study.history) == "nsga2"
    assert sampler_from_spec(sampler.spec()).spec() == sampler.spec()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"population_size": 1}, "population_size"), ({"population_size": 2.5}, "population_size"),
     ({"crossover": "blx"}, "crossover"), ({"mutation": "gauss"}, "mutation"),
     ({"crossover_prob": 1.5}, "crossover_prob"), ({"swapping_prob": -0.1}, "swapping_prob"),
     ({"mutation_prob": 2}, "mutation_prob"), ({"seed": -1}, "seed")],
)
def test_invalid_settings_name_the_parameter(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        NSGAIISampler(**kwargs)
