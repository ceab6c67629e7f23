"""Deleting a study for good: its record and its checkpoint folder."""

from __future__ import annotations

import os

from tunesmith._study_args import one_name
from tunesmith.checkpoints import CheckpointStore, default_artifact_root
from tunesmith.storage import Storage, get_storage

__all__ = ["delete_study"]


def delete_study(
    name: str | None = None, storage: Storage | str | os.PathLike[str] | None = None, *,
    study_name: str | None = None,
) -> None:
    """Delete a study for good: its trials, reports and checkpoint folder.

    ``study_name`` is Optuna's spelling of ``name``. Raises StudyNotFoundError if there is none.
    """
    name = one_name(name, study_name)
    if name is None or storage is None:
        raise TypeError("delete_study needs the study's name and storage: delete_study('mlp', 'sqlite:///t.db')")
    store = get_storage(storage)
    record = store.get_study(name)
    checkpoints = CheckpointStore(
        record.attrs.get("artifacts") or default_artifact_root(store.url), name, key=record.attrs.get("key"),
    )
    checkpoints.check_deletable()  # before anything is deleted
    store.delete_study(name)
    checkpoints.delete_all()
