"""Constrained tuning: the most accurate random forest on scikit-learn's digits that fits in 150 KB.

More and deeper trees are more accurate, and larger: the best model overall does not
fit the budget. The sampler is told the constraint (Optuna's ``constraints_func``:
one value per constraint, ``<= 0`` where it holds), computed from what each trial
stores when it ends; it then searches the feasible region, and ``study.best_trial``
is the best *feasible* trial.

    python examples/constrained.py
"""

from __future__ import annotations

import pickle

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import tunesmith
from tunesmith.samplers import TPESampler

BUDGET_KB = 150.0
X, y = load_digits(return_X_y=True)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def objective(trial: tunesmith.Trial) -> float:
    """Validation accuracy; the model's pickled size is kept on the trial for the constraint."""
    model = RandomForestClassifier(
        n_estimators=trial.suggest_int("n_estimators", 5, 200, log=True),
        max_depth=trial.suggest_int("max_depth", 2, 32, log=True),
        min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 16, log=True),
        max_features=trial.suggest_float("max_features", 0.05, 0.5),
        random_state=0, n_jobs=1,
    )
    model.fit(X_train, y_train)
    trial.set_user_attr("size_kb", len(pickle.dumps(model)) / 1024)
    return float(model.score(X_valid, y_valid))


def size_over_budget(trial: tunesmith.FrozenTrial) -> list[float]:
    """One constraint: size - budget, satisfied when <= 0."""
    return [trial.user_attrs["size_kb"] - BUDGET_KB]


if __name__ == "__main__":
    study = tunesmith.create_study(
        direction="maximize", sampler=TPESampler(seed=0, n_startup_trials=10, constraints_func=size_over_budget),
    )
    study.optimize(objective, n_trials=50)
    feasible = [t for t in study.trials if t.constraints is not None and t.constraints[0] <= 0]
    best = study.best_trial
    largest = max(study.trials, key=lambda t: t.value or 0.0)
    print(f"{len(study.trials)} trials, {len(feasible)} within {BUDGET_KB:.0f} KB")
    print(f"best feasible: accuracy {best.value:.4f}, size {best.user_attrs['size_kb']:.1f} KB, {best.params}")
    print(f"most accurate overall: accuracy {largest.value:.4f}, size {largest.user_attrs['size_kb']:.1f} KB")
