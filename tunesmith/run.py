"""``tunesmith.run``: Ray Tune's classic ``tune.run`` on tunesmith's study record.

A trainable is a function of a config dict that reports metrics with
:func:`report` (or returns a dict of them)::

    def train(config):
        for epoch in range(10):
            loss = ...
            tunesmith.report(loss=loss)

    result = tunesmith.run(train, config={"lr": tunesmith.loguniform(1e-4, 1e-1)},
                           num_samples=20, metric="loss", mode="min")
    print(result.best_config)

Integer bounds are inclusive everywhere (``randint(1, 3)`` may give 3), unlike
Ray Tune's ``randint``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tunesmith._trainable import Stop, StopWhen, Trainable, check_stop, config_of
from tunesmith.checkpoints import Checkpoint, CheckpointConfig
from tunesmith.exceptions import DuplicatedStudyError, StudyNotFoundError
from tunesmith.execution import LoopSettings, MaxFailuresError, recover_lost_trials
from tunesmith.execution.resources import Resources, plan_slots
from tunesmith.samplers import Sampler
from tunesmith.schedulers import Scheduler, scheduler_from_spec
from tunesmith.session import STOP_ALL_ATTR
from tunesmith.space import SearchSpace
from tunesmith.storage import Storage, get_storage
from tunesmith.study import Callback, Study, create_study
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    import pandas as pd

    from tunesmith.reporting._protocol import Reporter
    from tunesmith.tracking import Logger

__all__ = ["ExperimentAnalysis", "ResultTrial", "RunResult", "TuneError", "run"]


class TuneError(RuntimeError):
    """Ray Tune's error: trials of a run failed (``raise_on_failed_trial``), or a run cannot start."""


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
        """The best trial by ``metric`` (``mode`` "min"/"max"); ``scope``: "last" or "all" reports."""
        metric = metric or self.default_metric
        mode = mode or self.default_mode
        if metric is None or mode not in ("min", "max"):
            raise ValueError(
                "get_best_trial needs metric= and mode='min' or 'max' (or pass them to run()); "
                f"got metric={metric!r}, mode={mode!r}"
            )
        if scope not in ("last", "all"):
            raise ValueError(f"scope must be 'last' or 'all', got {scope!r}")
        best, best_v = None, None
        for t in self.trials:
            if t.state == TrialState.FAILED:
                continue
            if scope == "last":
                candidates = [t.last_result.get(metric)]
            else:
                reports = self.study.storage.get_reports(self.study.study_id, t.frozen.trial_id)
                candidates = [m.get(metric) for _, m in reports]
            for v in candidates:
                if v is None or v != v:  # absent or NaN
                    continue
                if best_v is None or (v < best_v if mode == "min" else v > best_v):
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


