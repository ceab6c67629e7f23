"""Inside a trial: what an objective or trainable calls without holding the Trial object.

Each function acts on the trial running in this thread (:func:`current_trial`)::

    def train(config):
        for epoch in range(10):
            loss = ...
            with tunesmith.checkpoint_dir() as d:
                torch.save(model.state_dict(), os.path.join(d, "model.pt"))
            tunesmith.report(loss=loss)
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Mapping
from typing import Any

from tunesmith.checkpoints import Checkpoint
from tunesmith.trial import Trial, TrialStopped, current_trial

__all__ = [
    "ENV_SWEEP_ATTEMPT", "ENV_SWEEP_STORAGE", "ENV_SWEEP_STUDY", "ENV_SWEEP_TRIAL", "TrialDone", "checkpoint_dir",
    "current_trial", "get_checkpoint", "log", "report", "save_checkpoint",
]

#: set by ``tunesmith agent`` for each run it starts: where the program's reports go
ENV_SWEEP_STORAGE = "TUNESMITH_SWEEP_STORAGE"
ENV_SWEEP_STUDY = "TUNESMITH_SWEEP_STUDY"
ENV_SWEEP_TRIAL = "TUNESMITH_SWEEP_TRIAL"
ENV_SWEEP_ATTEMPT = "TUNESMITH_SWEEP_ATTEMPT"

#: the user attribute a trial gets when a stopper's ``stop_all()`` ended the run in its worker
STOP_ALL_ATTR = "tune_stop_all"


class TrialDone(TrialStopped):
    """``report(done=True)``: the trial ends COMPLETE after that report. A run's trainable
    (``tunesmith.run``) returns on it; an objective run by ``Study.optimize`` ends stopped."""


def _trial(what: str) -> Trial:
    trial = current_trial()
    if trial is None:
        raise RuntimeError(f"tunesmith.{what}() was called outside a trial; call it inside the objective")
    return trial


class _SweepRun:
    """The trial a sweep agent started this process for (from its environment), opened on first report."""

    _lock = threading.Lock()
    _opened: _SweepRun | None = None
    _key: tuple[str, ...] | None = None

    def __init__(self, url: str, study: str, trial_id: int, attempt: int) -> None:
        from tunesmith.storage import get_storage

        self.storage = get_storage(url)
        self.study_id = self.storage.get_study(study).study_id
        self.trial_id = trial_id
        self.attempt = attempt
        steps = [step for step, _ in self.storage.get_reports(self.study_id, trial_id)]
        self.step = max(steps, default=0)

    @classmethod
    def current(cls) -> _SweepRun | None:
        key = tuple(os.environ.get(k, "") for k in (ENV_SWEEP_STORAGE, ENV_SWEEP_STUDY, ENV_SWEEP_TRIAL,
                                                     ENV_SWEEP_ATTEMPT))
        if not all(key):
            return None
        with cls._lock:
            if cls._opened is None or cls._key != key:
                cls._opened, cls._key = cls(key[0], key[1], int(key[2]), int(key[3])), key
            return cls._opened

    def report(self, metrics: Mapping[str, Any]) -> None:
        with self._lock:
            self.step += 1
            values = dict(metrics)
            values.setdefault("training_iteration", self.step)
            self.storage.append_report(self.study_id, self.trial_id, self.step, values, attempt=self.attempt)


def _metrics(metrics: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    values = {**(metrics or {}), **kwargs}
    if not values:
        raise ValueError("report a metric at least, e.g. tunesmith.log({'val_loss': 0.3})")
    return values


def log(metrics: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
    """Log metrics from a program, W&B style: ``tunesmith.log({"val_loss": 0.3, "epoch": 2})``.

    Run by ``tunesmith agent``, the metrics go to the sweep's trial (the agent names it in
    the environment) and its early stopping sees them; inside an objective they are a
    :func:`report`; anywhere else the line is printed (``val_loss=0.3 epoch=2``), which an
    agent also reads. So the same program runs alone, under an agent, or in a study.
    """
    values = _metrics(metrics, kwargs)
    if current_trial() is not None:
        report(values)
        return
    sweep = _SweepRun.current()
    if sweep is not None:
        sweep.report(values)
        return
    print(" ".join(f"{k}={_shown(v)}" for k, v in values.items()), flush=True)


def _shown(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return str(value)


def report(metrics: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
    """Report metrics from inside a trainable: ``tunesmith.report(loss=0.3, accuracy=0.9)``.

    Each call is one training iteration: the step is counted for you and stored as
    ``training_iteration`` (1, 2, ...), with ``time_total_s``. A dict positional argument
    works too. Once the scheduler (or ``run(stop=...)``) ends the trial, it raises
    :class:`~tunesmith.TrialStopped`, which leaves the trainable and ends the trial.
    ``done=True`` (Ray Tune's) ends the trial COMPLETE after this report (it raises
    :class:`TrialDone`, which ``tunesmith.run`` takes as the trainable's return).

    In a program run by ``tunesmith agent`` (no trial in this process, the agent's
    ``TUNESMITH_SWEEP_*`` environment set), the metrics go to the agent's trial instead.
    """
    if current_trial() is None:
        sweep = _SweepRun.current()
        if sweep is not None:
            values = _metrics(metrics, kwargs)
            values.pop("done", None)
            sweep.report(values)
            return
    trial = _trial("report")
    values = {**(metrics or {}), **kwargs}
    done = bool(values.pop("done", False))
    iteration = 1 if trial.last_step is None else trial.last_step + 1
    values.setdefault("training_iteration", iteration)
    values.setdefault("time_total_s", trial.elapsed)
    trial.report(iteration, **values)
    scheduler = trial.study.scheduler if trial.study is not None else None
    if getattr(scheduler, "all_stopped", False):  # a tune.Stopper's stop_all(): the run tells the driver
        trial.set_user_attr(STOP_ALL_ATTR, True)
    if trial.should_stop():
        raise TrialStopped()
    if done:
        raise TrialDone()


def checkpoint_dir(step: int | None = None) -> contextlib.AbstractContextManager[str]:
    """A directory to write the running trial's checkpoint into (Ray Tune's ``tune.checkpoint_dir``)."""
    return _trial("checkpoint_dir").checkpoint_dir(step)


def save_checkpoint(data: Any, step: int | None = None) -> Checkpoint:
    """Pickle ``data`` as the running trial's checkpoint (see :meth:`Trial.save_checkpoint`)."""
    return _trial("save_checkpoint").save_checkpoint(data, step)


def get_checkpoint() -> Checkpoint | None:
    """The running trial's checkpoint to resume from, None for a fresh trial (Ray Tune's ``train.get_checkpoint``)."""
    return _trial("get_checkpoint").get_checkpoint()
