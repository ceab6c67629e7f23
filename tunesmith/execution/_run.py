"""``Study.optimize``: the run's settings checked, the executor chosen, the worker loops run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tunesmith.execution._driver import TicketOffice
from tunesmith.execution._loop import LoopSettings, worker_loop
from tunesmith.execution._recovery import recover_lost_trials, running_trials
from tunesmith.execution._zygote import Zygote, resolve_start_method
from tunesmith.execution.executors import LocalExecutor, RayExecutor
from tunesmith.execution.resources import Resources, worker_envs
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.reporting._protocol import Reporter
    from tunesmith.study import Callback, Objective, Study


def optimize(
    study: Study, objective: Objective, n_trials: int | None, timeout: float | None, *, n_workers: int | None,
    callbacks: Sequence[Callback] | None, catch: type[BaseException] | tuple[type[BaseException], ...],
    max_failures: int | None, reporter: Reporter | None, executor: LocalExecutor | RayExecutor,
) -> None:
    """Check the run's arguments (before anything runs), then run ``objective`` (see ``Study.optimize``)."""
    if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 0):
        raise ValueError(f"n_trials must be a non-negative integer or None, got {n_trials!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be positive seconds or None, got {timeout!r}")
    if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
    local = isinstance(executor, LocalExecutor)
    if isinstance(executor, LocalExecutor) and executor.start_method is not None:
        resolve_start_method(executor.start_method)  # a clear error before anything runs
    if max_failures is not None and max_failures < 1:
        raise ValueError(f"max_failures must be >= 1 or None, got {max_failures!r}")
    study.history.mark_stale()
    planned = None if n_trials is None else len(study.history) + n_trials
    study.sampler.plan(planned, n_workers if not local else n_workers or 1)
    resources = Resources.from_dict(executor.resources_per_trial)
    envs = None
    memory_limit = None
    if isinstance(executor, LocalExecutor):
        n_local = n_workers or 1
        if executor.resources_per_trial is not None and (n_local > 1 or resources.gpu > 0):
            envs = worker_envs(resources, n_local)  # one CPU-only worker can stay in this process
        if executor.worker_env:
            envs = [{**env, **executor.worker_env} for env in (envs or [{} for _ in range(n_local)])]
        memory_limit = executor.memory_limit if executor.memory_limit is not None else resources.memory
    settings = LoopSettings(
        catch=catch if isinstance(catch, tuple) else (catch,), max_failures=max_failures,
        heartbeat_interval=executor.heartbeat_interval, heartbeat_grace=executor.heartbeat_grace,
        max_retries=executor.max_retries, trial_timeout=executor.trial_timeout, memory_limit=memory_limit,
    )
    run_worker_loops(
        study, objective, n_trials=n_trials, timeout=timeout, n_workers=n_workers, callbacks=list(callbacks or []),
        settings=settings, reporter=reporter, worker_envs=envs, executor=executor.kind, resources=resources,
        ray_address=executor.address if isinstance(executor, RayExecutor) else None,
        start_method=executor.start_method if isinstance(executor, LocalExecutor) else None,
    )


