"""What the built-in samplers promise beyond the conformance suite (random, Sobol, grid).

The contract every sampler keeps (values inside the space, seeds, copies, specs,
parallel trials, late parameters, failed trials, worker processes, several
objectives) is :class:`tunesmith.testing.SamplerConformance`, run for each sampler by
``test_conformance.py``; each model-based sampler has its own test module.
"""

from __future__ import annotations

import itertools
import pickle
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.samplers import GridSampler, QMCSampler, RandomSampler, Sampler
from tunesmith.samplers._base import grid_point

# -- random -----------------------------------------------------------------------------------------


def test_random_samples_are_centred_and_spread() -> None:
    def objective(trial: tunesmith.Trial) -> float:
        trial.suggest_float("u", 0.0, 10.0)
        trial.suggest_float("lr", 1e-6, 1.0, log=True)
        trial.suggest_int("k", 1, 5)
        trial.suggest_categorical("c", ["a", "b", "c", "d"])
        return 0.0

    study = tunesmith.create_study(sampler=RandomSampler(seed=0))
    study.optimize(objective, n_trials=1000)
    params = [t.params for t in study.trials]
    u = np.array([p["u"] for p in params])
    assert abs(u.mean() - 5.0) < 0.3
    assert u.min() < 0.1 and u.max() > 9.9
    assert abs(np.log10(np.median([p["lr"] for p in params])) + 3.0) < 0.25
    k = np.array([p["k"] for p in params])
    assert abs(k.mean() - 3.0) < 0.15
    assert set(k) == {1, 2, 3, 4, 5}
    counts = Counter(p["c"] for p in params)
    assert all(abs(n / 1000 - 0.25) < 0.05 for n in counts.values()) and len(counts) == 4


# -- QMC (scrambled Sobol) --------------------------------------------------------------------------


def _qmc_points(seed: int, n: int, dims: int = 2) -> np.ndarray:
    names = "xyzw"[:dims]

    def objective(trial: tunesmith.Trial) -> float:
        return sum(trial.suggest_float(name, 0.0, 1.0) for name in names)

    study = tunesmith.create_study(sampler=QMCSampler(seed=seed))
    study.optimize(objective, n_trials=n)
    return np.array([[t.params[name] for name in names] for t in study.trials])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sobol_puts_one_point_in_each_bin(seed: int) -> None:
    x = _qmc_points(seed, 32)[:, 0]
    for k in range(1, 6):
        n = 2**k
        assert sorted((x[:n] * n).astype(int)) == list(range(n)), f"first {n} points"
    assert np.all((x >= 0) & (x < 1))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sobol_stratifies_two_parameters_jointly(seed: int) -> None:
    """The first 2^m points of 2-D Sobol are a (0, m, 2)-net: one point per elementary box."""
    pts = _qmc_points(seed, 32)
    for m in (4, 5):
        n = 2**m
        for a in range(m + 1):
            b = m - a
            cells = set(zip((pts[:n, 0] * 2**a).astype(int), (pts[:n, 1] * 2**b).astype(int), strict=True))
            assert len(cells) == n, f"{n} points, {2**a}x{2**b} boxes"


def test_sobol_trial_numbers_never_collide() -> None:
    pts = _qmc_points(0, 64, dims=3)
    for d in range(3):
        assert len(set(pts[:, d])) == 64
    assert len({tuple(p) for p in pts}) == 64


def test_sobol_stratifies_ints_and_dict_configs() -> None:
    study = tunesmith.create_study(sampler=QMCSampler(seed=5))
    study.optimize(lambda t: t.suggest_int("k", 0, 15), n_trials=16)
    assert sorted(t.params["k"] for t in study.trials) == list(range(16))

    study = tunesmith.create_study(sampler=QMCSampler(seed=5))
    study.set_space({"a": tunesmith.uniform(0, 1), "b": tunesmith.uniform(0, 1)})
    study.optimize(lambda t: 0.0, n_trials=16)
    cells = {(int(t.params["a"] * 4), int(t.params["b"] * 4)) for t in study.trials}
    assert len(cells) == 16


def test_unseeded_qmc_copies_share_one_sequence() -> None:
    sampler = QMCSampler()
    copy = pickle.loads(pickle.dumps(sampler))
    a = tunesmith.create_study(sampler=sampler)
    b = tunesmith.create_study(sampler=copy)
    for study in (a, b):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=8)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


def test_sobol_with_two_workers_is_still_stratified(tmp_path: Path) -> None:
    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path}/q.db", sampler=QMCSampler(seed=2))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=16, n_workers=2)
    assert len(study.trials) == 16
    assert sorted(int(t.params["x"] * 16) for t in study.trials) == list(range(16))
    serial = tunesmith.create_study(sampler=QMCSampler(seed=2))
    serial.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=16)
    assert [t.params for t in study.trials] == [t.params for t in serial.trials]


# -- grid -------------------------------------------------------------------------------------------


def _grid_objective(trial: tunesmith.Trial) -> float:
    x = trial.suggest_categorical("x", [1, 2, 3])
    y = trial.suggest_categorical("y", ["a", "b"])
    return x + len(y)