def run(
    run_or_experiment: Callable[..., Any], config: Mapping[str, Any] | None = None, *, num_samples: int = 1,
    metric: str | None = None, mode: str | None = None, name: str | None = None,
    storage: Storage | str | None = None, search_alg: Sampler | None = None, seed: int | None = None,
    resources_per_trial: Mapping[str, float] | None = None, max_concurrent_trials: int | None = None,
    progress_reporter: Reporter | None = None, verbose: int = 1, time_budget_s: float | None = None,
    callbacks: Sequence[Callback] | None = None, resume: bool | str = False, raise_on_failed_trial: bool = True,
    fail_fast: bool | str = False, checkpoint_freq: int = 0, checkpoint_at_end: bool = False,
    export_formats: Sequence[str] | None = None,
    max_retries: int = 0, trial_timeout: float | None = None, executor: str = "local",
    ray_address: str | None = None, scheduler: Scheduler | None = None, stop: Stop | None = None,
    keep_checkpoints_num: int | None = None, checkpoint_score_attr: str | None = None,
    local_dir: str | None = None, storage_path: str | None = None, start_method: str | None = None,
    loggers: Sequence[Logger] | None = None, **ray_only: Any,
) -> RunResult:
    """Tune ``run_or_experiment(config)`` over ``config``; Ray Tune's ``tune.run`` arguments.

    ``run_or_experiment``: a function trainable, or a class trainable (``tune.Trainable``:
    ``setup``/``step``/``save_checkpoint``/``load_checkpoint``).

    Ctrl-C ends the run, not the program: the result so far is returned, and the trials
    that were running go back to the queue (``resume=True`` runs them again).

    Args:
        config: dict-style search space (``uniform``, ``choice``, ``grid_search``...).
        num_samples: trials to run (times the grid size when ``config`` has grid_search axes).
        metric / mode: the reported metric to optimize, ``"min"`` or ``"max"``.
        storage: where the study lives (``"sqlite:///tunesmith.db"``, a ``postgresql://`` URL);
            None keeps nothing after the process exits (a temporary file its workers share).
        search_alg: a tunesmith sampler (default: ``AutoSampler``, random search under PBT;
            seeded by ``seed``).
        resources_per_trial: ``{"cpu": c, "gpu": g, "memory": bytes}`` (or a
            ``tune.PlacementGroupFactory``, its bundles added up); trials run in
            parallel worker processes, as many as the machine's CPUs allow (capped by
            ``max_concurrent_trials``); ``memory`` caps each worker's address space.
        max_retries: times a trial whose worker was lost runs again before it is FAILED (Ray's
            ``max_failures`` is taken as this; a trial whose trainable raised is not retried).
        trial_timeout: seconds a trial may run before it is stopped and FAILED.
        executor / ray_address: ``"ray"`` runs the trials as Ray tasks (a local Ray
            runtime, or the cluster at ``ray_address``) with the same resources.
        scheduler: stops/finishes/clones trials from their reports (:mod:`tunesmith.schedulers`);
            its metric/mode are the run's when ``metric`` is not given.
        stop: end a trial (COMPLETE) once a reported metric reaches a value, e.g.
            ``{"training_iteration": 10}``, or when ``stop(trial_id, result)`` is true
            (a ``tune.Stopper``: its ``stop_all()`` ends the whole run).
        checkpoint_freq / checkpoint_at_end: class trainables save every N iterations / at the end.
        keep_checkpoints_num / checkpoint_score_attr: keep each trial's N best checkpoints
            by a metric (``"min-loss"`` for the lowest); default all.
        local_dir / storage_path: where checkpoints go (default next to the storage file).
        start_method: how worker processes start (``Study.optimize``'s; default: forked
            with this process's imports where that is safe).
        progress_reporter: a ConsoleReporter/CLIReporter; default one when ``verbose >= 1``.
        name: the study's name. Without ``resume``, a name already in the storage starts a
            new run named ``<name>_<date>_<time>`` (the old one is kept; a line says so).
        resume: ``True``/``"LOCAL"``/``"REMOTE"``: continue the study called ``name`` where it
            stopped (the trials a killed or interrupted run left unfinished run again, same
            parameters) until ``num_samples`` trials (times the grid) finished in all;
            ``"AUTO"``: resume if it exists, else start it.
        raise_on_failed_trial: raise :class:`TuneError` at the end if any trial failed (default, as Ray).
        fail_fast: ``True`` stops the run at the first failed trial (then ``raise_on_failed_trial``
            applies); ``"raise"`` raises that trial's own exception.
        loggers: experiment trackers (:mod:`tunesmith.integration.trackers`); a logger may also be
            given in ``callbacks``, Ray Tune's place for ``WandbLoggerCallback``.

    >>> import tempfile, os, tunesmith
    >>> def train(config):
    ...     tunesmith.report(loss=(config["x"] - 1) ** 2)
    >>> res = tunesmith.run(train, {"x": tunesmith.uniform(0, 2)}, num_samples=8, metric="loss",
    ...                     mode="min", storage=os.path.join(tempfile.mkdtemp(), "r.db"), verbose=0)
    >>> len(res.trials), sorted(res.best_config)
    (8, ['x'])
    """
    if not callable(run_or_experiment):
        raise TypeError(
            f"run() needs a trainable function or tune.Trainable class, got {type(run_or_experiment).__name__}"
        )
    if "max_failures" in ray_only:  # Ray's retries of a failed trial: here, of a trial whose worker was lost
        max_retries = max(max_retries, int(ray_only.pop("max_failures") or 0))
    unknown = set(ray_only) - _IGNORED_RAY_ARGS
    if unknown:
        raise TypeError(f"run() got unexpected argument(s) {sorted(unknown)}")
    check_stop(stop)
    if export_formats:
        raise ValueError(
            f"export_formats={list(export_formats)!r}: tunesmith exports nothing at the end of a run; save the "
            "model in the trainable's checkpoint (checkpoint_at_end=True) and read analysis.best_checkpoint"
        )
    resources_per_trial = _resources(run_or_experiment, resources_per_trial)
    resume = _resume_mode(resume)
    if fail_fast not in (True, False, "raise", "RAISE"):
        raise ValueError(f"fail_fast must be True, False or 'raise', got {fail_fast!r}")
    if isinstance(checkpoint_freq, bool) or not isinstance(checkpoint_freq, int) or checkpoint_freq < 0:
        raise ValueError(f"checkpoint_freq must be a non-negative integer, got {checkpoint_freq!r}")
    if scheduler is not None and metric is None and scheduler.metric is not None:
        metric, mode = scheduler.metric, scheduler.mode or mode
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    if mode is not None and mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    if metric is not None and mode is None:
        mode = "min"
    space = SearchSpace(config)
    if storage is None and resume:
        raise ValueError("resume=True needs the storage the run was kept in, e.g. storage='sqlite:///tunesmith.db'")
    store = get_storage(_temporary_storage_url() if storage is None else storage)
    if resume == "AUTO":
        resume = name is not None and _exists(store, name)
    elif not resume and name is not None and _exists(store, name):
        # Ray Tune starts a new experiment under a name already used; the old one is kept.
        old, name = name, _fresh_name(store, name)
        if verbose >= 1:
            print(f"a run named {old!r} exists in {store.url or 'this storage'}; this one is {name!r} "
                  "(resume=True continues the old one)", file=sys.stderr)
    directions = [] if metric is None else ["minimize" if mode == "min" else "maximize"]
    checkpoints = CheckpointConfig.from_ray(keep_checkpoints_num, checkpoint_score_attr)
    artifacts = storage_path or local_dir
    if stop is not None:  # the run's scheduler (on resume: the one stored), finishing trials at stop=
        if resume and scheduler is None and name is not None:
            scheduler = _stored_scheduler(store, name)
        scheduler = StopWhen(stop, scheduler)
    study = _open_study(name, store, metric, directions, search_alg, seed, bool(resume), scheduler, artifacts,
                        checkpoints)
    study.set_space(space)
    use_constants = getattr(study.scheduler, "use_constants", None)  # PBT explores constants it names
    if callable(use_constants):
        use_constants(space.constants)
    total = num_samples * study.sampler.grid_size(space.distributions)  # the axes it enumerates
    remaining = total
    if resume:
        # What a killed or interrupted run left behind runs again: trials whose process is
        # gone are taken back first (re-queued). Then the trials that finished (or are PAUSED,
        # or still RUNNING in a live process) count; those back in the queue run within the
        # rest of the budget. Trials that continue another's line (PBT) are not part of it.
        recover_lost_trials(study, max_retries, LoopSettings().heartbeat_grace)
        started = sum(
            1 for t in study.trials if t.state != TrialState.WAITING and t.continues is None
        )
        remaining = max(0, total - started)
    resources = Resources.from_dict(resources_per_trial)
    limit = max_concurrent_trials
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"max_concurrent_trials must be a positive integer, got {max_concurrent_trials!r}")
    n_workers: int | None = None
    if executor == "local":
        n_workers = len(plan_slots(resources, max_concurrent=max_concurrent_trials))
        n_workers = max(1, min(n_workers, remaining or 1))
    elif max_concurrent_trials is not None:
        n_workers = max_concurrent_trials
    reporter = progress_reporter
    if reporter is None and verbose >= 1:
        from tunesmith.reporting import ConsoleReporter

        reporter = ConsoleReporter()
    errors_dir = None
    if fail_fast in ("raise", "RAISE"):
        from tunesmith.checkpoints import temporary_dir

        errors_dir = temporary_dir("tunesmith-errors-")
    objective = Trainable(run_or_experiment, space, checkpoint_freq, checkpoint_at_end, errors_dir)
    run_callbacks = [*(callbacks or [])]
    if stop is not None and callable(getattr(stop, "stop_all", None)):
        run_callbacks.append(_stop_all_callback)
    if remaining:
        try:
            study.optimize(
                objective, n_trials=remaining, timeout=time_budget_s,
                n_workers=n_workers, callbacks=run_callbacks, reporter=reporter, max_retries=max_retries,
                trial_timeout=trial_timeout, resources_per_trial=resources_per_trial, executor=executor,
                ray_address=ray_address, start_method=start_method, max_failures=1 if fail_fast else None,
                loggers=loggers,
            )
        except MaxFailuresError:
            pass  # fail_fast: the run stopped at its first failed trial
        except KeyboardInterrupt:
            # Ray Tune's behaviour: Ctrl-C ends the run, not the program. The trials that
            # were running are back in the queue; resume=True runs them again.
            print(_interrupted_message(study, total, storage), file=sys.stderr)
    result = RunResult(study, space, metric, mode)
    failed = result.errors
    if failed and errors_dir is not None:
        _raise_trial_error(failed[0], errors_dir)
    if raise_on_failed_trial and failed:
        listed = ", ".join(str(t) for t in failed)
        raise TuneError(
            f"Trials did not complete: [{listed}] ({len(failed)} failed; raise_on_failed_trial=False returns "
            f"the result instead); first: trial {failed[0].number}:\n{failed[0].error}"
        )
    return result


