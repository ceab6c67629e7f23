"""``tunesmith.run``'s trainables: a function or a class of a config run as a trial, and ``stop=`` as a scheduler.

A function trainable takes the trial's config (and, if it names the argument, the
``checkpoint_dir`` to resume from) and reports with :func:`tunesmith.report`. A class
trainable (:class:`ClassTrainable`, exported as ``tunesmith.tune.Trainable``) is stepped
by the run: ``setup(config)``, then ``step()`` once per iteration, its result reported;
``save_checkpoint``/``load_checkpoint`` write and read its state, so schedulers can
pause, resume and clone it (PBT), and ``checkpoint_freq``/``checkpoint_at_end`` save it.
``stop={"training_iteration": 10}`` (or a function of the trial id and result) ends a
trial COMPLETE once reached: :class:`StopWhen` wraps the run's scheduler and answers
FINISH when the scheduler itself would let the trial go on.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tunesmith.history import ReportLog
from tunesmith.record import Report
from tunesmith.schedulers import Decision, Exploit, Scheduler
from tunesmith.session import TrialDone, report
from tunesmith.space import SearchSpace
from tunesmith.trial import Trial, TrialState, TrialStopped

__all__ = ["ClassTrainable", "Stop", "StopWhen", "Trainable", "check_stop", "config_of", "is_class_trainable"]

Stop = Mapping[str, float] | Callable[[str, Mapping[str, Any]], bool]


@dataclass
class Trainable:
    """Adapts a trainable (a function ``f(config[, checkpoint_dir])`` or a :class:`ClassTrainable`
    subclass) to an objective of a Trial (picklable for workers).

    ``checkpoint_freq`` / ``checkpoint_at_end``: Ray Tune's, for class trainables (a function
    trainable saves its own checkpoints). ``errors_dir``: where a failed trial's exception is
    pickled (``<number>.pkl``), for ``run(fail_fast="raise")`` to raise it in the driver.
    """

    trainable: Callable[..., Any]
    space: SearchSpace
    checkpoint_freq: int = 0
    checkpoint_at_end: bool = False
    errors_dir: str | None = None
    export_formats: tuple[str, ...] = ()

    def __call__(self, trial: Trial) -> Any:
        config = config_of(self.space, trial)
        with _in_trial_dir(trial):
            return self._run(trial, config)

    def _run(self, trial: Trial, config: dict[str, Any]) -> Any:
        try:
            if is_class_trainable(self.trainable):
                return _step_class(self.trainable, config, trial, self.checkpoint_freq, self.checkpoint_at_end,
                                   self.export_formats)
            if _takes_checkpoint_dir(self.trainable):
                ckpt = trial.get_checkpoint()
                returned = self.trainable(config, checkpoint_dir=None if ckpt is None else ckpt.path)
            else:
                returned = self.trainable(config)
            return _final_result(trial) if returned is None else returned
        except TrialDone:
            return _final_result(trial)  # its last report is its result: it ends COMPLETE
        except TrialStopped:
            # finished by the scheduler (max_t) with a last report lacking the metric: the metric's last value
            final = _final_result(trial) if trial.end_state is TrialState.COMPLETE else None
            if final is None:
                raise
            return final
        except Exception as e:
            if self.errors_dir is not None:
                _keep_error(e, os.path.join(self.errors_dir, f"{trial.number}.pkl"))
            raise


@contextlib.contextmanager
def _in_trial_dir(trial: Trial) -> Iterator[None]:
    """Ray Tune's working directory: the trial's folder (``tune.get_trial_dir()``), created first.

    Files the trainable writes by a relative name (``torch.save(model, "model.pth")``) land
    in ``analysis.get_best_logdir()``. The previous working directory comes back after the
    trial. Only the main thread changes it (a process has one working directory).
    """
    folder = None if trial.study is None else os.path.abspath(trial.study.checkpoints.trial_dir(trial.number))
    if folder is None:
        yield
        return
    os.makedirs(folder, exist_ok=True)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _final_result(trial: Trial) -> dict[str, Any] | None:
    """A finished function trainable's result: its last report (None: the study takes it), with the last
    reported value of each study metric that report lacks (Ray Tune's ``done=True`` report of other metrics)."""
    study = trial.study
    last = dict(trial.last_result)
    missing = [] if study is None or not last else [m for m in study.metric_names if m not in last]
    if not missing or study is None:
        return None
    for _, metrics in reversed(study.storage.get_reports(study.study_id, trial.trial_id)):
        for name in [m for m in missing if m in metrics]:
            last[name] = metrics[name]
            missing.remove(name)
        if not missing:
            break
    return last


def _keep_error(error: Exception, path: str) -> None:
    """Pickle ``error`` for the driver; an exception that does not pickle is left out (it has the traceback)."""
    import cloudpickle

    try:
        data = cloudpickle.dumps(error)
    except Exception:
        return
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def config_of(space: SearchSpace, trial: Trial | Any) -> dict[str, Any]:
    """The config a trial's trainable gets: the space's constants, those a PBT exploit
    explored (a continuation's fixed parameters that name a constant), then its parameters.

    ``trial``: a running :class:`Trial` or a finished trial's record.
    """
    fixed = _fixed_params(trial)
    explored = {k: v for k, v in fixed.items() if k in space.constants}
    return space.config_for({**explored, **trial.params})


def _fixed_params(trial: Trial | Any) -> dict[str, Any]:
    fixed = getattr(trial, "fixed_params", None)
    if fixed is not None or not isinstance(trial, Trial):
        return dict(fixed or {})
    # A running trial: only a continuation (or a retry) starts past step 0; read its record.
    if trial.last_step is None or trial.study is None:
        return {}
    record = trial.study.report_view().trial(trial.trial_id)
    return dict(record.fixed_params or {})


def _takes_checkpoint_dir(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "checkpoint_dir" in params


def is_class_trainable(obj: Any) -> bool:
    """Whether ``obj`` is a class trainable (Ray Tune's ``tune.Trainable`` API: ``setup``/``step``)."""
    return isinstance(obj, type) and (issubclass(obj, ClassTrainable) or callable(getattr(obj, "step", None)))


class ClassTrainable:
    """Ray Tune's class API (``tune.Trainable``): the run calls ``step()`` once per iteration.

    Override ``setup(config)``, ``step() -> dict`` (a result; ``done: True`` ends the trial
    COMPLETE), ``save_checkpoint(checkpoint_dir) -> path | dict``,
    ``load_checkpoint(path_or_dict)`` and ``cleanup()``. A checkpoint is saved every
    ``checkpoint_freq`` iterations, at the end with ``checkpoint_at_end``, and every
    iteration under a scheduler that clones or pauses trials (PBT, ASHA with pausing).
    """

    def __init__(self, config: Mapping[str, Any] | None = None, logger_creator: Any = None, **_: Any) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self._iteration = 0
        self._time_total = 0.0
        self._trial: Trial | None = None
        self.setup(copy.deepcopy(self.config))

    # -- what subclasses override ---------------------------------------------------------
    def setup(self, config: dict[str, Any]) -> None:
        """Build the model from ``config`` (called once, by the constructor)."""

    def step(self) -> dict[str, Any]:
        """One iteration of training; returns its metrics."""
        raise NotImplementedError(f"{type(self).__name__} must define step() returning a dict of metrics")

    def save_checkpoint(self, checkpoint_dir: str) -> str | dict[str, Any] | None:
        """Write the state into ``checkpoint_dir``; return it (or a file in it), or a dict to pickle."""
        raise NotImplementedError(
            f"{type(self).__name__} must define save_checkpoint(checkpoint_dir) to be checkpointed "
            "(checkpoint_freq, checkpoint_at_end, or a scheduler that clones or pauses trials)"
        )

    def load_checkpoint(self, checkpoint: str | dict[str, Any]) -> None:
        """Restore the state from what ``save_checkpoint`` returned (a path, or the dict)."""
        raise NotImplementedError(f"{type(self).__name__} must define load_checkpoint(checkpoint) to be restored")

    def cleanup(self) -> None:
        """Release resources when the trial ends."""

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        """Ray's actor reuse; tunesmith starts each trial afresh, so this is never needed (False)."""
        return False

    # -- what the run calls -------------------------------------------------------------
    @property
    def iteration(self) -> int:
        return self._iteration

    training_iteration = iteration

    @property
    def trial_id(self) -> str:
        return "default" if self._trial is None else str(self._trial.number)

    @property
    def trial_name(self) -> str:
        return f"trial_{self.trial_id}"

    @property
    def logdir(self) -> str:
        """The trial's folder (its checkpoints live under it)."""
        if self._trial is None or self._trial.study is None:
            return os.getcwd()
        return self._trial.study.checkpoints.trial_dir(self._trial.number)

    def train(self) -> dict[str, Any]:
        """Run one ``step()``; its result with ``training_iteration`` and times added."""
        start = time.monotonic()
        result = self.step()
        if not isinstance(result, Mapping):
            raise TypeError(f"{type(self).__name__}.step() must return a dict of metrics, got {type(result).__name__}")
        self._iteration += 1
        elapsed = time.monotonic() - start
        self._time_total += elapsed
        out = dict(result)
        out.setdefault("training_iteration", self._iteration)
        out.setdefault("time_this_iter_s", elapsed)
        return out

    def save(self, checkpoint_dir: str) -> None:
        """``save_checkpoint`` into ``checkpoint_dir``, with a note of what to give ``load_checkpoint``."""
        returned = self.save_checkpoint(checkpoint_dir)
        if isinstance(returned, Mapping):
            import cloudpickle

            with open(os.path.join(checkpoint_dir, _CLASS_DATA), "wb") as f:
                cloudpickle.dump(dict(returned), f)
            note: dict[str, Any] = {"kind": "dict"}
        else:
            path = checkpoint_dir if returned is None else os.fspath(returned)
            rel = os.path.relpath(os.path.abspath(path), os.path.abspath(checkpoint_dir))
            if rel.startswith(".."):
                raise ValueError(
                    f"{type(self).__name__}.save_checkpoint returned {returned!r}, outside the checkpoint "
                    f"directory {checkpoint_dir!r} it was given; write the files there and return it"
                )
            note = {"kind": "path", "path": rel}
        note["iteration"] = self._iteration
        with open(os.path.join(checkpoint_dir, _CLASS_NOTE), "w") as f:
            json.dump(note, f)

    def restore(self, checkpoint_dir: str) -> None:
        """``load_checkpoint`` with what ``save`` stored in ``checkpoint_dir``."""
        try:
            with open(os.path.join(checkpoint_dir, _CLASS_NOTE)) as f:
                note = json.load(f)
        except FileNotFoundError:
            note = {"kind": "path", "path": "."}
        if note.get("kind") == "dict":
            import cloudpickle

            with open(os.path.join(checkpoint_dir, _CLASS_DATA), "rb") as f:
                self.load_checkpoint(cloudpickle.load(f))
        else:
            self.load_checkpoint(os.path.normpath(os.path.join(checkpoint_dir, note.get("path", "."))))
        self._iteration = int(note.get("iteration", self._iteration))

    def export_model(self, export_formats: list[str] | str, export_dir: str | None = None) -> dict[str, str]:
        """Ray's ``export_model``: ``_export_model(formats, export_dir)`` (default: the trial's folder)."""
        formats = [export_formats] if isinstance(export_formats, str) else list(export_formats)
        return self._export_model(formats, export_dir or self.logdir)

    def _export_model(self, export_formats: list[str], export_dir: str) -> dict[str, str]:
        """Write the model in each of ``export_formats`` into ``export_dir``; return ``{format: path}``."""
        raise NotImplementedError(
            f"{type(self).__name__} must define _export_model(export_formats, export_dir) for run(export_formats=...)"
        )

    def stop(self) -> None:
        self.cleanup()


_CLASS_NOTE = ".tune_trainable.json"
_CLASS_DATA = "trainable_state.pkl"


def _step_class(
    cls: Callable[..., Any], config: dict[str, Any], trial: Trial, freq: int, at_end: bool,
    export_formats: tuple[str, ...] = (),
) -> None:
    """Run a class trainable as a trial: restore, then step/report until a stop or ``done``."""
    obj = cls(config)
    obj._trial = trial
    ckpt = trial.get_checkpoint()
    if ckpt is not None:
        obj.restore(ckpt.path)
    obj._iteration = trial.last_step or obj._iteration  # the step the report count goes on from
    scheduler = trial.study.scheduler if trial.study is not None else None
    every = scheduler is not None and (scheduler.needs_checkpoints or scheduler.pauses)
    saved_at = None
    try:
        while True:
            result = obj.train()
            it = obj.iteration
            if every or (freq and it % freq == 0):
                with trial.checkpoint_dir(it) as d:
                    obj.save(d)
                saved_at = it
            try:
                report(result)
            except TrialDone:
                break
            except TrialStopped:
                if at_end and saved_at != it:
                    with trial.checkpoint_dir(it) as d:
                        obj.save(d)
                raise
        if at_end and saved_at != obj.iteration:
            with trial.checkpoint_dir(obj.iteration) as d:
                obj.save(d)
    finally:
        try:
            if export_formats:  # Ray's export_formats: into the trial's folder, however the trial ended
                obj.export_model(list(export_formats))
        finally:
            obj.stop()


def check_stop(stop: Stop | None) -> None:
    """A clear error for a ``stop=`` that is neither a dict of thresholds nor a function."""
    if stop is None or callable(stop):  # a function, or a tune.Stopper
        return
    if not isinstance(stop, Mapping) or not all(isinstance(v, (int, float)) for v in stop.values()):
        raise TypeError(
            "stop= must be a dict of metric thresholds, e.g. {'training_iteration': 10}, or a function "
            f"(trial_id, result) -> bool; got {stop!r}"
        )


class StopWhen(Scheduler):
    """``scheduler`` (None: continue every trial), with trials finished (COMPLETE) once ``stop`` is reached.

    ``stop``: ``{metric: threshold}`` (reached when a reported metric is >= its threshold)
    or ``stop(trial_id, result) -> bool``. The study stores the wrapped scheduler's spec.
    """

    def __init__(self, stop: Stop, scheduler: Scheduler | None = None) -> None:
        check_stop(stop)
        self.stop = stop
        self.inner = scheduler
        #: a stopper's ``stop_all()`` said the whole run ends: every trial here finishes at its next report
        self.all_stopped = False
        self.needs_checkpoints = scheduler is not None and scheduler.needs_checkpoints
        self.pauses = scheduler is not None and scheduler.pauses
        self.random_population = scheduler is not None and scheduler.random_population

    def __getattr__(self, name: str) -> Any:
        """The wrapped scheduler's attributes (``metric``, ``mode``, Hyperband's ``milestones``...)."""
        inner = self.__dict__.get("inner")
        if inner is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(inner, name)

    def bind(self, metric_names: Any, directions: Any) -> None:
        if self.inner is not None:
            self.inner.bind(metric_names, directions)

    def spec(self) -> dict[str, Any]:
        return {} if self.inner is None else self.inner.spec()

    def ingest(self, view: ReportLog, report: Report) -> None:
        if self.inner is not None:
            self.inner.ingest(view, report)

    def promotable(self, view: ReportLog, final: bool = False) -> list[int]:
        return [] if self.inner is None else self.inner.promotable(view, final)

    def on_report(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision | Exploit:
        decision = Decision.CONTINUE if self.inner is None else self.inner.on_report(view, trial_id, step, metrics)
        reached = self._reached(view, trial_id, metrics)
        stop_all = self._stop_all()  # after every result, as Ray checks it
        if decision is Decision.CONTINUE and (reached or stop_all):
            return Decision.FINISH
        return decision

    def _stop_all(self) -> bool:
        stop_all = getattr(self.stop, "stop_all", None)
        if not self.all_stopped and callable(stop_all) and stop_all():
            self.all_stopped = True
        return self.all_stopped

    def _reached(self, view: ReportLog, trial_id: int, result: Mapping[str, Any]) -> bool:
        if callable(self.stop):
            return bool(self.stop(str(view.trial(trial_id).number), dict(result)))
        return any(k in result and result[k] >= v for k, v in self.stop.items())
