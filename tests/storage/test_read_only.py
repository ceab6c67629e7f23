"""Reading never writes: a storage opened read-only creates, migrates and changes nothing.

Also: URLs that must not be opened at all (PostgreSQL without a database name).
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tunesmith.exceptions import SchemaVersionError, StorageError
from tunesmith.storage import SQLStorage, get_storage
from tunesmith.storage.sql._schema import SCHEMA_VERSION
from tunesmith.trial import TrialState


def _populate(storage: SQLStorage) -> int:
    sid = storage.create_study("s", ["minimize"], ["loss"]).study_id
    for i in range(3):
        t = storage.start_trial(sid)
        storage.append_report(sid, t.trial_id, 0, {"loss": float(i)}, attempt=t.attempt)
        storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [float(i)], attempt=t.attempt)
    storage.start_trial(sid)
    return sid


def _writes(storage: SQLStorage, sid: int) -> list[Callable[[], object]]:
    t = storage.get_trials(sid)[0][-1]
    return [
        lambda: storage.create_study("new", ["minimize"], ["loss"]),
        lambda: storage.delete_study("s"),
        lambda: storage.enqueue_trial(sid, {"x": 1}),
        lambda: storage.start_trial(sid),
        lambda: storage.heartbeat(sid, t.trial_id, t.attempt),
        lambda: storage.update_trial(sid, t.trial_id, {"x": 1}, attempt=t.attempt),
        lambda: storage.append_report(sid, t.trial_id, 1, {"loss": 0.0}, attempt=t.attempt),
        lambda: storage.finish_trial(sid, t.trial_id, TrialState.COMPLETE, [0.0], attempt=t.attempt),
        lambda: storage.resume_trial(sid, t.trial_id),
        lambda: storage.finish_paused(sid),
        lambda: storage.recover_trials(sid, trial_ids=[t.trial_id]),
    ]


def _read_everything(storage: SQLStorage, sid: int) -> Any:
    trials, version = storage.get_trials(sid)
    return (
        [(s.name, s.n_trials, s.best_value) for s in storage.list_studies()], storage.get_study("s").name,
        sorted((t.number, t.state, t.values) for t in trials), version, storage.get_study_reports(sid),
        storage.count_trials(sid), storage.best_trial(sid, False),
    )


# -- SQLite --------------------------------------------------------------------------------------
def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A tunesmith file as a reader finds it: written, closed, back in rollback-journal mode."""
    path = tmp_path / "study.db"
    writer = SQLStorage(f"sqlite:///{path}")
    _populate(writer)
    writer.close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=DELETE")  # so that any PRAGMA journal_mode=WAL would show in its header
    con.close()
    return path


def test_sqlite_read_only_reads_and_changes_nothing(db: Path) -> None:
    writer = SQLStorage(f"sqlite:///{db}")
    sid = writer.get_study("s").study_id
    expected = _read_everything(writer, sid)
    writer.close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=DELETE")  # the writer made it WAL again
    con.close()
    before = _files(db.parent)
    storage = SQLStorage(f"sqlite:///{db}", read_only=True)
    assert _read_everything(storage, sid) == expected
    for write in _writes(storage, sid):
        with pytest.raises(StorageError, match="read-only"):
            write()
    assert _read_everything(storage, sid) == expected
    storage.close()
    assert _files(db.parent) == before  # not a byte, not a side file


def test_sqlite_read_only_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(StorageError, match=r"no database file at .*typo\.db"):
        SQLStorage(f"sqlite:///{missing}", read_only=True)
    with pytest.raises(StorageError, match="no database file"):
        get_storage(str(missing), read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_sqlite_read_only_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StorageError, match="no tunesmith tables"):
        SQLStorage(f"sqlite:///{empty}", read_only=True)
    assert _files(tmp_path) == {"empty.db": b""}  # not turned into a database


