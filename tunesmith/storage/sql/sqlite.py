"""The SQLite strategy: one writer at a time, the counters on the study row.

SQLite runs in WAL mode with a busy timeout; every write is one short
``BEGIN IMMEDIATE`` transaction, so concurrent writers queue instead of failing
with "database is locked". Every write first bumps the study's row, the counter of
trial numbers and change versions: versions grow in commit order, and a reader
needs no horizon.

Opened read-only, a file is opened through a ``mode=ro`` URI (a missing file is an
error, never created) and no ``PRAGMA`` that changes it is issued.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import String, bindparam, event, func, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from tunesmith.exceptions import StorageError, StudyNotFoundError
from tunesmith.storage._retry import driver_error
from tunesmith.storage.sql._database import checked, make_engine
from tunesmith.storage.sql._schema import check_schema, ensure_schema, studies, trials
from tunesmith.storage.sql._statements import (
    I_VERSION,
    INSERT_STUDY_PARAM,
    PAUSED,
    RUNNING,
    STARTED_BY,
    WAITING,
    trial_from_row,
)
from tunesmith.storage.sql._strategy import Strategy
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.storage.sql._session import Cursor, Session

__all__ = ["SQLiteStrategy"]

# Messages of sqlite3.OperationalError that may pass when tried again.
_TRANSIENT = ("database is locked", "database table is locked", "database is busy", "disk i/o error",
              "database or disk is full")

BUMP = (
    studies.update().where(studies.c.study_id == bindparam("sid"))
    .values(version=studies.c.version + 1).returning(studies.c.version, studies.c.next_number)
)
BUMP_NUMBER = (
    studies.update().where(studies.c.study_id == bindparam("sid"))
    .values(version=studies.c.version + 1, next_number=studies.c.next_number + 1)
    .returning(studies.c.version, studies.c.next_number)
)
UNBUMP_NUMBER = (
    studies.update().where(studies.c.study_id == bindparam("sid"))
    .values(next_number=studies.c.next_number - 1)
)
FIRST_WAITING = (
    select(trials.c.trial_id).where(trials.c.study_id == bindparam("sid"), trials.c.state == WAITING)
    .order_by(trials.c.number).limit(1)
)
INSERT_RUNNING = trials.insert().values(
    study_id=bindparam("sid"), number=bindparam("number"), state=RUNNING, params="{}", user_attrs="{}",
    system_attrs="{}", started_at=bindparam("now"), heartbeat_at=bindparam("now"), version=bindparam("version"),
    attempt=1, owner=bindparam("owner", type_=String),
).returning(trials.c.trial_id)
INSERT_WAITING = trials.insert().values(
    study_id=bindparam("sid"), number=bindparam("number"), state=WAITING, params="{}", user_attrs="{}",
    system_attrs=bindparam("system_attrs"), version=bindparam("version"), attempt=0,
)
CLAIM_WAITING = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == WAITING)
    .values(state=RUNNING, started_at=bindparam("now"), heartbeat_at=bindparam("now"), version=bindparam("version"),
            attempt=trials.c.attempt + 1, owner=bindparam("owner", type_=String))
    .returning(*trials.c)
)
FINISH_PAUSED = (
    trials.update().where(trials.c.study_id == bindparam("sid"), trials.c.state == PAUSED)
    .values(state=int(TrialState.PRUNED), finished_at=func.coalesce(trials.c.finished_at, bindparam("now")),
            version=bindparam("version"))
    .returning(*trials.c)
)

CHANGED = (
    select(trials).where(trials.c.study_id == bindparam("sid"), trials.c.version > bindparam("since"))
    .order_by(trials.c.version)
)


class SQLiteStrategy(Strategy):
    """SQLite: writers take turns on the database lock (``BEGIN IMMEDIATE``)."""

    name = "sqlite"
    begin = "BEGIN IMMEDIATE"

    # -- connections and errors -------------------------------------------------------
    def open(self, url: str, *, read_only: bool, busy_timeout: float) -> Engine:
        if read_only:
            return _open_read_only(url, self.where, busy_timeout)
        engine = make_engine(url, self.where)
        _setup(engine, busy_timeout, read_only=False)
        ensure_schema(engine, self.where)
        with engine.connect().execution_options(tunesmith_read=True) as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine

    def transient_reason(self, err: BaseException) -> str | None:
        if isinstance(err, sqlite3.OperationalError):
            text = str(err)
            return text if any(t in text.lower() for t in _TRANSIENT) else None
        return None

    def is_integrity_error(self, err: BaseException) -> bool:
        return isinstance(driver_error(err), sqlite3.IntegrityError)

    # -- writes -----------------------------------------------------------------------
    def begin_change(self, cur: Cursor, study_id: int, report: bool = False) -> int:
        """The study's counter, bumped (every write holds the database lock: reports too)."""
        row = cur.execute(BUMP, {"sid": study_id}).fetchone()
        return 0 if row is None else int(row[0])  # None: the study was deleted, none of its trials match

    def _bump_number(self, cur: Cursor, study_id: int) -> tuple[int, int]:
        """The study's next version and trial number, taken."""
        row = cur.execute(BUMP_NUMBER, {"sid": study_id}).fetchone()
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self.where} (deleted?)")
        return int(row[0]), int(row[1])

    def enqueue_trial(self, session: Session, study_id: int, system_attrs: str) -> int:
        def enqueue(cur: Cursor, retry: bool) -> int:
            version, next_number = self._bump_number(cur, study_id)
            args = {"sid": study_id, "number": next_number - 1, "system_attrs": system_attrs, "version": version}
            cur.execute(INSERT_WAITING, args)
            return int(next_number - 1)

        return session.run("enqueue_trial", enqueue)

    def start_trial(self, session: Session, args: Mapping[str, Any]) -> FrozenTrial:
        study_id, now, owner = args["sid"], args["now"], args["owner"]

        def start(cur: Cursor, retry: bool) -> FrozenTrial:
            if retry and (row := cur.execute(STARTED_BY, args).fetchone()) is not None:
                return trial_from_row(row)
            version, next_number = self._bump_number(cur, study_id)
            waiting = cur.execute(FIRST_WAITING, {"sid": study_id}).fetchone()
            if waiting is not None:
                cur.execute(UNBUMP_NUMBER, {"sid": study_id})
                claim = {"tid": waiting[0], "now": now, "version": version, "owner": owner}
                return trial_from_row(cur.execute(CLAIM_WAITING, claim).fetchone())
            new = {**args, "number": next_number - 1, "version": version}
            trial_id = cur.execute(INSERT_RUNNING, new).fetchone()[0]
            return FrozenTrial(
                next_number - 1, TrialState.RUNNING, started_at=now, heartbeat_at=now, trial_id=trial_id,
                attempt=1, owner=owner,
            )

        return session.run("start_trial", start)

    def insert_params(self, cur: Cursor, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        cur.executemany(INSERT_STUDY_PARAM, rows)  # no other writer since the registry was read
        return set()

    def finish_paused(self, session: Session, args: Mapping[str, Any]) -> list[Any]:
        def finish(cur: Cursor, retry: bool) -> list[Any]:
            return cur.execute(FINISH_PAUSED, {**args, "version": self.begin_change(cur, args["sid"])}).fetchall()

        return session.run("finish_paused", finish)

    def changed_trials(self, session: Session, study_id: int, since: int) -> tuple[list[FrozenTrial], int]:
        rows = session.rows("get_trials", CHANGED, {"sid": study_id, "since": since})
        if not rows:
            return [], since
        return [trial_from_row(r) for r in rows], int(rows[-1][I_VERSION])


# -- opening a file ---------------------------------------------------------------------
def _setup(engine: Engine, busy_timeout: float, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if not read_only:
            cur.execute("PRAGMA synchronous = NORMAL")  # durable in WAL mode up to power loss
            cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    if read_only:
        return

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("tunesmith_read"):
            return  # reads run statement by statement, in autocommit
        # Take the write lock up front: a deferred transaction that later writes can
        # fail with SQLITE_BUSY without waiting, whatever the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _open_read_only(url: str, where: str, busy_timeout: float) -> Engine:
    path = make_url(url).database or ""
    shown = os.path.abspath(path)
    if not os.path.exists(path):
        raise StorageError(f"no database file at {shown} ({where}); nothing was created")
    if os.path.isdir(path):
        raise StorageError(f"{shown} is a directory, not a tunesmith database file")
    if os.path.getsize(path) == 0:
        raise StorageError(f"{shown} has no tunesmith tables (the file is empty)")
    uri = "file:" + quote(shown.replace(os.sep, "/"), safe="/:")
    engine = _read_only_engine(uri, where, busy_timeout, {})
    try:
        _check(engine, shown)
    except _WalIndexError:
        # A WAL database needs its -shm file, which a reader cannot create in a folder it
        # may not write. With no -wal file no writer has the database open: read it as
        # immutable (no locks, no side files).
        engine.dispose()
        if os.path.exists(path + "-wal"):
            raise StorageError(
                f"cannot read {shown}: it is in WAL mode and its -shm file cannot be created here "
                "(ask for write access to the folder, or open it where a writer runs)"
            ) from None
        engine = _read_only_engine(uri, where, busy_timeout, {"immutable": "1"})
        _check(engine, shown)
    return engine


def _read_only_engine(uri: str, where: str, busy_timeout: float, extra: dict[str, str]) -> Engine:
    url = URL.create("sqlite+pysqlite", database=uri, query={"mode": "ro", **extra, "uri": "true"})
    engine = make_engine(url, where)
    _setup(engine, busy_timeout, read_only=True)
    return engine


class _WalIndexError(Exception):
    """SQLite could open the file read-only but not its WAL index (a read-only folder)."""


def _check(engine: Engine, shown: str) -> None:
    """The read-only schema check, with SQLite's errors told apart: no WAL index, not a database file."""

    def check() -> None:
        try:
            check_schema(engine, shown)
        except DBAPIError as e:
            orig, text = e.orig, str(e.orig)
            if isinstance(orig, sqlite3.OperationalError) and ("readonly" in text or "unable to open" in text):
                raise _WalIndexError() from e
            if isinstance(orig, sqlite3.DatabaseError) and "not a database" in text:
                raise StorageError(
                    f"{shown} is not a tunesmith database: it is not a SQLite database file (SQLite says: {text})"
                ) from e
            raise

    checked(engine, shown, check)
