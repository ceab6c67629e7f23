"""Lost workers, crashes, time and memory limits, a killed driver: no trial lost or stuck."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tunesmith
from tunesmith import FrozenTrial, TrialState
from tunesmith._process import is_gone
from tunesmith.exceptions import StorageError
from tunesmith.storage.sql import SQLStorage


def killed_once(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    trial.report(0, loss=x)  # the parameters and a report are stored before the crash
    if trial.number == 2 and trial.retries == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def test_killed_worker_trial_is_retried_with_same_params(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(killed_once, n_trials=6, n_workers=2, max_retries=1)
    trials = study.trials
    assert [t.number for t in trials] == list(range(6))  # the retry used no extra number nor budget
    assert all(t.state == TrialState.COMPLETE for t in trials)
    retried = trials[2]
    assert retried.system_attrs["retries"] == 1
    reports = study.storage.get_reports(study.study_id, retried.trial_id)
    assert [m["loss"] for _, m in reports] == [retried.params["x"]] * 2  # same params both times


def test_killed_worker_trial_fails_without_retries(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(killed_once, n_trials=5, n_workers=2)
    failed = study.get_trials(states=[TrialState.FAILED])
    assert [t.number for t in failed] == [2]
    assert "SIGKILL" in (failed[0].error or "")
    assert len(study.get_trials(states=[TrialState.COMPLETE])) == 4


def segfault_on_one(trial: tunesmith.Trial) -> float:
    if trial.number == 1:
        ctypes.string_at(0)  # a crash in native code
    return trial.suggest_float("x", 0, 1)


def test_segfault_fails_only_that_trial(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(segfault_on_one, n_trials=5, n_workers=2)
    states = {t.number: t.state for t in study.trials}
    assert states == {0: TrialState.COMPLETE, 1: TrialState.FAILED, 2: TrialState.COMPLETE,
                      3: TrialState.COMPLETE, 4: TrialState.COMPLETE}
    assert "SIGSEGV" in (study.trials[1].error or "")


def hang_on_one(trial: tunesmith.Trial) -> float:
    if trial.number == 1:
        time.sleep(120)
    return trial.suggest_float("x", 0, 1)


def test_time_limit_stops_a_hanging_trial(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    start = time.time()
    study.optimize(hang_on_one, n_trials=4, trial_timeout=2.0)  # one worker: still a separate process
    assert time.time() - start < 30
    failed = study.get_trials(states=[TrialState.FAILED])
    assert [t.number for t in failed] == [1], [(t.number, t.error) for t in study.trials]
    assert "time limit of 2 s" in (failed[0].error or "")
    assert len(study.get_trials(states=[TrialState.COMPLETE])) == 3


def hog_memory_on_one(trial: tunesmith.Trial) -> float:
    if trial.number == 1:
        blob = bytearray(3 * 1024**3)  # 3 GiB, over the limit
        del blob
    return trial.suggest_float("x", 0, 1)


def test_memory_limit_fails_only_the_hungry_trial(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(hog_memory_on_one, n_trials=4, memory_limit=2 * 1024**3)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAILED, TrialState.COMPLETE, TrialState.COMPLETE]
    assert "MemoryError" in (study.trials[1].error or "")


def slow_objective(trial: tunesmith.Trial) -> float:
    time.sleep(0.05)
    return trial.suggest_float("x", 0, 1)


@pytest.mark.parametrize(("max_retries", "final"), [(0, TrialState.FAILED), (1, TrialState.COMPLETE)])
def test_trial_without_heartbeat_is_taken_back(sqlite_url: str, max_retries: int, final: TrialState) -> None:
    study = tunesmith.create_study(storage=sqlite_url, seed=0)
    # A worker elsewhere started a trial and then vanished: no heartbeat will come.
    lost = study.ask()
    lost.suggest_float("x", 0, 1)
    lost.report(0, value=0.5)  # stores the parameter with the report
    study.optimize(slow_objective, n_trials=40, heartbeat_interval=0.2, heartbeat_grace=1.0,
                   max_retries=max_retries)
    again = study.trials[lost.number]
    assert again.state == final
    if final == TrialState.FAILED:
        assert "no heartbeat" in (again.error or "")
    else:
        assert again.system_attrs["retries"] == 1 and again.params == lost.params
    assert TrialState.RUNNING not in {t.state for t in study.trials}


def test_heartbeat_keeps_long_trials_alive(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)

    def long_trial(trial: tunesmith.Trial) -> float:
        time.sleep(2.5)  # longer than the grace period: only the heartbeat keeps it
        return trial.suggest_float("x", 0, 1)

    study.optimize(long_trial, n_trials=2, n_workers=2, heartbeat_interval=0.2, heartbeat_grace=1.0)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2


@pytest.mark.slow
def test_killed_driver_resumes_without_losing_completed_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time, tunesmith
        def train(config):
            time.sleep(0.15)
            tunesmith.report(loss=(config["x"] - 0.5) ** 2)
        tunesmith.run(train, {{"x": tunesmith.uniform(0, 1), "k": tunesmith.grid_search([1, 2, 3, 4])}},
                      num_samples=10, metric="loss", mode="min", storage={url!r}, name="resumable",
                      search_alg=tunesmith.samplers.RandomSampler(seed=3), verbose=0, max_concurrent_trials=2,
                          resume=sys.argv[1] == "resume")
    """))
    proc = subprocess.Popen([sys.executable, str(script), "fresh"])
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.3)
        try:
            done = tunesmith.load_study("resumable", url).count()[TrialState.COMPLETE]
        except Exception:
            continue
        if done >= 8:
            break
    proc.send_signal(signal.SIGKILL)  # kill -9 the driver; its workers finish their trial and leave
    proc.wait()
    before = {t.number: t.params for t in tunesmith.load_study("resumable", url).trials
              if t.state == TrialState.COMPLETE}
    assert 8 <= len(before) < 40
    subprocess.run([sys.executable, str(script), "resume"], check=True, timeout=300)
    trials = tunesmith.load_study("resumable", url).trials
    assert len(trials) == 40 and sorted(t.number for t in trials) == list(range(40))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert all(trials[n].params == p for n, p in before.items())  # completed trials kept as they were
    # The grid went on where it stopped: each k exactly 10 times.
    assert sorted(t.params["k"] for t in trials) == sorted([1, 2, 3, 4] * 10)
    # And the seeded sampler went on as if never interrupted.
    fresh = tunesmith.run(lambda c: tunesmith.report(loss=0.0), {"x": tunesmith.uniform(0, 1),
                          "k": tunesmith.grid_search([1, 2, 3, 4])}, num_samples=10, metric="loss",
                          storage=str(tmp_path / "ref.db"), search_alg=tunesmith.samplers.RandomSampler(seed=3),
                          verbose=0, max_concurrent_trials=1)
    assert [t.config["x"] for t in fresh.trials] == [t.params["x"] for t in trials]


