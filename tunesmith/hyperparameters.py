"""KerasTuner-style declarations of hyperparameters (``trial.hp``, or standalone ``Hyperparameters()``).

``hp.Int``, ``hp.Float`` (``sampling="linear" | "log" | "reverse_log"``), ``hp.Choice``,
``hp.Boolean``, ``hp.Fixed``, conditional scopes and parents: on a trial each draws from the
study's sampler; standalone each returns its given or default value and records the declaration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tunesmith.distributions import (
    CategoricalDistribution,
    Distribution,
    FloatDistribution,
    IntDistribution,
    build,
    check_name,
)

if TYPE_CHECKING:
    from tunesmith.trial import Trial

__all__ = ["FIXED_HPS_ATTR", "Hyperparameters"]


class _Missing:
    pass


_MISSING = _Missing()


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
