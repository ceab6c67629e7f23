"""``tunesmith worker``: independent processes join one study through its storage."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import tunesmith
from tunesmith import TrialState
from tunesmith.cli import cli

OBJECTIVES = '''
import tunesmith

def objective(trial):
    return (trial.suggest_float("x", -3, 3) - 1) ** 2

def train(config):
    tunesmith.report(loss=(config["x"] - 1) ** 2)

CONFIG = {"x": tunesmith.uniform(-3, 3), "k": tunesmith.grid_search([1, 2])}

def flaky(trial):
    x = trial.suggest_float("x", 0, 1)
    if trial.number in (0, 1, 3, 4, 5):
        raise RuntimeError(f"flaky trial {trial.number}")
    return x

def broken(trial):
    raise ImportError("no module named 'torchh'")

def slow(trial):
    open("started", "w").close()
    import time
    time.sleep(60)
    return 0.0

def curve(trial):
    x = trial.suggest_float("x", 0, 1)
    for step in range(1, 10):
        trial.report(step, loss=x + 1 / step)
        if trial.should_stop():
            raise tunesmith.TrialStopped()
    return x + 1 / 9
'''


def _write_module(tmp_path: Path) -> None:
    (tmp_path / "myobjectives.py").write_text(textwrap.dedent(OBJECTIVES))


def test_several_worker_processes_share_one_study(tmp_path: Path) -> None:
    _write_module(tmp_path)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    tunesmith.create_study(name="shared", storage=url, sampler=tunesmith.samplers.QMCSampler(seed=4))
    cmd = [sys.executable, "-m", "tunesmith", "worker", "--study", "shared", "--storage", url,
           "--objective", "myobjectives:objective", "--n-trials", "15"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "worker ran 15 trial(s)" in err
    study = tunesmith.load_study("shared", url)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(45))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    # The stored sampler (Sobol, seed 4) was used by every worker: no point twice.
    assert len({t.params["x"] for t in trials}) == 45
    assert isinstance(study.sampler, tunesmith.samplers.QMCSampler)


def test_worker_with_a_config_and_a_file_reference(tmp_path: Path, monkeypatch) -> None:
    _write_module(tmp_path)
    url = f"sqlite:///{tmp_path / 'cfg.db'}"
    tunesmith.create_study(name="cfg", storage=url, metric="loss", mode="min")
    result = CliRunner().invoke(cli, ["worker", "--study", "cfg", "--storage", url, "--objective",
                                      f"{tmp_path / 'myobjectives.py'}:train", "--config", "myobjectives:CONFIG",
                                      "--n-trials", "4"])
    assert result.exit_code == 0, result.output
    trials = tunesmith.load_study("cfg", url).trials
    assert len(trials) == 4
    assert [t.params["k"] for t in trials] == [1, 2, 1, 2]  # grid axes are enumerated in trial order
    assert all(t.values is not None and t.values[0] == t.last_result["loss"] for t in trials)


def test_worker_errors_are_clear(tmp_path: Path) -> None:
    _write_module(tmp_path)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    tunesmith.create_study(name="e", storage=url)
    runner = CliRunner()
    bad_ref = runner.invoke(cli, ["worker", "--study", "e", "--storage", url, "--objective", "nomodule"])
    assert bad_ref.exit_code != 0 and "module:name" in bad_ref.output
    missing = runner.invoke(cli, ["worker", "--study", "e", "--storage", url, "--objective", "myobjectives:nope"])
    assert missing.exit_code != 0 and "nope" in missing.output
    no_study = runner.invoke(
        cli, ["worker", "--study", "zzz", "--storage", url, "--objective", "myobjectives:objective"]
    )
    assert no_study.exit_code != 0 and "'zzz'" in no_study.output


def test_load_study_reuses_the_stored_sampler(sqlite_url: str) -> None:
    tunesmith.create_study(name="g", storage=sqlite_url, sampler=tunesmith.samplers.GridSampler({"a": [1, 2, 3]}))
    study = tunesmith.load_study("g", sqlite_url)
    assert isinstance(study.sampler, tunesmith.samplers.GridSampler)
    study.optimize(lambda t: t.suggest_categorical("a", [1, 2, 3]))
    assert sorted(t.params["a"] for t in study.trials) == [1, 2, 3]


def test_workers_use_the_stored_scheduler(tmp_path: Path) -> None:
    from tunesmith.schedulers import ASHAScheduler

    _write_module(tmp_path)
    url = f"sqlite:///{tmp_path / 'asha.db'}"
    tunesmith.create_study(name="asha", storage=url, metric="loss", sampler=tunesmith.samplers.QMCSampler(seed=1),
                           scheduler=ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3))
    cmd = [sys.executable, "-m", "tunesmith", "worker", "--study", "asha", "--storage", url,
           "--objective", "myobjectives:curve", "--n-trials", "10"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    counts = tunesmith.load_study("asha", url).count()
    assert counts[TrialState.PRUNED] >= 8 and counts[TrialState.COMPLETE] >= 1


def _invoke(tmp_path: Path, study: str, objective: str, *args: str):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    tunesmith.create_study(name=study, storage=url, load_if_exists=True)
    return url, CliRunner().invoke(
        cli, ["worker", "--study", study, "--storage", url, "--objective", f"myobjectives:{objective}", *args]
    )


@pytest.fixture
def pauses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits of the worker between failed trials, recorded instead of slept."""
    from tunesmith.cli import _worker

    _write_module(tmp_path)
    recorded: list[float] = []
    monkeypatch.setattr(_worker, "_pause", recorded.append)
    return recorded


