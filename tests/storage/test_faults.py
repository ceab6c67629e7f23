"""Faults a storage must ride out: lost connections, idle timeouts, held locks, commits whose reply was lost.

PostgreSQL connections are killed for real (``pg_terminate_backend``) and timed out by
the server (``idle_session_timeout``); SQLite's lock is held by another connection.
After each fault the same storage object goes on: nothing raised, nothing lost, nothing
written twice. Errors that cannot pass are StorageErrors that say why.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from tunesmith.distributions import FloatDistribution
from tunesmith.exceptions import StorageError
from tunesmith.execution._heartbeat import Heartbeat
from tunesmith.storage import SQLStorage
from tunesmith.storage.sql._session import Cursor, Session
from tunesmith.storage.sql.postgres import PG_FINISH, PG_FINISH_WITH_PARAMS, pg_inserts
from tunesmith.trial import TrialState

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def pg_url(fresh_postgres_url: str) -> str:
    """A database of this test's own (the kills and schema changes below reach only it)."""
    return fresh_postgres_url


_KILL = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


def _kill_backends(url: str) -> int:
    """Terminate every other connection to the database; how many there were."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(_KILL).fetchone()
    return int(row[0])


def _trial_calls(storage: SQLStorage, sid: int) -> list[tuple[str, Callable[[], Any]]]:
    """One call of each kind a worker makes, on a trial started here."""
    t = storage.start_trial(sid, owner="me")
    x = FloatDistribution(0.0, 1.0)
    return [
        ("update_trial", lambda: storage.update_trial(sid, t.trial_id, {"x": 0.5}, {"x": x}, attempt=t.attempt)),
        ("heartbeat", lambda: storage.heartbeat(sid, t.trial_id, t.attempt)),
        ("append_report", lambda: storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)),
        ("get_trials", lambda: storage.get_trials(sid)),
        ("get_study_reports", lambda: storage.get_study_reports(sid)),
        ("count_trials", lambda: storage.count_trials(sid)),
        ("list_studies", lambda: storage.list_studies()),
        ("get_study", lambda: storage.get_study("s")),
        ("recover_trials", lambda: storage.recover_trials(sid, stale_before=time.time() - 60)),
        ("enqueue_trial", lambda: storage.enqueue_trial(sid, {"x": 0.25})),
        ("finish_trial", lambda: storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [0.5], attempt=t.attempt)),
        ("start_trial", lambda: storage.start_trial(sid)),
        ("best_trial", lambda: storage.best_trial(sid, False)),
    ]


# -- PostgreSQL: connections killed ----------------------------------------------------------
def test_every_call_goes_on_after_its_connection_is_killed(pg_url: str) -> None:
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    for what, call in _trial_calls(storage, sid):
        assert _kill_backends(pg_url) >= 1, what  # the storage's connection was there, and is gone
        call()
    trials = {t.number: t for t in storage.get_trials(sid)[0]}
    assert [trials[n].state for n in sorted(trials)] == [TrialState.COMPLETE, TrialState.RUNNING]
    assert trials[0].values == [0.5] and trials[0].internal_params == {"x": 0.5}
    assert storage.get_reports(sid, trials[0].trial_id) == [(0, {"loss": 1.0})]
    assert trials[1].system_attrs["fixed_params"] == {"x": 0.25}  # the queued trial, started last
    storage.close()


def test_writes_survive_connections_killed_while_they_run(pg_url: str) -> None:
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    stop = threading.Event()
    kills = [0]

    def killer() -> None:  # at random moments, a few times a second: mid-statement, mid-commit...
        pause = random.Random(0)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            while not stop.wait(pause.uniform(0.05, 0.25)):
                kills[0] += int(conn.execute(_KILL).fetchone()[0])

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    n_trials, n_steps = 0, 3
    try:
        # At least 15 trials, and on until the killer has struck a few times (a fast machine
        # may run 15 trials before its first strike); bounded in trials, not in time.
        while n_trials < 15 or (kills[0] < 3 and n_trials < 2000):
            n_trials += 1
            t = storage.start_trial(sid)
            storage.update_trial(sid, t.trial_id, {"x": t.number / 2000}, attempt=t.attempt)
            for step in range(n_steps):
                storage.append_report(sid, t.trial_id, step, {"loss": float(step)}, attempt=t.attempt)
            storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [float(t.number)], attempt=t.attempt)
    finally:
        stop.set()
        th.join(timeout=10)
    assert kills[0] > 0
    trials = storage.get_trials(sid)[0]
    assert sorted(t.number for t in trials) == list(range(n_trials))  # none lost, none started twice
    assert all(t.state == TrialState.COMPLETE and t.values == [float(t.number)] for t in trials)
    for t in trials:  # every report once
        assert storage.get_reports(sid, t.trial_id) == [(s, {"loss": float(s)}) for s in range(n_steps)]
    storage.close()


def test_idle_session_timeout(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{make_url(pg_url).database}" SET idle_session_timeout = 200')  # ms
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    for step in range(3):
        time.sleep(0.5)  # longer than the timeout: the server closed our connection meanwhile
        storage.append_report(sid, t.trial_id, step, {"loss": 1.0}, attempt=t.attempt)
        storage.get_trials(sid)
    time.sleep(0.5)
    done = storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
    assert done.state == TrialState.COMPLETE and len(storage.get_reports(sid, t.trial_id)) == 3
    storage.close()


def test_heartbeat_renews_after_its_connection_is_killed(pg_url: str) -> None:
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    with Heartbeat(storage, sid, interval=0.05, grace=60.0, max_retries=0) as beat:
        beat.running(t.trial_id, t.attempt)
        for _ in range(3):
            _kill_backends(pg_url)
            before = storage.get_trials(sid)[0][0].heartbeat_at
            deadline = time.monotonic() + 30
            while storage.get_trials(sid)[0][0].heartbeat_at == before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert storage.get_trials(sid)[0][0].heartbeat_at != before  # renewed on a fresh connection
    storage.close()


def test_a_database_that_is_gone_is_a_storage_error(
    pg_url: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    storage = SQLStorage(pg_url)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{make_url(pg_url).database}" WITH (FORCE)')
    pauses: list[float] = []
    monkeypatch.setattr("tunesmith.storage._retry.time.sleep", pauses.append)
    with pytest.raises(StorageError, match="does not exist"):
        storage.start_trial(sid)
    # One pause after the connection was cut; none once the server said the database is gone.
    assert len(pauses) <= 1
    storage.close()


# -- a commit that went through, though its reply was lost -----------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/s.db"
    return str(request.getfixturevalue("pg_url"))


class _LostReply:
    """Make the next commit (or one-statement write) succeed, then fail as if its connection broke."""

    def __init__(self, storage: SQLStorage, monkeypatch: pytest.MonkeyPatch) -> None:
        self.armed = False
        self.fired = 0
        error: Exception = (
            sqlite3.OperationalError("database is locked") if storage._strategy.name == "sqlite"
            else psycopg.OperationalError("server closed the connection unexpectedly")
        )
        one_statement = {id(pg_inserts().start), id(PG_FINISH), id(PG_FINISH_WITH_PARAMS)}
        execute_raw, execute = Session.execute_raw, Cursor.execute

        def fire() -> None:
            self.armed = False
            self.fired += 1
            raise error

        def raw(cur: Any, sql: str) -> None:
            execute_raw(cur, sql)
            if sql == "COMMIT" and self.armed:
                fire()

        def statement(cursor: Cursor, stmt: Any, params: Any = None) -> Any:
            out = execute(cursor, stmt, params)
            if id(stmt) in one_statement and self.armed:
                fire()
            return out

        monkeypatch.setattr(Session, "execute_raw", staticmethod(raw))
        monkeypatch.setattr(Cursor, "execute", statement)

    def __enter__(self) -> _LostReply:
        self.armed, self.fired = True, 0
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.fired == 1, "the fault was not injected"


def test_writes_whose_commit_reply_was_lost_are_not_repeated(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SQLStorage(url)
    lost = _LostReply(storage, monkeypatch)
    with lost:
        sid = storage.create_study("s", ["minimize"], ["loss"]).study_id  # not "already exists"
    with lost:
        t = storage.start_trial(sid, owner="me")
    assert [(x.number, x.trial_id, x.attempt) for x in storage.get_trials(sid)[0]] == [(0, t.trial_id, 1)]
    with lost:
        storage.update_trial(sid, t.trial_id, {"x": 0.5}, {"x": FloatDistribution(0.0, 1.0)}, attempt=t.attempt)
    with lost:
        storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)
    assert storage.get_reports(sid, t.trial_id) == [(0, {"loss": 1.0})]
    with lost:
        done = storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
    assert (done.state, done.values, done.internal_params) == (TrialState.COMPLETE, [1.0], {"x": 0.5})
    paused = storage.start_trial(sid)
    with lost:  # the finish that needs a transaction on PostgreSQL too (it registers a name)
        storage.finish_trial(
            sid, paused.trial_id, TrialState.PAUSED, [2.0], params={"y": 1}, user_attrs={},
            distributions={"y": FloatDistribution(0.0, 2.0)}, attempt=paused.attempt,
        )
    with lost:
        assert storage.resume_trial(sid, paused.trial_id) in (True, False)
    with lost:
        storage.delete_study("s")  # not "no study named"
    assert storage.list_studies() == []
    storage.close()


# -- SQLite: the lock held by another program ------------------------------------------------------
def _hold_write_lock(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")
    return con


def test_sqlite_lock_held_past_the_busy_timeout_is_waited_out(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    storage = SQLStorage(f"sqlite:///{path}", busy_timeout=0.05)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    holder = _hold_write_lock(path)
    timer = threading.Timer(0.5, holder.rollback)  # ten busy timeouts later
    timer.start()
    try:
        storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)
    finally:
        timer.join()
        holder.close()
    assert storage.get_reports(sid, t.trial_id) == [(0, {"loss": 1.0})]
    storage.close()


def test_sqlite_lock_held_past_the_retry_timeout_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    storage = SQLStorage(f"sqlite:///{path}", busy_timeout=0.02, retry_timeout=0.2)
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    holder = _hold_write_lock(path)
    try:
        with pytest.raises(StorageError, match="database is locked") as exc:
            storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt)
        assert "finish_trial" in str(exc.value) and "tries" in str(exc.value)
        assert storage.get_trials(sid)[0][0].state == TrialState.RUNNING  # readers are not blocked
    finally:
        holder.rollback()
        holder.close()
    assert storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt).values == [1.0]
    storage.close()


def test_lasting_database_error_is_a_storage_error_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.db"
    storage = SQLStorage(f"sqlite:///{path}")
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE tunesmith_reports")  # another program broke the database
    con.close()
    pauses: list[float] = []
    monkeypatch.setattr("tunesmith.storage._retry.time.sleep", pauses.append)
    with pytest.raises(StorageError, match=r"append_report failed on .*s\.db: no such table: tunesmith_reports"):
        storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt)
    assert pauses == []
    assert storage.get_trials(sid)[0][0].last_step is None  # rolled back whole
    storage.close()
