"""What :func:`tunesmith.run` returns: the run's trials and the best of them (Ray Tune's ``ExperimentAnalysis``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunesmith._trainable import config_of
from tunesmith.checkpoints import Checkpoint
from tunesmith.space import SearchSpace
from tunesmith.study import Study
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCOPES", "ExperimentAnalysis", "ResultTrial", "RunResult"]

#: Ray Tune's ``scope=`` values of ``get_best_trial``/``get_best_config``/``get_best_logdir``
SCOPES = ("last", "avg", "last-5-avg", "last-10-avg", "all")


def _score(values: list[float], scope: str, mode: str) -> float | None:
    """A trial's score from its reported values (in order) by ``scope``; None when it has none."""
    if not values:
        return None
    if scope == "last":
        return values[-1]
    if scope == "all":
        return min(values) if mode == "min" else max(values)
    window = values if scope == "avg" else values[-int(scope.split("-")[1]):]
    return sum(window) / len(window)


@dataclass
class ResultTrial:
    """One trial of a run, as Ray Tune's result objects show it."""

    number: int
    state: TrialState
    config: dict[str, Any]
    last_result: dict[str, Any]
    error: str | None
    frozen: FrozenTrial = field(repr=False)

    checkpoints: Any = field(default=None, repr=False)

    @property
    def trial_id(self) -> str:
        return str(self.number)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The trial's latest checkpoint (path-like: its directory), None if it saved none."""
        return None if self.checkpoints is None else self.checkpoints.latest(self.number)

    @property
    def logdir(self) -> str | None:
        """The trial's folder: its checkpoints are ``checkpoint_<step>`` folders in it."""
        return None if self.checkpoints is None else self.checkpoints.trial_dir(self.number)

    def __str__(self) -> str:
        return f"trial_{self.number}"

    @property
    def status(self) -> str:
        return {TrialState.COMPLETE: "TERMINATED", TrialState.PRUNED: "TERMINATED"}.get(self.state, self.state.name)


