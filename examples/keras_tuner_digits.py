"""A KerasTuner script on tunesmith: ``import tunesmith.keras_tuner as keras_tuner`` is the one change.

Tunes a small Keras network (torch backend, CPU) on scikit-learn's digits with
Bayesian optimization, stops poor trials early with ASHA over the epochs, then
prints the summaries and evaluates the best model on held-out digits. Run it twice:
the second run finds the search done in ``keras_tuner_runs/digits`` and only reports.

    python examples/keras_tuner_digits.py [--fresh]
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on torch; set before keras is imported

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tunesmith.keras_tuner as keras_tuner  # the one line that changed: was `import keras_tuner`
from tunesmith.schedulers import ASHAScheduler

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype("float32")
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def build_model(hp: keras_tuner.HyperParameters) -> keras.Model:
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 128, step=16), activation="relu"))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(10, activation="softmax"))
    lr = hp.Float("lr", 1e-4, 3e-2, sampling="log")
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


tuner = keras_tuner.BayesianOptimization(
    build_model, objective="val_accuracy", max_trials=8, num_initial_points=4, seed=0,
    directory="keras_tuner_runs", project_name="digits", overwrite="--fresh" in sys.argv,
    scheduler=ASHAScheduler(max_t=6, grace_period=2, reduction_factor=2),  # beyond KerasTuner: early stopping
)
tuner.search_space_summary()
tuner.search(X_train, y_train, epochs=6, batch_size=64, validation_split=0.2, verbose=0)
tuner.results_summary(num_trials=3)

states = [t.state.name for t in tuner.study.trials]
print(f"\n{len(states)} trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} stopped early")
best_hp = tuner.get_best_hyperparameters(1)[0]
print(f"best hyperparameters: {best_hp.values}")
best_model = tuner.get_best_models(1)[0]
loss, accuracy = best_model.evaluate(X_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
