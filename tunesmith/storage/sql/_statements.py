"""The statements both SQL backends share, built once (SQLAlchemy reuses their compiled form),
row decoding, and the few queries the storage's methods share (refusing a write, a retried finish).

What only one backend runs lives in its strategy (:mod:`.sqlite`, :mod:`.postgres`).
Every write of a running trial matches on its ``attempt`` too (the lease token, see
:mod:`tunesmith.storage._base`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import String, bindparam, func, select

from tunesmith._json import loads_stored
from tunesmith.distributions import Distribution
from tunesmith.storage._base import StudyRecord, dumps, loads, refused_write, split_study_attrs
from tunesmith.storage.sql._schema import reports, studies, study_params, trials
from tunesmith.storage.sql._session import Cursor
from tunesmith.trial import FrozenTrial, TrialState

RUNNING = int(TrialState.RUNNING)
WAITING = int(TrialState.WAITING)
PAUSED = int(TrialState.PAUSED)
# The row a write of a running trial may change: this trial, RUNNING, held by this attempt.
HELD = (trials.c.trial_id == bindparam("tid"), trials.c.state == RUNNING, trials.c.attempt == bindparam("attempt"))

RESUME = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == int(TrialState.PAUSED))
    .values(state=WAITING, heartbeat_at=None, version=bindparam("version"))
)
# start_trial, tried again: the trial an earlier try started, if its commit went through.
STARTED_BY = select(trials).where(
    trials.c.study_id == bindparam("sid"), trials.c.state == RUNNING, trials.c.started_at == bindparam("now"),
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
FINISH_COLUMNS: dict[str, Any] = {
    c: bindparam(c) for c in ("state", "values_json", "value", "error", "finished_at", "heartbeat_at", "version")
}
FINISH = trials.update().where(*HELD).values(**FINISH_COLUMNS).returning(*trials.c)
FINISH_WITH_PARAMS = (
    trials.update().where(*HELD)
    .values(**FINISH_COLUMNS, params=bindparam("params"), user_attrs=bindparam("user_attrs"))
    .returning(*trials.c)
)
# finish_trial's system_attrs: read, then the merged ones written while the lease still holds
SYSTEM_ATTRS = select(trials.c.system_attrs).where(trials.c.trial_id == bindparam("tid"))
SET_SYSTEM_ATTRS = trials.update().where(*HELD).values(system_attrs=bindparam("system_attrs"))
SET_PARAMS = (
    trials.update().where(*HELD)
    .values(params=bindparam("params"), user_attrs=bindparam("user_attrs"), heartbeat_at=bindparam("now"),
            version=bindparam("version"))
)
SET_LAST_REPORT = (
    trials.update().where(*HELD)
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
# -- studies -----------------------------------------------------------------------------
STUDY_BY_NAME = select(studies).where(studies.c.name == bindparam("name"))
ALL_STUDIES = select(studies).order_by(studies.c.study_id)
STUDY_ATTRS = select(studies.c.attrs).where(studies.c.study_id == bindparam("sid")).with_for_update()
SET_STUDY_ATTRS = studies.update().where(studies.c.study_id == bindparam("sid")).values(attrs=bindparam("attrs"))
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
TRIAL_VALUES = (
    select(trials.c.number, trials.c.state, trials.c.values_json, trials.c.value, trials.c.last_result)
    .where(trials.c.study_id == bindparam("sid")).order_by(trials.c.number)
)
COUNT_STATES = (
    select(trials.c.state, func.count()).where(trials.c.study_id == bindparam("sid")).group_by(trials.c.state)
)

LAST_ACTIVITY = select(func.max(trials.c.started_at), func.max(trials.c.heartbeat_at),
                       func.max(trials.c.finished_at)).where(trials.c.study_id == bindparam("sid"))
HEARTBEAT = trials.update().where(*HELD).values(heartbeat_at=bindparam("now"))
RUNNING_TRIALS = select(trials).where(trials.c.study_id == bindparam("sid"), trials.c.state == RUNNING)
# In recover_trials' write: locked (PostgreSQL), so a concurrent finish or recovery either
# went first and is seen, or waits; in trial_id order, so two recoveries cannot deadlock.
LOCK_RUNNING = RUNNING_TRIALS.order_by(trials.c.trial_id).with_for_update()
REQUEUE = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == RUNNING)
    .values(state=WAITING, system_attrs=bindparam("system_attrs"), heartbeat_at=None, version=bindparam("version"))
    .returning(*trials.c)
)
FAIL_LOST = (
    trials.update().where(trials.c.trial_id == bindparam("tid"), trials.c.state == RUNNING)
    .values(state=int(TrialState.FAILED), error=bindparam("error"), finished_at=bindparam("now"),
            version=bindparam("version"))
    .returning(*trials.c)
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
    settings, user_attrs = split_study_attrs(loads(row[_SCOL["attrs"]]))
    return StudyRecord(
        row[S_ID], row[S_NAME], loads(row[S_DIRECTIONS]), loads(row[_SCOL["metric_names"]]), distributions,
        row[S_CREATED], settings, user_attrs,
    )


def trial_from_row(row: Sequence[Any]) -> FrozenTrial:
    """A trial from a row with the columns of ``trials`` in table order."""
    values, result = row[_I_VALUES], row[_I_RESULT]
    return FrozenTrial(
        row[_I_NUMBER], _STATES[row[_I_STATE]], {},
        None if values is None else loads_stored(values), row[_I_ERROR], loads_stored(row[_I_UATTRS]),
        loads_stored(row[I_SATTRS]), row[_I_START], row[_I_FINISH], row[_I_STEP],
        {} if result is None else loads_stored(result), row[I_HEARTBEAT], row[I_ID], loads_stored(row[_I_PARAMS]),
        attempt=row[_I_ATTEMPT], owner=row[_I_OWNER],
    )


_STATES = tuple(TrialState(i) for i in range(max(TrialState) + 1))


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
