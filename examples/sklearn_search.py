"""TuneSearchCV: RandomizedSearchCV's interface, a model-based sampler, worker processes.

Tunes a Pipeline (scaling, then an RBF SVM) on scikit-learn's digits with scipy.stats
distributions, 24 candidates, 3-fold cross-validation, 2 worker processes. The study is
in a temporary SQLite file the workers share, removed when the search is dropped.

    python examples/sklearn_search.py
"""

from __future__ import annotations

import time

import scipy.stats as st
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from tunesmith.sklearn import TuneSearchCV


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    pipe = Pipeline([("scale", StandardScaler()), ("svc", SVC())])
    search = TuneSearchCV(
        pipe,
        {
            "svc__C": st.loguniform(1e-2, 1e3),        # becomes tunesmith.loguniform: the sampler models it
            "svc__gamma": st.loguniform(1e-5, 1e-1),
            "svc__shrinking": [True, False],            # a list: a choice
        },
        n_trials=24, cv=3, n_jobs=2, random_state=0,
    )
    start = time.perf_counter()
    search.fit(X_train, y_train)
    took = time.perf_counter() - start
    print(f"{len(search.cv_results_['params'])} candidates in {took:.1f} s")
    print("best params:", {k: round(v, 5) if isinstance(v, float) else v for k, v in search.best_params_.items()})
    print(f"best cv accuracy {search.best_score_:.4f}")
    print(f"test accuracy {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
