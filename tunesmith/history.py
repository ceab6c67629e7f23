"""A study's trials as columns of numpy arrays, and its reports as a log, synced incrementally.

Samplers and schedulers receive a :class:`History` (and schedulers a :class:`ReportLog`);
they never see the storage.
Syncing asks the storage for trials changed since the last version seen, so a
suggestion costs O(new trials), never a re-scan. Nothing is fetched until a policy
actually reads the history, so samplers that need none (random) pay nothing.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tunesmith.distributions import Distribution
from tunesmith.record import FrozenTrial, Report, TrialState

if TYPE_CHECKING:
    from tunesmith.checkpoints import CheckpointStore

__all__ = ["History", "ReportLog"]

Fetch = Callable[[int], tuple[list[FrozenTrial], int]]


class History:
    """Columnar, incrementally updated view of a study's trials.

    Args:
        fetch: ``since_version -> (changed trials, new version)``.
        directions: ``"minimize"``/``"maximize"`` per objective (the width of :attr:`values`).
    """

    def __init__(self, fetch: Fetch, directions: Sequence[str] | int = ("minimize",)) -> None:
        if isinstance(directions, int):
            directions = ["minimize"] * directions
        self.directions = list(directions)
        n_objectives = len(self.directions)
        self._signs = np.array([-1.0 if d == "maximize" else 1.0 for d in self.directions])
        self._fetch = fetch
        self._version = 0
        self._stale = True
        self._n_obj = n_objectives
        self._trials: list[FrozenTrial] = []
        self._row: dict[int, int] = {}  # trial number -> row
        self._states = np.zeros(0, dtype=np.int8)
        self._numbers = np.zeros(0, dtype=np.int64)
        self._values = np.zeros((0, n_objectives))
        self._encoded: dict[str, np.ndarray] = {}
        self._dirty: set[int] = set()
        self._encoders: dict[str, Distribution] = {}
        self._enqueued: list[int] = []  # sorted numbers of trials created by enqueue()

    @property
    def version(self) -> int:
        """The storage's version of the study as of the last sync (see ``Storage.get_trials``)."""
        return self._version

    def mark_stale(self) -> None:
        """Next read fetches what changed (called by the study before each suggestion)."""
        self._stale = True

    def sync(self) -> None:
        if not self._stale:
            return
        self._stale = False
        changed, self._version = self._fetch(self._version)
        if changed:
            self.ingest(changed)

    def ingest(self, changed: Sequence[FrozenTrial]) -> None:
        """Apply changed trials (new rows appended, known rows overwritten)."""
        n_new = sum(1 for t in changed if t.number not in self._row)
        if n_new:
            n = len(self._trials)
            cap = max(len(self._states), 16)
            while cap < n + n_new:
                cap *= 2
            if cap != len(self._states):
                self._states = _grow(self._states, cap, 0)
                self._numbers = _grow(self._numbers, cap, 0)
                self._values = _grow(self._values, cap, np.nan)
                self._encoded = {k: _grow(v, cap, np.nan) for k, v in self._encoded.items()}
        for t in changed:
            row = self._row.get(t.number)
            if row is None:
                row = self._row[t.number] = len(self._trials)
                self._trials.append(t)
                if t.enqueued:
                    bisect.insort(self._enqueued, t.number)
            else:
                self._trials[row] = t
            self._states[row] = int(t.state)
            self._numbers[row] = t.number
            if t.values is not None:
                k = min(len(t.values), self._n_obj)
                self._values[row, :k] = t.values[:k]
            self._dirty.add(row)

    def __len__(self) -> int:
        self.sync()
        return len(self._trials)

    @property
    def trials(self) -> list[FrozenTrial]:
        """All trials, in the order they were first seen (by number for one worker)."""
        self.sync()
        return list(self._trials)

    @property
    def states(self) -> np.ndarray:
        self.sync()
        return self._states[: len(self._trials)]

    @property
    def values(self) -> np.ndarray:
        """(n, n_objectives) objective values; NaN where a trial has none."""
        self.sync()
        return self._values[: len(self._trials)]

    @property
    def losses(self) -> np.ndarray:
        """(n, n_objectives) values turned so that lower is better (maximized ones negated)."""
        return self.values * self._signs

    def observations(
        self, distributions: Mapping[str, Distribution], objective: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of COMPLETE trials with a finite value: X in the unit cube, y lower-is-better."""
        x = self.params_unit(distributions)
        y = self.losses[:, objective] if self._n_obj else np.zeros(len(x))
        keep = (self.states == int(TrialState.COMPLETE)) & np.isfinite(y)
        return x[keep], y[keep]

    def running(self, distributions: Mapping[str, Distribution]) -> np.ndarray:
        """X (unit cube) of RUNNING trials, for samplers that hedge against them (constant liar)."""
        return self.params_unit(distributions)[self.states == int(TrialState.RUNNING)]

    def others_running(self, number: int) -> bool:
        """Whether trials other than ``number`` were RUNNING at the last sync (no new read)."""
        n = len(self._trials)
        running = int(np.count_nonzero(self._states[:n] == int(TrialState.RUNNING)))
        row = self._row.get(number)
        if row is not None and self._states[row] == int(TrialState.RUNNING):
            running -= 1
        return running > 0

    @property
    def numbers(self) -> np.ndarray:
        """Trial numbers, row by row (a column kept up to date, like the states)."""
        self.sync()
        return self._numbers[: len(self._trials)]

    def n_enqueued_before(self, number: int) -> int:
        """How many trials numbered below ``number`` were created by ``enqueue``."""
        self.sync()
        return bisect.bisect_left(self._enqueued, number)

    def mask(self, *states: TrialState) -> np.ndarray:
        """Boolean mask of the trials in any of ``states``."""
        return np.isin(self.states, [int(s) for s in states])

    def params_unit(self, distributions: Mapping[str, Distribution]) -> np.ndarray:
        """(n, d) parameters mapped to [0, 1] in the order of ``distributions``; NaN if absent."""
        self.sync()
        n = len(self._trials)
        if self._dirty:  # bring every encoded column up to date before clearing
            dirty = sorted(self._dirty)
            for name, col in self._encoded.items():
                self._encode(name, self._encoders[name], col, dirty)
            self._dirty.clear()
        for name, dist in distributions.items():
            if name not in self._encoded or self._encoders[name] != dist:
                col = self._encoded[name] = np.full(len(self._states), np.nan)
                self._encoders[name] = dist
                self._encode(name, dist, col, range(n))
        if not distributions:
            return np.zeros((n, 0))
        return np.stack([self._encoded[name][:n] for name in distributions], axis=1)

    def _encode(self, name: str, dist: Distribution, col: np.ndarray, rows: Sequence[int]) -> None:
        for r in rows:
            raw = self._trials[r].internal_params.get(name)
            col[r] = np.nan if raw is None else dist.to_unit(dist.to_external(raw))


@dataclass
class ReportLog:
    """A study's intermediate reports in write order, each trial's kept, synced incrementally.

    What a scheduler reads (``StudyView`` is its old name): :meth:`refresh` reads the
    reports written since the last call and hands each to ``fold`` (the scheduler's
    :meth:`~tunesmith.schedulers.Scheduler.ingest`), so every reader of the same storage
    folds the same sequence.

    Args:
        fetch: ``after_report_id -> reports written after it`` (in write order).
        history: the study's trials.
        checkpoints: the study's checkpoints (PBT clones them).
        materialize: stored trial -> the same with parameters as the objective saw them.
        fold: called with each new report, in write order.
    """

    fetch: Callable[[int], list[Report]]
    history: History
    checkpoints: CheckpointStore | None = None
    materialize: Callable[[FrozenTrial], FrozenTrial] | None = None
    fold: Callable[[ReportLog, Report], None] | None = None
    #: trial_id -> [(step, metrics), ...]
    reports: dict[int, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    cursor: int = 0
    _by_id: dict[int, FrozenTrial] = field(default_factory=dict)

    def refresh(self) -> None:
        """Read the new reports and fold them: what every reader calls."""
        for r in self.sync():
            if self.fold is not None:
                self.fold(self, r)

    def sync(self) -> list[Report]:
        """Read the reports written since the last call; returns them, in write order (no fold)."""
        new = self.fetch(self.cursor)
        for r in new:
            self.reports.setdefault(r.trial_id, []).append((r.step, r.metrics))
        if new:
            self.cursor = new[-1].report_id
        return new

    def trial(self, trial_id: int) -> FrozenTrial:
        """A trial's record (number, params as stored; its state as of the last refresh)."""
        t = self._by_id.get(trial_id)
        return t if t is not None else self.trials()[trial_id]

    def params(self, trial: FrozenTrial) -> dict[str, Any]:
        """A trial's parameters as the objective saw them."""
        return dict(self._materialized(trial).params)

    def distributions(self, trial: FrozenTrial) -> dict[str, Distribution]:
        """The distributions of a trial's parameters (those the study knows)."""
        return dict(self._materialized(trial).distributions)

    def trials(self) -> dict[int, FrozenTrial]:
        """Every trial by id, refreshed from the storage."""
        self.history.mark_stale()
        self._by_id = {t.trial_id: t for t in self.history.trials}
        return self._by_id

    def _materialized(self, trial: FrozenTrial) -> FrozenTrial:
        return self.materialize(trial) if self.materialize is not None else trial


def _grow(a: np.ndarray, cap: int, fill: float) -> np.ndarray:
    out = np.full((cap, *a.shape[1:]), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out
