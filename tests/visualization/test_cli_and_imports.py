"""The ``plot`` command (click's CliRunner on the command itself) and import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tunesmith
from tunesmith.cli._plot import plot_command


@pytest.fixture
def stored(sqlite_url: str) -> str:
    study = tunesmith.create_study(study_name="s", storage=sqlite_url)

    def objective(trial: tunesmith.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        y = trial.suggest_float("y", 1e-3, 1, log=True)
        trial.report(0, value=x**2 + y)
        return x**2 + y

    study.optimize(objective, n_trials=12)
    return sqlite_url


@pytest.mark.parametrize(
    "kind", ["history", "parallel", "slice", "contour", "rank", "intermediate", "timeline", "edf", "importance"],
)
def test_plot_writes_offline_html(stored: str, kind: str, tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    result = CliRunner().invoke(plot_command, ["s", "--kind", kind, "-o", str(out), "--storage", stored])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<script src=\"http" not in html and len(html) > 1_000_000  # plotly.js inlined, no CDN


def test_plot_writes_png_with_matplotlib(stored: str, tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    args = ["s", "--kind", "slice", "--params", "x", "-o", str(out), "--storage", stored]
    result = CliRunner().invoke(plot_command, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_errors_name_the_option(stored: str, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(plot_command, ["s", "-o", str(tmp_path / "p.pdf"), "--storage", stored])
    assert r.exit_code == 2 and ".html or .png" in r.output
    r = runner.invoke(plot_command, ["s", "--kind", "slice", "--params", "nope", "--storage", stored])
    assert r.exit_code == 1 and "nope" in r.output
    r = runner.invoke(plot_command, ["nosuch", "--storage", stored])
    assert r.exit_code == 1 and "no study named 'nosuch'" in r.output
    r = runner.invoke(plot_command, ["s", "--kind", "history", "--params", "x", "--storage", stored])
    assert r.exit_code == 2 and "--params" in r.output


def test_plot_reads_without_writing(stored: str, tmp_path: Path) -> None:
    db = Path(stored.removeprefix("sqlite:///"))
    before = db.read_bytes()
    CliRunner().invoke(plot_command, ["s", "-o", str(tmp_path / "p.html"), "--storage", stored])
    assert db.read_bytes() == before


def test_import_tunesmith_does_not_import_plot_libraries() -> None:
    code = (
        "import sys, tunesmith, tunesmith.visualization, tunesmith.visualization.matplotlib; "
        "print(sorted(m for m in ('plotly', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_plotly_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    from tunesmith.visualization import plot_edf

    study = tunesmith.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(ImportError, match=r"pip install 'tunesmith\[plot\]'"):
        plot_edf(study)