def test_worker_prints_its_start_each_trial_and_a_summary(tmp_path: Path, pauses: list[float]) -> None:
    import os
    import socket

    url, result = _invoke(tmp_path, "talk", "flaky", "--n-trials", "3", "--max-failures", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"worker {socket.gethostname()}/{os.getpid()} joins study 'talk' in {url} (for 3 trial(s); Ctrl-C stops it)"
    )
    trials = tunesmith.load_study("talk", url).trials
    assert len(lines) == 1 + 3 + 1
    for line, t in zip(lines[1:4], trials, strict=True):
        assert line.startswith(f"trial {t.number} {t.state.name}")
        assert f"({t.duration:.2f}s)" in line
        if t.state == TrialState.FAILED:
            assert line.endswith(f": RuntimeError: flaky trial {t.number}")
        else:
            assert f"value={t.value:.6g}" in line
    assert lines[1].startswith("trial 0 FAILED") and lines[3].startswith("trial 2 COMPLETE")
    assert lines[4].startswith("worker ran 3 trial(s) of 'talk' in ") and lines[4].endswith(": 1 complete, 2 failed")

    url, quiet = _invoke(tmp_path, "talk", "flaky", "--n-trials", "2", "--quiet")
    assert quiet.exit_code == 0 and quiet.output == ""
    assert len(tunesmith.load_study("talk", url).trials) == 5


def test_worker_stops_after_max_failures_in_a_row_waiting_longer_each_time(
    tmp_path: Path, pauses: list[float],
) -> None:
    url, result = _invoke(tmp_path, "bad", "broken", "--n-trials", "1000", "--max-failures", "5", "--quiet")
    assert result.exit_code == 1
    trials = tunesmith.load_study("bad", url).trials
    assert [t.state for t in trials] == [TrialState.FAILED] * 5
    assert pauses == [0.1, 0.2, 0.4, 0.8]
    error = result.stderr.strip().splitlines()
    assert error[-1].startswith("Error: 5 trials failed in a row (--max-failures 5), so the worker stops")
    assert "tunesmith show bad --state failed" in error[-1]
    assert "ImportError: no module named 'torchh'" in result.stderr  # the last failure's traceback


def test_worker_gives_up_after_10_failures_in_a_row_by_default(tmp_path: Path, pauses: list[float]) -> None:
    url, result = _invoke(tmp_path, "bad", "broken", "--quiet")
    assert result.exit_code == 1
    assert len(tunesmith.load_study("bad", url).trials) == 10
    assert pauses == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]


def test_worker_failure_streak_and_wait_reset_after_a_success(tmp_path: Path, pauses: list[float]) -> None:
    # Trials 0, 1, 3, 4 and 5 fail; no row reaches 4, and the wait starts again after trial 2.
    url, result = _invoke(tmp_path, "flaky", "flaky", "--n-trials", "7", "--max-failures", "4", "--quiet")
    assert result.exit_code == 0, result.output
    states = [t.state for t in tunesmith.load_study("flaky", url).trials]
    assert states.count(TrialState.FAILED) == 5 and len(states) == 7
    assert pauses == [0.1, 0.2, 0.1, 0.2, 0.4]


def test_worker_on_ctrl_c_records_the_trial_and_exits_130(tmp_path: Path) -> None:
    _write_module(tmp_path)
    url = f"sqlite:///{tmp_path / 'int.db'}"
    tunesmith.create_study(name="int", storage=url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunesmith", "worker", "--study", "int", "--storage", url, "--objective",
         "myobjectives:slow"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        for _ in range(1200):  # the trial has started once the objective wrote its file
            if (tmp_path / "started").exists() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert (tmp_path / "started").exists(), proc.communicate(timeout=10)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "interrupted"
    (trial,) = tunesmith.load_study("int", url).trials
    assert trial.state != TrialState.RUNNING  # recorded, not left for a heartbeat to expire
