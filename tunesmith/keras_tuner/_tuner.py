"""The tuner: KerasTuner's ``Tuner`` arguments and methods over a tunesmith study in ``directory/project_name``.

The study lives in ``directory/project_name/study.db`` (SQLite), so a search that stopped
goes on where it was when the same tuner is made again (``overwrite=True`` starts afresh),
and ``n_workers`` worker processes share it with no chief or environment variables.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TYPE_CHECKING, Any

from tunesmith.hyperparameters import Hyperparameters
from tunesmith.integration.keras import import_keras
from tunesmith.keras_tuner._hypermodel import HyperModel, as_hypermodel
from tunesmith.keras_tuner._objective import Objective, make_objective
from tunesmith.keras_tuner._results import Oracle, TunerTrial, results_summary_text, search_space_summary_text
from tunesmith.keras_tuner._runner import TrialRunner, load_weights, weights_path
from tunesmith.record import FrozenTrial, TrialState
from tunesmith.schedulers import Scheduler
from tunesmith.study import Study, create_study

if TYPE_CHECKING:
    from tunesmith.samplers import Sampler

__all__ = ["Tuner"]

# KerasTuner arguments this implementation does not take, with what to do instead.
_UNSUPPORTED = {
    "distribution_strategy": "use n_workers= for parallel trials",
    "oracle": "choose the tuner class (RandomSearch, BayesianOptimization, ...)",
    "logger": "open the study with tunesmith's dashboard or CLI",
    "tuner_id": "workers need no id: pass n_workers=",
    "max_model_size": "limit the model in build(hp)",
    "optimizer": "compile the model in build(hp)",
    "loss": "compile the model in build(hp)",
    "metrics": "compile the model in build(hp)",
}


class Tuner:
    """Base class of the tuners; subclasses choose the sampler (and Hyperband the scheduler).

    Args:
        hypermodel: a ``build_model(hp)`` function or a :class:`HyperModel`.
        objective: a metric name (direction inferred: ``"val_accuracy"`` max, ``"val_loss"`` min), an
            :class:`Objective`, or a list of them (their sum is minimized, "max" ones negated).
        max_trials: trials in all, those of earlier runs of the same project included.
        executions_per_trial: models trained per trial; the trial's score is their mean.
        directory / project_name: the study's folder (``directory/project_name``).
        overwrite: delete that folder first; otherwise an existing search goes on.
        seed: the sampler's seed.
        scheduler / pruner: stops poor trials early from their epoch reports (``ASHAScheduler``,
            ``MedianStoppingRule``...; ``pruner`` is Optuna's name for it).
        n_workers: trials in parallel, each in its own process.
        keep_best_models: weights kept on disk after a search (those of the best trials).
        max_consecutive_failed_trials: the search stops with an error once this many trials failed.
        hyperparameters / tune_new_entries / allow_new_entries: KerasTuner's way to override or
            restrict the space: declarations in ``hyperparameters`` replace the model's own;
            ``tune_new_entries=False`` keeps the others at their defaults; ``allow_new_entries=False``
            makes declaring another one an error.
    """

    def __init__(
        self, hypermodel: Any = None, objective: Any = None, max_trials: int | None = 10,
        executions_per_trial: int = 1, directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None, overwrite: bool = False, seed: int | None = None, *,
        scheduler: Scheduler | None = None, pruner: Scheduler | None = None, n_workers: int = 1,
        keep_best_models: int = 10, max_consecutive_failed_trials: int | None = 3, max_retries_per_trial: int = 0,
        hyperparameters: Hyperparameters | None = None, tune_new_entries: bool = True, allow_new_entries: bool = True,
        **kwargs: Any,
    ) -> None:
        for key in kwargs:
            hint = _UNSUPPORTED.get(key)
            raise TypeError(f"{type(self).__name__} got an unexpected argument {key!r}" + (
                f" (KerasTuner's; not supported by tunesmith.keras_tuner: {hint})" if hint else ""))
        self.hypermodel: HyperModel = as_hypermodel(hypermodel)
        if objective is None:
            raise ValueError("objective= is required, e.g. objective='val_accuracy' or Objective('val_auc', 'max')")
        self.objective: Objective = make_objective(objective)
        _positive("max_trials", max_trials, allow_none=True)
        _positive("executions_per_trial", executions_per_trial)
        _positive("n_workers", n_workers)
        _positive("keep_best_models", keep_best_models)
        if scheduler is not None and pruner is not None:
            raise ValueError("pass scheduler= or pruner= (the same thing by Optuna's name), not both")
        sched = scheduler if scheduler is not None else pruner
        if sched is not None and not isinstance(sched, Scheduler):
            raise TypeError(f"scheduler must be a tunesmith scheduler (ASHAScheduler, ...), got {sched!r}")
        if hyperparameters is not None and not isinstance(hyperparameters, Hyperparameters):
            raise TypeError(f"hyperparameters must be a HyperParameters, got {type(hyperparameters).__name__}")
        #: KerasTuner's ``hyperparameters=`` with its two flags (see ``HyperParameters.restrict``)
        self.restriction = None if hyperparameters is None else (hyperparameters, tune_new_entries, allow_new_entries)
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.seed = seed
        self.n_workers = n_workers
        self.keep_best_models = keep_best_models
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.max_retries_per_trial = max_retries_per_trial
        self.project_name = project_name or "untitled_project"
        self.directory = os.fspath(directory) if directory is not None else "."
        self.project_dir = os.path.abspath(os.path.join(self.directory, self.project_name))
        if overwrite and os.path.exists(self.project_dir):
            shutil.rmtree(self.project_dir)
        os.makedirs(self.project_dir, exist_ok=True)
        # KerasTuner builds the model once with default values to learn the search space.
        self._space = Hyperparameters()
        if self.restriction is not None:
            declared, tune_new, allow_new = self.restriction
            self._space.restrict(declared, tune_new_entries=tune_new, allow_new_entries=allow_new)
        self.hypermodel.declare_hyperparameters(self._space)
        import_keras().backend.clear_session(free_memory=False)
        self.study: Study = create_study(
            self.project_name, f"sqlite:///{os.path.join(self.project_dir, 'study.db')}",
            metric=self.objective.name, mode=self.objective.direction, sampler=self._make_sampler(),
            scheduler=self._make_scheduler(sched), load_if_exists=True,
            artifact_dir=os.path.join(self.project_dir, "artifacts"),
        )
        #: KerasTuner's ``tuner.oracle``: the trials, best first
        self.oracle = Oracle(self)

    # -- what subclasses choose ----------------------------------------------------------------
    def _make_sampler(self) -> Sampler:
        from tunesmith.samplers import RandomSampler

        return RandomSampler(seed=self.seed)

    def _make_scheduler(self, scheduler: Scheduler | None) -> Scheduler | None:
        return scheduler

    def _fit_kwargs(self, fit_kwargs: dict[str, Any]) -> dict[str, Any]:
        return fit_kwargs

    def _total_trials(self) -> int | None:
        return self.max_trials

    # -- search ---------------------------------------------------------------------------------
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Run trials until ``max_trials`` ran (earlier runs count); arguments go to ``model.fit``."""
        verbose = fit_kwargs.get("verbose", 1)
        runner = TrialRunner(self.hypermodel, self.objective, fit_args, self._fit_kwargs(dict(fit_kwargs)),
                             self.executions_per_trial, self.project_dir, self.restriction)
        total = self._total_trials()
        done = sum(1 for t in self.study.trials if t.state.is_finished())
        n_trials = None if total is None else max(0, total - done)
        if n_trials == 0:
            if verbose:
                print(f"Search is done: {done} trials ran in {self.project_dir} (max_trials={total})")
            return
        callbacks = [self._print_trial] if verbose else []
        # Worker processes start as fresh interpreters: this one has run torch (the space's dry run), and
        # a fork after torch's OpenMP threads started hangs in the child.
        options: dict[str, Any] = {"start_method": "spawn"} if self.n_workers > 1 else {}
        self.study.optimize(
            runner, n_trials=n_trials, n_workers=self.n_workers, callbacks=callbacks,
            max_failures=self.max_consecutive_failed_trials, max_retries=self.max_retries_per_trial, **options,
        )
        if n_trials and not any(t.state.is_finished() for t in self.study.trials[done:]):
            raise RuntimeError(
                f"no trial ran in {self.project_dir}: the worker processes could not start the objective; with "
                "n_workers > 1 the build function must be importable there or defined in the script"
            )
        self._drop_weights()

    def _print_trial(self, study: Study, trial: FrozenTrial) -> None:
        duration = trial.duration or 0.0
        value = "pruned" if trial.state == TrialState.PRUNED else trial.value
        try:
            best: Any = study.best_value
        except ValueError:
            best = None
        took = time.strftime("%Hh %Mm %Ss", time.gmtime(duration))
        print(f"\nTrial {trial.number} {trial.state.name.lower()} [{took}]"
              f"\n{self.objective.name}: {value}\nBest {self.objective.name} So Far: {best}")
        sys.stdout.flush()

    def _drop_weights(self) -> None:
        """Keep the weights of the ``keep_best_models`` best trials only."""
        keep = {t.number for t in self._best_frozen(self.keep_best_models)}
        for t in self.study.trials:
            path = weights_path(self.project_dir, t.number)
            if t.number not in keep and t.state.is_finished() and os.path.exists(path):
                os.remove(path)

    # -- results --------------------------------------------------------------------------------
    def _best_frozen(self, n: int) -> list[FrozenTrial]:
        done = [t for t in self.study.trials if t.state == TrialState.COMPLETE and t.value is not None]
        done.sort(key=lambda t: (-t.value if self.objective.direction == "max" else t.value, t.number))  # type: ignore[operator]
        return done[:n]

    def hyperparameters_of(self, trial: FrozenTrial) -> Hyperparameters:
        """A trial's hyperparameters, as ``get_best_hyperparameters`` returns them."""
        return TunerTrial.of(trial).hyperparameters

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[Hyperparameters]:
        """The hyperparameters of the best ``num_trials`` completed trials, best first."""
        return [self.hyperparameters_of(t) for t in self._best_frozen(num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best ``num_models`` trials' models, rebuilt and loaded with their saved weights."""
        models = []
        for t in self._best_frozen(num_models):
            path = weights_path(self.project_dir, t.number)
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"trial {t.number}'s weights are not in {path}; only the best keep_best_models="
                    f"{self.keep_best_models} trials' weights are kept"
                )
            model = self.hypermodel.build(self.hyperparameters_of(t))
            load_weights(model, path)
            models.append(model)
        return models

    def get_trial_dir(self, trial_id: int | str) -> str:
        """The folder of a trial's files (its weights)."""
        return os.path.dirname(weights_path(self.project_dir, int(trial_id)))

    def search_space_summary(self, extended: bool = False) -> None:
        """Print the declared hyperparameters (KerasTuner's format)."""
        print(search_space_summary_text(self._declared_space()))

    def results_summary(self, num_trials: int = 10) -> None:
        """Print the best ``num_trials`` trials: their hyperparameters and scores (KerasTuner's format)."""
        print(results_summary_text(self, self._best_frozen(num_trials), num_trials))

    def _declared_space(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return dict(self._space.space)

    @property
    def remaining_trials(self) -> int | None:
        total = self._total_trials()
        return None if total is None else max(0, total - sum(1 for t in self.study.trials if t.state.is_finished()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(objective={self.objective!r}, project_dir={self.project_dir!r})"


def _positive(name: str, value: Any, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")

