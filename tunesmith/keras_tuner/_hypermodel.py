"""KerasTuner's ``HyperModel``: ``build(hp)`` makes a compiled model, ``fit(hp, model, ...)`` trains it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunesmith.hyperparameters import Hyperparameters

__all__ = ["HyperModel", "as_hypermodel"]


class HyperModel:
    """Subclass and override :meth:`build` (and :meth:`fit` to tune training too).

    >>> class Const(HyperModel):
    ...     def build(self, hp):
    ...         return hp.Int("units", 8, 64)
    >>> Const().build(Hyperparameters())
    8
    """

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name = name
        self.tunable = tunable

    def build(self, hp: Hyperparameters) -> Any:
        """A compiled Keras model for the hyperparameters ``hp``."""
        raise NotImplementedError(f"{type(self).__name__} must override build(self, hp)")

    def fit(self, hp: Hyperparameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train ``model``; returns its ``History`` (or a dict of metrics, or the objective's value)."""
        return model.fit(*args, **kwargs)

    def declare_hyperparameters(self, hp: Hyperparameters) -> None:
        """Declare the search space on ``hp`` (the default builds a model once, as KerasTuner does)."""
        self.build(hp)


class _FunctionHyperModel(HyperModel):
    """A ``build_model(hp)`` function as a HyperModel."""

    def __init__(self, build: Callable[[Hyperparameters], Any]) -> None:
        super().__init__(name=getattr(build, "__name__", None))
        self._build = build

    def build(self, hp: Hyperparameters) -> Any:
        return self._build(hp)


def as_hypermodel(hypermodel: Any) -> HyperModel:
    """A HyperModel from a HyperModel (KerasTuner's too: it has ``build``) or a build function."""
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if hypermodel is None:
        raise ValueError("hypermodel= is required: a build_model(hp) function or a HyperModel")
    if hasattr(hypermodel, "build") and hasattr(hypermodel, "fit") and not isinstance(hypermodel, type):
        return hypermodel  # type: ignore[no-any-return,unused-ignore]  # duck-typed (keras_tuner.HyperModel subclasses)
    if callable(hypermodel) and not isinstance(hypermodel, type):
        return _FunctionHyperModel(hypermodel)
    raise TypeError(
        f"hypermodel must be a build_model(hp) function or a HyperModel instance, got {hypermodel!r}"
    )
