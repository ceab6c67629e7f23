"""Tune an SVM on scikit-learn's digits, then look at the study: the README's pictures.

Runs 60 trials (2 worker processes, SQLite), then draws the matplotlib versions of the
plots into ``docs/images/`` (or the folder given), prints the parameter importances and
the learning-curve diagnosis. Needs ``pip install -e ".[sklearn,plot]"``.
"""

from __future__ import annotations

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

import tunesmith
from tunesmith.importance import get_param_importances
from tunesmith.visualization import matplotlib as plots

X, y = load_digits(return_X_y=True)


def objective(trial: tunesmith.Trial) -> float:
    c = trial.suggest_float("C", 1e-3, 1e3, log=True)
    gamma = trial.suggest_float("gamma", 1e-5, 1e-1, log=True)
    kernel = trial.suggest_categorical("kernel", ["rbf", "sigmoid"])
    return float(cross_val_score(SVC(C=c, gamma=gamma, kernel=kernel), X, y, cv=3).mean())


def main(out: str = "docs/images", storage: str = "sqlite:///plots_digits.db") -> None:
    os.makedirs(out, exist_ok=True)
    study = tunesmith.create_study(storage=storage, direction="maximize", metric="accuracy", seed=0)
    study.optimize(objective, n_trials=60, n_workers=2)
    print(f"best accuracy {study.best_value:.4f} with {study.best_params}")
    print("importance:", {k: round(v, 3) for k, v in get_param_importances(study).items()})
    for name, draw in [
        ("history", lambda: plots.plot_optimization_history(study)),
        ("slice", lambda: plots.plot_slice(study, params=["C", "gamma"])),
        ("importance", lambda: plots.plot_param_importances(study)),
    ]:
        draw()
        fig = plt.gcf()
        fig.set_size_inches(6.4, 3.6)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"digits_{name}.png"), dpi=80)
        plt.close("all")
    print(f"pictures in {out}/")


if __name__ == "__main__":
    main(*sys.argv[1:])