def test_sqlite_read_only_foreign_and_corrupt_files(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(random.Random(0).randbytes(8192))
    before = _files(tmp_path)
    with pytest.raises(StorageError, match=r"not a tunesmith database.*users"):
        SQLStorage(f"sqlite:///{other}", read_only=True)
    with pytest.raises(StorageError, match=r"corrupt\.db is not a tunesmith database: it is not a SQLite database"):
        SQLStorage(f"sqlite:///{corrupt}", read_only=True)
    assert _files(tmp_path) == before


@pytest.mark.parametrize(("found", "words"), [(2, ("older", "never by a read")), (99, ("newer", "upgrade"))])
def test_sqlite_read_only_never_migrates(db: Path, found: int, words: tuple[str, ...]) -> None:
    con = sqlite3.connect(db)
    con.execute("UPDATE tunesmith_meta SET value = ? WHERE key = 'schema_version'", (str(found),))
    con.commit()
    con.close()
    before = _files(db.parent)
    with pytest.raises(SchemaVersionError) as exc:
        SQLStorage(f"sqlite:///{db}", read_only=True)
    assert all(w in str(exc.value) for w in (str(found), str(SCHEMA_VERSION), *words))
    assert _files(db.parent) == before


_READER = """
import sys
from tunesmith.storage import SQLStorage
s = SQLStorage("sqlite:///" + sys.argv[1], read_only=True)
print([x.name for x in s.list_studies()], s.count_trials(s.get_study("s").study_id)[2])
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not os.path.exists("/usr/bin/setpriv"),
                    reason="needs root to run the reader as another user (setpriv)")
@pytest.mark.parametrize("wal", [False, True], ids=["rollback journal", "WAL"])
def test_sqlite_file_the_user_may_only_read(tmp_path: Path, wal: bool) -> None:
    """The reader may read the file but write neither it nor its folder (so no -shm for a WAL file)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "study.db"
    writer = SQLStorage(f"sqlite:///{path}")
    _populate(writer)
    writer.close()
    if not wal:
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=DELETE")
        con.close()
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    os.chmod(tmp_path, 0o755)
    for parent in tmp_path.parents:  # pytest's folders are private to their owner
        if parent == Path("/tmp"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o055)
    before = _files(folder)
    out = subprocess.run(
        ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", _READER,
         str(path)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": "/tmp"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["['s']", "3"]
    assert _files(folder) == before


# -- PostgreSQL ------------------------------------------------------------------------------------
psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def pg_url(fresh_postgres_url: str) -> str:
    """A database of this test's own (the kills and schema changes below reach only it)."""
    return fresh_postgres_url


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def test_postgresql_read_only_does_not_create_tables(pg_url: str) -> None:
    with pytest.raises(StorageError, match="no tunesmith tables"):
        SQLStorage(pg_url, read_only=True)
    with pytest.raises(StorageError, match="no tunesmith tables"):
        get_storage(pg_url, read_only=True)
    assert _tables(pg_url) == []


def test_postgresql_read_only_reads_and_changes_nothing(pg_url: str) -> None:
    writer = SQLStorage(pg_url)
    sid = _populate(writer)
    expected = _read_everything(writer, sid)
    storage = SQLStorage(pg_url, read_only=True)
    assert _read_everything(storage, sid) == expected
    for write in _writes(storage, sid):
        with pytest.raises(StorageError, match="read-only"):
            write()
    assert _read_everything(writer, sid) == expected
    # Even a write that slipped past the storage would be refused by the server.
    with storage._engine.connect() as conn, pytest.raises(Exception, match="read-only transaction"):
        conn.exec_driver_sql("DELETE FROM tunesmith_reports")
    storage.close()
    writer.close()


def test_postgresql_read_only_never_migrates(pg_url: str) -> None:
    SQLStorage(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE tunesmith_trials DROP COLUMN attempt, DROP COLUMN owner")
        conn.execute("UPDATE tunesmith_meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="never by a read"):
        SQLStorage(pg_url, read_only=True)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT value FROM tunesmith_meta").fetchone() == ("2",)


# -- URLs that name no database -----------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "postgresql://", "postgres://", "postgresql://user@localhost/", "postgresql://user@localhost:5432",
    "postgresql+psycopg://localhost",
])
@pytest.mark.parametrize("read_only", [False, True])
def test_postgresql_url_without_a_database_is_refused(url: str, read_only: bool) -> None:
    with pytest.raises(ValueError, match="names no database"):
        get_storage(url, read_only=read_only)
    with pytest.raises(ValueError, match="names no database"):
        SQLStorage(url, read_only=read_only)