class FlakyStorage(SQLStorage):
    """A real SQLite storage whose next ``failures`` finish_trial calls fail (an injected fault)."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures

    def finish_trial(self, *args: Any, **kwargs: Any) -> FrozenTrial:
        if self.failures > 0:
            self.failures -= 1
            raise StorageError("writing trial failed on the test database: the server went away")
        return super().finish_trial(*args, **kwargs)


@pytest.mark.parametrize("failures", [1, 2])
def test_failed_write_fails_only_that_trial(sqlite_url: str, failures: int) -> None:
    # failures=1: the outcome is not written, its FAILED record is; 2: neither is, the loop records it at the end.
    storage = FlakyStorage(sqlite_url, failures)
    study = tunesmith.create_study(storage=storage)
    study.optimize(slow_objective, n_trials=5)
    trials = study.trials
    assert len(trials) == 5
    assert [t.state for t in trials] == [TrialState.FAILED] + [TrialState.COMPLETE] * 4
    assert ("the server went away" if failures == 1 else "could not be written") in (trials[0].error or "")


CRASH_SCRIPT = """
import time, tunesmith

def train(config):
    time.sleep(0.4)
    tunesmith.report(loss=config["x"])

tunesmith.run(train, {{"x": tunesmith.uniform(0, 1), "k": tunesmith.grid_search([1, 2])}}, num_samples=5,
              metric="loss", storage={url!r}, name="crashed", search_alg=tunesmith.samplers.RandomSampler(seed=0),
              verbose=0, max_concurrent_trials=2)
