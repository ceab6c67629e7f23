"""Studies: create or load one, then ``ask``/``tell`` or ``optimize``.

>>> import tunesmith
>>> study = tunesmith.create_study(direction="minimize", seed=0)
>>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=100)
>>> abs(study.best_params["x"] - 2) < 0.2
True
"""

from __future__ import annotations

import copy
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith._json import dumps, loads
from tunesmith._process import identity
from tunesmith._registry import ParamRegistry
from tunesmith._study_args import (
    check_study_name,
    directions_and_metrics,
    json_spec,
    make_sampler,
    one_name,
    one_scheduler,
)
from tunesmith._study_compat import OptunaStudyNames, TrialLog
from tunesmith._supervisor import Supervisor
from tunesmith._trial_writer import StudyTrialWriter
from tunesmith._values import outcome
from tunesmith._worker_spec import WorkerSpec
from tunesmith.callbacks import MaxTrialsCallback
from tunesmith.checkpoints import CheckpointConfig, CheckpointStore, default_artifact_root
from tunesmith.distributions import Distribution
from tunesmith.execution.executors import ExecutorOptions, LocalExecutor, RayExecutor
from tunesmith.history import History, ReportLog
from tunesmith.multi_objective import best_feasible, is_feasible
from tunesmith.record import ENQUEUED_USER_ATTRS, FrozenTrial, StudyDirection, StudySettings, TrialState
from tunesmith.samplers import Sampler
from tunesmith.schedulers import Scheduler, scheduler_from_spec
from tunesmith.space import SearchSpace
from tunesmith.storage import Storage, get_storage
from tunesmith.tracking import Logger, check_loggers, feed, split_callbacks
from tunesmith.trial import Trial

if TYPE_CHECKING:
    import pandas as pd
    from typing_extensions import Unpack

    from tunesmith.reporting._protocol import Reporter

__all__ = ["MaxTrialsCallback", "Study", "StudyDirection", "create_study", "load_study"]

_log = logging.getLogger("tunesmith")

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
    settings = StudySettings(
        sampler=chosen.spec(), scheduler=None if sched is None else json_spec(sched),
        artifacts=os.path.abspath(artifact_dir) if artifact_dir is not None else default_artifact_root(store.url),
        checkpoint_config=(checkpoint_config or CheckpointConfig()).to_json(),
        key=uuid.uuid4().hex[:12],  # the checkpoint folder's: unique to this study, not to its name
    )
    record = store.create_study(name, dirs, names, load_if_exists=load_if_exists, attrs=settings.to_json())
    if _log.isEnabledFor(logging.INFO):
        if record.attrs.get("key") == settings.key:
            _log.info("A new study created in %s with name: %s", "memory" if store.url is None else "RDB", record.name)
        else:
            _log.info("Using an existing study with name '%s' instead of creating a new one.", record.name)
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
        spec = store.get_study(name).settings.sampler
        if spec:
            from tunesmith.samplers import sampler_from_spec

            return Study(name, store, sampler_from_spec(spec), scheduler=sched)
    return Study(name, store, make_sampler(sampler, seed, sched), scheduler=sched)


