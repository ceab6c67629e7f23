"""Studies: create or load one, then ``ask``/``tell`` or ``optimize``.

>>> import tunesmith
>>> study = tunesmith.create_study(direction="minimize", seed=0)
>>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=100)
>>> abs(study.best_params["x"] - 2) < 0.2
True
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith._process import identity
from tunesmith._study_args import (
    check_study_name,
    directions_and_metrics,
    json_spec,
    make_sampler,
    one_name,
    one_scheduler,
)
from tunesmith._values import objective_values, values_from_metrics
from tunesmith._worker_spec import WorkerSpec
from tunesmith.checkpoints import CheckpointConfig, CheckpointStore, default_artifact_root
from tunesmith.distributions import DerivedDistribution, Distribution
from tunesmith.exceptions import StudyNotFoundError
from tunesmith.history import History
from tunesmith.samplers import Sampler
from tunesmith.schedulers import Decision, Exploit, Scheduler, StudyView, scheduler_from_spec
from tunesmith.schedulers.pbt import clip_into
from tunesmith.space import SearchSpace
from tunesmith.storage import Storage, get_storage
from tunesmith.trial import FrozenTrial, Trial, TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Study", "create_study", "load_study"]

Objective = Callable[[Trial], Any]
Callback = Callable[["Study", FrozenTrial], None]


def create_study(
    name: str | None = None, storage: Storage | str | os.PathLike[str] | None = None, *,
    direction: str | None = None, directions: Sequence[str] | None = None,
    metric: str | Sequence[str] | None = None, mode: str | Sequence[str] | None = None,
    sampler: Sampler | None = None, seed: int | None = None, load_if_exists: bool = False,
    scheduler: Scheduler | None = None, pruner: Scheduler | None = None,
    artifact_dir: str | os.PathLike[str] | None = None, checkpoint_config: CheckpointConfig | None = None,
    study_name: str | None = None,
) -> Study:
    """Create a study (or, with ``load_if_exists``, reopen the one of that name).

    Args:
        name: the study's name (default: a new unique one); ``study_name`` is Optuna's spelling.
        storage: None (in memory), ``"sqlite:///file.db"``, a ``postgresql://`` URL, or a Storage.
        direction / directions: ``"minimize"`` or ``"maximize"`` (one per objective).
        metric / mode: Ray Tune's spelling: the metric name(s) and ``"min"``/``"max"``.
        sampler: a sampler from :mod:`tunesmith.samplers` (default: :class:`AutoSampler`, which
            starts at random (Sobol for several objectives), then runs the GP or TPE by the
            problem and hands over to TPE after the GP's 200 trials, or from TPE to NSGA-II
            for several objectives; random search under population-based training, whose
            trials change their parameters as they train).
        seed: seed for the default sampler; a seeded study reproduces its suggestions.
        scheduler / pruner: decides from intermediate reports whether a trial goes on
            (:mod:`tunesmith.schedulers`; ``pruner`` is Optuna's name for it).
        artifact_dir: where trials' checkpoints go (default: next to a SQLite file,
            else ``./tunesmith_artifacts``); a shared path for workers on several machines.
        checkpoint_config: how many checkpoints each trial keeps (default: all).
    """
    name = one_name(name, study_name)
    dirs, names = directions_and_metrics(direction, directions, metric, mode)
    store = get_storage(storage)
    if name is None:
        name = f"study-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    check_study_name(name)
    sched = one_scheduler(scheduler, pruner)
    chosen = make_sampler(sampler, seed, sched)
    attrs: dict[str, Any] = {
        "sampler": chosen.spec(),
        "artifacts": os.path.abspath(artifact_dir) if artifact_dir is not None else default_artifact_root(store.url),
        "checkpoint_config": (checkpoint_config or CheckpointConfig()).to_json(),
        "key": uuid.uuid4().hex[:12],  # the checkpoint folder's: unique to this study, not to its name
    }
    if sched is not None:
        spec = json_spec(sched)
        if spec is not None:
            attrs["scheduler"] = spec
    record = store.create_study(name, dirs, names, load_if_exists=load_if_exists, attrs=attrs)
    if load_if_exists and (record.directions != dirs and (direction or directions or mode)):
        raise ValueError(
            f"study {name!r} exists with directions {record.directions}, not {dirs}; "
            "use another name or the same directions"
        )
    return Study(record.name, store, chosen, scheduler=sched)


def load_study(
    name: str | None = None, storage: Storage | str | os.PathLike[str] | None = None, *,
    sampler: Sampler | None = None, seed: int | None = None, scheduler: Scheduler | None = None,
    pruner: Scheduler | None = None, study_name: str | None = None,
) -> Study:
    """Open an existing study; raises StudyNotFoundError if there is none of that name.

    ``study_name`` is Optuna's spelling of ``name``. Without ``sampler`` (``scheduler``),
    the study goes on with the sampler (scheduler) it was created with.
    """
    name = one_name(name, study_name)
    if name is None:
        raise TypeError("load_study needs the study's name: load_study('my-study', 'sqlite:///tunesmith.db')")
    if storage is None:
        raise ValueError("load_study needs the storage the study lives in, e.g. 'sqlite:///tunesmith.db'")
    store = get_storage(storage)
    sched = one_scheduler(scheduler, pruner)
    if sampler is None and seed is None:
        spec = store.get_study(name).attrs.get("sampler")
        if spec:
            from tunesmith.samplers import sampler_from_spec

            return Study(name, store, sampler_from_spec(spec), scheduler=sched)
    return Study(name, store, make_sampler(sampler, seed, sched), scheduler=sched)


class Study:
    """A named set of trials in a storage, with the sampler that proposes new ones.

    Use :func:`create_study` or :func:`load_study` rather than this constructor.
    """

    def __init__(
        self, name: str, storage: Storage, sampler: Sampler, space: SearchSpace | None = None,
        scheduler: Scheduler | None = None, *, beside_others: bool = False,
    ) -> None:
        record = storage.get_study(name)
        self.name = record.name
        self.storage = storage
        self.sampler = sampler
        self.directions = record.directions
        self.metric_names = record.metric_names
        self._study_id = record.study_id
        self._known: dict[str, Distribution] = dict(record.distributions)
        self._stored: set[str] = set(record.distributions)  # names the storage has registered
        self._history = History(lambda v: storage.get_trials(self._study_id, v), self.directions)
        self._materialized: dict[int, tuple[FrozenTrial, FrozenTrial]] = {}
        self._space = space
        self._stop_requested = False
        self._beside_others = beside_others  # one of several workers on this study: see ask()
        if scheduler is None and record.attrs.get("scheduler"):
            scheduler = scheduler_from_spec(record.attrs["scheduler"])
        self.scheduler = scheduler
        if scheduler is not None:
            scheduler.bind(self.metric_names, self.directions)
        ckpt = record.attrs.get("checkpoint_config") or {}
        self.checkpoints = CheckpointStore(
            record.attrs.get("artifacts") or default_artifact_root(storage.url), self.name, CheckpointConfig(**ckpt),
            key=record.attrs.get("key"),
        )
        self._view: StudyView | None = None
        if scheduler is not None:
            self.report_view()
        #: continuation trials (PBT) this process queued and has not started yet
        self._continuations = 0

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, directions={self.directions}, storage={self.storage!r})"

    def _repr_html_(self) -> str:
        """A notebook's view: counts, the best trial and a small history plot (with plotly)."""
        from tunesmith.reporting._html import study_html

        return study_html(self)

    def worker_spec(self, storage: str | Storage | None = None, *, beside_others: bool = False) -> WorkerSpec:
        """How a worker process, Ray task or other machine reopens this study (``storage``: its URL by default)."""
        where = storage if storage is not None else self.storage.url
        if where is None:
            raise ValueError(f"study {self.name!r} is in memory: workers elsewhere need a storage URL")
        return WorkerSpec(where, self.name, self.sampler, self._space, self.scheduler, beside_others)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a Study is not sent to workers; they reopen it from its storage URL")

    # -- properties -------------------------------------------------------------------
    @property
    def direction(self) -> str:
        if len(self.directions) != 1:
            raise RuntimeError("this study has several objectives; use .directions")
        return self.directions[0]

    @property
    def space(self) -> SearchSpace | None:
        """The dict-style search space, when the study runs a config (``tunesmith.run``)."""
        return self._space

    def set_space(self, space: SearchSpace | Mapping[str, Any] | None) -> None:
        """Use a dict-style config: each trial gets every parameter of it at ``ask`` time."""
        self._space = space if space is None or isinstance(space, SearchSpace) else SearchSpace(space)

    @property
    def trials(self) -> list[FrozenTrial]:
        """All trials, by number."""
        return self.get_trials()

    def get_trials(self, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        """Trials (by number), optionally only those in ``states``."""
        self._history.mark_stale()
        raw = self._history.trials
        wanted = None if states is None else set(states)
        out = [self._materialize(t) for t in raw if wanted is None or t.state in wanted]
        out.sort(key=lambda t: t.number)
        return out

    @property
    def best_trial(self) -> FrozenTrial:
        """The COMPLETE trial with the best value (single-objective studies)."""
        if len(self.directions) != 1:
            raise RuntimeError("best_trial is for single-objective studies; this one has several objectives")
        raw = self.storage.best_trial(self._study_id, self.directions[0] == "maximize")
        if raw is None:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        return self._materialize(raw)

    @property
    def best_params(self) -> dict[str, Any]:
        return self.best_trial.params

    @property
    def best_value(self) -> float:
        value = self.best_trial.value
        assert value is not None  # COMPLETE trials always carry values
        return value

    def pareto_front(self) -> list[FrozenTrial]:
        """The COMPLETE trials that no other trial beats on every objective (``best_trials``)."""
        from tunesmith.multi_objective import pareto_front

        return pareto_front(self.trials, self.directions)

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """Optuna's name for :meth:`pareto_front`."""
        return self.pareto_front()

    def count(self) -> dict[TrialState, int]:
        """Number of trials in each state."""
        return self.storage.count_trials(self._study_id)

    # -- ask / tell -------------------------------------------------------------------
    def ask(self) -> Trial:
        """Start a trial: the next enqueued one, or a new one with the sampler's proposal."""
        raw = self.storage.start_trial(self._study_id, owner=identity())
        self._history.mark_stale()
        rng = self.sampler.rng_for(raw.number)
        space = self._space.distributions if self._space is not None else self._known
        fixed = dict(raw.system_attrs.get("fixed_params") or {})
        if raw.internal_params:  # a retried trial runs again with the parameters it had
            fixed.update(self._materialize(raw).params)
        # An enqueued or retried trial that fixes every known parameter needs no proposal
        # (a GP would otherwise refit for each such trial only to have its point replaced).
        proposal = {} if fixed and fixed.keys() >= space.keys() else self.sampler.suggest(
            space, self._history, raw.number, rng)
        if fixed:
            proposal = {**proposal, **fixed}
        trial = Trial(self, raw, proposal, rng)
        # A sampler that hedges against running trials (constant liar) needs their parameters
        # stored as soon as they are drawn, not when the trial ends, once others run beside it.
        # A worker among several stores them always: a trial asked while nothing runs is
        # the one another worker's liar needs next. One worker alone stores them at the end,
        # saving a write per parameter (10 float parameters on SQLite: 6.5 against 10.1 ms
        # per trial with TPE).
        trial._eager = self.sampler.hedges_running and (
            self._beside_others or self._history.others_running(raw.number))
        if self._space is not None:
            self._fill_from_space(trial, self._space, fixed or {}, rng)
        return trial

    def _fill_from_space(self, trial: Trial, space: SearchSpace, fixed: Mapping[str, Any], rng: Any) -> None:
        for name, dist in space.distributions.items():
            trial.suggest(name, dist)
        derived = space.resolve(trial._params, rng)
        for name, value in derived.items():
            trial._set_param(name, _DERIVED, fixed.get(name, value))
        self._flush(trial)  # so a lost worker's trial can be retried with the same config

    def tell(
        self, trial: Trial | int, values: Any = None, *, state: TrialState | None = None,
        error: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial with its value(s), or with a state (PRUNED, FAILED) and an error text.

        ``values`` may be a number, a sequence (one per objective), or a dict of
        metrics from which the study's metric names are taken.
        """
        if isinstance(trial, int):
            raise TypeError("tell() needs the Trial object returned by ask()")
        vals: list[float] | None = None
        if values is not None:
            try:
                vals = objective_values(values, self.metric_names, len(self.directions))
            except (TypeError, ValueError) as e:
                if state not in (None, TrialState.COMPLETE):
                    raise
                state, error = TrialState.FAILED, f"invalid objective value: {e}"
        if vals is None and not self.directions and state in (None, TrialState.COMPLETE):
            vals = []  # a study without objectives (tunesmith.run without metric=)
        if state is None:
            if vals is None:
                state, error = TrialState.FAILED, error or "the objective returned no value"
            elif any(math.isnan(v) for v in vals):
                state, error = TrialState.FAILED, f"the objective returned NaN: {vals}"
            else:
                state = TrialState.COMPLETE
        elif state == TrialState.COMPLETE and vals is None:
            raise ValueError("a COMPLETE trial needs values")
        if state in (TrialState.PRUNED, TrialState.PAUSED) and vals is None and trial.last_result:
            vals = values_from_metrics(trial.last_result, self.metric_names, strict=False)
        params, dists = self._unflushed(trial)
        raw = self.storage.finish_trial(
            self._study_id, trial._trial_id, TrialState(state), vals, error, params, dists,
            None if params is None else trial.user_attrs, attempt=trial._attempt,
        )
        self._stored.update(dists)
        trial._unflushed.clear()
        self._history.ingest([raw])
        return self._materialize(raw)

    def enqueue(self, params: Mapping[str, Any]) -> int:
        """Queue a trial with fixed parameters (a warm start); returns its number.

        Parameters not given are suggested as usual when the trial runs.
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"enqueue needs a dict of parameters, got {type(params).__name__}")
        for name, value in params.items():
            dist = self._known.get(name) or (self._space.distributions.get(name) if self._space else None)
            if dist is not None and not dist.contains(value):
                raise ValueError(f"enqueue: parameter {name!r}: {value!r} is outside {dist}")
        from tunesmith.storage._base import dumps, loads

        return self.storage.enqueue_trial(self._study_id, loads(dumps(dict(params))))

    def stop(self) -> None:
        """Ask a running ``optimize`` to start no new trial (call it from a callback)."""
        self._stop_requested = True

    # -- optimize ---------------------------------------------------------------------
    def optimize(
        self, objective: Objective, n_trials: int | None = None, timeout: float | None = None, *,
        n_workers: int | None = None, callbacks: Sequence[Callback] | None = None,
        catch: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
        max_failures: int | None = None, reporter: Any = None, show_progress_bar: bool = False,
        max_retries: int = 0, trial_timeout: float | None = None, heartbeat_interval: float | None = 10.0,
        heartbeat_grace: float = 60.0, memory_limit: int | None = None,
        resources_per_trial: Mapping[str, float] | None = None, worker_env: Mapping[str, str] | None = None,
        executor: str = "local", ray_address: str | None = None, start_method: str | None = None,
    ) -> None:
        """Run ``objective`` on new trials until ``n_trials`` ran or ``timeout`` seconds passed.

        Args:
            n_workers: worker processes (default 1: this process). Processes need a
                storage they can share (SQLite file or PostgreSQL). With Ray, the
                default is as many workers as the cluster's resources fit.
            callbacks: called as ``callback(study, frozen_trial)`` after each finished trial.
            catch: exceptions from the objective that mark the trial FAILED and go on;
                others stop the study and are raised (the trial is still recorded).
            max_failures: stop with an error once this many trials failed.
            reporter: a :class:`~tunesmith.reporting.ConsoleReporter` (None: silent).
            show_progress_bar: Optuna's spelling for a default ConsoleReporter.
            max_retries: times a trial whose worker was lost (killed, crashed, no
                heartbeat) runs again with the same parameters before it is FAILED.
            trial_timeout: seconds a trial may run; past it, its worker process (Ray
                task) is stopped and the trial FAILED (uses a worker process even for one worker).
            heartbeat_interval / heartbeat_grace: a running trial's worker renews its
                lease every ``heartbeat_interval`` s (SQL storages); a trial with no
                renewal for ``heartbeat_grace`` s is taken back by any worker.
            memory_limit: bytes of address space each worker process may use; a trial
                that needs more fails with MemoryError (uses worker processes).
            resources_per_trial: ``{"cpu": c, "gpu": g, "memory": bytes}`` per trial:
                each worker process gets its own GPUs (``CUDA_VISIBLE_DEVICES``; fractions
                share a GPU) and thread count; ``n_workers`` must fit the machine.
            worker_env: extra environment variables for every worker process.
            executor: ``"local"`` (this machine) or ``"ray"`` (Ray tasks on a new local
                Ray runtime, or on the cluster at ``ray_address``: ``"auto"`` joins the one
                started with ``ray start`` on this machine; ``RAY_ADDRESS`` is honoured).
            start_method: how local worker processes start: ``"fork"`` (from a fork
                server holding this process's imports: milliseconds), ``"spawn"`` (a
                fresh interpreter: re-imports everything), or ``"auto"`` (default, or
                ``TUNESMITH_START_METHOD``): fork on Linux unless CUDA is already
                initialised here or TensorFlow/JAX is imported.
        """
        from tunesmith.execution import LoopSettings, run_worker_loops

        if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 0):
            raise ValueError(f"n_trials must be a non-negative integer or None, got {n_trials!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive seconds or None, got {timeout!r}")
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
        if executor not in ("local", "ray"):
            raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
        if start_method is not None:
            from tunesmith.execution._zygote import resolve_start_method

            resolve_start_method(start_method)  # a clear error before anything runs
        if max_failures is not None and max_failures < 1:
            raise ValueError(f"max_failures must be >= 1 or None, got {max_failures!r}")
        if reporter is None and show_progress_bar:
            from tunesmith.reporting import ConsoleReporter

            reporter = ConsoleReporter()
        if n_trials is None and timeout is None:
            n_trials = self._remaining_for_sampler()
        self._history.mark_stale()
        planned = None if n_trials is None else len(self._history.states) + n_trials
        self.sampler.plan(planned, n_workers if executor == "ray" else n_workers or 1)
        self._stop_requested = False
        from tunesmith.execution.resources import Resources, worker_envs

        resources = Resources.from_dict(resources_per_trial)
        envs = None
        if executor == "local":
            n_local = n_workers or 1
            if resources_per_trial is not None and (n_local > 1 or resources.gpu > 0):
                envs = worker_envs(resources, n_local)  # one CPU-only worker can stay in this process
            if worker_env:
                envs = [{**env, **worker_env} for env in (envs or [{} for _ in range(n_local)])]
            memory_limit = memory_limit if memory_limit is not None else resources.memory
        settings = LoopSettings(
            catch=catch if isinstance(catch, tuple) else (catch,), max_failures=max_failures,
            heartbeat_interval=heartbeat_interval, heartbeat_grace=heartbeat_grace, max_retries=max_retries,
            trial_timeout=trial_timeout, memory_limit=memory_limit,
        )
        run_worker_loops(
            self, objective, n_trials=n_trials, timeout=timeout, n_workers=n_workers,
            callbacks=list(callbacks or []), settings=settings, reporter=reporter, worker_envs=envs,
            executor=executor, resources=resources, ray_address=ray_address, start_method=start_method,
        )

    def _remaining_for_sampler(self) -> int | None:
        """Trials left until an exhaustible sampler (a grid) is done, queued trials included."""
        space = self._space.distributions if self._space is not None else self._known
        total = self.sampler.max_trials(space)
        if total is None:
            return None
        self._history.mark_stale()
        trials = self._history.trials
        enqueued = self._history.n_enqueued_before(max((t.number for t in trials), default=-1) + 1)
        waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
        return max(0, total - (len(trials) - enqueued)) + waiting

    # -- export -----------------------------------------------------------------------
    def dataframe(self) -> pd.DataFrame:
        """One row per trial: number, state, values, params_*, timings, last reported metrics."""
        import pandas as pd

        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number, "state": t.state.name}
            for i, name in enumerate(self.metric_names):
                row[name] = t.values[i] if t.values and i < len(t.values) else None
            row.update({f"params_{k}": v for k, v in t.params.items()})
            row.update({f"last_{k}": v for k, v in t.last_result.items()})
            row.update({
                "datetime_start": t.datetime_start, "datetime_complete": t.datetime_complete,
                "duration": t.duration, "error": t.error,
            })
            rows.append(row)
        return pd.DataFrame(rows)

    # -- internals used by Trial ------------------------------------------------------
    def _register(self, name: str, dist: Distribution) -> None:
        known = self._known.get(name)
        if known is None:
            dist.validate(name)
            self._known[name] = dist
        elif known != dist and known.to_json() != dist.to_json():
            raise ValueError(
                f"parameter {name!r} is already defined in study {self.name!r} as {known}; "
                f"it cannot be redefined as {dist}"
            )

    def _unflushed(self, trial: Trial) -> tuple[dict[str, Any] | None, dict[str, Distribution]]:
        """The trial's full internal params if anything changed since the last write."""
        if not trial._unflushed and not trial.user_attrs:
            return None, {}
        params = {n: trial._dists[n].to_internal(v) for n, v in trial._params.items()}
        dists = {n: trial._dists[n] for n in trial._unflushed if n not in self._stored}
        return params, dists

    def _flush(self, trial: Trial) -> None:
        if trial._unflushed:
            params, dists = self._unflushed(trial)
            self.storage.update_trial(
                self._study_id, trial._trial_id, params, dists, trial.user_attrs, attempt=trial._attempt,
            )
            self._stored.update(dists)
            trial._unflushed.clear()

    def _report(self, trial: Trial, step: int, metrics: Mapping[str, Any]) -> None:
        self._flush(trial)
        self.storage.append_report(self._study_id, trial._trial_id, step, metrics, attempt=trial._attempt)
        trial._checkpoint_reported(metrics)
        if self.scheduler is None:
            return
        decision = self.scheduler.on_report(self.report_view(), trial._trial_id, step, metrics)
        if decision is Decision.CONTINUE:
            return
        if isinstance(decision, Exploit):
            self._continue_as(trial, decision)
            decision = Decision.STOP
        trial._stop = True
        trial._end_state = _END_STATES[decision]

    def _resume_promotable(self, final: bool = False) -> bool:
        """Resume (re-queue) one PAUSED trial the scheduler promotes; True if this process did."""
        if self.scheduler is None or not self.scheduler.pauses:
            return False
        for trial_id in self.scheduler.promotable(self.report_view(), final):
            if self.storage.resume_trial(self._study_id, trial_id):
                return True
        return False

    def _promotions_pending(self) -> bool:
        """PAUSED trials wait while others run: one of those may make them promotable."""
        if self.scheduler is None or not self.scheduler.pauses:
            return False
        counts = self.storage.count_trials(self._study_id)
        return counts.get(TrialState.PAUSED, 0) > 0 and counts.get(TrialState.RUNNING, 0) > 0

    def report_view(self) -> StudyView:
        """The study's reports as the scheduler sees them (also read by BOHB's sampler)."""
        if self._view is None:
            self._view = StudyView(
                self.storage, self._study_id, self._history, self.checkpoints, self._materialize, self.scheduler,
            )
            self._history.report_view = self._view
        return self._view

    def _continue_as(self, trial: Trial, exploit: Exploit) -> None:
        """Queue the trial that continues ``trial``'s line from ``exploit``'s checkpoint."""
        from tunesmith.storage._base import dumps, loads

        restore: dict[str, Any] = {"path": exploit.checkpoint, "step": exploit.step, "trial": exploit.source}
        attrs = {"restore": restore, "continues": trial.number}
        if exploit.result:  # finite numbers and strings only: system attributes are plain JSON
            restore["result"] = {
                k: v for k, v in exploit.result.items()
                if isinstance(v, (str, bool, int)) or (isinstance(v, float) and math.isfinite(v))
            }
        params = {}
        for name, value in exploit.params.items():
            dist = self._known.get(name)
            if isinstance(dist, DerivedDistribution):
                continue  # resolved again from the others
            if dist is not None and not dist.contains(value):
                value = clip_into(name, dist, value)
            params[name] = value
        self.storage.enqueue_trial(self._study_id, loads(dumps(params)), attrs)
        self._continuations += 1

    def _materialize(self, raw: FrozenTrial) -> FrozenTrial:
        cached = self._materialized.get(raw.trial_id)
        if cached is not None and cached[0] is raw:
            return cached[1]
        params: dict[str, Any] = {}
        dists: dict[str, Distribution] = {}
        for name, internal in raw.internal_params.items():
            dist = self._known.get(name) or self._reload_distribution(name)
            if dist is None:
                params[name] = internal
                continue
            params[name] = dist.to_external(internal)
            dists[name] = dist
        out = raw.evolve(params=params, distributions=dists)
        self._materialized[raw.trial_id] = (raw, out)
        return out

    def _reload_distribution(self, name: str) -> Distribution | None:
        try:
            record = self.storage.get_study(self.name)
        except StudyNotFoundError:
            return None
        for n, d in record.distributions.items():
            self._known.setdefault(n, d)
            self._stored.add(n)
        return self._known.get(name)


_DERIVED = DerivedDistribution()
_END_STATES = {
    Decision.STOP: TrialState.PRUNED, Decision.FINISH: TrialState.COMPLETE, Decision.PAUSE: TrialState.PAUSED,
}
