"""In-memory storage: fast, process-local, gone when the process ends.

Trials are stored copy-on-write: every change replaces the stored
:class:`FrozenTrial`, so objects handed out never change under the reader.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunesmith.distributions import Distribution
from tunesmith.exceptions import DuplicatedStudyError, StudyNotFoundError
from tunesmith.storage._base import (
    Report,
    Storage,
    StudyRecord,
    StudySummary,
    check_distributions,
    check_finished_state,
    check_storable_name,
    check_user_attr,
    dumps,
    last_activity,
    loads,
    lost_trial_reason,
    refused_write,
    sort_value,
    split_study_attrs,
    storable_text,
    summary_best,
)
from tunesmith.trial import FrozenTrial, TrialState

__all__ = ["InMemoryStorage"]

_RUNNING = TrialState.RUNNING


@dataclass
class _Study:
    record: StudyRecord
    version: int = 0
    # trial_id -> trial, most recently changed last (so "changed since" is a tail walk)
    trials: OrderedDict[int, FrozenTrial] = field(default_factory=OrderedDict)
    versions: dict[int, int] = field(default_factory=dict)
    reports: dict[int, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    report_log: list[Report] = field(default_factory=list)  # every report, in write order
    waiting: list[int] = field(default_factory=list)
    counts: dict[TrialState, int] = field(default_factory=lambda: dict.fromkeys(TrialState, 0))
    best: dict[bool, FrozenTrial] = field(default_factory=dict)  # maximize? -> best COMPLETE trial


def _copy(rec: StudyRecord) -> StudyRecord:
    """A copy a caller may change without changing the stored record."""
    return dataclasses.replace(
        rec, distributions=dict(rec.distributions), attrs=dict(rec.attrs), user_attrs=loads(dumps(rec.user_attrs)),
    )


class InMemoryStorage(Storage):
    """Studies kept in this process's memory.

    >>> s = InMemoryStorage()
    >>> rec = s.create_study("demo", ["minimize"], ["value"])
    >>> s.start_trial(rec.study_id).number
    0
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._names: dict[str, int] = {}
        self._next_study_id = 0
        self._next_trial_id = 0
        self._next_report_id = 0

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_next_study_id", max(self._studies, default=-1) + 1)
        self._lock = threading.RLock()

    def replace_contents(self, other: InMemoryStorage) -> None:
        """Take over ``other``'s studies (used to bring back a copy served elsewhere)."""
        with self._lock:
            self._studies, self._names = other._studies, other._names
            self._next_trial_id, self._next_report_id = other._next_trial_id, other._next_report_id
            self._next_study_id = other._next_study_id

    def create_study(
        self, name: str, directions: list[str], metric_names: list[str], load_if_exists: bool = False,
        attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        check_storable_name("study", name)
        with self._lock:
            if name in self._names:
                if load_if_exists:
                    return self.get_study(name)
                raise DuplicatedStudyError(f"study {name!r} already exists; pass load_if_exists=True to reuse it")
            study_id = self._next_study_id
            self._next_study_id += 1
            settings, user_attrs = split_study_attrs(attrs or {})
            rec = StudyRecord(
                study_id, name, list(directions), list(metric_names), {}, time.time(), settings, user_attrs,
            )
            self._studies[study_id] = _Study(rec)
            self._names[name] = study_id
            return _copy(rec)

    def get_study(self, name: str) -> StudyRecord:
        with self._lock:
            if name not in self._names:
                raise StudyNotFoundError(f"no study named {name!r} in this storage")
            return _copy(self._studies[self._names[name]].record)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        stored = check_user_attr(key, value)
        with self._lock:
            st = self._studies.get(study_id)
            if st is None:
                raise StudyNotFoundError(f"no study with id {study_id} in this storage (deleted?)")
            st.record.user_attrs = {**st.record.user_attrs, key: stored}

    def delete_study(self, name: str) -> None:
        with self._lock:
            if name not in self._names:
                raise StudyNotFoundError(f"no study named {name!r} in this storage")
            del self._studies[self._names.pop(name)]

    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            out = []
            for st in self._studies.values():
                counts = self.count_trials(st.record.study_id)
                best = summary_best(self, st.record.study_id, st.record.directions[0] == "maximize")
                out.append(StudySummary(
                    st.record.name, st.record.directions, st.record.metric_names, sum(counts.values()),
                    counts, None if best is None else best.values[0] if best.values else None,
                    st.record.created_at, last_activity(self.get_trials(st.record.study_id)[0]),
                ))
            return out

    def _bump(self, st: _Study, trial: FrozenTrial) -> None:
        old = st.trials.get(trial.trial_id)
        if old is not None:
            st.counts[old.state] -= 1
        st.counts[trial.state] += 1
        v = sort_value(trial.values) if trial.state == TrialState.COMPLETE else None
        if v is not None:
            for maximize in (False, True):
                b = st.best.get(maximize)
                bv = None if b is None else sort_value(b.values)
                if bv is None or (v > bv if maximize else v < bv):
                    st.best[maximize] = trial
        st.version += 1
        st.trials[trial.trial_id] = trial
        st.trials.move_to_end(trial.trial_id)
        st.versions[trial.trial_id] = st.version

    def enqueue_trial(
        self, study_id: int, fixed_params: Mapping[str, Any], system_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        attrs = loads(dumps({**(system_attrs or {}), "fixed_params": dict(fixed_params)}))
        with self._lock:
            st = self._study(study_id)
            number = len(st.trials)
            trial = FrozenTrial(number, TrialState.WAITING, trial_id=self._new_id(), system_attrs=attrs)
            self._bump(st, trial)
            st.waiting.append(trial.trial_id)
            return number

    def _new_id(self) -> int:
        self._next_trial_id += 1
        return self._next_trial_id

    def _study(self, study_id: int) -> _Study:
        st = self._studies.get(study_id)
        if st is None:
            raise StudyNotFoundError(f"no study with id {study_id} in this storage (deleted?)")
        return st

    def start_trial(self, study_id: int, owner: str | None = None) -> FrozenTrial:
        now = time.time()
        with self._lock:
            st = self._study(study_id)
            if st.waiting:
                old = st.trials[st.waiting.pop(0)]
                trial = old.evolve(
                    state=_RUNNING, started_at=now, heartbeat_at=now, attempt=old.attempt + 1, owner=owner,
                )
            else:
                trial = FrozenTrial(
                    len(st.trials), _RUNNING, started_at=now, heartbeat_at=now, trial_id=self._new_id(),
                    attempt=1, owner=owner,
                )
            self._bump(st, trial)
            return trial

    def _running(self, study_id: int, trial_id: int, attempt: int) -> tuple[_Study, FrozenTrial]:
        """The trial's study and the trial, if ``attempt`` holds it; else why the write is refused."""
        st = self._studies.get(study_id)  # None: the study was deleted meanwhile
        trial = None if st is None else st.trials.get(trial_id)
        if st is None or trial is None or trial.state != _RUNNING or trial.attempt != attempt:
            raise refused_write(trial_id, attempt, None if trial is None else trial.state,
                                None if trial is None else trial.attempt)
        return st, trial

    def _register(self, st: _Study, distributions: Mapping[str, Distribution] | None) -> None:
        if distributions:
            known = st.record.distributions
            known.update(check_distributions(st.record.name, known, distributions))

    def heartbeat(self, study_id: int, trial_id: int, attempt: int) -> None:
        with self._lock:
            st, trial = self._running(study_id, trial_id, attempt)
            st.trials[trial_id] = trial.evolve(heartbeat_at=time.time())  # no version bump

    def update_trial(
        self, study_id: int, trial_id: int, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None, *, attempt: int,
    ) -> None:
        now = time.time()
        with self._lock:
            st, trial = self._running(study_id, trial_id, attempt)
            self._register(st, distributions)
            self._bump(st, trial.evolve(
                internal_params=trial.internal_params if params is None else dict(params),
                user_attrs=trial.user_attrs if user_attrs is None else dict(user_attrs), heartbeat_at=now,
            ))

    def append_report(
        self, study_id: int, trial_id: int, step: int, metrics: Mapping[str, Any], *, attempt: int,
    ) -> None:
        with self._lock:
            st, trial = self._running(study_id, trial_id, attempt)
            st.reports.setdefault(trial_id, []).append((step, dict(metrics)))
            self._next_report_id += 1
            st.report_log.append(Report(self._next_report_id, trial_id, step, dict(metrics)))
            self._bump(st, trial.evolve(last_step=step, last_result=dict(metrics), heartbeat_at=time.time()))

    def finish_trial(
        self, study_id: int, trial_id: int, state: TrialState, values: list[float] | None = None,
        error: str | None = None, params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, Distribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None, *, attempt: int,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        check_finished_state(state)
        added = None if not system_attrs else loads(dumps(dict(system_attrs)))
        with self._lock:
            st, trial = self._running(study_id, trial_id, attempt)
            self._register(st, distributions)
            done = trial.evolve(
                state=TrialState(state), values=None if values is None else list(values),
                error=storable_text(error), finished_at=time.time(),
                internal_params=trial.internal_params if params is None else dict(params),
                user_attrs=trial.user_attrs if user_attrs is None else dict(user_attrs),
                system_attrs=trial.system_attrs if added is None else {**trial.system_attrs, **added},
            )
            self._bump(st, done)
            return done

    def resume_trial(self, study_id: int, trial_id: int) -> bool:
        with self._lock:
            st = self._studies[study_id]
            trial = st.trials.get(trial_id)
            if trial is None or trial.state != TrialState.PAUSED:
                return False
            self._bump(st, trial.evolve(state=TrialState.WAITING, heartbeat_at=None))
            bisect.insort(st.waiting, trial_id, key=lambda tid: st.trials[tid].number)
            return True

    def finish_paused(self, study_id: int) -> list[FrozenTrial]:
        now = time.time()
        with self._lock:
            st = self._studies[study_id]
            changed = []
            for trial in list(st.trials.values()):
                if trial.state == TrialState.PAUSED:
                    done = trial.evolve(state=TrialState.PRUNED, finished_at=trial.finished_at or now)
                    self._bump(st, done)
                    changed.append(done)
            return changed

    def recover_trials(
        self, study_id: int, *, stale_before: float | None = None, trial_ids: list[int] | None = None,
        max_retries: int = 0, reason: str = "",
    ) -> list[FrozenTrial]:
        now = time.time()
        wanted = set(trial_ids or ())
        changed = []
        with self._lock:
            st = self._studies[study_id]
            for trial in list(st.trials.values()):
                if trial.state != _RUNNING:
                    continue
                stale = stale_before is not None and (trial.heartbeat_at or 0.0) < stale_before
                if not stale and trial.trial_id not in wanted:
                    continue
                retries = int(trial.system_attrs.get("retries", 0))
                if retries < max_retries:
                    new = trial.evolve(
                        state=TrialState.WAITING, system_attrs={**trial.system_attrs, "retries": retries + 1},
                        heartbeat_at=None,
                    )
                    st.waiting.append(trial.trial_id)
                else:
                    new = trial.evolve(
                        state=TrialState.FAILED, finished_at=now,
                        error=storable_text(lost_trial_reason(reason, trial.heartbeat_at, now)),
                    )
                self._bump(st, new)
                changed.append(new)
            st.waiting.sort(key=lambda tid: st.trials[tid].number)  # the queue is by number
        return changed

    def get_trials(self, study_id: int, since_version: int = 0) -> tuple[list[FrozenTrial], int]:
        with self._lock:
            st = self._studies[study_id]
            changed = []
            for trial_id in reversed(st.trials):
                if st.versions[trial_id] <= since_version:
                    break
                changed.append(st.trials[trial_id])
            changed.reverse()
            return changed, st.version

    def get_reports(self, study_id: int, trial_id: int) -> list[tuple[int, dict[str, Any]]]:
        with self._lock:
            return list(self._studies[study_id].reports.get(trial_id, []))

    def get_study_reports(self, study_id: int, after: int = 0) -> list[Report]:
        with self._lock:
            log = self._studies[study_id].report_log
            start = bisect.bisect_right(log, after, key=lambda r: r.report_id)
            return [r._replace(metrics=dict(r.metrics)) for r in log[start:]]

    def best_trial(self, study_id: int, maximize: bool) -> FrozenTrial | None:
        with self._lock:
            return self._studies[study_id].best.get(maximize)

    def count_trials(self, study_id: int) -> dict[TrialState, int]:
        with self._lock:
            return dict(self._studies[study_id].counts)
