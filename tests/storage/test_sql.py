"""SQL storage specifics on SQLite: refusing foreign files, reopening, WAL, indexed queries."""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tunesmith.distributions import CategoricalDistribution, FloatDistribution
from tunesmith.exceptions import SchemaVersionError, StorageError
from tunesmith.storage import SQLStorage
from tunesmith.storage.sql._schema import SCHEMA_VERSION
from tunesmith.storage.sql._session import Cursor
from tunesmith.storage.sql.sqlite import CHANGED
from tunesmith.trial import TrialState


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "study.db"


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def storage(db_path: Path) -> Iterator[SQLStorage]:
    s = SQLStorage(_url(db_path))
    yield s
    s.close()


def _file_state(path: Path) -> tuple[bytes, list[str]]:
    """The file's bytes and what lies beside it (a journal or WAL would show up here)."""
    return path.read_bytes(), sorted(p.name for p in path.parent.iterdir())


def _populate(storage: SQLStorage, name: str = "s", n: int = 12) -> int:
    sid = storage.create_study(name, ["minimize"], ["loss"]).study_id
    states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED, TrialState.RUNNING]
    for i in range(n):
        t = storage.start_trial(sid)
        storage.update_trial(
            sid, t.trial_id, params={"x": i / n, "c": i % 2}, user_attrs={"i": i},
            distributions={"x": FloatDistribution(0.0, 1.0), "c": CategoricalDistribution(("a", "b"))},
            attempt=t.attempt,
        )
        storage.append_report(sid, t.trial_id, 0, {"loss": float(i)}, attempt=t.attempt)
        state = states[i % len(states)]
        if state != TrialState.RUNNING:
            storage.finish_trial(
                sid, t.trial_id, state, None if state == TrialState.FAILED else [float(n - i)], attempt=t.attempt,
            )
    storage.enqueue_trial(sid, {"x": 0.5})
    return sid


# -- files that are not ours are refused and left alone -----------------------------------
def test_file_that_is_not_a_database(db_path: Path) -> None:
    db_path.write_bytes(random.Random(0).randbytes(64 * 1024))
    before = _file_state(db_path)
    with pytest.raises(StorageError, match=r"study\.db"):
        SQLStorage(_url(db_path))
    assert _file_state(db_path) == before


def test_database_of_another_application(db_path: Path) -> None:
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    con.executemany("INSERT INTO users (name) VALUES (?)", [("ada",), ("grace",)])
    con.commit()
    con.close()
    before = _file_state(db_path)
    with pytest.raises(StorageError, match="users") as exc:
        SQLStorage(_url(db_path))
    assert "not a tunesmith database" in str(exc.value)
    assert _file_state(db_path) == before
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT name FROM users ORDER BY id").fetchall() == [("ada",), ("grace",)]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    con.close()


@pytest.mark.parametrize(("found", "words"), [(999, ("999", "newer", "upgrade")), (0, ("0", "older"))])
def test_database_of_another_schema_version(db_path: Path, found: int, words: tuple[str, ...]) -> None:
    first = SQLStorage(_url(db_path))
    _populate(first)
    first.close()
    con = sqlite3.connect(db_path)
    con.execute("UPDATE tunesmith_meta SET value = ? WHERE key = 'schema_version'", (str(found),))
    con.commit()
    con.close()  # the last connection: the WAL is checkpointed into the file and removed
    before = _file_state(db_path)
    assert before[1] == ["study.db"]
    with pytest.raises(SchemaVersionError) as exc:
        SQLStorage(_url(db_path))
    message = str(exc.value)
    assert str(db_path) in message and str(SCHEMA_VERSION) in message
    for word in words:
        assert word in message
    assert _file_state(db_path)[0] == before[0]


