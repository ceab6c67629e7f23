"""Quickstart: tune an SVM on scikit-learn's digits with 2 worker processes.

Five parameters (two log-scaled, a categorical, an integer only the poly kernel uses, a boolean),
40 trials, results kept in ``quickstart.db`` (SQLite) next to where you run it.
Run it again to start a new study in the same file; ``tunesmith ls --storage
sqlite:///quickstart.db`` lists them.

    python examples/quickstart.py
"""

from __future__ import annotations

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

import tunesmith


def train(config: dict) -> None:
    """Three-fold cross-validated accuracy of an SVC with this config."""
    X, y = load_digits(return_X_y=True)
    model = SVC(
        C=config["C"], gamma=config["gamma"], kernel=config["kernel"],
        degree=config["degree"], shrinking=config["shrinking"],
    )
    scores = cross_val_score(model, X / 16.0, y, cv=3)
    tunesmith.report(accuracy=float(scores.mean()), accuracy_std=float(scores.std()))


CONFIG = {
    "C": tunesmith.loguniform(1e-2, 1e3),
    "gamma": tunesmith.loguniform(1e-5, 1e0),
    "kernel": tunesmith.choice(["rbf", "poly", "sigmoid"]),
    "degree": tunesmith.randint(2, 5),  # only used by the poly kernel; inclusive bounds
    "shrinking": tunesmith.choice([True, False]),
}


def main() -> None:
    start = time.time()
    result = tunesmith.run(
        train,
        config=CONFIG,
        num_samples=40,
        metric="accuracy",
        mode="max",
        storage="sqlite:///quickstart.db",
        name=f"svc-digits-{time.strftime('%Y%m%d-%H%M%S')}",
        resources_per_trial={"cpu": 1},
        max_concurrent_trials=2,
        search_alg=tunesmith.samplers.QMCSampler(seed=0),
        progress_reporter=tunesmith.reporting.CLIReporter(metric_columns=["accuracy"], max_progress_rows=12),
    )
    best = result.best_trial
    assert best is not None
    print(f"\n{len(result.trials)} trials in {time.time() - start:.1f} s; stored in quickstart.db")
    print(f"best accuracy {best.last_result['accuracy']:.4f} (trial {best.number}) with")
    for key, value in best.config.items():
        print(f"  {key} = {value!r}")


if __name__ == "__main__":
    main()
