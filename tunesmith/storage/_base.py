"""The storage contract: the study record every worker reads and writes.

A storage holds studies; a study holds trials. Every write is atomic, a finished
trial is immutable, and trial numbers are unique and contiguous within a study even
under concurrent writers. Each write bumps a per-study *version*; readers ask for
trials changed since the version they last saw, so keeping a history in sync costs
O(changes), never a re-scan.

Parameters are stored in their internal, JSON-safe form (see
:meth:`Distribution.to_internal`); the study converts them back.

Each start of a trial (new, claimed from the queue, retried, resumed) is an *attempt*
with its own number, the lease token. Every write of a running trial names its attempt
and is refused (:class:`LeaseLostError`) once another attempt holds the trial or it was
taken back, so a worker that stalled past its lease cannot write over its successor.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from tunesmith._json import dumps, loads
from tunesmith.distributions import Distribution
from tunesmith.exceptions import LeaseLostError, StorageError, TrialFinishedError
from tunesmith.record import FrozenTrial, Report, StudyRecord, StudySummary, TrialState

__all__ = ["Report", "Storage", "StudyRecord", "StudySummary", "TrialValues", "dumps", "loads"]


class TrialValues(NamedTuple):
    """One trial as :meth:`Storage.get_trial_values` reads it: enough for a view of the values alone."""

    number: int
    state: TrialState
    values: list[float] | None
    last_result: dict[str, Any]


class Storage(ABC):
    """Where studies live. Implementations: in-memory, SQL (SQLite, PostgreSQL), a Ray actor serving another."""

    #: A URL other processes can open the same storage with (None: process-local).
    url: str | None = None
    #: ``Study.optimize`` keyword defaults the storage was opened with (Optuna's
    #: ``RDBStorage(heartbeat_interval=...)``); keywords given to ``optimize`` win
    run_defaults: Mapping[str, Any] = {}

    @abstractmethod
    def create_study(
        self, name: str, directions: list[str], metric_names: list[str], load_if_exists: bool = False,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        """Create a study; with ``load_if_exists`` return the existing one of that name."""

    @abstractmethod
    def get_study(self, name: str) -> StudyRecord:
        """The study called ``name``; raises :class:`StudyNotFoundError`."""

    @abstractmethod
    def list_studies(self) -> list[StudySummary]:
        """Every study with its trial counts and best value."""

    @abstractmethod
    def delete_study(self, name: str) -> None:
        """Remove the study called ``name`` with its trials, reports and parameter registry, atomically.

        Raises :class:`StudyNotFoundError` if there is none. A worker still writing the
        study's trials gets :class:`TrialFinishedError` (its trial is gone).
        """

    @abstractmethod
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        """Set one of the study's user attributes (JSON-safe ``value``) atomically; the others stay.

        Raises :class:`StudyNotFoundError` if the study is gone, StorageError on a read-only storage.
        """

    @abstractmethod
    def enqueue_trial(
        self, study_id: int, fixed_params: Mapping[str, Any], system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Queue a WAITING trial with fixed parameters; returns its number.

        ``system_attrs`` (JSON-safe) are stored with it, e.g. the checkpoint a
        continuation trial starts from.
        """

    @abstractmethod
    def start_trial(self, study_id: int, owner: str | None = None) -> FrozenTrial:
        """Start the oldest WAITING trial, or else a new one; returns it RUNNING.

        The trial gets a new :attr:`~FrozenTrial.attempt` (1 for a new trial, one more
        than its last for a queued one), which the caller's writes carry, and ``owner``
        (the starting process's identity, see :mod:`tunesmith._process`).
        """

    @abstractmethod
    def heartbeat(self, study_id: int, trial_id: int, attempt: int) -> None:
        """Renew the lease of this attempt of a RUNNING trial (no version bump, no lock on the study).

        Raises :class:`LeaseLostError` if the attempt was superseded or taken back,
        :class:`TrialFinishedError` if the trial is finished.
        """

    @abstractmethod
    def update_trial(
        self, study_id: int, trial_id: int, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None, *, attempt: int,
    ) -> None:
        """Set a RUNNING trial's parameters (all of them, internal form) and user attributes.

        Also renews the trial's heartbeat. New parameter names are registered with the
        study; a name already registered with another distribution raises ValueError.
        Like every write of a running trial, it raises :class:`LeaseLostError` unless
        ``attempt`` still holds the trial, :class:`TrialFinishedError` if it is finished.
        """

    @abstractmethod
    def append_report(
        self, study_id: int, trial_id: int, step: int, metrics: Mapping[str, Any], *, attempt: int,
    ) -> None:
        """Store intermediate metrics of a RUNNING trial (this attempt's)."""

    @abstractmethod
    def finish_trial(
        self, study_id: int, trial_id: int, state: TrialState, values: list[float] | None = None,
        error: str | None = None, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None, *, attempt: int,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        """Move a RUNNING trial to a finished state, or PAUSED; raises TrialFinishedError if not RUNNING.

        ``params``/``user_attrs``, when given, replace the stored ones (all of them);
        ``system_attrs`` (JSON-safe), when given, are added to the stored ones (the
        trial's constraint values, say), in the same write.
        A PAUSED trial keeps its reports and may go back to the queue (:meth:`resume_trial`).
        ``error`` is stored as text every backend holds (NUL as ``\\x00``).
        """

    @abstractmethod
    def resume_trial(self, study_id: int, trial_id: int) -> bool:
        """Queue a PAUSED trial again (WAITING, same number, parameters and reports).

        Returns False if the trial is not PAUSED (another worker resumed it first).
        """

    @abstractmethod
    def finish_paused(self, study_id: int) -> list[FrozenTrial]:
        """End every PAUSED trial: it becomes PRUNED (stopped early), keeping params, values and reports.

        Called when a run ends, so that no trial stays paused for a promotion that will
        not come. Returns the trials changed.
        """

    @abstractmethod
    def recover_trials(
        self, study_id: int, *, stale_before: float | None = None, trial_ids: list[int] | None = None,
        max_retries: int = 0, reason: str = "",
    ) -> list[FrozenTrial]:
        """Take back RUNNING trials whose worker is lost; returns the trials changed.

        The lost trials are those with no heartbeat since ``stale_before`` (a time from
        ``time.time()``) and/or those in ``trial_ids``. A trial that has been retried
        fewer than ``max_retries`` times goes back to WAITING with the same number,
        parameters and reports (``system_attrs["retries"]`` counts the retries); any
        other becomes FAILED with ``reason``.
        """

    @abstractmethod
    def get_trials(self, study_id: int, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        """Trials changed after ``since_version``, and the version they bring us to."""

    @abstractmethod
    def get_study_reports(self, study_id: int, after: int = 0) -> list[Report]:
        """The study's reports with ``report_id > after``, in write order.

        A reader that passes the last id it saw gets every report written since: ids
        grow in commit order within a study.
        """

    def close(self) -> None:
        """Let go of this process's connections (reopened on next use); before a fork, say. Nothing by default."""
        return None

    # Derived queries: correct from the methods above; backends override them with an
    # index lookup (they are on the hot path of ``study.best_trial`` and the reporters).

    def get_reports(self, study_id: int, trial_id: int) -> list[tuple[int, dict[str, Any]]]:
        """All intermediate reports of a trial, in the order written."""
        return [(r.step, r.metrics) for r in self.get_study_reports(study_id) if r.trial_id == trial_id]

    def best_trial(self, study_id: int, maximize: bool) -> FrozenTrial | None:
        """The COMPLETE trial with the best first objective (the lowest number among equals)."""
        best: FrozenTrial | None = None
        best_value: float | None = None
        for trial in sorted(self.get_trials(study_id)[0], key=lambda t: t.number):
            v = sort_value(trial.values) if trial.state == TrialState.COMPLETE else None
            if v is not None and (best_value is None or (v > best_value if maximize else v < best_value)):
                best, best_value = trial, v
        return best

    def count_trials(self, study_id: int) -> dict[TrialState, int]:
        """Number of trials per state (every state present, 0 where none)."""
        counts = dict.fromkeys(TrialState, 0)
        for trial in self.get_trials(study_id)[0]:
            counts[trial.state] += 1
        return counts

    def get_trial_values(self, study_id: int) -> list[TrialValues]:
        """Every trial's number, state, values and last reported metrics, by number: a light read for
        views of the values alone (a dashboard's first history plot), without decoding whole trials."""
        trials = sorted(self.get_trials(study_id)[0], key=lambda t: t.number)
        return [TrialValues(t.number, t.state, None if t.values is None else list(t.values), dict(t.last_result))
                for t in trials]


def summary_best(storage: Storage, study_id: int, maximize: bool) -> FrozenTrial | None:
    """The best trial a study's summary shows: the best feasible one when the best breaks a constraint."""
    from tunesmith.multi_objective import best_feasible, is_feasible

    best = storage.best_trial(study_id, maximize)
    if best is not None and not is_feasible(best):  # constrained studies only: read them all
        best = best_feasible(storage.get_trials(study_id)[0], maximize)
    return best


def last_activity(trials: Iterable[FrozenTrial]) -> float | None:
    """The latest start, heartbeat or finish time among ``trials`` (None without any)."""
    stamps = [s for t in trials for s in (t.started_at, t.heartbeat_at, t.finished_at) if s is not None]
    return max(stamps, default=None)


def lost_trial_reason(reason: str, heartbeat_at: float | None, now: float) -> str:
    """The error text of a trial whose worker was lost."""
    if reason:
        return reason
    if heartbeat_at is None:
        return "the trial's worker was lost"
    return f"the trial's worker was lost: no heartbeat for {now - heartbeat_at:.0f} s"


def check_finished_state(state: TrialState) -> None:
    """ValueError unless ``state`` is one a running trial can be finished (or paused) in."""
    state = TrialState(state)
    if not (state.is_finished() or state == TrialState.PAUSED):
        raise ValueError(f"finish_trial needs COMPLETE, PRUNED, FAILED or PAUSED, got {state.name}")


def check_distributions(
    study_name: str, known: Mapping[str, Distribution], new: Mapping[str, Distribution],
) -> dict[str, Distribution]:
    """The entries of ``new`` not in ``known``; ValueError if one conflicts, StorageError if one cannot be stored."""
    added = {}
    for name, dist in new.items():
        old = known.get(name)
        if old is None:
            check_storable_name("parameter", name)
            added[name] = dist
        elif old.to_json() != dist.to_json():
            raise ValueError(
                f"parameter {name!r} is already defined in study {study_name!r} as {old}; "
                f"it cannot be redefined as {dist}"
            )
    return added


def finished_error(trial_id: int, state: Any) -> TrialFinishedError:
    return TrialFinishedError(
        f"trial (id {trial_id}) is {TrialState(state).name if state is not None else 'missing'}; "
        "a finished trial cannot change"
    )


def refused_write(trial_id: int, attempt: int, state: Any, current: Any) -> TrialFinishedError:
    """Why a write of attempt ``attempt`` was refused, given the trial's stored state and attempt."""
    if state is None:
        return finished_error(trial_id, None)
    state = TrialState(state)
    if current != attempt or state == TrialState.WAITING:
        now = f"attempt {current} holds it" if state == TrialState.RUNNING else f"it is {state.name}"
        return LeaseLostError(
            f"trial (id {trial_id}) was taken back from this worker (attempt {attempt}): {now}; "
            "this worker's writes to it are dropped"
        )
    return finished_error(trial_id, state)


#: The key of the study's user attributes inside the stored study ``attrs`` (no schema change needed).
USER_ATTRS_KEY = "user_attrs"


def split_study_attrs(stored: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A study's stored attrs as (settings, user attributes)."""
    attrs = dict(stored)
    return attrs, dict(attrs.pop(USER_ATTRS_KEY, None) or {})


def check_user_attr(key: str, value: Any) -> Any:
    """``value`` as stored: a JSON round trip (what JSON cannot hold becomes its ``repr``, as for trials)."""
    if not isinstance(key, str):
        raise TypeError(f"a user attribute's key must be a string, got {key!r}")
    return loads(dumps(value))


#: Longest study or parameter name a storage holds (the SQL column's size).
MAX_NAME_LENGTH = 512


def check_storable_name(kind: str, name: str) -> None:
    """StorageError if ``name`` cannot be a key in a database (a NUL, or longer than the column)."""
    if "\x00" in name:
        raise StorageError(f"{kind} name {name!r} contains a NUL character (\\x00), which no database stores")
    if len(name) > MAX_NAME_LENGTH:
        raise StorageError(
            f"{kind} name {name[:40]!r}... is {len(name)} characters long; storages hold at most {MAX_NAME_LENGTH}"
        )


def storable_text(text: str | None) -> str | None:
    """``text`` as every backend stores it: NUL as ``\\x00`` (PostgreSQL's TEXT cannot hold it),
    lone surrogates (undecodable bytes) as ``\\udcXX`` (no database encoding holds them)."""
    if text is None:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def sort_value(values: list[float] | None) -> float | None:
    """The indexed column: the first objective, or None when absent or NaN."""
    if not values:
        return None
    v = values[0]
    return None if math.isnan(v) else v
