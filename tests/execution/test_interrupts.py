"""Ctrl-C, as a terminal sends it (SIGINT to the whole process group): no trial left RUNNING.

An interrupted trial goes back to the queue with its parameters; ``tunesmith.run``
returns its result with a one-line message, ``Study.optimize`` raises KeyboardInterrupt,
and a resumed run finishes exactly ``num_samples`` trials.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tunesmith
from tunesmith import TrialState
from tunesmith.samplers import RandomSampler

SCRIPT = """
import signal, sys, time, tunesmith
from tunesmith.samplers import RandomSampler

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, however CI started us
resume = sys.argv[1] == "resume"
phase, workers = {phase!r}, {workers}


class SlowSampler(RandomSampler):
    def suggest(self, space, history, number, rng):
        if phase == "suggest" and not resume:
            print("suggesting", number, flush=True)
            time.sleep(3.0)  # a GP refitting: Ctrl-C comes now
        return super().suggest(space, history, number, rng)


def train(config):
    if phase == "train" and not resume:
        print("training", flush=True)
        time.sleep(3.0)
    tunesmith.report(loss=config["x"])


def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    train({{"x": x}})
    return x


if {api!r} == "run":
    result = tunesmith.run(train, {{"x": tunesmith.uniform(0, 1)}}, num_samples=6, metric="loss",
                           storage={url!r}, name="ctrl-c", search_alg=SlowSampler(seed=0), verbose=0,
                           max_concurrent_trials=workers, resume=resume)
    print("returned", len(result.trials), flush=True)
else:
    study = tunesmith.create_study(name="ctrl-c", storage={url!r}, sampler=SlowSampler(seed=0), load_if_exists=True)
    study.optimize(objective, n_trials=6 - len(study.get_trials(states=[tunesmith.TrialState.COMPLETE])),
                   n_workers=workers)
"""


def _interrupt(script: Path, phase: str, n_before: int) -> subprocess.CompletedProcess[str]:
    """Run ``script``; once ``n_before`` lines of ``phase`` were printed, send Ctrl-C to its process group."""
    proc = subprocess.Popen([sys.executable, str(script), "fresh"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    watchdog = threading.Timer(120, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            seen += line.startswith("suggesting" if phase == "suggest" else "training")
            if seen >= n_before:
                break
        time.sleep(0.5)  # well inside the 3 s sleep
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the driver and its workers
        out, err = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _states(url: str) -> list[TrialState]:
    return [t.state for t in tunesmith.load_study("ctrl-c", url, sampler=RandomSampler()).trials]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("phase", ["suggest", "train"])
def test_ctrl_c_during_run_returns_and_resume_finishes_every_trial(tmp_path: Path, phase: str, workers: int) -> None:
    url = f"sqlite:///{tmp_path / 'int.db'}"
    script = tmp_path / "driver.py"
    script.write_text(SCRIPT.format(phase=phase, workers=workers, api="run", url=url))
    done = _interrupt(script, phase, n_before=3)
    assert done.returncode == 0, done.stderr
    assert "returned" in done.stdout  # run() came back with its result
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    assert lines[0].startswith("interrupted: ") and "resume=True" in lines[0] and "'ctrl-c'" in lines[0]
    states = _states(url)
    assert TrialState.RUNNING not in states
    assert TrialState.WAITING in states  # the interrupted trial, back in the queue
    resumed = subprocess.run([sys.executable, str(script), "resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert _states(url) == [TrialState.COMPLETE] * 6  # exactly num_samples: the interrupted ones ran again


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_while_the_sampler_suggests_leaves_optimize_resumable(tmp_path: Path, workers: int) -> None:
    url = f"sqlite:///{tmp_path / 'int.db'}"
    script = tmp_path / "driver.py"
    script.write_text(SCRIPT.format(phase="suggest", workers=workers, api="optimize", url=url))
    done = _interrupt(script, "suggest", n_before=3)
    assert done.returncode != 0 and "KeyboardInterrupt" in done.stderr  # Optuna's behaviour: it raises
    states = _states(url)
    assert TrialState.RUNNING not in states
    waiting = [t for t in tunesmith.load_study("ctrl-c", url, sampler=RandomSampler()).trials
               if t.state == TrialState.WAITING]
    assert waiting and all(t.system_attrs.get("retries") for t in waiting)
    resumed = subprocess.run([sys.executable, str(script), "resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert _states(url) == [TrialState.COMPLETE] * 6
