"""End to end: the README's quickstart, run as a user would."""

from __future__ import annotations

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
