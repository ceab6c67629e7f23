"""The PostgreSQL strategy: writers of a study do not take turns.

PostgreSQL keeps no counter on the study row: a writer would hold that row's lock
until its commit had reached the disk, and writers of one study would take turns.
Instead (schema 2):

- A trial's number is the study's largest plus one, inserted with ON CONFLICT DO
  NOTHING and tried again on a conflict. The unique (study_id, number) index makes
  a second inserter of the same number wait for the first to commit or roll back,
  so a number is taken only once the one below it is committed: unique and
  contiguous, with no gap when a transaction fails. So new trials still start one
  at a time; finishing, updating and recovering trials wait on no other write, and
  reports wait only on the study's other reports (their ids must grow in commit
  order, see ``get_study_reports``).
- A trial's version is the id of the transaction that last wrote it. Ids are handed
  out in start order, not commit order, so a reader must not skip past an id whose
  transaction may still commit: see :func:`pg_changed_trials`. Every write holds
  a shared advisory lock on its study (writers do not block each other), taken
  before the transaction gets its id; a reader that briefly gets the lock
  exclusively knows that no write of the study is in flight.

Session connections run in autocommit (a statement alone is one round trip); opened
read-only, every session runs with ``default_transaction_read_only``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    SmallInteger,
    String,
    Text,
    bindparam,
    cast,
    event,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from tunesmith.storage._retry import driver_error
from tunesmith.storage.sql._database import checked, make_engine
from tunesmith.storage.sql._schema import check_schema, ensure_schema, study_params, trials
from tunesmith.storage.sql._statements import (
    FINISH_COLUMNS,
    HELD,
    I_VERSION,
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

__all__ = ["PostgresStrategy", "pg_changed_trials", "pg_inserts"]

# Errors that will not pass by retrying, though raised as OperationalError:
# authentication (28), no such database (3D), syntax or permission (42).
_LASTING_CLASSES = ("28", "3D", "42")

# The shared lock every write of a study holds (advisory lock key: (_STUDY_LOCK, study_id)).
# A statement that writes alone takes it in its first CTE, and everything it writes or
# locks depends on that CTE (a join, or an EXISTS the executor checks before the first
# row), so the lock comes before the transaction's id: PostgreSQL assigns the id at the
# first row written or locked, or when pg_current_xact_id() is first called.
_STUDY_LOCK = 74202
_study_lock = (
    select(func.pg_advisory_xact_lock_shared(_STUDY_LOCK, bindparam("sid", type_=Integer)).label("held"))
    .cte("study_lock").prefix_with("MATERIALIZED")
)
_study_locked = exists(select(_study_lock.c.held))


def _xid8(fn: Any) -> Any:
    """A 64-bit transaction id (xid8: never wraps around) as BIGINT."""
    return cast(cast(fn, Text), BigInteger)


_XID = _xid8(func.pg_current_xact_id())
# The first statement of a write transaction of several statements: the lock, then the version.
PG_BEGIN_CHANGE = select(_XID).select_from(_study_lock)
# append_report's: reports of a study also take turns (exclusive, to the commit) on a lock of their own.
_REPORTS_LOCK = 74203
_reports_lock = (
    select(func.pg_advisory_xact_lock(_REPORTS_LOCK, bindparam("sid", type_=Integer)).label("held"))
    .cte("reports_lock").prefix_with("MATERIALIZED")
)
PG_BEGIN_REPORT = select(_XID).select_from(_study_lock.join(_reports_lock, literal(True)))
_next_number = func.coalesce(
    select(func.max(trials.c.number)).where(trials.c.study_id == bindparam("sid")).scalar_subquery(), -1
) + 1
_NEW_TRIAL = ["study_id", "number", "state", "params", "user_attrs", "system_attrs", "started_at", "heartbeat_at",
              "version", "attempt", "owner"]

# start_trial: claim the oldest WAITING trial that no one else is claiming, else insert a new one.
_oldest_waiting = (
    select(trials.c.trial_id).join(_study_lock, literal(True))
    .where(trials.c.study_id == bindparam("sid"), trials.c.state == WAITING)
    .order_by(trials.c.number).limit(1).with_for_update(of=trials, skip_locked=True).scalar_subquery()
)
_claimed = (
    trials.update().where(trials.c.trial_id == _oldest_waiting, trials.c.state == WAITING)
    .values(state=RUNNING, started_at=bindparam("now"), heartbeat_at=bindparam("now"), version=_XID,
            attempt=trials.c.attempt + 1, owner=bindparam("owner", type_=String))
    .returning(*trials.c).cte("claimed")
)


class _Inserts(NamedTuple):
    start: Any  # start_trial: the trial claimed or created, or no row when the number was taken
    enqueue: Any  # enqueue_trial: the new WAITING trial's number, or no row (likewise)
    study_param: Any  # a parameter name registered, or nothing if another writer registered it


@functools.cache
def pg_inserts() -> _Inserts:
    """PostgreSQL's INSERT ... ON CONFLICT statements, built at first use."""

    def numbered(state: int, started: bool, condition: Any) -> Any:
        """INSERT a trial numbered max + 1; nothing on a conflict (the caller tries again)."""
        now = bindparam("now", type_=Double) if started else literal(None, Double)
        owner = bindparam("owner", type_=String) if started else literal(None, String)
        return insert(trials).from_select(_NEW_TRIAL, select(
            bindparam("sid", type_=Integer), _next_number, literal(state, SmallInteger), literal("{}", Text),
            literal("{}", Text), bindparam("system_attrs", type_=Text), now, now, _XID,
            literal(1 if started else 0, Integer), owner,
        ).where(condition)).on_conflict_do_nothing(index_elements=["study_id", "number"])

    created = (
        numbered(RUNNING, True, _study_locked & ~exists(select(_claimed.c.trial_id)))
        .returning(*trials.c).cte("created")
    )
    return _Inserts(
        start=union_all(select(_claimed), select(created)),
        enqueue=numbered(WAITING, False, _study_locked).returning(trials.c.number).add_cte(_study_lock),
        study_param=insert(study_params).values(
            study_id=bindparam("sid"), name=bindparam("name"), distribution=bindparam("distribution"),
        ).on_conflict_do_nothing(index_elements=["study_id", "name"]),
    )


