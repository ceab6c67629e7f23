"""Early stopping in searches: partial_fit and warm_start estimators under ASHA / Hyperband."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

pytest.importorskip("sklearn")

import numpy as np
import scipy.stats as st
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import tunesmith
from tunesmith.samplers import RandomSampler
from tunesmith.schedulers import ASHAScheduler, MedianStoppingRule
from tunesmith.sklearn import TuneGridSearchCV, TuneSearchCV
from tunesmith.sklearn._early import Incremental

X, Y = load_digits(return_X_y=True)
XI, YI = load_iris(return_X_y=True)


def _sgd_search(**kwargs: Any) -> TuneSearchCV:
    return TuneSearchCV(SGDClassifier(random_state=0), {"alpha": st.loguniform(1e-6, 1e0)}, n_trials=12, cv=3,
                        sampler=RandomSampler(seed=0), max_iters=9, **kwargs)


def test_asha_over_partial_fit_stops_weak_candidates_and_keeps_the_record() -> None:
    search = _sgd_search(early_stopping=True).fit(X, Y)
    counts = search.study_.count()
    assert counts[tunesmith.TrialState.PRUNED] >= 6 and counts[tunesmith.TrialState.COMPLETE] >= 1
    n_iters = search.cv_results_["n_iters"]
    assert set(n_iters) <= {1, 3, 9} and n_iters.min() == 1 and n_iters.max() == 9  # ASHA's rungs
    assert n_iters[search.best_index_] == 9  # the best ran its whole budget
    assert len(search.cv_results_["params"]) == 12 and not np.isnan(search.cv_results_["mean_test_score"]).any()
    # the refit model trained as it was scored: 9 partial_fit passes (SGD counts them in t_)
    assert search.best_estimator_.t_ == 9 * len(Y) + 1
    assert search.best_score_ > 0.85 and search.score(X, Y) > 0.85
    study = search.study_
    reported = {step for t in study.trials for step, _ in study.storage.get_reports(study.study_id, t.trial_id)}
    assert reported == {1, 3, 9}  # folds are scored only where ASHA decides: its rungs and the last step


def test_without_early_stopping_every_candidate_runs_full_fits() -> None:
    search = _sgd_search().fit(X, Y)
    assert "n_iters" not in search.cv_results_
    assert search.study_.count()[tunesmith.TrialState.COMPLETE] == 12


def test_hyperband_and_a_scheduler_instance() -> None:
    search = _sgd_search(early_stopping="hyperband").fit(X, Y)
    assert search.study_.count()[tunesmith.TrialState.PRUNED] >= 1
    given = MedianStoppingRule(time_attr="training_iteration", grace_period=2, min_samples_required=2)
    ours = _sgd_search(early_stopping=given).fit(X, Y)
    assert ours.study_.scheduler is not given and ours.study_.scheduler.metric == "score"
    study = ours.study_
    longest = max(study.trials, key=lambda t: t.last_step or 0)
    steps = [step for step, _ in study.storage.get_reports(study.study_id, longest.trial_id)]
    assert steps == list(range(1, len(steps) + 1))  # another scheduler hears every step
    assert given.metric is None  # the estimator's own scheduler is left as it was (clone-safe)


def test_warm_start_grows_n_estimators_of_gradient_boosting() -> None:
    gb = GradientBoostingClassifier(n_estimators=30, max_depth=2, random_state=0)
    search = TuneSearchCV(gb, {"learning_rate": st.loguniform(1e-3, 1.0)}, n_trials=6, cv=3, max_iters=3,
                          sampler=RandomSampler(seed=1), early_stopping=ASHAScheduler(max_t=3, reduction_factor=2,
                                                                                       promotion=False))
    search.fit(XI, YI)
    assert set(search.cv_results_["n_iters"]) <= {1, 2, 3}
    assert search.best_estimator_.n_estimators == 30 and not search.best_estimator_.warm_start


def test_histgradientboosting_steps_are_boosting_rounds_and_pipelines_warm_start_their_last_step() -> None:
    assert Incremental.detect(HistGradientBoostingClassifier()) == Incremental("warm_start", "", "max_iter")
    pipe = Pipeline([("scale", StandardScaler()), ("gb", GradientBoostingClassifier(n_estimators=10))])
    assert Incremental.detect(pipe) == Incremental("warm_start", "gb__", "n_estimators")
    search = TuneGridSearchCV(pipe, {"gb__max_depth": [1, 2]}, cv=3, early_stopping=True, max_iters=3).fit(XI, YI)
    assert list(search.cv_results_["n_iters"]) == [3, 3]  # two candidates: ASHA keeps both at the first rung
    assert search.best_score_ > 0.85


def test_a_fit_error_under_early_stopping_scores_error_score() -> None:
    class Breaks(SGDClassifier):
        def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
            if self.alpha > 0.01:
                raise RuntimeError("alpha too large for this test")
            return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    search = TuneGridSearchCV(Breaks(random_state=0), {"alpha": [1e-4, 0.5]}, cv=3, early_stopping=True,
                              max_iters=3, error_score=0.0)
    with pytest.warns(Warning, match="3 fits failed out of a total of 6"):
        search.fit(XI, YI)
    assert list(search.cv_results_["mean_test_score"])[1] == 0.0 and search.best_params_ == {"alpha": 1e-4}
    with pytest.raises(RuntimeError, match="alpha too large"):
        search.set_params(error_score="raise").fit(XI, YI)


class _CountingGB(GradientBoostingClassifier):
    """A real GradientBoostingClassifier that records the n_estimators of every fit call."""

    fits: ClassVar[list[int]] = []

    def fit(self, X: Any, y: Any, **kwargs: Any) -> Any:
        _CountingGB.fits.append(self.n_estimators)
        return super().fit(X, y, **kwargs)


def test_warm_start_models_are_fitted_only_at_the_rungs_and_only_when_they_grow() -> None:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    _CountingGB.fits = []
    gb = _CountingGB(n_estimators=30, max_depth=1, subsample=0.8, random_state=0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = TuneGridSearchCV(gb, {"learning_rate": [0.5]}, cv=cv, early_stopping=True, max_iters=9).fit(XI, YI)
    assert list(search.cv_results_["n_iters"]) == [9]
    # ASHA reads steps 1, 3 and 9: each fold grows to 4, 10, then 30 trees in three fit calls, not nine; then the refit
    assert _CountingGB.fits == [4, 4, 4, 10, 10, 10, 30, 30, 30, 30]
    # growing in three calls builds the same trees as one fit: the scores are the plain model's
    plain = cross_val_score(GradientBoostingClassifier(n_estimators=30, max_depth=1, subsample=0.8, learning_rate=0.5,
                                                       random_state=0), XI, YI, cv=cv)
    assert np.allclose(search.cv_results_["split0_test_score"][0], plain[0])
    assert np.isclose(search.best_score_, plain.mean())

    _CountingGB.fits = []
    small = _CountingGB(n_estimators=3, max_depth=1, random_state=0)
    search = TuneGridSearchCV(small, {"learning_rate": [0.5]}, cv=3, early_stopping=True, max_iters=9).fit(XI, YI)
    # 3 trees over 9 steps: 1 tree at steps 1 and 3 (the second call would add none: skipped), 3 at step 9
    assert _CountingGB.fits == [1, 1, 1, 3, 3, 3, 3] and list(search.cv_results_["n_iters"]) == [9]


def test_steps_after_the_first_skip_repeated_checks_but_the_first_checks_the_data() -> None:
    import sklearn

    from tunesmith.sklearn._early import checked_once

    before = sklearn.get_config()
    with checked_once(1):
        assert sklearn.get_config() == before
    with checked_once(2):
        assert sklearn.get_config()["assume_finite"] and sklearn.get_config()["skip_parameter_validation"]
    assert sklearn.get_config() == before
    bad = XI.copy()
    bad[0, 0] = np.inf  # caught by the first step of every fold holding that row in its training part
    search = TuneGridSearchCV(SGDClassifier(random_state=0), {"alpha": [1e-4]}, cv=3, early_stopping=True,
                              max_iters=3, error_score="raise")
    with pytest.raises(ValueError, match="infinity"):
        search.fit(bad, YI)


def test_the_folds_are_indexed_once_per_process_not_per_trial() -> None:
    import pickle

    from sklearn.metrics import check_scoring

    from tunesmith.sklearn._objective import CrossValObjective
    from tunesmith.sklearn._space import distributions_space

    sgd = SGDClassifier(random_state=0)
    splits = [(np.arange(0, 100), np.arange(100, 150)), (np.arange(50, 150), np.arange(0, 50))]
    objective = CrossValObjective(sgd, distributions_space({"alpha": [1e-4]}), XI, YI, splits,
                                  check_scoring(sgd), "score", {}, False, np.nan, Incremental.detect(sgd), 3)
    folds = objective._fold_data()
    assert objective._fold_data() is folds and len(folds) == 2
    X_train, y_train, X_test, y_test, _ = folds[1]
    assert np.array_equal(X_train, XI[50:150]) and np.array_equal(y_train, YI[50:150])
    assert np.array_equal(X_test, XI[:50]) and np.array_equal(y_test, YI[:50])
    assert "_folds" not in pickle.loads(pickle.dumps(objective)).__dict__  # rebuilt where the objective runs
