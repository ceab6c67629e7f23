from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tunesmith
from tunesmith import TrialState


def trivial(trial: tunesmith.Trial) -> float:
    return trial.suggest_float("x", -1, 1) ** 2


@pytest.mark.slow
def test_two_workers_2000_trials_none_lost_or_duplicated(sqlite_url: str) -> None:
    study = tunesmith.create_study(name="many", storage=sqlite_url)
    study.optimize(trivial, n_trials=2000, n_workers=2)
    trials = tunesmith.load_study("many", sqlite_url).trials
    assert len(trials) == 2000
    assert sorted(t.number for t in trials) == list(range(2000))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert not any("locked" in (t.error or "") for t in trials)


def test_workers_share_the_budget_and_callbacks_see_every_trial(sqlite_url: str) -> None:
    seen: list[int] = []
    study = tunesmith.create_study(storage=sqlite_url, seed=0)
    study.optimize(trivial, n_trials=25, n_workers=2, callbacks=[lambda s, t: seen.append(t.number)])
    assert len(study.trials) == 25
    assert sorted(seen) == list(range(25))


def test_parallel_seeded_suggestions_match_serial(sqlite_url: str, tmp_path: Path) -> None:
    a = tunesmith.create_study(storage=sqlite_url, sampler=tunesmith.samplers.RandomSampler(seed=7))
    a.optimize(trivial, n_trials=20, n_workers=2)
    b = tunesmith.create_study(sampler=tunesmith.samplers.RandomSampler(seed=7))
    b.optimize(trivial, n_trials=20)
    # A history-free sampler's suggestions depend on (seed, trial number) only, not on the worker.
    assert [t.params for t in a.trials] == [t.params for t in b.trials]


def test_memory_storage_with_workers_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="sqlite"):
        tunesmith.create_study().optimize(trivial, n_trials=2, n_workers=2)


def crash_on_three(trial: tunesmith.Trial) -> float:
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 3:
        os._exit(7)  # the worker process dies mid-trial
    return x