_PG_FINISH_COLUMNS = {**FINISH_COLUMNS, "version": _XID}
PG_FINISH = (
    trials.update().where(*HELD, _study_locked)
    .values(**_PG_FINISH_COLUMNS).returning(*trials.c).add_cte(_study_lock)
)
PG_FINISH_WITH_PARAMS = (
    trials.update().where(*HELD, _study_locked)
    .values(**_PG_FINISH_COLUMNS, params=bindparam("params"), user_attrs=bindparam("user_attrs"))
    .returning(*trials.c).add_cte(_study_lock)
)
PG_FINISH_PAUSED = (
    trials.update().where(trials.c.study_id == bindparam("sid"), trials.c.state == PAUSED, _study_locked)
    .values(state=int(TrialState.PRUNED), finished_at=func.coalesce(trials.c.finished_at, bindparam("now")),
            version=_XID)
    .returning(*trials.c).add_cte(_study_lock)
)
# delete_study: the study's lock, exclusively: in-flight writes of it end first, new ones wait.
PG_LOCK_STUDY = select(func.pg_advisory_xact_lock(_STUDY_LOCK, bindparam("sid", type_=Integer)))
# get_trials: the changes, with the oldest transaction still running anywhere on the server
# (every id below it has committed or rolled back) ...
PG_CHANGED = (
    select(trials, select(_xid8(func.pg_snapshot_xmin(func.pg_current_snapshot()))).scalar_subquery())
    .where(trials.c.study_id == bindparam("sid"), trials.c.version > bindparam("since"))
    .order_by(trials.c.version)
)
# ... and, when that is not enough, whether no write of the study is in flight (the lock
# is released with the statement's transaction) and the first id not yet handed out.
PG_QUIET = select(
    func.pg_try_advisory_xact_lock(_STUDY_LOCK, bindparam("sid", type_=Integer)),
    _xid8(func.pg_snapshot_xmax(func.pg_current_snapshot())),
)


def pg_changed_trials(cur: Cursor, study_id: int, since: int) -> tuple[list[FrozenTrial], int]:
    """PostgreSQL's get_trials: the version returned never passes a change that may still commit.

    Versions are transaction ids, handed out when a transaction first writes, not when
    it commits, so a change with a smaller id than one seen may still be in flight. The
    version returned is the newest seen, capped at a *horizon* below which every
    transaction that writes the study has committed (and is seen) or rolled back. Trials
    changed above the horizon come again at the next call; applying one twice changes
    nothing. Each statement runs on its own: the lock below is let go at once.
    """
    args = {"sid": study_id, "since": since}
    rows = cur.execute(PG_CHANGED, args).fetchall()
    if not rows:
        return [], since
    # Every id below the oldest transaction still running (anywhere on the server) is done.
    newest, horizon = int(rows[-1][I_VERSION]), int(rows[-1][-1]) - 1
    if newest > horizon:
        # Something older still runs. If it does not write this study (no write of
        # the study is in flight: each holds the study's shared lock from before it
        # has an id until it ends), every writer of it with an id below next_id has
        # finished, and a second read sees them all.
        quiet, next_id = cur.execute(PG_QUIET, {"sid": study_id}).fetchone()
        if quiet:
            rows = cur.execute(PG_CHANGED, args).fetchall()
            if not rows:
                return [], since
            newest, horizon = int(rows[-1][I_VERSION]), max(int(rows[-1][-1]), int(next_id)) - 1
    return [trial_from_row(r) for r in rows], max(since, min(newest, horizon))


