"""End to end: examples/sklearn_search.py, run as a user would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_sklearn_example_runs_and_prints_best(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sklearn_search.py")], cwd=tmp_path, capture_output=True,
        text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "24 candidates" in proc.stdout and "'svc__C':" in proc.stdout
    cv = re.search(r"best cv accuracy (0\.\d+)", proc.stdout)
    test = re.search(r"test accuracy (0\.\d+)", proc.stdout)
    assert cv and float(cv.group(1)) > 0.95
    assert test and float(test.group(1)) > 0.95
    assert list(tmp_path.iterdir()) == []  # nothing left behind: the temporary study is gone
