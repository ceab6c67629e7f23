"""The objective a search runs per trial: cross-validate one candidate, keep its per-split results on the trial.

Each trial stores its split scores and times as the user attribute ``sklearn_cv`` (JSON), so
``cv_results_`` is built from the study record alone, whichever process ran the trial. A
candidate is fitted once per split through :func:`sklearn.model_selection.cross_validate`
(its own splitting, fit parameters and scoring), or, with early stopping, trained in steps
on every fold side by side (:class:`~tunesmith.sklearn._early.Incremental`).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunesmith.sklearn._early import Incremental, checked_once
from tunesmith.sklearn._space import CandidateSpace
from tunesmith.trial import Trial

__all__ = ["RESULT_ATTR", "CrossValObjective"]

#: the trial user attribute holding a candidate's per-split results
RESULT_ATTR = "sklearn_cv"

Scorers = Callable[..., Any] | dict[str, Callable[..., Any]]


@dataclass
class CrossValObjective:
    """Cross-validates the candidate of a trial; returns its mean test score of ``refit_metric``."""

    estimator: Any
    space: CandidateSpace
    X: Any
    y: Any
    splits: Sequence[tuple[np.ndarray, np.ndarray]]
    scorers: Scorers  # one scorer, or a dict of them (multi-metric)
    refit_metric: str  # the name of the score the study maximizes ("score" for one scorer)
    fit_params: dict[str, Any]
    return_train_score: bool
    error_score: Any
    incremental: Incremental | None = None
    max_iters: int = 1
    #: the steps at which folds are scored and the score reported (None: every step; the last always)
    report_at: frozenset[int] | None = None

    def __call__(self, trial: Trial) -> float:
        from sklearn.base import clone

        params = self.space.estimator_params(trial.params)
        estimator = clone(self.estimator).set_params(**clone(params, safe=False))
        if self.incremental is None:
            record = self._fit_each_split(estimator)
        else:
            record = self._train_in_steps(estimator, trial)
        trial.set_user_attr(RESULT_ATTR, record)
        return float(np.mean(record["test"][self.refit_metric]))

    # -- one fit per split ----------------------------------------------------------------
    def _fit_each_split(self, estimator: Any) -> dict[str, Any]:
        from sklearn.model_selection import cross_validate

        names = self._names()
        record = _empty(names, self.return_train_score)
        for train, test in self.splits:
            start = time.perf_counter()
            try:
                # error_score as given: a scoring error scores error_score (with sklearn's warning), a fit
                # error raises, as it is the split's only fit ("All the 1 fits failed")
                out = cross_validate(
                    estimator, self.X, self.y, scoring=self.scorers, cv=[(train, test)], params=self.fit_params,
                    return_train_score=self.return_train_score, error_score=self.error_score,
                )
            except ValueError as e:
                if self.error_score == "raise" or "fits failed" not in str(e):
                    raise
                _failed(record, names, time.perf_counter() - start, self.error_score, str(e).strip())
                continue
            record["fit_time"].append(float(out["fit_time"][0]))
            record["score_time"].append(float(out["score_time"][0]))
            for name in names:
                key = name if isinstance(self.scorers, dict) else "score"
                record["test"][name].append(float(out[f"test_{key}"][0]))
                if self.return_train_score:
                    record["train"][name].append(float(out[f"train_{key}"][0]))
        return record

    def _names(self) -> list[str]:
        return list(self.scorers) if isinstance(self.scorers, dict) else ["score"]

    # -- early stopping: every fold trained in steps ------------------------------------------
    def _train_in_steps(self, estimator: Any, trial: Trial) -> dict[str, Any]:
        from sklearn.base import clone, is_classifier

        inc = self.incremental
        assert inc is not None
        names = self._names()
        record = _empty(names, self.return_train_score)
        classes = self._classes() if is_classifier(estimator) else None
        full = inc.full_resource(estimator)
        folds = []  # each fold's model and data
        for data in self._fold_data():
            model = clone(estimator)
            inc.prepare(model)
            folds.append((model, *data))
        fit_times = [0.0] * len(folds)
        refit_scorer = self.scorers[self.refit_metric] if isinstance(self.scorers, dict) else self.scorers
        step = 0
        scores: list[float] = []
        for step in range(1, self.max_iters + 1):
            scores = []
            scored = self.report_at is None or step in self.report_at or step == self.max_iters
            if not scored and inc.method == "warm_start":
                continue  # grown at the next scored step in one fit call, not one call per step
            try:
                with checked_once(step):
                    for i, (model, X_train, y_train, X_test, y_test, fit_params) in enumerate(folds):
                        start = time.perf_counter()
                        inc.step(model, X_train, y_train, step, self.max_iters, full, fit_params, classes)
                        fit_times[i] += time.perf_counter() - start
                        if scored:
                            scores.append(refit_scorer(model, X_test, y_test))
            except Exception:  # the estimator's fit or scoring: every fold scores error_score
                if self.error_score == "raise":
                    raise
                error = traceback.format_exc()
                for i in range(len(folds)):
                    _failed(record, names, fit_times[i], self.error_score, error)
                record["n_iters"] = step
                return record
            if not scored:
                continue
            # the step and the elapsed time too, so that a scheduler with Ray Tune's time_attr finds them
            metrics: dict[str, Any] = {self.refit_metric: float(np.mean(scores)), "training_iteration": step,
                                       "time_total_s": trial.elapsed}
            trial.report(step, **metrics)
            if trial.should_stop():
                break
        for i, (model, X_train, y_train, X_test, y_test, _) in enumerate(folds):
            start = time.perf_counter()
            # one scorer: the last step's scores are the final ones
            test_scores = {"score": float(scores[i])} if not isinstance(self.scorers, dict) else self._score_all(
                model, X_test, y_test)
            train_scores = self._score_all(model, X_train, y_train) if self.return_train_score else {}
            record["score_time"].append(time.perf_counter() - start)
            record["fit_time"].append(fit_times[i])
            for name in names:
                record["test"][name].append(test_scores[name])
                if self.return_train_score:
                    record["train"][name].append(train_scores[name])
        record["n_iters"] = step
        return record

    def _fold_data(self) -> list[tuple[Any, Any, Any, Any, dict[str, Any]]]:
        """Each split's (X_train, y_train, X_test, y_test, fit_params), indexed once per process, not per trial."""
        cached = self.__dict__.get("_folds")
        if cached is None:
            from sklearn.utils import _safe_indexing

            n = _num_samples(self.X)
            cached = []
            for train, test in self.splits:
                fit_params = {k: _safe_indexing(v, train) if _aligned(v, n) else v for k, v in self.fit_params.items()}
                cached.append((_safe_indexing(self.X, train), _part(self.y, train), _safe_indexing(self.X, test),
                               _part(self.y, test), fit_params))
            self.__dict__["_folds"] = cached
        return cached

    def _classes(self) -> Any:
        """The classes of ``y`` (passed to the first ``partial_fit``), computed once."""
        if "_classes_of_y" not in self.__dict__:
            self.__dict__["_classes_of_y"] = None if self.y is None else np.unique(self.y)
        return self.__dict__["_classes_of_y"]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)  # the caches are rebuilt where the objective runs
        state.pop("_folds", None)
        state.pop("_classes_of_y", None)
        return state

    def _score_all(self, model: Any, X: Any, y: Any) -> dict[str, float]:
        out: dict[str, float] = {}
        scorers = self.scorers if isinstance(self.scorers, dict) else {"score": self.scorers}
        for name, scorer in scorers.items():
            try:
                out[name] = float(scorer(model, X, y))
            except Exception:
                if self.error_score == "raise":
                    raise
                out[name] = float(self.error_score)
        return out


def _empty(names: Sequence[str], train: bool) -> dict[str, Any]:
    return {"fit_time": [], "score_time": [], "test": {n: [] for n in names}, "train": {n: [] for n in names} if train
            else None, "errors": []}


def _failed(record: dict[str, Any], names: Sequence[str], fit_time: float, error_score: Any, error: str | None) -> None:
    """A split whose fit (or scoring) raised: ``error_score`` for its scores, as scikit-learn records it."""
    record["fit_time"].append(fit_time)
    record["score_time"].append(0.0)
    for name in names:
        record["test"][name].append(float(error_score))
        if record["train"] is not None:
            record["train"][name].append(float(error_score))
    record["errors"].append(error if error is not None else (record["errors"][-1] if record["errors"] else ""))


def _num_samples(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else len(X)


def _aligned(value: Any, n: int) -> bool:
    """Whether a fit parameter has one entry per sample (split with the data, as scikit-learn does)."""
    try:
        return not isinstance(value, (str, bytes, Mapping)) and hasattr(value, "__len__") and len(value) == n
    except TypeError:
        return False


def _part(y: Any, index: np.ndarray) -> Any:
    from sklearn.utils import _safe_indexing

    return None if y is None else _safe_indexing(y, index)
