"""Activation, normalization, merge, regularization, embedding and preprocessing specs:
what the Keras 3 contract examples cannot show.

Keras 1/2-only classes (ThresholdedReLU, Merge) and arguments (``alpha``, ``p``,
``dim_ordering``, list axes, ``input_length``), symbolic mismatches that become
requirements, error messages, and runtime failures Keras' symbolic build lets through.
"""

from __future__ import annotations

from typing import Any

import pytest

from convcalc import dims
from convcalc.layers import lookup
from convcalc.layers.base import ConfigError, InferContext, LayerSpec, ShapeError
from convcalc.rules import INCOMPATIBLE_INPUT, MERGE_MISMATCH, SHAPE_UNKNOWN, WRONG_RANK
from convcalc.types import TensorType

B = dims.BATCH
H, W = dims.Sym("H"), dims.Sym("W")


def spec(class_name: str, **config: Any) -> LayerSpec:
    cls = lookup(class_name)
    assert cls is not None, class_name
    return cls.from_config(config)


def t(*shape: dims.Dim) -> TensorType:
    return TensorType((B, *shape))


def infer(layer: LayerSpec, *inputs: TensorType) -> tuple[tuple[dims.Dim, ...], InferContext]:
    ctx = InferContext()
    (out,) = layer.infer(inputs, ctx)
    return out.shape, ctx


def weight_shapes(layer: LayerSpec, *inputs: TensorType) -> list[tuple[dims.Dim, ...]]:
    return [w.shape for w in layer.weights(inputs)]


# ---------------------------------------------------------------- activations


def test_thresholded_relu_keras2() -> None:
    layer = spec("ThresholdedReLU", theta=0.5)
    shape, ctx = infer(layer, t(4, 3))
    assert shape == (B, 4, 3) and not ctx.problems
    assert layer.weights([t(4, 3)]) == ()
    assert layer.flops([t(4, 3)], [t(4, 3)]) == 12
    assert spec("ThresholdedReLU").theta == 1.0  # type: ignore[attr-defined]
    with pytest.raises(ConfigError):
        spec("ThresholdedReLU", theta=-1.0)


def test_leaky_relu_keras2_alpha() -> None:
    assert spec("LeakyReLU", alpha=0.1).negative_slope == 0.1  # type: ignore[attr-defined]
    assert spec("LeakyReLU").negative_slope == 0.3  # type: ignore[attr-defined]


def test_activation_keras2_layer_names() -> None:
    assert infer(spec("Activation", activation="LeakyReLU"), t(5))[0] == (B, 5)
    prelu = spec("Activation", activation="PReLU")
    assert weight_shapes(prelu, t(4, 3)) == [(4, 3)]
    custom = {"module": "builtins", "class_name": "function", "config": "my_act",
              "registered_name": "function"}
    assert spec("Activation", activation=custom).activation == "my_act"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError):
        spec("Activation", activation="Relu")


def test_prelu_keras1_init_and_bad_shared_axis() -> None:
    layer = spec("PReLU", init="ones", shared_axes=[1, 2])
    assert layer.alpha_initializer.name == "ones"  # type: ignore[attr-defined]
    assert weight_shapes(layer, t(H, W, 3)) == [(1, 1, 3)]
    with pytest.raises(ShapeError) as e:
        infer(spec("PReLU", shared_axes=3), t(4))
    assert e.value.rule is WRONG_RANK


def test_softmax_axis_out_of_range() -> None:
    with pytest.raises(ShapeError):
        infer(spec("Softmax", axis=3), t(4, 5))


# ---------------------------------------------------------------- normalization


def test_batch_norm_keras2_list_axis_and_keras1_names() -> None:
    layer = spec("BatchNormalization", axis=[3], mode=0, beta_init="zero", gamma_init="one")
    x = t(32, 32, 16)
    assert weight_shapes(layer, x) == [(16,)] * 4
    assert [w.trainable for w in layer.weights([x])] == [True, True, False, False]
    assert layer.beta_initializer.name == "zero"  # type: ignore[attr-defined]
    multi = spec("BatchNormalization", axis=[1, 2])
    assert weight_shapes(multi, t(4, 5, 3)) == [(1, 4, 5, 1)] * 4
    with pytest.raises(ShapeError):
        infer(spec("BatchNormalization", axis=[1, -3]), t(4, 5, 3))
    with pytest.raises(ShapeError) as e:
        infer(spec("BatchNormalization", axis=5), t(4, 5, 3))
    assert e.value.rule is WRONG_RANK


