from __future__ import annotations

import os

import numpy as np
import pytest

import tunesmith
import tunesmith.tune
from tunesmith import TrialState
from tunesmith._process import identity


def train(config: dict) -> None:
    for step in range(3):
        tunesmith.report(loss=(config["x"] - 1) ** 2 + 1.0 / (step + 1), acc=config["opt"]["beta"])


CONFIG = {
    "x": tunesmith.uniform(0, 2),
    "opt": {"beta": tunesmith.choice([0.9, 0.99]), "name": "adam"},
    "k": tunesmith.grid_search([1, 2]),
    "width": tunesmith.sample_from(lambda spec: spec.config.k * 2 ** np.random.randint(2, 5)),
}


def test_run_reports_grid_and_best(sqlite_url: str) -> None:
    result = tunesmith.run(
        train, CONFIG, num_samples=3, metric="loss", mode="min", storage=sqlite_url, seed=0, verbose=0,
        max_concurrent_trials=1,
    )
    trials = result.trials
    assert len(trials) == 6  # num_samples x grid size
    assert sorted(t.config["k"] for t in trials) == [1, 1, 1, 2, 2, 2]
    assert all(t.config["opt"]["name"] == "adam" for t in trials)  # constants pass through
    assert all(t.config["width"] % t.config["k"] == 0 for t in trials)
    assert all(t.last_result["training_iteration"] == 3 for t in trials)
    best = result.get_best_trial("loss", "min", "last")
    assert best is not None
    assert best.last_result["loss"] == min(t.last_result["loss"] for t in trials)
    assert result.best_config == best.config
    assert result.best_result == best.last_result
    best_all = result.get_best_trial("loss", "min", scope="all")
    assert best_all is not None and best_all.number == best.number
    df = result.dataframe()
    assert {"loss", "config/x", "config/opt/beta", "training_iteration"} <= set(df.columns)


def test_run_seeded_reproduces_sample_from(tmp_path) -> None:
    def configs(name: str) -> list:
        r = tunesmith.run(train, CONFIG, num_samples=2, metric="loss", storage=str(tmp_path / f"{name}.db"),
                          seed=5, verbose=0, max_concurrent_trials=1)
        return [t.config for t in r.trials]

    assert configs("a") == configs("b")


def test_run_in_parallel_workers(sqlite_url: str) -> None:
    result = tunesmith.run(train, {"x": tunesmith.uniform(0, 2), "opt": {"beta": 0.5}}, num_samples=8,
                           metric="loss", mode="min", storage=sqlite_url, verbose=0,
                           resources_per_trial={"cpu": 1}, max_concurrent_trials=2)
    assert len(result.trials) == 8
    assert all(t.state == TrialState.COMPLETE for t in result.trials)


def test_run_without_metric_and_returning_dict(sqlite_url: str) -> None:
    result = tunesmith.run(lambda c: {"score": c["a"]}, {"a": tunesmith.randint(1, 3)}, num_samples=5,
                           storage=sqlite_url, verbose=0, max_concurrent_trials=1)
    assert all(t.state == TrialState.COMPLETE for t in result.trials)
    assert all(1 <= t.config["a"] <= 3 for t in result.trials)  # inclusive upper bound
    with pytest.raises(ValueError, match="metric"):
        result.get_best_trial()


