"""SQL storage specifics on PostgreSQL: versions from transaction ids, numbers without a counter row, schema 1.

Each test gets a database of its own. A second connection plays a writer caught in the
middle of its transaction, with the storage's own statements, to pin down what a reader
or another writer sees meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tunesmith.distributions import FloatDistribution, IntDistribution
from tunesmith.storage import SQLStorage
from tunesmith.storage.sql._schema import SCHEMA_VERSION
from tunesmith.storage.sql._statements import SET_PARAMS
from tunesmith.storage.sql.postgres import PG_BEGIN_CHANGE, pg_inserts
from tunesmith.trial import TrialState

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def url(fresh_postgres_url: str) -> str:
    """A database of this test's own (the kills and schema changes below reach only it)."""
    return fresh_postgres_url


@pytest.fixture
def storage(url: str) -> Iterator[SQLStorage]:
    s = SQLStorage(url)
    yield s
    s.close()


@pytest.fixture
def other(url: str) -> Iterator[Any]:
    """A second connection, in a transaction until committed or rolled back."""
    from psycopg.rows import namedtuple_row

    with psycopg.connect(url, row_factory=namedtuple_row) as conn:
        yield conn


def _run(storage: SQLStorage, conn: Any, stmt: Any, **params: Any) -> Any:
    """Run one of the storage's statements on ``conn``."""
    compiled = storage._session.compile(stmt)
    return conn.execute(compiled.sql, compiled.args(params))


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as e:
            out.append(e)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


def _blocked(th: threading.Thread) -> bool:
    th.join(timeout=0.5)
    return th.is_alive()


# -- versions ------------------------------------------------------------------------------
def test_reader_never_passes_a_change_still_in_flight(storage: SQLStorage, other: Any) -> None:
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    a, b = storage.start_trial(sid), storage.start_trial(sid)
    _, v0 = storage.get_trials(sid)
    # A writer of the study takes its version (its transaction id) and writes, uncommitted ...
    (in_flight,) = _run(storage, other, PG_BEGIN_CHANGE, sid=sid).fetchone()
    _run(storage, other, SET_PARAMS, tid=a.trial_id, params='{"x": 1}', user_attrs="{}", now=time.time(),
         version=in_flight, attempt=a.attempt)
    # ... while a later transaction commits a change: it is seen, the cursor stays below the first.
    storage.finish_trial(sid, b.trial_id, TrialState.COMPLETE, [1.0], attempt=b.attempt)
    changed, v1 = storage.get_trials(sid, v0)
    assert [(t.trial_id, t.state) for t in changed] == [(b.trial_id, TrialState.COMPLETE)]
    assert v0 <= v1 < in_flight
    other.commit()
    changed, v2 = storage.get_trials(sid, v1)
    by_id = {t.trial_id: t for t in changed}
    assert by_id[a.trial_id].internal_params == {"x": 1}  # not missed
    assert v2 > v1 and storage.get_trials(sid, v2) == ([], v2)


@pytest.mark.parametrize("where", ["other study", "other database"])
def test_versions_stay_exact_while_others_write(storage: SQLStorage, url: str, postgres_url: str, where: str) -> None:
    """A transaction in flight elsewhere does not hold this study's readers back."""
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    elsewhere = storage.create_study("elsewhere", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    with psycopg.connect(url if where == "other study" else postgres_url) as conn:
        if where == "other study":
            _run(storage, conn, PG_BEGIN_CHANGE, sid=elsewhere)
        else:
            conn.execute("SELECT pg_current_xact_id()")  # holds a transaction id, below ours
        _, version = storage.get_trials(sid)
        writes: list[Callable[[], object]] = [
            lambda: storage.start_trial(sid),
            lambda: storage.update_trial(sid, t.trial_id, params={"a": 1}, attempt=t.attempt),
            lambda: storage.append_report(sid, t.trial_id, 0, {"loss": 1.0}, attempt=t.attempt),
            lambda: storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [1.0], attempt=t.attempt),
        ]
        for write in writes:
            write()
            changed, new = storage.get_trials(sid, version)
            assert new > version and len(changed) == 1
            assert storage.get_trials(sid, new) == ([], new)
            version = new
        conn.rollback()


# -- trial numbers ---------------------------------------------------------------------------
@pytest.mark.parametrize("outcome", ["rollback", "commit"])
def test_a_number_is_taken_once_the_one_below_is_committed(
    storage: SQLStorage, other: Any, outcome: str,
) -> None:
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    storage.start_trial(sid)
    row = _run(
        storage, other, pg_inserts().start, sid=sid, now=time.time(), system_attrs="{}", owner=None,
    ).fetchone()
    assert row.number == 1  # in flight
    th, out = _in_thread(lambda: storage.start_trial(sid))
    assert _blocked(th)  # waits for number 1 to commit or not
    other.commit() if outcome == "commit" else other.rollback()
    th.join(timeout=30)
    assert out[0].number == (2 if outcome == "commit" else 1)  # no gap either way
    assert sorted(t.number for t in storage.get_trials(sid)[0]) == list(range(len(storage.get_trials(sid)[0])))


