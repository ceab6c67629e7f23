"""The ``tunesmith`` command line, on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import tunesmith
from tunesmith.cli import cli
from tunesmith.trial import Trial, TrialState

N_TRIALS = 12
FAILING = {3, 7, 11}  # trial numbers whose objective raises


def _objective(trial: Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    opt = trial.suggest_categorical("opt", ["sgd", "[bold]adam"])  # rich markup must come out verbatim
    if trial.number in FAILING:
        raise ValueError(f"bad trial {trial.number}\nwith a second line")
    return (x - 1.0) ** 2 + (0.5 if opt == "sgd" else 0.0)


@pytest.fixture(autouse=True)
def _no_storage_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNESMITH_STORAGE", raising=False)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite file with a minimizing study "quad" (some trials failed) and a maximizing study "maxi"."""
    url = f"sqlite:///{tmp_path}/s.db"
    quad = tunesmith.create_study(name="quad", storage=url, direction="minimize", seed=0)
    quad.optimize(_objective, n_trials=N_TRIALS)
    maxi = tunesmith.create_study(name="maxi", storage=url, direction="maximize", seed=1)
    maxi.optimize(lambda t: t.suggest_int("k", 0, 10), n_trials=3)
    return url


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def rows(output: str) -> dict[str, list[str]]:
    """Plain table output keyed by its first cell (header row included)."""
    return {line.split()[0]: line.split() for line in output.splitlines() if line.strip()}


def assert_clean_error(result: Result, *fragments: str) -> None:
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (KeyError, RuntimeError, ValueError)), result.exception
    message = result.stderr
    assert len(message.strip().splitlines()) == 1 or message.startswith("Usage:"), message
    for fragment in fragments:
        assert fragment in message, message


# -- ls ---------------------------------------------------------------------------------
def test_ls_lists_names_counts_and_best(url: str) -> None:
    result = run("--storage", url, "ls")
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    header = table["name"]
    assert header[:8] == ["name", "direction", "metric", "trials", "complete", "pruned", "failed", "running"]
    quad = tunesmith.load_study("quad", url)
    counts = quad.count()
    assert table["quad"][1:8] == [
        "minimize", "value", str(N_TRIALS), str(counts[TrialState.COMPLETE]), "0", str(len(FAILING)), "0",
    ]
    assert counts[TrialState.COMPLETE] == N_TRIALS - len(FAILING)
    assert table["quad"][8] == f"{quad.best_value:.6g}"
    assert table["maxi"][1:4] == ["maximize", "value", "3"]


def test_storage_option_before_after_and_from_env(url: str) -> None:
    before = run("--storage", url, "ls")
    after = run("ls", "--storage", url)
    from_env = run("ls", env={"TUNESMITH_STORAGE": url})
    assert before.exit_code == after.exit_code == from_env.exit_code == 0
    assert "quad" in before.stdout
    assert before.stdout == after.stdout == from_env.stdout
    # The option after the command wins over the global one.
    overridden = run("--storage", "sqlite:///does-not-exist.db", "ls", "--storage", url)
    assert overridden.exit_code == 0 and overridden.stdout == before.stdout


def test_ls_empty_storage_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/e.db"
    tunesmith.create_study(name="gone", storage=url)  # makes a valid database...
    with sqlite3.connect(tmp_path / "e.db") as conn:  # ...then empties it of studies
        conn.execute("DELETE FROM tunesmith_studies")
    result = run("ls", "--storage", url)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"No studies in {url}"


def test_ls_on_an_empty_file_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    result = run("ls", "--storage", str(path))
    assert result.exit_code == 0
    assert "No studies" in result.stdout
    assert path.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]


def test_ls_on_missing_default_file_does_not_create_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("ls")
    assert_clean_error(result, "tunesmith.db", "does not exist")
    assert not (tmp_path / "tunesmith.db").exists()
    assert os.listdir(tmp_path) == []


