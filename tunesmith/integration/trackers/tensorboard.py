"""TensorBoard event files through tensorboardX (no TensorFlow): one folder per trial.

``<logdir>/<study>/trial_<n>/`` gets every report as scalars at its step and, when the
trial ends, its hyperparameters for TensorBoard's HParams tab: the parameters and the
``state`` (COMPLETE/PRUNED/FAILED) as hparams, the final value(s) as ``hparam/<name>``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from tunesmith.integration.trackers._base import STATE_KEY, final_values, flat_params, numeric, require, state_name
from tunesmith.integration.trackers._base import trial_dir as _trial_dir
from tunesmith.record import FrozenTrial
from tunesmith.tracking import Logger

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(Logger):
    """Write TensorBoard event files under ``logdir`` (``tensorboard --logdir <logdir>`` shows them).

    >>> study.optimize(objective, n_trials=20, loggers=[TensorBoardLogger("runs")])  # doctest: +SKIP
    """

    def __init__(self, logdir: str | os.PathLike[str] = "runs", *, flush_secs: int = 10) -> None:
        self.logdir = os.fspath(logdir)
        self.flush_secs = flush_secs
        self._tbx: Any = None
        self._study: Study | None = None
        self._writers: dict[int, Any] = {}  # trial id -> SummaryWriter

    def on_study_start(self, study: Study) -> None:
        self._tbx = require("tensorboardX", "tensorboardX", "TensorBoardLogger")
        self._study = study
        os.makedirs(self.logdir, exist_ok=True)

    def trial_dir(self, trial: FrozenTrial) -> str:
        """The folder of a trial's event files."""
        assert self._study is not None
        return _trial_dir(self.logdir, self._study, trial)

    def on_trial_start(self, trial: FrozenTrial) -> None:
        self._writers[trial.trial_id] = self._tbx.SummaryWriter(logdir=self.trial_dir(trial),
                                                               flush_secs=self.flush_secs)

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        writer = self._writers.get(trial.trial_id)
        if writer is None:
            return
        for k, v in numeric(metrics).items():
            writer.add_scalar(k, v, step)

    def on_trial_end(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        writer = self._writers.pop(trial.trial_id, None)
        if writer is None:
            return
        from tensorboardX.summary import hparams

        params: dict[str, Any] = {k: ("None" if v is None else v) for k, v in flat_params(trial).items()}
        params[STATE_KEY] = state_name(trial)
        finals = {f"hparam/{k}": v for k, v in final_values(self._study, trial).items()}
        # The hparams summaries go into the trial's own folder (SummaryWriter.add_hparams would add a subfolder).
        for summary in hparams(params, finals):
            writer.file_writer.add_summary(summary)
        for k, v in finals.items():
            writer.add_scalar(k, v, trial.last_step or 0)
        writer.add_text(STATE_KEY, params[STATE_KEY], trial.last_step or 0)
        writer.close()

    def on_study_end(self, study: Study) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
