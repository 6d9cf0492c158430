"""NumPy forwards that the registry-wide contract cannot check with a spec's examples:
Keras 1/2 layer kinds Keras 3 lacks (compared with their Keras 3 equivalents or with
values worked out by hand), attention scores whose Keras symbolic shape is wrong, and
the functions convcalc refuses to run."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from convcalc.layers import lookup
from convcalc.layers.base import LayerSpec

Array = np.ndarray[Any, Any]


def _spec(class_name: str, **config: Any) -> LayerSpec:
    spec = lookup(class_name)
    assert spec is not None
    return spec.from_config(config)


def _random(*shape: int, seed: int = 0) -> Array:
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_thresholded_relu_keeps_values_above_theta() -> None:
    x = np.array([[-2.0, 0.5, 1.0, 1.5, 3.0]], "float32")
    (y,) = _spec("ThresholdedReLU", theta=1.0).forward([x], [], {})
    np.testing.assert_array_equal(y, [[0.0, 0.0, 0.0, 1.5, 3.0]])


def test_keras2_activation_layer_names() -> None:
    """Activation('LeakyReLU') is a default LeakyReLU: slope 0.3 in Keras 2."""
    x = np.array([[-2.0, -0.5, 0.0, 2.0]], "float32")
    (leaky,) = _spec("Activation", activation="LeakyReLU").forward([x], [], {})
    np.testing.assert_allclose(leaky, [[-0.6, -0.15, 0.0, 2.0]], rtol=1e-6)
    (thresholded,) = _spec("Activation", activation="ThresholdedReLU").forward([x], [], {})
    np.testing.assert_array_equal(thresholded, [[0.0, 0.0, 0.0, 2.0]])
    alpha = np.array([0.5, 2.0, 1.0, 3.0], "float32")
    (prelu,) = _spec("Activation", activation="PReLU").forward([x], [alpha], {})
    np.testing.assert_allclose(prelu, [[-1.0, -1.0, 0.0, 2.0]], rtol=1e-6)


KERAS3_MERGES = [
    ("sum", keras.layers.Add, {}),
    ("mul", keras.layers.Multiply, {}),
    ("ave", keras.layers.Average, {}),
    ("max", keras.layers.Maximum, {}),
    ("concat", keras.layers.Concatenate, {"axis": 1}),
]


@pytest.mark.oracle
@pytest.mark.parametrize(("mode", "layer", "config"), KERAS3_MERGES)
def test_keras1_merge_modes_match_keras3_layers(mode: str, layer: Any, config: Any) -> None:
    xs = [_random(2, 3, 4, seed=i) for i in range(3)]
    merge = _spec("Merge", mode=mode, concat_axis=config.get("axis", -1))
    (ours,) = merge.forward(xs, [], {})
    want = keras.ops.convert_to_numpy(layer(**config)(xs))
    np.testing.assert_allclose(ours, want, rtol=1e-6, atol=1e-6)


@pytest.mark.oracle
def test_keras1_dot_merge_matches_dot() -> None:
    x, y = _random(2, 3, 5), _random(2, 4, 5, seed=1)
    (ours,) = _spec("Merge", mode="dot", dot_axes=[2, 2]).forward([x, y], [], {})
    want = keras.ops.convert_to_numpy(keras.layers.Dot(axes=(2, 2))([x, y]))
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6)


def test_keras1_cos_merge_is_not_modelled() -> None:
    with pytest.raises(NotImplementedError, match="cos"):
        _spec("Merge", mode="cos", dot_axes=[1, 1]).forward(
            [_random(2, 3), _random(2, 3)], [], {})


@pytest.mark.oracle
@pytest.mark.parametrize(("axes", "query", "value"), [
    ((2,), (2, 3, 4, 6), (2, 3, 5, 6)),
    ((1, 3), (2, 2, 3, 4, 5), (2, 3, 3, 2, 5)),
    (None, (2, 3, 4, 6), (2, 2, 5, 6)),
])
def test_attention_scores_over_several_axes(
    axes: tuple[int, ...] | None, query: tuple[int, ...], value: tuple[int, ...]
) -> None:
    """Scores (batch, other axes, heads, query attention dims, key attention dims); the
    contract test cannot ask for them, Keras's symbolic shape being (B, heads, T, T)."""
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=axes)
    q, v = _random(*query), _random(*value, seed=1)
    layer(q, v)
    rng = np.random.default_rng(2)
    weights = [(0.5 * rng.standard_normal(w.shape)).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    want_out, want_scores = layer(q, v, return_attention_scores=True)
    spec = _spec("MultiHeadAttention", num_heads=2, key_dim=3, attention_axes=axes)
    out, scores = spec.forward([q, v], weights, {"return_attention_scores": True})
    np.testing.assert_allclose(out, keras.ops.convert_to_numpy(want_out), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores, keras.ops.convert_to_numpy(want_scores),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.oracle
def test_go_backwards_outputs_stay_in_processing_order() -> None:
    """With go_backwards the sequence output is not flipped back: its last step is the
    state after the first input, equal to the non-sequence output."""
    x = _random(2, 6, 3)
    spec = _spec("SimpleRNN", units=4, go_backwards=True, return_sequences=True)
    layer = keras.layers.SimpleRNN(4, go_backwards=True, return_sequences=True)
    layer(x)
    weights = [keras.ops.convert_to_numpy(w.value) for w in layer.weights]
    (seq,) = spec.forward([x], weights, {})
    (last,) = spec.replace(return_sequences=False).forward([x], weights, {})
    np.testing.assert_allclose(seq[:, -1], last, rtol=1e-6)
    np.testing.assert_allclose(seq, keras.ops.convert_to_numpy(layer(x)), rtol=1e-4,
                               atol=1e-5)


def test_lambda_runs_only_keras_activations() -> None:
    relu = {"module": "keras.activations", "class_name": "function", "config": "relu",
            "registered_name": "relu"}
    x = np.array([[-1.0, 2.0]], "float32")
    (y,) = _spec("Lambda", function=relu, output_shape=[2]).forward([x], [], {})
    np.testing.assert_array_equal(y, [[0.0, 2.0]])
    code = {"class_name": "__lambda__", "config": {"code": "x * 2"}}
    with pytest.raises(NotImplementedError, match="never executes"):
        _spec("Lambda", function=code, output_shape=[2]).forward([x], [], {})
    own = {"module": "builtins", "class_name": "function", "config": "relu",
           "registered_name": "my_pkg>relu"}
    with pytest.raises(NotImplementedError):
        _spec("Lambda", function=own, output_shape=[2]).forward([x], [], {})


def test_area_resize_is_tensorflow_only() -> None:
    spec = _spec("Resizing", height=2, width=2, interpolation="area")
    with pytest.raises(NotImplementedError, match="area"):
        spec.forward([_random(1, 4, 4, 1)], [], {})


@pytest.mark.oracle
def test_layer_normalization_rms_scaling() -> None:
    """Keras's deprecated rms_scaling divides by the standard deviation without
    centring and has no beta."""
    x = _random(2, 3, 5)
    with pytest.warns(UserWarning, match="rms_scaling"):
        layer = keras.layers.LayerNormalization(rms_scaling=True)
        layer(x)
    gamma = np.linspace(0.5, 1.5, 5, dtype="float32")
    layer.set_weights([gamma])
    with pytest.warns(UserWarning, match="rms_scaling"):
        want = keras.ops.convert_to_numpy(layer(x))
    (ours,) = _spec("LayerNormalization", rms_scaling=True).forward([x], [gamma], {})
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6)
    expected = x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-3) * gamma
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