def test_enqueued_trial_is_claimed_once(storage: SQLStorage, other: Any) -> None:
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    assert storage.enqueue_trial(sid, {"x": 1}) == 0
    claimed = _run(
        storage, other, pg_inserts().start, sid=sid, now=time.time(), system_attrs="{}", owner=None,
    ).fetchone()
    assert (claimed.number, claimed.state) == (0, int(TrialState.RUNNING))
    # Another start skips the trial being claimed (it does not wait) and takes a new number,
    # which waits only on a new number below it (there is none).
    fresh = storage.start_trial(sid)
    assert fresh.number == 1 and "fixed_params" not in fresh.system_attrs
    other.commit()
    assert storage.count_trials(sid)[TrialState.RUNNING] == 2


# -- parameters registered by two writers at once --------------------------------------------------
@pytest.mark.parametrize("same", [True, False])
def test_concurrent_registration(storage: SQLStorage, other: Any, same: bool) -> None:
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    t = storage.start_trial(sid)
    first, second = FloatDistribution(0.0, 1.0), FloatDistribution(0.0, 1.0) if same else IntDistribution(0, 5)
    _run(storage, other, PG_BEGIN_CHANGE, sid=sid)
    _run(storage, other, pg_inserts().study_param, sid=sid, name="x", distribution=first.to_json())
    th, out = _in_thread(lambda: storage.update_trial(
        sid, t.trial_id, params={"x": 0}, distributions={"x": second}, attempt=t.attempt,
    ))
    assert _blocked(th)  # on the other writer's uncommitted name
    other.commit()
    th.join(timeout=30)
    if same:
        assert out == [None] and storage.get_trials(sid)[0][0].internal_params == {"x": 0}
    else:
        assert isinstance(out[0], ValueError) and "'x'" in str(out[0])
        assert storage.get_trials(sid)[0][0].internal_params == {}  # nothing written
    assert storage.get_study("s").distributions["x"].to_json() == first.to_json()


# -- schema 1 -------------------------------------------------------------------------------------
def test_schema_1_database_is_migrated(url: str) -> None:
    first = SQLStorage(url)
    sid = first.create_study("s", ["minimize"], ["loss"]).study_id
    for i in range(3):
        t = first.start_trial(sid)
        first.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [float(i)], attempt=t.attempt)
    first.enqueue_trial(sid, {"x": 1})
    before = first.get_trials(sid)[0]
    first.close()
    # What schema 1 looked like: counters on the study row, versions from them, no CHECK, no attempts.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tunesmith_trials DROP COLUMN attempt, DROP COLUMN owner")
        conn.execute("ALTER TABLE tunesmith_studies DROP CONSTRAINT ck_tunesmith_studies_no_counters")
        conn.execute("UPDATE tunesmith_studies SET next_number = 4, version = 9")
        conn.execute("UPDATE tunesmith_trials SET version = 5 + number")
        conn.execute("UPDATE tunesmith_meta SET value = '1' WHERE key = 'schema_version'")
    again = SQLStorage(url)
    trials, version = again.get_trials(sid)
    assert sorted((t.number, t.state) for t in trials) == sorted((t.number, t.state) for t in before)
    assert version == 1 and again.get_trials(sid, version) == ([], version)
    assert again.start_trial(sid).number == 3  # the queue first
    assert again.start_trial(sid).number == 4
    assert again.get_trials(sid, version)[1] > version
    again.close()
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT value FROM tunesmith_meta").fetchone() == (str(SCHEMA_VERSION),)
        # A schema-1 writer still running bumps the study row: refused, not silently skipped.
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE tunesmith_studies SET version = version + 1")


def test_schema_2_database_is_migrated(url: str) -> None:
    first = SQLStorage(url)
    sid = first.create_study("s", ["minimize"], ["loss"]).study_id
    done = first.start_trial(sid)
    first.finish_trial(sid, done.trial_id, TrialState.COMPLETE, [1.0], attempt=done.attempt)
    running = first.start_trial(sid)
    first.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tunesmith_trials DROP COLUMN attempt, DROP COLUMN owner")
        conn.execute("UPDATE tunesmith_meta SET value = '2' WHERE key = 'schema_version'")
    again = SQLStorage(url)
    assert sorted((t.number, t.attempt, t.owner) for t in again.get_trials(sid)[0]) == [(0, 0, None), (1, 0, None)]
    again.finish_trial(sid, running.trial_id, TrialState.COMPLETE, [2.0], attempt=0)
    assert (again.start_trial(sid, owner="me").attempt, again.count_trials(sid)[TrialState.COMPLETE]) == (1, 2)
    again.close()
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT value FROM tunesmith_meta").fetchone() == (str(SCHEMA_VERSION),)
