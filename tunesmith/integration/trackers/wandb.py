"""Weights & Biases: one W&B run per trial, grouped by study (W&B has no nested runs).

Each run gets the trial's parameters as its config, every report as a history row at
its step, the final value(s) and ``state`` (COMPLETE/PRUNED/FAILED) in its summary,
the state as a tag, and exit code 1 for a failed trial. ``mode="offline"`` writes the
runs under ``dir`` (``wandb sync`` uploads them later); it needs no network.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith.integration.trackers._base import (
    STATE_KEY,
    final_values,
    flat_params,
    numeric,
    require,
    state_name,
    trial_run_name,
)
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.tracking import Logger

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["WandbLogger"]

_MODES = ("offline", "online", "disabled", "shared")


class WandbLogger(Logger):
    """Log each trial as a W&B run in ``project`` (default: the study's name), grouped by study.

    Args:
        mode: ``"offline"`` (default: files under ``dir``, no network), ``"online"``, ``"disabled"``.
        group: the runs' group (default: the study's name).
        dir: where W&B writes (default ``WANDB_DIR`` or the working directory).
        tags: tags every run gets (the trial's final state is added).
        init_kwargs: more ``wandb.init`` arguments (``entity``, ``notes``, ``settings``...).

    >>> study.optimize(objective, n_trials=20, loggers=[WandbLogger(project="mnist")])  # doctest: +SKIP
    """

    def __init__(
        self, project: str | None = None, *, mode: str = "offline", group: str | None = None, dir: str | None = None,
        tags: Sequence[str] = (), **init_kwargs: Any,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"WandbLogger: mode must be one of {list(_MODES)}, got {mode!r}")
        for key in ("reinit", "config", "name", "group", "project", "mode", "dir", "tags"):
            if key in init_kwargs:
                raise TypeError(f"WandbLogger: {key}= is set by the logger for each trial")
        self.project = project
        self.mode = mode
        self.group = group
        self.dir = dir
        self.tags = tuple(tags)
        self.init_kwargs: Mapping[str, Any] = dict(init_kwargs)
        self._wandb: Any = None
        self._study: Study | None = None
        self._runs: dict[int, Any] = {}  # trial id -> wandb Run
        self._last_step: dict[int, int] = {}

    def on_study_start(self, study: Study) -> None:
        self._wandb = require("wandb", "wandb", "WandbLogger")
        self._study = study

    def on_trial_start(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        study = self._study
        kwargs = dict(self.init_kwargs)
        if "settings" not in kwargs:  # the driver's console output belongs to no trial
            kwargs["settings"] = self._wandb.Settings(console="off")
        self._runs[trial.trial_id] = self._wandb.init(
            project=self.project or study.name, group=self.group or study.name, name=trial_run_name(study, trial),
            job_type="trial", config=flat_params(trial), tags=list(self.tags), mode=self.mode, dir=self.dir,
            reinit="create_new", **kwargs,
        )

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        run = self._runs.get(trial.trial_id)
        values = numeric(metrics)
        if run is None or not values:
            return
        last = self._last_step.get(trial.trial_id)
        if last is None or step > last:
            run.log(values, step=step)
            self._last_step[trial.trial_id] = step
        else:  # W&B's steps only grow: a retried trial's repeated steps go in as a column
            run.log({**values, "trial_step": step})

    def on_trial_end(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        run = self._runs.pop(trial.trial_id, None)
        self._last_step.pop(trial.trial_id, None)
        if run is None:
            return
        state = state_name(trial)
        run.config.update(flat_params(trial), allow_val_change=True)
        for name, value in final_values(self._study, trial).items():
            run.summary[name] = value
        run.summary[STATE_KEY] = state
        if trial.error:
            run.summary["error"] = trial.error.strip().splitlines()[-1][:500]
        run.tags = (*run.tags, state)
        run.finish(exit_code=1 if trial.state == TrialState.FAILED else 0)

    def on_study_end(self, study: Study) -> None:
        for run in self._runs.values():
            run.finish(exit_code=1)
        self._runs.clear()


# The last setup_wandb run (key "run") as (pid, run): the next trial's setup_wandb in that
# process finishes it, in case its trial did not.
_open_runs: dict[str, tuple[int, Any]] = {}


def setup_wandb(
    config: Mapping[str, Any] | None = None, project: str | None = None, *, group: str | None = None,
    name: str | None = None, **init_kwargs: Any,
) -> Any:
    """``wandb.init`` inside an objective or trainable, as a run of the study: the tutorial's pattern.

    The run is grouped under the study's name (``group``), named ``<study>-trial-<n>``,
    its config ``config`` (default: the trial's parameters), in ``project`` (default: the
    study's name). Outside a trial it warns and starts a plain run. A run left open by
    the trial before in this process is finished first. Returns the ``wandb`` Run.
    ``WANDB_MODE=offline`` (or ``mode="offline"``) keeps it off the network.

    >>> def train(config):  # doctest: +SKIP
    ...     run = setup_wandb(config, project="mnist")
    ...     for epoch in range(10):
    ...         run.log({"loss": loss})
    ...         tunesmith.report(loss=loss)
    ...     run.finish()
    """
    wandb = require("wandb", "wandb", "setup_wandb")
    from tunesmith.integration.trackers._base import flatten, running_trial, study_name_of

    trial = running_trial("setup_wandb")
    previous = _open_runs.get("run")
    if previous is not None and previous[0] != os.getpid():  # a run a forked worker inherited: not its own
        del _open_runs["run"]
        previous = None
    if previous is not None:
        previous[1].finish()
    if "reinit" not in init_kwargs:
        init_kwargs["reinit"] = "create_new"
    if trial is None:
        return wandb.init(project=project, group=group, name=name, config=dict(config or {}), **init_kwargs)
    study = study_name_of(trial)
    given = dict(config) if config is not None else trial.params
    # W&B fixes its folder at the first init of a process; each run goes where its trial runs
    # (the trial's own folder under tune.run), not where this worker's first trial ran.
    init_kwargs.setdefault("dir", os.getcwd())
    run = wandb.init(
        project=project or study, group=group or study, name=name or f"{study}-trial-{trial.number}",
        job_type="trial", config=flatten(given), **init_kwargs,
    )
    run.config.update({"tunesmith_study": study, "tunesmith_trial": trial.number}, allow_val_change=True)
    if "run" not in _open_runs:  # the first in this process: its last run is finished at its exit
        atexit.register(_finish_open_run)
    _open_runs["run"] = (os.getpid(), run)
    return run


def _finish_open_run() -> None:
    """The process's last setup_wandb run, if its trial did not finish it (a pruned trial's)."""
    last = _open_runs.pop("run", None)
    if last is not None and last[0] == os.getpid():
        last[1].finish()
