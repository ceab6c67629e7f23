"""Telling transient database errors from lasting ones, and retrying through the transient ones.

A storage call that meets a transient error (the connection was lost or closed: a
server restart, ``pg_terminate_backend``, an idle-session timeout; a deadlock; SQLite's
"database is locked" after its busy timeout; a full disk) is run again on a fresh
connection after a growing pause, until it succeeds or :attr:`RetryPolicy.timeout`
seconds have passed. Any other database error, and a transient one that outlasts the
policy, is raised as :class:`StorageError` with the reason, never as a driver's error.
Which driver errors are transient is the backend's to say (see
:mod:`tunesmith.storage.sql.sqlite` and :mod:`tunesmith.storage.sql.postgres`).

A write whose connection broke after its COMMIT was sent may have committed: the
storage's operations are told they are being retried, and check for their own
earlier write (see :mod:`tunesmith.storage.sql`).

Nothing here imports SQLAlchemy or a driver: their errors are recognised through the
modules already loaded (an error of a module never imported cannot occur).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tunesmith.exceptions import StorageError

__all__ = ["RetryPolicy", "as_storage_error", "driver_error", "is_database_error", "retrying", "transient_reason"]

T = TypeVar("T")


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


def _loaded_error(module: str, name: str) -> type[BaseException] | None:
    mod = sys.modules.get(module)
    return None if mod is None else getattr(mod, name, None)


def driver_error(exc: BaseException) -> BaseException:
    """The DBAPI error inside SQLAlchemy's wrapper, or ``exc`` itself."""
    wrapper = _loaded_error("sqlalchemy.exc", "DBAPIError")
    if wrapper is not None and isinstance(exc, wrapper) and exc.orig is not None:  # type: ignore[attr-defined]
        return exc.orig  # type: ignore[attr-defined]
    return exc


def transient_reason(exc: BaseException, driver_reason: Callable[[BaseException], str | None]) -> str | None:
    """Why ``exc`` may pass on a fresh connection, or None if it cannot.

    A connection SQLAlchemy saw break is always worth a retry; otherwise ``driver_reason``
    (the backend's classification) judges the driver's error.
    """
    wrapper = _loaded_error("sqlalchemy.exc", "DBAPIError")
    if wrapper is not None and isinstance(exc, wrapper) and exc.connection_invalidated:  # type: ignore[attr-defined]
        return f"connection lost ({driver_error(exc)})"
    return driver_reason(driver_error(exc))


def is_database_error(exc: BaseException) -> bool:
    """True for errors raised by the database or its driver (not tunesmith's own)."""
    kinds = (
        _loaded_error("sqlalchemy.exc", "SQLAlchemyError"), _loaded_error("sqlite3", "Error"),
        _loaded_error("psycopg", "Error"),
    )
    return any(kind is not None and isinstance(exc, kind) for kind in kinds)


def as_storage_error(what: str, where: str, exc: BaseException) -> StorageError:
    """A StorageError naming the call, the storage and the database's reason."""
    reason = str(driver_error(exc)).strip() or type(exc).__name__
    return StorageError(f"{what} failed on {where}: {reason}")


def retrying(
    what: str, where: str, policy: RetryPolicy, call: Callable[[bool], T], discard: Callable[[], None],
    driver_reason: Callable[[BaseException], str | None],
) -> T:
    """``call(retry)`` until it succeeds; after each transient error ``discard()`` and pause.

    ``retry`` is True from the second try on: the call may then find its own earlier
    write, committed though its connection broke. ``driver_reason`` tells transient
    driver errors (see :func:`transient_reason`). Errors that are not transient, and
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
            reason = transient_reason(e, driver_reason)
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
