from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
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


def test_ctrl_c_stops_cleanly_and_study_continues(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'int.db'}"
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(f"""
        import signal, time, tunesmith
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, however CI started us
        def slow(trial):
            x = trial.suggest_float("x", 0, 1)
            time.sleep(0.2)
            return x
        study = tunesmith.create_study(name="int", storage={url!r})
        print("started", flush=True)
        study.optimize(slow, n_trials=1000, n_workers=2)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    deadline = time.time() + 30
    study = None
    while time.time() < deadline:  # wait until some trials completed
        time.sleep(0.5)
        study = tunesmith.load_study("int", url)
        if sum(t.state == TrialState.COMPLETE for t in study.trials) >= 4:
            break
    os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=30)
    assert b"KeyboardInterrupt" in err
    study = tunesmith.load_study("int", url)
    states = [t.state for t in study.trials]
    assert TrialState.RUNNING not in states
    assert states.count(TrialState.COMPLETE) >= 4
    interrupted = [t for t in study.trials if t.state == TrialState.FAILED]
    assert all("interrupt" in (t.error or "") or "stopped" in (t.error or "") for t in interrupted)
    n_before = len(study.trials)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert len(study.trials) == n_before + 3


def test_requeued_trial_gets_its_ticket_back_once() -> None:
    from tunesmith.execution._driver import TicketOffice
    from tunesmith.execution._loop import LoopSettings

    office = TicketOffice(3, LoopSettings())
    assert [office.grant() for _ in range(4)] == [True, True, True, False]
    office.requeued(7)  # the driver re-queued trial 7: some worker must be able to run it
    assert office.grant() and not office.grant()
    office.started(True, 7)  # its start gives nothing back a second time
    assert not office.grant()
    office.started(True, 9)  # re-queued elsewhere (a heartbeat): refunded when it starts
    assert office.grant() and not office.grant()
