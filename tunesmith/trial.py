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
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from tunesmith.checkpoints import Checkpoint, CheckpointStore
from tunesmith.distributions import (
    CategoricalDistribution,
    DerivedDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    build,
)
from tunesmith.exceptions import TrialPruned, TrialStopped
from tunesmith.hyperparameters import Hyperparameters
from tunesmith.record import FrozenTrial, TrialState, create_trial
from tunesmith.space import SearchSpace, unflatten

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = [
    "FrozenTrial", "Hyperparameters", "ParamWrite", "Trial", "TrialPruned", "TrialState", "TrialStopped", "TrialWriter",
    "create_trial",
]


class TrialWriter(Protocol):
    """What a live :class:`Trial` needs from its study: the study's side of a running trial."""

    metric_names: Sequence[str]
    checkpoints: CheckpointStore

    def register(self, name: str, distribution: Distribution) -> None:
        """Define a parameter (once per name and study; a redefinition raises ValueError)."""

    def propose(
        self, name: str, distribution: Distribution, number: int, rng: np.random.Generator,
        params: Mapping[str, Any],
    ) -> Any:
        """The sampler's value for one parameter the proposal at ``ask`` did not cover."""

    def write(self, trial: Trial) -> None:
        """Store the trial's parameters and user attributes drawn since the last write."""

    def report(self, trial: Trial, step: int, metrics: Mapping[str, Any]) -> None:
        """Store an intermediate report (after :meth:`write`)."""

    def decide(self, trial: Trial, step: int, metrics: Mapping[str, Any]) -> TrialState | None:
        """The scheduler's answer to the report just stored: how the trial ends, None to go on."""


class ParamWrite(NamedTuple):
    """A running trial's parameters to store: all of them (internal form) and the distributions of the new ones."""

    params: dict[str, Any]
    distributions: dict[str, Distribution]


