"""The ``plot`` command (click's CliRunner on the command itself) and import hygiene."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import tunesmith
from tunesmith import visualization as vis
from tunesmith.cli._plot import KINDS, plot_command
from tunesmith.visualization import matplotlib as mpl_vis


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


@pytest.fixture
def stored_two(sqlite_url: str) -> str:
    study = tunesmith.create_study(study_name="two", storage=sqlite_url, directions=["minimize", "maximize"])

    def objective(trial: tunesmith.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x**2

    study.optimize(objective, n_trials=12)
    return sqlite_url


def _figure(html: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The data and layout a plotly HTML file draws (``Plotly.newPlot(id, data, layout, config)``)."""
    rest = html[html.index("Plotly.newPlot(") :]
    rest = rest[rest.index("[") :]
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(rest)
    layout, _ = decoder.raw_decode(rest[end:].lstrip(", \n"))
    return data, layout


def _array(value: Any) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ``{"dtype": ..., "bdata": base64}``."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=object)


def _study_for(kind: str, request: pytest.FixtureRequest) -> str:
    """The study the kind draws: "two" (two objectives, made only when needed) or "s"."""
    if kind in ("pareto", "hypervolume"):
        request.getfixturevalue("stored_two")
        return "two"
    return "s"


def test_every_plot_has_a_kind() -> None:
    assert set(KINDS.values()) == set(vis.__all__) - {"as_json"}
    assert set(KINDS.values()) == set(mpl_vis.__all__)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_plot_writes_offline_html(stored: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    out = tmp_path / "p.html"
    args = [_study_for(kind, request), "--kind", kind, "-o", str(out), "--storage", stored]
    result = CliRunner().invoke(plot_command, args)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "<script src=\"http" not in html and len(html) > 1_000_000  # plotly.js inlined, no CDN
    data, layout = _figure(html)
    assert data and all(trace.get("type") for trace in data)
    assert sum(len(_array(trace.get("x", trace.get("dimensions", [])))) for trace in data) > 0  # data drawn
    assert layout["title"]["text"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_plot_writes_png_with_matplotlib(
    stored: str, kind: str, tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    import matplotlib.image

    out = tmp_path / "p.png"
    params = ["--params", "x,y"] if kind in ("parallel", "slice", "importance", "contour", "rank") else []
    args = [_study_for(kind, request), "--kind", kind, *params, "-o", str(out), "--storage", stored]
    result = CliRunner().invoke(plot_command, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(out)[..., :3]
    assert image.shape[0] > 100 and image.shape[1] > 100
    ink = (image < 0.9).any(axis=-1)
    assert ink.mean() > 0.005  # axes, labels and data drawn, not a blank canvas
    coloured = (image.max(axis=-1) - image.min(axis=-1)) > 0.2
    assert coloured.sum() > 50  # the data, in colour (the frame and text are grey)


def test_plot_hypervolume_reference_point_and_max_trials(stored_two: str, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "hv.html"
    study = tunesmith.load_study(study_name="two", storage=stored_two)
    xs = [t.values[0] for t in study.trials]
    ys = [t.values[1] for t in study.trials]
    r = runner.invoke(plot_command, ["two", "--kind", "hypervolume", "-o", str(out), "--storage", stored_two])
    assert r.exit_code == 0, r.output
    ref = [float(v) for v in r.output.split("reference point: ")[1].split()[0].split(",")]
    assert ref[0] > max(xs) and ref[1] < min(ys)  # past the worst trial in each direction
    args = ["two", "--kind", "hypervolume", "--reference-point", "2,-1", "--max-trials", "4", "-o", str(out),
            "--storage", stored_two]
    r = runner.invoke(plot_command, args)
    assert r.exit_code == 0 and "reference point" not in r.output, r.output
    assert "(4 of 12 trials shown)" in out.read_text()
    r = runner.invoke(plot_command, ["two", "--kind", "hypervolume", "--reference-point", "2", "--storage", stored_two])
    assert r.exit_code == 2 and "2 numbers" in r.output
    r = runner.invoke(plot_command, ["two", "--kind", "pareto", "--target", "x", "--storage", stored_two])
    assert r.exit_code == 2 and "--target" in r.output
    r = runner.invoke(plot_command, ["two", "--kind", "pareto", "--reference-point", "1,1", "--storage", stored_two])
    assert r.exit_code == 2 and "--reference-point" in r.output


def test_plot_max_trials_limits_the_trials_shown(stored: str, tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    args = ["s", "--kind", "timeline", "--max-trials", "5", "-o", str(out), "--storage", stored]
    assert CliRunner().invoke(plot_command, args).exit_code == 0
    data, layout = _figure(out.read_text())
    assert list(_array(data[0]["y"])) == [7, 8, 9, 10, 11] and "last 5 of 12 trials" in layout["title"]["text"]
    args = ["s", "--kind", "edf", "--max-trials", "5", "-o", str(out), "--storage", stored]
    assert CliRunner().invoke(plot_command, args).exit_code == 0
    assert "5 of 12 trials used" in out.read_text()


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


_HIDE = textwrap.dedent("""
    import sys

    class Hide:
        def __init__(self, name):
            self.name = name

        def find_spec(self, fullname, path=None, target=None):
            if fullname == self.name or fullname.startswith(self.name + "."):
                raise ImportError(f"No module named {fullname!r} (hidden)")
            return None

    sys.meta_path.insert(0, Hide(sys.argv[1]))
""")

_DRAW_ALL = textwrap.dedent("""
    import tunesmith
    import tunesmith.visualization as vis
    import tunesmith.visualization.matplotlib as mpl_vis

    study = tunesmith.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=5)
    two = tunesmith.create_study(directions=["minimize", "minimize"])
    two.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)), n_trials=5)
    backend = vis if sys.argv[1] == "plotly" else mpl_vis
    for name in backend.__all__:
        if name == "as_json":
            continue
        args = (two, [2.0, 2.0]) if name == "plot_hypervolume_history" else (two,) if "pareto" in name else (study,)
        try:
            getattr(backend, name)(*args)
        except ImportError as e:
            print(name, "->", e)
        else:
            print(name, "-> drew")
""")


@pytest.mark.parametrize(("hidden", "package"), [
    ("plotly", "tunesmith.visualization needs plotly"),
    ("matplotlib", "tunesmith.visualization.matplotlib needs matplotlib"),
])
def test_a_missing_plot_library_says_how_to_install_it(hidden: str, package: str) -> None:
    """In a fresh interpreter where the library cannot be imported, every plot of that backend says
    what to install, and importing the modules still works (they import it only when drawing)."""
    out = subprocess.run(
        [sys.executable, "-c", _HIDE + _DRAW_ALL, hidden], capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert len(out) == 11, out
    for line in out:
        assert line.endswith(f"-> {package}: pip install 'tunesmith[plot]'"), line


def test_the_plot_command_says_how_to_install_a_missing_library(stored: str) -> None:
    code = _HIDE + textwrap.dedent("""
        from click.testing import CliRunner
        from tunesmith.cli._plot import plot_command

        out = sys.argv[2] + ("/p.png" if sys.argv[1] == "matplotlib" else "/p.html")
        r = CliRunner().invoke(plot_command, ["s", "-o", out, "--storage", sys.argv[3]])
        print(r.exit_code, r.output.strip())
    """)
    for hidden in ("plotly", "matplotlib"):
        run = subprocess.run([sys.executable, "-c", code, hidden, str(Path.cwd()), stored],
                             capture_output=True, text=True, check=True)
        assert run.stdout.startswith("1 Error: ") and "pip install 'tunesmith[plot]'" in run.stdout, run.stdout
        assert f"needs {hidden}" in run.stdout, run.stdout


def test_the_notebook_summary_stands_without_plotly() -> None:
    code = _HIDE + textwrap.dedent("""
        import tunesmith

        study = tunesmith.create_study()
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        page = study._repr_html_()
        print("3 COMPLETE" in page, f"best trial {study.best_trial.number}" in page, "Plotly" in page)
    """)
    run = subprocess.run([sys.executable, "-c", code, "plotly"], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["True", "True", "False"], run.stdout + run.stderr