def test_layer_norm_rms_scaling_has_no_beta() -> None:
    layer = spec("LayerNormalization", rms_scaling=True)
    assert [w.name for w in layer.weights([t(4, 3)])] == ["gamma"]


def test_group_norm_symbolic_channels_flow_through() -> None:
    layer = spec("GroupNormalization", groups=4)
    shape, ctx = infer(layer, t(8, W))
    assert shape == (B, 8, W) and not ctx.problems
    assert weight_shapes(layer, t(8, W)) == [(W,), (W,)]


# ---------------------------------------------------------------- merging


def test_elementwise_concrete_mismatch_names_both_shapes() -> None:
    shape, ctx = infer(spec("Add"), t(3, 4), t(5, 4))
    assert shape == (B, 3, 4)
    (problem,) = ctx.problems
    assert problem.rule is MERGE_MISMATCH
    assert "(None, 3, 4)" in problem.message and "(None, 5, 4)" in problem.message


def test_elementwise_symbolic_mismatch_is_a_requirement() -> None:
    shape, ctx = infer(spec("Multiply"), t(H, 4), t(8, 4))
    assert shape == (B, H, 4)
    assert not ctx.problems
    (req,) = ctx.requirements
    assert (req.lhs, req.rhs, req.rule) == (8, H, MERGE_MISMATCH) or (
        req.lhs, req.rhs, req.rule) == (H, 8, MERGE_MISMATCH)
    half = dims.floordiv(H, 2)
    _, ctx = infer(spec("Add"), t(half, 4), t(half, 4))
    assert not ctx.requirements


def test_elementwise_needs_two_inputs_and_subtract_exactly_two() -> None:
    with pytest.raises(ShapeError):
        infer(spec("Add"), t(3))
    with pytest.raises(ShapeError):
        infer(spec("Subtract"), t(3), t(3), t(3))


def test_merge_flops() -> None:
    ins = [t(4), t(4), t(4)]
    assert spec("Add").flops(ins, [t(4)]) == 8
    assert spec("Average").flops(ins, [t(4)]) == 12


def test_concatenate_mismatch_reports_axis_and_continues() -> None:
    shape, ctx = infer(spec("Concatenate"), t(8, 8, 16), t(4, 4, 32))
    assert shape == (B, 8, 8, 48)
    assert [p.detail for p in ctx.problems] == ["axis 1 (8 vs 4)", "axis 2 (8 vs 4)"]
    assert len({p.message for p in ctx.problems}) == 1  # reported as one diagnostic
    assert "(None, 8, 8, 16)" in ctx.problems[0].message
    assert "(None, 4, 4, 32)" in ctx.problems[0].message


def test_concatenate_symbolic_skip_connection() -> None:
    h4 = dims.floordiv(H, 4)
    h2 = dims.floordiv(H, 2)
    up = dims.mul(h4, 2)
    shape, ctx = infer(spec("Concatenate"), t(h2, 16), t(up, 8))
    assert shape == (B, h2, 24)
    (req,) = ctx.requirements
    assert req.rule is MERGE_MISMATCH


def test_concatenate_axis_out_of_range() -> None:
    with pytest.raises(ShapeError):
        infer(spec("Concatenate", axis=3), t(3, 4), t(3, 4))


def test_dot_batch_axis_and_macs() -> None:
    with pytest.raises(ShapeError):
        infer(spec("Dot", axes=0), t(5), t(5))
    layer = spec("Dot", axes=(2, 1))
    ins = [t(3, 5), t(5, 4)]
    outs = layer.infer(ins, InferContext())
    assert outs[0].shape == (B, 3, 4)
    assert layer.macs(ins, outs) == 60
    shape, ctx = infer(spec("Dot", axes=1), t(H), t(5))
    assert shape == (B, 1) and ctx.requirements


def test_keras1_merge_modes() -> None:
    assert infer(spec("Merge", mode="sum"), t(3), t(3))[0] == (B, 3)
    assert infer(spec("Merge", mode="concat", concat_axis=1), t(3), t(4))[0] == (B, 7)
    assert infer(spec("Merge", mode="dot", dot_axes=1), t(5), t(5))[0] == (B, 1)
    assert infer(spec("Merge", mode="cos", dot_axes=1), t(5), t(5))[0] == (B, 1)
    assert infer(spec("Merge", mode="dot", dot_axes=[2, 1]), t(3, 5), t(5, 4))[0] == (B, 3, 4)
    _, ctx = infer(spec("Merge", mode="mul"), t(3), t(4))
    assert ctx.problems and ctx.problems[0].rule is MERGE_MISMATCH
    _, ctx = infer(spec("Merge", mode="concat"), t(3, 4), t(5, 4))
    assert ctx.problems
    with pytest.raises(ShapeError):
        infer(spec("Merge", mode="dot"), t(5), t(5), t(5))
    with pytest.raises(ConfigError):
        spec("Merge", mode="avg")


