"""Choosing the executor for ``Study.optimize``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tunesmith.execution._loop import LoopSettings, worker_loop
from tunesmith.execution._zygote import Zygote, resolve_start_method
from tunesmith.execution.resources import Resources
from tunesmith.trial import FrozenTrial

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
    """
    settings.validate()
    if timeout is not None:
        settings.deadline = time.time() + timeout
    # Trials whose workers vanished (a killed driver, a lost machine) go first.
    study.storage.recover_trials(
        study._study_id, stale_before=time.time() - settings.heartbeat_grace, max_retries=settings.max_retries,
    )
    n_local = n_workers or 1
    isolated = settings.trial_timeout is not None or settings.memory_limit is not None or bool(worker_envs)
    processes = executor == "local" and (n_local > 1 or isolated)
    zygote = None
    if processes and study.storage.url is not None and resolve_start_method(start_method) == "fork":
        from tunesmith.execution.processes import start_zygote

        zygote = start_zygote(study)  # before the reporter's thread: fork a single-threaded process
    try:
        _run(study, objective, n_trials, timeout, n_workers, processes, callbacks, settings, reporter, worker_envs,
             executor, resources, ray_address, zygote)
    finally:
        if zygote is not None:
            zygote.close()


def _run(
    study: Study, objective: Objective, n_trials: int | None, timeout: float | None, n_workers: int | None,
    processes: bool, callbacks: list[Callback], settings: LoopSettings, reporter: Any,
    worker_envs: list[dict[str, str]] | None, executor: str, resources: Resources | None,
    ray_address: str | None, zygote: Zygote | None,
) -> None:
    if reporter is not None:
        reporter.start(study, n_trials, timeout)
    if executor == "ray":
        from tunesmith.execution.ray_executor import run_ray

        run_ray(
            study, objective, n_trials=n_trials, settings=settings, n_workers=n_workers, callbacks=callbacks,
            reporter=reporter, resources=resources or Resources(), ray_address=ray_address,
        )
        return
    if processes:
        from tunesmith.execution.processes import run_processes

        run_processes(
            study, objective, n_trials=n_trials, settings=settings, n_workers=n_workers or 1,
            callbacks=callbacks, reporter=reporter, worker_envs=worker_envs, zygote=zygote,
        )
        return
    count = 0

    def claim() -> bool:
        nonlocal count
        if study._stop_requested or (n_trials is not None and count >= n_trials):
            return False
        count += 1
        return True

    def on_start(trial_id: int, retry: bool) -> None:
        nonlocal count
        if retry:
            count -= 1  # a retried trial does not use up the budget

    def on_finished(frozen: FrozenTrial) -> None:
        if not frozen.state.is_finished():
            return  # PAUSED: it finishes later
        for cb in callbacks:
            cb(study, frozen)
        if reporter is not None:
            reporter.update(study)

    try:
        worker_loop(study, objective, settings, claim, on_finished, on_start)
    finally:
        if reporter is not None:
            reporter.finish(study)
