"""Errors raised by tunesmith."""

from __future__ import annotations

__all__ = [
    "DuplicatedStudyError",
    "LeaseLostError",
    "MaxFailuresError",
    "SchemaVersionError",
    "StorageError",
    "StudyNotFoundError",
    "TrialFinishedError",
    "TrialPruned",
    "TrialStopped",
]


class StorageError(RuntimeError):
    """The storage cannot be used as asked (wrong file, unreachable server...)."""


class SchemaVersionError(StorageError):
    """The database was written by a different tunesmith schema version."""


class StudyNotFoundError(KeyError):
    """No study of that name in the storage."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "study not found"


class DuplicatedStudyError(ValueError):
    """A study of that name exists already (pass ``load_if_exists=True`` to reuse it)."""


class TrialFinishedError(RuntimeError):
    """A finished trial is immutable: it cannot be reported to or finished again."""


class LeaseLostError(TrialFinishedError):
    """This worker's run of a trial was taken back (its heartbeat lapsed): it may no longer write it.

    The trial went back to the queue, or to another worker, or was failed; whatever this
    run does now is dropped, so that it cannot overwrite what its successor writes.
    """


class MaxFailuresError(RuntimeError):
    """Too many trials failed (``optimize(max_failures=...)``): the study stopped."""


class TrialStopped(Exception):  # noqa: N818 - reads as an event, like StopIteration
    """Raised inside an objective to end the trial early (a scheduler's stop decision)."""


#: Optuna's name: ``raise tunesmith.TrialPruned()`` after ``trial.should_prune()``
TrialPruned = TrialStopped
