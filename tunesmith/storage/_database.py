"""Opening a SQL database for :class:`~tunesmith.storage.SQLStorage`: the engine for a URL, and its schema.

Opened for writing, an empty database gets the tables and an older schema is migrated
(see :mod:`._schema`); SQLite files switch to WAL mode. Opened read-only, nothing is
written at all: no tables, no migration, no ``PRAGMA`` that changes the file. A SQLite
file is then opened through a ``mode=ro`` URI (a missing file is an error, never
created); a PostgreSQL session runs with ``default_transaction_read_only``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from tunesmith.exceptions import SchemaVersionError, StorageError
from tunesmith.storage._schema import check_schema, ensure_schema

__all__ = ["Database", "check_url", "open_database"]


@dataclass
class Database:
    """An open engine and what the storage needs to know about it."""

    engine: Engine
    sqlite: bool
    #: the URL as shown in messages (no password)
    where: str


def check_url(url: str) -> None:
    """ValueError for URLs that must not be opened: SQLite in memory, PostgreSQL without a database name.

    Without a database name libpq falls back to defaults (the user's name, ``PGDATABASE``),
    and tunesmith would create its tables in whatever database that is.
    """
    if url in ("sqlite://", "sqlite:///:memory:") or (url.startswith("sqlite") and url.endswith(":memory:")):
        raise ValueError("use InMemoryStorage (storage=None) for an in-memory study, not SQLite :memory:")
    if url.startswith(("postgresql", "postgres:")):
        try:
            parsed = make_url(url)
        except Exception as e:
            raise ValueError(f"storage URL {url!r} is not a valid URL: {e}") from None
        if not parsed.database and not parsed.query.get("dbname"):
            shown = parsed.render_as_string(hide_password=True)
            raise ValueError(
                f"storage URL {shown!r} names no database; name one, e.g. 'postgresql://user@host:5432/tunesmith'"
            )


def open_database(url: str, *, read_only: bool, busy_timeout: float) -> Database:
    """The engine for ``url`` with its schema checked (and, unless ``read_only``, created or migrated)."""
    check_url(url)
    sqlite = url.startswith("sqlite")
    where = _shown(url)
    if sqlite and read_only:
        return _open_sqlite_read_only(url, where, busy_timeout)
    engine_url = "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url
    kwargs: dict[str, Any] = {}
    if read_only:  # PostgreSQL: the server itself refuses any write of these sessions
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    engine = _engine(engine_url, where, **kwargs)
    if sqlite:
        _setup_sqlite(engine, busy_timeout, read_only=False)
    if read_only:
        _checked(engine, where, lambda: check_schema(engine, where))
    else:
        ensure_schema(engine, where)
    if sqlite and not read_only:
        with engine.connect().execution_options(tunesmith_read=True) as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    return Database(engine, sqlite, where)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _engine(url: str | URL, where: str, **kwargs: Any) -> Engine:
    try:
        return create_engine(url, **kwargs)
    except Exception as e:  # unknown dialect, missing driver...
        raise StorageError(f"cannot use storage URL {where!r}: {e}") from e


def _setup_sqlite(engine: Engine, busy_timeout: float, read_only: bool) -> None:
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


def _open_sqlite_read_only(url: str, where: str, busy_timeout: float) -> Database:
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
        _checked(engine, shown, lambda: check_schema(engine, shown))
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
        _checked(engine, shown, lambda: check_schema(engine, shown))
    return Database(engine, True, where)


def _read_only_engine(uri: str, where: str, busy_timeout: float, extra: dict[str, str]) -> Engine:
    url = URL.create("sqlite+pysqlite", database=uri, query={"mode": "ro", **extra, "uri": "true"})
    engine = _engine(url, where)
    _setup_sqlite(engine, busy_timeout, read_only=True)
    return engine


class _WalIndexError(Exception):
    """SQLite could open the file read-only but not its WAL index (a read-only folder)."""


def _checked(engine: Engine, where: str, check: Any) -> None:
    """Run the read-only schema check; database errors become StorageErrors that say what the file is."""
    try:
        check()
    except (StorageError, SchemaVersionError):
        engine.dispose()
        raise
    except DBAPIError as e:
        orig = e.orig
        text = str(orig)
        if isinstance(orig, sqlite3.OperationalError) and ("readonly" in text or "unable to open" in text):
            raise _WalIndexError() from e
        engine.dispose()
        if isinstance(orig, sqlite3.DatabaseError) and "not a database" in text:
            raise StorageError(
                f"{where} is not a tunesmith database: it is not a SQLite database file (SQLite says: {text})"
            ) from e
        raise StorageError(f"cannot read {where} as a tunesmith database: {text}") from e
