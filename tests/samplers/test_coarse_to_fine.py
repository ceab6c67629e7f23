"""CoarseToFineSampler: rounds of Sobol points in a box that closes in on the best trials."""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith.samplers import RandomSampler, Sampler, sampler_from_spec
from tunesmith.samplers.coarse_to_fine import CoarseToFineSampler

OPTIMUM = np.array([1.0, -2.0, 0.5])


def quadratic3(trial: tunesmith.Trial) -> float:
    x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
    return float(np.sum((x - OPTIMUM) ** 2))


def _rounds(study: tunesmith.Study, names: list[str], size: int = 20) -> list[np.ndarray]:
    trials = study.trials
    return [np.array([[t.params[n] for n in names] for t in trials[r:r + size]]) for r in range(0, len(trials), size)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_box_shrinks_around_the_optimum(seed: int) -> None:
    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=seed))
    study.optimize(quadratic3, n_trials=100)
    rounds = _rounds(study, ["x0", "x1", "x2"])
    volumes = [float(np.prod(X.max(axis=0) - X.min(axis=0))) for X in rounds]
    assert volumes[0] > 500  # round 0 spreads over the whole 10^3 cube
    assert all(b < a for a, b in itertools.pairwise(volumes))
    assert volumes[-1] < volumes[0] / 200
    for X in rounds:  # every round's region still holds the optimum
        assert np.all(X.min(axis=0) <= OPTIMUM) and np.all(OPTIMUM <= X.max(axis=0))


def _median_best(make: Any, n_trials: int, seeds: range) -> float:
    best = []
    for seed in seeds:
        study = tunesmith.create_study(sampler=make(seed))
        study.optimize(quadratic3, n_trials=n_trials)
        best.append(study.best_value)
    return statistics.median(best)


def test_finds_a_3d_quadratic_optimum_better_than_random() -> None:
    c2f = _median_best(lambda s: CoarseToFineSampler(seed=s), 100, range(5))
    rnd = _median_best(lambda s: RandomSampler(seed=s), 100, range(5))
    assert c2f < 0.1
    assert c2f < rnd / 5


def test_log_parameters_shrink_in_log_space() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        return (math.log10(trial.suggest_float("lr", 1e-6, 1.0, log=True)) + 3) ** 2

    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=0))
    study.optimize(objective, n_trials=100)
    first, *_, last = _rounds(study, ["lr"])
    assert first.min() < 1e-5 and first.max() > 0.1  # round 0 spans the decades evenly
    # A box shrunk in linear space around 1e-3 would be [0, ~0.01] and still reach down to 1e-6;
    # in log space it closes in on both sides, geometrically.
    lo, hi = math.log10(last.min()), math.log10(last.max())
    assert -3.5 < lo < -3 < hi < -2.5


def test_integer_parameters_shrink_and_stay_integers() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        n = trial.suggest_int("n", 0, 100)
        s = trial.suggest_int("s", 0, 50, step=10)
        return (n - 37) ** 2 + (s - 20) ** 2

    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=0))
    study.optimize(objective, n_trials=100)
    for t in study.trials:
        assert type(t.params["n"]) is int and 0 <= t.params["n"] <= 100
        assert t.params["s"] in {0, 10, 20, 30, 40, 50}
    last = _rounds(study, ["n", "s"])[-1]
    assert 25 <= last[:, 0].min() <= 37 <= last[:, 0].max() <= 50
    assert set(last[:, 1]) <= {10, 20, 30}
    assert study.best_params == {"n": 37, "s": 20}


def test_categorical_parameters_keep_the_choices_of_the_best_trials() -> None:
    cost = {"sgd": 0.0, "adam": 3.0, "rmsprop": 6.0, "adagrad": 9.0}

    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        return cost[trial.suggest_categorical("opt", list(cost))] + x**2

    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=0))
    study.optimize(objective, n_trials=60)
    used = [{t.params["opt"] for t in study.trials[r:r + 20]} for r in (0, 20, 40)]
    assert used[0] == set(cost)
    assert used[2] == {"sgd"}


def test_grid_axes_are_enumerated_and_the_dict_config_is_filled() -> None:
    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=0, round_size=8))
    study.set_space({"x": tunesmith.uniform(0, 1), "g": tunesmith.grid_search(["p", "q"]),
                     "d": tunesmith.sample_from(lambda spec: spec.config.x + 1)})
    study.optimize(lambda t: (t.params["x"] - 0.3) ** 2, n_trials=32)
    assert [t.params["g"] for t in study.trials[:4]] == ["p", "q", "p", "q"]
    assert all(t.params["d"] == t.params["x"] + 1 for t in study.trials)
    assert abs(study.best_params["x"] - 0.3) < 0.02


