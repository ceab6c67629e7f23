"""Grid searches run every combination exactly once (times num_samples), whatever the entry point."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.history import History
from tunesmith.samplers import GridSampler, Sampler, _base
from tunesmith.samplers._base import next_grid_point
from tunesmith.trial import FrozenTrial


def _train(config: dict[str, Any]) -> None:
    tunesmith.report(loss=1.0)


def _product(axes: dict[str, list[Any]], repeats: int = 1) -> Counter[tuple[Any, ...]]:
    return Counter({point: repeats for point in itertools.product(*axes.values())})


def _tried(trials: list[Any], names: list[str]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(t.config[n] for n in names) for t in trials)


# -- tunesmith.run ----------------------------------------------------------------------------------


@pytest.mark.parametrize("num_samples", [1, 2])
@pytest.mark.parametrize(
    "config",
    [
        {"a": tunesmith.grid_search([1, 2, 3]), "b": tunesmith.choice(["u", "v"])},
        {"a": tunesmith.choice([1, 2, 3]), "b": tunesmith.choice(["u", "v"])},
    ],
    ids=["grid_search-and-choice", "two-choices"],
)
def test_run_with_grid_sampler_tries_the_whole_product(
    tmp_path: Path, config: dict[str, Any], num_samples: int,
) -> None:
    result = tunesmith.run(
        _train, {**config, "lr": tunesmith.uniform(0, 1), "epochs": 3}, num_samples=num_samples,
        search_alg=GridSampler(seed=0), storage=f"sqlite:///{tmp_path}/g.db", verbose=0, max_concurrent_trials=2,
    )
    assert all(t.state == TrialState.COMPLETE for t in result.trials)
    assert _tried(result.trials, ["a", "b"]) == _product({"a": [1, 2, 3], "b": ["u", "v"]}, num_samples)
    assert len({t.config["lr"] for t in result.trials}) == 6 * num_samples  # the continuous one is drawn


def test_run_with_grid_search_axes_and_the_default_sampler(tmp_path: Path) -> None:
    """Ray's semantics: the grid_search axes are crossed, num_samples times; the rest is sampled."""
    config = {"a": tunesmith.grid_search([1, 2, 3]), "m": {"b": tunesmith.grid_search(["x", "y"])},
              "c": tunesmith.choice(["p", "q", "r"]), "lr": tunesmith.uniform(0, 1)}
    result = tunesmith.run(_train, config, num_samples=2, seed=0, storage=str(tmp_path / "d.db"), verbose=0)
    assert Counter((t.config["a"], t.config["m"]["b"]) for t in result.trials) == _product(
        {"a": [1, 2, 3], "b": ["x", "y"]}, 2)
    assert len({t.config["lr"] for t in result.trials}) == 12


def test_run_with_grid_sampler_resumed_runs_the_rest_once(tmp_path: Path) -> None:
    axes: dict[str, list[Any]] = {"a": [1, 2, 3], "b": ["u", "v"], "c": [True, False]}
    config = {"a": tunesmith.choice(axes["a"]), "b": tunesmith.grid_search(axes["b"]), "c": tunesmith.choice(axes["c"])}
    db = f"sqlite:///{tmp_path}/r.db"

    def stop_after_three(study: tunesmith.Study, trial: FrozenTrial) -> None:
        if len(study.get_trials(states=[TrialState.COMPLETE])) >= 3:
            study.stop()

    first = tunesmith.run(_train, config, name="g", search_alg=GridSampler(), storage=db, verbose=0,
                          callbacks=[stop_after_three], max_concurrent_trials=1)
    assert 3 <= len(first.trials) < 12
    result = tunesmith.run(_train, config, name="g", storage=db, verbose=0, resume=True, max_concurrent_trials=2)
    assert _tried(result.trials, ["a", "b", "c"]) == _product(axes)


# -- Study.optimize ---------------------------------------------------------------------------------


def test_grid_sampler_on_a_dict_space_crosses_the_config_grid_search_axes_with_its_lists() -> None:
    study = tunesmith.create_study(sampler=GridSampler({"x": [1, 2]}, seed=0))
    study.set_space({"x": tunesmith.choice([1, 2]), "g": tunesmith.grid_search(["u", "v", "w"]),
                     "c": tunesmith.uniform(0, 1)})
    study.optimize(lambda t: t.params["c"])  # n_trials=None: the grid's size
    assert Counter((t.params["x"], t.params["g"]) for t in study.trials) == _product(
        {"x": [1, 2], "g": ["u", "v", "w"]})


@pytest.mark.parametrize("seed", range(5))
def test_define_by_run_grid_without_search_space_covers_the_product(seed: int) -> None:
    """The first trial draws its values before the grid is known; the later ones fill the rest."""

    def objective(trial: tunesmith.Trial) -> float:
        trial.suggest_categorical("y", ["a", "b"])
        trial.suggest_categorical("x", [1, 2, 3])
        return trial.suggest_float("z", 0, 1)

    study = tunesmith.create_study(sampler=GridSampler(seed=seed))
    study.optimize(objective, n_trials=12)
    assert Counter((t.params["x"], t.params["y"]) for t in study.trials) == _product(
        {"x": [1, 2, 3], "y": ["a", "b"]}, 2)


