"""Property test: random convolution and pooling configs against real Keras 3.

Each example builds the layer in Keras on a ``keras.Input`` and through convcalc's spec;
output shape, weight shapes and params must agree, and a config or input Keras rejects
must be rejected by convcalc (ConfigError or ShapeError) too.

One deliberate difference: a transposed convolution whose output would have an empty
axis (padding='same', an even kernel, output_padding=0 on a length-1 input) gets a
0-sized shape from Keras, which convcalc rejects as CC102.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from convcalc import dims
from convcalc.layers import lookup
from convcalc.layers.base import ConfigError, InferContext, ShapeError
from convcalc.rules import NON_POSITIVE_DIM
from convcalc.types import TensorType

pytestmark = pytest.mark.oracle

EXAMPLES = 150
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Shape = tuple[int | None, ...]


def _zeros(shape: tuple[int, ...], dtype: Any = None) -> Any:
    return np.zeros(shape, dtype="float32")


def _keras(class_name: str, config: dict[str, Any], shape: Shape) -> tuple[Any, Any] | None:
    cls = getattr(keras.layers, class_name)
    # Shapes do not depend on initial values; a NumPy initializer skips the backend's
    # per-shape compilation of random initializers.
    params = inspect.signature(cls.__init__).parameters
    fast = {k: _zeros for k in params if k.endswith("_initializer")}
    try:
        layer = cls(**config, **fast)
        out = layer(keras.Input(batch_shape=shape))
    except (ValueError, TypeError):
        return None
    return out, layer


def _ours(class_name: str, config: dict[str, Any], shape: Shape) -> Any:
    spec_cls = lookup(class_name)
    assert spec_cls is not None
    try:
        spec = spec_cls.from_config(config)
        x = TensorType(tuple(
            dims.BATCH if i == 0 else dims.Sym(f"s{i}") if d is None else d
            for i, d in enumerate(shape)
        ))
        ctx = InferContext()
        (out,) = spec.infer([x], ctx)
    except ConfigError as e:
        return e
    except ShapeError as e:
        return e
    if ctx.problems:
        return ShapeError(ctx.problems[0].rule, ctx.problems[0].message)
    return spec, x, out


def check(class_name: str, config: dict[str, Any], shape: Shape) -> None:
    """convcalc and Keras agree on this layer and input."""
    theirs = _keras(class_name, config, shape)
    ours = _ours(class_name, config, shape)
    where = f"{class_name}({config}) on {shape}"
    if theirs is None:
        event("Keras rejects")
        assert isinstance(ours, (ConfigError, ShapeError)), f"Keras rejects {where}"
        return
    out, layer = theirs
    if isinstance(ours, Exception):
        event("empty output axis")
        empty = any(d == 0 for d in out.shape)
        assert empty and isinstance(ours, ShapeError) and ours.rule == NON_POSITIVE_DIM, (
            f"Keras accepts {where}, convcalc says: {ours}")
        return
    spec, x, result = ours
    event("symbolic" if any(d is None for d in shape[1:]) else "concrete")
    got = [d if dims.is_int(d) else None for d in result.shape]
    assert got == list(out.shape), where
    weights = spec.weights([x])
    assert [w.name for w in weights] == [v.path.split("/")[-1] for v in layer.weights], where
    assert [tuple(w.shape) for w in weights] == [tuple(v.shape) for v in layer.weights], where
    assert dims.total(w.size for w in weights) == layer.count_params(), where
    macs = spec.macs([x], [result])
    flops = spec.flops([x], [result])
    if dims.is_int(macs) and dims.is_int(flops):
        assert 2 * macs <= flops


# ------------------------------------------------------------------------ strategies
def _per_axis(rank: int, values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """An int, or a tuple with one value per spatial axis."""
    return st.one_of(values, st.tuples(*[values] * rank))


def _spatial(rank: int) -> st.SearchStrategy[tuple[int | None, ...]]:
    size = st.one_of(st.integers(1, 12), st.none()) if rank < 3 else st.integers(1, 7)
    return st.tuples(*[size] * rank)


@st.composite
def _input(draw: st.DrawFn, rank: int, data_format: str, channels: int) -> Shape:
    spatial = draw(_spatial(rank))
    if data_format == "channels_last":
        return (None, *spatial, channels)
    return (None, channels, *spatial)


@st.composite
def _window(draw: st.DrawFn, rank: int, paddings: tuple[str, ...]) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "kernel_size": draw(_per_axis(rank, st.integers(1, 5))),
        "padding": draw(st.sampled_from(paddings)),
        "data_format": draw(st.sampled_from(["channels_last", "channels_first"])),
    }
    if draw(st.booleans()):
        cfg["strides"] = draw(_per_axis(rank, st.integers(1, 3)))
    if draw(st.booleans()):
        cfg["dilation_rate"] = draw(_per_axis(rank, st.integers(1, 3)))
    if draw(st.booleans()):
        cfg["use_bias"] = False
    return cfg


@st.composite
def conv_case(draw: st.DrawFn) -> tuple[str, dict[str, Any], Shape]:
    rank = draw(st.sampled_from([1, 2, 3]))
    cfg = draw(_window(rank, ("valid", "same", "same", "causal")))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cfg["filters"] = groups * draw(st.integers(1, 3)) + draw(st.sampled_from([0, 0, 0, 1]))
    if groups > 1:
        cfg["groups"] = groups
    channels = groups * draw(st.integers(1, 2)) + draw(st.sampled_from([0, 0, 0, 1]))
    shape = draw(_input(rank, cfg["data_format"], channels))
    return f"Conv{rank}D", cfg, shape


@st.composite
def transpose_case(draw: st.DrawFn) -> tuple[str, dict[str, Any], Shape]:
    rank = draw(st.sampled_from([1, 2, 3]))
    cfg = draw(_window(rank, ("valid", "same")))
    cfg["filters"] = draw(st.integers(1, 4))
    choice = draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "int":
        cfg["output_padding"] = draw(st.integers(0, 2))
    elif choice == "tuple":
        cfg["output_padding"] = draw(st.tuples(*[st.integers(0, 2)] * rank))
    shape = draw(_input(rank, cfg["data_format"], draw(st.integers(1, 4))))
    return f"Conv{rank}DTranspose", cfg, shape


@st.composite
def depthwise_case(draw: st.DrawFn) -> tuple[str, dict[str, Any], Shape]:
    rank = draw(st.sampled_from([1, 2]))
    cfg = draw(_window(rank, ("valid", "same", "same", "causal")))
    if draw(st.booleans()):
        cfg["depth_multiplier"] = draw(st.integers(1, 3))
    shape = draw(_input(rank, cfg["data_format"], draw(st.integers(1, 4))))
    return f"DepthwiseConv{rank}D", cfg, shape


@st.composite
def separable_case(draw: st.DrawFn) -> tuple[str, dict[str, Any], Shape]:
    rank = draw(st.sampled_from([1, 2]))
    cfg = draw(_window(rank, ("valid", "same", "same", "causal")))
    cfg["filters"] = draw(st.integers(1, 5))
    if draw(st.booleans()):
        cfg["depth_multiplier"] = draw(st.integers(1, 3))
    shape = draw(_input(rank, cfg["data_format"], draw(st.integers(1, 4))))
    return f"SeparableConv{rank}D", cfg, shape


@st.composite
def pooling_case(draw: st.DrawFn) -> tuple[str, dict[str, Any], Shape]:
    rank = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["MaxPooling", "AveragePooling"]))
    cfg: dict[str, Any] = {
        "padding": draw(st.sampled_from(["valid", "same"])),
        "data_format": draw(st.sampled_from(["channels_last", "channels_first"])),
    }
    if kind == "AveragePooling" or draw(st.booleans()):
        cfg["pool_size"] = draw(_per_axis(rank, st.integers(1, 4)))
    if draw(st.booleans()):
        cfg["strides"] = draw(_per_axis(rank, st.integers(1, 3)))
    shape = draw(_input(rank, cfg["data_format"], draw(st.integers(1, 3))))
    return f"{kind}{rank}D", cfg, shape


@st.composite
def resampling_case(draw: st.DrawFn) -> tuple[str, dict[str, Any], Shape]:
    rank = draw(st.sampled_from([1, 2, 3]))
    kind = draw(st.sampled_from(["Cropping", "ZeroPadding", "UpSampling"]))
    fmt = "channels_last" if rank == 1 and kind != "ZeroPadding" else draw(
        st.sampled_from(["channels_last", "channels_first"]))
    cfg: dict[str, Any] = {} if fmt == "channels_last" else {"data_format": fmt}
    pair = st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))
    if kind == "UpSampling":
        cfg["size"] = draw(st.integers(1, 3) if rank == 1 else _per_axis(rank, st.integers(1, 3)))
    else:
        amount = pair if rank == 1 else st.one_of(
            st.integers(0, 3), st.tuples(*[pair] * rank))
        cfg["cropping" if kind == "Cropping" else "padding"] = draw(amount)
    shape = draw(_input(rank, fmt, 2))
    return f"{kind}{rank}D", cfg, shape


@SETTINGS
@given(conv_case())
def test_convolution_matches_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    check(*case)


@SETTINGS
@given(transpose_case())
def test_transposed_convolution_matches_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    check(*case)


@SETTINGS
@given(depthwise_case())
def test_depthwise_convolution_matches_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    check(*case)


@SETTINGS
@given(separable_case())
def test_separable_convolution_matches_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    check(*case)


@SETTINGS
@given(pooling_case())
def test_pooling_matches_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    check(*case)


@SETTINGS
@given(resampling_case())
def test_resampling_matches_keras(case: tuple[str, dict[str, Any], Shape]) -> None:
    check(*case)
