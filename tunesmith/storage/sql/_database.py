"""Opening a SQL database for :class:`~tunesmith.storage.sql.SQLStorage`: the strategy and engine for a URL.

Opened for writing, an empty database gets the tables and an older schema is migrated
(see :mod:`._schema`). Opened read-only, nothing is written at all: no tables, no
migration, nothing that changes a file or a setting. How each backend opens its engine
is its strategy's (:meth:`.Strategy.open`); what they share is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError

from tunesmith.exceptions import SchemaVersionError, StorageError
from tunesmith.storage.sql._strategy import Strategy, strategy_for

__all__ = ["Database", "check_url", "checked", "make_engine", "open_database"]


@dataclass
class Database:
    """An open engine and what the storage needs to know about it."""

    engine: Engine
    strategy: Strategy
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
    where = _shown(url)
    strategy = strategy_for(url, where)
    return Database(strategy.open(url, read_only=read_only, busy_timeout=busy_timeout), strategy, where)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def make_engine(url: str | URL, where: str, **kwargs: Any) -> Engine:
    """SQLAlchemy's engine; an unknown dialect or a missing driver is a StorageError."""
    try:
        return create_engine(url, **kwargs)
    except Exception as e:
        raise StorageError(f"cannot use storage URL {where!r}: {e}") from e


def checked(engine: Engine, where: str, check: Callable[[], None]) -> None:
    """Run a read-only schema check; database errors become StorageErrors that say what the database is.

    The engine is disposed of when the check fails with a StorageError (or a database
    error); other exceptions pass through, the engine left open.
    """
    try:
        check()
    except (StorageError, SchemaVersionError):
        engine.dispose()
        raise
    except DBAPIError as e:
        engine.dispose()
        raise StorageError(f"cannot read {where} as a tunesmith database: {e.orig}") from e
