"""``TuneSearchCV`` and ``TuneGridSearchCV``: scikit-learn's search estimators, run as a tunesmith study.

Each ``fit`` creates a study (a new one unless ``load_if_exists`` names one to go on with),
runs one trial per candidate (its cross-validation), and builds ``cv_results_``, ``best_*``
and the refit estimator as ``RandomizedSearchCV``/``GridSearchCV`` do. The sampler chooses the
candidates (the default AutoSampler: random, then a GP or TPE), a scheduler may stop the weak
ones early, and ``n_jobs > 1`` runs trials in worker processes sharing a storage.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import os
import shutil
import tempfile
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection._search import BaseSearchCV

from tunesmith import logging as tslogging
from tunesmith.samplers import Sampler
from tunesmith.sklearn._early import Incremental, checked_once, make_scheduler, report_steps
from tunesmith.sklearn._objective import RESULT_ATTR, CrossValObjective
from tunesmith.sklearn._results import cv_results
from tunesmith.sklearn._space import CandidateSpace, distributions_space, finite_size, grid_space
from tunesmith.study import Study

__all__ = ["TuneGridSearchCV", "TuneSearchCV"]


class _TuneSearch(BaseSearchCV):
    """What both searches share: ``fit`` runs a study; prediction and scoring come from BaseSearchCV."""

    # -- per class ---------------------------------------------------------------------------
    def _candidate_space(self) -> CandidateSpace:
        raise NotImplementedError

    def _sampler(self) -> tuple[Sampler | None, int | None]:
        """(the sampler, or None for the default; the default sampler's seed)."""
        raise NotImplementedError

    def _n_trials(self, space: CandidateSpace, done: int) -> int:
        """Trials to run, given ``done`` trials already in the study."""
        raise NotImplementedError

    def _run_search(self, evaluate_candidates: Any, **kwargs: Any) -> None:  # BaseSearchCV's hook: unused
        raise RuntimeError(f"{type(self).__name__}.fit runs a tunesmith study; it does not call _run_search")

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **params: Any) -> Any:
        """Run a study over the candidates, then refit the best on all of (X, y).

        ``params`` go to the estimator's ``fit`` (per-sample arrays split with the data);
        ``groups`` goes to the cross-validation splitter.
        """
        from sklearn.base import clone, is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils import indexable

        self._check_settings()
        groups = params.pop("groups", None)
        X, y = indexable(X, y)
        space = self._candidate_space()
        scorers, refit_metric, multimetric = self._scorers()
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        n_splits = cv.get_n_splits(X, y, groups)
        splits = list(cv.split(X, y, groups))
        if len(splits) != n_splits:
            raise ValueError(f"cv.split and cv.get_n_splits disagree: {len(splits)} splits, not {n_splits}")
        incremental = None if not self.early_stopping else Incremental.detect(self.estimator)
        scheduler = make_scheduler(self.early_stopping, self.max_iters, refit_metric)
        with self._logging():
            study = self._open_study(refit_metric, scheduler)
        n_trials = self._n_trials(space, len(study.trials))
        study.set_space(space.config)
        objective = CrossValObjective(
            self.estimator, space, X, y, splits, scorers, refit_metric, params, self.return_train_score,
            self.error_score, incremental, self.max_iters, report_steps(scheduler, self.max_iters),
        )
        if self.verbose > 0:
            print(f"Fitting {n_splits} folds for each of {n_trials} candidates, totalling {n_splits * n_trials} fits")
        workers = self._workers()
        # Fit and scoring errors are handled per split (error_score); anything else is a bug to raise.
        with self._logging():
            study.optimize(objective, n_trials=n_trials, timeout=self.timeout,
                           n_workers=workers if workers > 1 else None, catch=())
        self._study = study
        results, n_iters = self._results(study, space, n_splits, refit_metric)
        self.multimetric_ = multimetric
        self.n_splits_ = n_splits
        self.scorer_ = scorers
        self.cv_results_ = results
        if self.refit or not multimetric:
            self.best_index_ = self._best_index(results, refit_metric, n_iters)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]  # a NumPy float, as sklearn's
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(**clone(self.best_params_, safe=False))
            start = time.perf_counter()
            if incremental is not None and incremental.method == "partial_fit":
                # trained as it was scored: the same number of partial_fit passes, on all the data
                classes = np.unique(y) if is_classifier(self.estimator) and y is not None else None
                for step in range(1, int(n_iters[self.best_index_]) + 1):
                    with checked_once(step):
                        incremental.step(self.best_estimator_, X, y, step, self.max_iters, None, params, classes)
            elif y is None:
                self.best_estimator_.fit(X, **params)
            else:
                self.best_estimator_.fit(X, y, **params)
            self.refit_time_ = time.perf_counter() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        return self

    # -- the study ---------------------------------------------------------------------------
    def _logging(self) -> contextlib.AbstractContextManager[None]:
        """tunesmith's INFO lines (a line per candidate) only from ``verbose=2``, as scikit-learn prints them."""
        return tslogging.quieter() if self.verbose < 2 else contextlib.nullcontext()

    def _open_study(self, metric: str, scheduler: Any) -> Study:
        from tunesmith.study import create_study

        storage, artifacts, temporary = self.storage, None, None
        if storage is None and self._workers() > 1:
            # worker processes share a study through a file: a temporary one, removed with the study
            temporary = tempfile.mkdtemp(prefix="tunesmith-sklearn-")
            storage = f"sqlite:///{os.path.join(temporary, 'search.db')}"
            artifacts = os.path.join(temporary, "artifacts")
        sampler, seed = self._sampler()
        study = create_study(
            name=self.study_name, storage=storage, metric=metric, mode="max", sampler=sampler, seed=seed,
            scheduler=scheduler, load_if_exists=self.load_if_exists, artifact_dir=artifacts,
        )
        self.__dict__.pop("_study_ref", None)
        self._study_kept = temporary is None and study.storage.url is not None
        if temporary is not None:
            weakref.finalize(study, _remove, temporary, os.getpid())
        return study

    @property
    def study_(self) -> Study:
        """The study of the last ``fit``: its trials, best trial, dataframe, plots.

        After unpickling, a study kept in a named storage is reopened from it; one held in
        memory or in the temporary file of ``n_jobs > 1`` without ``storage`` is not kept.
        """
        study = self.__dict__.get("_study")
        if study is None:
            ref = self.__dict__.get("_study_ref")
            if ref is None:
                raise AttributeError(
                    f"{type(self).__name__} has no study_: it is not fitted, or it was unpickled and its study was "
                    "held in memory (pass storage='sqlite:///search.db' to keep it)"
                )
            from tunesmith.study import load_study

            study = self._study = load_study(ref[1], ref[0])
        return study

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        study = state.pop("_study", None)  # a Study holds connections; its storage URL and name travel instead
        if study is not None and state.get("_study_kept"):
            state["_study_ref"] = (study.storage.url, study.name)
        return state

    def _results(
        self, study: Study, space: CandidateSpace, n_splits: int, refit_metric: str,
    ) -> tuple[dict[str, Any], np.ndarray]:
        rows = [t for t in study.trials if t.state.is_finished() and RESULT_ATTR in t.user_attrs]
        if not rows:
            raise ValueError(
                "no candidate was evaluated"
                + (f" within timeout={self.timeout!r} seconds" if self.timeout is not None else "")
            )
        records = [t.user_attrs[RESULT_ATTR] for t in rows]
        names = list(records[0]["test"])
        candidate_params = [space.estimator_params(space.external(t.internal_params)) for t in rows]
        n_iters = np.array([r.get("n_iters", self.max_iters) for r in records], dtype=int)
        results = cv_results(
            candidate_params,
            fit_time=np.array([r["fit_time"] for r in records], dtype=float),
            score_time=np.array([r["score_time"] for r in records], dtype=float),
            test={n: np.array([r["test"][n] for r in records], dtype=float) for n in names},
            train={n: np.array([r["train"][n] for r in records], dtype=float) for n in names}
            if self.return_train_score else None,
            extra={"n_iters": n_iters} if self.early_stopping else None,
        )
        failed = [e for r in records for e in r["errors"]]
        total = len(records) * n_splits
        if failed and len(failed) == total:
            raise ValueError(f"All the {total} fits failed. The first error:\n{failed[0]}")
        if failed:
            from sklearn.exceptions import FitFailedWarning

            warnings.warn(
                f"\n{len(failed)} fits failed out of a total of {total}; their scores are error_score="
                f"{self.error_score!r}. The first error:\n{failed[0]}", FitFailedWarning, stacklevel=3,
            )
        return results, n_iters

    def _best_index(self, results: dict[str, Any], refit_metric: str, n_iters: np.ndarray) -> int:
        if callable(self.refit):
            best = self.refit(results)
            if not isinstance(best, numbers.Integral):
                raise TypeError(f"refit returned {best!r}; a callable refit must return the index of a candidate")
            if not 0 <= int(best) < len(results["params"]):
                raise IndexError(f"refit returned index {best}, outside the {len(results['params'])} candidates")
            return int(best)
        ranks = np.asarray(results[f"rank_test_{refit_metric}"], dtype=float)
        if self.early_stopping:
            # a candidate stopped early was scored with less training: the best is one that ran its budget
            ranks = np.where(n_iters >= n_iters.max(), ranks, np.inf)
        return int(np.argmin(ranks))

    # -- settings ------------------------------------------------------------------------------
    def _workers(self) -> int:
        n = self.n_jobs
        if n is None:
            return 1
        cpus = os.cpu_count() or 1
        return max(1, cpus + 1 + n if n < 0 else n)

    def _scorers(self) -> tuple[Any, str, bool]:
        """(scorer or dict of scorers, the name of the score the study maximizes, multi-metric?)."""
        from sklearn.metrics import check_scoring, get_scorer

        scoring = self.scoring
        if callable(scoring):
            return scoring, "score", False
        if scoring is None or isinstance(scoring, str):
            return check_scoring(self.estimator, scoring), "score", False
        if isinstance(scoring, (list, tuple, set, frozenset)):
            names = list(scoring)
            if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
                raise ValueError(f"scoring: a list of scorers needs unique scorer names (str), got {scoring!r}")
            scorers: dict[str, Callable[..., Any]] = {n: get_scorer(n) for n in names}
        elif isinstance(scoring, dict):
            if not scoring or not all(isinstance(k, str) for k in scoring):
                raise ValueError(f"scoring: a dict of scorers needs str keys, got {scoring!r}")
            scorers = {k: get_scorer(v) if isinstance(v, str) else v for k, v in scoring.items()}
        else:
            raise TypeError(f"scoring must be None, a str, a callable, a list or a dict, got {type(scoring).__name__}")
        if self.refit is not False and not callable(self.refit) and not (
            isinstance(self.refit, str) and self.refit in scorers
        ):
            raise ValueError(
                f"For multi-metric scoring, the parameter refit must be set to a scorer key ({sorted(scorers)}) or a "
                f"callable to refit an estimator with the best parameter setting on the whole data and make the "
                f"best_* attributes available for that metric. If this is not needed, refit should be set to False "
                f"explicitly. {self.refit!r} was passed."
            )
        return scorers, self.refit if isinstance(self.refit, str) else next(iter(scorers)), True

    def _check_settings(self) -> None:
        if not callable(getattr(self.estimator, "fit", None)):
            raise TypeError(f"estimator must have a fit method, got {self.estimator!r}")
        n = self.n_jobs
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n == 0):
            raise ValueError(f"n_jobs must be None, a positive integer or a negative one (-1: all CPUs), got {n!r}")
        m = self.max_iters
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or int(m) < 1:
            raise ValueError(f"max_iters must be a positive integer, got {m!r}")
        if self.timeout is not None and not (isinstance(self.timeout, numbers.Real) and float(self.timeout) > 0):
            raise ValueError(f"timeout must be positive seconds or None, got {self.timeout!r}")
        if not (self.error_score == "raise" or isinstance(self.error_score, numbers.Real)):
            raise ValueError(f"error_score must be 'raise' or a number, got {self.error_score!r}")
        if not (isinstance(self.refit, (bool, str)) or callable(self.refit)):
            raise TypeError(f"refit must be a bool, a scorer name or a callable, got {self.refit!r}")
        if self.sampler is not None and not isinstance(self.sampler, Sampler):
            raise TypeError(f"sampler must be a tunesmith Sampler, got {type(self.sampler).__name__}")
        make_scheduler(self.early_stopping, int(m), "score")  # its error names the bad value