"""


def fast_train(config: dict[str, Any]) -> None:
    tunesmith.report(loss=config["x"])


def _wait_for(url: str, name: str, done: Callable[[dict[TrialState, int]], bool], timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.1)
        try:
            if done(tunesmith.load_study(name, url).count()):
                return
        except Exception:
            continue  # not created yet
    raise AssertionError(f"study {name!r} never got there")


def test_resume_after_kill_9_runs_the_lost_trials_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT.format(url=url))
    proc = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    try:
        _wait_for(url, "crashed", lambda c: c[TrialState.COMPLETE] >= 2 and c[TrialState.RUNNING] >= 1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the driver and its workers, mid-trial
        proc.wait()
    running = [t for t in tunesmith.load_study("crashed", url).trials if t.state == TrialState.RUNNING]
    assert running
    lost = {t.number: t.params for t in running}
    deadline = time.time() + 30
    while not all(is_gone(t.owner) for t in running) and time.time() < deadline:
        time.sleep(0.05)  # the killed workers, children of the killed driver, are reaped by init
    # Within the heartbeat grace: only the owner check can tell those trials are orphaned.
    tunesmith.run(fast_train, {"x": tunesmith.uniform(0, 1), "k": tunesmith.grid_search([1, 2])}, num_samples=5,
                  metric="loss", storage=url, name="crashed", resume=True, verbose=0, max_concurrent_trials=2,
                  search_alg=tunesmith.samplers.RandomSampler(seed=0))
    trials = tunesmith.load_study("crashed", url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 10  # exactly num_samples x grid, none RUNNING
    assert sorted(t.params["k"] for t in trials) == [1] * 5 + [2] * 5  # the lost grid points ran
    for number, params in lost.items():
        assert trials[number].params == params and trials[number].system_attrs["retries"] == 1


SEGFAULT_SCRIPT = """
import ctypes, sys, tunesmith

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    trial.report(0, loss=x)  # stores the parameters
    if trial.number == 2:
        ctypes.string_at(0)  # a crash in native code takes the whole (serial) run with it
    return x

def train(config):
    objective(tunesmith.execution.current_trial())

if sys.argv[1] == "optimize":
    tunesmith.create_study(name="segv", storage={url!r}).optimize(objective, n_trials=5)
else:
    tunesmith.run(train, {{}}, num_samples=5, storage={url!r}, name="segv", verbose=0, max_concurrent_trials=1)
"""


@pytest.mark.parametrize("api", ["optimize", "run"])
def test_serial_run_killed_by_a_segfault_is_recovered_at_once(tmp_path: Path, api: str) -> None:
    url = f"sqlite:///{tmp_path / 'segv.db'}"
    script = tmp_path / "segv.py"
    script.write_text(SEGFAULT_SCRIPT.format(url=url))
    proc = subprocess.run([sys.executable, str(script), api], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGSEGV
    before = tunesmith.load_study("segv", url).trials
    assert [t.state for t in before] == [TrialState.COMPLETE] * 2 + [TrialState.RUNNING]
    if api == "optimize":
        study = tunesmith.load_study("segv", url)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)  # default grace: 60 s
    else:
        tunesmith.run(lambda c: {"done": 1}, {}, num_samples=5, storage=url, name="segv", resume=True, verbose=0,
                      max_concurrent_trials=1)
    trials = tunesmith.load_study("segv", url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5
    assert trials[2].system_attrs["retries"] == 1 and trials[2].params == before[2].params


def stall_the_last(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 3 and trial.retries == 0:
        os.kill(os.getpid(), signal.SIGSTOP)  # a stalled worker: no heartbeat, no outcome
    return x


@pytest.mark.timeout(90)
def test_trial_requeued_at_the_end_of_the_budget_runs_before_optimize_returns(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(stall_the_last, n_trials=4, n_workers=2, max_retries=1, heartbeat_interval=0.2,
                   heartbeat_grace=1.0)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert trials[3].system_attrs["retries"] == 1


def taken_back_while_it_runs(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 3 and trial.retries == 0:
        # Another worker's heartbeat decides this one is lost and re-queues its trial.
        trial.study.storage.recover_trials(trial.study.study_id, trial_ids=[trial.trial_id], max_retries=1)
    return x


def test_serial_trial_requeued_at_the_end_of_the_budget_runs_before_optimize_returns(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(taken_back_while_it_runs, n_trials=4)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert trials[3].system_attrs["retries"] == 1
