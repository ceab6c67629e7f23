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
from collections.abc import Mapping
from typing import Any

from tunesmith.checkpoints import Checkpoint
from tunesmith.trial import Trial, TrialStopped, current_trial

__all__ = ["TrialDone", "checkpoint_dir", "current_trial", "get_checkpoint", "report", "save_checkpoint"]

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


def report(metrics: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
    """Report metrics from inside a trainable: ``tunesmith.report(loss=0.3, accuracy=0.9)``.

    Each call is one training iteration: the step is counted for you and stored as
    ``training_iteration`` (1, 2, ...), with ``time_total_s``. A dict positional argument
    works too. Once the scheduler (or ``run(stop=...)``) ends the trial, it raises
    :class:`~tunesmith.TrialStopped`, which leaves the trainable and ends the trial.
    ``done=True`` (Ray Tune's) ends the trial COMPLETE after this report (it raises
    :class:`TrialDone`, which ``tunesmith.run`` takes as the trainable's return).
    """
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
