"""Choosing the executor for ``Study.optimize``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tunesmith.execution._loop import LoopSettings, worker_loop
from tunesmith.trial import FrozenTrial

if TYPE_CHECKING:
    from tunesmith.study import Callback, Objective, Study


def run_worker_loops(
    study: Study, objective: Objective, *, n_trials: int | None, timeout: float | None, n_workers: int,
    callbacks: list[Callback], catch: tuple[type[BaseException], ...], max_failures: int | None,
    reporter: Any, worker_env: dict[str, str] | None = None,
) -> None:
    """Run the worker loop serially (``n_workers == 1``) or in worker processes."""
    deadline = None if timeout is None else time.time() + timeout
    settings = LoopSettings(catch=catch, max_failures=max_failures, deadline=deadline)
    if reporter is not None:
        reporter.start(study, n_trials, timeout)
    if n_workers > 1:
        from tunesmith.execution.processes import run_processes

        run_processes(
            study, objective, n_trials=n_trials, settings=settings, n_workers=n_workers,
            callbacks=callbacks, reporter=reporter, worker_env=worker_env,
        )
        return
    count = 0

    def claim() -> bool:
        nonlocal count
        if study._stop_requested or (n_trials is not None and count >= n_trials):
            return False
        count += 1
        return True

    def on_finished(frozen: FrozenTrial) -> None:
        for cb in callbacks:
            cb(study, frozen)
        if reporter is not None:
            reporter.update(study)

    try:
        worker_loop(study, objective, settings, claim, on_finished)
    finally:
        if reporter is not None:
            reporter.finish(study)