def _resources(trainable: Any, given: Any) -> Mapping[str, float] | None:
    """``resources_per_trial``: as given (a dict, or a placement group factory's total), else the
    trainable's own (``tune.with_resources``)."""
    chosen = given if given is not None else getattr(trainable, "tune_resources", None)
    to_dict = getattr(chosen, "to_resources_dict", None)
    return to_dict() if callable(to_dict) else chosen


def _resume_mode(resume: bool | str) -> bool | str:
    """Ray Tune's ``resume=`` values: False, True, "LOCAL"/"REMOTE" (resume), "AUTO" (if it exists)."""
    if isinstance(resume, bool):
        return resume
    if isinstance(resume, str):
        upper = resume.upper()
        if upper in ("LOCAL", "REMOTE"):
            return True
        if upper == "AUTO":
            return "AUTO"
        if upper == "ERRORED_ONLY":
            raise ValueError(
                "resume='ERRORED_ONLY' is not supported: resume=True runs again the trials a run left "
                "unfinished; failed trials stay FAILED (start a new run for those configs)"
            )
        if upper == "PROMPT":
            raise ValueError("resume='PROMPT' is not supported: pass resume=True or resume='AUTO'")
    raise ValueError(f"resume must be True, False, 'AUTO', 'LOCAL' or 'REMOTE', got {resume!r}")


