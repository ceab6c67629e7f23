"""The ``tunesmith`` command line, on real SQLite files."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import sqlite3
from pathlib import Path

import pytest
from cli_support import (  # its fixtures (url, _no_storage_env) come through conftest.py
    FAILING,
    N_TRIALS,
    READ_COMMANDS,
    assert_clean_error,
    rows,
    run,
)

import tunesmith
from tunesmith.trial import TrialState


# -- ls ---------------------------------------------------------------------------------
def test_ls_lists_names_counts_and_best(url: str) -> None:
    result = run("--storage", url, "ls")
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    header = table["name"]
    assert header == ["name", "direction", "metric", "trials", "complete", "failed", "best", "created"]
    quad = tunesmith.load_study("quad", url)
    counts = quad.count()
    assert table["quad"][1:6] == [
        "minimize", "value", str(N_TRIALS), str(counts[TrialState.COMPLETE]), str(len(FAILING)),
    ]
    assert counts[TrialState.COMPLETE] == N_TRIALS - len(FAILING)
    assert table["quad"][6] == f"{quad.best_value:.6g}"
    assert table["maxi"][1:6] == ["maximize", "value", "3", "3", "0"]


def test_ls_has_a_column_per_state_that_occurs_and_they_add_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/states.db"
    study = tunesmith.create_study(name="every", storage=url)
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.PAUSED):
        trial = study.ask()
        trial.report(0, value=0.5)
        study.tell(trial, 0.5 if state == TrialState.COMPLETE else None, state=state)
    study.ask()  # RUNNING
    study.enqueue({})  # WAITING
    study.enqueue({})
    result = run("ls", "--storage", url)
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    states = ["waiting", "running", "complete", "pruned", "failed", "paused"]
    assert table["name"] == ["name", "direction", "metric", "trials", *states, "best", "created"]
    counts = [int(c) for c in table["every"][4:10]]
    assert counts == [2, 1, 1, 1, 1, 1]
    assert sum(counts) == int(table["every"][3]) == len(study.trials) == 7


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
    assert_clean_error(result, "no tunesmith tables")
    assert result.exit_code == 1
    assert path.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["empty.db"]


def test_ls_on_missing_default_file_does_not_create_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("ls")
    assert_clean_error(result, f"no database file at {tmp_path / 'tunesmith.db'}")
    assert result.exit_code == 2
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


def numbers_shown(output: str) -> list[int]:
    return [int(line.split()[0]) for line in output.splitlines() if line.split() and line.split()[0].isdigit()]


def test_show_filters_by_state(url: str) -> None:
    failed = run("show", "quad", "--state", "failed", "--storage", url)
    assert failed.exit_code == 0
    assert numbers_shown(failed.stdout) == sorted(FAILING)
    assert "COMPLETE" not in failed.stdout

    none = run("show", "maxi", "--state", "pruned", "--storage", url)
    assert none.exit_code == 0 and "No trials in state PRUNED" in none.stdout


@pytest.mark.parametrize(("name", "limit"), [("quad", 3), ("maxi", 2)])
def test_show_limit_shows_the_best_trials(url: str, name: str, limit: int) -> None:
    study = tunesmith.load_study(name, url)
    sign = 1 if study.direction == "minimize" else -1
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    best = [t.number for t in sorted(complete, key=lambda t: (sign * t.value, t.number))][:limit]
    assert best != sorted(best)  # the order tells best-first from trial order

    limited = run("show", name, "--limit", str(limit), "--storage", url)
    assert limited.exit_code == 0, limited.output
    assert numbers_shown(limited.stdout) == best
    assert f"(the {limit} best of {len(study.trials)} trials)" in limited.stdout

    by_number = run("show", name, "--limit", str(limit), "--sort", "number", "--storage", url)
    assert numbers_shown(by_number.stdout) == sorted(best)


def test_show_sorts_by_value_and_puts_trials_without_one_last(url: str) -> None:
    study = tunesmith.load_study("quad", url)
    ranked = run("show", "quad", "--sort", "value", "--storage", url)
    assert ranked.exit_code == 0
    complete = sorted((t for t in study.trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert numbers_shown(ranked.stdout) == [t.number for t in complete] + sorted(FAILING)
    assert "best of" not in ranked.stdout  # every trial is shown

    plain = run("show", "quad", "--storage", url)
    assert numbers_shown(plain.stdout) == list(range(N_TRIALS))

    failed = run("show", "quad", "--state", "failed", "--limit", "2", "--storage", url)
    assert numbers_shown(failed.stdout) == sorted(FAILING)[:2]


def test_show_limit_with_several_objectives_puts_the_pareto_front_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mo.db"
    study = tunesmith.create_study(name="mo", storage=url, directions=["minimize", "maximize"])
    points = [(3.0, 3.0), (2.0, 2.0), (0.5, 0.5), (2.0, 3.0), (1.0, 1.0), (0.4, 0.1), (5.0, 0.0)]
    for a, b in points:
        study.tell(study.ask(), [a, b])
    study.ask()  # RUNNING, no values: last
    # Front: (0.4, 0.1) #5, (0.5, 0.5) #2, (1.0, 1.0) #4, (2.0, 3.0) #3, by the first objective;
    # then (2.0, 2.0) #1 and (3.0, 3.0) #0 on the second front, (5.0, 0.0) #6 on the third.
    result = run("show", "mo", "--limit", "7", "--storage", url)
    assert result.exit_code == 0, result.output
    assert numbers_shown(result.stdout) == [5, 2, 4, 3, 1, 0, 6]
    front = run("show", "mo", "--limit", "4", "--sort", "number", "--storage", url)
    assert numbers_shown(front.stdout) == [2, 3, 4, 5]


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
        "number", "state", "values_value", "params_x", "params_opt", "last_step", "started_at", "finished_at",
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
            assert float(rec["values_value"]) == t.value and rec["error"] == ""
        else:
            assert rec["values_value"] == "" and rec["error"].rstrip().endswith("with a second line")

    out = tmp_path / "quad.csv"
    to_file = run("export", "quad", "--format", "csv", "-o", str(out), "--storage", url)
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert out.read_text() == result.stdout


def _rich_study(url: str) -> tunesmith.Study:
    """Two objectives, reported metrics, user attributes, a failed and a running trial."""
    study = tunesmith.create_study(name="rich", storage=url, metric=["loss", "acc"], mode=["min", "max"])
    for i in range(3):
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.report(0, loss=1.0, acc=0.1)
        trial.report(5, loss=lr, acc=0.5 + i / 10, epoch_time=1.5)
        trial.user_attrs["note"] = {"i": i}
        if i == 2:
            study.tell(trial, state=TrialState.FAILED, error="Traceback ...\nRuntimeError: boom")
        else:
            study.tell(trial, [lr, 0.5 + i / 10])
    study.ask()
    return study


def test_export_csv_and_json_carry_the_same_fields(tmp_path: Path) -> None:
    import datetime as dt

    url = f"sqlite:///{tmp_path}/r.db"
    study = _rich_study(url)
    csv_rows = list(csv.DictReader(io.StringIO(run("export", "rich", "--format", "csv", "--storage", url).stdout)))
    data = json.loads(run("export", "rich", "--format", "json", "--storage", url).stdout)
    flat = [
        {(f"{k}_{name}" if isinstance(v, dict) else k): (w if isinstance(v, dict) else v)
         for k, v in d.items() for name, w in (v.items() if isinstance(v, dict) else [(None, v)])}
        for d in data
    ]
    columns = list({k: None for f in flat for k in f})  # JSON's fields, flattened, in order of appearance
    assert all(list(r) == columns for r in csv_rows)  # are CSV's columns
    assert columns == [
        "number", "state", "values_loss", "values_acc", "params_lr", "last_step", "metrics_loss", "metrics_acc",
        "metrics_epoch_time", "user_attrs_note", "started_at", "finished_at", "duration", "error",
    ]
    for f, r, t in zip(flat, csv_rows, study.trials, strict=True):
        f = {c: f.get(c) for c in columns}
        assert f["number"] == int(r["number"]) == t.number
        assert f["state"] == r["state"] == t.state.name
        assert f["last_step"] == (5 if t.state != TrialState.RUNNING else None)
        assert f["metrics_epoch_time"] == (1.5 if t.state != TrialState.RUNNING else None)
        assert f["user_attrs_note"] == t.user_attrs.get("note")
        assert r["user_attrs_note"] == ("" if "note" not in t.user_attrs else json.dumps(t.user_attrs["note"]))
        for key in ("started_at", "finished_at"):
            ts = getattr(t, key)
            expected = None if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc)
            parsed = None if f[key] is None else dt.datetime.fromisoformat(f[key])
            assert parsed == expected and (parsed is None or parsed.utcoffset() == dt.timedelta(0))
            assert r[key] == (f[key] or "")  # the same text in both
        assert f["duration"] == t.duration and r["duration"] == ("" if t.duration is None else repr(t.duration))
        assert f["error"] == t.error and r["error"] == (t.error or "")
        for name, v in zip(["loss", "acc"], t.values or [None, None], strict=True):
            assert f[f"values_{name}"] == v and r[f"values_{name}"] == ("" if v is None else repr(v))


def test_export_csv_guards_cells_against_spreadsheet_formulas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/f.db"
    study = tunesmith.create_study(name="inj", storage=url, direction="minimize")
    texts = ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "-1.5", "+2e3"]
    for i, text in enumerate(texts):
        trial = study.ask()
        trial.suggest_categorical("c", texts)
        trial.user_attrs["attr"] = text
        study.tell(trial, -1.5 - i)
    result = run("export", "inj", "--format", "csv", "--storage", url)
    assert result.exit_code == 0, result.output
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    guarded = {"=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"}
    for rec, t in zip(records, study.trials, strict=True):
        text = t.user_attrs["attr"]
        expected = "'" + text if text in guarded else text  # "-1.5" and "+2e3" are numbers, not formulas
        assert rec["user_attrs_attr"] == expected
        assert rec["params_c"] == ("'" + t.params["c"] if t.params["c"] in guarded else t.params["c"])
        assert rec["values_value"] == repr(t.value) and rec["values_value"].startswith("-")  # numbers stay numbers


def test_export_of_a_study_without_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/none.db"
    tunesmith.create_study(name="none", storage=url)
    as_csv = run("export", "none", "--format", "csv", "--storage", url)
    assert as_csv.exit_code == 0, as_csv.output
    assert next(csv.reader(io.StringIO(as_csv.stdout))) == [
        "number", "state", "values_value", "last_step", "started_at", "finished_at", "duration", "error",
    ]
    assert json.loads(run("export", "none", "--format", "json", "--storage", url).stdout) == []


def test_export_to_dash_writes_stdout(url: str, tmp_path: Path) -> None:
    result = run("export", "quad", "--format", "json", "-o", "-", "--storage", url)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == N_TRIALS
    assert not (tmp_path / "-").exists()


def test_export_refuses_to_overwrite_the_study_database(url: str, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "s.db"
    (tmp_path / "link.csv").symlink_to(db)
    monkeypatch.chdir(tmp_path)
    before = db.read_bytes()
    for target in (str(db), "s.db", "./sub/../s.db", "link.csv", f"{db}-wal"):
        if "sub" in target:
            (tmp_path / "sub").mkdir(exist_ok=True)
        result = run("export", "quad", "--format", "csv", "-o", target, "--storage", url)
        assert_clean_error(result, "study's database file", str(db))
        assert result.exit_code == 2
    assert db.read_bytes() == before
    assert tunesmith.load_study("quad", url).trials  # still a database


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
    assert data[0]["state"] == "FAILED" and math.isnan(data[0]["values"]["value"]) and "NaN" in data[0]["error"]
    assert data[1]["values"] == {"value": math.inf} and data[2]["values"] == {"value": -math.inf}
    assert data[3]["values"] == {"value": 0.25} and data[3]["state"] == "COMPLETE"
    for d, t in zip(data, study.trials, strict=True):
        assert d["params"] == t.params
        assert d["user_attrs"] == t.user_attrs

    stdout = run("export", "odd", "--format", "json", "--storage", url)
    assert stdout.exit_code == 0 and json.loads(stdout.stdout)[1]["values"] == {"value": math.inf}


# -- errors -----------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["show"], ["best"], ["export", "--format", "json"]])
def test_unknown_study_names_it_and_the_available_ones(url: str, command: list[str]) -> None:
    result = run(command[0], "nope", *command[1:], "--storage", url)
    assert_clean_error(result, "'nope'", "quad", "maxi")


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_file_that_is_not_a_database_is_reported_and_left_alone(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "junk.db"
    junk = random.Random(0).randbytes(8192)
    path.write_bytes(junk)
    for storage in (f"sqlite:///{path}", str(path)):
        result = run(*command, "--storage", storage)
        assert_clean_error(result, "junk.db")
        assert result.exit_code == 1 and result.stdout == ""
    assert path.read_bytes() == junk
    assert os.listdir(tmp_path) == ["junk.db"]  # no journal, WAL or shm file either


def test_a_foreign_sqlite_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    before = path.read_bytes()
    result = run("ls", "--storage", str(path))
    assert_clean_error(result, "tunesmith")
    assert result.exit_code == 1
    assert path.read_bytes() == before


def _copy_database(url: str, dest: Path, journal_mode: str = "wal") -> Path:
    """A copy that no open connection of the test touches, in WAL mode (as tunesmith writes it) or not."""
    dest.mkdir()
    copy = dest / "copy.db"
    src, dst = sqlite3.connect(url[len("sqlite:///"):]), sqlite3.connect(copy)
    src.backup(dst)
    dst.execute(f"PRAGMA journal_mode={journal_mode}")
    src.close()
    dst.close()
    assert copy.read_bytes()[18:20] == (b"\x02\x02" if journal_mode == "wal" else b"\x01\x01")  # the header's mode
    assert os.listdir(dest) == ["copy.db"]
    return copy


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
@pytest.mark.parametrize("command", READ_COMMANDS)
def test_read_commands_leave_a_read_only_database_untouched(
    url: str, tmp_path: Path, command: list[str], journal_mode: str,
) -> None:
    folder = tmp_path / "ro"
    path = _copy_database(url, folder, journal_mode)
    path.chmod(0o444)
    folder.chmod(0o555)  # root may write anyway: the bytes, times and listing tell
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    try:
        result = run(*command, "--storage", f"sqlite:///{path}")
        assert result.exit_code == 0, result.output
        assert "quad" in result.stdout or "number" in result.stdout
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # not even switched to WAL mode
        # A WAL reader may leave SQLite's index (-shm) and an empty log behind, never data.
        assert set(os.listdir(folder)) <= {"copy.db", "copy.db-wal", "copy.db-shm"}
        assert not (folder / "copy.db-wal").exists() or (folder / "copy.db-wal").stat().st_size == 0
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("command", READ_COMMANDS)
def test_a_damaged_database_is_a_one_line_error_not_partial_output(
    url: str, tmp_path: Path, command: list[str],
) -> None:
    path = _copy_database(url, tmp_path / "damaged")
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = b"\xff" * (len(data) - page_size)  # every page but the schema's is garbage
    path.write_bytes(bytes(data))
    result = run(*command, "--storage", f"sqlite:///{path}")
    assert_clean_error(result)
    assert result.exit_code == 1 and result.stdout == ""
    assert path.read_bytes() == data


@pytest.mark.parametrize("command", [*READ_COMMANDS, ["rm", "quad", "--yes"]])
def test_a_mistyped_path_is_a_usage_error_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "mistyped.db"
    for storage in (str(missing), f"sqlite:///{missing}"):
        result = run(*command, "--storage", storage)
        assert_clean_error(result, f"no database file at {missing}")
        assert result.exit_code == 2
    assert os.listdir(tmp_path) == []


def test_a_bad_url_is_a_usage_error() -> None:
    result = run("ls", "--storage", "mysql://nowhere/db")
    assert_clean_error(result, "not understood")
    assert result.exit_code == 2


def test_read_commands_create_no_tables_in_an_empty_postgres_database(postgres_url: str) -> None:
    import psycopg
    from psycopg import sql

    name = f"tunesmith_cli_empty_{os.getpid()}_{random.randrange(10**6)}"
    url = f"{postgres_url.rpartition('/')[0]}/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        for command in READ_COMMANDS:
            result = run(*command, "--storage", url)
            assert_clean_error(result, "no tunesmith tables")
            assert result.exit_code == 1
        with psycopg.connect(url) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
        assert tables == []
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
