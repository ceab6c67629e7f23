"""Where worker loops run: in this process, in local worker processes, or as Ray tasks."""

from __future__ import annotations

from tunesmith.execution._loop import LoopSettings, MaxFailuresError, current_trial, run_trial, worker_loop
from tunesmith.execution._recovery import recover_lost_trials
from tunesmith.execution._run import optimize, run_worker_loops
from tunesmith.execution.executors import LocalExecutor, RayExecutor

__all__ = [
    "LocalExecutor", "LoopSettings", "MaxFailuresError", "RayExecutor", "current_trial", "optimize",
    "recover_lost_trials", "run_trial", "run_worker_loops", "worker_loop",
]
