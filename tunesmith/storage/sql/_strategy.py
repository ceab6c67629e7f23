"""What differs between the SQL backends, behind one small interface.

:class:`~tunesmith.storage.sql.SQLStorage` runs the statements both backends share
(see :mod:`._statements`) and asks its :class:`Strategy`, chosen once from the URL
(:func:`strategy_for`), for the rest: how a connection is set up, how a write takes
its version and a new trial its number, how a trial is claimed, how parameter names
are upserted, which errors are worth a retry. The two strategies are
:mod:`.sqlite` (one writer at a time, counters on the study row) and :mod:`.postgres`
(concurrent writers, transaction ids as versions).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tunesmith.exceptions import StudyNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tunesmith.storage.sql._session import Cursor, Session
    from tunesmith.trial import FrozenTrial

__all__ = ["Strategy", "strategy_for"]


class Strategy(ABC):
    """One backend's way of doing what the SQL storage cannot say portably.

    Args:
        where: the database as shown in messages (no password).
    """

    #: the SQLAlchemy dialect name
    name: str
    #: the statement that opens a transaction of several statements
    begin: str = "BEGIN"

    def __init__(self, where: str) -> None:
        self.where = where

    # -- connections and errors -------------------------------------------------------
    @abstractmethod
    def open(self, url: str, *, read_only: bool, busy_timeout: float) -> Engine:
        """The engine for ``url``, its schema checked (and, unless ``read_only``, created or migrated)."""

    def prepare(self, conn: Any) -> None:  # noqa: B027 (a hook: nothing to do by default)
        """Set up a pooled DBAPI connection before the session first uses it."""

    @abstractmethod
    def transient_reason(self, err: BaseException) -> str | None:
        """Why the driver's ``err`` may pass on a fresh connection, or None if it cannot."""

    @abstractmethod
    def is_integrity_error(self, err: BaseException) -> bool:
        """A unique or foreign key constraint refused the write (``err`` raw or wrapped by SQLAlchemy)."""

    # -- writes -----------------------------------------------------------------------
    @abstractmethod
    def begin_change(self, cur: Cursor, study_id: int, report: bool = False) -> int:
        """The version a write of several statements stamps on what it changes: its first statement."""

    def lock_study(self, cur: Cursor, study_id: int) -> None:  # noqa: B027 (a hook)
        """Before ``delete_study`` deletes: wait for the study's in-flight writes to end."""

    @abstractmethod
    def enqueue_trial(self, session: Session, study_id: int, system_attrs: str) -> int:
        """A new WAITING trial (``system_attrs`` as JSON); its number."""

    @abstractmethod
    def start_trial(self, session: Session, args: Mapping[str, Any]) -> FrozenTrial:
        """The oldest WAITING trial claimed, else a new one, RUNNING for ``args["owner"]`` from ``args["now"]``.

        Tried again after a lost commit, the trial the earlier try started is returned.
        """

    @abstractmethod
    def insert_params(self, cur: Cursor, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Register new parameter names; the names another writer registered first (not written)."""

    def finish_alone(self, with_params: bool) -> Any | None:
        """The statement that finishes a trial alone (no registration, no read first), or None."""
        return None

    @abstractmethod
    def finish_paused(self, session: Session, args: Mapping[str, Any]) -> list[Any]:
        """PAUSED trials of ``args["sid"]`` made PRUNED (``args["now"]``): their rows."""

    @abstractmethod
    def changed_trials(self, session: Session, study_id: int, since: int) -> tuple[list[FrozenTrial], int]:
        """``get_trials``: the trials changed after version ``since``, and the version to ask from next."""

    @contextmanager
    def study_exists(self, study_id: int) -> Iterator[None]:
        """A new trial of a study that is gone breaks its foreign key: StudyNotFoundError."""
        try:
            yield
        except Exception as e:
            if self.is_integrity_error(e):
                raise StudyNotFoundError(f"no study with id {study_id} in {self.where} (deleted?)") from None
            raise


def strategy_for(url: str, where: str) -> Strategy:
    """The strategy of the database ``url`` names (already checked by ``check_url``)."""
    if url.startswith("sqlite"):
        from tunesmith.storage.sql.sqlite import SQLiteStrategy

        return SQLiteStrategy(where)
    from tunesmith.storage.sql.postgres import PostgresStrategy

    return PostgresStrategy(where)