# -- show -------------------------------------------------------------------------------
def test_show_lists_trials_params_and_errors(url: str) -> None:
    result = run("show", "quad", "--storage", url)
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    study = tunesmith.load_study("quad", url)
    assert set(table) - {"number"} == {str(t.number) for t in study.trials}
    for t in study.trials:
        line = next(line for line in result.stdout.splitlines() if line.split()[0] == str(t.number))
        assert t.state.name in line
        assert f"x={t.params['x']:.6g}" in line
        assert f"opt={t.params['opt']}" in line  # "[bold]adam" verbatim, not eaten as markup
        if t.state == TrialState.FAILED:
            assert "with a second line" in line  # the error's last line
        else:
            assert f"{t.value:.6g}" in line


def test_show_filters_by_state_and_limits(url: str) -> None:
    failed = run("show", "quad", "--state", "failed", "--storage", url)
    assert failed.exit_code == 0
    assert set(rows(failed.stdout)) - {"number"} == {str(n) for n in FAILING}
    assert "COMPLETE" not in failed.stdout

    limited = run("show", "quad", "--limit", "3", "--storage", url)
    assert limited.exit_code == 0
    numbers = [line.split()[0] for line in limited.stdout.splitlines()[1:] if line.split()[0].isdigit()]
    assert numbers == [str(n) for n in range(N_TRIALS - 3, N_TRIALS)]
    assert f"3 of {N_TRIALS} trials shown" in limited.stdout

    none = run("show", "maxi", "--state", "pruned", "--storage", url)
    assert none.exit_code == 0 and "No trials in state PRUNED" in none.stdout


# -- best -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["quad", "maxi"])
def test_best_matches_study_best_trial(url: str, name: str) -> None:
    best = tunesmith.load_study(name, url).best_trial
    human = run("best", name, "--storage", url)
    assert human.exit_code == 0, human.output
    assert f"number: {best.number}\n" in human.stdout
    assert f"value: {best.value!r}\n" in human.stdout
    for k, v in best.params.items():
        assert f"{k}: {v!r}\n" in human.stdout

    as_json = run("best", name, "--json", "--storage", url)
    assert as_json.exit_code == 0
    data = json.loads(as_json.stdout)
    assert data == {"number": best.number, "value": best.value, "values": best.values, "params": best.params}


def test_best_without_completed_trial_is_a_clean_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/f.db"
    study = tunesmith.create_study(name="allfail", storage=url)
    study.optimize(lambda t: 1 / 0, n_trials=2)
    assert_clean_error(run("best", "allfail", "--storage", url), "no completed trial")