def _keras_weights(layer: Any, seed: int) -> list[Array]:
    rng = np.random.default_rng(seed)
    weights = [(0.5 * rng.standard_normal(w.shape)).astype("float32") for w in layer.weights]
    layer.set_weights(weights)
    return weights


MASKED_RNNS = [
    ("LSTM", {"units": 4, "return_sequences": True}),
    ("LSTM", {"units": 4, "return_state": True, "go_backwards": True}),
    ("GRU", {"units": 3, "return_sequences": True, "go_backwards": True}),
    ("SimpleRNN", {"units": 3}),
]


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "config"), MASKED_RNNS)
def test_recurrent_mask_skips_steps(name: str, config: dict[str, Any]) -> None:
    """A Keras mask (as Embedding(mask_zero=True) makes) holds the states over masked
    steps, whose outputs repeat the previous h."""
    x = _random(3, 6, 2)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1]], bool)
    layer = getattr(keras.layers, name)(**config)
    layer(x)
    weights = _keras_weights(layer, 1)
    want = layer(x, mask=mask)
    want = want if isinstance(want, (list, tuple)) else [want]
    ours = _spec(name, **config).forward([x], weights, {"mask": mask})
    assert len(ours) == len(want)
    for got, expected in zip(ours, want, strict=True):
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(expected), rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize("unroll", [False, True])
def test_masked_first_step_with_initial_state(unroll: bool) -> None:
    """Keras's scan repeats the initial h on a masked first step; unrolled, zeros."""
    x, h0 = _random(2, 4, 3), _random(2, 2, seed=1)
    mask = np.array([[0, 1, 1, 0], [1, 1, 0, 1]], bool)
    layer = keras.layers.SimpleRNN(2, return_sequences=True, unroll=unroll)
    layer(x, initial_state=h0)
    weights = _keras_weights(layer, 3)
    want = keras.ops.convert_to_numpy(layer(x, initial_state=h0, mask=mask))
    spec = _spec("SimpleRNN", units=2, return_sequences=True, unroll=unroll)
    (ours,) = spec.forward([x, h0], weights, {"mask": mask})
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[0, 0], 0 if unroll else h0[0])


