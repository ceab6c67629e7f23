"""The loop every worker runs: ask -> objective -> tell, until the budget is spent."""

from __future__ import annotations

import contextvars
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunesmith.trial import FrozenTrial, Trial, TrialState, TrialStopped

if TYPE_CHECKING:
    from tunesmith.study import Objective, Study

__all__ = ["LoopSettings", "current_trial", "run_trial", "worker_loop"]

_current: contextvars.ContextVar[Trial | None] = contextvars.ContextVar("tunesmith_trial", default=None)


def current_trial() -> Trial | None:
    """The trial whose objective is running in this thread (None outside one)."""
    return _current.get()


class MaxFailuresError(RuntimeError):
    """Too many trials failed: the study stopped."""


@dataclass
class LoopSettings:
    """What a worker needs besides the study and objective (picklable)."""

    catch: tuple[type[BaseException], ...] = (Exception,)
    max_failures: int | None = None
    deadline: float | None = None


def run_trial(
    study: Study, objective: Objective, catch: tuple[type[BaseException], ...],
    on_start: Callable[[int], Any] | None = None,
) -> FrozenTrial:
    """Run one trial and record its outcome; exceptions outside ``catch`` are re-raised."""
    trial = study.ask()
    if on_start is not None:
        on_start(trial._trial_id)
    token = _current.set(trial)
    try:
        result = objective(trial)
    except TrialStopped:
        return study.tell(trial, state=TrialState.PRUNED)
    except catch:
        return study.tell(trial, state=TrialState.FAILED, error=traceback.format_exc())
    except BaseException as e:  # KeyboardInterrupt, SystemExit, or not in `catch`
        reason = "interrupted (KeyboardInterrupt)" if isinstance(e, KeyboardInterrupt) else traceback.format_exc()
        study.tell(trial, state=TrialState.FAILED, error=reason)
        raise
    finally:
        _current.reset(token)
    if result is None and trial.last_result:
        result = trial.last_result  # tune.run-style trainables report instead of returning
    if trial.should_stop():
        return study.tell(trial, result, state=TrialState.PRUNED)
    return study.tell(trial, result)


def worker_loop(
    study: Study, objective: Objective, settings: LoopSettings, claim: Callable[[], bool],
    on_finished: Callable[[FrozenTrial], Any] | None = None, on_start: Callable[[int], Any] | None = None,
) -> int:
    """Run trials while ``claim()`` grants one; returns the number of trials run."""
    failures = 0
    ran = 0
    while True:
        if settings.deadline is not None and time.time() >= settings.deadline:
            break
        if not claim():
            break
        frozen = run_trial(study, objective, settings.catch, on_start)
        ran += 1
        if on_finished is not None:
            on_finished(frozen)
        if frozen.state == TrialState.FAILED:
            failures += 1
            if settings.max_failures is not None and failures >= settings.max_failures:
                raise MaxFailuresError(
                    f"{failures} trials failed (max_failures={settings.max_failures}); "
                    f"the last one, trial {frozen.number}, failed with:\n{frozen.error}"
                )
    return ran