def test_best_multi_objective_prints_the_pareto_front(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    study = tunesmith.create_study(name="mo", storage=url, directions=["minimize", "maximize"])
    points = [(1.0, 1.0), (2.0, 3.0), (2.0, 2.0), (0.5, 0.5), (3.0, 3.0)]
    for a, b in points:
        study.tell(study.ask(), [a, b])
    result = run("best", "mo", "--json", "--storage", url)
    assert result.exit_code == 0, result.output
    front = sorted(tuple(r["values"]) for r in json.loads(result.stdout))
    assert front == [(0.5, 0.5), (1.0, 1.0), (2.0, 3.0)]  # (2,2) and (3,3) are dominated by (2,3)


# -- export -----------------------------------------------------------------------------
def test_export_csv_one_row_per_trial(url: str, tmp_path: Path) -> None:
    result = run("export", "quad", "--format", "csv", "--storage", url)
    assert result.exit_code == 0, result.output
    reader = csv.DictReader(io.StringIO(result.stdout))
    records = list(reader)
    assert reader.fieldnames == [
        "number", "state", "value", "params_x", "params_opt", "datetime_start", "datetime_complete",
        "duration", "error",
    ]
    study = tunesmith.load_study("quad", url)
    assert len(records) == len(study.trials) == N_TRIALS
    for rec, t in zip(records, study.trials, strict=True):
        assert int(rec["number"]) == t.number
        assert rec["state"] == t.state.name
        assert float(rec["params_x"]) == t.params["x"]
        assert rec["params_opt"] == t.params["opt"]
        if t.state == TrialState.COMPLETE:
            assert float(rec["value"]) == t.value and rec["error"] == ""
        else:
            assert rec["value"] == "" and rec["error"].rstrip().endswith("with a second line")

    out = tmp_path / "quad.csv"
    to_file = run("export", "quad", "--format", "csv", "-o", str(out), "--storage", url)
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert out.read_text() == result.stdout


def test_export_json_round_trips_nan_and_infinities(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/n.db"
    study = tunesmith.create_study(name="odd", storage=url)
    for value in (float("nan"), float("inf"), float("-inf"), 0.25):
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        trial.user_attrs["note"] = f"v={value}"
        study.tell(trial, value)
    out = tmp_path / "odd.json"
    result = run("export", "odd", "--format", "json", "-o", str(out), "--storage", url)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [d["number"] for d in data] == [0, 1, 2, 3]
    assert set(data[0]) == {
        "number", "state", "values", "params", "user_attrs", "last_result", "started_at", "finished_at", "error",
    }
    assert data[0]["state"] == "FAILED" and math.isnan(data[0]["values"][0]) and "NaN" in data[0]["error"]
    assert data[1]["values"] == [math.inf] and data[2]["values"] == [-math.inf]
    assert data[3]["values"] == [0.25] and data[3]["state"] == "COMPLETE"
    trials = study.trials
    for d, t in zip(data, trials, strict=True):
        assert d["params"] == t.params
        assert d["user_attrs"] == t.user_attrs
        assert d["started_at"] == t.started_at and d["finished_at"] == t.finished_at

    stdout = run("export", "odd", "--format", "json", "--storage", url)
    assert stdout.exit_code == 0 and json.loads(stdout.stdout)[1]["values"] == [math.inf]


# -- errors -----------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["show"], ["best"], ["export", "--format", "json"]])
def test_unknown_study_names_it_and_the_available_ones(url: str, command: list[str]) -> None:
    result = run(command[0], "nope", *command[1:], "--storage", url)
    assert_clean_error(result, "'nope'", "quad", "maxi")


@pytest.mark.parametrize("command", [["ls"], ["show", "quad"], ["best", "quad"], ["export", "quad", "--format", "csv"]])
def test_a_file_that_is_not_a_database_is_reported_and_left_alone(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "junk.db"
    junk = random.Random(0).randbytes(8192)
    path.write_bytes(junk)
    for storage in (f"sqlite:///{path}", str(path)):
        assert_clean_error(run(*command, "--storage", storage), "not a tunesmith database")
    assert path.read_bytes() == junk
    assert os.listdir(tmp_path) == ["junk.db"]  # no journal, WAL or shm file either


def test_a_foreign_sqlite_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    before = path.read_bytes()
    assert_clean_error(run("ls", "--storage", str(path)), "not a tunesmith database", "customers")
    assert path.read_bytes() == before


def test_missing_file_and_bad_url_are_clean_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert_clean_error(run("show", "quad", "--storage", str(missing)), "does not exist")
    assert not missing.exists()
    assert_clean_error(run("ls", "--storage", "mysql://nowhere/db"), "not understood")


# -- the installed entry points ---------------------------------------------------------
def test_python_dash_m_runs_the_command(url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TUNESMITH_STORAGE"}
    ok = subprocess.run(
        [sys.executable, "-m", "tunesmith", "ls", "--storage", url], capture_output=True, text=True, env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "quad" in ok.stdout and "maxi" in ok.stdout

    bad = subprocess.run(
        [sys.executable, "-m", "tunesmith", "best", "nope", "--storage", url], capture_output=True, text=True,
        env=env, timeout=120,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and "'nope'" in bad.stderr
