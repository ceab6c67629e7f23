from __future__ import annotations

import math

import pytest

import tunesmith
from tunesmith.samplers import RandomSampler, TPESampler
from tunesmith.samplers.auto import AutoSampler
from tunesmith.samplers.gp import GPSampler


def history_of(objective, n: int, directions: list[str] | None = None) -> tuple[dict, object]:
    study = tunesmith.create_study(sampler=RandomSampler(seed=0), directions=directions)
    study.optimize(objective, n_trials=n)
    return study._known, study._history


def continuous(trial: tunesmith.Trial) -> float:
    return sum(trial.suggest_float(f"x{i}", 0, 1) for i in range(3))


def test_rules() -> None:
    auto = AutoSampler(seed=0, n_startup_trials=10, gp_max_trials=30)
    assert auto.choose(*history_of(continuous, 5)) == "random"  # the GP takes over next
    assert auto.choose(*history_of(continuous, 12)) == "gp"
    assert auto.choose(*history_of(continuous, 31)) == "cmaes"

    def with_ints(trial: tunesmith.Trial) -> float:
        return trial.suggest_float("x", 0, 1) + trial.suggest_int("k", 0, 5)

    assert auto.choose(*history_of(with_ints, 12)) == "gp"
    assert auto.choose(*history_of(with_ints, 31)) == "tpe"  # not all continuous: no CMA-ES

    def conditional(trial: tunesmith.Trial) -> float:
        if trial.suggest_float("a", 0, 1) > 0.5:
            return trial.suggest_float("b", 0, 1)
        return 1.0

    assert auto.choose(*history_of(conditional, 15)) == "tpe"
    assert auto.choose(*history_of(conditional, 5)) == "random"

    def mostly_discrete(trial: tunesmith.Trial) -> float:
        return (trial.suggest_float("x", 0, 1) + trial.suggest_int("k", 0, 5)
                + trial.suggest_float("q", 0, 1, step=0.25))

    assert auto.choose(*history_of(mostly_discrete, 15)) == "tpe"  # 2 of 3 discrete: plateaus for a GP
    assert auto.choose(*history_of(mostly_discrete, 5)) == "random"  # TPE's own start

    def categorical(trial: tunesmith.Trial) -> float:
        return trial.suggest_float("x", 0, 1) + len(trial.suggest_categorical("c", ["a", "bb"]))

    assert auto.choose(*history_of(categorical, 15)) == "tpe"
    assert auto.choose(*history_of(categorical, 5)) == "random"

    def two(trial: tunesmith.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    assert auto.choose(*history_of(two, 15, ["minimize", "minimize"])) == "tpe"
    assert auto.choose(*history_of(two, 5, ["minimize", "minimize"])) == "sobol"

    def wide(trial: tunesmith.Trial) -> float:
        return sum(trial.suggest_float(f"x{i}", 0, 1) for i in range(25))

    assert AutoSampler(max_gp_dims=20).choose(*history_of(wide, 15)) == "tpe"

    def ten(trial: tunesmith.Trial) -> float:
        return sum(trial.suggest_float(f"x{i}", 0, 1) for i in range(10))

    assert AutoSampler().choose(*history_of(ten, 15)) == "gp"  # max_gp_dims=10
    assert AutoSampler().choose(*history_of(ten, 5)) == "random"  # the GP takes over: a random start
    assert AutoSampler(max_gp_dims=8).choose(*history_of(ten, 12)) == "tpe"  # a GP past its measured range
    assert AutoSampler(max_gp_dims=8).choose(*history_of(ten, 5)) == "random"


def test_the_gp_keeps_only_objectives_it_predicts_well() -> None:
    def smooth(trial: tunesmith.Trial) -> float:
        return sum((trial.suggest_float(f"x{i}", 0, 1) - 0.3) ** 2 for i in range(3))

    def heavy_tailed(trial: tunesmith.Trial) -> float:  # one trial dwarfs the others
        return math.exp(10 * sum(trial.suggest_float(f"x{i}", 0, 1) for i in range(3)))

    auto = AutoSampler(seed=0, check_sigmas=2.6)
    assert auto.choose(*history_of(smooth, 16)) == "gp"
    assert auto.choose(*history_of(heavy_tailed, 12)) == "gp"  # before the check: the GP
    assert auto.choose(*history_of(heavy_tailed, 16)) == "tpe"  # a leave-one-out residual beyond 2.6 sd
    assert auto._check is not None and not auto._check[2]
    assert AutoSampler(seed=0, check_sigmas=1e9).choose(*history_of(heavy_tailed, 16)) == "gp"
    default = AutoSampler(seed=0)  # the check is off by default: the warped GP keeps such objectives
    assert default.choose(*history_of(heavy_tailed, 16)) == "gp" and default._check is None
    with pytest.raises(ValueError, match="check_trials must be an integer >= 3"):
        AutoSampler(check_trials=2)
    with pytest.raises(ValueError, match="check_sigmas must be positive or None"):
        AutoSampler(check_sigmas=0.0)


def test_auto_runs_end_to_end_and_reproduces() -> None:
    def params(seed: int) -> list[dict]:
        study = tunesmith.create_study(sampler=AutoSampler(seed=seed, gp_max_trials=18))
        study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 0.5) ** 2 + t.suggest_float("y", 0, 1), n_trials=22)
        assert study.best_value < 0.3
        return [t.params for t in study.trials]

    assert params(3) == params(3)