def test_define_by_run_grid_reopened_from_storage_runs_each_point_once(tmp_path: Path) -> None:
    """A study reopened from SQLite lists its parameters in another order than first asked."""

    def objective(trial: tunesmith.Trial) -> float:
        return len(trial.suggest_categorical("y", ["a", "b", "c"])) + trial.suggest_categorical("x", [1, 2])

    db = f"sqlite:///{tmp_path}/s.db"
    tunesmith.create_study("s", db, sampler=GridSampler(seed=1)).optimize(objective, n_trials=3)
    reopened = tunesmith.load_study("s", db)
    reopened.optimize(objective)  # n_trials=None: the rest of the grid
    assert Counter((t.params["x"], t.params["y"]) for t in reopened.trials) == _product(
        {"x": [1, 2], "y": ["a", "b", "c"]})


def test_grid_continues_after_trials_of_another_sampler() -> None:
    """Points other trials already took are not run again; the grid fills in the rest."""

    def objective(trial: tunesmith.Trial) -> float:
        return trial.suggest_categorical("x", [1, 2, 3, 4]) + trial.suggest_categorical("y", [0, 10])

    study = tunesmith.create_study(sampler=GridSampler({"x": [4, 2], "y": [10]}))
    study.optimize(objective)
    assert [(t.params["x"], t.params["y"]) for t in study.trials] == [(4, 10), (2, 10)]
    study.sampler = GridSampler()
    study.optimize(objective)
    assert Counter((t.params["x"], t.params["y"]) for t in study.trials) == _product({"x": [1, 2, 3, 4], "y": [0, 10]})


def test_grid_size_is_the_product_of_the_axes_the_sampler_enumerates() -> None:
    space = tunesmith.SearchSpace({"a": tunesmith.grid_search([1, 2, 3]), "b": tunesmith.choice(["u", "v"]),
                                   "c": tunesmith.uniform(0, 1)}).distributions
    assert Sampler().grid_size(space) == 3 and Sampler().max_trials(space) is None
    assert GridSampler().grid_size(space) == GridSampler().max_trials(space) == 6
    assert GridSampler({"d": [1, 2]}).grid_size(space) == 6  # its list, crossed with the grid_search axis
    assert Sampler().grid_size({"c": space["c"]}) == 1
    assert GridSampler().max_trials({"c": space["c"]}) is None


# -- next_grid_point --------------------------------------------------------------------------------


def _history(*points: tuple[int, dict[str, Any]], enqueued: tuple[int, ...] = ()) -> History:
    trials = [
        FrozenTrial(n, TrialState.COMPLETE if p else TrialState.RUNNING, internal_params=p,
                    system_attrs={"fixed_params": {}} if n in enqueued else {})
        for n, p in points
    ]
    history = History(lambda v: (trials, 1))
    return history


AXES = {"a": tunesmith.grid_search([1, 2]), "b": tunesmith.grid_search(["x", "y", "z"])}


def test_next_grid_point_is_point_k_when_every_trial_followed_the_rule() -> None:
    """Stored or still running, trials 0..k-1 took points 0..k-1: trial k takes point k (mod 6)."""
    grid: list[dict[str, Any]] = [{"a": a, "b": b} for a, b in itertools.product([1, 2], ["x", "y", "z"])]
    stored = [(n, {"a": [1, 2].index(p["a"]), "b": ["x", "y", "z"].index(p["b"])}) for n, p in
              enumerate(grid * 2)]
    for k in range(12):
        for running in ([], [0], [k - 1], list(range(k))):
            history = _history(*[(n, {} if n in running else p) for n, p in stored[:k]])
            assert next_grid_point(AXES, AXES, history, k) == grid[k % 6], (k, running)


def test_next_grid_point_fills_the_gaps_lowest_round_first() -> None:
    taken = _history((0, {"a": 1, "b": 2}), (1, {"a": 1, "b": 2}), (2, {"a": 0, "b": 0}))
    # Point (2, "z") twice, (1, "x") once: the open points of round 0, in order, then round 1.
    assert [next_grid_point(AXES, AXES, taken, 3 + 0)] == [{"a": 1, "b": "y"}]
    running = _history((0, {"a": 1, "b": 2}), (1, {"a": 1, "b": 2}), (2, {"a": 0, "b": 0}), (3, {}), (4, {}))
    assert next_grid_point(AXES, AXES, running, 5) == {"a": 2, "b": "x"}  # after (1,y) and (1,z)
    assert next_grid_point(AXES, AXES, running, 3) == {"a": 1, "b": "y"}  # a retried trial 3 keeps its point


def test_next_grid_point_ignores_enqueued_trials_and_later_numbers() -> None:
    history = _history((0, {"a": 0, "b": 0}), (1, {"a": 0, "b": 1}), (2, {"a": 1, "b": 1}), enqueued=(0,))
    assert next_grid_point(AXES, AXES, history, 1) == {"a": 1, "b": "x"}
    assert next_grid_point(AXES, AXES, history, 2) == {"a": 1, "b": "x"}  # trial 1 took (1, y)


def test_each_trial_is_decoded_once_per_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A suggestion reads only the trials that changed: a long grid costs O(n) decodings, not O(n^2)."""
    calls: list[tuple[Any, ...]] = []
    decode = _base._stored_index

    def counting(*args: Any) -> int | None:
        calls.append(args)
        return decode(*args)

    monkeypatch.setattr(_base, "_stored_index", counting)
    study = tunesmith.create_study(sampler=GridSampler())
    study.set_space({"a": tunesmith.choice(list(range(8))), "b": tunesmith.grid_search(list(range(10)))})
    study.optimize(lambda t: 0.0)
    assert len(study.trials) == 80
    assert len(calls) <= 3 * 80  # new, then with its parameters, then finished
