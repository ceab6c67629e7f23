from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Keras 3 runs on the CPU torch build, never TensorFlow; trackers stay offline and quiet.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

# The CLI tests' fixtures (a SQLite file with two studies) live beside their helpers.
pytest_plugins = ["cli_support"]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture(autouse=True)
def _in_tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run in a temporary directory so the default ./tunesmith.db never lands in the repo."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONHASHSEED", os.environ.get("PYTHONHASHSEED", "0"))


# A local server with trust auth; the tests create (and drop) their own database in it.
POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
POSTGRES_ADMIN_URL = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database for this test session; skipped only when no server listens."""
    if not _reachable(POSTGRES_HOST, POSTGRES_PORT):
        message = f"no PostgreSQL server reachable at {POSTGRES_HOST}:{POSTGRES_PORT}"
        if os.environ.get("TUNESMITH_REQUIRE_POSTGRES"):
            pytest.fail(message + " (TUNESMITH_REQUIRE_POSTGRES is set: CI must run these tests)")
        pytest.skip(message)
    import psycopg
    from psycopg import sql

    name = f"tunesmith_conf_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # A throwaway database need not wait for the disk at each commit; this halves
        # the time of the concurrency check, whose writers of one study take turns.
        admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
        try:
            yield f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A database of this test's own, dropped after it (for tests that kill, migrate or inspect a whole database)."""
    import psycopg
    from sqlalchemy import make_url

    name = f"tunesmith_t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
