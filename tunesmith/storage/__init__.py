"""Storages: where the study record lives (in memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from tunesmith.storage._base import Report, Storage, StudyRecord, StudySummary
from tunesmith.storage._url import DEFAULT_STORAGE_URL, get_storage
from tunesmith.storage.memory import InMemoryStorage
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