def test_multi_objective_sobol_start_is_space_filling() -> None:
    study = tunesmith.create_study(sampler=AutoSampler(seed=1), directions=["minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), len(t.suggest_categorical("c", ["a", "bb"]))), n_trials=8)
    assert study.sampler.last_choice == "sobol"
    bins = sorted(int(t.params["x"] * 8) for t in study.trials)
    assert bins == list(range(8))  # one point per eighth: Sobol, not random


def test_auto_is_its_delegate_where_one_delegate_runs_the_study() -> None:
    def smooth(trial: tunesmith.Trial) -> float:  # the GP takes over
        return sum((trial.suggest_float(f"x{i}", 0, 1) - 0.3) ** 2 for i in range(3)) + trial.suggest_int("k", 0, 4)

    def mixed(trial: tunesmith.Trial) -> float:  # mostly discrete: TPE takes over
        c = trial.suggest_categorical("c", ["a", "bb"])
        return trial.suggest_float("x", 0, 1) + trial.suggest_int("k", 0, 4) + len(c)

    for objective, delegate, n in ((smooth, GPSampler(seed=1), 13), (mixed, TPESampler(seed=1), 16)):
        auto = tunesmith.create_study(sampler=AutoSampler(seed=1))
        auto.optimize(objective, n_trials=n)
        alone = tunesmith.create_study(sampler=delegate)
        alone.optimize(objective, n_trials=n)
        assert auto.sampler.last_choice == ("gp" if objective is smooth else "tpe")
        assert [t.params for t in auto.trials] == [t.params for t in alone.trials]  # the start included


def test_trials_asked_together_in_the_gp_phase_get_distinct_points() -> None:
    """Parallel workers in the GP phase: the GP's constant liar keeps the running trials apart (without it
    the four points lie within 0.01 of each other here; with it, 0.12 or more over seeds 0-3)."""
    def sphere(trial: tunesmith.Trial) -> float:
        return (trial.suggest_float("x", -5, 5) - 1) ** 2 + (trial.suggest_float("y", -5, 5) + 2) ** 2

    study = tunesmith.create_study(sampler=AutoSampler(seed=0))
    study.optimize(sphere, n_trials=16)
    trials = [study.ask() for _ in range(4)]
    points = [((t.suggest_float("x", -5, 5) + 5) / 10, (t.suggest_float("y", -5, 5) + 5) / 10) for t in trials]
    assert study.sampler.last_choice == "gp"
    assert min(math.dist(p, q) for i, p in enumerate(points) for q in points[:i]) > 0.05, points
    for t in trials:
        study.tell(t, sphere(t))


def test_spec_round_trip() -> None:
    sampler = AutoSampler(seed=5, gp_max_trials=50)
    again = tunesmith.samplers.sampler_from_spec(sampler.spec())
    assert isinstance(again, AutoSampler) and again.spec() == sampler.spec()