def run_worker_loops(
    study: Study, objective: Objective, *, n_trials: int | None, timeout: float | None, n_workers: int | None,
    callbacks: list[Callback], settings: LoopSettings, reporter: Reporter | None,
    worker_envs: list[dict[str, str]] | None = None, executor: str = "local",
    resources: Resources | None = None, ray_address: str | None = None, start_method: str | None = None,
) -> None:
    """Run the worker loop serially or in worker processes.

    Processes are used for ``n_workers > 1``, and also for one worker when a trial
    time or memory limit is set (a trial past its limit is stopped with its process).
    ``start_method`` says how they start (see ``_zygote``: "auto", "fork" or "spawn").

    Trials left RUNNING by processes that are gone (a killed or crashed earlier run)
    are taken back first and run again (see ``_recovery``). A trial that goes back to
    the queue during the call runs again before it returns; ``n_trials`` counts it once.
    """
    settings.validate()
    if timeout is not None:
        settings.deadline = time.time() + timeout
    # Trials whose workers vanished (a killed driver, a lost machine) go first.
    recover_lost_trials(study, settings.max_retries, settings.heartbeat_grace)
    # Trials under way elsewhere: this call runs them again if they come back to the queue.
    running = {t.trial_id: t.retries for t in running_trials(study)}
    n_local = n_workers or 1
    isolated = settings.trial_timeout is not None or settings.memory_limit is not None or bool(worker_envs)
    processes = executor == "local" and (n_local > 1 or isolated)
    zygote = None
    threads = max((int(e["OMP_NUM_THREADS"]) for e in worker_envs or [] if e.get("OMP_NUM_THREADS", "").isdigit()),
                  default=1)
    if processes and study.storage.url is not None and resolve_start_method(start_method, threads) == "fork":
        from tunesmith.execution.processes import start_zygote

        zygote = start_zygote(study)  # before the reporter's thread: fork a single-threaded process
    try:
        _run(study, objective, TicketOffice(n_trials, settings, running), timeout, n_workers, processes, callbacks,
             settings, reporter, worker_envs, executor, resources, ray_address, zygote)
    finally:
        if zygote is not None:
            zygote.close()


def _run(
    study: Study, objective: Objective, tickets: TicketOffice, timeout: float | None, n_workers: int | None,
    processes: bool, callbacks: list[Callback], settings: LoopSettings, reporter: Reporter | None,
    worker_envs: list[dict[str, str]] | None, executor: str, resources: Resources | None,
    ray_address: str | None, zygote: Zygote | None,
) -> None:
    if reporter is not None:
        reporter.start(study, tickets.n_trials, timeout)
    try:
        _execute(study, objective, tickets, n_workers, processes, callbacks, settings, reporter, worker_envs,
                 executor, resources, ray_address, zygote)
        _end_paused(study, callbacks)  # only after a run that ended normally: see _end_paused
    finally:
        if reporter is not None:
            reporter.finish(study)


def _end_paused(study: Study, callbacks: list[Callback]) -> None:
    """Trials a scheduler paused and did not promote by the end of the run are stopped trials:
    PRUNED with their last values, so the record (and the console's counts) say so. A run
    ended by an error or Ctrl-C leaves them paused for the next run to promote."""
    if study.scheduler is None or not study.scheduler.pauses:
        return
    for frozen in study.record_changed(study.storage.finish_paused(study.study_id)):
        for cb in callbacks:
            cb(study, frozen)


def _execute(
    study: Study, objective: Objective, tickets: TicketOffice, n_workers: int | None, processes: bool,
    callbacks: list[Callback], settings: LoopSettings, reporter: Reporter | None,
    worker_envs: list[dict[str, str]] | None,
    executor: str, resources: Resources | None, ray_address: str | None, zygote: Zygote | None,
) -> None:
    if executor == "ray":
        from tunesmith.execution.ray_executor import run_ray

        run_ray(
            study, objective, tickets=tickets, settings=settings, n_workers=n_workers, callbacks=callbacks,
            reporter=reporter, resources=resources or Resources(), ray_address=ray_address,
        )
        return
    if processes:
        from tunesmith.execution.processes import run_processes

        run_processes(
            study, objective, tickets=tickets, settings=settings, n_workers=n_workers or 1,
            callbacks=callbacks, reporter=reporter, worker_envs=worker_envs, zygote=zygote,
        )
        return

    def claim() -> bool:
        if study.stop_requested:
            return False
        if tickets.grant():
            return True
        # A trial of this call back in the queue (re-queued by a heartbeat) runs before the call ends.
        waiting = study.get_trials(states=[TrialState.WAITING])
        return tickets.pending(waiting) and tickets.grant()

    def on_start(trial_id: int, retries: int) -> None:
        tickets.started(retries, trial_id)

    def on_finished(frozen: FrozenTrial) -> None:
        if not frozen.state.is_finished():
            return  # PAUSED: it finishes later
        for cb in callbacks:
            cb(study, frozen)
        if reporter is not None:
            reporter.update(study)

    worker_loop(study, objective, settings, claim, on_finished, on_start)
