"""SQL storage through SQLAlchemy Core: SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout; every write is one short
``BEGIN IMMEDIATE`` transaction, so concurrent writers queue instead of failing
with "database is locked". Every write first bumps the study's row, the counter of
trial numbers and change versions.

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
  transaction may still commit: see ``SQLStorage._pg_changed_trials``. Every write holds
  a shared advisory lock on its study (writers do not block each other), taken
  before the transaction gets its id; a reader that briefly gets the lock
  exclusively knows that no write of the study is in flight.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "demo.db")
>>> s = SQLStorage(f"sqlite:///{path}")
>>> rec = s.create_study("demo", ["minimize"], ["value"])
>>> s.start_trial(rec.study_id).number
0
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tunesmith.distributions import Distribution, distribution_from_json
from tunesmith.exceptions import DuplicatedStudyError, StorageError, StudyNotFoundError
from tunesmith.storage._base import (
    Report,
    Storage,
    StudyRecord,
    StudySummary,
    check_distributions,
    check_finished_state,
    dumps,
    finished_error,
    loads,
    lost_trial_reason,
    sort_value,
)
from tunesmith.storage._dbapi import Cursor, Session
from tunesmith.storage._schema import ensure_schema, reports, studies, study_params, trials
from tunesmith.storage._statements import (
    BUMP,
    BUMP_NUMBER,
    CHANGED,
    CLAIM_WAITING,
    FAIL_LOST,
    FINISH,
    FINISH_WITH_PARAMS,
    FIRST_WAITING,
    HEARTBEAT,
    I_HEARTBEAT,
    I_ID,
    I_SATTRS,
    I_VERSION,
    INSERT_REPORT,
    INSERT_RUNNING,
    INSERT_STUDY_PARAM,
    LOCK_RUNNING,
    PARAMS_ATTRS,
    PG_BEGIN_CHANGE,
    PG_BEGIN_REPORT,
    PG_CHANGED,
    PG_FINISH,
    PG_FINISH_WITH_PARAMS,
    PG_QUIET,
    REQUEUE,
    RESUME,
    RUNNING_TRIALS,
    SET_LAST_REPORT,
    SET_PARAMS,
    STATE,
    STUDY_NAME,
    STUDY_PARAMS,
    STUDY_REPORTS,
    UNBUMP_NUMBER,
    WAITING,
    pg_inserts,
    trial_from_row,
)
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["SQLStorage"]


class SQLStorage(Storage):
    """Storage in a SQL database named by a SQLAlchemy URL.

    Args:
        url: ``sqlite:///path/to/file.db`` or ``postgresql://user@host/db``.
        busy_timeout: seconds a SQLite writer waits for the lock before failing.
    """

    def __init__(self, url: str, busy_timeout: float = 60.0) -> None:
        self.url = url
        self._sqlite = url.startswith("sqlite")
        if self._sqlite and url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("use InMemoryStorage (storage=None) for an in-memory study, not SQLite :memory:")
        kwargs: dict[str, Any] = {}
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        try:
            self._engine = create_engine(url, **kwargs)
        except Exception as e:  # unknown dialect, missing driver...
            raise StorageError(f"cannot use storage URL {self.url!r}: {e}") from e
        if self._sqlite:
            self._setup_sqlite(busy_timeout)
        ensure_schema(self._engine, self.url)
        if self._sqlite:
            with self._read() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._dists: dict[int, dict[str, Distribution]] = {}
        self._names: dict[int, str] = {}
        self._session = Session(self._engine, self._sqlite)

    def _setup_sqlite(self, busy_timeout: float) -> None:
        @event.listens_for(self._engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cur.execute("PRAGMA synchronous = NORMAL")  # durable in WAL mode up to power loss
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(self._engine, "begin")
        def _begin(conn: Connection) -> None:
            if conn.get_execution_options().get("tunesmith_read"):
                return  # reads run statement by statement, in autocommit
            # Take the write lock up front: a deferred transaction that later writes can
            # fail with SQLITE_BUSY without waiting, whatever the busy timeout.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"SQLStorage({self.url!r})"

    def close(self) -> None:
        """Close this process's connections (the storage reopens them on next use)."""
        self._session.close()
        self._engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.begin() as conn:
            yield conn

    def _read(self) -> Connection:
        return self._engine.connect().execution_options(tunesmith_read=True)

    # -- studies ----------------------------------------------------------------------
    def create_study(
        self, name: str, directions: list[str], metric_names: list[str], load_if_exists: bool = False,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        try:
            with self._write() as conn:
                exists = conn.execute(select(studies.c.study_id).where(studies.c.name == name)).first()
                if exists is None:
                    conn.execute(studies.insert().values(
                        name=name, directions=dumps(directions), metric_names=dumps(metric_names),
                        next_number=0, version=0, created_at=time.time(), attrs=dumps(dict(attrs or {})),
                    ))
                elif not load_if_exists:
                    raise DuplicatedStudyError(
                        f"study {name!r} already exists in {self.url}; pass load_if_exists=True to reuse it"
                    )
        except IntegrityError:  # another process created it between our check and insert
            if not load_if_exists:
                raise DuplicatedStudyError(f"study {name!r} already exists in {self.url}") from None
        return self.get_study(name)

    def get_study(self, name: str) -> StudyRecord:
        with self._read() as conn:
            row = conn.execute(select(studies).where(studies.c.name == name)).first()
            if row is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self.url}")
            dist_rows = conn.execute(
                select(study_params.c.name, study_params.c.distribution)
                .where(study_params.c.study_id == row.study_id)
            ).all()
        dists = {n: distribution_from_json(d) for n, d in dist_rows}
        self._dists[row.study_id] = dict(dists)
        self._names[row.study_id] = row.name
        return StudyRecord(
            row.study_id, row.name, loads(row.directions), loads(row.metric_names), dists, row.created_at,
            loads(row.attrs),
        )

    def list_studies(self) -> list[StudySummary]:
        with self._read() as conn:
            rows = conn.execute(select(studies).order_by(studies.c.study_id)).all()
        out = []
        for row in rows:
            directions = loads(row.directions)
            counts = self.count_trials(row.study_id)
            best = self.best_trial(row.study_id, directions[0] == "maximize")
            out.append(StudySummary(
                row.name, directions, loads(row.metric_names), sum(counts.values()), counts,
                sort_value(best.values) if best else None, row.created_at,
            ))
        return out

    # -- trials -----------------------------------------------------------------------
    def enqueue_trial(
        self, study_id: int, fixed_params: Mapping[str, Any], system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        attrs = dumps({**(system_attrs or {}), "fixed_params": dict(fixed_params)})
        if not self._sqlite:
            args = {"sid": study_id, "system_attrs": attrs}
            with self._session.autocommit() as cur:
                while (row := cur.execute(pg_inserts().enqueue, args).fetchone()) is None:
                    pass  # another writer took that number (see the module docstring): take the next
            return int(row[0])
        with self._write() as conn:
            version, next_number = conn.execute(BUMP_NUMBER, {"sid": study_id}).one()
            number = next_number - 1
            conn.execute(trials.insert().values(
                study_id=study_id, number=number, state=WAITING, params="{}", user_attrs="{}",
                system_attrs=attrs, version=version,
            ))
        return number

    def start_trial(self, study_id: int) -> FrozenTrial:
        now = time.time()
        if not self._sqlite:  # one statement, a transaction of its own (see pg_inserts)
            args = {"sid": study_id, "now": now, "system_attrs": "{}"}
            with self._session.autocommit() as cur:
                while (row := cur.execute(pg_inserts().start, args).fetchone()) is None:
                    pass  # another writer took that number (see the module docstring): take the next
            return trial_from_row(row)
        with self._session.write() as cur:
            version, next_number = cur.execute(BUMP_NUMBER, {"sid": study_id}).fetchone()
            waiting = cur.execute(FIRST_WAITING, {"sid": study_id}).fetchone()
            if waiting is not None:
                cur.execute(UNBUMP_NUMBER, {"sid": study_id})
                row = cur.execute(CLAIM_WAITING, {"tid": waiting[0], "now": now, "version": version}).fetchone()
                return trial_from_row(row)
            args = {"sid": study_id, "number": next_number - 1, "now": now, "version": version}
            trial_id = cur.execute(INSERT_RUNNING, args).fetchone()[0]
        return FrozenTrial(next_number - 1, TrialState.RUNNING, started_at=now, heartbeat_at=now, trial_id=trial_id)

    def _register(self, cur: Cursor, study_id: int, distributions: Mapping[str, Distribution] | None) -> None:
        if not distributions:
            return
        known = self._dists.setdefault(study_id, {})
        if all(n in known for n in distributions):
            check_distributions(self._study_name(cur, study_id), known, distributions)
            return
        # Something new: the stored registry (another worker may have written it) decides.
        rows = cur.execute(STUDY_PARAMS, {"sid": study_id}).fetchall()
        known.update({n: distribution_from_json(d) for n, d in rows})
        added = check_distributions(self._study_name(cur, study_id), known, distributions)
        # Not cached here: the transaction may still roll back (the trial turns out
        # finished); the next registration reads the committed rows instead.
        # By name: two writers registering the same names insert them in the same order.
        new_rows = [{"sid": study_id, "name": n, "distribution": d.to_json()} for n, d in sorted(added.items())]
        if self._sqlite:  # no other writer since the read above
            cur.executemany(INSERT_STUDY_PARAM, new_rows)
            return
        # PostgreSQL: another writer may register the same name meanwhile (writers do not
        # take turns); the first to commit stands and the others must agree with it.
        raced = {str(r["name"]) for r in new_rows if cur.execute(pg_inserts().study_param, r).rowcount == 0}
        if raced:
            rows = cur.execute(STUDY_PARAMS, {"sid": study_id}).fetchall()
            known.update({n: distribution_from_json(d) for n, d in rows})
            check_distributions(self._study_name(cur, study_id), known, {n: added[n] for n in raced})

    def _begin_change(self, cur: Cursor, study_id: int, report: bool = False) -> int:
        """The version a write stamps on what it changes: the first statement of its transaction.

        SQLite bumps the study's counter. PostgreSQL takes the study's shared lock, then
        the transaction's id (see the module docstring); a report also takes the study's
        report lock, held to the commit, so that report ids grow in commit order within a
        study (``get_study_reports`` relies on it).
        """
        if self._sqlite:
            return int(cur.execute(BUMP, {"sid": study_id}).fetchone()[0])
        return int(cur.execute(PG_BEGIN_REPORT if report else PG_BEGIN_CHANGE, {"sid": study_id}).fetchone()[0])

    def _study_name(self, cur: Cursor, study_id: int) -> str:
        if study_id not in self._names:
            self._names[study_id] = str(cur.execute(STUDY_NAME, {"sid": study_id}).fetchone()[0])
        return self._names[study_id]

    @staticmethod
    def _stored_params_attrs(
        cur: Cursor, trial_id: int, params: Mapping[str, Any] | None, user_attrs: Mapping[str, Any] | None,
    ) -> tuple[str, str]:
        """JSON of params and user attrs: the given ones, or what is stored where None."""
        if params is None or user_attrs is None:
            old = cur.execute(PARAMS_ATTRS, {"tid": trial_id}).fetchone()
            if old is not None:
                params = loads(old[0]) if params is None else params
                user_attrs = loads(old[1]) if user_attrs is None else user_attrs
        return dumps(dict(params or {})), dumps(dict(user_attrs or {}))

    def _raise_finished(self, cur: Cursor, trial_id: int) -> None:
        row = cur.execute(STATE, {"tid": trial_id}).fetchone()
        raise finished_error(trial_id, None if row is None else row[0])

    def update_trial(
        self, study_id: int, trial_id: int, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        now = time.time()
        if params is None and distributions is None and user_attrs is None:
            with self._session.write() as cur:  # a heartbeat: the trial row only
                if cur.execute(HEARTBEAT, {"tid": trial_id, "now": now}).rowcount != 1:
                    self._raise_finished(cur, trial_id)
            return
        with self._session.write() as cur:
            version = self._begin_change(cur, study_id)
            self._register(cur, study_id, distributions)
            params_json, attrs_json = self._stored_params_attrs(cur, trial_id, params, user_attrs)
            args = {"tid": trial_id, "params": params_json, "user_attrs": attrs_json, "now": now, "version": version}
            if cur.execute(SET_PARAMS, args).rowcount != 1:
                self._raise_finished(cur, trial_id)

    def append_report(self, study_id: int, trial_id: int, step: int, metrics: Mapping[str, Any]) -> None:
        now = time.time()
        text = dumps(dict(metrics))
        with self._session.write() as cur:
            version = self._begin_change(cur, study_id, report=True)
            args = {"tid": trial_id, "step": step, "metrics": text, "now": now, "version": version}
            if cur.execute(SET_LAST_REPORT, args).rowcount != 1:
                self._raise_finished(cur, trial_id)
            cur.execute(INSERT_REPORT, args)

    def finish_trial(
        self, study_id: int, trial_id: int, state: TrialState, values: list[float] | None = None,
        error: str | None = None, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        check_finished_state(state)
        now = time.time()
        simple = (params is None) == (user_attrs is None) and not distributions
        if not self._sqlite and simple:
            return self._finish_in_one_statement(study_id, trial_id, state, values, error, params, user_attrs, now)
        with self._session.write() as cur:
            version = self._begin_change(cur, study_id)
            self._register(cur, study_id, distributions)
            args: dict[str, Any] = {
                "tid": trial_id, "state": int(state), "values_json": None if values is None else dumps(list(values)),
                "value": sort_value(values), "error": error, "finished_at": now, "heartbeat_at": now,
                "version": version,
            }
            stmt = FINISH
            if params is not None or user_attrs is not None:
                args["params"], args["user_attrs"] = self._stored_params_attrs(cur, trial_id, params, user_attrs)
                stmt = FINISH_WITH_PARAMS
            row = cur.execute(stmt, args).fetchone()
            if row is None:
                self._raise_finished(cur, trial_id)
        return trial_from_row(row)

    def resume_trial(self, study_id: int, trial_id: int) -> bool:
        with self._session.write() as cur:
            version = self._begin_change(cur, study_id)
            return int(cur.execute(RESUME, {"tid": trial_id, "version": version}).rowcount) == 1

    def recover_trials(
        self, study_id: int, *, stale_before: float | None = None, trial_ids: list[int] | None = None,
        max_retries: int = 0, reason: str = "",
    ) -> list[FrozenTrial]:
        wanted = set(trial_ids or ())

        def lost(row: Sequence[Any]) -> bool:
            beat = row[I_HEARTBEAT]
            return row[I_ID] in wanted or (stale_before is not None and (beat is None or beat < stale_before))

        # A read first: the common answer is "none", and it takes no write lock.
        with self._session.read() as cur:
            if not any(lost(r) for r in cur.execute(RUNNING_TRIALS, {"sid": study_id}).fetchall()):
                return []
        now = time.time()
        changed = []
        with self._session.write() as cur:
            version = self._begin_change(cur, study_id)
            for row in cur.execute(LOCK_RUNNING, {"sid": study_id}).fetchall():
                if not lost(row):
                    continue
                attrs = loads(row[I_SATTRS])
                retries = int(attrs.get("retries", 0))
                args: dict[str, Any] = {"tid": row[I_ID], "version": version}
                if retries < max_retries:
                    args["system_attrs"] = dumps({**attrs, "retries": retries + 1})
                    new = cur.execute(REQUEUE, args).fetchone()
                else:
                    args.update(error=lost_trial_reason(reason, row[I_HEARTBEAT], now), now=now)
                    new = cur.execute(FAIL_LOST, args).fetchone()
                if new is not None:
                    changed.append(trial_from_row(new))
        return changed

    def _finish_in_one_statement(
        self, study_id: int, trial_id: int, state: TrialState, values: list[float] | None, error: str | None,
        params: Mapping[str, Any] | None, user_attrs: Mapping[str, Any] | None, now: float,
    ) -> FrozenTrial:
        """PostgreSQL's finish: one statement, a transaction of its own; distributions are already registered."""
        args: dict[str, Any] = {
            "sid": study_id, "tid": trial_id, "state": int(state),
            "values_json": None if values is None else dumps(list(values)), "value": sort_value(values),
            "error": error, "finished_at": now, "heartbeat_at": now,
        }
        stmt = PG_FINISH
        if params is not None:
            args["params"], args["user_attrs"] = dumps(dict(params)), dumps(dict(user_attrs or {}))
            stmt = PG_FINISH_WITH_PARAMS
        with self._session.autocommit() as cur:
            row = cur.execute(stmt, args).fetchone()
            if row is None:
                self._raise_finished(cur, trial_id)
        return trial_from_row(row)

    def get_trials(self, study_id: int, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        if not self._sqlite:
            return self._pg_changed_trials(study_id, since_version)
        with self._session.read() as cur:
            rows = cur.execute(CHANGED, {"sid": study_id, "since": since_version}).fetchall()
        if not rows:
            return [], since_version
        return [trial_from_row(r) for r in rows], int(rows[-1][I_VERSION])

    def _pg_changed_trials(self, study_id: int, since: int) -> tuple[list[FrozenTrial], int]:
        """PostgreSQL's get_trials: the version returned never passes a change that may still commit.

        Versions are transaction ids, handed out when a transaction first writes, not when
        it commits, so a change with a smaller id than one seen may still be in flight. The
        version returned is the newest seen, capped at a *horizon* below which every
        transaction that writes the study has committed (and is seen) or rolled back. Trials
        changed above the horizon come again at the next call; applying one twice changes
        nothing.
        """
        args = {"sid": study_id, "since": since}
        with self._session.read() as cur:  # each statement on its own: the lock below is let go at once
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

    def get_reports(self, study_id: int, trial_id: int) -> list[tuple[int, dict[str, Any]]]:
        with self._read() as conn:
            rows = conn.execute(
                select(reports.c.step, reports.c.metrics).where(reports.c.trial_id == trial_id)
                .order_by(reports.c.report_id)
            ).all()
        return [(int(s), loads(m)) for s, m in rows]

    def get_study_reports(self, study_id: int, after: int = 0) -> list[Report]:
        # Ids grow in commit order within a study: a report is inserted while its writer
        # holds the study's report lock (SQLite: the single writer; PostgreSQL: see
        # _begin_change), so none can commit behind a reader's cursor.
        with self._session.read() as cur:
            rows = cur.execute(STUDY_REPORTS, {"sid": study_id, "after": after}).fetchall()
        return [Report(int(i), int(t), int(s), loads(m)) for i, t, s, m in rows]

    def best_trial(self, study_id: int, maximize: bool) -> FrozenTrial | None:
        order = trials.c.value.desc() if maximize else trials.c.value.asc()
        with self._read() as conn:
            row = conn.execute(
                select(trials).where(
                    trials.c.study_id == study_id, trials.c.state == int(TrialState.COMPLETE),
                    trials.c.value.is_not(None),
                ).order_by(order).limit(1)
            ).first()
        return None if row is None else trial_from_row(row)

    def count_trials(self, study_id: int) -> dict[TrialState, int]:
        counts = dict.fromkeys(TrialState, 0)
        with self._read() as conn:
            for state, n in conn.execute(
                select(trials.c.state, func.count()).where(trials.c.study_id == study_id).group_by(trials.c.state)
            ):
                counts[TrialState(state)] = int(n)
        return counts