@pytest.mark.oracle
def test_bidirectional_mask_zeroes_masked_outputs() -> None:
    x = _random(2, 5, 3)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    inner = {"module": "keras.layers", "class_name": "GRU", "registered_name": None,
             "config": {"units": 2, "return_sequences": True}}
    layer = keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True))
    layer(x)
    weights = _keras_weights(layer, 2)
    want = keras.ops.convert_to_numpy(layer(x, mask=mask))
    (ours,) = _spec("Bidirectional", layer=inner).forward([x], weights, {"mask": mask})
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)
    assert not ours[0, 3:].any()  # both directions output zeros on masked steps


@pytest.mark.oracle
@pytest.mark.parametrize("scores", [False, True])
def test_multi_head_attention_masks(scores: bool) -> None:
    """value_mask, attention_mask and the causal mask; the query's mask is the one its
    tensor carries (here from Embedding(mask_zero=True): Keras ignores a query_mask
    argument), a fully masked row being uniform (fused path) or zero (with scores)."""
    ids = np.array([[3, 1, 4, 0], [5, 9, 2, 6]], "int32")
    v = _random(2, 5, 6, seed=1)
    value_mask = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 0]], bool)
    attention_mask = np.random.default_rng(3).random((2, 4, 5)) > 0.3
    ids_in, v_in = keras.Input((4,), dtype="int32"), keras.Input((5, 6))
    embedding = keras.layers.Embedding(10, 6, mask_zero=True)
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    outs = mha(embedding(ids_in), v_in, value_mask=value_mask, attention_mask=attention_mask,
               use_causal_mask=True, return_attention_scores=scores)
    model = keras.Model([ids_in, v_in], outs)
    table = _keras_weights(embedding, 6)[0]
    weights = _keras_weights(mha, 4)
    want = model([ids, v])
    want = want if isinstance(want, (list, tuple)) else [want]
    call = {"return_attention_scores": scores, "use_causal_mask": True,
            "query_mask": ids != 0, "value_mask": value_mask,
            "attention_mask": attention_mask}
    ours = _spec("MultiHeadAttention", num_heads=2, key_dim=3).forward(
        [table[ids], v], weights, call)
    assert len(ours) == len(want)
    for got, expected in zip(ours, want, strict=True):
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(expected), rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "config"), [("Attention", {"score_mode": "concat"}),
                                              ("AdditiveAttention", {})])
def test_attention_query_and_value_masks(name: str, config: dict[str, Any]) -> None:
    q, v = _random(2, 4, 3), _random(2, 5, 3, seed=1)
    mask = [np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool),
            np.array([[1, 0, 1, 1, 1], [1, 1, 1, 0, 0]], bool)]
    layer = getattr(keras.layers, name)(**config)
    layer([q, v])
    weights = _keras_weights(layer, 5)
    want = keras.ops.convert_to_numpy(layer([q, v], mask=mask))
    (ours,) = _spec(name, **config).forward([q, v], weights, {"mask": mask})
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)
    assert not ours[0, 2].any()  # a masked query row is zeroed


@pytest.mark.oracle
def test_softmax_mask() -> None:
    x = _random(2, 3, 4)
    mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]], "float32")
    want = keras.ops.convert_to_numpy(keras.layers.Softmax()(x, mask=mask))
    (ours,) = _spec("Softmax").forward([x], [], {"mask": mask})
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-7)
    assert not ours[:, 1].any()  # a fully masked row is all zeros


def test_masks_in_other_forms_are_refused() -> None:
    """A mask that is not an array (a tensor reference from a config) is never ignored."""
    reference = {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}
    x = _random(2, 3, 4)
    with pytest.raises(NotImplementedError, match="mask"):
        _spec("Softmax").forward([x], [], {"mask": reference})
    with pytest.raises(NotImplementedError, match="mask"):
        _spec("GRU", units=2).forward([x], [_random(4, 6), _random(2, 6), _random(2, 6)],
                                      {"mask": reference})
