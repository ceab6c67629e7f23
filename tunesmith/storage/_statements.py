"""The SQL storage's statements, built once (SQLAlchemy reuses their compiled form), row decoding,
and the few queries its methods share (refusing a write, PostgreSQL's change horizon).

PostgreSQL-only statements carry a ``PG_`` prefix; see :mod:`tunesmith.storage.sql` for
how versions and trial numbers work on each backend. Every write of a running trial
matches on its ``attempt`` too (the lease token, see :mod:`tunesmith.storage._base`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Double,
    Integer,
    SmallInteger,
    String,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
    union_all,
)

from tunesmith.distributions import Distribution
from tunesmith.storage._base import StudyRecord, dumps, loads, refused_write
from tunesmith.storage._dbapi import Cursor
from tunesmith.storage._schema import reports, studies, study_params, trials
from tunesmith.trial import FrozenTrial, TrialState

_RUNNING = int(TrialState.RUNNING)
WAITING = int(TrialState.WAITING)
_PAUSED = int(TrialState.PAUSED)
# The row a write of a running trial may change: this trial, RUNNING, held by this attempt.
_HELD = (trials.c.trial_id == bindparam("tid"), trials.c.state == _RUNNING, trials.c.attempt == bindparam("attempt"))

# Statements built once: SQLAlchemy then reuses their compiled form.
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
RESUME = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == int(TrialState.PAUSED))
    .values(state=WAITING, heartbeat_at=None, version=bindparam("version"))
)
FIRST_WAITING = (
    select(trials.c.trial_id).where(trials.c.study_id == bindparam("sid"), trials.c.state == WAITING)
    .order_by(trials.c.number).limit(1)
)
INSERT_RUNNING = trials.insert().values(
    study_id=bindparam("sid"), number=bindparam("number"), state=_RUNNING, params="{}", user_attrs="{}",
    system_attrs="{}", started_at=bindparam("now"), heartbeat_at=bindparam("now"), version=bindparam("version"),
    attempt=1, owner=bindparam("owner", type_=String),
).returning(trials.c.trial_id)
INSERT_WAITING = trials.insert().values(
    study_id=bindparam("sid"), number=bindparam("number"), state=WAITING, params="{}", user_attrs="{}",
    system_attrs=bindparam("system_attrs"), version=bindparam("version"), attempt=0,
)
# start_trial, tried again: the trial an earlier try started, if its commit went through.
STARTED_BY = select(trials).where(
    trials.c.study_id == bindparam("sid"), trials.c.state == _RUNNING, trials.c.started_at == bindparam("now"),
    trials.c.owner.is_not_distinct_from(bindparam("owner", type_=String)),
)
# append_report, tried again: the report an earlier try wrote, if its commit went through.
REPORT_WRITTEN = select(reports.c.report_id).where(
    reports.c.trial_id == bindparam("tid"), reports.c.reported_at == bindparam("now"),
    reports.c.step == bindparam("step"),
)
TRIAL = select(trials).where(trials.c.trial_id == bindparam("tid"))
STUDY_PARAMS = select(study_params.c.name, study_params.c.distribution).where(
    study_params.c.study_id == bindparam("sid")
)
INSERT_STUDY_PARAM = study_params.insert().values(
    study_id=bindparam("sid"), name=bindparam("name"), distribution=bindparam("distribution"),
)
STUDY_NAME = select(studies.c.name).where(studies.c.study_id == bindparam("sid"))
PARAMS_ATTRS = select(trials.c.params, trials.c.user_attrs).where(trials.c.trial_id == bindparam("tid"))
CLAIM_WAITING = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == WAITING)
    .values(state=_RUNNING, started_at=bindparam("now"), heartbeat_at=bindparam("now"), version=bindparam("version"),
            attempt=trials.c.attempt + 1, owner=bindparam("owner", type_=String))
    .returning(*trials.c)
)
_FINISH_COLUMNS: dict[str, Any] = {
    c: bindparam(c) for c in ("state", "values_json", "value", "error", "finished_at", "heartbeat_at", "version")
}
FINISH = trials.update().where(*_HELD).values(**_FINISH_COLUMNS).returning(*trials.c)
FINISH_WITH_PARAMS = (
    trials.update().where(*_HELD)
    .values(**_FINISH_COLUMNS, params=bindparam("params"), user_attrs=bindparam("user_attrs"))
    .returning(*trials.c)
)
SET_PARAMS = (
    trials.update().where(*_HELD)
    .values(params=bindparam("params"), user_attrs=bindparam("user_attrs"), heartbeat_at=bindparam("now"),
            version=bindparam("version"))
)
SET_LAST_REPORT = (
    trials.update().where(*_HELD)
    .values(last_step=bindparam("step"), last_result=bindparam("metrics"), heartbeat_at=bindparam("now"),
            version=bindparam("version"))
)
INSERT_REPORT = reports.insert().values(
    trial_id=bindparam("tid"), step=bindparam("step"), metrics=bindparam("metrics"), reported_at=bindparam("now"),
)
STUDY_REPORTS = (
    select(reports.c.report_id, reports.c.trial_id, reports.c.step, reports.c.metrics)
    .join(trials, trials.c.trial_id == reports.c.trial_id)
    .where(trials.c.study_id == bindparam("sid"), reports.c.report_id > bindparam("after"))
    .order_by(reports.c.report_id)
)
STATE = select(trials.c.state, trials.c.attempt).where(trials.c.trial_id == bindparam("tid"))
FINISH_PAUSED = (
    trials.update().where(trials.c.study_id == bindparam("sid"), trials.c.state == _PAUSED)
    .values(state=int(TrialState.PRUNED), finished_at=func.coalesce(trials.c.finished_at, bindparam("now")),
            version=bindparam("version"))
    .returning(*trials.c)
)

# -- studies -----------------------------------------------------------------------------
STUDY_BY_NAME = select(studies).where(studies.c.name == bindparam("name"))
ALL_STUDIES = select(studies).order_by(studies.c.study_id)
INSERT_STUDY = studies.insert().values(
    name=bindparam("name"), directions=bindparam("directions"), metric_names=bindparam("metric_names"),
    next_number=0, version=0, created_at=bindparam("created_at"), attrs=bindparam("attrs"),
)
_study_trials = select(trials.c.trial_id).where(trials.c.study_id == bindparam("sid")).scalar_subquery()
# delete_study, in this order (foreign keys): reports, trials, parameter registry, the study.
DELETE_STUDY = (
    reports.delete().where(reports.c.trial_id.in_(_study_trials)),
    trials.delete().where(trials.c.study_id == bindparam("sid")),
    study_params.delete().where(study_params.c.study_id == bindparam("sid")),
    studies.delete().where(studies.c.study_id == bindparam("sid")),
)
TRIAL_REPORTS = (
    select(reports.c.step, reports.c.metrics).where(reports.c.trial_id == bindparam("tid"))
    .order_by(reports.c.report_id)
)
_complete = (
    trials.c.study_id == bindparam("sid"), trials.c.state == int(TrialState.COMPLETE), trials.c.value.is_not(None),
)
BEST = {
    False: select(trials).where(*_complete).order_by(trials.c.value.asc()).limit(1),
    True: select(trials).where(*_complete).order_by(trials.c.value.desc()).limit(1),
}
COUNT_STATES = (
    select(trials.c.state, func.count()).where(trials.c.study_id == bindparam("sid")).group_by(trials.c.state)
)

# -- PostgreSQL (see the module docstring) ---------------------------------------------
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
    .values(state=_RUNNING, started_at=bindparam("now"), heartbeat_at=bindparam("now"), version=_XID,
            attempt=trials.c.attempt + 1, owner=bindparam("owner", type_=String))
    .returning(*trials.c).cte("claimed")
)


class _Inserts(NamedTuple):
    start: Any  # start_trial: the trial claimed or created, or no row when the number was taken
    enqueue: Any  # enqueue_trial: the new WAITING trial's number, or no row (likewise)
    study_param: Any  # a parameter name registered, or nothing if another writer registered it


@functools.cache
def pg_inserts() -> _Inserts:
    """PostgreSQL's INSERT ... ON CONFLICT statements, built at first use: the dialect module
    they need takes ~0.1 s to import, which SQLite users need not pay."""
    from sqlalchemy.dialects.postgresql import insert

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
        numbered(_RUNNING, True, _study_locked & ~exists(select(_claimed.c.trial_id)))
        .returning(*trials.c).cte("created")
    )
    return _Inserts(
        start=union_all(select(_claimed), select(created)),
        enqueue=numbered(WAITING, False, _study_locked).returning(trials.c.number).add_cte(_study_lock),
        study_param=insert(study_params).values(
            study_id=bindparam("sid"), name=bindparam("name"), distribution=bindparam("distribution"),
        ).on_conflict_do_nothing(index_elements=["study_id", "name"]),
    )


_PG_FINISH_COLUMNS = {**_FINISH_COLUMNS, "version": _XID}
PG_FINISH = (
    trials.update().where(*_HELD, _study_locked)
    .values(**_PG_FINISH_COLUMNS).returning(*trials.c).add_cte(_study_lock)
)
PG_FINISH_WITH_PARAMS = (
    trials.update().where(*_HELD, _study_locked)
    .values(**_PG_FINISH_COLUMNS, params=bindparam("params"), user_attrs=bindparam("user_attrs"))
    .returning(*trials.c).add_cte(_study_lock)
)
PG_FINISH_PAUSED = (
    trials.update().where(trials.c.study_id == bindparam("sid"), trials.c.state == _PAUSED, _study_locked)
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
HEARTBEAT = trials.update().where(*_HELD).values(heartbeat_at=bindparam("now"))
RUNNING_TRIALS = select(trials).where(trials.c.study_id == bindparam("sid"), trials.c.state == _RUNNING)
# In recover_trials' write: locked (PostgreSQL), so a concurrent finish or recovery either
# went first and is seen, or waits; in trial_id order, so two recoveries cannot deadlock.
LOCK_RUNNING = RUNNING_TRIALS.order_by(trials.c.trial_id).with_for_update()
REQUEUE = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == _RUNNING)
    .values(state=WAITING, system_attrs=bindparam("system_attrs"), heartbeat_at=None, version=bindparam("version"))
    .returning(*trials.c)
)
FAIL_LOST = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == _RUNNING)
    .values(state=int(TrialState.FAILED), error=bindparam("error"), finished_at=bindparam("now"),
            version=bindparam("version"))
    .returning(*trials.c)
)
CHANGED = (
    select(trials).where(trials.c.study_id == bindparam("sid"), trials.c.version > bindparam("since"))
    .order_by(trials.c.version)
)


_COL = {c.name: i for i, c in enumerate(trials.c)}
_I_NUMBER, _I_STATE, _I_VALUES, _I_ERROR = _COL["number"], _COL["state"], _COL["values_json"], _COL["error"]
_I_UATTRS, I_SATTRS, _I_START, _I_FINISH = _COL["user_attrs"], _COL["system_attrs"], _COL["started_at"], _COL[
    "finished_at"
]
_I_STEP, _I_RESULT, I_ID, _I_PARAMS = _COL["last_step"], _COL["last_result"], _COL["trial_id"], _COL["params"]
I_VERSION, I_HEARTBEAT = _COL["version"], _COL["heartbeat_at"]
_I_ATTEMPT, _I_OWNER = _COL["attempt"], _COL["owner"]
I_STATE, I_ATTEMPT, I_FINISHED = _I_STATE, _I_ATTEMPT, _I_FINISH


_SCOL = {c.name: i for i, c in enumerate(studies.c)}
S_ID, S_NAME, S_DIRECTIONS, S_CREATED = _SCOL["study_id"], _SCOL["name"], _SCOL["directions"], _SCOL["created_at"]


def study_from_row(row: Sequence[Any], distributions: dict[str, Distribution]) -> StudyRecord:
    """A study from a row with the columns of ``studies`` in table order."""
    return StudyRecord(
        row[S_ID], row[S_NAME], loads(row[S_DIRECTIONS]), loads(row[_SCOL["metric_names"]]), distributions,
        row[S_CREATED], loads(row[_SCOL["attrs"]]),
    )


def trial_from_row(row: Sequence[Any]) -> FrozenTrial:
    """A trial from a row with the columns of ``trials`` in table order."""
    return FrozenTrial(
        number=row[_I_NUMBER], state=TrialState(row[_I_STATE]),
        values=None if row[_I_VALUES] is None else loads(row[_I_VALUES]),
        error=row[_I_ERROR], user_attrs=loads(row[_I_UATTRS]), system_attrs=loads(row[I_SATTRS]),
        started_at=row[_I_START], finished_at=row[_I_FINISH], last_step=row[_I_STEP],
        last_result={} if row[_I_RESULT] is None else loads(row[_I_RESULT]), heartbeat_at=row[I_HEARTBEAT],
        trial_id=row[I_ID], internal_params=loads(row[_I_PARAMS]), attempt=row[_I_ATTEMPT], owner=row[_I_OWNER],
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


def stored_params_attrs(
    cur: Cursor, trial_id: int, params: Mapping[str, Any] | None, user_attrs: Mapping[str, Any] | None,
) -> tuple[str, str]:
    """JSON of params and user attrs: the given ones, or what is stored where None."""
    if params is None or user_attrs is None:
        old = cur.execute(PARAMS_ATTRS, {"tid": trial_id}).fetchone()
        if old is not None:
            params = loads(old[0]) if params is None else params
            user_attrs = loads(old[1]) if user_attrs is None else user_attrs
    return dumps(dict(params or {})), dumps(dict(user_attrs or {}))


def refuse(cur: Cursor, trial_id: int, attempt: int) -> None:
    """Raise why a write of ``attempt`` matched no row: the trial is finished, or the lease lost."""
    row = cur.execute(STATE, {"tid": trial_id}).fetchone()
    raise refused_write(trial_id, attempt, None if row is None else row[0], None if row is None else row[1])


def finished_earlier(cur: Cursor, args: Mapping[str, Any]) -> FrozenTrial | None:
    """A retried finish: the trial as an earlier try of the same call left it, if it committed."""
    row = cur.execute(TRIAL, {"tid": args["tid"]}).fetchone()
    if row is None or (row[I_STATE], row[I_ATTEMPT], row[I_FINISHED]) != (
        args["state"], args["attempt"], args["finished_at"]
    ):
        return None
    return trial_from_row(row)