def test_run_resume_and_name_clash(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    tunesmith.run(train, CONFIG, num_samples=1, metric="loss", storage=sqlite_url, name="exp", verbose=0,
                  max_concurrent_trials=1)
    # Ray Tune: the same name without resume starts a new run (the old one is kept), and says so.
    fresh = tunesmith.run(train, CONFIG, num_samples=1, metric="loss", storage=sqlite_url, name="exp",
                          max_concurrent_trials=1, progress_reporter=_Silent())
    assert fresh.study.name.startswith("exp_") and len(fresh.trials) == 2
    assert "'exp' exists" in capsys.readouterr().err
    again = tunesmith.run(train, CONFIG, num_samples=2, metric="loss", storage=sqlite_url, name="exp",
                          verbose=0, resume=True, max_concurrent_trials=1)
    assert len(again.trials) == 4  # two more to reach 2 x grid size
    auto = tunesmith.run(train, CONFIG, num_samples=2, metric="loss", storage=sqlite_url, name="exp",
                         verbose=0, resume="AUTO", max_concurrent_trials=1)
    assert auto.study.name == "exp" and len(auto.trials) == 4  # nothing left to run
    new = tunesmith.run(train, CONFIG, num_samples=1, metric="loss", storage=sqlite_url, name="other",
                        verbose=0, resume="AUTO", max_concurrent_trials=1)
    assert new.study.name == "other" and len(new.trials) == 2
    with pytest.raises(ValueError, match="ERRORED_ONLY"):
        tunesmith.run(train, CONFIG, storage=sqlite_url, name="exp", verbose=0, resume="ERRORED_ONLY")


class _Silent:
    """A reporter that prints nothing (verbose=1 without the progress table)."""

    def __getattr__(self, name: str):
        return lambda *a, **k: None


def test_resume_counts_finished_trials_and_reruns_the_others(sqlite_url: str) -> None:
    config = {"x": tunesmith.uniform(0, 2), "opt": {"beta": 0.5}}
    first = tunesmith.run(train, config, num_samples=2, metric="loss", storage=sqlite_url, name="exp", verbose=0,
                          max_concurrent_trials=1)
    storage, sid = first.study.storage, first.study.study_id
    # A trial whose process is gone (a pid above any kernel's limit), and one interrupted (back in the queue).
    host, _, _, space = identity().split("/")
    storage.start_trial(sid, owner=f"{host}/{2**22 + 1}/1/{space}")
    interrupted = storage.start_trial(sid, owner=identity())
    storage.recover_trials(sid, trial_ids=[interrupted.trial_id], max_retries=1)
    again = tunesmith.run(train, config, num_samples=4, metric="loss", storage=sqlite_url, name="exp", verbose=0,
                          max_concurrent_trials=1, resume=True)
    assert [t.state for t in again.trials] == [TrialState.COMPLETE] * 4  # both ran again: 4 in all, none more
    assert [t.frozen.system_attrs.get("retries", 0) for t in again.trials] == [0, 0, 1, 1]


def test_run_validates_arguments(sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="'tpu'"):
        tunesmith.run(train, CONFIG, resources_per_trial={"tpu": 1}, storage=sqlite_url, verbose=0)
    with pytest.raises(ValueError, match="mode"):
        tunesmith.run(train, CONFIG, metric="loss", mode="best", storage=sqlite_url, verbose=0)
    with pytest.raises(ValueError, match="low=2 must not exceed high=1"):  # raised by uniform() itself
        tunesmith.run(train, {"x": tunesmith.uniform(2, 1)}, storage=sqlite_url, verbose=0)
    with pytest.raises(RuntimeError, match="outside a trial"):
        tunesmith.report(loss=1.0)


def test_failed_trials_and_raise_on_failed_trial(sqlite_url: str) -> None:
    def bad(config: dict) -> None:
        raise ValueError("bad config")

    # Ray's default: a run whose trials failed raises TuneError naming them.
    with pytest.raises(tunesmith.tune.TuneError, match=r"Trials did not complete: \[trial_0, trial_1\]"):
        tunesmith.run(bad, {"a": tunesmith.uniform(0, 1)}, num_samples=2, storage=sqlite_url, verbose=0,
                      max_concurrent_trials=1)
    kept = tunesmith.run(bad, {"a": tunesmith.uniform(0, 1)}, num_samples=2, storage=sqlite_url, verbose=0,
                         max_concurrent_trials=1, raise_on_failed_trial=False)
    assert [t.state for t in kept.trials] == [TrialState.FAILED] * 2 and "bad config" in kept.errors[0].error


def test_fail_fast_stops_at_the_first_failed_trial(sqlite_url: str) -> None:
    def bad(config: dict) -> None:
        raise KeyError("bad config")

    with pytest.raises(tunesmith.tune.TuneError, match=r"\[trial_0\]"):
        tunesmith.run(bad, {"a": tunesmith.uniform(0, 1)}, num_samples=5, storage=sqlite_url, verbose=0,
                      max_concurrent_trials=1, fail_fast=True, name="ff")
    assert len(tunesmith.load_study("ff", sqlite_url).trials) == 1
    with pytest.raises(KeyError, match="bad config"):  # the trainable's own exception
        tunesmith.run(bad, {"a": tunesmith.uniform(0, 1)}, num_samples=5, storage=sqlite_url, verbose=0,
                      max_concurrent_trials=1, fail_fast="raise", name="raise")
    assert len(tunesmith.load_study("raise", sqlite_url).trials) == 1
    with pytest.raises(ValueError, match="fail_fast"):
        tunesmith.run(bad, {}, storage=sqlite_url, verbose=0, fail_fast="yes")


def test_report_done_ends_the_trial_complete(sqlite_url: str) -> None:
    def train_until(config: dict) -> None:
        for step in range(10):
            tunesmith.tune.report(loss=1.0 / (step + 1), done=step == 2)
        raise AssertionError("report(done=True) must end the trial")

    def top_level(config: dict) -> None:
        tunesmith.report(loss=0.5, done=True)
        raise AssertionError("not reached")

    result = tunesmith.run(train_until, {"x": 1}, num_samples=2, metric="loss", storage=sqlite_url, verbose=0,
                           max_concurrent_trials=1)
    assert [(t.state, t.last_result["training_iteration"]) for t in result.trials] == [(TrialState.COMPLETE, 3)] * 2
    assert "done" not in result.trials[0].last_result
    other = tunesmith.run(top_level, {}, metric="loss", verbose=0)
    assert other.trials[0].state == TrialState.COMPLETE and other.best_result["loss"] == 0.5


def test_no_storage_keeps_nothing_behind(tmp_path) -> None:
    def saving(config: dict) -> None:
        with tunesmith.checkpoint_dir(step=1) as d:
            open(os.path.join(d, "w"), "w").write("x")
        tunesmith.report(loss=config["x"])

    result = tunesmith.run(saving, {"x": tunesmith.uniform(0, 1)}, num_samples=4, metric="loss", verbose=0,
                           max_concurrent_trials=2)
    assert len(result.trials) == 4 and result.best_trial is not None  # two workers shared the study
    assert result.best_checkpoint is not None and os.path.isdir(result.best_checkpoint.path)
    assert os.listdir(tmp_path) == []  # nothing in the working directory
    with pytest.raises(ValueError, match="resume=True needs the storage"):
        tunesmith.run(train, {"x": 1.0}, name=result.study.name, resume=True, verbose=0)
