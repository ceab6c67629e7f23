"""TuneSearchCV / TuneGridSearchCV behave as scikit-learn's searches, on real estimators and data."""

from __future__ import annotations

import gc
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sklearn")

import numpy as np
import scipy.stats as st
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    ParameterGrid,
    RandomizedSearchCV,
    cross_val_predict,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import tunesmith
from tunesmith.samplers import RandomSampler
from tunesmith.sklearn import TuneGridSearchCV, TuneSearchCV

X, Y = load_iris(return_X_y=True)
CV = KFold(3, shuffle=True, random_state=0)


def _same_layout(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The same keys in the same order, each with the same type and dtype."""
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert type(ours[key]) is type(value), key
        if hasattr(value, "dtype"):
            assert ours[key].dtype == value.dtype, key


@pytest.mark.parametrize("grid", [
    {"C": [0.1, 1, 10], "kernel": ["linear", "rbf"]},
    [{"kernel": ["linear"], "C": [0.5, 2]}, {"kernel": ["rbf"], "gamma": [0.1, 1.0], "C": [1]}],
])
def test_grid_search_gives_grid_search_cvs_scores_for_every_candidate(grid: Any) -> None:
    theirs = GridSearchCV(SVC(), grid, cv=CV, return_train_score=True).fit(X, Y)
    ours = TuneGridSearchCV(SVC(), grid, cv=CV, return_train_score=True).fit(X, Y)
    _same_layout(ours.cv_results_, theirs.cv_results_)
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]  # the same candidates, in the same order
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "split0_test_score", "mean_train_score"):
        np.testing.assert_array_equal(ours.cv_results_[key], theirs.cv_results_[key], err_msg=key)
    for key in theirs.cv_results_:
        if key.startswith("param_"):
            assert (ours.cv_results_[key].mask == theirs.cv_results_[key].mask).all()
    assert ours.best_params_ == theirs.best_params_ and ours.best_index_ == theirs.best_index_
    assert ours.best_score_ == theirs.best_score_
    assert ours.n_splits_ == 3 and ours.multimetric_ is False and ours.refit_time_ > 0
    assert (ours.predict(X) == theirs.predict(X)).all() and list(ours.classes_) == [0, 1, 2]


@pytest.mark.parametrize("train", [False, True])
def test_random_search_results_have_randomized_search_cvs_keys_and_dtypes(train: bool) -> None:
    dists = {"C": st.loguniform(1e-2, 1e2), "kernel": ["linear", "rbf"], "degree": st.randint(1, 4)}
    theirs = RandomizedSearchCV(SVC(), dists, n_iter=4, cv=3, random_state=0, return_train_score=train).fit(X, Y)
    ours = TuneSearchCV(SVC(), dists, n_trials=4, cv=3, random_state=0, return_train_score=train).fit(X, Y)
    _same_layout(ours.cv_results_, theirs.cv_results_)
    assert len(ours.cv_results_["params"]) == 4 and len(ours.study_.trials) == 4
    best = int(np.argmax(ours.cv_results_["mean_test_score"]))
    assert ours.best_index_ == best and ours.best_params_ == ours.cv_results_["params"][best]
    assert 1 <= ours.best_params_["degree"] <= 3 and 1e-2 <= ours.best_params_["C"] <= 1e2
    assert ours.study_.best_value == ours.best_score_


def test_a_list_of_distributions_and_an_rvs_only_distribution_end_to_end() -> None:
    dists = [{"kernel": ["linear"], "C": st.expon(scale=2.0)}, {"kernel": ["rbf"], "gamma": st.loguniform(1e-3, 1)}]
    search = TuneSearchCV(SVC(), dists, n_trials=8, cv=3, sampler=RandomSampler(seed=2)).fit(X, Y)
    params = search.cv_results_["params"]
    assert {p["kernel"] for p in params} == {"linear", "rbf"}
    for i, p in enumerate(params):
        assert set(p) == ({"kernel", "C"} if p["kernel"] == "linear" else {"kernel", "gamma"})
        assert bool(search.cv_results_["param_gamma"].mask[i]) == (p["kernel"] == "linear")
        assert p.get("C", 1.0) > 0 and isinstance(p.get("C", 1.0), float)


def test_multi_metric_scoring_with_refit_by_name() -> None:
    scoring = {"acc": "accuracy", "f1": "f1_macro"}
    kwargs: dict[str, Any] = {"cv": 3, "scoring": scoring, "refit": "f1", "return_train_score": True}
    theirs = RandomizedSearchCV(SVC(), {"C": [0.01, 1.0, 100.0]}, n_iter=3, random_state=0, **kwargs).fit(X, Y)
    ours = TuneSearchCV(SVC(), {"C": [0.01, 1.0, 100.0]}, n_trials=3, random_state=0, **kwargs).fit(X, Y)
    _same_layout(ours.cv_results_, theirs.cv_results_)
    assert ours.multimetric_ is True and set(ours.scorer_) == {"acc", "f1"}
    assert ours.best_score_ == max(ours.cv_results_["mean_test_f1"])
    assert ours.study_.metric_names == ["f1"]
    by_c = {p["C"]: s for p, s in zip(theirs.cv_results_["params"], theirs.cv_results_["mean_test_acc"], strict=True)}
    for p, s in zip(ours.cv_results_["params"], ours.cv_results_["mean_test_acc"], strict=True):
        assert by_c[p["C"]] == s  # RandomizedSearchCV tried every C: the same C scores the same


def test_multi_metric_refit_callable_and_false() -> None:
    def lowest_c(results: dict[str, Any]) -> int:
        return int(np.argmin([p["C"] for p in results["params"]]))

    grid = {"C": [0.01, 1, 100]}
    ours = TuneGridSearchCV(SVC(), grid, cv=3, scoring=["accuracy", "f1_macro"], refit=lowest_c).fit(X, Y)
    assert ours.best_params_ == {"C": 0.01} and not hasattr(ours, "best_score_")
    assert hasattr(ours, "best_estimator_")
    off = TuneGridSearchCV(SVC(), grid, cv=3, scoring=["accuracy", "f1_macro"], refit=False).fit(X, Y)
    assert not hasattr(off, "best_index_") and not hasattr(off, "best_estimator_")
    with pytest.raises(ValueError, match="refit must be set to a scorer key"):
        TuneGridSearchCV(SVC(), grid, cv=3, scoring=["accuracy", "f1_macro"]).fit(X, Y)
    with pytest.raises(ValueError, match="unique scorer names"):
        TuneGridSearchCV(SVC(), grid, cv=3, scoring=["accuracy", "accuracy"], refit="accuracy").fit(X, Y)


def test_every_fit_starts_a_fresh_study_unless_asked(tmp_path: Path) -> None:
    search = TuneSearchCV(Ridge(), {"alpha": st.loguniform(1e-3, 1e3)}, n_trials=3, cv=3, random_state=0)
    first = search.fit(X, Y).study_
    second = search.fit(X, Y).study_
    assert first.name != second.name and len(second.trials) == 3 and len(search.cv_results_["params"]) == 3
    storage = f"sqlite:///{tmp_path / 's.db'}"
    go_on = TuneSearchCV(Ridge(), {"alpha": st.loguniform(1e-3, 1e3)}, n_trials=3, cv=3, random_state=0,
                         storage=storage, study_name="ridge", load_if_exists=True)
    go_on.fit(X, Y)
    go_on.fit(X, Y)
    assert len(go_on.study_.trials) == 6 and len(go_on.cv_results_["params"]) == 6
    with pytest.raises(Exception, match="ridge"):
        clone(go_on).set_params(load_if_exists=False).fit(X, Y)  # the name is taken: no silent reuse


def test_seeded_searches_repeat_and_a_sampler_can_be_given() -> None:
    dists = {"alpha": st.loguniform(1e-3, 1e3)}
    a = TuneSearchCV(Ridge(), dists, n_trials=4, cv=3, random_state=3).fit(X, Y)
    b = TuneSearchCV(Ridge(), dists, n_trials=4, cv=3, random_state=3).fit(X, Y)
    assert a.cv_results_["params"] == b.cv_results_["params"]
    sampler = RandomSampler(seed=5)
    c = TuneSearchCV(Ridge(), dists, n_trials=4, cv=3, sampler=sampler).fit(X, Y)
    assert type(c.study_.sampler) is RandomSampler and c.study_.sampler is not sampler  # a copy per fit
    rs = TuneSearchCV(Ridge(), dists, n_trials=2, cv=3, random_state=np.random.RandomState(0)).fit(X, Y)
    assert len(rs.cv_results_["params"]) == 2


def test_clone_pickle_and_the_study_after_unpickling(tmp_path: Path) -> None:
    search = TuneSearchCV(SVC(), {"C": [0.1, 1, 10]}, n_trials=3, cv=3, random_state=0)
    assert clone(search).get_params()["param_distributions"] == {"C": [0.1, 1, 10]}
    search.fit(X, Y)
    again = pickle.loads(pickle.dumps(search))
    assert (again.predict(X) == search.predict(X)).all() and again.best_params_ == search.best_params_
    with pytest.raises(AttributeError, match="held in memory"):
        _ = again.study_
    kept = TuneSearchCV(SVC(), {"C": [0.1, 1, 10]}, n_trials=3, cv=3, random_state=0,
                        storage=f"sqlite:///{tmp_path / 'kept.db'}").fit(X, Y)
    reopened = pickle.loads(pickle.dumps(kept))
    assert reopened.study_.name == kept.study_.name and len(reopened.study_.trials) == 3


def test_pipeline_cross_validate_cross_val_predict_and_nesting() -> None:
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=300))])
    search = TuneSearchCV(pipe, {"clf__C": st.loguniform(1e-2, 1e2)}, n_trials=2, cv=2, sampler=RandomSampler(seed=0))
    out = cross_validate(search, X, Y, cv=2)
    assert out["test_score"].mean() > 0.85
    predicted = cross_val_predict(search, X, Y, cv=2)
    assert predicted.shape == Y.shape and (predicted == Y).mean() > 0.85
    outer = GridSearchCV(search, {"n_trials": [1, 2]}, cv=2).fit(X, Y)
    assert outer.best_estimator_.best_params_["clf__C"] > 0


def test_a_grid_over_pipeline_steps_keeps_the_estimator_objects() -> None:
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SVC())])
    grid = [{"clf": [SVC()], "clf__C": [1, 10]}, {"clf": [LogisticRegression(max_iter=300)]}]
    ours = TuneGridSearchCV(pipe, grid, cv=3).fit(X, Y)
    theirs = GridSearchCV(pipe, grid, cv=3).fit(X, Y)
    np.testing.assert_array_equal(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"])
    assert type(ours.best_estimator_.named_steps["clf"]) is type(theirs.best_estimator_.named_steps["clf"])


class _FailsOnSmallC(SVC):
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        if self.C < 1:
            raise RuntimeError("C too small for this test")
        return super().fit(X, y, sample_weight)


def test_error_score_records_failed_fits_and_raise_stops() -> None:
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 6"):
        ours = TuneGridSearchCV(_FailsOnSmallC(), {"C": [0.5, 2]}, cv=3, error_score=-1.0).fit(X, Y)
    assert list(ours.cv_results_["mean_test_score"][:1]) == [-1.0] and ours.best_params_ == {"C": 2}
    with pytest.raises(RuntimeError, match="C too small"):
        TuneGridSearchCV(_FailsOnSmallC(), {"C": [0.5, 2]}, cv=3, error_score="raise").fit(X, Y)
    with pytest.raises(RuntimeError, match="C too small"):  # raised in a worker process, surfaced here
        TuneGridSearchCV(_FailsOnSmallC(), {"C": [0.5, 2]}, cv=3, error_score="raise", n_jobs=2).fit(X, Y)
    with pytest.raises(ValueError, match="All the 3 fits failed"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        TuneGridSearchCV(_FailsOnSmallC(), {"C": [0.5]}, cv=3).fit(X, Y)


def test_n_jobs_runs_worker_processes_on_a_temporary_sqlite_file_removed_after() -> None:
    search = TuneSearchCV(SVC(), {"C": st.loguniform(1e-2, 1e2)}, n_trials=6, cv=3, random_state=0, n_jobs=2)
    search.fit(X, Y)
    url = search.study_.storage.url
    assert url.startswith("sqlite:///") and len(search.cv_results_["params"]) == 6
    folder = os.path.dirname(url.removeprefix("sqlite:///"))
    assert os.path.isdir(folder)
    search.fit(X, Y)  # the first study is dropped: its folder goes with it
    gc.collect()
    assert not os.path.exists(folder)


def test_grid_n_jobs_matches_serial_grid(tmp_path: Path) -> None:
    grid = {"C": [0.1, 1, 10]}
    serial = TuneGridSearchCV(SVC(), grid, cv=CV).fit(X, Y)
    parallel = TuneGridSearchCV(SVC(), grid, cv=CV, n_jobs=2, storage=f"sqlite:///{tmp_path / 'g.db'}").fit(X, Y)
    assert parallel.cv_results_["params"] == serial.cv_results_["params"]
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])


def test_groups_go_to_the_splitter_and_fit_params_to_each_fit() -> None:
    groups = np.arange(len(Y)) % 5
    grid = {"C": [0.1, 10.0]}
    ours = TuneGridSearchCV(SVC(), grid, cv=GroupKFold(5)).fit(X, Y, groups=groups)
    theirs = GridSearchCV(SVC(), grid, cv=GroupKFold(5)).fit(X, Y, groups=groups)
    np.testing.assert_array_equal(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"])
    weights = np.where(Y == 2, 0.0, 1.0)  # class 2 weighs nothing in the fits
    weighted = TuneGridSearchCV(SVC(), grid, cv=CV).fit(X, Y, sample_weight=weights)
    for params, mean in zip(weighted.cv_results_["params"], weighted.cv_results_["mean_test_score"], strict=True):
        expected = cross_validate(SVC(**params), X, Y, cv=CV, params={"sample_weight": weights})["test_score"]
        assert mean == expected.mean()


def test_timeout_stops_starting_candidates() -> None:
    search = TuneSearchCV(Ridge(), {"alpha": tunesmith.loguniform(0.01, 10)}, n_trials=100_000, cv=3, timeout=1.0,
                          sampler=RandomSampler(seed=0)).fit(X, Y)
    assert 1 <= len(search.cv_results_["params"]) < 100_000


def test_n_iter_is_taken_as_randomized_search_cvs_name() -> None:
    search = TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, n_iter=2, cv=3, random_state=0).fit(X, Y)
    assert len(search.cv_results_["params"]) == 2
    with pytest.raises(ValueError, match="disagree"):
        TuneSearchCV(Ridge(), {"alpha": [0.1]}, n_iter=2, n_trials=3).fit(X, Y)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"n_trials": 0}, ValueError, "n_trials must be a positive integer"),
    ({"max_iters": 0}, ValueError, "max_iters must be a positive integer"),
    ({"timeout": -1}, ValueError, "timeout must be positive"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be"),
    ({"error_score": "ignore"}, ValueError, "error_score must be 'raise' or a number"),
    ({"early_stopping": "median"}, ValueError, "early_stopping must be"),
    ({"sampler": "tpe"}, TypeError, "sampler must be a tunesmith Sampler"),
    ({"random_state": -3}, ValueError, "random_state must be"),
    ({"scoring": 3}, TypeError, "scoring must be"),
])
def test_bad_settings_fail_before_any_trial(kwargs: dict[str, Any], error: type, match: str) -> None:
    search = TuneSearchCV(Ridge(), {"alpha": [1.0]}, cv=3, **kwargs)
    with pytest.raises(error, match=match):
        search.fit(X, Y)


def test_early_stopping_needs_an_estimator_that_trains_in_steps() -> None:
    with pytest.raises(ValueError, match="SVC has neither"):
        TuneSearchCV(SVC(), {"C": [1.0]}, early_stopping=True).fit(X, Y)


def test_verbose_prints_sklearns_line(capsys: pytest.CaptureFixture[str]) -> None:
    TuneGridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=3, verbose=1).fit(X, Y)
    assert "Fitting 3 folds for each of 2 candidates, totalling 6 fits" in capsys.readouterr().out


@pytest.mark.parametrize("n_iter", [6, 9])
def test_lists_only_with_as_many_trials_as_candidates_runs_each_once(n_iter: int) -> None:
    dists = {"C": [0.01, 0.1, 1.0], "fit_intercept": [True, False]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = TuneSearchCV(LogisticRegression(max_iter=300), dists, n_iter=n_iter, cv=CV, random_state=0).fit(X, Y)
    params = search.cv_results_["params"]
    assert params == list(ParameterGrid(dists))  # every candidate once, in the grid's order
    too_many = [w for w in caught if "smaller than n_iter" in str(w.message)]
    assert len(too_many) == (n_iter > 6)
    if too_many:
        assert "total space of parameters 6 is smaller than n_iter=9. Running 6 iterations" in str(too_many[0].message)


def test_tunesmith_log_lines_only_from_verbose_2() -> None:
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = tunesmith.logging.get_logger()
    logger.addHandler(handler)
    try:
        for verbose in (0, 1, 2):
            records.clear()
            TuneSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, n_iter=2, cv=3, verbose=verbose).fit(X, Y)
            trial_lines = [r for r in records if "finished with value" in r.getMessage()]
            assert len(trial_lines) == (2 if verbose == 2 else 0), verbose
            assert any("new study created" in r.getMessage() for r in records) == (verbose == 2)
    finally:
        logger.removeHandler(handler)
    assert tunesmith.logging.get_verbosity() == tunesmith.logging.INFO  # put back after each fit


def test_a_search_in_memory_leaves_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    TuneSearchCV(Ridge(), {"alpha": tunesmith.loguniform(0.01, 10)}, n_trials=2, cv=3).fit(X, Y)
    assert list(tmp_path.iterdir()) == []
