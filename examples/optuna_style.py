"""An Optuna script, run by tunesmith with one line changed: ``import tunesmith as optuna``.

Tunes a scikit-learn MLP on the digits data set with TPE and median pruning over
the epochs, keeps a trained model as an artifact of each trial, then prints the best
trial, the parameter importances and the trials table, as Optuna's tutorials do.

    python examples/optuna_style.py
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import tunesmith as optuna  # the one line that changed: was `import optuna`
from tunesmith.artifacts import get_all_artifact_meta, upload_artifact

X, y = load_digits(return_X_y=True)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_valid = scaler.transform(X_train), scaler.transform(X_valid)
MODELS = tempfile.mkdtemp(prefix="optuna-style-")


def objective(trial: optuna.Trial) -> float:
    hidden = trial.suggest_int("n_units", 16, 128, log=True)
    alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
    lr = trial.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True)
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, learning_rate_init=lr, random_state=0)
    classes = np.unique(y_train)
    for epoch in range(20):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X_train, y_train, classes=classes)
        accuracy = clf.score(X_valid, y_valid)
        trial.report(accuracy, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    path = os.path.join(MODELS, f"mlp-{trial.number}.pkl")
    with open(path, "wb") as f:
        pickle.dump(clf, f)
    upload_artifact(study_or_trial=trial, file_path=path)
    return accuracy


if __name__ == "__main__":
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3),
    )
    study.enqueue_trial({"n_units": 64, "alpha": 1e-4, "learning_rate_init": 1e-3})  # a known good start
    study.optimize(objective, n_trials=30, timeout=300)

    pruned = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.PRUNED])
    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    print("Study statistics:")
    print(f"  Number of finished trials: {len(study.trials)}")
    print(f"  Number of pruned trials: {len(pruned)}")
    print(f"  Number of complete trials: {len(complete)}")
    trial = study.best_trial
    print(f"Best trial: {trial.number}, accuracy {trial.value:.4f}")
    for key, value in trial.params.items():
        print(f"    {key}: {value}")
    print("Saved model:", [m.filename for m in get_all_artifact_meta(trial)])
    print("Importances:", {k: round(v, 3) for k, v in optuna.importance.get_param_importances(study).items()})
    print(study.trials_dataframe(attrs=("number", "value", "params", "state")).tail(5).to_string())
