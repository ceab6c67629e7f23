"""Executor objects carry optimize's execution knobs; the old keywords fill their fields."""

from __future__ import annotations

import pickle

import pytest

import tunesmith
from tunesmith.execution import LocalExecutor, RayExecutor
from tunesmith.execution.executors import with_options


def test_an_executor_object_runs_the_study(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url, seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4, n_workers=2,
                   executor=LocalExecutor(max_retries=1, heartbeat_interval=1.0, heartbeat_grace=5.0))
    assert [t.state for t in study.trials] == [tunesmith.TrialState.COMPLETE] * 4


def test_keywords_fill_the_executors_fields() -> None:
    local = with_options("local", {"max_retries": 2, "trial_timeout": 5.0, "start_method": "spawn"})
    assert local == LocalExecutor(max_retries=2, trial_timeout=5.0, start_method="spawn")
    filled = with_options(LocalExecutor(max_retries=1), {"memory_limit": 10})
    assert filled == LocalExecutor(max_retries=1, memory_limit=10)
    ray = with_options("ray", {"ray_address": "auto", "max_retries": 1, "start_method": None})
    assert ray == RayExecutor(address="auto", max_retries=1)
    assert with_options(RayExecutor(address="x"), {}) == RayExecutor(address="x")


def test_a_keyword_the_executor_has_no_field_for_is_named() -> None:
    study = tunesmith.create_study()
    with pytest.raises(TypeError, match="bogus"):
        study.optimize(lambda t: 0.0, n_trials=1, bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="memory_limit"):
        study.optimize(lambda t: 0.0, n_trials=1, executor="ray", memory_limit=2**30)
    with pytest.raises(ValueError, match="ray_address is for executor='ray'"):
        study.optimize(lambda t: 0.0, n_trials=1, ray_address="auto")
    with pytest.raises(ValueError, match="executor must be"):
        study.optimize(lambda t: 0.0, n_trials=1, executor="dask")
    with pytest.raises(TypeError, match="executor must be"):
        study.optimize(lambda t: 0.0, n_trials=1, executor=object())  # type: ignore[arg-type]
    assert study.trials == []  # nothing ran


def test_bad_knobs_fail_before_anything_runs() -> None:
    study = tunesmith.create_study()
    with pytest.raises(ValueError, match=r"start method|start_method"):
        study.optimize(lambda t: 0.0, n_trials=1, executor=LocalExecutor(start_method="thread"))
    with pytest.raises(ValueError, match="max_retries"):
        study.optimize(lambda t: 0.0, n_trials=1, executor=LocalExecutor(max_retries=-1))
    assert study.trials == []


def test_executors_are_plain_picklable_values() -> None:
    ex = LocalExecutor(worker_env={"A": "1"}, resources_per_trial={"cpu": 1})
    assert pickle.loads(pickle.dumps(ex)) == ex


def test_optunas_n_jobs_names_n_workers() -> None:
    with pytest.raises(TypeError, match=r"n_workers=4"):
        tunesmith.create_study().optimize(lambda t: 0.0, n_trials=1, n_jobs=4)  # type: ignore[call-arg]
