"""Where worker loops run: in this process, or in local worker processes."""

from __future__ import annotations

from tunesmith.execution._loop import LoopSettings, MaxFailuresError, current_trial, run_trial, worker_loop
from tunesmith.execution._recovery import recover_lost_trials
from tunesmith.execution._run import run_worker_loops

__all__ = [
    "LoopSettings", "MaxFailuresError", "current_trial", "recover_lost_trials", "run_trial", "run_worker_loops",
    "worker_loop",
]
