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
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    check_name,
)
from tunesmith.exceptions import TrialPruned, TrialStopped
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.space import SearchSpace, unflatten

if TYPE_CHECKING:
    from tunesmith.study import Study

__all__ = [
    "FrozenTrial", "Hyperparameters", "ParamWrite", "Trial", "TrialPruned", "TrialState", "TrialStopped", "TrialWriter",
]


class Hyperparameters:
    """KerasTuner-style declarations: ``hp.Int``, ``hp.Float``, ``hp.Choice``, ``hp.Boolean``, ``hp.Fixed``.

    On a trial (``trial.hp``), each declaration draws its value from the study's sampler.
    Standalone (``Hyperparameters()``, KerasTuner's ``HyperParameters()``), it returns the
    value given in ``values``, else the declaration's default, and records the declaration
    (``space``). A declaration inside :meth:`conditional_scope` (or with ``parent_name``/
    ``parent_values``) whose condition fails is inactive: it returns None and is not drawn.

    >>> hp = Hyperparameters()
    >>> hp.Choice("model", ["mlp", "cnn"])
    'mlp'
    >>> with hp.conditional_scope("model", ["cnn"]):
    ...     print(hp.Int("filters", 8, 64, step=8))
    None
    >>> hp.Int("units", 16, 128), hp["units"], hp.values
    (16, 16, {'model': 'mlp', 'units': 16})
    """

    def __init__(self, trial: Trial | None = None, values: Mapping[str, Any] | None = None) -> None:
        self._trial = trial
        self._given = dict(values or {})
        self._values: dict[str, Any] = {}  # standalone: the values returned (active declarations)
        self._fixed: dict[str, Any] = {}
        self._scopes: list[tuple[str, tuple[Any, ...]]] = []
        #: every declaration seen: name -> (kind, config) (KerasTuner's ``space``, for summaries)
        self.space: dict[str, tuple[str, dict[str, Any]]] = {}
        self._override: Hyperparameters | None = None
        self._tune_new = True
        self._allow_new = True
        self._redeclaring: str | None = None

    def restrict(
        self, declared: Hyperparameters, *, tune_new_entries: bool = True, allow_new_entries: bool = True,
    ) -> None:
        """KerasTuner's ``hyperparameters=``: ``declared``'s declarations replace the model's own of the same name.

        ``tune_new_entries=False`` keeps every other hyperparameter at its default (not tuned);
        ``allow_new_entries=False`` makes declaring another one an error.
        """
        self._override = declared
        self._tune_new = tune_new_entries
        self._allow_new = allow_new_entries

    @property
    def values(self) -> dict[str, Any]:
        """The active parameters' values (fixed ones included; reverse_log's helper draws left out)."""
        if self._trial is None:
            return {**self._given, **self._values}
        drawn = {n: v for n, v in self._trial.params.items() if not n.endswith(_REVERSE_LOG)}
        return {**drawn, **self._fixed}

    def get(self, name: str) -> Any:
        """The value of a declared parameter (None when it is inactive); KeyError for an unknown name."""
        values = self.values
        if name in values:
            return values[name]
        if name in self.space:
            return None
        raise KeyError(f"hyperparameter {name!r} does not exist; declared: {sorted(self.space)}")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.space or name in self.values

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Declarations inside are active only while ``parent_name``'s value is one of ``parent_values``."""
        if parent_name not in self.space and parent_name not in self.values and parent_name not in self._given:
            raise ValueError(
                f"conditional_scope: parent hyperparameter {parent_name!r} is not defined; declare it before the scope"
            )
        wanted = tuple(parent_values) if isinstance(parent_values, (list, tuple, set)) else (parent_values,)
        self._scopes.append((parent_name, wanted))
        try:
            yield
        finally:
            self._scopes.pop()

    def is_active(self) -> bool:
        """Whether the enclosing conditional scopes all hold."""
        values = self.values
        return all(values.get(parent, self._given.get(parent)) in wanted for parent, wanted in self._scopes)

    def Int(  # noqa: N802 - KerasTuner's names
        self, name: str, min_value: int, max_value: int, step: int | None = None,
        sampling: str = "linear", default: int | None = None,
        parent_name: str | None = None, parent_values: Any = None,
    ) -> Any:
        config = {"min_value": min_value, "max_value": max_value, "step": step, "sampling": sampling,
                  "default": default}
        dist = _numeric(name, IntDistribution, min_value, max_value, step, sampling)
        return self._declare(name, "Int", config, dist, min_value if default is None else default,
                             parent_name, parent_values, reverse=(sampling == "reverse_log"), cast=int)

    def Float(  # noqa: N802
        self, name: str, min_value: float, max_value: float, step: float | None = None,
        sampling: str = "linear", default: float | None = None,
        parent_name: str | None = None, parent_values: Any = None,
    ) -> Any:
        config = {"min_value": min_value, "max_value": max_value, "step": step, "sampling": sampling,
                  "default": default}
        dist = _numeric(name, FloatDistribution, min_value, max_value, step, sampling)
        return self._declare(name, "Float", config, dist, min_value if default is None else default,
                             parent_name, parent_values, reverse=(sampling == "reverse_log"), cast=float)

    def Choice(  # noqa: N802
        self, name: str, values: Sequence[Any], ordered: bool | None = None, default: Any = None,
        parent_name: str | None = None, parent_values: Any = None,
    ) -> Any:
        dist = build(name, CategoricalDistribution, tuple(values))
        if default is not None and default not in dist.choices:
            raise ValueError(f"parameter {name!r}: default {default!r} is not one of the values {list(values)}")
        config = {"values": list(values), "ordered": ordered, "default": default}
        return self._declare(name, "Choice", config, dist, dist.choices[0] if default is None else default,
                             parent_name, parent_values)

    def Boolean(  # noqa: N802
        self, name: str, default: bool = False, parent_name: str | None = None, parent_values: Any = None,
    ) -> Any:
        dist = CategoricalDistribution((False, True))
        return self._declare(name, "Boolean", {"default": default}, dist, bool(default), parent_name, parent_values,
                             cast=bool)

    def Fixed(  # noqa: N802
        self, name: str, value: Any, parent_name: str | None = None, parent_values: Any = None,
    ) -> Any:
        """A constant: not drawn nor stored as a parameter (a trial keeps it in its ``fixed_hps`` user attribute)."""
        check_name(name)
        self.space[name] = ("Fixed", {"value": value})
        if not self._active(parent_name, parent_values):
            return None
        if self._override is not None and self._redeclaring != name:
            replaced = self._replaced(name, value)
            if replaced is not _MISSING:
                return replaced
        if self._trial is None:
            self._values[name] = value
        else:
            self._fixed[name] = value
            self._trial.set_user_attr(FIXED_HPS_ATTR, dict(self._fixed))
        return value

    def _replaced(self, name: str, default: Any) -> Any:
        """Under :meth:`restrict`: the restricting declaration's value, or the default of an untuned
        hyperparameter; ``_MISSING`` when the model's own declaration stands."""
        assert self._override is not None
        if name in self._override.space:
            kind, config = self._override.space[name]
            self._redeclaring = name
            try:
                return getattr(self, kind)(name, **{k: v for k, v in config.items() if k != "conditions"})
            finally:
                self._redeclaring = None
        if not self._allow_new:
            raise ValueError(f"hyperparameter {name!r} is not in hyperparameters= and allow_new_entries=False; "
                             f"declared there: {sorted(self._override.space)}")
        if self._tune_new:
            return _MISSING
        del self.space[name]  # not tuned: a constant at its default, as hp.Fixed
        value = self._given.get(name, default)
        if self._trial is None:
            self._values[name] = value
        else:
            self._fixed[name] = value
            self._trial.set_user_attr(FIXED_HPS_ATTR, dict(self._fixed))
        return value

    def _active(self, parent_name: str | None, parent_values: Any) -> bool:
        if parent_name is None:
            return self.is_active()
        with self.conditional_scope(parent_name, parent_values):
            return self.is_active()

    def _declare(
        self, name: str, kind: str, config: dict[str, Any], dist: Distribution, default: Any,
        parent_name: str | None, parent_values: Any, *, reverse: bool = False, cast: Callable[[Any], Any] | None = None,
    ) -> Any:
        conditions = [*self._scopes, *([] if parent_name is None else [(parent_name, parent_values)])]
        shown = [{"name": p, "values": list(v) if isinstance(v, (tuple, list)) else [v]} for p, v in conditions]
        self.space[name] = (kind, {"default": config.pop("default", None), "conditions": shown, **config})
        if not self._active(parent_name, parent_values):
            return None
        if self._override is not None and self._redeclaring != name:
            replaced = self._replaced(name, default)
            if replaced is not _MISSING:
                return replaced
        if self._trial is None:
            value = self._given.get(name, default)
            self._values[name] = value
            return value
        if reverse:
            # KerasTuner's reverse_log: dense near max_value. The study draws the mirrored value on a log scale
            # (a helper parameter) and records the value returned under its own name.
            assert isinstance(dist, (IntDistribution, FloatDistribution))
            trial = self._trial
            mirrored = trial.suggest(name + _REVERSE_LOG, dist)
            if name not in trial._params:
                record = build(name, type(dist), dist.low, dist.high)  # the value's record: its bounds, linear
                trial._writer.register(name, record)
                trial._set(name, record, min(max(dist.low + dist.high - mirrored, dist.low), dist.high))
                if trial._eager:
                    trial._writer.write(trial)
            return trial._params[name] if cast is None else cast(trial._params[name])
        value = self._trial.suggest(name, dist)
        return value if cast is None else cast(value)


