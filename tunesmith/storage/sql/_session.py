"""The SQL storage's access layer: statements compiled once, run on a DBAPI cursor, in short retried transactions.

SQLAlchemy builds and compiles every statement (so the SQL stays portable across
SQLite and PostgreSQL); only its per-execution machinery is skipped. Measured here,
that machinery costs ~20 µs per statement against ~2 µs for the cursor call, and a
trial takes about ten statements: it was most of the time of a trivial trial.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from tunesmith.storage._retry import RetryPolicy, retrying
from tunesmith.storage.sql._strategy import Strategy

__all__ = ["CompiledStatement", "Cursor", "Session"]

T = TypeVar("T")


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
    """One DBAPI connection per thread, with explicit short transactions, retried through transient errors.

    The connection runs in the driver's autocommit mode on both backends (set up by the
    strategy): a statement outside a transaction is a transaction of its own
    (PostgreSQL: one round trip, no BEGIN/COMMIT), and :meth:`run` issues BEGIN and
    COMMIT itself. A connection that failed is dropped, and the call runs again on a
    fresh one (see :mod:`tunesmith.storage._retry`).
    """

    def __init__(self, engine: Engine, strategy: Strategy, policy: RetryPolicy) -> None:
        self._engine = engine
        self._strategy = strategy
        self._policy = policy
        self._where = strategy.where
        self._local = threading.local()
        self._compiled: dict[int, CompiledStatement] = {}
        self._keep: list[ClauseElement] = []  # statements compiled by id() stay alive

    def compile(self, stmt: ClauseElement) -> CompiledStatement:
        compiled = self._compiled.get(id(stmt))
        if compiled is None:
            compiled = self._compiled[id(stmt)] = CompiledStatement(stmt, self._engine.dialect)
            self._keep.append(stmt)
        return compiled

    def run(self, what: str, fn: Callable[[Cursor, bool], T], *, transaction: bool = True) -> T:
        """``fn(cursor, retry)`` in one transaction (or, with ``transaction=False``, each statement on its own).

        Retried on a fresh connection through transient errors; ``retry`` tells ``fn`` that
        an earlier try may have committed (its connection broke after COMMIT was sent).
        Database errors come out as StorageError.
        """

        def call(retry: bool) -> T:
            with self._transaction() if transaction else self._statements() as cur:
                return fn(cur, retry)

        return retrying(what, self._where, self._policy, call, self._discard, self._strategy.transient_reason)

    def rows(self, what: str, stmt: Any, args: Mapping[str, Any]) -> list[Any]:
        """The rows of one statement run on its own (retried like every call)."""
        return self.run(what, lambda cur, _: cur.execute(stmt, args).fetchall(), transaction=False)

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._engine.raw_connection()
            self._strategy.prepare(conn)
            self._local.conn = conn
        return conn

    def _discard(self) -> None:
        """Drop this thread's connection (it may be broken); the next call opens a fresh one."""
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()  # closes the DBAPI connection and gives the pool its slot back

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        """A transaction of several statements (SQLite: BEGIN IMMEDIATE, so writers queue on the lock)."""
        cur = self._connection().cursor()
        try:
            self.execute_raw(cur, self._strategy.begin)
            try:
                yield Cursor(self, cur)
            except BaseException:
                try:
                    self.execute_raw(cur, "ROLLBACK")
                except Exception:  # the connection broke: the first error is the one that matters
                    self._discard()
                raise
            self.execute_raw(cur, "COMMIT")
        finally:
            with contextlib.suppress(Exception):
                cur.close()

    @contextmanager
    def _statements(self) -> Iterator[Cursor]:
        """Each statement a transaction of its own: reads, and changes made by one statement."""
        cur = self._connection().cursor()
        try:
            yield Cursor(self, cur)
        finally:
            with contextlib.suppress(Exception):
                cur.close()

    @staticmethod
    def execute_raw(cur: Any, sql: str) -> None:
        """BEGIN, COMMIT, ROLLBACK (a seam for tests that break a connection at its commit)."""
        cur.execute(sql)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with contextlib.suppress(Exception):
                conn.close()


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
