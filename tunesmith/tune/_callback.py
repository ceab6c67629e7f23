"""Ray Tune's ``tune.Callback``, called when each trial ends.

Tunesmith's run calls a callback as ``callback(study, finished_trial)`` in the driver,
once a trial ends; this class turns that into Ray's ``on_trial_complete`` /
``on_trial_error`` hooks. Ray's hooks on each result or step are not called (the
reports are written by the workers): a subclass that defines them is refused.
"""

from __future__ import annotations

from typing import Any

from tunesmith.record import FrozenTrial, TrialState
from tunesmith.run import ResultTrial
from tunesmith.space import unflatten

__all__ = ["Callback"]

_UNSUPPORTED_HOOKS = (
    "setup", "on_step_begin", "on_step_end", "on_trial_start", "on_trial_restore", "on_trial_save",
    "on_trial_result", "on_checkpoint", "on_experiment_end",
)


class Callback:
    """Override ``on_trial_complete(iteration, trials, trial, **info)`` and/or ``on_trial_error(...)``.

    ``trial`` is the finished trial (``trial.config``, ``trial.last_result``, ``trial.checkpoint``);
    ``trials`` every trial of the study so far; ``iteration`` the number of trials finished.
    """

    def __init__(self) -> None:
        defined = [h for h in _UNSUPPORTED_HOOKS if getattr(type(self), h, None) is not getattr(Callback, h, None)]
        if defined:
            raise NotImplementedError(
                f"{type(self).__name__} defines {defined}: tunesmith calls a tune.Callback only when a trial "
                "ends (on_trial_complete, on_trial_error); read each result from analysis.trial_dataframes "
                "after the run, or report it from the trainable"
            )
        self._seen = 0

    def on_trial_complete(self, iteration: int, trials: list[ResultTrial], trial: ResultTrial, **info: Any) -> None:
        """A trial ended COMPLETE (or was stopped by a scheduler: Ray's TERMINATED)."""

    def on_trial_error(self, iteration: int, trials: list[ResultTrial], trial: ResultTrial, **info: Any) -> None:
        """A trial failed (``trial.error`` has the traceback)."""

    def __call__(self, study: Any, frozen: FrozenTrial) -> None:
        self._seen = getattr(self, "_seen", 0) + 1

        def as_result(t: FrozenTrial) -> ResultTrial:
            return ResultTrial(t.number, t.state, unflatten(dict(t.params)), dict(t.last_result), t.error, t,
                               study.checkpoints)

        trials = [as_result(t) for t in study.trials]
        trial = as_result(frozen)
        if frozen.state == TrialState.FAILED:
            self.on_trial_error(self._seen, trials, trial)
        else:
            self.on_trial_complete(self._seen, trials, trial)
