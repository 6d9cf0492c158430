"""Convolution, pooling and resampling specs: what the Keras 3 contract examples cannot show.

Keras 1/2 constructor forms and argument names, symbolic dims flowing through, MAC and
FLOP formulas, the MAC totals of the reference models, and summaries.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import FIXTURES

from convcalc import dims
from convcalc.layers import lookup
from convcalc.layers.base import ConfigError, InferContext, LayerSpec, ShapeError
from convcalc.rules import INCOMPATIBLE_INPUT, NON_POSITIVE_DIM, WRONG_RANK
from convcalc.types import TensorType

B = dims.BATCH
H, W = dims.Sym("H"), dims.Sym("W")


def spec(class_name: str, **config: Any) -> LayerSpec:
    cls = lookup(class_name)
    assert cls is not None, class_name
    return cls.from_config(config)


def call(class_name: str, *args: Any, **kwargs: Any) -> LayerSpec:
    cls = lookup(class_name)
    assert cls is not None, class_name
    return cls.from_call(args, kwargs, written_as=class_name)


def t(*shape: dims.Dim) -> TensorType:
    return TensorType((B, *shape))


def infer(layer: LayerSpec, x: TensorType) -> tuple[tuple[dims.Dim, ...], InferContext]:
    ctx = InferContext()
    (out,) = layer.infer([x], ctx)
    return out.shape, ctx


# ----------------------------------------------------------------- Keras 1/2 forms
@pytest.mark.parametrize(
    ("name", "args", "kwargs", "expected"),
    [
        ("Convolution2D", (32, 3, 3), {"border_mode": "same", "subsample": (2, 2)},
         {"filters": 32, "kernel_size": (3, 3), "strides": (2, 2), "padding": "same"}),
        ("Convolution2D", (32, 5, 3, "he_normal", "relu"), {},
         {"kernel_size": (5, 3), "activation": "relu"}),
        ("Convolution2D", (32, 3), {"nb_col": 5}, {"kernel_size": (3, 5)}),
        ("Convolution2D", (), {"nb_filter": 8, "nb_row": 1, "nb_col": 7},
         {"filters": 8, "kernel_size": (1, 7)}),
        ("Convolution2D", (16, 3, 3), {"dim_ordering": "th", "bias": False},
         {"data_format": "channels_first", "use_bias": False}),
        ("Convolution2D", (16, 3, 3), {"dim_ordering": "tf"}, {"data_format": "channels_last"}),
        ("Conv2D", (32, (3, 3)), {"border_mode": "same"}, {"padding": "same"}),
        ("Conv2D", (32, 3, 2), {"padding": "same"}, {"kernel_size": (3, 3), "strides": (2, 2)}),
        ("Conv2D", (32, 3, 2, "same"), {}, {"kernel_size": (3, 3), "strides": (2, 2)}),
        ("Conv2D", (64, 3, 2), {"activation": "relu"}, {"kernel_size": (3, 3), "strides": (2, 2)}),
        ("Convolution3D", (8, 3, 3, 1), {"border_mode": "same"},
         {"kernel_size": (3, 3, 1), "padding": "same"}),
        ("Convolution3D", (8, 3), {"kernel_dim2": 2, "kernel_dim3": 1},
         {"kernel_size": (3, 2, 1)}),
        ("Conv3D", (8, 3, 2), {}, {"kernel_size": (3, 3, 3), "strides": (2, 2, 2)}),
        ("Convolution1D", (16, 5, "he_normal"), {"border_mode": "causal",
                                                 "subsample_length": 2},
         {"kernel_size": (5,), "strides": (2,), "padding": "causal"}),
        ("Convolution1D", (), {"nb_filter": 16, "filter_length": 4}, {"kernel_size": (4,)}),
        ("Conv1D", (16, 5, 2), {}, {"kernel_size": (5,), "strides": (2,)}),
        ("AtrousConvolution1D", (16, 3), {"atrous_rate": 2}, {"dilation_rate": (2,)}),
        ("AtrousConvolution2D", (16, 3, 3), {"atrous_rate": (2, 2), "border_mode": "same"},
         {"kernel_size": (3, 3), "dilation_rate": (2, 2)}),
        ("Deconvolution2D", (16, 3, 3, (None, 14, 14, 16)),
         {"subsample": (2, 2), "border_mode": "same"},
         {"filters": 16, "kernel_size": (3, 3), "strides": (2, 2), "output_padding": None}),
        ("Deconvolution3D", (4, 2), {"strides": 2}, {"kernel_size": (2, 2, 2)}),
        ("SeparableConvolution2D", (16, 3, 3), {"depth_multiplier": 2},
         {"kernel_size": (3, 3), "depth_multiplier": 2}),
    ],
)
def test_legacy_convolution_calls(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    layer = call(name, *args, **kwargs)
    for key, value in expected.items():
        assert getattr(layer, key) == value, key


def test_separable_keras1_init_sets_both_kernels() -> None:
    layer = call("SeparableConvolution2D", 16, 3, 3, init="he_normal")
    assert layer.depthwise_initializer == layer.pointwise_initializer  # type: ignore[attr-defined]
    assert layer.depthwise_initializer.name == "he_normal"  # type: ignore[attr-defined]


def test_legacy_kernel_size_conflicts() -> None:
    with pytest.raises(ConfigError, match="kernel_size"):
        call("Convolution2D", 32, kernel_size=3, nb_row=3, nb_col=3)
    with pytest.raises(ConfigError, match="kernel"):
        call("Convolution3D", 8, kernel_dim3=3)
    with pytest.raises(ConfigError, match="positional"):
        call("Convolution2D", *range(1, 20))


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "expected"),
    [
        ("MaxPooling1D", (), {"pool_length": 3, "stride": 1, "border_mode": "same"},
         {"pool_size": (3,), "strides": (1,), "padding": "same"}),
        ("MaxPooling2D", ((3, 3),), {"dim_ordering": "th"},
         {"strides": (3, 3), "data_format": "channels_first"}),
        ("AveragePooling3D", (2, 1), {}, {"pool_size": (2, 2, 2), "strides": (1, 1, 1)}),
        ("GlobalAveragePooling2D", (), {"dim_ordering": "th"},
         {"data_format": "channels_first"}),
        ("UpSampling1D", (), {"length": 3}, {"size": (3,)}),
        ("UpSampling2D", ((2, 3),), {"dim_ordering": "th"},
         {"size": (2, 3), "data_format": "channels_first"}),
        ("ZeroPadding1D", (), {"padding": {"left_pad": 2}}, {"padding": ((2, 0),)}),
        ("ZeroPadding2D", ((1, 2, 3, 4),), {}, {"padding": ((1, 2), (3, 4))}),
        ("ZeroPadding2D", (), {"padding": {"top_pad": 1, "right_pad": 2}},
         {"padding": ((1, 0), (0, 2))}),
        ("ZeroPadding2D", ((1, 2),), {}, {"padding": ((1, 1), (2, 2))}),
        ("ZeroPadding1D", (), {"left_pad": 1, "right_pad": 3}, {"padding": ((1, 3),)}),
        ("ZeroPadding3D", (), {}, {"padding": ((1, 1),) * 3}),
        ("Cropping1D", (2,), {}, {"cropping": ((2, 2),)}),
        ("Cropping2D", (), {}, {"cropping": ((0, 0), (0, 0))}),
        ("Cropping3D", (((1, 0), 2, (0, 3)),), {"dim_ordering": "th"},
         {"cropping": ((1, 0), (2, 2), (0, 3)), "data_format": "channels_first"}),
    ],
)
def test_legacy_pooling_and_resampling_calls(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    layer = call(name, *args, **kwargs)
    for key, value in expected.items():
        assert getattr(layer, key) == value, key


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "full"}),
        ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": "nhwc"}),
        ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "output_padding": -1}),
        ("MaxPooling2D", {"strides": 0}),
        ("UpSampling2D", {"interpolation": "bilinar"}),
        ("ZeroPadding2D", {"padding": -1}),
        ("ZeroPadding2D", {"padding": {"front_pad": 1}}),
        ("Cropping2D", {"cropping": (1, 2, 3, 4)}),
        ("Cropping1D", {"data_format": "channels_last"}),
        ("UpSampling1D", {"data_format": "channels_last"}),
    ],
)
def test_rejected_arguments(name: str, config: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        spec(name, **config)


# ---------------------------------------------------------------- symbolic shapes
def test_symbolic_valid_convolution_records_requirement() -> None:
    out, ctx = infer(spec("Conv2D", filters=8, kernel_size=3, strides=2), t(H, W, 3))
    for value in range(3, 20):
        assert dims.evaluate(out[1], {"H": value}) == (value - 3) // 2 + 1
    assert dims.free_symbols(out[2]) == {"W"}
    assert out[3] == 8
    assert [r.kind for r in ctx.requirements] == ["positive", "positive"]


def test_symbolic_same_convolution_needs_nothing() -> None:
    out, ctx = infer(spec("Conv1D", filters=4, kernel_size=3, padding="causal"), t(H, 2))
    assert out == (B, H, 4)
    assert ctx.requirements == []


def test_symbolic_unet_path() -> None:
    x = t(H, W, 1)
    for _ in range(3):
        x = x.with_shape(infer(spec("MaxPooling2D"), x)[0])
    assert str(x.shape[1]) == "floor(H/8)"
    up, _ = infer(spec("Conv2DTranspose", filters=8, kernel_size=3, strides=2,
                       padding="same"), x)
    assert str(up[1]) == "2*floor(H/8)"
    up, _ = infer(spec("UpSampling2D", size=2), x)
    assert str(up[2]) == "2*floor(W/8)"


def test_symbolic_channels_with_groups_is_a_requirement() -> None:
    c = dims.Sym("C")
    layer = spec("Conv2D", filters=4, kernel_size=1, groups=2)
    out, ctx = infer(layer, t(5, 5, c))
    assert out == (B, 5, 5, 4)
    assert [r.kind for r in ctx.requirements] == ["equal"]
    kernel = layer.weights([t(5, 5, c)])[0]
    assert str(kernel.shape[2]) == "floor(C/2)"


def test_symbolic_filters_flow_into_weights() -> None:
    f = dims.Sym("F")
    layer = call("Conv2D", f, 3)
    out, _ = infer(layer, t(8, 8, 3))
    assert out == (B, 6, 6, f)
    assert str(dims.total(w.size for w in layer.weights([t(8, 8, 3)]))) == "28*F"


def test_cropping_symbolic_and_concrete() -> None:
    out, ctx = infer(spec("Cropping2D", cropping=((1, 2), (0, 1))), t(H, 4, 3))
    assert str(out[1]) == "H - 3"
    assert out[2] == 3
    assert len(ctx.requirements) == 1
    with pytest.raises(ShapeError) as e:
        infer(spec("Cropping1D", cropping=(2, 3)), t(5, 3))
    assert e.value.rule is NON_POSITIVE_DIM


def test_transpose_with_empty_output_is_rejected() -> None:
    layer = spec("Conv2DTranspose", filters=2, kernel_size=2, padding="same", output_padding=0)
    with pytest.raises(ShapeError) as e:
        infer(layer, t(1, 1, 3))
    assert e.value.rule is NON_POSITIVE_DIM


def test_errors_carry_rules() -> None:
    with pytest.raises(ShapeError) as e:
        infer(spec("Conv2D", filters=4, kernel_size=3), t(8, 3))
    assert e.value.rule is WRONG_RANK
    with pytest.raises(ShapeError) as e:
        infer(spec("Conv2D", filters=4, kernel_size=3, groups=2), t(8, 8, 3))
    assert e.value.rule is INCOMPATIBLE_INPUT
    with pytest.raises(ShapeError) as e:
        infer(spec("MaxPooling2D", pool_size=3), t(2, 8, 3))
    assert e.value.rule is NON_POSITIVE_DIM
    assert "3x3 window" in str(e.value)


# ------------------------------------------------------------------- MACs and FLOPs
def _costs(layer: LayerSpec, x: TensorType) -> tuple[dims.Dim, dims.Dim]:
    out = layer.infer([x], InferContext())
    return layer.macs([x], out), layer.flops([x], out)


@pytest.mark.parametrize(
    ("name", "config", "shape", "macs", "flops"),
    [
        # 6*6 out * 3*3 * 4 in * 8 out; bias 288; relu 288
        ("Conv2D", {"filters": 8, "kernel_size": 3, "activation": "relu"}, (8, 8, 4),
         10368, 2 * 10368 + 288 + 288),
        ("Conv2D", {"filters": 8, "kernel_size": 3, "groups": 2, "use_bias": False}, (8, 8, 4),
         5184, 2 * 5184),
        # 5*5 in * 3*3 * 2 in * 4 out
        ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2}, (5, 5, 2),
         1800, 2 * 1800 + 11 * 11 * 4),
        # 4*4 out * 3*3 * 3 ch * 2 dm
        ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, (6, 6, 3),
         864, 2 * 864 + 96),
        # depthwise 4*4*9*3 + pointwise 4*4*3*5
        ("SeparableConv2D", {"filters": 5, "kernel_size": 3}, (6, 6, 3),
         432 + 240, 2 * 672 + 80),
        ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (10, 3),
         180, 380),
        ("Conv3D", {"filters": 2, "kernel_size": 2, "use_bias": False}, (3, 3, 3, 1),
         128, 256),
        ("MaxPooling2D", {"pool_size": 3, "strides": 1}, (5, 5, 2), 0, 3 * 3 * 2 * 9),
        ("AveragePooling1D", {"pool_size": 2}, (9, 4), 0, 4 * 4 * 2),
        ("GlobalAveragePooling2D", {}, (5, 5, 4), 0, 100),
        ("UpSampling2D", {}, (5, 5, 4), 0, 0),
        ("UpSampling2D", {"interpolation": "bilinear"}, (5, 5, 4), 0, 400 * 7),
        ("ZeroPadding2D", {}, (5, 5, 4), 0, 0),
    ],
)
def test_costs(
    name: str, config: dict[str, Any], shape: tuple[int, ...], macs: int, flops: int
) -> None:
    assert _costs(spec(name, **config), t(*shape)) == (macs, flops)


def test_symbolic_costs() -> None:
    macs, flops = _costs(spec("Conv2D", filters=2, kernel_size=1, use_bias=False), t(H, W, 3))
    assert dims.identical(macs, dims.prod((H, W, 6)))
    assert dims.identical(flops, dims.prod((H, W, 12)))


REFERENCE_MACS = {
    "VGG16": 15_470_264_320,
    "ResNet50": 3_857_973_248,
    "MobileNetV2": 300_774_272,
    "unet": 758_120_448,
}


def _truth_layers(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for layer in layers:
        out.extend(_truth_layers(layer.get("layers", [])))
        out.append(layer)
    return out


@pytest.mark.parametrize(("model", "expected"), sorted(REFERENCE_MACS.items()))
def test_reference_model_macs(model: str, expected: int) -> None:
    """Conv and Dense MACs over each call site of the Keras ground truth."""
    truth = json.loads((FIXTURES / "keras3" / "truth" / f"{model}.json").read_text())
    total = 0
    for layer in _truth_layers(truth["layers"]):
        cls = lookup(layer["class_name"])
        if cls is None or (cls.family != "convolution" and cls.class_name != "Dense"):
            continue
        built = cls.from_config(layer["config"])
        for ins, outs in zip(layer["input_shapes"], layer["output_shapes"], strict=True):
            x = [t(*s[1:]) for s in ins]
            result = built.infer(x, InferContext())
            assert [list(r.shape[1:]) for r in result] == [o[1:] for o in outs]
            weights = built.weights(x)
            assert [list(w.shape) for w in weights] == [w["shape"] for w in layer["weights"]]
            total += built.macs(x, result)  # type: ignore[operator]
    assert total == expected


# ---------------------------------------------------------------------- summaries
@pytest.mark.parametrize(
    ("name", "config", "text"),
    [
        ("Conv2D", {"filters": 32, "kernel_size": 3, "strides": 2, "padding": "same"},
         "32, 3x3, s2x2, same"),
        ("Conv2D", {"filters": 8, "kernel_size": (1, 7), "groups": 2, "activation": "relu"},
         "8, 1x7, relu, g2"),
        ("Conv1D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"},
         "4, 3, d2, causal"),
        ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "output_padding": 0},
         "4, 3x3, op0x0"),
        ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, "3x3, x2"),
        ("SeparableConv2D", {"filters": 16, "kernel_size": 3}, "16, 3x3"),
        ("MaxPooling2D", {}, "2x2"),
        ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same"},
         "3x3, s1x1, same"),
        ("GlobalMaxPooling1D", {"keepdims": True}, "keepdims"),
        ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, "2x3, bilinear"),
        ("ZeroPadding2D", {"padding": 2}, "2x2"),
        ("Cropping2D", {"cropping": ((1, 0), (2, 2))}, "1+0, 2+2"),
    ],
)
def test_summary(name: str, config: dict[str, Any], text: str) -> None:
    assert spec(name, **config).summary() == text