class Study(OptunaStudyNames):
    """A named set of trials in a storage, with the sampler that proposes new ones.

    Use :func:`create_study` or :func:`load_study` rather than this constructor.
    """

    def __init__(
        self, name: str, storage: Storage, sampler: Sampler, space: SearchSpace | None = None,
        scheduler: Scheduler | None = None, *, beside_others: bool = False,
    ) -> None:
        record = storage.get_study(name)
        settings = record.settings
        self.name = record.name
        self.storage = storage
        self.sampler = sampler
        self.directions = record.directions
        self.metric_names = record.metric_names
        self._study_id = record.study_id
        self._params = ParamRegistry(storage, self.name, record.distributions)
        self._history = History(lambda v: storage.get_trials(self._study_id, v), self.directions)
        self._space = space
        self._stop_requested = False
        self._asked: dict[int, Trial] = {}  # number -> trial asked here and not told yet (tell by number)
        self._steps: dict[int, dict[int, float]] = {}  # trial_id -> {step: objective value} (intermediate_values)
        self._steps_cursor = 0  # the last report id read into _steps
        self._beside_others = beside_others  # one of several workers on this study: see ask()
        if scheduler is None and settings.scheduler:
            scheduler = scheduler_from_spec(settings.scheduler)
        self.scheduler = scheduler
        if scheduler is not None:
            scheduler.bind(self.metric_names, self.directions)
        self.checkpoints = CheckpointStore(
            settings.artifacts or default_artifact_root(storage.url), self.name,
            CheckpointConfig(**settings.checkpoint_config), key=settings.key,
        )
        #: carries out the scheduler's decisions (promotions, PBT's continuations)
        self.supervisor = Supervisor(
            scheduler, storage, self._study_id, self._history, self.checkpoints, self._params.materialize, sampler,
        )
        self._writer = StudyTrialWriter(
            storage, self._study_id, self.metric_names, self._params, sampler, self._history, self.checkpoints,
            self.supervisor,
        )

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
    def study_id(self) -> int:
        """The storage's id of the study."""
        return self._study_id

    @property
    def history(self) -> History:
        """The trials as the samplers see them: columns synced incrementally from the storage."""
        return self._history

    @property
    def distributions(self) -> dict[str, Distribution]:
        """Every parameter defined so far (in this process or stored), by name."""
        return dict(self._params.known)

    @property
    def user_attrs(self) -> dict[str, Any]:
        """The study's user attributes, as stored now (a copy: change them with :meth:`set_user_attr`)."""
        return self.storage.get_study(self.name).user_attrs

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-safe) as the study's user attribute ``key``; the other attributes stay.

        >>> import tunesmith
        >>> study = tunesmith.create_study()
        >>> study.set_user_attr("notes", "first try")
        >>> study.user_attrs
        {'notes': 'first try'}
        """
        self.storage.set_study_user_attr(self._study_id, key, value)

    @property
    def direction(self) -> str:
        """``"minimize"`` or ``"maximize"`` (equal to Optuna's ``StudyDirection.MINIMIZE``/``MAXIMIZE``)."""
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
        """All trials, by number (the records are shared: read them, or copy before changing one)."""
        return self.get_trials()

    def get_trials(self, deepcopy: bool = False, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        """Trials (by number), optionally only those in ``states``; ``deepcopy`` gives copies you may change."""
        self._history.mark_stale()
        raw = self._history.trials
        wanted = None if states is None else set(states)
        out = [self._params.materialize(t) for t in raw if wanted is None or t.state in wanted]
        out.sort(key=lambda t: t.number)
        self._fill_intermediate(out)
        return copy.deepcopy(out) if deepcopy else out

    def _fill_intermediate(self, trials: list[FrozenTrial]) -> None:
        """Set each trial's ``intermediate_values`` from the reports (read incrementally, once per call)."""
        new = self.storage.get_study_reports(self._study_id, self._steps_cursor)
        if new:
            key = self.metric_names[0] if self.metric_names else None  # None: only a lone reported value counts
            for r in new:
                v = None if key is None else r.metrics.get(key)
                if v is None and len(r.metrics) == 1:
                    v = next(iter(r.metrics.values()))
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    self._steps.setdefault(r.trial_id, {})[r.step] = float(v)
            self._steps_cursor = new[-1].report_id
        for t in trials:
            t.intermediate = self._steps.get(t.trial_id)

    @property
    def best_trial(self) -> FrozenTrial:
        """The COMPLETE trial with the best value (single-objective studies), among the feasible ones
        when constraint values are stored (a sampler's ``constraints_func``)."""
        if len(self.directions) != 1:
            raise RuntimeError("best_trial is for single-objective studies; this one has several objectives")
        maximize = self.directions[0] == "maximize"
        raw = self.storage.best_trial(self._study_id, maximize)
        if raw is None:
            raise ValueError(f"study {self.name!r} has no completed trial yet")
        if not is_feasible(raw):  # the best value breaks a constraint: the best of the feasible trials
            self._history.mark_stale()
            raw = best_feasible(self._history.trials, maximize)
            if raw is None:
                raise ValueError(f"study {self.name!r} has no feasible completed trial yet (each breaks a constraint)")
        best = self._params.materialize(raw)
        self._fill_intermediate([best])
        return best

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

    def report_view(self) -> ReportLog:
        """The study's intermediate reports, as its scheduler folds them."""
        return self.supervisor.reports

    def record_changed(self, raw: Iterable[FrozenTrial]) -> list[FrozenTrial]:
        """Take in trials another process (or a storage-side change) wrote; returns them as the objective saw them."""
        changed = list(raw)
        self._history.ingest(changed)
        return [self._params.materialize(t) for t in changed]

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, fixed_distributions: Mapping[str, Distribution] | None = None) -> Trial:
        """Start a trial: the next enqueued one, or a new one with the sampler's proposal.

        ``fixed_distributions`` (Optuna's): parameters suggested (and stored) at once, as
        if the objective had called ``trial.suggest(name, distribution)`` for each.
        """
        raw = self.storage.start_trial(self._study_id, owner=identity())
        self._history.mark_stale()
        rng = self.sampler.rng_for(raw.number)
        space = self._space.distributions if self._space is not None else self._params.known
        fixed = raw.fixed_params or {}
        if raw.internal_params:  # a retried trial runs again with the parameters it had
            fixed.update(self._params.materialize(raw).params)
        # An enqueued or retried trial that fixes every known parameter needs no proposal
        # (a GP would otherwise refit for each such trial only to have its point replaced).
        proposal = {} if fixed and fixed.keys() >= space.keys() else self.sampler.suggest(
            space, self._history, raw.number, rng)
        if fixed:
            proposal = {**proposal, **fixed}
        # A sampler that hedges against running trials (constant liar) needs their parameters
        # stored as soon as they are drawn, not when the trial ends, once others run beside it.
        # A worker among several stores them always: a trial asked while nothing runs is
        # the one another worker's liar needs next. One worker alone stores them at the end,
        # saving a write per parameter (10 float parameters on SQLite: 6.5 against 10.1 ms
        # per trial with TPE).
        eager = self.sampler.hedges_running and (self._beside_others or self._history.others_running(raw.number))
        trial = Trial(self._writer, raw, proposal, rng, eager=eager, study=self)
        if self._space is not None:
            trial.suggest_space(self._space, fixed)
        if fixed_distributions:
            for name, dist in fixed_distributions.items():
                trial.suggest(name, dist)
            trial.store()  # so that another process can tell it by number
        self._asked[trial.number] = trial
        return trial

    def tell(
        self, trial: Trial | int, values: Any = None, *, state: TrialState | None = None,
        error: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial with its value(s), or with a state (PRUNED, FAILED) and an error text.

        ``values`` may be a number, a sequence (one per objective), or a dict of
        metrics from which the study's metric names are taken. ``trial`` may be the
        trial's number (Optuna's spelling), also of a trial asked in another process.
        """
        if not isinstance(trial, Trial):
            trial = self._running_trial(trial)
        self._asked.pop(trial.number, None)
        state, vals, error = outcome(values, state, error, self.metric_names, len(self.directions), trial.last_result)
        return self._params.materialize(self._writer.finish(trial, state, vals, error))

    def _running_trial(self, number: Any) -> Trial:
        """The live trial of a number given to ``tell``: asked here, or rebuilt from the record."""
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"tell() takes a Trial or a trial number, got {number!r}")
        asked = self._asked.get(number)
        if asked is not None:
            return asked
        found = [t for t in self.get_trials() if t.number == number]
        if not found:
            raise ValueError(f"study {self.name!r} has no trial number {number}")
        raw = found[0]
        if raw.state.is_finished():
            raise ValueError(f"trial {number} is already {raw.state.name}: a finished trial is not told again")
        return Trial(self._writer, raw, raw.params, self.sampler.rng_for(number), study=self)

    def enqueue(self, params: Mapping[str, Any], user_attrs: Mapping[str, Any] | None = None) -> int:
        """Queue a trial with fixed parameters (a warm start); returns its number.

        Parameters not given are suggested as usual when the trial runs; ``user_attrs``
        are the trial's user attributes from its start.
        """
        if not isinstance(params, Mapping):
            raise TypeError(f"enqueue needs a dict of parameters, got {type(params).__name__}")
        for name, value in params.items():
            dist = self._params.get(name) or (self._space.distributions.get(name) if self._space else None)
            if dist is not None and not dist.contains(value):
                raise ValueError(f"enqueue: parameter {name!r}: {value!r} is outside {dist}")
        extra = None if not user_attrs else {ENQUEUED_USER_ATTRS: loads(dumps(dict(user_attrs)))}
        return self.storage.enqueue_trial(self._study_id, loads(dumps(dict(params))), extra)

    def stop(self) -> None:
        """Ask a running ``optimize`` to start no new trial (call it from a callback)."""
        self._stop_requested = True

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called during the current ``optimize``."""
        return self._stop_requested

    # -- optimize ---------------------------------------------------------------------
    def optimize(
        self, objective: Objective, n_trials: int | None = None, timeout: float | None = None, *,
        n_workers: int | None = None, callbacks: Sequence[Callback] | None = None,
        catch: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
        max_failures: int | None = None, reporter: Reporter | None = None,
        executor: str | LocalExecutor | RayExecutor = "local", show_progress_bar: bool = False,
        loggers: Sequence[Logger] | None = None, **options: Unpack[ExecutorOptions],
    ) -> None:
        """Run ``objective`` on new trials until ``n_trials`` ran or ``timeout`` seconds passed.

        Args:
            n_workers: parallel workers (default 1: this process). Local worker processes
                need a storage they can share (SQLite file or PostgreSQL). With Ray, the
                default is as many workers as the cluster's resources fit.
            callbacks: called as ``callback(study, frozen_trial)`` after each finished trial
                (a :class:`~tunesmith.tracking.Logger` among them is taken as one of ``loggers``).
            loggers: experiment trackers fed from the study's record (:mod:`tunesmith.tracking`):
                each trial's parameters, reports, final values and state, whichever executor runs it.
            catch: exceptions from the objective that mark the trial FAILED and go on;
                others stop the study and are raised (the trial is still recorded).
            max_failures: stop with an error once this many trials failed.
            reporter: a :class:`~tunesmith.reporting.ConsoleReporter` (None: silent);
                ``show_progress_bar=True`` is Optuna's spelling of a default one.
            executor: where trials run and with what limits: ``"local"``, ``"ray"``, or a
                :class:`~tunesmith.execution.LocalExecutor` / :class:`~tunesmith.execution.RayExecutor`.
            options: the executor's fields as keywords: ``max_retries``, ``trial_timeout``,
                ``heartbeat_interval``, ``heartbeat_grace``, ``resources_per_trial``,
                ``memory_limit``, ``worker_env``, ``start_method`` (local) and ``ray_address``
                (Ray); see the executor classes for each.
        """
        from tunesmith.execution import optimize
        from tunesmith.execution.executors import with_options

        chosen = with_options(executor, {**self.storage.run_defaults, **options})
        if reporter is None and show_progress_bar:
            from tunesmith.reporting import ConsoleReporter

            reporter = ConsoleReporter()
        if n_trials is None and timeout is None:
            n_trials = self._remaining_for_sampler()
        self._stop_requested = False
        callbacks, more_loggers = split_callbacks(callbacks)
        # Optuna's log line per trial (failures always; the rest when no console reporter shows them)
        callbacks = [TrialLog(finished=reporter is None), *callbacks]
        reporter = feed([*check_loggers(loggers), *more_loggers], reporter)
        optimize(self, objective, n_trials, timeout, n_workers=n_workers, callbacks=callbacks, catch=catch,
                 max_failures=max_failures, reporter=reporter, executor=chosen)

    def _remaining_for_sampler(self) -> int | None:
        """Trials left until an exhaustible sampler (a grid) is done, queued trials included."""
        space = self._space.distributions if self._space is not None else self._params.known
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
        """One row per trial (needs pandas), Optuna's ``trials_dataframe()`` columns and more.

        ``number``, ``value`` (``values_<i>`` with several objectives), ``datetime_start``,
        ``datetime_complete``, ``duration`` (a timedelta), ``params_<name>``,
        ``user_attrs_<key>``, ``state``; each objective also under its name (``loss``);
        then ``last_step``, ``last_<metric>`` (the last reported metrics) and ``error``.
        The same table as ``tunesmith export`` (:func:`tunesmith.analysis.trials_dataframe`).
        """
        from tunesmith.analysis import trials_dataframe

        return trials_dataframe(self.trials, self.metric_names, style="optuna")

