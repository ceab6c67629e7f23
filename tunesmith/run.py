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

import functools
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from tunesmith import logging as tslogging
from tunesmith._analysis import ExperimentAnalysis, ResultTrial, RunResult
from tunesmith._trainable import Stop, StopWhen, Trainable, check_stop, is_class_trainable
from tunesmith.checkpoints import CheckpointConfig
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
    from tunesmith.reporting._protocol import Reporter
    from tunesmith.tracking import Logger

__all__ = ["ExperimentAnalysis", "ResultTrial", "RunResult", "TuneError", "run"]


class TuneError(RuntimeError):
    """Ray Tune's error: trials of a run failed (``raise_on_failed_trial``), or a run cannot start."""


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _own_lines(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Ray's API prints its own lines (``verbose=``): Optuna's INFO log lines are left out."""
    @functools.wraps(func)
    def quiet(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with tslogging.quieter():
            return func(*args, **kwargs)
    return quiet


@_own_lines
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
            its metric/mode are the run's when ``metric`` is not given. A report without its
            metric lets the trial continue (Ray's); the trial's result then takes the metric's
            last reported value.
        stop: end a trial (COMPLETE) once a reported metric reaches a value, e.g.
            ``{"training_iteration": 10}``, or when ``stop(trial_id, result)`` is true
            (a ``tune.Stopper``: its ``stop_all()`` ends the whole run).
        checkpoint_freq / checkpoint_at_end: class trainables save every N iterations / at the end.
        export_formats: Ray's; a class trainable's ``_export_model(formats, trial folder)`` runs as each trial ends.
        keep_checkpoints_num / checkpoint_score_attr: keep each trial's N best checkpoints
            by a metric (``"min-loss"`` for the lowest); default all.
        local_dir / storage_path: where checkpoints go (default next to the storage file). Each
            trial runs in its folder there (``tune.get_trial_dir()``, created first), as in Ray 1.x.
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
    formats = _export_formats(run_or_experiment, export_formats)
    resources_per_trial = _resources(run_or_experiment, resources_per_trial)
    resume = _resume_mode(resume)
    if fail_fast not in (True, False, "raise", "RAISE"):
        raise ValueError(f"fail_fast must be True, False or 'raise', got {fail_fast!r}")
    if isinstance(checkpoint_freq, bool) or not isinstance(checkpoint_freq, int) or checkpoint_freq < 0:
        raise ValueError(f"checkpoint_freq must be a non-negative integer, got {checkpoint_freq!r}")
    if scheduler is not None:  # Ray Tune's schedulers let a report without their metric continue
        scheduler.missing_metric = "continue"
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
    store = get_storage(_temporary_storage_url() if storage is None else _absolute(storage))
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
    if artifacts is not None:  # trials run in their folder (Ray's working directory): paths are absolute
        artifacts = os.path.abspath(os.path.expanduser(artifacts))
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
    objective = Trainable(run_or_experiment, space, checkpoint_freq, checkpoint_at_end, errors_dir, formats)
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


def _export_formats(trainable: Any, formats: Sequence[str] | None) -> tuple[str, ...]:
    """Ray's ``export_formats``: a class trainable's ``_export_model(formats, logdir)`` runs as each trial ends."""
    if not formats:
        return ()
    if isinstance(formats, str):
        formats = [formats]
    known = ("checkpoint", "model", "onnx", "h5")
    bad = [f for f in formats if str(f).strip().lower() not in known]
    if bad:
        raise ValueError(f"export_formats: unknown format(s) {bad}; Ray's are {list(known)}")
    if not is_class_trainable(trainable):
        raise ValueError(
            f"export_formats={list(formats)!r} needs a class trainable with _export_model(export_formats, "
            "export_dir); a function trainable saves its model itself (tune.checkpoint_dir, or a file in its "
            "working directory, the trial's folder) and analysis.best_checkpoint / get_best_logdir() find it"
        )
    return tuple(formats)


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


def _absolute(storage: Storage | str) -> Storage | str:
    """A SQLite file named relative to the working directory, by its absolute path (trials run in their folder)."""
    if not isinstance(storage, (str, os.PathLike)):
        return storage
    url = os.fspath(storage)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        return "sqlite:///" + os.path.abspath(url[len("sqlite:///"):])
    if "://" not in url and url.endswith((".db", ".sqlite", ".sqlite3")):
        return os.path.abspath(url)
    return url


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