def test_a_round_takes_consecutive_sobol_points() -> None:
    """Round 0 of a 1-D space with 16 points puts one point in each sixteenth."""
    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=3, round_size=16))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=16)
    assert sorted(int(t.params["x"] * 16) for t in study.trials) == list(range(16))


@pytest.mark.parametrize("style", ["define_by_run", "dict"])
def test_seeded_study_reproduces_exactly(style: str) -> None:
    def run(sampler: Sampler) -> list[dict[str, Any]]:
        study = tunesmith.create_study(sampler=sampler)
        if style == "dict":
            study.set_space({f"x{i}": tunesmith.uniform(-5, 5) for i in range(3)})
            study.optimize(lambda t: float(np.sum((np.array(list(t.params.values())) - OPTIMUM) ** 2)), n_trials=50)
        else:
            study.optimize(quadratic3, n_trials=50)
        return [t.params for t in study.trials]

    first = run(CoarseToFineSampler(seed=5))
    assert run(CoarseToFineSampler(seed=5)) == first
    other = run(CoarseToFineSampler(seed=6))
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 45


def test_boxes_come_from_the_record_so_handles_agree() -> None:
    """Two handles (as two workers) taking turns make exactly the trials one handle makes."""
    alone = tunesmith.create_study(sampler=CoarseToFineSampler(seed=1, round_size=10))
    alone.optimize(quadratic3, n_trials=50)
    a = tunesmith.create_study("h", sampler=CoarseToFineSampler(seed=1, round_size=10))
    trial = a.ask()
    a.tell(trial, quadratic3(trial))  # declares the parameters, so that b knows them from the start
    b = tunesmith.load_study("h", a.storage, sampler=sampler_from_spec(a.sampler.spec()))
    for i in range(1, 50):
        study = (a, b)[(i // 3) % 2]
        trial = study.ask()
        study.tell(trial, quadratic3(trial))
    assert [t.params for t in a.trials] == [t.params for t in alone.trials]


def test_a_round_asked_while_the_last_one_runs_uses_its_finished_trials() -> None:
    """Round 1 asked while a round-0 trial still runs shrinks around the finished ones; once that trial ends
    as the best, round 1 closes in on it instead."""
    study = tunesmith.create_study(sampler=CoarseToFineSampler(seed=0, round_size=8, keep_fraction=0.125))
    study.set_space({"x": tunesmith.uniform(0, 1)})
    round0 = [study.ask() for _ in range(8)]
    xs = [t.params["x"] for t in round0]
    slow = int(np.argmax(xs))  # one point in each eighth: the largest lies in [7/8, 1]
    for i, t in enumerate(round0):
        if i != slow:
            study.tell(t, t.params["x"])  # the finished trials' best is the smallest x
    best = min(x for i, x in enumerate(xs) if i != slow)
    assert xs[slow] - best > 0.5
    # The box: the best point padded by a quarter of the 1/8 spacing each side (moved inside [0, 1] at an edge).
    half_width = 2 * 0.25 / 8
    early = study.ask()
    assert abs(early.params["x"] - best) <= half_width + 1e-9
    study.tell(round0[slow], -1.0)
    late = study.ask()
    assert abs(late.params["x"] - xs[slow]) <= half_width + 1e-9
    for t in (early, late):
        study.tell(t, t.params["x"])


def test_spec_round_trip() -> None:
    s = CoarseToFineSampler(seed=4, round_size=16, keep_fraction=0.25, shrink_min=0.05)
    rebuilt = sampler_from_spec(s.spec())
    assert isinstance(rebuilt, CoarseToFineSampler) and rebuilt.spec() == s.spec()
    assert (rebuilt.round_size, rebuilt.keep_fraction, rebuilt.shrink_min) == (16, 0.25, 0.05)
    unseeded = CoarseToFineSampler()
    copy = sampler_from_spec(unseeded.spec())  # the drawn seed travels with the spec

    def params(sampler: Sampler) -> list[dict[str, Any]]:
        study = tunesmith.create_study(sampler=sampler)
        study.set_space({f"x{i}": tunesmith.uniform(-5, 5) for i in range(3)})
        study.optimize(lambda t: float(np.sum((np.array(list(t.params.values())) - OPTIMUM) ** 2)), n_trials=45)
        return [t.params for t in study.trials]

    assert params(copy) == params(unseeded)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"round_size": 1}, "round_size"), ({"keep_fraction": 0.0}, "keep_fraction"),
     ({"keep_fraction": 1.5}, "keep_fraction"), ({"shrink_min": 0}, "shrink_min"), ({"seed": -1}, "seed")],
)
def test_invalid_settings_name_the_parameter(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        CoarseToFineSampler(**kwargs)
