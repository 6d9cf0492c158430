"""Real Keras confirms what the error-severity lint rules claim: the bad form fails (or,
for CC220, is constant) and the good form works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.oracle

keras = pytest.importorskip("keras")
layers = keras.layers


def dense_model(units: int, activation: str | None, features: int = 6) -> Any:
    return keras.Sequential([keras.Input((features,)), layers.Dense(8, activation="relu"),
                             layers.Dense(units, activation=activation)])


def fit(model: Any, loss: str, x: Any, y: Any) -> None:
    model.compile(optimizer="sgd", loss=loss)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)


RNG = np.random.default_rng(0)
X = RNG.random((8, 6))


def stacked_lstm(sequences: bool) -> None:
    keras.Sequential([keras.Input((5, 3)), layers.LSTM(4, return_sequences=sequences),
                      layers.LSTM(2)])


def batch_in_shape(with_batch: bool) -> None:
    shape = (None, 8, 8, 1) if with_batch else (8, 8, 1)
    keras.Sequential([keras.Input(shape), layers.Conv2D(2, 3)])


def int_labels(loss: str) -> None:
    fit(dense_model(5, "softmax"), loss, X, RNG.integers(0, 5, size=(8,)))


def onehot_labels(loss: str) -> None:
    fit(dense_model(4, "softmax"), loss, X, np.eye(4)[RNG.integers(0, 4, size=8)])


def label_units(classes: int) -> None:
    fit(dense_model(4, "softmax"), "categorical_crossentropy", X, np.eye(classes)[
        RNG.integers(0, classes, size=8)])


def flat_images(flat: bool) -> None:
    model = keras.Sequential([keras.Input((4, 4, 1)), layers.Conv2D(2, 3, activation="relu"),
                              layers.GlobalAveragePooling2D(), layers.Dense(3)])
    x = RNG.random((8, 16)) if flat else RNG.random((8, 4, 4, 1))
    fit(model, "mse", x, RNG.random((8, 3)))


def sample_counts(labels: int) -> None:
    fit(dense_model(1, None), "mse", X, RNG.random((labels, 1)))


CASES: dict[str, tuple[Callable[[Any], None], Any, Any]] = {
    "CC202": (stacked_lstm, False, True),
    "CC203": (batch_in_shape, True, False),
    "CC223-integer": (int_labels, "categorical_crossentropy", "sparse_categorical_crossentropy"),
    "CC223-onehot": (onehot_labels, "sparse_categorical_crossentropy",
                     "categorical_crossentropy"),
    "CC224": (label_units, 3, 4),
    "CC225": (flat_images, True, False),
    "CC226": (sample_counts, 6, 8),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_rejects_the_bad_form_and_accepts_the_good(case: str) -> None:
    build, bad, good = CASES[case]
    build(good)
    with pytest.raises(ValueError):
        build(bad)


def test_softmax_on_one_unit_is_constant() -> None:
    model = dense_model(1, "softmax")
    with pytest.warns(UserWarning, match="will always return the value 1"):
        out = model.predict(RNG.random((16, 6)) * 10, verbose=0)
    assert np.all(out == 1.0)
