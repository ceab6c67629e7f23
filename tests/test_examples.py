"""End to end: the README's quickstart, run as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_runs_and_prints_best(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")], cwd=tmp_path, capture_output=True,
        text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "40 trials" in proc.stdout
    match = re.search(r"best accuracy (0\.\d+)", proc.stdout)
    assert match and float(match.group(1)) > 0.9
    assert (tmp_path / "quickstart.db").exists()
    ls = subprocess.run([sys.executable, "-m", "tunesmith", "ls", "--storage", "sqlite:///quickstart.db"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert ls.returncode == 0 and "svc-digits" in ls.stdout


def _readme_block(after: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("```python", text.index(after)) + len("```python")
    return text[start:text.index("```", start)]


@pytest.mark.slow
def test_readme_config_dict_snippet_runs_as_written(tmp_path: Path) -> None:
    code = _readme_block("**A config dict**")
    # The one line a user fills in: a loss that depends on the config and improves with epochs.
    code = code.replace("loss = ...", 'loss = config["lr"] * config["layers"] / (epoch + 1)')
    (tmp_path / "snippet.py").write_text(code)
    proc = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "'hidden':" in proc.stdout and "'loss':" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snippet.py"]  # storage=None keeps nothing


@pytest.mark.slow
def test_plots_example_draws_the_readme_pictures(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "plots_digits.py"), str(tmp_path / "img")], cwd=tmp_path,
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "importance: {'gamma'" in proc.stdout  # gamma matters most for an RBF SVM on digits
    pictures = sorted(p.name for p in (tmp_path / "img").iterdir())
    assert pictures == ["digits_history.png", "digits_importance.png", "digits_slice.png"]
    assert all((tmp_path / "img" / p).stat().st_size > 5000 for p in pictures)


@pytest.mark.slow
def test_the_optuna_script_runs_with_its_import_changed(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "optuna_style.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Number of finished trials: 30" in proc.stdout
    best = re.search(r"Best trial: \d+, accuracy (0\.\d+)", proc.stdout)
    assert best and float(best.group(1)) > 0.95
    assert re.search(r"Saved model: \['mlp-\d+\.pkl'\]", proc.stdout)
    assert "learning_rate_init" in proc.stdout.split("Importances:")[1]


@pytest.mark.slow
def test_constrained_example_keeps_the_best_model_within_its_budget(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "constrained.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    feasible = re.search(r"50 trials, (\d+) within 150 KB", proc.stdout)
    assert feasible and int(feasible.group(1)) >= 20, proc.stdout  # the sampler searches inside the budget
    best = re.search(r"best feasible: accuracy (0\.\d+), size ([\d.]+) KB", proc.stdout)
    overall = re.search(r"most accurate overall: accuracy (0\.\d+), size ([\d.]+) KB", proc.stdout)
    assert best and overall, proc.stdout
    assert float(best.group(1)) > 0.9 and float(best.group(2)) <= 150.0
    assert float(overall.group(2)) > 150.0  # the budget binds: the most accurate model does not fit it


@pytest.mark.slow
def test_ray_tune_classic_script_runs_as_written(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    source = (ROOT / "examples" / "ray_tune_classic.py").read_text()
    imports = [line for line in source.splitlines() if line.lstrip().startswith(("import", "from"))]
    ray_imports = [line for line in imports if "tune" in line]
    assert ray_imports == ["from tunesmith import tune"]  # the one line that differs from the Ray script
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ray_tune_classic.py")], cwd=tmp_path, capture_output=True,
        text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    accuracies = [float(a) for a in re.findall(r"best test accuracy: (0\.\d+)", proc.stdout)]
    # Two trials at a time: which PBT donor a trial copies depends on timing, so the figure varies
    # (0.85-0.96 seen); chance is 0.1.
    assert len(accuracies) == 2 and min(accuracies) > 0.75
    explored = re.search(r"PBT explored (\d+) values of lr", proc.stdout)
    assert explored and int(explored.group(1)) > 1  # lr is a constant of the config, explored by PBT
    assert list(tmp_path.iterdir()) == []  # no storage= : nothing kept


@pytest.mark.slow
def test_lr_playbook_finds_the_rate_then_tunes_the_schedule_logging_to_wandb(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("wandb")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lr_playbook_digits.py"), "--num-samples", "6", "--epochs", "4"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, "WANDB_MODE": "offline"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = re.search(r"suggested lr ([\d.e+-]+) \(band ([\d.e+-]+)\.\.([\d.e+-]+)", proc.stdout)
    assert found, proc.stdout[-2000:]
    lr, low, high = map(float, found.groups())
    assert 1e-3 < lr < 1.0 and low <= lr <= high and high / low < 10  # a band, not the whole range
    assert re.search(r"best: val_loss [\d.]+, accuracy 0\.[89]", proc.stdout), proc.stdout[-2000:]
    runs = sorted(tmp_path.glob("tunesmith_artifacts/*/trial_*/wandb/offline-run-*"))
    assert len(runs) == 6  # one W&B run per trial, made inside the trainable, in the trial's own folder
    assert len({r.parents[1] for r in runs}) == 6
    from wandb_support import read_runs

    # Every run whole, the last of each worker process too: config, a logged epoch at least, its exit.
    read = read_runs(str(tmp_path / "tunesmith_artifacts"), expect=6, timeout=10.0)
    assert len(read) == 6 and len({r.group for r in read}) == 1 and read[0].group
    assert all(r.exit_code == 0 and r.history and "val_loss" in r.history[0] and "lr" in r.config for r in read)
    assert (tmp_path / "lr_playbook.db").exists()
