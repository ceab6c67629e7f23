"""End to end: the KerasTuner example, run as a user would (twice: the second run resumes a finished search)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_keras_tuner_example_tunes_digits_and_resumes(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("keras")
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    script = str(ROOT / "examples" / "keras_tuner_digits.py")
    proc = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.startswith("Search space summary\nDefault search space size: 4\nlayers (Int)")
    assert "Results summary" in out and 'Objective(name="val_accuracy", direction="max")' in out
    counts = re.search(r"8 trials: (\d) complete, (\d) stopped early", out)
    assert counts and int(counts.group(1)) >= 1 and int(counts.group(1)) + int(counts.group(2)) == 8
    accuracy = re.search(r"test accuracy (0\.\d+)", out)
    assert accuracy and float(accuracy.group(1)) > 0.85
    assert (tmp_path / "keras_tuner_runs" / "digits" / "study.db").exists()
    best = re.search(r"best hyperparameters: (.*)", out)
    assert best

    again = subprocess.run([sys.executable, script], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "8 trials:" in again.stdout and f"best hyperparameters: {best.group(1)}" in again.stdout
