"""Choosing the executor for ``Study.optimize``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tunesmith.execution._driver import TicketOffice
from tunesmith.execution._loop import LoopSettings, worker_loop
from tunesmith.execution._recovery import recover_lost_trials, running_trials
from tunesmith.execution._zygote import Zygote, resolve_start_method
from tunesmith.execution.resources import Resources
from tunesmith.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tunesmith.study import Callback, Objective, Study


def run_worker_loops(
    study: Study, objective: Objective, *, n_trials: int | None, timeout: float | None, n_workers: int | None,
    callbacks: list[Callback], settings: LoopSettings, reporter: Any,
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
    running = {t.trial_id: int(t.system_attrs.get("retries", 0)) for t in running_trials(study)}
    n_local = n_workers or 1
    isolated = settings.trial_timeout is not None or settings.memory_limit is not None or bool(worker_envs)
    processes = executor == "local" and (n_local > 1 or isolated)
    zygote = None
    if processes and study.storage.url is not None and resolve_start_method(start_method) == "fork":
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
    processes: bool, callbacks: list[Callback], settings: LoopSettings, reporter: Any,
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
    for raw in study.storage.finish_paused(study._study_id):
        frozen = study._materialize(raw)
        for cb in callbacks:
            cb(study, frozen)


def _execute(
    study: Study, objective: Objective, tickets: TicketOffice, n_workers: int | None, processes: bool,
    callbacks: list[Callback], settings: LoopSettings, reporter: Any, worker_envs: list[dict[str, str]] | None,
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
        if study._stop_requested:
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