def test_keras1_merge_function_mode() -> None:
    config = {"mode": "lambda code", "mode_type": "lambda", "output_shape": [6],
              "output_shape_type": "raw"}
    assert infer(spec("Merge", **config), t(3), t(3))[0] == (B, 6)
    config["output_shape_type"] = "lambda"
    with pytest.raises(ShapeError) as e:
        infer(spec("Merge", **config), t(3), t(3))
    assert e.value.rule is SHAPE_UNKNOWN


def test_keras1_merge_flops() -> None:
    assert spec("Merge", mode="ave").flops([t(4), t(4)], [t(4)]) == 8
    cos = spec("Merge", mode="cos", dot_axes=1)
    assert cos.macs([t(5), t(5)], [t(1)]) == 15


# ---------------------------------------------------------------- regularization


def test_keras1_dropout_names() -> None:
    assert spec("Dropout", p=0.25).rate == 0.25  # type: ignore[attr-defined]
    assert spec("GaussianNoise", sigma=0.1).stddev == 0.1  # type: ignore[attr-defined]
    assert spec("GaussianDropout", p=0.2).rate == 0.2  # type: ignore[attr-defined]
    layer = spec("SpatialDropout2D", p=0.5, dim_ordering="th")
    assert layer.data_format == "channels_first"  # type: ignore[attr-defined]
    assert spec("SpatialDropout3D", p=0.5, dim_ordering="tf").data_format == "channels_last"  # type: ignore[attr-defined]


def test_dropout_noise_shape_must_broadcast() -> None:
    _, ctx = infer(spec("Dropout", rate=0.5, noise_shape=[None, 2, 3]), t(4, 3))
    assert ctx.problems and ctx.problems[0].rule is INCOMPATIBLE_INPUT
    _, ctx = infer(spec("Dropout", rate=0.5, noise_shape=[None, 1, 3]), t(4, 3))
    assert not ctx.problems and not ctx.requirements


# ---------------------------------------------------------------- reshaping, embedding


def test_permute_symbolic() -> None:
    assert infer(spec("Permute", dims=[3, 1, 2]), t(H, W, 3))[0] == (B, 3, H, W)


def test_embedding_keras2_input_length() -> None:
    layer = spec("Embedding", input_dim=1000, output_dim=64, input_length=10)
    shape, ctx = infer(layer, t(dims.Sym("T")))
    assert shape == (B, 10, 64)
    assert ctx.requirements
    with pytest.raises(ShapeError):
        infer(layer, t(10, 2))
    _, ctx = infer(layer, t(12))
    assert ctx.problems
    keras1 = spec("Embedding", input_dim=10, output_dim=4, init="normal")
    assert keras1.embeddings_initializer.name == "normal"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("name, config", [
    ("RandomFlip", {}),
    ("RandomRotation", {"factor": 0.1}),
    ("Resizing", {"height": 4, "width": 4}),
    ("CenterCrop", {"height": 4, "width": 4}),
    ("RandomCrop", {"height": 4, "width": 4}),
])
def test_image_layers_need_4d_batches(name: str, config: dict[str, Any]) -> None:
    for x in (t(8, 8), t(2, 8, 8, 3)):
        with pytest.raises(ShapeError) as e:
            infer(spec(name, **config), x)
        assert e.value.rule is WRONG_RANK


def test_resizing_rejects_what_fails_when_run() -> None:
    with pytest.raises(ConfigError):
        spec("Resizing", height=4, width=4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ConfigError):
        spec("Resizing", height=4, width=4, interpolation="cubic")
    with pytest.raises(ConfigError):
        spec("RandomRotation", factor=0.1, fill_mode="mirror")


def test_resizing_flops() -> None:
    layer = spec("Resizing", height=4, width=4)
    assert layer.flops([t(8, 8, 3)], [t(4, 4, 3)]) == 2 * 4 * 48


def test_normalization_weights() -> None:
    layer = spec("Normalization", axis=[-1, 1])
    ws = layer.weights([t(4, 5, 3)])
    assert [(w.name, w.shape, w.trainable, w.dtype) for w in ws] == [
        ("mean", (4, 3), False, "float32"),
        ("variance", (4, 3), False, "float32"),
        ("count", (), False, "int32"),
    ]
    assert spec("Normalization", mean=[1, 2, 3], variance=[1, 1, 1]).weights([t(3)]) == ()
