"""Telling transient database errors from lasting ones, and retrying through the transient ones.

A storage call that meets a transient error (the connection was lost or closed: a
server restart, ``pg_terminate_backend``, an idle-session timeout; a deadlock; SQLite's
"database is locked" after its busy timeout; a full disk) is run again on a fresh
connection after a growing pause, until it succeeds or :attr:`RetryPolicy.timeout`
seconds have passed. Any other database error, and a transient one that outlasts the
policy, is raised as :class:`StorageError` with the reason, never as a driver's error.

A write whose connection broke after its COMMIT was sent may have committed: the
storage's operations are told they are being retried, and check for their own
earlier write (see ``sql.py``).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from tunesmith.exceptions import StorageError

__all__ = ["RetryPolicy", "as_storage_error", "is_database_error", "is_integrity_error", "retrying", "transient_reason"]

T = TypeVar("T")

# SQLite messages (sqlite3.OperationalError) that may pass when tried again.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy", "disk i/o error",
                     "database or disk is full")
# PostgreSQL errors that will not pass by retrying, though raised as OperationalError:
# authentication (28), no such database (3D), syntax or permission (42).
_PG_LASTING_CLASSES = ("28", "3D", "42")


@dataclass(frozen=True)
class RetryPolicy:
    """How long a storage call keeps retrying through transient errors.

    Args:
        timeout: seconds, from the first failure, after which the error is raised (0: never retry).
        first_delay: the first pause; each next one doubles, up to ``max_delay``.
    """

    timeout: float = 60.0
    first_delay: float = 0.05
    max_delay: float = 5.0

    def __post_init__(self) -> None:
        if not self.timeout >= 0:
            raise ValueError(f"retry timeout must be >= 0 seconds, got {self.timeout!r}")
        if not 0 < self.first_delay <= self.max_delay:
            raise ValueError(
                f"retry delays need 0 < first_delay <= max_delay, got {self.first_delay!r}, {self.max_delay!r}"
            )


def _driver_error(exc: BaseException) -> BaseException:
    """The DBAPI error inside SQLAlchemy's wrapper, or ``exc`` itself."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def transient_reason(exc: BaseException) -> str | None:
    """Why ``exc`` may pass on a fresh connection, or None if it cannot."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return f"connection lost ({_driver_error(exc)})"
    err = _driver_error(exc)
    if isinstance(err, sqlite3.OperationalError):
        text = str(err)
        return text if any(t in text.lower() for t in _SQLITE_TRANSIENT) else None
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return None
    if isinstance(err, psycopg.InterfaceError):  # e.g. "the connection is closed"
        return str(err) or type(err).__name__
    if isinstance(err, psycopg.OperationalError):
        state = getattr(err, "sqlstate", None) or ""
        text = str(err)
        if state[:2] in _PG_LASTING_CLASSES or "authentication failed" in text or "does not exist" in text:
            return None
        return text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return None


def is_database_error(exc: BaseException) -> bool:
    """True for errors raised by the database or its driver (not tunesmith's own)."""
    if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def as_storage_error(what: str, where: str, exc: BaseException) -> StorageError:
    """A StorageError naming the call, the storage and the database's reason."""
    reason = str(_driver_error(exc)).strip() or type(exc).__name__
    return StorageError(f"{what} failed on {where}: {reason}")


def retrying(
    what: str, where: str, policy: RetryPolicy, call: Callable[[bool], T], discard: Callable[[], None],
) -> T:
    """``call(retry)`` until it succeeds; after each transient error ``discard()`` and pause.

    ``retry`` is True from the second try on: the call may then find its own earlier
    write, committed though its connection broke. Errors that are not transient, and
    transient ones past ``policy.timeout``, are raised as StorageError; tunesmith's own
    errors (a finished trial, a missing study...) pass through unchanged.
    """
    started: float | None = None
    delay = policy.first_delay
    tries = 0
    while True:
        try:
            return call(tries > 0)
        except Exception as e:
            if not is_database_error(e):
                raise
            reason = transient_reason(e)
            discard()
            if reason is None:
                raise as_storage_error(what, where, e) from e
            now = time.monotonic()
            if started is None:
                started = now
            tries += 1
            if now - started + delay > policy.timeout:
                raise StorageError(
                    f"{what} failed on {where} after {tries} tries over {now - started:.1f} s "
                    f"(retry timeout {policy.timeout:g} s): {reason}"
                ) from e
            time.sleep(delay)
            delay = min(delay * 2, policy.max_delay)


def is_integrity_error(exc: BaseException) -> bool:
    """A unique or foreign key constraint refused the write (not transient: the data decides)."""
    err = _driver_error(exc)
    if isinstance(err, sqlite3.IntegrityError):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(err, psycopg.IntegrityError)