class PostgresStrategy(Strategy):
    """PostgreSQL: concurrent writers, transaction ids as versions, numbers taken by upsert."""

    name = "postgresql"

    # -- connections and errors -------------------------------------------------------
    def open(self, url: str, *, read_only: bool, busy_timeout: float) -> Engine:
        engine_url = "postgresql+psycopg://" + url[len("postgresql://"):] if url.startswith("postgresql://") else url
        kwargs: dict[str, Any] = {}
        if read_only:  # the server itself refuses any write of these sessions
            kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
        engine = make_engine(engine_url, self.where, **kwargs)
        if read_only:
            checked(engine, self.where, lambda: check_schema(engine, self.where))
        else:
            ensure_schema(engine, self.where)
        # A connection goes back to the pool when closed (or when its thread is gone):
        # transactional again, as SQLAlchemy's own connections expect.
        event.listen(engine, "checkin", _leave_autocommit)
        return engine

    def prepare(self, conn: Any) -> None:
        driver = conn.driver_connection
        assert driver is not None
        driver.autocommit = True

    def transient_reason(self, err: BaseException) -> str | None:
        psycopg = sys.modules.get("psycopg")
        if psycopg is None:
            return None
        if isinstance(err, psycopg.InterfaceError):  # e.g. "the connection is closed"
            return str(err) or type(err).__name__
        if isinstance(err, psycopg.OperationalError):
            state = getattr(err, "sqlstate", None) or ""
            text = str(err)
            if state[:2] in _LASTING_CLASSES or "authentication failed" in text or "does not exist" in text:
                return None
            return text.strip().splitlines()[0] if text.strip() else type(err).__name__
        return None

    def is_integrity_error(self, err: BaseException) -> bool:
        psycopg = sys.modules.get("psycopg")
        return psycopg is not None and isinstance(driver_error(err), psycopg.IntegrityError)

    # -- writes -----------------------------------------------------------------------
    def begin_change(self, cur: Cursor, study_id: int, report: bool = False) -> int:
        """The study's shared lock, then the transaction's id; a report also takes the study's
        report lock, held to the commit, so that report ids grow in commit order within a study."""
        return int(cur.execute(PG_BEGIN_REPORT if report else PG_BEGIN_CHANGE, {"sid": study_id}).fetchone()[0])

    def lock_study(self, cur: Cursor, study_id: int) -> None:
        cur.execute(PG_LOCK_STUDY, {"sid": study_id})

    def enqueue_trial(self, session: Session, study_id: int, system_attrs: str) -> int:
        args = {"sid": study_id, "system_attrs": system_attrs}

        def insert(cur: Cursor, retry: bool) -> int:
            with self.study_exists(study_id):
                while (row := cur.execute(pg_inserts().enqueue, args).fetchone()) is None:
                    pass  # another writer took that number (see the module docstring): take the next
            return int(row[0])

        return session.run("enqueue_trial", insert, transaction=False)

    def start_trial(self, session: Session, args: Mapping[str, Any]) -> FrozenTrial:
        # One statement, a transaction of its own (see pg_inserts).
        def insert(cur: Cursor, retry: bool) -> FrozenTrial:
            if retry and (row := cur.execute(STARTED_BY, args).fetchone()) is not None:
                return trial_from_row(row)  # the earlier try's commit went through
            with self.study_exists(args["sid"]):
                while (row := cur.execute(pg_inserts().start, args).fetchone()) is None:
                    pass  # another writer took that number (see the module docstring): take the next
            return trial_from_row(row)

        return session.run("start_trial", insert, transaction=False)

    def insert_params(self, cur: Cursor, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        # Another writer may register the same name meanwhile (writers do not take turns).
        return {str(r["name"]) for r in rows if cur.execute(pg_inserts().study_param, r).rowcount == 0}

    def finish_alone(self, with_params: bool) -> Any | None:
        return PG_FINISH_WITH_PARAMS if with_params else PG_FINISH

    def finish_paused(self, session: Session, args: Mapping[str, Any]) -> list[Any]:
        return session.rows("finish_paused", PG_FINISH_PAUSED, args)  # one statement

    def changed_trials(self, session: Session, study_id: int, since: int) -> tuple[list[FrozenTrial], int]:
        return session.run(
            "get_trials", lambda cur, _: pg_changed_trials(cur, study_id, since), transaction=False,
        )


def _leave_autocommit(dbapi_conn: Any, _record: Any) -> None:
    """Pool checkin: switch a connection the session used back to transactions."""
    if dbapi_conn is None or not getattr(dbapi_conn, "autocommit", False):
        return
    from psycopg.pq import TransactionStatus

    if dbapi_conn.info.transaction_status == TransactionStatus.IDLE:  # not broken, not mid-transaction
        dbapi_conn.autocommit = False
