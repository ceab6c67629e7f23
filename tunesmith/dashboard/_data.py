"""The server's copy of each study: its trials kept in memory, synced incrementally, read as columns.

One :class:`StudyData` per study opened in the dashboard. :meth:`StudyData.sync` asks the
storage for the trials changed since the version it last saw (at most every
``min_interval`` seconds), so a request at 100k trials sorts and filters from memory
(numpy) and never re-reads the study. Columns for sorting and filtering are built once
per (version, key) and cached. Trials are kept as the storage decoded them and given
their external parameters only when first read whole (a trials page, a plot of the
parameters): the first load of a big study costs the storage's decode alone.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from tunesmith.analysis import trial_record
from tunesmith.distributions import CategoricalDistribution, Distribution
from tunesmith.exceptions import StudyNotFoundError
from tunesmith.record import FrozenTrial, StudyRecord, TrialState
from tunesmith.storage import Storage
from tunesmith.storage._base import TrialValues

__all__ = ["Catalog", "StudyData", "TrialQuery", "clean", "param_info"]

_STATE_NAMES = {s.name: s for s in TrialState}
# Sort keys that name a plain field; anything else is ``values.<m>``, ``params.<p>`` or ``metrics.<m>``.
PLAIN_SORTS = ("number", "state", "duration", "started_at", "finished_at", "value")


def clean(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, infinities) as None: JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if isinstance(obj, np.generic):
        return clean(obj.item())
    return repr(obj)


def param_info(name: str, dist: Distribution) -> dict[str, Any]:
    """A parameter as the API describes it: its distribution as text, kind, bounds and choices."""
    choices = [clean(c) for c in dist.choices] if isinstance(dist, CategoricalDistribution) else None
    return {
        "name": name, "distribution": str(dist), "kind": dist.kind,
        "low": clean(getattr(dist, "low", None)), "high": clean(getattr(dist, "high", None)),
        "log": bool(getattr(dist, "log", False)), "choices": choices,
    }


def _first_line(text: str | None) -> str | None:
    if text is None:
        return None
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""  # a traceback's last line says what went wrong


@dataclass
class TrialQuery:
    """What a trials page asks for: filters, sort and page (parsed and checked by the API)."""

    states: set[TrialState] | None = None
    ranges: list[tuple[str, float, float]] = field(default_factory=list)
    choices: list[tuple[str, set[str]]] = field(default_factory=list)
    sort: str = "number"
    descending: bool = False


class StudyData:
    """One study's trials in memory (parameters as the objective saw them), synced from the storage.

    Args:
        storage: where the study lives.
        record: the study as loaded.
        min_interval: seconds between two reads of the storage (requests in between share the copy).
    """

    def __init__(self, storage: Storage, record: StudyRecord, min_interval: float = 0.5) -> None:
        self.storage = storage
        self.name = record.name
        self.study_id = record.study_id
        self.directions = list(record.directions)
        self.metric_names = list(record.metric_names)
        self.created_at = record.created_at
        self.distributions: dict[str, Distribution] = dict(record.distributions)
        self.user_attrs: dict[str, Any] = dict(record.user_attrs)
        self.min_interval = min_interval
        self.version = 0
        self.last_activity: float | None = None
        self._lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self._synced_at = -math.inf
        self._loaded = False  # whether the copy holds the study (a first sync succeeded)
        self._rows: list[FrozenTrial] = []  # as decoded, or with external params once ``_external[row]``
        self._external = np.zeros(0, dtype=bool)
        self._row_of: dict[int, int] = {}  # trial number -> row
        self._seen = np.zeros(0, dtype=np.int64)  # per row: the sync count that last changed it
        self._syncs = 0
        self._sync_versions: list[int] = [0]  # the storage's version after each sync that changed something
        self._columns: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self._cache: dict[Any, Any] = {}
        self._making: dict[Any, threading.Event] = {}  # keys some thread is computing for the cache
        self._converter: threading.Thread | None = None

    # -- syncing ----------------------------------------------------------------------
    def sync(self, force: bool = False) -> list[FrozenTrial]:
        """Read what changed since the last sync (unless one ran less than ``min_interval`` ago).

        Returns the changed trials as the storage decoded them (see :attr:`stored_trials`).
        """
        with self._sync_lock:  # one read at a time; readers of the copy wait only for the ingest
            now = time.monotonic()
            if not force and now - self._synced_at < self.min_interval:
                return []
            self._synced_at = now
            changed, version = self.storage.get_trials(self.study_id, self.version)
            self._loaded = True
            if not changed and version == self.version:
                return []
            with self._lock:
                self._syncs += 1
                self._ingest(changed)
                self.version = version
                self._sync_versions.append(version)
            if len(changed) >= _CONVERT_AHEAD:
                self._convert_ahead()
            return list(changed)

    def _convert_ahead(self) -> None:
        """Convert every trial's parameters on a daemon thread, a chunk per turn of the lock, so the first
        view of the parameters (importance, the parallel plot) finds them converted."""
        if self._converter is not None and self._converter.is_alive():
            return

        def run() -> None:
            start = 0
            while True:
                with self._lock:
                    stop = min(start + _CONVERT_CHUNK, len(self._rows))
                    for row in np.flatnonzero(~self._external[start:stop]):
                        self._row(start + int(row))
                    if stop >= len(self._rows):
                        return
                start = stop
                time.sleep(0)  # let a request take the lock

        self._converter = threading.Thread(target=run, name=f"dashboard-convert-{self.name}", daemon=True)
        self._converter.start()

    def _ingest(self, changed: Sequence[FrozenTrial]) -> None:
        if any(n not in self.distributions for t in changed for n in t.internal_params):
            try:  # a parameter another worker defined since we loaded the study
                self.distributions.update(self.storage.get_study(self.name).distributions)
            except StudyNotFoundError:
                pass
        new = [t for t in changed if t.number not in self._row_of]
        if new:
            self._seen = np.concatenate([self._seen, np.zeros(len(new), dtype=np.int64)])
            self._external = np.concatenate([self._external, np.zeros(len(new), dtype=bool)])
        row_of, rows, seen, external = self._row_of, self._rows, self._seen, self._external
        latest = self.last_activity or 0.0
        for trial in changed:
            row = row_of.get(trial.number)
            if row is None:
                row = row_of[trial.number] = len(rows)
                rows.append(trial)
            else:
                rows[row] = trial
            seen[row] = self._syncs
            external[row] = False
            for stamp in (trial.started_at, trial.finished_at, trial.heartbeat_at):
                if stamp is not None and stamp > latest:
                    latest = stamp
        if latest:
            self.last_activity = latest
        self._update_columns([row_of[t.number] for t in changed])
        self._cache.clear()

    def _update_columns(self, changed_rows: list[int]) -> None:
        """Bring the cached float columns up to date for ``changed_rows`` (a live update touches a few rows
        of 100k; rebuilding costs tens of ms); parameter and metric columns are dropped, rebuilt when asked."""
        old, self._columns = self._columns, {}
        if len(changed_rows) > len(self._rows) // 4:
            return  # most of the study changed (the first load): build anew when asked
        idx = np.asarray(changed_rows, dtype=np.int64)
        trials = [self._rows[i] for i in changed_rows]
        for key, (col, text) in old.items():
            if text is not None or key.startswith(("params.", "metrics.")):
                continue
            grown = np.full(len(self._rows), np.nan)
            grown[:len(col)] = col
            grown[idx] = self._build(key, trials)[0]
            self._columns[key] = (grown, None)

    def _materialize(self, raw: FrozenTrial) -> FrozenTrial:
        """The trial with its parameters as the objective saw them (the registry's job, without its cache)."""
        params: dict[str, Any] = {}
        dists: dict[str, Distribution] = {}
        for name, internal in raw.internal_params.items():
            dist = self.distributions.get(name)
            if dist is None:
                params[name] = internal
            else:
                params[name], dists[name] = dist.to_external(internal), dist
        if not _FIELDS_KNOWN:
            return raw.evolve(params=params, distributions=dists)
        return FrozenTrial(  # positional: about twice as fast as ``evolve`` (100k trials: 0.3 s less)
            raw.number, raw.state, params, raw.values, raw.error, raw.user_attrs, raw.system_attrs, raw.started_at,
            raw.finished_at, raw.last_step, raw.last_result, raw.heartbeat_at, raw.trial_id, raw.internal_params,
            dists, raw.attempt, raw.owner,
        )

    def _row(self, row: int) -> FrozenTrial:
        """The trial in ``row`` with its external parameters (given them on first use). Hold the lock."""
        trial = self._rows[row]
        if not self._external[row]:
            trial = self._rows[row] = self._materialize(trial)
            self._external[row] = True
        return trial

    # -- reading ----------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """Whether the copy holds the study (it has been synced once); until then only the light reads answer."""
        return self._loaded

    def light_trials(self) -> list[TrialValues]:
        """Every trial by number with its state, values and last report alone (``.number``, ``.state``,
        ``.values``, ``.last_result``: what a history plot reads), from the storage's light
        :meth:`~tunesmith.storage.Storage.get_trial_values`, for a first plot before the copy loads."""
        return self.storage.get_trial_values(self.study_id)

    def light_summary(self) -> tuple[dict[str, int], FrozenTrial | None]:
        """The counts per state and the best trial from the storage's own queries, without loading the copy."""
        counts = self.storage.count_trials(self.study_id)
        best = None
        if self.directions:
            best = self.storage.best_trial(self.study_id, self.directions[0] == "maximize")
        return {s.name: int(counts.get(s, 0)) for s in TrialState}, None if best is None else self._materialize(best)

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, by number (what the plots and the analysis read)."""
        with self._lock:
            order = np.argsort(self._numbers(), kind="stable")
            return [self._row(int(i)) for i in order]

    @property
    def stored_trials(self) -> list[FrozenTrial]:
        """Every trial by number as the storage decoded it: ``params`` may be empty (``internal_params`` hold them).

        For views that read no parameter (the optimization history); nothing is converted.
        """
        with self._lock:
            order = np.argsort(self._numbers(), kind="stable")
            return [self._rows[i] for i in order]

    def trial(self, number: int) -> FrozenTrial | None:
        with self._lock:
            row = self._row_of.get(number)
            return None if row is None else self._row(row)

    def __len__(self) -> int:
        return len(self._rows)

    def counts(self) -> dict[str, int]:
        states = self._column("state")[0]
        return {s.name: int(np.count_nonzero(states == int(s))) for s in TrialState}

    def best_trial(self) -> FrozenTrial | None:
        """The COMPLETE trial with the best first objective (the lowest number among equals)."""
        with self._lock:
            if not self.directions:
                return None
            values = self._column("value")[0]
            ok = (self._column("state")[0] == int(TrialState.COMPLETE)) & ~np.isnan(values)
            if not ok.any():
                return None
            rows = np.flatnonzero(ok)
            v = values[rows] * (-1.0 if self.directions[0] == "maximize" else 1.0)
            best = rows[v == v.min()]
            numbers = self._numbers()[best]
            return self._row(int(best[np.argmin(numbers)]))

    def changed_since(self, version: int) -> list[FrozenTrial]:
        """The trials changed after ``version`` (a version this copy handed out; older: every trial)."""
        with self._lock:
            # the sync that brought this copy to ``version``: rows changed by a later one are new to the caller
            since = int(np.searchsorted(np.asarray(self._sync_versions), version, side="right")) - 1
            if since < 0 or self._sync_versions[since] != version:
                since = 0
            rows = np.flatnonzero(self._seen > since)
            return [self._row(int(i)) for i in rows]

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, kept until the study next changes; a caller that finds the same key being made waits for it."""
        while True:
            with self._lock:
                version = self.version
                if key in self._cache:
                    return self._cache[key]
                making = self._making.get(key)
                if making is None:
                    making = self._making[key] = threading.Event()
                    break
            making.wait()  # then take what it made, or (it failed, or the study changed) make it anew
        try:
            value = make()  # outside the lock: a slow plot must not hold up syncing
            with self._lock:
                if self.version == version:
                    self._cache[key] = value
        finally:
            with self._lock:
                del self._making[key]
            making.set()
        return value

    def record(self, trial: FrozenTrial, *, short_error: bool = True) -> dict[str, Any]:
        """The trial's export record (:func:`~tunesmith.analysis.trial_record`), JSON-safe."""
        rec = trial_record(trial, self.metric_names)
        if short_error:
            rec["error"] = _first_line(rec["error"])
        out: dict[str, Any] = clean(rec)
        return out

    # -- columns ----------------------------------------------------------------------
    def _numbers(self) -> np.ndarray:
        return self._column("number")[0]

    def _column(self, key: str) -> tuple[np.ndarray, np.ndarray | None]:
        """``key``'s column: floats (NaN where missing), or for text (categorical) values
        sortable strings plus a float missing mask in second place."""
        with self._lock:
            col = self._columns.get(key)
            if col is None:
                col = self._columns[key] = self._build(key)
            return col

    def _build(self, key: str, trials: list[FrozenTrial] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """``key``'s column over ``trials`` (default: every row)."""
        rows = self._rows if trials is None else trials
        if key == "number":
            return np.fromiter((t.number for t in rows), np.float64, len(rows)), None
        if key == "state":
            return np.fromiter((int(t.state) for t in rows), np.float64, len(rows)), None
        if key in ("duration", "started_at", "finished_at"):
            return _floats(getattr(t, key) for t in rows), None
        if key == "value":
            return _floats(t.values[0] if t.values else None for t in rows), None
        section, _, name = key.partition(".")
        if section == "values":
            i = self.metric_names.index(name)
            return _floats(t.values[i] if t.values and len(t.values) > i else None for t in rows), None
        if section == "params":
            dist = self.distributions.get(name)
            internal = [t.internal_params.get(name, _MISSING) for t in rows]
            if dist is not None:
                to_external = dist.to_external
                internal = [v if v is _MISSING else to_external(v) for v in internal]
            return _mixed(internal)
        if section == "metrics":
            return _mixed([t.last_result.get(name, _MISSING) for t in rows])
        raise KeyError(key)

    def sort_key_ok(self, key: str) -> bool:
        section, dot, name = key.partition(".")
        if not dot:
            return key in PLAIN_SORTS
        return section in ("params", "metrics") or (section == "values" and name in self.metric_names)

    def query(self, q: TrialQuery) -> np.ndarray:
        """The rows matching ``q``, in its order (missing sort values last)."""
        with self._lock:
            mask = np.ones(len(self._rows), dtype=bool)
            if q.states is not None:
                mask &= np.isin(self._column("state")[0], [int(s) for s in q.states])
            for name, lo, hi in q.ranges:
                col, text = self._column(f"params.{name}")
                if text is not None:  # text values are never in a numeric range
                    mask &= False
                else:
                    mask &= (col >= lo) & (col <= hi)
            for name, wanted in q.choices:
                col, text = self._column(f"params.{name}")
                labels = col if text is not None else np.array([_label(v) for v in col], dtype=object)
                present = ~np.isnan(text) if text is not None else ~np.isnan(col)
                mask &= present & np.isin(labels, list(wanted))
            rows = np.flatnonzero(mask)
            col, text = self._column(q.sort)
            numbers = self._numbers()[rows]
            if text is not None:
                missing = np.isnan(text[rows])
                keys = col[rows]
                order = np.argsort(keys, kind="stable")
                if q.descending:
                    order = order[::-1]
                order = order[np.argsort(missing[order], kind="stable")]
                return rows[order]
            v = col[rows]
            missing = np.isnan(v)
            primary = -v if q.descending else v
            # np.lexsort: last key first; ties by number (ascending)
            order = np.lexsort((numbers, np.where(missing, 0.0, primary), missing))
            return rows[order]

    def rows(self, indices: Iterable[int]) -> list[FrozenTrial]:
        with self._lock:
            return [self._row(int(i)) for i in indices]


_MISSING = object()
_CONVERT_AHEAD = 5000  # a sync bringing this many trials converts them all on a thread (see _convert_ahead)
_CONVERT_CHUNK = 2000
# FrozenTrial's fields in the order ``_materialize`` passes them (else it falls back to ``evolve``).
_FIELDS_KNOWN = tuple(f.name for f in fields(FrozenTrial)) == (
    "number", "state", "params", "values", "error", "user_attrs", "system_attrs", "started_at", "finished_at",
    "last_step", "last_result", "heartbeat_at", "trial_id", "internal_params", "distributions", "attempt", "owner",
)


def _floats(values: Iterable[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _label(v: Any) -> str:
    """A value as a ``choice=`` filter names it."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 2**53 else str(v)
    return str(v)


def _mixed(values: list[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Numbers as floats; otherwise each value's text (sorted as text), with a missing mask."""
    numeric = all(
        v is _MISSING or v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values
    )
    if numeric:
        return np.array([np.nan if v is _MISSING or v is None else float(v) for v in values]), None
    missing = np.array([np.nan if v is _MISSING else 0.0 for v in values])
    return np.array(["" if v is _MISSING else _label(v) for v in values], dtype=object), missing


class Catalog:
    """The studies the dashboard has opened, by name (each kept in memory once read)."""

    def __init__(self, storage: Storage, min_interval: float = 0.5) -> None:
        self.storage = storage
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._studies: dict[str, StudyData] = {}

    def get(self, name: str, *, sync: bool = True) -> StudyData:
        """The study called ``name``, synced (unless ``sync`` is False: the light reads need no copy);
        StudyNotFoundError if there is none (or it was deleted)."""
        with self._lock:
            data = self._studies.get(name)
        if data is None:
            record = self.storage.get_study(name)
            with self._lock:
                data = self._studies.setdefault(name, StudyData(self.storage, record, self.min_interval))
        else:
            try:  # the same name may now be another study (deleted and created again)
                found = self.storage.get_study(name)
            except StudyNotFoundError:
                self.forget(name)
                raise
            if found.study_id != data.study_id:
                self.forget(name)
                return self.get(name, sync=sync)
            data.user_attrs = dict(found.user_attrs)
        if sync:
            data.sync()
        return data

    def loaded(self, name: str) -> StudyData | None:
        with self._lock:
            return self._studies.get(name)

    def forget(self, name: str) -> None:
        with self._lock:
            self._studies.pop(name, None)
