"""The NumPy forward of every layer kind against real Keras 3, on each spec's examples.

Keras builds the layer; its weights are set to random values (variances kept
positive) and copied as they are into convcalc's forward, which must return the
outputs Keras computes (float32, rtol 1e-4) with the shapes convcalc's shape rule
predicts for the same concrete inputs. An example Keras builds but cannot run (a
Lambda's function applied to a list) must be refused by the forward too.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
import pytest
from test_layer_contract import _bind, _build_keras

from convcalc.layers import catalogue
from convcalc.layers.base import Example, InferContext, LayerSpec
from convcalc.types import TensorType

UNKNOWN_SIZE = 5
"""The size given to dims an example leaves unknown (None)."""
BATCH = 2

INTEGER_INPUTS = {"Embedding"}
"""Layer kinds whose inputs are ids, not values."""
PIXEL_INPUTS = {"AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization"}
"""Layer kinds that bin their inputs as pixel values of their value_range."""
RUNTIME_SHAPE_DIFFERS = {"RandomCrop", "Lambda"}
"""Layer kinds whose Keras output at inference need not have Keras's own static shape
(Keras 3.15's RandomCrop returns its input unchanged; a Lambda's output_shape is
declared, never checked); convcalc's forward follows the computation, its shape rule
the static shape."""


def has_forward(spec: type[LayerSpec]) -> bool:
    return spec.forward is not LayerSpec.forward


CASES = [
    pytest.param(spec, i, ex, id=f"{name}-{i}")
    for name, spec in sorted(catalogue().items())
    if spec.in_keras3 and has_forward(spec)
    for i, ex in enumerate(spec.examples)
    if not ex.fails and ex.inputs
]


def _concrete(shape: tuple[int | None, ...],
              others: tuple[tuple[int | None, ...], ...] = ()) -> tuple[int, ...]:
    """Unknown dims bound to a size: the batch to BATCH, another dim to the size the
    other inputs give the same axis (aligned on the right, as merges align them),
    so that an example valid for some size stays valid, else UNKNOWN_SIZE."""
    out = []
    for i, d in enumerate(shape):
        if d is None and i > 0:
            from_end = len(shape) - i
            known = [o[-from_end] for o in others
                     if len(o) >= from_end and len(o) - from_end > 0
                     and o[-from_end] not in (None, 1)]
            d = known[0] if known else UNKNOWN_SIZE
        out.append(BATCH if d is None else d)
    return tuple(out)


def _sample(spec: type[LayerSpec], ex: Example, shape: tuple[int, ...],
            rng: np.random.Generator) -> np.ndarray[Any, Any]:
    if spec.class_name in INTEGER_INPUTS:
        return rng.integers(0, int(ex.config.get("input_dim", 2)), size=shape).astype("int32")
    if spec.class_name in PIXEL_INPUTS:
        low, high = ex.config.get("value_range", (0, 255))
        return rng.uniform(low, high, shape).astype("float32")
    return rng.standard_normal(shape).astype("float32")


def _random_weights(layer: Any, rng: np.random.Generator) -> list[np.ndarray[Any, Any]]:
    values = []
    for w in layer.weights:
        shape = tuple(w.shape)
        if "variance" in w.path:
            values.append(rng.uniform(0.5, 1.5, shape).astype(w.dtype))
        elif np.issubdtype(np.dtype(w.dtype), np.floating):
            values.append((0.5 * rng.standard_normal(shape)).astype(w.dtype))
        else:
            values.append(np.asarray(keras.ops.convert_to_numpy(w.value)))
    layer.set_weights(values)
    return values


@pytest.mark.oracle
@pytest.mark.parametrize(("spec", "index", "example"), CASES)
def test_forward_matches_keras(spec: type[LayerSpec], index: int, example: Example) -> None:
    rng = np.random.default_rng(index)
    shapes = [_concrete(s, example.inputs[:k] + example.inputs[k + 1:])
              for k, s in enumerate(example.inputs)]
    arrays = [_sample(spec, example, s, rng) for s in shapes]

    layer = _build_keras(spec, dict(example.config))
    if example.arguments:
        args, kwargs = _bind(example.arguments, arrays)
    elif len(spec.call_args) > 1:
        args, kwargs = list(arrays), {}
    else:
        args, kwargs = [arrays[0] if len(arrays) == 1 else arrays], {}
    weights: list[np.ndarray[Any, Any]] = []
    with warnings.catch_warnings():
        # Keras's MixUp asks JAX for an int64 range even at inference
        warnings.filterwarnings("ignore", "Explicitly requested dtype int64")
        try:
            layer(*args, **kwargs, **dict(example.call), training=False)  # builds weights
            weights = _random_weights(layer, rng)
            if hasattr(layer, "finalize_state"):
                layer.finalize_state()  # as loading does: Normalization caches statistics
            if getattr(layer, "stateful", False):
                layer.reset_states()  # the build call above left its final states behind
            theirs = layer(*args, **kwargs, **dict(example.call), training=False)
        except Exception:
            theirs = None

    ours_spec = spec.from_config(example.config)
    static = ours_spec.infer([TensorType(s) for s in shapes], InferContext(example.call))
    if theirs is None:  # Keras cannot run it (a Lambda's function on a list): nor can we
        with pytest.raises(NotImplementedError):
            ours_spec.forward(arrays, weights, example.call)
        return
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    ours = ours_spec.forward(arrays, weights, example.call)

    assert len(ours) == len(theirs)
    for got, want, predicted in zip(ours, theirs, static, strict=True):
        want = keras.ops.convert_to_numpy(want)
        assert got.shape == want.shape
        if spec.class_name not in RUNTIME_SHAPE_DIFFERS:
            assert got.shape == tuple(predicted.shape)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