class Trial:
    """A running trial: suggest parameters, report metrics, check for a stop decision.

    Parameters are drawn from the study's sampler on first use and recorded; asking
    again for the same name returns the same value. Built by ``Study.ask``.
    """

    def __init__(
        self, writer: TrialWriter, frozen: FrozenTrial, proposal: Mapping[str, Any], rng: np.random.Generator,
        *, eager: bool = False, study: Study | None = None,
    ) -> None:
        #: the study this trial belongs to (Optuna's ``trial.study``)
        self.study = study
        self.number = frozen.number
        self._writer = writer
        self._trial_id = frozen.trial_id
        self._attempt = frozen.attempt  # this run's lease token (see FrozenTrial.attempt)
        self._proposal = proposal
        self._rng = rng
        self._params: dict[str, Any] = {}
        self._dists: dict[str, Distribution] = {}
        self._unwritten: set[str] = set()
        self._eager = eager  # store each parameter as it is drawn (other trials are running)
        self.user_attrs: dict[str, Any] = {**frozen.enqueued_user_attrs, **frozen.user_attrs}
        #: how many times this trial was re-queued after its worker was lost
        self.retries = frozen.retries
        # A retried trial continues from its last report.
        self.last_step: int | None = frozen.last_step
        self.last_result: dict[str, Any] = dict(frozen.last_result)
        self._end_state: TrialState | None = None
        #: the checkpoint a continuation trial (PBT) starts from
        self._restore = frozen.restore
        if self.last_step is None and self._restore is not None:
            self.last_step = self._restore.step
        self._unreported_checkpoints: list[str] = []
        spent = frozen.last_result.get("time_total_s", 0.0)  # a retried trial's clock goes on
        self._clock_start = time.monotonic() - (spent if isinstance(spent, (int, float)) else 0.0)

    # -- identity ---------------------------------------------------------------------
    @property
    def trial_id(self) -> int:
        """The storage's id of the trial (``number`` is its place in the study)."""
        return self._trial_id

    @property
    def attempt(self) -> int:
        """This run's lease token: every write of the trial names it (see ``FrozenTrial.attempt``)."""
        return self._attempt

    @property
    def elapsed(self) -> float:
        """Seconds the trial has run, earlier attempts included (a retried trial's clock goes on)."""
        return time.monotonic() - self._clock_start

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
        """KerasTuner-style access: ``trial.hp.Float("lr", 1e-4, 1e-1, sampling="log")`` (one object per trial)."""
        hp: Hyperparameters | None = self.__dict__.get("_hp")
        if hp is None:
            hp = self.__dict__["_hp"] = Hyperparameters(self)
        return hp

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
        self._writer.register(name, distribution)
        value = self._proposal.get(name, _MISSING)
        if value is _MISSING or not distribution.contains(value):
            value = self._writer.propose(name, distribution, self.number, self._rng, self._params)
        self._set(name, distribution, value)
        if self._eager:
            self._writer.write(self)
        return value

    def suggest_space(self, space: SearchSpace, fixed: Mapping[str, Any]) -> None:
        """Every parameter of a dict-style space, derived ones (``sample_from``) last, then stored
        (so a lost worker's trial is retried with the same config); ``fixed`` overrides derived values."""
        for name, dist in space.distributions.items():
            self.suggest(name, dist)
        for name, value in space.resolve(self._params, self._rng).items():
            self._set(name, _DERIVED, fixed.get(name, value))
        self._writer.write(self)

    def _set(self, name: str, distribution: Distribution, value: Any) -> None:
        self._params[name] = value
        self._dists[name] = distribution
        self._unwritten.add(name)

    def store(self) -> None:
        """Write the parameters drawn so far now (they are otherwise stored at the next report or the end)."""
        self._writer.write(self)

    def pending_write(self, *, final: bool = False) -> ParamWrite | None:
        """What the study must store of this trial's parameters: None when no parameter was drawn
        since the last write (and, for the ``final`` write at the trial's end, it has no user attributes)."""
        if not self._unwritten and not (final and self.user_attrs):
            return None
        params = {n: self._dists[n].to_internal(v) for n, v in self._params.items()}
        return ParamWrite(params, {n: self._dists[n] for n in self._unwritten})

    def written(self) -> None:
        """The study stored :meth:`pending_write`."""
        self._unwritten.clear()

    # -- reporting --------------------------------------------------------------------
    def report(self, step_or_value: Any = None, /, step: int | None = None, **metrics: Any) -> None:
        """Record intermediate metrics at a step and consult the study's scheduler.

        Two spellings: ``trial.report(step, loss=0.3, acc=0.9)`` and Optuna's
        ``trial.report(0.3, step=5)`` (the value is stored under the study's metric).
        """
        if step is not None:
            if step_or_value is not None:
                metrics[self._writer.metric_names[0]] = step_or_value
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
        self._writer.write(self)
        self._writer.report(self, self.last_step, metrics)
        self._checkpoint_reported(metrics)
        end = self._writer.decide(self, self.last_step, metrics)
        if end is not None:
            self._end_state = end

    def report_inherited(self) -> None:
        """A PBT continuation that ended without reporting (cloned at the last step, nothing
        left to train) ends with its source's report at the checkpoint: that is its state."""
        restore = self._restore
        if restore is not None and restore.result and not self.last_result:
            self.report(restore.step, **restore.result)

    # -- checkpoints ------------------------------------------------------------------
    @contextlib.contextmanager
    def checkpoint_dir(self, step: int | None = None) -> Iterator[str]:
        """A directory to write a checkpoint into; kept once the block ends without error.

        ``step`` defaults to the last reported step. The metrics reported next are
        stored with it (for the retention policy and for picking a checkpoint).
        """
        if step is None:
            step = 0 if self.last_step is None else self.last_step
        store = self._writer.checkpoints
        with store.writing(self.number, int(step)) as d:
            yield d
        self._unreported_checkpoints.append(os.path.join(store.trial_dir(self.number), f"checkpoint_{int(step):06d}"))

    def save_checkpoint(self, data: Any, step: int | None = None) -> Checkpoint:
        """Pickle ``data`` (any picklable object, e.g. a dict of state dicts) as a checkpoint."""
        import cloudpickle

        with self.checkpoint_dir(step) as d, open(os.path.join(d, "data.pkl"), "wb") as f:
            cloudpickle.dump(data, f)
        found = self._writer.checkpoints.latest(self.number)
        assert found is not None
        return found

    def get_checkpoint(self) -> Checkpoint | None:
        """The checkpoint to resume from: this trial's latest (after a retry or a promotion),
        else the one it was cloned from (PBT); None for a fresh trial."""
        store = self._writer.checkpoints
        own = store.latest(self.number)
        if own is not None:
            return own
        restore = self._restore
        if restore is not None and restore.path:
            if not store.contains(restore.path):
                # The record is not trusted to choose files: a checkpoint is unpickled code.
                raise ValueError(
                    f"trial {self.number} was queued to restore from {restore.path!r}, which is outside the "
                    f"study's artifact folder {store.study_dir!r}; refusing to load it"
                )
            if os.path.isdir(restore.path):
                return Checkpoint(restore.path, restore.step, restore.trial)
        return None

    def _checkpoint_reported(self, metrics: Mapping[str, Any]) -> None:
        if not self._unreported_checkpoints:
            return
        store = self._writer.checkpoints
        for path in self._unreported_checkpoints:
            if os.path.isdir(path):
                store.annotate(path, metrics)
        self._unreported_checkpoints.clear()
        store.apply_retention(self.number)

    # -- stopping ---------------------------------------------------------------------
    def should_stop(self) -> bool:
        """True once the scheduler decided this trial should end (Optuna's ``should_prune``)."""
        return self._end_state is not None

    should_prune = should_stop

    @property
    def end_state(self) -> TrialState | None:
        """How the scheduler ended the trial: PRUNED, PAUSED, or COMPLETE (its budget spent); None while it goes on."""
        return self._end_state

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable value to the trial record."""
        self.user_attrs[key] = value


class _Missing:
    pass


_MISSING = _Missing()
_DERIVED = DerivedDistribution()


#: the trial whose objective runs in this thread (set by the worker loop around the objective)
CURRENT: contextvars.ContextVar[Trial | None] = contextvars.ContextVar("tunesmith_trial", default=None)


def current_trial() -> Trial | None:
    """The trial whose objective is running in this thread (None outside one)."""
    return CURRENT.get()