def test_schema_1_database_is_migrated(db_path: Path) -> None:
    """Schema 2 changed PostgreSQL only: a SQLite file of schema 1 is taken as it is."""
    first = SQLStorage(_url(db_path))
    sid = _populate(first)
    trials, version = first.get_trials(sid)
    # Schema 3 adds the attempt (0 for older trials) and owner columns.
    expected = (
        ([t.evolve(attempt=0, owner=None) for t in trials], version),
        [first.get_reports(sid, t.trial_id) for t in trials],
    )
    first.close()
    con = sqlite3.connect(db_path)
    con.execute("ALTER TABLE tunesmith_trials DROP COLUMN attempt")
    con.execute("ALTER TABLE tunesmith_trials DROP COLUMN owner")
    con.execute("UPDATE tunesmith_meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    again = SQLStorage(_url(db_path))
    assert (again.get_trials(sid), [again.get_reports(sid, t.trial_id) for t in again.get_trials(sid)[0]]) == expected
    assert again.start_trial(sid).number == 12  # the queued trial, then new numbers
    assert again.start_trial(sid).number == 13
    again.close()
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT value FROM tunesmith_meta").fetchall() == [(str(SCHEMA_VERSION),)]
    con.close()


def test_memory_url_is_refused() -> None:
    with pytest.raises(ValueError, match="InMemoryStorage"):
        SQLStorage("sqlite:///:memory:")


def test_unknown_dialect_is_a_storage_error() -> None:
    with pytest.raises(StorageError, match="nosuchdb"):
        SQLStorage("nosuchdb://host/db")


# -- reopening -------------------------------------------------------------------------------
def test_reopen_keeps_everything(storage: SQLStorage, db_path: Path) -> None:
    sid = _populate(storage, "first")
    other = _populate(storage, "second", n=5)
    trials, version = storage.get_trials(sid)

    def view(s: SQLStorage) -> Any:
        return (
            [(x.name, x.directions, x.metric_names, x.n_trials, x.counts, x.best_value, x.created_at)
             for x in s.list_studies()],
            {n: d.to_json() for n, d in s.get_study("first").distributions.items()},
            s.get_trials(sid), s.get_trials(other),
            [s.get_reports(sid, t.trial_id) for t in trials],
            s.best_trial(sid, False), s.best_trial(sid, True),
        )

    expected = view(storage)
    assert len(trials) == 13 and version > 0 and math.isfinite(expected[0][0][5])
    second = SQLStorage(_url(db_path))  # alongside the first handle
    assert view(second) == expected
    second.close()
    storage.close()
    third = SQLStorage(_url(db_path))  # after every connection closed
    assert view(third) == expected
    queued = third.start_trial(sid)  # the queue survived too
    assert (queued.number, queued.system_attrs) == (12, {"fixed_params": {"x": 0.5}})
    assert third.start_trial(sid).number == 13
    third.close()


# -- SQLite settings and query plans -----------------------------------------------------------
def test_wal_mode(storage: SQLStorage, db_path: Path) -> None:
    storage.create_study("s", ["minimize"], ["loss"])
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    with storage._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0


def _query_plans(storage: SQLStorage, db_path: Path, call: Callable[[], object]) -> list[str]:
    """EXPLAIN QUERY PLAN of every SELECT the storage runs during ``call`` (on its DBAPI cursors)."""
    seen: list[tuple[str, Any]] = []
    execute = Cursor.execute

    def grab(self: Cursor, stmt: Any, params: Any = None) -> Any:
        compiled = storage._session.compile(stmt)
        seen.append((compiled.sql, compiled.args(params or {})))
        return execute(self, stmt, params)

    Cursor.execute = grab  # type: ignore[method-assign]
    try:
        call()
    finally:
        Cursor.execute = execute  # type: ignore[method-assign]
    con = sqlite3.connect(db_path)
    try:
        return [
            " | ".join(row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {statement}", parameters))
            for statement, parameters in seen if statement.lstrip().upper().startswith("SELECT")
        ]
    finally:
        con.close()


@pytest.mark.parametrize("what", ["best_minimize", "best_maximize", "count"])
def test_best_and_count_use_a_state_index(storage: SQLStorage, db_path: Path, what: str) -> None:
    sid = _populate(storage, n=60)
    calls: dict[str, Callable[[], object]] = {
        "best_minimize": lambda: storage.best_trial(sid, maximize=False),
        "best_maximize": lambda: storage.best_trial(sid, maximize=True),
        "count": lambda: storage.count_trials(sid),
    }
    plans = _query_plans(storage, db_path, calls[what])
    assert len(plans) == 1, plans
    plan = plans[0]
    # best needs (study_id, state, value); a count may use either (study_id, state, ...) index.
    wanted = ("ix_tunesmith_trials_state_value",) if what.startswith("best") else (
        "ix_tunesmith_trials_state_value", "ix_tunesmith_trials_state_number")
    assert any(name in plan for name in wanted), plan
    assert "SCAN tunesmith_trials" not in plan, plan  # no full table (or full index) scan
    assert "TEMP B-TREE" not in plan, plan  # the index order serves ORDER BY / GROUP BY


def test_changed_trials_use_the_version_index(storage: SQLStorage, db_path: Path) -> None:
    sid = _populate(storage, n=60)
    _, version = storage.get_trials(sid)
    # get_trials runs its SQL (compiled once by SQLAlchemy) straight on the DBAPI cursor.
    compiled = storage._session.compile(CHANGED)
    con = sqlite3.connect(db_path)
    try:
        args = compiled.args({"sid": sid, "since": version - 3})
        plans = [" | ".join(row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {compiled.sql}", args))]
    finally:
        con.close()
    assert len(plans) == 1 and "ix_tunesmith_trials_version" in plans[0], plans
    assert "SCAN tunesmith_trials" not in plans[0] and "TEMP B-TREE" not in plans[0], plans


def test_queue_lookup_uses_the_state_number_index(storage: SQLStorage, db_path: Path) -> None:
    from tunesmith.storage.sql.sqlite import FIRST_WAITING

    sid = _populate(storage, n=60)
    compiled = storage._session.compile(FIRST_WAITING)
    con = sqlite3.connect(db_path)
    try:
        plan = " | ".join(
            row[3] for row in con.execute(f"EXPLAIN QUERY PLAN {compiled.sql}", compiled.args({"sid": sid}))
        )
    finally:
        con.close()
    # Without it SQLite walks every trial of the study in number order (cost grows with the study).
    assert "ix_tunesmith_trials_state_number" in plan and "TEMP B-TREE" not in plan, plan


def test_schema_2_database_is_migrated(db_path: Path) -> None:
    """Schema 3 adds the lease token (attempt) and owner of each trial; older trials get attempt 0."""
    first = SQLStorage(_url(db_path))
    sid = _populate(first)  # leaves RUNNING trials and a queued one
    before = {t.trial_id: t for t in first.get_trials(sid)[0]}
    first.close()
    con = sqlite3.connect(db_path)
    con.execute("ALTER TABLE tunesmith_trials DROP COLUMN attempt")
    con.execute("ALTER TABLE tunesmith_trials DROP COLUMN owner")
    con.execute("UPDATE tunesmith_meta SET value = '2' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    again = SQLStorage(_url(db_path))
    after = {t.trial_id: t for t in again.get_trials(sid)[0]}
    assert after == {i: t.evolve(attempt=0, owner=None) for i, t in before.items()}
    running = next(t for t in after.values() if t.state == TrialState.RUNNING)
    # A trial running when the database was migrated is still written as attempt 0.
    again.append_report(sid, running.trial_id, 5, {"loss": 0.1}, attempt=0)
    queued = again.start_trial(sid, owner="me")
    assert (queued.number, queued.attempt, queued.owner) == (12, 1, "me")
    again.close()
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT value FROM tunesmith_meta").fetchall() == [(str(SCHEMA_VERSION),)]
    con.close()
