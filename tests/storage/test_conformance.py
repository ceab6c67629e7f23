"""Every storage backend passes the shared conformance suite (tunesmith.testing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunesmith.storage import InMemoryStorage, SQLStorage, Storage
from tunesmith.storage.sql._schema import meta, metadata
from tunesmith.testing import StorageConformance


def _close(storage: SQLStorage) -> None:
    storage.close()


class TestInMemory(StorageConformance):
    @pytest.fixture
    def storage(self) -> Storage:
        return InMemoryStorage()


class TestSQLite(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        storage = SQLStorage(f"sqlite:///{tmp_path}/s.db")
        yield storage
        _close(storage)


class TestPostgreSQL(StorageConformance):
    @pytest.fixture
    def storage(self, postgres_url: str) -> Iterator[Storage]:
        # One database per session; each test starts from empty tables (the schema,
        # tunesmith_meta included, stays: emptying is much faster than recreating).
        import psycopg

        data_tables = [t.name for t in metadata.sorted_tables if t is not meta]
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            if conn.execute("SELECT to_regclass(%s)", (meta.name,)).fetchone() != (None,):
                conn.execute(f"TRUNCATE {', '.join(data_tables)} RESTART IDENTITY CASCADE")
        storage = SQLStorage(postgres_url)
        yield storage
        _close(storage)


@pytest.fixture(scope="module")
def storage_actor() -> Iterator[Any]:
    """A storage actor on a local Ray runtime, shared by the module's tests (skipped without Ray)."""
    ray = pytest.importorskip("ray")
    from tunesmith.storage.actor import serve

    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        yield serve(InMemoryStorage(), num_cpus=0).actor
    finally:
        ray.shutdown()


class TestRayActor(StorageConformance):
    """An in-memory storage served by a Ray actor, as the Ray executor serves one to its workers."""

    opened_by_url = False  # its URL only names it: the actor's handle travels by pickling

    @pytest.fixture
    def storage(self, storage_actor: Any) -> Storage:
        from tunesmith.storage.actor import ActorStorage

        storage = ActorStorage(storage_actor)
        storage._call("replace_contents", InMemoryStorage())  # a fresh, empty storage for each test
        return storage
