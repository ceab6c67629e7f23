"""``tunesmith worker``: independent processes join one study through its storage."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