ALL_XY = [(1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a"), (3, "b")]
ALL_XY_GRID = list(itertools.product([1, 2, 3], ["x", "y"]))


def test_grid_sampler_covers_every_combination_once_and_stops() -> None:
    study = tunesmith.create_study(sampler=GridSampler({"x": [1, 2, 3], "y": ["a", "b"]}))
    study.optimize(_grid_objective)  # n_trials=None: the grid's size
    assert [(t.params["x"], t.params["y"]) for t in study.trials] == ALL_XY


def test_grid_sampler_rejects_an_empty_axis() -> None:
    with pytest.raises(ValueError, match="'y'"):
        GridSampler({"x": [1], "y": []})


def test_grid_sampler_on_a_dict_config_uses_its_finite_axes() -> None:
    study = tunesmith.create_study(sampler=GridSampler(seed=0))
    study.set_space({"a": tunesmith.choice([1, 2]), "b": tunesmith.grid_search(["x", "y", "z"]),
                     "c": tunesmith.uniform(0, 1)})
    study.optimize(lambda t: t.params["c"])
    assert sorted((t.params["a"], t.params["b"]) for t in study.trials) == sorted(
        itertools.product([1, 2], ["x", "y", "z"])
    )
    assert len({t.params["c"] for t in study.trials}) == 6


@pytest.mark.parametrize("make_sampler", [RandomSampler, QMCSampler], ids=["random", "qmc"])
def test_grid_search_axes_are_enumerated_in_trial_order(make_sampler: Callable[[int], Sampler]) -> None:
    """Ray's semantics: trial k takes grid point k mod the grid size; other parameters vary."""
    study = tunesmith.create_study(sampler=make_sampler(0))
    study.set_space({"a": tunesmith.grid_search([1, 2, 3]), "b": tunesmith.grid_search(["x", "y"]),
                     "c": tunesmith.uniform(0, 1)})
    study.optimize(lambda t: t.params["c"], n_trials=14)
    points = [(t.params["a"], t.params["b"]) for t in study.trials]
    grid = list(itertools.product([1, 2, 3], ["x", "y"]))
    assert points == [grid[k % 6] for k in range(14)]
    assert len({t.params["c"] for t in study.trials}) == 14


def test_grid_point_order_and_wraparound() -> None:
    axes = {"a": tunesmith.grid_search([1, 2]), "b": tunesmith.grid_search(["x", "y", "z"])}
    assert [grid_point(axes, k) for k in (0, 1, 3, 5, 6)] == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "z"}, {"a": 1, "b": "x"},
    ]


def test_enqueued_trials_do_not_consume_grid_points() -> None:
    study = tunesmith.create_study(sampler=RandomSampler(seed=0))
    study.set_space({"a": tunesmith.grid_search([1, 2, 3]), "b": tunesmith.grid_search(["x", "y"]),
                     "c": tunesmith.uniform(0, 1)})
    study.enqueue({"a": 3, "b": "y", "c": 0.5})
    study.enqueue({"a": 3, "b": "y", "c": 0.25})
    for _ in range(4):  # the two enqueued trials, then two of the sampler's
        t = study.ask()
        study.tell(t, 0.0)
    assert study.enqueue({"a": 1, "b": "x", "c": 0.75}) == 4
    study.optimize(lambda t: 0.0, n_trials=5)
    trials = study.trials
    enqueued = [t for t in trials if "fixed_params" in t.system_attrs]
    assert [t.number for t in enqueued] == [0, 1, 4]
    assert [(t.params["a"], t.params["b"]) for t in enqueued] == [(3, "y"), (3, "y"), (1, "x")]
    assert [t.params["c"] for t in enqueued] == [0.5, 0.25, 0.75]
    made = [(t.params["a"], t.params["b"]) for t in trials if "fixed_params" not in t.system_attrs]
    assert made == ALL_XY_GRID


def test_enqueued_trials_do_not_consume_grid_sampler_points() -> None:
    study = tunesmith.create_study(sampler=GridSampler({"x": [1, 2, 3], "y": ["a", "b"]}))
    study.enqueue({"x": 1, "y": "a"})
    study.optimize(_grid_objective, n_trials=3)
    study.enqueue({"x": 2, "y": "b"})
    study.optimize(_grid_objective, n_trials=5)
    trials = study.trials
    assert [(t.params["x"], t.params["y"]) for t in trials if "fixed_params" in t.system_attrs] == [(1, "a"), (2, "b")]
    assert [(t.params["x"], t.params["y"]) for t in trials if "fixed_params" not in t.system_attrs] == ALL_XY


def test_grid_with_an_enqueued_trial_and_no_budget_still_runs_every_point() -> None:
    study = tunesmith.create_study(sampler=GridSampler({"x": [1, 2, 3], "y": ["a", "b"]}))
    study.enqueue({"x": 1, "y": "a"})
    study.optimize(_grid_objective)
    made = [(t.params["x"], t.params["y"]) for t in study.trials if "fixed_params" not in t.system_attrs]
    assert made == ALL_XY


def test_grid_resumed_without_budget_runs_only_the_remaining_points() -> None:
    study = tunesmith.create_study(sampler=GridSampler({"x": [1, 2, 3], "y": ["a", "b"]}))
    study.optimize(_grid_objective, n_trials=4)
    study.optimize(_grid_objective)
    assert [(t.params["x"], t.params["y"]) for t in study.trials] == ALL_XY


def test_grid_with_two_worker_processes_runs_each_point_once(tmp_path: Path) -> None:
    axes: dict[str, list[Any]] = {"a": [0, 1, 2], "b": ["w", "x", "y", "z"]}

    def objective(trial: tunesmith.Trial) -> float:
        import time

        a = trial.suggest_categorical("a", [0, 1, 2])
        b = trial.suggest_categorical("b", ["w", "x", "y", "z"])
        time.sleep(0.02)
        return a + ord(b)

    study = tunesmith.create_study(storage=f"sqlite:///{tmp_path}/g.db", sampler=GridSampler(axes))
    study.optimize(objective, n_workers=2)  # n_trials=None: the grid's 12 points
    trials = study.trials
    assert len(trials) == 12
    assert all(t.state == TrialState.COMPLETE for t in trials)
    points = Counter((t.params["a"], t.params["b"]) for t in trials)
    assert set(points) == set(itertools.product(axes["a"], axes["b"]))
    assert set(points.values()) == {1}
