"""The Ray executor on a real local Ray runtime (and a simulated multi-node cluster in test_ray_cluster.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tunesmith
from tunesmith import TrialState

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_runtime() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def quadratic(trial: tunesmith.Trial) -> float:
    return (trial.suggest_float("x", -3, 3) - 1) ** 2


def test_in_memory_study_served_by_an_actor_and_copied_back() -> None:
    # Random search: its suggestion for a trial number does not depend on what ran before.
    study = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=5))
    study.optimize(quadratic, n_trials=30, executor="ray")
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(30))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    serial = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=5))
    serial.optimize(quadratic, n_trials=30)
    assert [t.params for t in trials] == [t.params for t in serial.trials]  # seeded: same per trial number
    study.optimize(quadratic, n_trials=5)  # the study goes on locally after the Ray run
    assert len(study.trials) == 35


def test_sqlite_study_with_two_ray_workers_and_callbacks(sqlite_url: str) -> None:
    seen: list[int] = []
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(quadratic, n_trials=20, executor="ray", n_workers=2, callbacks=[lambda s, t: seen.append(t.number)])
    assert sorted(seen) == list(range(20))
    assert tunesmith.load_study(study.name, sqlite_url).count()[TrialState.COMPLETE] == 20


def raise_type_error(trial: tunesmith.Trial) -> float:
    trial.suggest_float("x", 0, 1)
    raise TypeError("not caught")


def test_uncaught_error_is_raised_in_the_driver() -> None:
    study = tunesmith.create_study()
    with pytest.raises(TypeError, match="not caught"):
        study.optimize(raise_type_error, n_trials=10, executor="ray", catch=(ValueError,))
    assert all(t.state == TrialState.FAILED for t in study.trials)


def test_failures_are_recorded_and_max_failures_stops() -> None:
    study = tunesmith.create_study()

    def sometimes(trial: tunesmith.Trial) -> float:
        if trial.number % 2:
            raise ValueError(f"odd {trial.number}")
        return 1.0

    study.optimize(sometimes, n_trials=6, executor="ray")
    assert sorted(t.number for t in study.get_trials(states=[TrialState.FAILED])) == [1, 3, 5]
    with pytest.raises(tunesmith.execution.MaxFailuresError):
        study.optimize(sometimes, n_trials=40, executor="ray", max_failures=3)


def test_run_with_ray_executor_and_resources(sqlite_url: str) -> None:
    def train(config: dict) -> None:
        import os

        for step in range(2):
            tunesmith.report(loss=(config["x"] - 1) ** 2 + step, threads=os.environ.get("OMP_NUM_THREADS"))

    result = tunesmith.run(train, {"x": tunesmith.uniform(0, 2), "k": tunesmith.grid_search([1, 2])},
                           num_samples=4, metric="loss", mode="min", storage=sqlite_url, verbose=0,
                           executor="ray", resources_per_trial={"cpu": 1})
    assert len(result.trials) == 8
    assert sorted(t.config["k"] for t in result.trials) == [1] * 4 + [2] * 4
    assert all(t.last_result["training_iteration"] == 2 for t in result.trials)
    assert all(t.last_result["threads"] == "1" for t in result.trials)  # Ray sets it from num_cpus
    with pytest.raises(ValueError, match="no GPU"):
        tunesmith.run(train, {"x": 1.0}, storage=sqlite_url, verbose=0, executor="ray",
                      resources_per_trial={"cpu": 1, "gpu": 1}, name="gpu")


def hang_on_odd(trial: tunesmith.Trial) -> float:
    import time

    x = trial.suggest_int("x", 0, 100)
    if trial.number % 2:
        time.sleep(600)
    return float(x)


def test_trial_timeout_fails_the_trial_and_the_others_go_on(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url, seed=0)
    study.optimize(hang_on_odd, n_trials=4, executor="ray", n_workers=2, trial_timeout=3)
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAILED] * 2
    assert all("time limit of 3 s" in (t.error or "") for t in trials if t.state == TrialState.FAILED)