def _remove(path: str, owner: int) -> None:
    """Remove a temporary study folder, in the process that made it (not a forked worker)."""
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def _seed(random_state: Any) -> int | None:
    """A tunesmith seed from scikit-learn's ``random_state`` (None, an int, a RandomState or a Generator)."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state!r}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {random_state!r}")


class TuneSearchCV(_TuneSearch):
    """``RandomizedSearchCV`` driven by a tunesmith sampler (default: AutoSampler), with early stopping.

    Args:
        estimator: the estimator (or Pipeline) whose parameters are searched.
        param_distributions: a dict (or a list of dicts, one taken per candidate) of lists,
            scipy.stats distributions and tunesmith distributions (``tunesmith.loguniform``...).
        n_trials: candidates to evaluate (``n_iter``, RandomizedSearchCV's name, is taken too).
            Where ``param_distributions`` holds only lists and ``n_trials`` is at least the number
            of candidates, each runs once (with RandomizedSearchCV's warning when it is more);
            with fewer trials the sampler chooses, and may come back to a candidate.
        scoring, cv, refit, return_train_score, error_score, verbose: as in RandomizedSearchCV;
            ``refit`` names the score the study maximizes when there are several; tunesmith's
            line per candidate is logged from ``verbose=2``.
        n_jobs: trials run in parallel (worker processes; -1: one per CPU).
        random_state: seeds the default sampler (ignored when ``sampler`` is given).
        sampler: a tunesmith sampler (``TPESampler(seed=0)``, ``RandomSampler()``...).
        early_stopping: False, True or ``"asha"``, ``"hyperband"``, or a tunesmith scheduler: train
            candidates in ``max_iters`` steps (``partial_fit`` passes, or a growing
            ``n_estimators``/``max_iter`` with ``warm_start``) and stop the weak ones.
        timeout: stop starting candidates after this many seconds.
        storage / study_name / load_if_exists: keep the study (``"sqlite:///search.db"``); each fit
            starts a new study unless ``load_if_exists`` reopens ``study_name`` to go on with it.

    >>> import scipy.stats as st
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> search = TuneSearchCV(LogisticRegression(max_iter=500), {"C": st.loguniform(1e-3, 1e2)}, n_trials=5,
    ...                       cv=3, random_state=0).fit(X, y)
    >>> len(search.cv_results_["params"]), bool(search.best_score_ > 0.9)
    (5, True)
    """

    def __init__(
        self, estimator: Any, param_distributions: Any, *, n_trials: int = 10, scoring: Any = None, cv: Any = None,
        n_jobs: int | None = None, refit: Any = True, return_train_score: bool = False, random_state: Any = None,
        sampler: Sampler | None = None, early_stopping: Any = False, max_iters: int = 10,
        timeout: float | None = None, storage: Any = None, study_name: str | None = None,
        load_if_exists: bool = False, error_score: Any = np.nan, verbose: int = 0, n_iter: int | None = None,
        pre_dispatch: Any = "2*n_jobs",
    ) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.scoring = scoring
        self.cv = cv
        self.n_jobs = n_jobs
        self.refit = refit
        self.return_train_score = return_train_score
        self.random_state = random_state
        self.sampler = sampler
        self.early_stopping = early_stopping
        self.max_iters = max_iters
        self.timeout = timeout
        self.storage = storage
        self.study_name = study_name
        self.load_if_exists = load_if_exists
        self.error_score = error_score
        self.verbose = verbose
        self.n_iter = n_iter
        self.pre_dispatch = pre_dispatch

    def _candidate_space(self) -> CandidateSpace:
        size, n = finite_size(self.param_distributions), self._trials()
        if size and n >= size:
            # Lists only, and as many trials as candidates: each once, as ParameterSampler does
            # (a sampler's draws would repeat some and miss others).
            if n > size:
                warnings.warn(
                    f"The total space of parameters {size} is smaller than n_iter={n}. Running {size} iterations. "
                    "For exhaustive searches, use TuneGridSearchCV.", UserWarning, stacklevel=3,
                )
            return grid_space(self.param_distributions)
        return distributions_space(self.param_distributions)

    def _trials(self) -> int:
        n = self.n_trials if self.n_iter is None else self.n_iter
        if self.n_iter is not None and self.n_trials not in (10, self.n_iter):
            raise ValueError(f"n_trials={self.n_trials!r} and n_iter={self.n_iter!r} disagree; pass one of them")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_trials must be a positive integer, got {n!r}")
        return int(n)

    def _check_settings(self) -> None:
        super()._check_settings()
        self._trials()

    def _sampler(self) -> tuple[Sampler | None, int | None]:
        if self.sampler is not None:
            return copy.deepcopy(self.sampler), None
        return None, _seed(copy.deepcopy(self.random_state))

    def _n_trials(self, space: CandidateSpace, done: int) -> int:
        return max(0, len(space) - done) if space.exhaustive else self._trials()


class TuneGridSearchCV(_TuneSearch):
    """``GridSearchCV`` as a tunesmith study: every candidate of ``param_grid`` once (a list of grids too).

    Takes GridSearchCV's arguments, plus ``early_stopping``/``max_iters``, ``timeout`` and the
    study's ``storage``/``study_name``/``load_if_exists`` (see :class:`TuneSearchCV`). Trial *k*
    evaluates ``ParameterGrid(param_grid)[k]``, so ``cv_results_`` lists the candidates in
    GridSearchCV's order and, with the same ``cv``, gives the same scores.

    >>> from sklearn.datasets import load_iris
    >>> from sklearn.svm import SVC
    >>> X, y = load_iris(return_X_y=True)
    >>> search = TuneGridSearchCV(SVC(), {"C": [0.1, 1, 10], "kernel": ["linear", "rbf"]}, cv=3).fit(X, y)
    >>> len(search.cv_results_["params"]), search.best_params_["C"] in (0.1, 1, 10)
    (6, True)
    """

    def __init__(
        self, estimator: Any, param_grid: Any, *, scoring: Any = None, n_jobs: int | None = None, refit: Any = True,
        cv: Any = None, verbose: int = 0, pre_dispatch: Any = "2*n_jobs", error_score: Any = np.nan,
        return_train_score: bool = False, early_stopping: Any = False, max_iters: int = 10,
        timeout: float | None = None, storage: Any = None, study_name: str | None = None,
        load_if_exists: bool = False,
    ) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.cv = cv
        self.verbose = verbose
        self.pre_dispatch = pre_dispatch
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.early_stopping = early_stopping
        self.max_iters = max_iters
        self.timeout = timeout
        self.storage = storage
        self.study_name = study_name
        self.load_if_exists = load_if_exists

    sampler = None  # the grid enumerates itself: every sampler runs grid_search axes in order

    def _candidate_space(self) -> CandidateSpace:
        return grid_space(self.param_grid)

    def _sampler(self) -> tuple[Sampler | None, int | None]:
        from tunesmith.samplers import RandomSampler

        return RandomSampler(seed=0), None

    def _n_trials(self, space: CandidateSpace, done: int) -> int:
        return max(0, len(space) - done)
