"""``tunesmith diagnose``: the learning-curve findings of a stored study, read-only."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

import tunesmith
from tunesmith.cli import cli


def _curves(trial: tunesmith.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    loss = 1.0
    for step in range(30):
        loss = loss * 1.6 if lr > 0.3 else loss * (1 - 0.5 * lr) + 0.001
        trial.report(step, loss=loss, val_loss=loss * 1.05, lr=lr)
    return loss


def test_diagnose_prints_each_finding_with_advice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    study = tunesmith.create_study(name="d", storage=url)
    for lr in (0.9, 0.002, 0.05):
        study.enqueue({"lr": lr})
    study.optimize(_curves, n_trials=3)
    before = os.stat(tmp_path / "d.db").st_mtime_ns
    out = CliRunner().invoke(cli, ["diagnose", "d", "--storage", url])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("3 trials diagnosed")
    assert any(ln.startswith("trial 0") and "diverging" in ln for ln in lines)
    assert any(ln.startswith("trial 1") and "not_learning" in ln for ln in lines)
    assert any("-> lower the learning rate" in ln for ln in lines)
    one = CliRunner().invoke(cli, ["diagnose", "d", "--trial", "0", "--storage", url])
    assert one.exit_code == 0 and "trial 0" in one.output and "trial 1 " not in one.output
    missing = CliRunner().invoke(cli, ["diagnose", "d", "--trial", "7", "--storage", url])
    assert missing.exit_code == 2 and "--trial" in missing.output
    assert os.stat(tmp_path / "d.db").st_mtime_ns == before  # it only read
