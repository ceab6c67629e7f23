"""Files kept with a trial or a study (Optuna's ``optuna.artifacts``): models, plots, logs.

``upload_artifact`` copies a file into an artifact store under a new id and records
the id, file name and type in the trial's (or study's) user attributes under
``"artifacts:<id>"``; ``download_artifact`` copies it back out. Without a store, the
study's artifact folder (beside its checkpoints) is used::

    def objective(trial):
        ...
        model_path = save_model(...)
        upload_artifact(study_or_trial=trial, file_path=model_path)
        return accuracy

    for meta in get_all_artifact_meta(study.best_trial):
        download_artifact(study=study, artifact_id=meta.artifact_id, file_path=meta.filename)

Ids read back from the record are checked to be ids this module writes (32 hex
digits), so a changed record cannot point a download outside the store.
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from tunesmith.record import FrozenTrial
from tunesmith.trial import Trial

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = [
    "ArtifactMeta", "FileSystemArtifactStore", "download_artifact", "get_all_artifact_meta", "upload_artifact",
]

_PREFIX = "artifacts:"
_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ArtifactMeta:
    """What the record keeps of an uploaded file."""

    artifact_id: str
    filename: str
    mimetype: str
    encoding: str | None


class FileSystemArtifactStore:
    """Artifacts as files in ``base_path`` (a folder every worker can reach for several machines)."""

    def __init__(self, base_path: str | os.PathLike[str]) -> None:
        self.base_path = os.fspath(base_path)

    def _path(self, artifact_id: str) -> str:
        if not isinstance(artifact_id, str) or not _ID.match(artifact_id):
            raise ValueError(f"{artifact_id!r} is not an artifact id (32 hex digits, as upload_artifact returns)")
        return os.path.join(self.base_path, artifact_id)

    def open_reader(self, artifact_id: str) -> BinaryIO:
        path = self._path(artifact_id)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no artifact {artifact_id} in {self.base_path}")
        return open(path, "rb")

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        os.makedirs(self.base_path, exist_ok=True)
        path = self._path(artifact_id)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with open(tmp, "wb") as f:
            shutil.copyfileobj(content_body, f)
        os.replace(tmp, path)  # readers never see half a file

    def remove(self, artifact_id: str) -> None:
        path = self._path(artifact_id)
        if os.path.exists(path):
            os.remove(path)


def _store_of(study: Study) -> FileSystemArtifactStore:
    return FileSystemArtifactStore(os.path.join(study.checkpoints.study_dir, "artifacts"))


def upload_artifact(
    *, study_or_trial: Trial | Study, file_path: str | os.PathLike[str],
    artifact_store: FileSystemArtifactStore | None = None, mimetype: str | None = None, encoding: str | None = None,
    storage: Any = None,
) -> str:
    """Copy ``file_path`` into the store, record it on the running trial (or the study); returns its id.

    A finished trial's record does not change: upload from inside the objective (its
    live ``trial``), or to the study.
    """
    from tunesmith.study import Study

    if isinstance(study_or_trial, FrozenTrial):
        raise TypeError(
            "a finished trial's record cannot change: upload artifacts from inside the objective (pass its "
            "live trial) or to the study"
        )
    study = study_or_trial if isinstance(study_or_trial, Study) else study_or_trial.study
    if not isinstance(study, Study):
        raise TypeError(f"upload_artifact needs a Trial of a study or a Study, got {study_or_trial!r}")
    store = artifact_store or _store_of(study)
    filename = os.path.basename(os.fspath(file_path))
    guessed, guessed_encoding = mimetypes.guess_type(filename)
    artifact_id = uuid.uuid4().hex
    with open(file_path, "rb") as f:
        store.write(artifact_id, f)
    meta = {"artifact_id": artifact_id, "filename": filename, "mimetype": mimetype or guessed or
            "application/octet-stream", "encoding": encoding or guessed_encoding}
    if isinstance(study_or_trial, Study):
        study.set_user_attr(_PREFIX + artifact_id, meta)
    else:
        study_or_trial.set_user_attr(_PREFIX + artifact_id, meta)
    return artifact_id


def get_all_artifact_meta(study_or_trial: Trial | FrozenTrial | Study, storage: Any = None) -> list[ArtifactMeta]:
    """The artifacts recorded on a trial (live or finished) or a study, in upload order."""
    attrs = study_or_trial.user_attrs
    out = []
    for key, meta in attrs.items():
        if key.startswith(_PREFIX) and isinstance(meta, dict) and _ID.match(str(meta.get("artifact_id", ""))):
            out.append(ArtifactMeta(str(meta["artifact_id"]), os.path.basename(str(meta.get("filename", ""))),
                                    str(meta.get("mimetype", "application/octet-stream")), meta.get("encoding")))
    return out


def download_artifact(
    *, artifact_id: str, file_path: str | os.PathLike[str], artifact_store: FileSystemArtifactStore | None = None,
    study: Study | None = None,
) -> None:
    """Copy an artifact to ``file_path`` (which must not exist yet), from ``artifact_store`` or the study's."""
    if artifact_store is None:
        if study is None:
            raise TypeError("download_artifact needs artifact_store= or the study= the artifact was uploaded to")
        artifact_store = _store_of(study)
    if os.path.exists(file_path):
        raise FileExistsError(f"{os.fspath(file_path)!r} exists; download_artifact does not overwrite files")
    with artifact_store.open_reader(artifact_id) as src, open(file_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
