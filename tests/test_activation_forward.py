"""apply_activation against keras.activations, for every activation Keras knows by name."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from convcalc.layers import arguments as arg
from convcalc.layers.activations import KERAS_ACTIVATIONS, apply_activation

NEEDS_ARGUMENTS = {"threshold"}
"""Names keras.activations.get resolves but whose function cannot be called with x alone."""


def _inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    grid = np.linspace(-12, 12, 104, dtype="float32")  # both tails and every kink
    edges = np.array([-3, -1, -0.5, 0, 0.5, 1, 3, 6, 60, -60, 100, -100], dtype="float32")
    noise = rng.standard_normal(50).astype("float32")
    return np.concatenate([grid, edges, noise, -noise]).reshape(4, -1, 2)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(KERAS_ACTIVATIONS - NEEDS_ARGUMENTS))
def test_activation_matches_keras(name: str) -> None:
    x = _inputs()
    want = keras.ops.convert_to_numpy(keras.activations.get(name)(x))
    got = apply_activation(name, x)
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.oracle
def test_keras_knows_exactly_these_names() -> None:
    for name in KERAS_ACTIVATIONS:
        assert callable(keras.activations.get(name))
    with pytest.raises(ValueError):
        keras.activations.get("relux")


@pytest.mark.oracle
@pytest.mark.parametrize("serialized", [
    "Swish", {"module": "keras.activations", "class_name": "function", "config": "gelu",
              "registered_name": "gelu"},
])
def test_stored_forms_apply(serialized: object) -> None:
    """The stored form of a serialized or capitalised activation still applies."""
    name = arg.activation(serialized)
    x = _inputs()
    want = keras.ops.convert_to_numpy(keras.activations.get(name)(x))
    np.testing.assert_allclose(apply_activation(name, x), want, rtol=1e-5, atol=1e-6)


def test_unknown_activation_raises() -> None:
    with pytest.raises(NotImplementedError, match="my_act"):
        apply_activation("my_act", np.zeros(3, "float32"))
