"""Experiment trackers fed from the study's record: ``optimize(..., loggers=[...])``.

A :class:`Logger` hears a study start, each trial start, each intermediate report,
each trial's end (with its final values and state) and the study's end. The calls
come from a :class:`TrackingFeed` in the driver process, which follows the study's
storage (``Storage.get_trials`` since a version, ``Storage.get_study_reports`` after
an id) on a background thread. So trials run serially, in worker processes, on Ray or
by other machines on the same database are logged alike, the objective pays nothing
per report beyond the storage write it already makes, and nothing is lost: the feed
reads the record once more when ``optimize`` ends, also on an error or Ctrl-C.

The trackers themselves (W&B, MLflow, TensorBoard, CSV, JSON) are in
:mod:`tunesmith.integration.trackers`; each imports its library only when used.

>>> import tunesmith
>>> class Printer(Logger):
...     def on_report(self, trial, step, metrics):
...         print("trial", trial.number, "step", step, metrics)
...     def on_trial_end(self, trial):
...         print("trial", trial.number, trial.state.name, trial.values)
>>> def objective(trial):
...     trial.report(1, loss=0.5)
...     return 0.25
>>> tunesmith.create_study().optimize(objective, n_trials=1, loggers=[Printer()])
trial 0 step 1 {'loss': 0.5}
trial 0 COMPLETE [0.25]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith._registry import ParamRegistry
from tunesmith.logging import get_logger
from tunesmith.record import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.reporting._protocol import Reporter
    from tunesmith.study import Study

__all__ = ["Logger", "TrackingFeed", "check_loggers", "split_callbacks"]

_log = get_logger("tunesmith.tracking")
_MIN_GAP_S = 0.05
_HOOKS = ("on_study_start", "on_trial_start", "on_report", "on_trial_end", "flush", "on_study_end")


class Logger:
    """Hears a study's trials; subclass it and override what you need (every method does nothing here).

    All calls of one run come from one thread, in the record's order: a trial's start,
    its reports (ascending write order), then its end. ``trial`` is the stored trial as
    of that moment, parameters as the objective saw them; parameters a trial suggests
    late may first appear in ``on_trial_end``. ``flush`` follows each batch of calls:
    a logger that buffers writes sends them there.
    """

    def on_study_start(self, study: Study) -> None:
        """The run starts (called in ``optimize``'s thread: an error here stops the run before any trial)."""

    def on_trial_start(self, trial: FrozenTrial) -> None:
        """A trial started (or was first seen running)."""

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        """An intermediate report of ``trial``."""

    def on_trial_end(self, trial: FrozenTrial) -> None:
        """``trial`` finished: ``trial.state`` is COMPLETE, PRUNED or FAILED; or, for a run that
        was interrupted, still RUNNING/WAITING/PAUSED (it runs again in a later ``optimize``)."""

    def flush(self) -> None:
        """Send what is buffered."""

    def on_study_end(self, study: Study) -> None:
        """The run ended (normally, by an error or Ctrl-C), after every trial's end."""


def check_loggers(loggers: Iterable[Any] | None) -> list[Logger]:
    """The ``loggers=`` argument as a list; an object without a Logger's methods is refused by position."""
    if loggers is None:
        return []
    if isinstance(loggers, (str, bytes)) or not isinstance(loggers, Iterable):
        raise TypeError(f"loggers must be a list of tunesmith.tracking.Logger objects, got {loggers!r}")
    out = list(loggers)
    for i, lg in enumerate(out):
        missing = [h for h in _HOOKS if not callable(getattr(lg, h, None))]
        if missing:
            raise TypeError(
                f"loggers[{i}] ({type(lg).__name__}) is not a tunesmith.tracking.Logger: it lacks {missing}"
            )
    return out


def split_callbacks(callbacks: Sequence[Any] | None) -> tuple[list[Any], list[Logger]]:
    """Loggers given in ``callbacks=[...]`` (Ray Tune's place for them): (the other callbacks, the loggers)."""
    plain: list[Any] = []
    loggers: list[Logger] = []
    for cb in callbacks or []:
        (loggers if isinstance(cb, Logger) else plain).append(cb)
    return plain, loggers


class TrackingFeed:
    """Follows a study's record on a thread and feeds its loggers; a reporter for ``optimize``.

    It wraps the run's own reporter (``inner``, or None): ``start``/``update``/``finish``
    pass through to it. ``start`` calls each logger's ``on_study_start`` and starts the
    thread; ``finish`` stops it, reads the record one last time, ends the trials still
    open and calls ``on_study_end``. A logger that raises is reported once in the log and
    left out from then on: a tracker's trouble does not stop the study.

    Trials that finished before ``start`` are not logged again (a resumed study).
    """

    def __init__(self, loggers: Sequence[Logger], inner: Reporter | None = None, interval: float = 0.5) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        self.loggers = check_loggers(loggers)
        self.inner = inner
        self.interval = interval
        self._study: Study | None = None
        self._registry: ParamRegistry | None = None
        self._version = 0
        self._after = 0
        self._live: dict[int, FrozenTrial] = {}  # trial id -> latest snapshot, started and not ended
        self._ended: set[int] = set()
        self._pending: dict[int, list[tuple[int, dict[str, Any]]]] = {}  # reports of trials not seen yet
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one poll at a time (the thread's, or finish's last one)

    # -- the Reporter protocol --------------------------------------------------------
    def start(self, study: Study, n_trials: int | None, timeout: float | None) -> None:
        if self.inner is not None:
            self.inner.start(study, n_trials, timeout)
        self._study = study
        storage = study.storage
        record = storage.get_study(study.name)
        self._registry = ParamRegistry(storage, study.name, record.distributions)
        # Only what happens from now on is logged: the trials finished before are not.
        trials, self._version = storage.get_trials(study.study_id, 0)
        self._ended = {t.trial_id for t in trials if t.state.is_finished()}
        reports = storage.get_study_reports(study.study_id, 0)
        self._after = reports[-1].report_id if reports else 0
        try:
            for lg in self.loggers:
                lg.on_study_start(study)  # errors here are the user's to see at once, before any trial
        except BaseException:
            self._study = None
            if self.inner is not None:
                self.inner.finish(study)
            raise
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="tunesmith-tracking", daemon=True)
        self._thread.start()

    def update(self, study: Study) -> None:
        if self.inner is not None:
            self.inner.update(study)
        self._wake.set()

    def finish(self, study: Study) -> None:
        try:
            if self.inner is not None:
                self.inner.finish(study)
        finally:
            self.close()

    # -- following --------------------------------------------------------------------
    def close(self) -> None:
        """Stop following, log what is left, end the open trials, and end the study."""
        if self._study is None:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.poll()
        for trial in list(self._live.values()):  # interrupted: left running or back in the queue
            self._ended.add(trial.trial_id)
            self._call("on_trial_end", trial)
        self._live.clear()
        self._call("flush")
        self._call("on_study_end", self._study)
        self._study = None

    def _follow(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.poll()
            except Exception:  # a storage hiccup: the next poll reads from the same place
                _log.warning("tracking: reading the study failed; trying again", exc_info=True)
            self._stop.wait(_MIN_GAP_S)  # many short trials: at most one read per gap, not one per trial

    def poll(self) -> None:
        """Read what changed since the last poll and feed it to the loggers, in order."""
        study, registry = self._study, self._registry
        if study is None or registry is None:
            return
        with self._lock:
            storage = study.storage
            # Trials first, then reports: a trial seen finished here has all its reports in
            # the read that follows; a report of a trial started in between waits for it.
            changed, version = storage.get_trials(study.study_id, self._version)
            reports = storage.get_study_reports(study.study_id, self._after)
            self._version = version
            if reports:
                self._after = reports[-1].report_id
            fresh: list[FrozenTrial] = []
            reported = {r.trial_id for r in reports}.union(self._pending)
            for raw in sorted(changed, key=lambda t: t.number):
                if raw.trial_id in self._ended:
                    continue
                if raw.state == TrialState.WAITING and raw.trial_id not in self._live and raw.trial_id not in reported:
                    continue  # queued, not run yet (a trial that ran and went back to the queue has reports)
                trial = registry.materialize(raw)
                if raw.trial_id not in self._live:
                    fresh.append(trial)
                self._live[raw.trial_id] = trial
            for trial in fresh:
                self._call("on_trial_start", trial)
                for step, metrics in self._pending.pop(trial.trial_id, []):
                    self._call("on_report", trial, step, metrics)
            for rep in reports:
                live = self._live.get(rep.trial_id)
                if live is not None:
                    self._call("on_report", live, rep.step, rep.metrics)
                elif rep.trial_id not in self._ended:
                    self._pending.setdefault(rep.trial_id, []).append((rep.step, rep.metrics))
            for raw in changed:
                if raw.state.is_finished() and raw.trial_id in self._live:
                    trial = self._live.pop(raw.trial_id)
                    self._ended.add(raw.trial_id)
                    self._call("on_trial_end", trial)
            if changed or reports:
                self._call("flush")

    def _call(self, hook: str, *args: Any) -> None:
        for lg in list(self.loggers):
            try:
                getattr(lg, hook)(*args)
            except Exception:
                _log.warning("tracking: %s.%s failed; this logger is left out from now on", type(lg).__name__, hook,
                             exc_info=True)
                self.loggers.remove(lg)


def feed(loggers: Sequence[Logger], reporter: Reporter | None) -> Reporter | None:
    """The reporter ``optimize`` runs with: ``reporter`` itself without loggers, else a feed around it."""
    return TrackingFeed(loggers, reporter) if loggers else reporter
