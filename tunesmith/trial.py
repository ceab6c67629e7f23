"""Trials: the immutable record (:class:`FrozenTrial`) and the live handle (:class:`Trial`).

An objective receives a :class:`Trial`, asks it for parameters (define-by-run),
reports intermediate metrics, and returns its value::

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        layers = trial.hp.Int("layers", 1, 3)          # KerasTuner style
        if trial.suggest_categorical("opt", ["sgd", "adam"]) == "sgd":
            trial.suggest_float("momentum", 0.0, 0.99)  # conditional parameter
        return lr * layers
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import enum
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from tunesmith.checkpoints import Checkpoint
from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    build,
)
from tunesmith.space import unflatten

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = ["FrozenTrial", "Hyperparameters", "Trial", "TrialPruned", "TrialState", "TrialStopped"]


class TrialState(enum.IntEnum):
    """Life cycle of a trial. WAITING trials are queued (``enqueue``) and not started;
    PAUSED ones stopped at a checkpoint and may be resumed (ASHA's promotions)."""

    WAITING = 0
    RUNNING = 1
    COMPLETE = 2
    PRUNED = 3
    FAILED = 4
    PAUSED = 5

    def is_finished(self) -> bool:
        """COMPLETE, PRUNED or FAILED: the trial's record no longer changes."""
        return TrialState.COMPLETE <= self <= TrialState.FAILED


class TrialStopped(Exception):  # noqa: N818 - reads as an event, like StopIteration
    """Raised inside an objective to end the trial early (a scheduler's stop decision)."""


#: Optuna's name: ``raise tunesmith.TrialPruned()`` after ``trial.should_prune()``
TrialPruned = TrialStopped


@dataclass(slots=True)
class FrozenTrial:
    """One trial as stored: parameters, state, values, reports summary, timings, errors.

    ``params`` holds the values the objective saw; ``internal_params`` their stored
    JSON-safe form (categorical choices as indices).
    """

    number: int
    state: TrialState
    params: dict[str, Any] = field(default_factory=dict)
    values: list[float] | None = None
    error: str | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    last_step: int | None = None
    last_result: dict[str, Any] = field(default_factory=dict)
    heartbeat_at: float | None = None
    trial_id: int = -1
    internal_params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    #: the lease token: incremented each time the trial is started (retried, resumed); every
    #: write of a running trial carries it, so a worker whose lease was taken back cannot write
    attempt: int = 0
    #: the process that started the trial (``tunesmith._process.identity()``), if known
    owner: str | None = None

    def evolve(self, **changes: Any) -> FrozenTrial:
        """A copy with some fields changed (a fast ``dataclasses.replace``)."""
        new = object.__new__(FrozenTrial)
        for name in _FROZEN_FIELDS:
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        return new

    @property
    def value(self) -> float | None:
        """The objective value (single-objective studies); None if there is none."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError(f"trial {self.number} has {len(self.values)} values; use .values")
        return self.values[0]

    @property
    def config(self) -> dict[str, Any]:
        """Parameters as a nested dict (``"a/b"`` becomes ``{"a": {"b": ...}}``)."""
        return unflatten(self.params)

    @property
    def datetime_start(self) -> _dt.datetime | None:
        return None if self.started_at is None else _dt.datetime.fromtimestamp(self.started_at)

    @property
    def datetime_complete(self) -> _dt.datetime | None:
        return None if self.finished_at is None else _dt.datetime.fromtimestamp(self.finished_at)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (None while running)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


_FROZEN_FIELDS = tuple(f.name for f in fields(FrozenTrial))


class Hyperparameters:
    """KerasTuner-style declarations on a trial: ``hp.Int``, ``hp.Float``, ``hp.Choice``..."""

    def __init__(self, trial: Trial) -> None:
        self._trial = trial

    @property
    def values(self) -> dict[str, Any]:
        return dict(self._trial.params)

    def Int(  # noqa: N802 - KerasTuner's names
        self, name: str, min_value: int, max_value: int, step: int | None = None,
        sampling: str = "linear", default: int | None = None,
    ) -> int:
        log = _sampling(name, sampling)
        dist = build(name, IntDistribution, min_value, max_value, log=log, step=1 if step is None else step)
        return int(self._trial.suggest(name, dist))

    def Float(  # noqa: N802
        self, name: str, min_value: float, max_value: float, step: float | None = None,
        sampling: str = "linear", default: float | None = None,
    ) -> float:
        log = _sampling(name, sampling)
        dist = build(name, FloatDistribution, min_value, max_value, log=log, step=step)
        return float(self._trial.suggest(name, dist))

    def Choice(  # noqa: N802
        self, name: str, values: Sequence[Any], ordered: bool | None = None, default: Any = None,
    ) -> Any:
        return self._trial.suggest(name, build(name, CategoricalDistribution, tuple(values)))

    def Boolean(self, name: str, default: bool = False) -> bool:  # noqa: N802
        return bool(self._trial.suggest(name, CategoricalDistribution((False, True))))

    def Fixed(self, name: str, value: Any) -> Any:  # noqa: N802
        return value


def _sampling(name: str, sampling: str | None) -> bool:
    if sampling in (None, "linear"):
        return False
    if sampling == "log":
        return True
    raise ValueError(f"parameter {name!r}: sampling must be 'linear' or 'log', got {sampling!r}")


class Trial:
    """A running trial: suggest parameters, report metrics, check for a stop decision.

    Parameters are drawn from the study's sampler on first use and recorded; asking
    again for the same name returns the same value.
    """

    def __init__(
        self, study: Study, frozen: FrozenTrial, proposal: Mapping[str, Any], rng: np.random.Generator,
    ) -> None:
        self.study = study
        self.number = frozen.number
        self._trial_id = frozen.trial_id
        self._attempt = frozen.attempt  # this run's lease token (see FrozenTrial.attempt)
        self._proposal = proposal
        self._rng = rng
        self._params: dict[str, Any] = {}
        self._dists: dict[str, Distribution] = {}
        self._unflushed: set[str] = set()
        self._eager = False  # store each parameter as it is drawn (other trials are running)
        self.user_attrs: dict[str, Any] = dict(frozen.user_attrs)
        #: how many times this trial was re-queued after its worker was lost
        self.retries = int(frozen.system_attrs.get("retries", 0))
        # A retried trial continues from its last report.
        self.last_step: int | None = frozen.last_step
        self.last_result: dict[str, Any] = dict(frozen.last_result)
        self._stop = False
        self._end_state = TrialState.PRUNED  # how a stopped trial ends (COMPLETE when its budget is spent)
        #: the checkpoint a continuation trial (PBT) starts from
        self._restore: dict[str, Any] | None = frozen.system_attrs.get("restore")
        if self.last_step is None and self._restore is not None:
            self.last_step = int(self._restore["step"])
        self._unreported_checkpoints: list[str] = []
        self._stop_criteria: Any = None  # tunesmith.run(stop=...)
        spent = frozen.last_result.get("time_total_s", 0.0)  # a retried trial's clock goes on
        self._clock_start = time.monotonic() - (spent if isinstance(spent, (int, float)) else 0.0)

    # -- parameters -------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """Parameters suggested so far (flat names)."""
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, Distribution]:
        return dict(self._dists)

    @property
    def config(self) -> dict[str, Any]:
        """Parameters as a nested dict."""
        return unflatten(self._params)

    @property
    def hp(self) -> Hyperparameters:
        """KerasTuner-style access: ``trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")``."""
        return Hyperparameters(self)

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False,
    ) -> float:
        """A real in [low, high]; ``log=True`` samples in log space; ``step`` quantizes."""
        return float(self.suggest(name, build(name, FloatDistribution, low, high, log=log, step=step)))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        """An integer in [low, high], both inclusive."""
        return int(self.suggest(name, build(name, IntDistribution, low, high, log=log, step=step)))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices``."""
        return self.suggest(name, build(name, CategoricalDistribution, tuple(choices)))

    def suggest(self, name: str, distribution: Distribution) -> Any:
        """Suggest a value for ``name`` from any :class:`Distribution`."""
        if name in self._params:
            if self._dists[name] != distribution:
                raise ValueError(
                    f"parameter {name!r} was already suggested in this trial as {self._dists[name]}, "
                    f"now as {distribution}"
                )
            return self._params[name]
        self.study._register(name, distribution)
        value = self._proposal.get(name, _MISSING)
        if value is _MISSING or not distribution.contains(value):
            value = self.study.sampler.suggest_one(
                name, distribution, self.study._history, self.number, self._rng, self._params
            )
        self._set_param(name, distribution, value)
        if self._eager:
            self.study._flush(self)
        return value

    def _set_param(self, name: str, distribution: Distribution, value: Any) -> None:
        self._params[name] = value
        self._dists[name] = distribution
        self._unflushed.add(name)

    # -- reporting --------------------------------------------------------------------
    def report(self, step_or_value: Any = None, /, step: int | None = None, **metrics: Any) -> None:
        """Record intermediate metrics at a step and consult the study's scheduler.

        Two spellings: ``trial.report(step, loss=0.3, acc=0.9)`` and Optuna's
        ``trial.report(0.3, step=5)`` (the value is stored under the study's metric).
        """
        if step is not None:
            if step_or_value is not None:
                metrics[self.study.metric_names[0]] = step_or_value
        else:
            if step_or_value is None:
                step = 0 if self.last_step is None else self.last_step + 1
            elif isinstance(step_or_value, (int, np.integer)) and not isinstance(step_or_value, bool):
                step = int(step_or_value)
            else:
                raise TypeError(
                    "report() takes report(step, **metrics) or report(value, step=N); "
                    f"got a positional {type(step_or_value).__name__} without step="
                )
        if not metrics:
            raise ValueError("report() needs at least one metric, e.g. trial.report(step, loss=0.1)")
        self.last_step = int(step)
        self.last_result = metrics
        self.study._report(self, self.last_step, metrics)

    def _report_inherited(self) -> None:
        """A PBT continuation that ended without reporting (cloned at the last step, nothing
        left to train) ends with its source's report at the checkpoint: that is its state."""
        inherited = (self._restore or {}).get("result")
        if inherited and not self.last_result:
            self.report(int(self._restore["step"]), **inherited)  # type: ignore[index]

    # -- checkpoints ------------------------------------------------------------------
    @contextlib.contextmanager
    def checkpoint_dir(self, step: int | None = None) -> Iterator[str]:
        """A directory to write a checkpoint into; kept once the block ends without error.

        ``step`` defaults to the last reported step. The metrics reported next are
        stored with it (for the retention policy and for picking a checkpoint).
        """
        if step is None:
            step = 0 if self.last_step is None else self.last_step
        store = self.study.checkpoints
        with store.writing(self.number, int(step)) as d:
            yield d
        self._unreported_checkpoints.append(os.path.join(store.trial_dir(self.number), f"checkpoint_{int(step):06d}"))

    def save_checkpoint(self, data: Any, step: int | None = None) -> Checkpoint:
        """Pickle ``data`` (any picklable object, e.g. a dict of state dicts) as a checkpoint."""
        import cloudpickle

        with self.checkpoint_dir(step) as d, open(os.path.join(d, "data.pkl"), "wb") as f:
            cloudpickle.dump(data, f)
        found = self.study.checkpoints.latest(self.number)
        assert found is not None
        return found

    def get_checkpoint(self) -> Checkpoint | None:
        """The checkpoint to resume from: this trial's latest (after a retry or a promotion),
        else the one it was cloned from (PBT); None for a fresh trial."""
        own = self.study.checkpoints.latest(self.number)
        if own is not None:
            return own
        if self._restore is not None and self._restore.get("path"):
            path = str(self._restore["path"])
            if not self.study.checkpoints.contains(path):
                # The record is not trusted to choose files: a checkpoint is unpickled code.
                raise ValueError(
                    f"trial {self.number} was queued to restore from {path!r}, which is outside the "
                    f"study's artifact folder {self.study.checkpoints.study_dir!r}; refusing to load it"
                )
            if os.path.isdir(path):
                return Checkpoint(path, int(self._restore["step"]), int(self._restore["trial"]))
        return None

    def _checkpoint_reported(self, metrics: Mapping[str, Any]) -> None:
        if not self._unreported_checkpoints:
            return
        store = self.study.checkpoints
        for path in self._unreported_checkpoints:
            if os.path.isdir(path):
                store.annotate(path, metrics)
        self._unreported_checkpoints.clear()
        store.apply_retention(self.number)

    def should_stop(self) -> bool:
        """True once the scheduler decided this trial should end (Optuna's ``should_prune``)."""
        return self._stop

    should_prune = should_stop

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable value to the trial record."""
        self.user_attrs[key] = value


class _Missing:
    pass


_MISSING = _Missing()


#: the trial whose objective runs in this thread (set by the worker loop around the objective)
CURRENT: contextvars.ContextVar[Trial | None] = contextvars.ContextVar("tunesmith_trial", default=None)


def current_trial() -> Trial | None:
    """The trial whose objective is running in this thread (None outside one)."""
    return CURRENT.get()
