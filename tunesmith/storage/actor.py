"""A storage served by a Ray actor: one process-local storage shared by every node of a Ray run.

:func:`serve` starts a :class:`StorageServer` actor holding the storage (the driver's
in-memory one, say) and returns an :class:`ActorStorage`, a :class:`Storage` whose every
call is a call of that actor. Its handle pickles, so the ActorStorage travels to Ray
tasks on any node; the actor runs calls one at a time, so each is atomic. Ray is
imported only when a storage is served or called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunesmith.distributions import Distribution
from tunesmith.storage._base import Report, Storage, StudyRecord, StudySummary, TrialValues
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["ActorStorage", "StorageServer", "serve"]


class StorageServer:
    """The Ray actor's class: serves ``storage``'s methods by name."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return getattr(self.storage, method)(*args, **kwargs)

    def contents(self) -> Storage:
        """The storage served (a copy, once it reaches the caller)."""
        return self.storage


def serve(storage: Storage, **options: Any) -> ActorStorage:
    """Start a :class:`StorageServer` actor for ``storage`` (``options``: Ray's actor options); its proxy."""
    import ray

    return ActorStorage(ray.remote(StorageServer).options(**options).remote(storage))


class ActorStorage(Storage):
    """A Storage whose calls go to a :class:`StorageServer` actor (picklable: the handle travels).

    An error raised by the served storage comes back as Ray raises it: a ``RayTaskError``
    that is also an instance of the error's own class.
    """

    url = "ray-actor://"

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def __repr__(self) -> str:
        return f"ActorStorage({self.actor!r})"

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import ray

        return ray.get(self.actor.call.remote(method, args, kwargs))

    def contents(self) -> Storage:
        """A copy of the storage the actor serves."""
        import ray

        return ray.get(self.actor.contents.remote())

    def create_study(
        self, name: str, directions: list[str], metric_names: list[str], load_if_exists: bool = False,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        return self._call("create_study", name, directions, metric_names, load_if_exists, attrs)

    def get_study(self, name: str) -> StudyRecord:
        return self._call("get_study", name)

    def list_studies(self) -> list[StudySummary]:
        return self._call("list_studies")

    def delete_study(self, name: str) -> None:
        self._call("delete_study", name)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._call("set_study_user_attr", study_id, key, value)

    def enqueue_trial(
        self, study_id: int, fixed_params: Mapping[str, Any], system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        return self._call("enqueue_trial", study_id, dict(fixed_params), system_attrs)

    def start_trial(self, study_id: int, owner: str | None = None) -> FrozenTrial:
        return self._call("start_trial", study_id, owner)

    def heartbeat(self, study_id: int, trial_id: int, attempt: int) -> None:
        self._call("heartbeat", study_id, trial_id, attempt)

    def update_trial(
        self, study_id: int, trial_id: int, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None, user_attrs: Mapping[str, Any] | None = None,
        *, attempt: int,
    ) -> None:
        self._call("update_trial", study_id, trial_id, params, distributions, user_attrs, attempt=attempt)

    def append_report(
        self, study_id: int, trial_id: int, step: int, metrics: Mapping[str, Any], *, attempt: int,
    ) -> None:
        self._call("append_report", study_id, trial_id, step, dict(metrics), attempt=attempt)

    def finish_trial(
        self, study_id: int, trial_id: int, state: TrialState, values: list[float] | None = None,
        error: str | None = None, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None, user_attrs: Mapping[str, Any] | None = None,
        *, attempt: int, system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        return self._call(
            "finish_trial", study_id, trial_id, state, values, error, params, distributions, user_attrs,
            attempt=attempt, system_attrs=None if system_attrs is None else dict(system_attrs),
        )

    def finish_paused(self, study_id: int) -> list[FrozenTrial]:
        return self._call("finish_paused", study_id)

    def resume_trial(self, study_id: int, trial_id: int) -> bool:
        return self._call("resume_trial", study_id, trial_id)

    def recover_trials(
        self, study_id: int, *, stale_before: float | None = None, trial_ids: list[int] | None = None,
        max_retries: int = 0, reason: str = "",
    ) -> list[FrozenTrial]:
        return self._call(
            "recover_trials", study_id, stale_before=stale_before, trial_ids=trial_ids, max_retries=max_retries,
            reason=reason,
        )

    def get_trials(self, study_id: int, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        return self._call("get_trials", study_id, since_version)

    def get_reports(self, study_id: int, trial_id: int) -> list[tuple[int, dict[str, Any]]]:
        return self._call("get_reports", study_id, trial_id)

    def get_study_reports(self, study_id: int, after: int = 0) -> list[Report]:
        return self._call("get_study_reports", study_id, after)

    def best_trial(self, study_id: int, maximize: bool) -> FrozenTrial | None:
        return self._call("best_trial", study_id, maximize)

    def count_trials(self, study_id: int) -> dict[TrialState, int]:
        return self._call("count_trials", study_id)

    def get_trial_values(self, study_id: int) -> list[TrialValues]:
        return self._call("get_trial_values", study_id)