def test_worker_death_fails_the_trial_and_study_goes_on(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    study.optimize(crash_on_three, n_trials=10, n_workers=2)
    trials = study.trials
    assert len(trials) == 10
    dead = [t for t in trials if t.state == TrialState.FAILED]
    assert [t.number for t in dead] == [3]
    assert "exit code 7" in (dead[0].error or "")
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 9


def raise_type_error(trial: tunesmith.Trial) -> float:
    trial.suggest_float("x", 0, 1)
    raise TypeError("not in catch")


def test_uncaught_exception_in_worker_is_raised_in_driver(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    with pytest.raises(TypeError, match="not in catch"):
        study.optimize(raise_type_error, n_trials=10, n_workers=2, catch=(ValueError,))
    assert all(t.state == TrialState.FAILED for t in study.trials)


def test_failures_in_workers_recorded_with_traceback(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)

    def sometimes(trial: tunesmith.Trial) -> float:  # a closure: travels by value
        if trial.number % 2:
            raise RuntimeError(f"odd trial {trial.number}")
        return 0.0

    study.optimize(sometimes, n_trials=10, n_workers=2)
    failed = study.get_trials(states=[TrialState.FAILED])
    assert sorted(t.number for t in failed) == [1, 3, 5, 7, 9]
    assert all("RuntimeError: odd trial" in (t.error or "") for t in failed)
    with pytest.raises(tunesmith.execution.MaxFailuresError):
        study.optimize(sometimes, n_trials=40, n_workers=2, max_failures=4)


def test_a_trial_takes_one_ticket_however_often_it_runs() -> None:
    from tunesmith.execution._driver import TicketOffice
    from tunesmith.execution._loop import LoopSettings

    office = TicketOffice(3, LoopSettings(), running={5: 0})  # trial 5 was under way when the call began
    assert [office.grant() for _ in range(4)] == [True, True, True, False]
    for trial_id in (7, 8, 9):
        office.started(0, trial_id)
    assert office.requeued(7)  # the driver re-queued trial 7: some worker must be able to run it
    assert not office.requeued(7, 1)  # seen waiting afterwards: given back once only
    assert office.grant() and not office.grant()
    office.started(1, 7)  # its retry runs on that ticket
    assert not office.grant()
    office.started(1, 9)  # re-queued by a heartbeat and started before the driver saw it: no second ticket
    assert office.grant() and not office.grant()
    assert office.requeued(5, 1)  # one that was under way elsewhere is run again too
    assert not office.requeued(8, 0)  # same retries count: resumed by a scheduler, not re-queued
    assert not office.requeued(4, 1)  # waiting before the call began: it takes a ticket like a new trial
    assert office.grant() and not office.grant()


WORKER_ERROR_SCRIPT = """
import tunesmith


def objective(trial):
    trial.suggest_float("x", 0, 1)
    raise TypeError("not in catch")


study = tunesmith.create_study(name="errors", storage={url!r})
study.optimize(objective, n_trials=6, n_workers=2, catch=(ValueError,), start_method={method!r})
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_error_in_a_worker_names_the_users_file_and_line(tmp_path: Path, method: str) -> None:
    script, url = tmp_path / "user_script.py", f"sqlite:///{tmp_path / 'e.db'}"
    script.write_text(WORKER_ERROR_SCRIPT.format(url=url, method=method))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    where = f'File "{script}", line 7, in objective'  # the raise, not "<dynamic-code>" nor the driver's re-raise
    assert where in proc.stderr, proc.stderr
    assert proc.stderr.rstrip().endswith("TypeError: not in catch")
    trials = tunesmith.load_study("errors", url).trials
    assert trials and all(t.state == TrialState.FAILED for t in trials)  # none left RUNNING
    assert all(where in (t.error or "") for t in trials)


RUN_ERROR_SCRIPT = """
import tunesmith


def train(config):
    raise ValueError(f"bad x: {{config['x']:.3f}}")


tunesmith.run(train, {{"x": tunesmith.uniform(0, 1)}}, num_samples=2, storage={url!r}, verbose=0,
              max_concurrent_trials=2, raise_on_failed_trial=True, start_method="spawn")
"""


def test_failed_trial_of_run_in_workers_names_the_users_line(tmp_path: Path) -> None:
    script = tmp_path / "train_script.py"
    script.write_text(RUN_ERROR_SCRIPT.format(url=f"sqlite:///{tmp_path / 'r.db'}"))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f'File "{script}", line 6, in train' in proc.stderr, proc.stderr
    assert "<dynamic-code>" not in proc.stderr


def test_remote_error_carries_the_workers_traceback(sqlite_url: str) -> None:
    study = tunesmith.create_study(storage=sqlite_url)
    with pytest.raises(TypeError, match="not in catch") as info:
        study.optimize(raise_type_error, n_trials=4, n_workers=2, catch=(ValueError,))
    cause = info.value.__cause__
    assert type(cause).__name__ == "RemoteTraceback"
    assert f'File "{__file__}"' in str(cause) and "in raise_type_error" in str(cause)


class FailingSampler(tunesmith.samplers.RandomSampler):
    """Raises while it suggests for trial 2 (an error outside the objective, after the trial started)."""

    def suggest(self, space, history, number, rng):  # type: ignore[no-untyped-def]
        if number == 2:
            raise RuntimeError("the sampler broke")
        return super().suggest(space, history, number, rng)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_error_while_asking_leaves_no_trial_running(sqlite_url: str, n_workers: int) -> None:
    study = tunesmith.create_study(storage=sqlite_url, sampler=FailingSampler(seed=0))
    with pytest.raises(RuntimeError, match="the sampler broke"):
        study.optimize(trivial, n_trials=10, n_workers=n_workers)
    trials = study.trials
    assert TrialState.RUNNING not in {t.state for t in trials}
    broken = trials[2]
    assert broken.state == TrialState.FAILED and "the sampler broke" in (broken.error or "")


def slow_trivial(trial: tunesmith.Trial) -> float:
    time.sleep(0.3)
    return trivial(trial)


def test_error_in_the_driver_leaves_no_trial_running(sqlite_url: str) -> None:
    def broken_callback(study: tunesmith.Study, trial: tunesmith.FrozenTrial) -> None:
        raise KeyError("a callback broke")

    study = tunesmith.create_study(storage=sqlite_url)
    with pytest.raises(KeyError, match="a callback broke"):
        study.optimize(slow_trivial, n_trials=10, n_workers=2, callbacks=[broken_callback])
    trials = study.trials
    assert TrialState.RUNNING not in {t.state for t in trials}
    stopped = [t for t in trials if t.state == TrialState.FAILED]
    assert all("stopped" in (t.error or "") for t in stopped)