class RunResult:
    """What :func:`run` returns: the trials and the best of them by ``metric``/``mode``."""

    def __init__(self, study: Study, space: SearchSpace, metric: str | None, mode: str | None) -> None:
        self.study = study
        self.space = space
        self.default_metric = metric
        self.default_mode = mode

    @property
    def trials(self) -> list[ResultTrial]:
        out = []
        for t in self.study.trials:
            config = config_of(self.space, t)
            out.append(ResultTrial(t.number, t.state, config, dict(t.last_result), t.error, t, self.study.checkpoints))
        return out

    @property
    def errors(self) -> list[ResultTrial]:
        return [t for t in self.trials if t.state == TrialState.FAILED]

    def get_best_trial(
        self, metric: str | None = None, mode: str | None = None, scope: str = "last",
    ) -> ResultTrial | None:
        """The best trial by ``metric`` (``mode`` "min"/"max"), Ray Tune's ``scope``: a trial's score is
        its ``"last"`` report's value, the ``"avg"`` of all its reports, the average of its
        ``"last-5-avg"``/``"last-10-avg"`` reports, or the best of ``"all"`` of them (by ``mode``)."""
        metric = metric or self.default_metric
        mode = mode or self.default_mode
        if metric is None or mode not in ("min", "max"):
            raise ValueError(
                "get_best_trial needs metric= and mode='min' or 'max' (or pass them to run()); "
                f"got metric={metric!r}, mode={mode!r}"
            )
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(map(repr, SCOPES))}, got {scope!r}")
        best, best_v = None, None
        for t in self.trials:
            if t.state == TrialState.FAILED:
                continue
            if scope == "last" and metric in t.last_result:
                values = [t.last_result[metric]]
            else:  # its reports ("last": the last one that has the metric, as Ray's)
                reports = self.study.storage.get_reports(self.study.study_id, t.frozen.trial_id)
                values = [m.get(metric) for _, m in reports]
            v = _score([x for x in values if isinstance(x, (int, float)) and not math.isnan(x)], scope, mode)
            if v is not None and (best_v is None or (v < best_v if mode == "min" else v > best_v)):
                best, best_v = t, v
        return best

    @property
    def best_trial(self) -> ResultTrial | None:
        return self.get_best_trial()

    def get_best_config(
        self, metric: str | None = None, mode: str | None = None, scope: str = "last",
    ) -> dict[str, Any] | None:
        """The config of :meth:`get_best_trial`."""
        best = self.get_best_trial(metric, mode, scope)
        return None if best is None else best.config

    def get_best_logdir(self, metric: str | None = None, mode: str | None = None, scope: str = "last") -> str | None:
        """The best trial's folder (its checkpoints are in it); the key of :attr:`trial_dataframes`."""
        best = self.get_best_trial(metric, mode, scope)
        return None if best is None else best.logdir

    @property
    def best_logdir(self) -> str | None:
        return self.get_best_logdir()

    def _trial(self, trial: ResultTrial | str | int) -> ResultTrial:
        """A trial given as itself, its logdir (Ray's way) or its id/number."""
        if isinstance(trial, ResultTrial):
            return trial
        for t in self.trials:
            if str(trial) in (t.logdir, t.trial_id, str(t)):
                return t
        raise ValueError(f"no trial {trial!r} in this run; give a trial, its logdir or its trial_id")

    def get_trial_checkpoints_paths(
        self, trial: ResultTrial | str | int, metric: str | None = None,
    ) -> list[tuple[str, Any]]:
        """``(path, value of metric)`` for each checkpoint the trial kept (the metric reported after it)."""
        metric = metric or self.default_metric or "training_iteration"
        t = self._trial(trial)
        return [(c.path, c.metrics.get(metric, c.step)) for c in self.study.checkpoints.list(t.number)]

    def get_best_checkpoint(
        self, trial: ResultTrial | str | int, metric: str | None = None, mode: str | None = None,
    ) -> Checkpoint | None:
        """The trial's checkpoint with the best ``metric`` reported after it (default: the latest).

        ``trial``: a trial, its logdir or its id. The checkpoint is path-like (its directory).
        """
        found = self.study.checkpoints.list(self._trial(trial).number)
        metric, mode = metric or self.default_metric, mode or self.default_mode
        if metric is None or not any(c.metrics.get(metric) is not None for c in found):
            return found[-1] if found else None
        key, sign = metric, -1.0 if mode == "min" else 1.0
        return max((c for c in found if c.metrics.get(key) is not None), key=lambda c: sign * float(c.metrics[key]))

    @property
    def best_checkpoint(self) -> Checkpoint | None:
        best = self.best_trial
        return None if best is None else self.get_best_checkpoint(best)

    @property
    def best_config(self) -> dict[str, Any] | None:
        best = self.best_trial
        return None if best is None else best.config

    @property
    def best_result(self) -> dict[str, Any] | None:
        best = self.best_trial
        return None if best is None else best.last_result

    def get_all_configs(self, prefix: bool = False) -> dict[str, dict[str, Any]]:
        """Each trial's config by its logdir (``prefix=True``: keys ``config/<name>``, flat)."""
        from tunesmith.space import flatten

        out = {}
        for t in self.trials:
            out[str(t.logdir)] = {f"config/{k}": v for k, v in flatten(t.config).items()} if prefix else t.config
        return out

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """Each trial's last result by its trial_id."""
        return {t.trial_id: t.last_result for t in self.trials}

    @property
    def results_df(self) -> pd.DataFrame:
        """The last results as a table indexed by ``trial_id`` (nested metrics flattened with ``/``)."""
        import pandas as pd

        from tunesmith.space import flatten

        rows = [{"trial_id": t.trial_id, **flatten(t.last_result), "logdir": t.logdir} for t in self.trials]
        return pd.DataFrame.from_records(rows, index="trial_id") if rows else pd.DataFrame()

    @property
    def best_result_df(self) -> pd.DataFrame:
        """The best trial's last result as a one-row table indexed by ``trial_id``."""
        import pandas as pd

        from tunesmith.space import flatten

        best = self.best_trial
        if best is None:
            return pd.DataFrame()
        return pd.DataFrame.from_records([{"trial_id": best.trial_id, **flatten(best.last_result)}], index="trial_id")

    @property
    def trial_dataframes(self) -> dict[str, pd.DataFrame]:
        """Each trial's reports, one row per report, by the trial's logdir (Ray Tune's keys)."""
        import pandas as pd

        from tunesmith.space import flatten

        out = {}
        for t in self.trials:
            reports = self.study.storage.get_reports(self.study.study_id, t.frozen.trial_id)
            out[str(t.logdir)] = pd.DataFrame.from_records([flatten(m) for _, m in reports])
        return out

    @property
    def best_dataframe(self) -> pd.DataFrame | None:
        """The best trial's reports (see :attr:`trial_dataframes`)."""
        best = self.best_trial
        return None if best is None else self.trial_dataframes[str(best.logdir)]

    def dataframe(self, metric: str | None = None, mode: str | None = None) -> pd.DataFrame:
        """One row per trial (needs pandas), Ray Tune's columns: ``trial_id``, ``state``, the
        last result's metrics, ``values/<objective>``, ``last_step``, ``config/<name>`` (the
        whole config, constants included), ``user_attrs/<key>``, ``started_at``,
        ``finished_at``, ``duration`` (seconds), ``error`` and ``logdir``. Each row is the
        trial's last result; with ``metric`` and ``mode`` (Ray's), its best report's metrics instead.
        The same table as ``tunesmith export`` (:func:`tunesmith.analysis.trials_dataframe`).
        """
        from tunesmith.analysis import trials_dataframe
        from tunesmith.space import flatten

        by_number = {t.number: t for t in self.trials}
        df = trials_dataframe(
            self.study.trials, self.study.metric_names, style="tune",
            params=lambda t: flatten(by_number[t.number].config),
        )
        if len(df):
            df["logdir"] = [by_number[int(n)].logdir for n in df["trial_id"]]
        if metric is not None and mode in ("min", "max") and len(df):
            for i, t in enumerate(by_number[int(n)] for n in df["trial_id"]):
                reports = self.study.storage.get_reports(self.study.study_id, t.frozen.trial_id)
                scored = [m for _, m in reports if isinstance(m.get(metric), (int, float))]
                if scored:
                    best = (min if mode == "min" else max)(scored, key=lambda m: m[metric])
                    for k, v in flatten(best).items():
                        if k in df.columns:
                            df.at[df.index[i], k] = v
        return df


ExperimentAnalysis = RunResult
