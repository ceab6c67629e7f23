"""The SQL storage's hot path: statements compiled once, run on a DBAPI cursor.

SQLAlchemy builds and compiles every statement (so the SQL stays portable across
SQLite and PostgreSQL); only its per-execution machinery is skipped. Measured here,
that machinery costs ~20 µs per statement against ~2 µs for the cursor call, and a
trial takes about ten statements: it was most of the time of a trivial trial.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class CompiledStatement:
    """A Core statement compiled for one dialect; ``args`` orders the parameters."""

    __slots__ = ("defaults", "keys", "positional", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.keys: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Literal values in the statement (e.g. ``state=1``) become parameters too.
        self.defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}

    def args(self, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        merged = {**self.defaults, **params} if self.defaults else params
        if self.positional:
            return tuple(merged.get(k) for k in self.keys)
        return merged


class Session:
    """One DBAPI connection per thread, with explicit short transactions.

    The connection runs in the driver's autocommit mode on both backends: a statement
    outside :meth:`write` is a transaction of its own (PostgreSQL: one round trip, no
    BEGIN/COMMIT), and :meth:`write` issues BEGIN and COMMIT itself.
    """

    def __init__(self, engine: Engine, sqlite: bool) -> None:
        self._engine = engine
        self._sqlite = sqlite
        self._begin = "BEGIN IMMEDIATE" if sqlite else "BEGIN"
        self._local = threading.local()
        self._compiled: dict[int, CompiledStatement] = {}
        self._keep: list[ClauseElement] = []  # statements compiled by id() stay alive
        if not sqlite:
            # A connection goes back to the pool when closed (or when its thread is gone):
            # transactional again, as SQLAlchemy's own connections expect.
            event.listen(engine, "checkin", _leave_autocommit)

    def compile(self, stmt: ClauseElement) -> CompiledStatement:
        compiled = self._compiled.get(id(stmt))
        if compiled is None:
            compiled = self._compiled[id(stmt)] = CompiledStatement(stmt, self._engine.dialect)
            self._keep.append(stmt)
        return compiled

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._engine.raw_connection()
            if not self._sqlite:  # SQLite's is set up by SQLStorage (isolation_level None)
                driver = conn.driver_connection
                assert driver is not None
                driver.autocommit = True
        return conn

    @contextmanager
    def write(self) -> Iterator[Cursor]:
        """A transaction of several statements (SQLite: BEGIN IMMEDIATE, so writers queue on the lock)."""
        conn = self._connection()
        cur = conn.cursor()
        cur.execute(self._begin)
        try:
            yield Cursor(self, cur)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    @contextmanager
    def autocommit(self) -> Iterator[Cursor]:
        """Each statement a transaction of its own: reads, and changes made by one statement."""
        cur = self._connection().cursor()
        try:
            yield Cursor(self, cur)
        finally:
            cur.close()

    def read(self) -> AbstractContextManager[Cursor]:
        """Reads, statement by statement (see :meth:`autocommit`)."""
        return self.autocommit()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _leave_autocommit(dbapi_conn: Any, _record: Any) -> None:
    """Pool checkin (PostgreSQL): switch a connection the session used back to transactions."""
    if dbapi_conn is None or not getattr(dbapi_conn, "autocommit", False):
        return
    from psycopg.pq import TransactionStatus

    if dbapi_conn.info.transaction_status == TransactionStatus.IDLE:  # not broken, not mid-transaction
        dbapi_conn.autocommit = False


class Cursor:
    """Runs compiled statements: ``cur.execute(STMT, {...})`` with Core statement constants."""

    __slots__ = ("_cur", "_session")

    def __init__(self, session: Session, cur: Any) -> None:
        self._session = session
        self._cur = cur

    def execute(self, stmt: ClauseElement, params: Mapping[str, Any] | None = None) -> Any:
        compiled = self._session.compile(stmt)
        self._cur.execute(compiled.sql, compiled.args(params or {}))
        return self._cur

    def executemany(self, stmt: ClauseElement, rows: Sequence[Mapping[str, Any]]) -> None:
        compiled = self._session.compile(stmt)
        self._cur.executemany(compiled.sql, [compiled.args(r) for r in rows])

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)
