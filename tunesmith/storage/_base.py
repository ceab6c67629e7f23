"""The storage contract: the study record every worker reads and writes.

A storage holds studies; a study holds trials. Every write is atomic, a finished
trial is immutable, and trial numbers are unique and contiguous within a study even
under concurrent writers. Each write bumps a per-study *version*; readers ask for
trials changed since the version they last saw, so keeping a history in sync costs
O(changes), never a re-scan.

Parameters are stored in their internal, JSON-safe form (see
:meth:`Distribution.to_internal`); the study converts them back.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from tunesmith.distributions import Distribution
from tunesmith.exceptions import TrialFinishedError
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["Report", "Storage", "StudyRecord", "StudySummary", "dumps", "loads"]


class Report(NamedTuple):
    """One intermediate report as stored: ids in write order, the trial, its step and metrics."""

    report_id: int
    trial_id: int
    step: int
    metrics: dict[str, Any]


@dataclass
class StudyRecord:
    """A study's identity and declared objectives."""

    study_id: int
    name: str
    directions: list[str]
    metric_names: list[str]
    distributions: dict[str, Distribution] = field(default_factory=dict)
    created_at: float = 0.0
    #: set at creation, JSON-safe: e.g. the sampler's spec, so workers elsewhere use the same one
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudySummary:
    """What ``tunesmith ls`` shows of a study."""

    name: str
    directions: list[str]
    metric_names: list[str]
    n_trials: int
    counts: dict[TrialState, int]
    best_value: float | None
    created_at: float


class Storage(ABC):
    """Where studies live. Implementations: in-memory, SQL (SQLite, PostgreSQL)."""

    #: A URL other processes can open the same storage with (None: process-local).
    url: str | None = None

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
    def enqueue_trial(
        self, study_id: int, fixed_params: Mapping[str, Any], system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Queue a WAITING trial with fixed parameters; returns its number.

        ``system_attrs`` (JSON-safe) are stored with it, e.g. the checkpoint a
        continuation trial starts from.
        """

    @abstractmethod
    def start_trial(self, study_id: int) -> FrozenTrial:
        """Start the oldest WAITING trial, or else a new one; returns it RUNNING."""

    @abstractmethod
    def update_trial(
        self, study_id: int, trial_id: int, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Set a RUNNING trial's parameters (all of them, internal form) and user attributes.

        Also renews the trial's heartbeat; called with nothing else, it is the heartbeat
        alone (no version bump, no lock on the study). New parameter names are
        registered with the study; a name already registered with another distribution
        raises ValueError.
        """

    @abstractmethod
    def append_report(self, study_id: int, trial_id: int, step: int, metrics: Mapping[str, Any]) -> None:
        """Store intermediate metrics of a RUNNING trial."""

    @abstractmethod
    def finish_trial(
        self, study_id: int, trial_id: int, state: TrialState, values: list[float] | None = None,
        error: str | None = None, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        """Move a RUNNING trial to a finished state, or PAUSED; raises TrialFinishedError if not RUNNING.

        ``params``/``user_attrs``, when given, replace the stored ones (all of them).
        A PAUSED trial keeps its reports and may go back to the queue (:meth:`resume_trial`).
        """

    @abstractmethod
    def resume_trial(self, study_id: int, trial_id: int) -> bool:
        """Queue a PAUSED trial again (WAITING, same number, parameters and reports).

        Returns False if the trial is not PAUSED (another worker resumed it first).
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


def lost_trial_reason(reason: str, heartbeat_at: float | None, now: float) -> str:
    """The error text of a trial whose worker was lost."""
    if reason:
        return reason
    if heartbeat_at is None:
        return "the trial's worker was lost"
    return f"the trial's worker was lost: no heartbeat for {now - heartbeat_at:.0f} s"


def check_finished_state(state: TrialState) -> None:
    state = TrialState(state)
    if not (state.is_finished() or state == TrialState.PAUSED):
        raise ValueError(f"finish_trial needs COMPLETE, PRUNED, FAILED or PAUSED, got {state.name}")


def check_distributions(
    study_name: str, known: Mapping[str, Distribution], new: Mapping[str, Distribution],
) -> dict[str, Distribution]:
    """The entries of ``new`` not in ``known``; ValueError if one conflicts."""
    added = {}
    for name, dist in new.items():
        old = known.get(name)
        if old is None:
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


def _default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "item"):  # torch/jax scalars
        try:
            return obj.item()
        except Exception:
            pass
    return repr(obj)


def dumps(obj: Any) -> str:
    """JSON with NaN/inf kept (as Python's json writes them) and numpy values converted."""
    return json.dumps(obj, separators=(",", ":"), default=_default)


loads = json.loads


def sort_value(values: list[float] | None) -> float | None:
    """The indexed column: the first objective, or None when absent or NaN."""
    if not values:
        return None
    v = values[0]
    return None if math.isnan(v) else v
