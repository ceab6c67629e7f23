"""A Ray Tune 1.x script on scikit-learn's digits, run with ``from tunesmith import tune``.

Written as for Ray Tune's classic API: a function trainable (``tune.report``,
``tune.checkpoint_dir``) searched with ASHA, then a ``tune.Trainable`` class trained
with population-based training, whose ``hyperparam_mutations`` names ``lr`` although
the config holds it constant (PBT explores it, as in Ray's ``pbt_function`` example).
The model is a softmax regression in numpy, trained by minibatch SGD with momentum.
The only line that differs from the Ray script is the import.

    python examples/ray_tune_classic.py [--smoke-test]
"""

from __future__ import annotations

import argparse
import os
import pickle

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from tunesmith import tune


def load_data():
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.2, random_state=0)
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


class SoftmaxModel:
    """Multinomial logistic regression: weights, bias and the momentum buffers."""

    def __init__(self, n_features=64, n_classes=10, seed=0):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 0.01, (n_features, n_classes))
        self.b = np.zeros(n_classes)
        self.vw = np.zeros_like(self.w)
        self.vb = np.zeros_like(self.b)

    def probabilities(self, x):
        z = x @ self.w + self.b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def train_epoch(self, x, y, lr, momentum, batch_size, rng):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            p = self.probabilities(x[idx])
            p[np.arange(len(idx)), y[idx]] -= 1.0  # d(cross-entropy)/dz
            gw, gb = x[idx].T @ p / len(idx), p.mean(axis=0)
            self.vw = momentum * self.vw - lr * gw
            self.vb = momentum * self.vb - lr * gb
            self.w += self.vw
            self.b += self.vb

    def state(self):
        return {"w": self.w, "b": self.b, "vw": self.vw, "vb": self.vb}

    @classmethod
    def from_state(cls, state):
        model = cls()
        model.__dict__.update(state)
        return model

    def evaluate(self, x, y):
        p = self.probabilities(x)
        loss = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
        return loss, float(np.mean(p.argmax(axis=1) == y))


# -- 1. a function trainable, searched with ASHA ---------------------------------------
def train_digits(config, checkpoint_dir=None, max_epochs=10):
    (x, y), (xv, yv), _ = load_data()
    model, start = SoftmaxModel(), 0
    if checkpoint_dir:
        with open(os.path.join(checkpoint_dir, "model.pkl"), "rb") as f:
            state, start = pickle.load(f)
        model = SoftmaxModel.from_state(state)
    rng = np.random.default_rng(start)
    for epoch in range(start, max_epochs):
        model.train_epoch(x, y, config["lr"], config["momentum"], config["batch_size"], rng)
        loss, accuracy = model.evaluate(xv, yv)
        with tune.checkpoint_dir(step=epoch) as d:
            with open(os.path.join(d, "model.pkl"), "wb") as f:
                pickle.dump((model.state(), epoch + 1), f)
        tune.report(loss=loss, mean_accuracy=accuracy)


# -- 2. a class trainable, trained with population-based training ------------------------
class DigitsTrainable(tune.Trainable):
    def setup(self, config):
        (self.x, self.y), (self.xv, self.yv), _ = load_data()
        self.model = SoftmaxModel(seed=None)  # each trial its own start and batches
        self.rng = np.random.default_rng()
        self.config = config

    def step(self):
        c = self.config
        self.model.train_epoch(self.x, self.y, c["lr"], c["momentum"], c["batch_size"], self.rng)
        loss, accuracy = self.model.evaluate(self.xv, self.yv)
        return {"loss": loss, "mean_accuracy": accuracy, "lr": c["lr"]}

    def save_checkpoint(self, checkpoint_dir):
        path = os.path.join(checkpoint_dir, "model.pkl")
        with open(path, "wb") as f:
            pickle.dump((self.model.state(), self.iteration), f)
        return path

    def load_checkpoint(self, checkpoint_path):
        with open(checkpoint_path, "rb") as f:
            self.model = SoftmaxModel.from_state(pickle.load(f)[0])


def test_accuracy(checkpoint_file):
    with open(checkpoint_file, "rb") as f:
        model = SoftmaxModel.from_state(pickle.load(f)[0])
    _, _, (xt, yt) = load_data()
    return model.evaluate(xt, yt)[1]


def main(smoke_test=False):
    asha = tune.schedulers.ASHAScheduler(max_t=10, grace_period=2, reduction_factor=2)
    analysis = tune.run(
        train_digits,
        name="digits_asha",
        metric="mean_accuracy",
        mode="max",
        scheduler=asha,
        num_samples=4 if smoke_test else 8,
        config={
            "lr": tune.loguniform(1e-3, 1.0),
            "momentum": tune.uniform(0.5, 0.95),
            "batch_size": tune.choice([16, 32, 64]),
        },
        resources_per_trial={"cpu": 1},
        verbose=1,
    )
    print("ASHA best config:", analysis.best_config)
    print(f"ASHA best test accuracy: {test_accuracy(os.path.join(analysis.best_checkpoint, 'model.pkl')):.3f}")

    pbt = tune.schedulers.PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=2,
        hyperparam_mutations={
            "lr": tune.loguniform(1e-4, 1.0),  # a constant in the config: PBT explores it all the same
            "momentum": [0.5, 0.8, 0.9, 0.95],
        },
    )
    analysis = tune.run(
        DigitsTrainable,
        name="digits_pbt",
        scheduler=pbt,
        metric="mean_accuracy",
        mode="max",
        stop=tune.stopper.MaximumIterationStopper(max_iter=8 if smoke_test else 12),
        num_samples=8,
        config={"lr": 0.001, "momentum": tune.choice([0.5, 0.8, 0.9, 0.95]), "batch_size": 32},
        checkpoint_at_end=True,
        verbose=1,
    )
    explored = sorted({round(t.config["lr"], 6) for t in analysis.trials})
    print(f"PBT explored {len(explored)} values of lr: {explored}")
    print("PBT best config:", analysis.best_config)
    best = analysis.get_best_checkpoint(analysis.best_trial, metric="mean_accuracy", mode="max")
    print(f"PBT best test accuracy: {test_accuracy(os.path.join(best, 'model.pkl')):.3f}")
    print("PBT best trial's reports:", len(analysis.trial_dataframes[analysis.best_logdir]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke-test", action="store_true", help="fewer trials and iterations")
    main(smoke_test=parser.parse_args().smoke_test)