def _exists(store: Storage, name: str) -> bool:
    try:
        store.get_study(name)
    except StudyNotFoundError:
        return False
    return True


def _fresh_name(store: Storage, name: str) -> str:
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    candidate, n = f"{name}_{stamp}", 1
    while _exists(store, candidate):
        n += 1
        candidate = f"{name}_{stamp}_{n}"
    return candidate


def _stop_all_callback(study: Study, trial: FrozenTrial) -> None:
    """A tune.Stopper's ``stop_all()`` said so in a worker (a user attribute): start no new trial."""
    if trial.user_attrs.get(STOP_ALL_ATTR):
        study.stop()


def _raise_trial_error(trial: ResultTrial, errors_dir: str) -> None:
    """``fail_fast="raise"``: raise the failed trial's own exception (its traceback is in the message)."""
    path = os.path.join(errors_dir, f"{trial.number}.pkl")
    try:
        import cloudpickle

        with open(path, "rb") as f:
            error = cloudpickle.load(f)
    except Exception:  # not picklable, or the worker could not write it: say what failed
        raise TuneError(f"trial {trial.number} failed:\n{trial.error}") from None
    raise error from TuneError(f"trial {trial.number} failed:\n{trial.error}")


def _interrupted_message(study: Study, total: int, storage: Storage | str | None) -> str:
    finished = sum(1 for t in study.trials if t.state.is_finished())
    head = f"interrupted: {finished} of {total} trials finished"
    if storage is None:
        return f"{head}; the run is not kept (pass storage=... to be able to resume a run)"
    where = storage if isinstance(storage, str) else study.storage.url
    return f"{head}; resume with run(..., name={study.name!r}, storage={where!r}, resume=True)"


#: Ray Tune arguments that change nothing here (actors are never restarted per trial, logs go to the storage)
_IGNORED_RAY_ARGS = {"reuse_actors", "log_to_file", "sync_config", "loggers", "trial_name_creator",
                     "trial_dirname_creator"}


def _temporary_storage_url() -> str:
    """A SQLite file that worker processes can share, removed with its checkpoints at exit."""
    from tunesmith.checkpoints import temporary_dir

    return f"sqlite:///{os.path.join(temporary_dir('tunesmith-run-'), 'study.db')}"


def _stored_scheduler(store: Storage, name: str) -> Scheduler | None:
    try:
        spec = store.get_study(name).settings.scheduler
    except StudyNotFoundError:
        return None  # _open_study says so
    return None if spec is None else scheduler_from_spec(spec)


def _open_study(
    name: str | None, store: Storage, metric: str | None, directions: list[str], sampler: Sampler | None,
    seed: int | None, resume: bool, scheduler: Scheduler | None = None, artifacts: str | None = None,
    checkpoints: CheckpointConfig | None = None,
) -> Study:
    if resume:
        if name is None:
            raise ValueError("resume=True needs the name= of the run to continue")
        try:
            store.get_study(name)
        except StudyNotFoundError:
            raise ValueError(f"resume=True: no run named {name!r} in {store.url or 'this storage'}") from None
        from tunesmith.study import load_study

        return load_study(name, store, sampler=sampler, seed=seed, scheduler=scheduler)
    try:
        return create_study(
            name, store, directions=directions, metric=[] if metric is None else [metric], sampler=sampler,
            seed=seed, scheduler=scheduler, artifact_dir=artifacts, checkpoint_config=checkpoints,
        )
    except DuplicatedStudyError:
        raise DuplicatedStudyError(
            f"a run named {name!r} already exists in {store.url or 'this storage'}; pass resume=True to "
            "continue it, or another name"
        ) from None
