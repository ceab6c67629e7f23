"""Finding and opening the storage a command names (``--storage``, ``TUNESMITH_STORAGE``, the default)."""

from __future__ import annotations

import os

import click

from tunesmith.exceptions import StudyNotFoundError
from tunesmith.storage import Storage, get_storage
from tunesmith.study import Study, load_study

__all__ = [
    "ENV_STORAGE", "command_storage_option", "open_storage", "open_study", "sqlite_path", "storage_url",
]

ENV_STORAGE = "TUNESMITH_STORAGE"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")

#: ``--storage`` after the command; the group takes it before the command (with the env var and default).
command_storage_option = click.option(
    "--storage", default=None, metavar="URL", help="Storage URL (overrides the one given before the command).",
)


def storage_url(ctx: click.Context, storage: str | None) -> str:
    """The command's ``--storage``, else the group's (which holds the env var and the default)."""
    return storage if storage is not None else str(ctx.obj)


def sqlite_path(url: str) -> str | None:
    """The file a SQLite storage URL (or bare ``.db`` path) names; None for other storages."""
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        try:
            database = make_url(url).database
        except Exception:  # a malformed URL: get_storage reports it
            return None
        return database if database and database != ":memory:" else None
    if "://" not in url and url.endswith(_SQLITE_SUFFIXES):
        return url
    return None


def open_storage(url: str, read_only: bool = True) -> Storage:
    """Open ``url``; read-only unless asked (then nothing, not even a missing file, is written).

    A SQLite file that does not exist is a usage error (exit status 2) for every
    command: a mistyped path must not leave an empty database behind.
    """
    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        raise click.BadParameter(
            f"no database file at {os.path.abspath(path)}; pass --storage URL or set {ENV_STORAGE} "
            "to the study's storage",
            param_hint="'--storage'",
        )
    try:
        return get_storage(url, read_only=read_only)
    except ValueError as e:  # a URL no storage understands
        raise click.BadParameter(str(e), param_hint="'--storage'") from e


def open_study(storage: Storage, url: str, name: str) -> Study:
    """Load study ``name``; a clean error naming the studies there if there is none of that name."""
    try:
        return load_study(name, storage)
    except StudyNotFoundError:
        names = [s.name for s in storage.list_studies()]
        available = f"available: {', '.join(names)}" if names else "it holds no studies"
        raise click.ClickException(f"no study named {name!r} in {url}; {available}") from None
