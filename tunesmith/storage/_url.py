"""Turning the ``storage=`` argument (None, a URL, a path, a Storage) into a Storage."""

from __future__ import annotations

import os

from tunesmith.storage._base import Storage

#: Where ``tunesmith.run`` and the CLI keep studies when told nothing else.
DEFAULT_STORAGE_URL = "sqlite:///tunesmith.db"

_SQL_PREFIXES = ("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")


def get_storage(storage: Storage | str | os.PathLike[str] | None, read_only: bool = False) -> Storage:
    """None -> in-memory; ``sqlite:///f.db`` / ``postgresql://...`` -> SQL; a ``.db`` path -> SQLite.

    With ``read_only`` a SQL storage writes nothing at all (no tables, no migration; a
    missing SQLite file is an error, see :class:`SQLStorage`). A PostgreSQL URL must name
    its database: ``postgresql://`` alone is refused.
    """
    from tunesmith.storage.memory import InMemoryStorage

    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, os.PathLike):
        storage = os.fspath(storage)
    if not isinstance(storage, str):
        raise TypeError(f"storage must be None, a URL string or a Storage, got {type(storage).__name__}")
    from tunesmith.storage.sql import SQLStorage  # SQLAlchemy: imported only for an SQL storage

    if storage.startswith("postgres://"):
        storage = "postgresql://" + storage[len("postgres://"):]
    if storage.startswith(_SQL_PREFIXES):
        return SQLStorage(storage, read_only=read_only)
    if "://" not in storage and storage.endswith((".db", ".sqlite", ".sqlite3")):
        return SQLStorage(f"sqlite:///{storage}", read_only=read_only)
    raise ValueError(
        f"storage {storage!r} is not understood; use 'sqlite:///path.db', a path ending in .db, "
        "'postgresql://user@host/db', or None for in-memory"
    )
