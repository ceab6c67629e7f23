"""One tuner trial: build the model from the trial's hyperparameters, fit it, score it, keep its weights.

A :class:`TrialRunner` is the objective a tuner hands to ``Study.optimize``; it is pickled
to worker processes for ``n_workers > 1``. Between executions it drops the model and
clears the Keras session, so a long search does not grow in memory (KerasTuner #395):
the only thing a trial leaves behind is its best execution's weights in a ``.npz`` file.
"""

from __future__ import annotations

import copy
import gc
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tunesmith.integration.keras import import_keras
from tunesmith.keras_tuner._hypermodel import HyperModel
from tunesmith.keras_tuner._objective import MultiObjective, Objective
from tunesmith.trial import Hyperparameters, Trial

__all__ = ["TrialRunner", "load_weights", "weights_path"]


def weights_path(project_dir: str, number: int) -> str:
    """Where trial ``number``'s best weights are kept."""
    return os.path.join(project_dir, f"trial_{number:04d}", "weights.npz")


def load_weights(model: Any, path: str) -> None:
    """Put the weights saved by a trial into a model built with its hyperparameters."""
    with np.load(path) as data:
        model.set_weights([data[f"arr_{i}"] for i in range(len(data.files))])


class TrialRunner:
    """The objective of a tuner's study (see the module's docstring)."""

    def __init__(
        self, hypermodel: HyperModel, objective: Objective, fit_args: Sequence[Any], fit_kwargs: Mapping[str, Any],
        executions_per_trial: int, project_dir: str,
        restriction: tuple[Hyperparameters, bool, bool] | None = None,
    ) -> None:
        self.hypermodel = hypermodel
        self.objective = objective
        self.fit_args = tuple(fit_args)
        self.fit_kwargs = dict(fit_kwargs)
        self.executions_per_trial = executions_per_trial
        self.project_dir = project_dir
        self.restriction = restriction

    def __call__(self, trial: Trial) -> float | None:
        keras = import_keras()
        from tunesmith.integration.keras import TuneReportCallback  # a keras.callbacks.Callback: made on first use

        _freeze_what_exists()
        hp = trial.hp
        if self.restriction is not None:
            declared, tune_new, allow_new = self.restriction
            hp.restrict(declared, tune_new_entries=tune_new, allow_new_entries=allow_new)
        user_callbacks = list(self.fit_kwargs.get("callbacks") or [])
        scores: list[float] = []
        best: float | None = None
        derived = {self.objective.name: self.objective.value} if isinstance(self.objective, MultiObjective) else None
        for execution in range(self.executions_per_trial):
            model = self.hypermodel.build(hp)
            if model is None:
                raise ValueError("the hypermodel's build(hp) returned None; it must return a compiled Keras model")
            trial.store()  # an interrupted trial is then run again with these values (as KerasTuner resumes it)
            # Only the first execution reports: a scheduler compares one learning curve per trial.
            reporter = TuneReportCallback(trial=trial, derived=derived, enabled=execution == 0)
            kwargs = {**self.fit_kwargs, "callbacks": [*_copies(user_callbacks), reporter]}
            result = self.hypermodel.fit(hp, model, *self.fit_args, **kwargs)
            score = self._score(result)
            scores.append(score)
            if best is None or self.objective.better(score, best):
                best = score
                path = weights_path(self.project_dir, trial.number)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                np.savez(path, *[np.asarray(w) for w in model.get_weights()])
            del model, result, reporter, kwargs
            keras.backend.clear_session(free_memory=False)
            gc.collect()  # the model's reference cycles; cheap once the imports are frozen
            if trial.should_stop():
                break
        return float(np.mean(scores))

    def _score(self, result: Any) -> float:
        """A trial's score from what ``fit`` returned: the best epoch of a History (KerasTuner's rule)."""
        history = getattr(result, "history", None)
        if isinstance(history, Mapping) and history:
            n = min(len(v) for v in history.values())
            epochs = [{k: v[i] for k, v in history.items()} for i in range(n)]
            if not epochs:
                raise ValueError("fit() ran no epoch; nothing to score the trial by")
            return self.objective.best_of([self.objective.value(e) for e in epochs])
        if isinstance(result, Mapping):
            return self.objective.value(result)
        if isinstance(result, (int, float, np.number)) and not isinstance(result, bool):
            return float(result)
        raise TypeError(
            f"fit() returned {type(result).__name__}; a tuner needs a keras History, a dict of metrics or a number"
        )


_frozen = False


def _freeze_what_exists() -> None:
    """Once per process: move what exists now (imported modules: torch, keras) out of the collector's reach.

    A full ``gc.collect()`` after each model would otherwise walk those objects every time
    (0.5 s per trial with torch loaded); frozen, it walks only what the trials made.
    """
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def _copies(callbacks: list[Any]) -> list[Any]:
    """Fresh copies of the user's callbacks for each execution (KerasTuner copies them too)."""
    out = []
    for cb in callbacks:
        try:
            out.append(copy.deepcopy(cb))
        except Exception:  # a callback holding a lock or a file: share it
            out.append(cb)
    return out
