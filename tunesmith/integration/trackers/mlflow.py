"""MLflow: a parent run per study, a nested child run per trial (through ``MlflowClient``, no global run).

Each child run gets the trial's parameters, every report as a metric at its step, the
final value(s) as metrics under the study's metric names (at the last step), the tag
``state`` (COMPLETE/PRUNED/FAILED; INTERRUPTED for an unfinished one) and a terminal
status (FINISHED; FAILED for a failed trial; KILLED for an interrupted one). Metrics are
sent in batches, one ``log_batch`` per trial and read of the study.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tunesmith.integration.trackers._base import STATE_KEY, final_values, flat_params, numeric, require, state_name
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.tracking import Logger

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["MLflowLogger"]

_BATCH = 1000  # MLflow's limit of metrics per log_batch


class MLflowLogger(Logger):
    """Log the study as an MLflow parent run and each trial as a nested child run.

    Args:
        tracking_uri: e.g. ``"sqlite:///mlflow.db"`` (default: MLflow's, ``MLFLOW_TRACKING_URI`` or ``./mlruns``).
        experiment_name: the experiment (default: the study's name); created if missing.
        tags: tags every run gets.
        nested: False logs trials as top-level runs, without the study's parent run.

    >>> study.optimize(objective, n_trials=20,
    ...                loggers=[MLflowLogger("sqlite:///mlflow.db", experiment_name="mnist")])  # doctest: +SKIP
    """

    def __init__(
        self, tracking_uri: str | None = None, experiment_name: str | None = None, *,
        tags: Mapping[str, str] | None = None, nested: bool = True,
    ) -> None:
        if tracking_uri is not None and not isinstance(tracking_uri, str):
            raise TypeError(f"MLflowLogger: tracking_uri must be a URI string, got {tracking_uri!r}")
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.nested = nested
        self._client: Any = None
        self._entities: Any = None
        self._study: Study | None = None
        self._experiment_id: str | None = None
        #: the parent run id of the last study logged (None with nested=False)
        self.parent_run_id: str | None = None
        self._runs: dict[int, str] = {}  # trial id -> run id
        self._params: dict[int, set[str]] = {}  # params logged per trial id (MLflow params are write-once)
        self._buffer: dict[str, list[Any]] = {}  # run id -> metrics not yet sent

    def on_study_start(self, study: Study) -> None:
        mlflow = require("mlflow", "mlflow", "MLflowLogger")
        self._entities = require("mlflow.entities", "mlflow", "MLflowLogger")
        self._client = mlflow.MlflowClient(self.tracking_uri)
        self._study = study
        self._experiment_id = experiment_named(self._client, self.experiment_name or study.name)
        if self.nested:
            tags = {**self.tags, "tunesmith.study": study.name, "tunesmith.directions": ",".join(study.directions)}
            self.parent_run_id = self._client.create_run(self._experiment_id, run_name=study.name,
                                                         tags=tags).info.run_id

    def on_trial_start(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        tags = {**self.tags, "tunesmith.study": self._study.name, "tunesmith.trial": str(trial.number)}
        if self.parent_run_id is not None:
            tags["mlflow.parentRunId"] = self.parent_run_id
        run = self._client.create_run(self._experiment_id, run_name=f"trial-{trial.number}", tags=tags)
        self._runs[trial.trial_id] = run.info.run_id
        self._params[trial.trial_id] = set()
        self._log_params(trial)

    def _log_params(self, trial: FrozenTrial) -> None:
        run_id = self._runs[trial.trial_id]
        logged = self._params[trial.trial_id]
        new = [self._entities.Param(k, str(v)) for k, v in flat_params(trial).items() if k not in logged]
        if new:
            self._client.log_batch(run_id, params=new)
            logged.update(p.key for p in new)

    def on_report(self, trial: FrozenTrial, step: int, metrics: dict[str, Any]) -> None:
        run_id = self._runs.get(trial.trial_id)
        if run_id is None:
            return
        now = int(time.time() * 1000)
        Metric = self._entities.Metric
        self._buffer.setdefault(run_id, []).extend(Metric(k, v, now, int(step)) for k, v in numeric(metrics).items())

    def flush(self) -> None:
        for run_id in list(self._buffer):
            self._send(run_id)

    def _send(self, run_id: str) -> None:
        metrics = self._buffer.pop(run_id, [])
        for i in range(0, len(metrics), _BATCH):
            self._client.log_batch(run_id, metrics=metrics[i:i + _BATCH])

    def on_trial_end(self, trial: FrozenTrial) -> None:
        assert self._study is not None
        run_id = self._runs.pop(trial.trial_id, None)
        if run_id is None:
            return
        self._runs[trial.trial_id] = run_id  # for _log_params
        self._log_params(trial)
        del self._runs[trial.trial_id], self._params[trial.trial_id]
        now = int(time.time() * 1000)
        step = trial.last_step or 0
        self._buffer.setdefault(run_id, []).extend(
            self._entities.Metric(k, v, now, step) for k, v in final_values(self._study, trial).items()
        )
        self._send(run_id)
        state = state_name(trial)
        self._client.set_tag(run_id, STATE_KEY, state)
        if trial.error:
            self._client.set_tag(run_id, "error", trial.error.strip().splitlines()[-1][:5000])
        status = {TrialState.COMPLETE: "FINISHED", TrialState.PRUNED: "FINISHED", TrialState.FAILED: "FAILED"}
        self._client.set_terminated(run_id, status.get(trial.state, "KILLED"))

    def on_study_end(self, study: Study) -> None:
        self.flush()
        for run_id in self._runs.values():
            self._client.set_terminated(run_id, "KILLED")
        self._runs.clear()
        if self.parent_run_id is not None:
            try:
                best = study.best_trial if len(study.directions) == 1 else None
            except ValueError:
                best = None
            if best is not None:
                self._client.log_batch(self.parent_run_id, metrics=[
                    self._entities.Metric(f"best_{k}", v, int(time.time() * 1000), 0)
                    for k, v in final_values(study, best).items()
                ], params=[self._entities.Param(f"best_{k}", str(v)) for k, v in flat_params(best).items()])
                self._client.set_tag(self.parent_run_id, "best_trial", str(best.number))
            self._client.set_terminated(self.parent_run_id, "FINISHED")


def experiment_named(client: Any, name: str) -> str:
    """The id of the experiment ``name``, created if missing; safe when several workers create it at once."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except Exception:  # another worker created it between the two calls
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


_ends_runs_at_exit: set[int] = set()  # processes where setup_mlflow registered _end_active_run
_stores_ready: set[tuple[int, str]] = set()  # (process, tracking URI) whose store this process has opened


def _end_active_run(mlflow: Any) -> None:
    if mlflow.active_run() is not None:
        mlflow.end_run()


@contextlib.contextmanager
def _first_use_lock(uri: str) -> Iterator[None]:
    """Held by one process at a time for a ``sqlite:///`` store (on its folder): two workers
    creating its tables at once break it ("table _alembic_tmp_latest_metrics already exists")."""
    path = uri[len("sqlite:///"):].split("?")[0] if uri.startswith("sqlite:///") else ""
    folder = os.path.dirname(os.path.abspath(path)) if path and path != ":memory:" else ""
    try:
        import fcntl
    except ImportError:  # not POSIX: no fork server either
        fcntl = None  # type: ignore[assignment]
    if not folder or fcntl is None or not os.path.isdir(folder):
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def setup_mlflow(
    config: Mapping[str, Any] | None = None, tracking_uri: str | None = None, experiment_name: str | None = None, *,
    tags: Mapping[str, str] | None = None, run_name: str | None = None,
) -> Any:
    """Start an MLflow run inside an objective or trainable, as a run of the study; returns the ``mlflow`` module.

    The experiment is ``experiment_name`` (default: the study's name); the run is named
    ``trial-<n>`` and tagged ``tunesmith.study``/``tunesmith.trial``; ``config`` (default:
    the trial's parameters) is logged as its params. A run left active by the trial
    before in this thread is ended first, the last one when the process exits (a worker
    process too). Worker processes may share a new ``sqlite:///`` store: the first to open
    it creates its tables while the others wait. Outside a trial it warns and starts a plain run.

    >>> def train(config):  # doctest: +SKIP
    ...     mlflow = setup_mlflow(config, tracking_uri="sqlite:///mlflow.db")
    ...     mlflow.log_metric("loss", loss, step=epoch)
    """
    mlflow = require("mlflow", "mlflow", "setup_mlflow")
    from tunesmith.integration.trackers._base import flatten, running_trial, study_name_of

    trial = running_trial("setup_mlflow")
    if tracking_uri is not None:
        mlflow.set_tracking_uri(tracking_uri)
    if mlflow.active_run() is not None:
        mlflow.end_run()
    if os.getpid() not in _ends_runs_at_exit:  # the last trial's run, unless it ended it (MLflow's own
        _ends_runs_at_exit.add(os.getpid())    # handler is the driver's, which a forked worker does not run)
        atexit.register(_end_active_run, mlflow)
    uri = mlflow.get_tracking_uri()
    if (os.getpid(), uri) not in _stores_ready:
        with _first_use_lock(uri):  # MLflow creates a SQLite store's tables on first use, racily
            mlflow.MlflowClient().search_experiments(max_results=1)
        _stores_ready.add((os.getpid(), uri))
    all_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    experiment_id = None
    if trial is not None:
        study = study_name_of(trial)
        experiment_id = experiment_named(mlflow.MlflowClient(), experiment_name or study)
        all_tags.update({"tunesmith.study": study, "tunesmith.trial": str(trial.number)})
        run_name = run_name or f"trial-{trial.number}"
        given = dict(config) if config is not None else trial.params
    else:
        if experiment_name is not None:
            experiment_id = experiment_named(mlflow.MlflowClient(), experiment_name)
        given = dict(config or {})
    mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=all_tags)
    params = flatten(given)
    if params:
        mlflow.log_params({k: str(v) for k, v in params.items()})
    return mlflow
