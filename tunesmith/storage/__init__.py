"""Storages: where the study record lives (in memory, SQLite, PostgreSQL, a Ray actor).

:class:`SQLStorage` is imported on first use (``tunesmith.storage.SQLStorage`` or
:func:`get_storage` with a URL): importing tunesmith does not import SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunesmith.storage._base import Report, Storage, StudyRecord, StudySummary
from tunesmith.storage._url import DEFAULT_STORAGE_URL, get_storage
from tunesmith.storage.memory import InMemoryStorage

if TYPE_CHECKING:
    from tunesmith.storage.sql import SQLStorage

__all__ = [
    "Report",
    "DEFAULT_STORAGE_URL",
    "InMemoryStorage",
    "SQLStorage",
    "Storage",
    "StudyRecord",
    "StudySummary",
    "get_storage",
]


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from tunesmith.storage.sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
