"""Replay the hyperparameter schedule of one line of a population-based training run.

A PBT run's line is recorded in its study: each continuation trial names the trial
whose checkpoint it started from (``restore.trial``), at which step, and its explored
config. :meth:`PopulationBasedTrainingReplay.from_analysis` follows that line back from
a trial to its first ancestor and keeps the configs with the steps they started at; run
with this scheduler, a single trial starts with the first config and, at each step of
the schedule, goes on from its own checkpoint with the next config (a continuation
trial, as PBT's exploit makes one). Ray Tune reads the schedule from a
``pbt_policy_*.txt`` file; tunesmith reads it from the run.

>>> import tempfile, os, tunesmith
>>> from tunesmith import tune
>>> def train(config, checkpoint_dir=None):
...     start = int(open(os.path.join(checkpoint_dir, "s")).read()) if checkpoint_dir else 0
...     for step in range(start + 1, 7):
...         with tune.checkpoint_dir(step) as d:
...             open(os.path.join(d, "s"), "w").write(str(step))
...         tune.report(lr=config["lr"])
>>> replay = PopulationBasedTrainingReplay(initial_config={"lr": 0.1}, schedule=[[2, {"lr": 0.2}], [4, {"lr": 0.3}]])
>>> analysis = tune.run(train, config=replay.config, scheduler=replay, verbose=0)
>>> [(t.config["lr"], t.last_result["training_iteration"]) for t in analysis.trials]
[(0.1, 2), (0.2, 4), (0.3, 6)]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from tunesmith.history import ReportLog
from tunesmith.schedulers._base import Decision, Exploit, Scheduler
from tunesmith.space import flatten, unflatten

__all__ = ["PopulationBasedTrainingReplay"]


class PopulationBasedTrainingReplay(Scheduler):
    """Run a trial with a PBT line's config schedule (Ray Tune's ``PopulationBasedTrainingReplay``).

    Args:
        policy_file: Ray's policy file; tunesmith writes none, so this is refused with the
            way to build the schedule (:meth:`from_analysis`).
        initial_config: the config the line started with (pass ``config=replay.config`` to ``run``).
        schedule: ``[[step, config], ...]``: from ``step`` on (in ``time_attr`` units), the
            trial goes on from its checkpoint at that step with ``config``.
        time_attr: the progress measure of ``step`` (PBT's ``time_attr``).
    """

    needs_checkpoints = True

    def __init__(
        self, policy_file: str | None = None, *, initial_config: Mapping[str, Any] | None = None,
        schedule: Sequence[Sequence[Any]] | None = None, time_attr: str = "training_iteration",
        metric: str | None = None, mode: str | None = None,
    ) -> None:
        if policy_file is not None:
            raise NotImplementedError(
                f"PopulationBasedTrainingReplay({policy_file!r}): tunesmith's PBT writes no pbt_policy_*.txt "
                "files; build the schedule from the PBT run: "
                "PopulationBasedTrainingReplay.from_analysis(analysis, analysis.best_trial)"
            )
        if initial_config is None:
            raise ValueError("PopulationBasedTrainingReplay needs initial_config= (or use from_analysis)")
        super().__init__(metric, mode, time_attr)
        steps: list[list[Any]] = []
        for entry in schedule or []:
            if len(entry) != 2 or not isinstance(entry[1], Mapping):
                raise ValueError(f"schedule entries must be [step, config], got {entry!r}")
            steps.append([float(entry[0]), dict(entry[1])])
        if any(b[0] < a[0] for a, b in itertools.pairwise(steps)):
            raise ValueError(f"schedule steps must not decrease, got {[s for s, _ in steps]}")
        self.initial_config = dict(initial_config)
        self.schedule = steps

    @property
    def config(self) -> dict[str, Any]:
        """The config to pass to ``run`` (Ray sets it for you): the line's first config."""
        return unflatten(flatten(self.initial_config))

    @classmethod
    def from_analysis(
        cls, analysis: Any, trial: Any, time_attr: str = "training_iteration",
    ) -> PopulationBasedTrainingReplay:
        """The schedule of ``trial``'s line in a PBT run (``analysis``: what ``tune.run`` returned)."""
        by_number = {t.number: t for t in analysis.trials}
        line = []
        current = by_number[trial if isinstance(trial, int) else trial.number]
        seen = set()
        while True:
            restore = current.frozen.restore
            line.append((0 if restore is None else restore.step, current.config))
            if restore is None or restore.trial in seen:
                break
            seen.add(current.number)
            current = by_number[restore.trial]
        line.reverse()
        first = line[0][1]
        return cls(initial_config=first, schedule=[[step, config] for step, config in line[1:]], time_attr=time_attr)

    def bind(self, metric_names: Sequence[str], directions: Sequence[str]) -> None:
        self._bound = True  # it compares nothing: no metric needed
        self.reset()

    def _spec_kwargs(self) -> dict[str, Any]:
        return {"initial_config": self.initial_config, "schedule": self.schedule, "time_attr": self.time_attr,
                "metric": self.metric, "mode": self.mode}

    def decide(self, view: ReportLog, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision | Exploit:
        now = self.time_of(step, metrics)
        me = view.trial(trial_id)
        started = 0.0 if me.restore is None else float(me.restore.step)
        due = [config for at, config in self.schedule if started < at <= now]
        if not due:
            return Decision.CONTINUE
        found = view.checkpoints.list(me.number) if view.checkpoints is not None else []
        usable = [c for c in found if c.step <= step]
        if not usable:
            raise ValueError(
                f"PopulationBasedTrainingReplay: trial {me.number} must save a checkpoint (tune.checkpoint_dir) "
                f"by step {step} to go on with the next config of the schedule"
            )
        ckpt = usable[-1]
        return Exploit(flatten(due[-1]), me.number, ckpt.path, ckpt.step, dict(metrics))
