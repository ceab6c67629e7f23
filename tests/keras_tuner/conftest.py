"""Keras 3 on the CPU torch backend (never TensorFlow), set before anything imports keras."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"

from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """A small two-class problem a tiny MLP learns in a few epochs (if its learning rate is sane)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] - 0.5 * x[:, 2] > 0).astype("int64")
    return x, y


def build_mlp(hp: Any) -> Any:
    """KerasTuner's canonical build function: units, learning rate and an optional dropout."""
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu")])
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.1))
    model.add(keras.layers.Dense(2, activation="softmax"))
    lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def build() -> Any:
    return build_mlp