#: the user attribute that holds a trial's ``hp.Fixed`` values
FIXED_HPS_ATTR = "fixed_hps"
_REVERSE_LOG = ":reverse_log"  # the helper parameter that reverse_log sampling draws on a log scale


def _numeric(
    name: str, kind: type[IntDistribution] | type[FloatDistribution], low: Any, high: Any, step: Any, sampling: str,
) -> Distribution:
    """The distribution of ``hp.Int``/``hp.Float``; with log sampling a ``step`` multiplies (KerasTuner's rule)."""
    log = _sampling(name, sampling)
    if log and step is not None and step != 1:
        if not (isinstance(step, (int, float)) and step > 1 and low > 0):
            raise ValueError(f"parameter {name!r}: log sampling with step needs step > 1 and min_value > 0, "
                             f"got step={step!r}, min_value={low!r}")
        points: list[Any] = []
        x = low
        while x <= high * (1 + 1e-12):
            points.append(round(x) if kind is IntDistribution else float(x))
            x *= step
        return build(name, CategoricalDistribution, tuple(points))
    if kind is IntDistribution:
        return build(name, IntDistribution, low, high, log=log, step=1 if step is None else step)
    return build(name, FloatDistribution, low, high, log=log, step=step)


def _sampling(name: str, sampling: str | None) -> bool:
    if sampling in (None, "linear"):
        return False
    if sampling in ("log", "reverse_log"):
        return True
    raise ValueError(f"parameter {name!r}: sampling must be 'linear', 'log' or 'reverse_log', got {sampling!r}")


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
