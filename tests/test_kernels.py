"""The NumPy kernels of the windowed layers, and the forwards built on them, against
real Keras 3 on random configs (odd sizes, strides above the window, dilation with
'same' padding, causal padding, channels_first, groups, output_padding), plus exact
values of the padding arithmetic and the im2col row blocking."""

from __future__ import annotations

import inspect
from typing import Any

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_spatial_oracle import (
    conv_case,
    depthwise_case,
    pooling_case,
    resampling_case,
    separable_case,
    transpose_case,
)

from convcalc import kernels
from convcalc.layers import lookup

Shape = tuple[int | None, ...]
Case = tuple[str, dict[str, Any], Shape]

SETTINGS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _keras_forward(class_name: str, config: dict[str, Any], x: np.ndarray[Any, Any],
                   rng: np.random.Generator) -> tuple[Any, list[np.ndarray[Any, Any]]] | None:
    """Keras's output on x with random weights (and those weights), or None when
    Keras rejects the config or input or produces an empty output."""
    cls = getattr(keras.layers, class_name)
    params = inspect.signature(cls.__init__).parameters
    # weights are overwritten below: NumPy initialisers skip the backend's compilation
    fast = {k: (lambda shape, dtype=None: np.zeros(shape, "float32"))
            for k in params if k.endswith("_initializer")}
    try:
        layer = cls(**config, **fast)
        layer(x)
    except (ValueError, TypeError):
        return None
    weights = [(0.5 * rng.standard_normal(tuple(w.shape))).astype("float32")
               for w in layer.weights]
    layer.set_weights(weights)
    out = keras.ops.convert_to_numpy(layer(x))
    if out.size == 0:
        return None
    return out, weights


def check_forward(case: Case, data: st.DataObject) -> None:
    """convcalc's forward equals Keras's output on a random input of the case's shape."""
    class_name, config, shape = case
    concrete = tuple(2 if i == 0 else data.draw(st.integers(1, 9)) if d is None else d
                     for i, d in enumerate(shape))
    rng = np.random.default_rng(len(class_name) + sum(concrete))
    x = rng.standard_normal(concrete).astype("float32")
    theirs = _keras_forward(class_name, config, x, rng)
    assume(theirs is not None)
    assert theirs is not None
    want, weights = theirs
    spec_cls = lookup(class_name)
    assert spec_cls is not None
    (got,) = spec_cls.from_config(config).forward([x], weights, {})
    assert got.dtype == np.float32 or class_name.startswith(("Cropping", "ZeroPadding",
                                                               "UpSampling"))
    assert got.shape == want.shape, f"{class_name}({config}) on {concrete}"
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5,
                               err_msg=f"{class_name}({config}) on {concrete}")


@pytest.mark.oracle
@SETTINGS
@given(conv_case(), st.data())
def test_convolution_forward_matches_keras(case: Case, data: st.DataObject) -> None:
    check_forward(case, data)


@pytest.mark.oracle
@SETTINGS
@given(transpose_case(), st.data())
def test_transposed_convolution_forward_matches_keras(case: Case, data: st.DataObject) -> None:
    check_forward(case, data)


@pytest.mark.oracle
@SETTINGS
@given(depthwise_case(), st.data())
def test_depthwise_convolution_forward_matches_keras(case: Case, data: st.DataObject) -> None:
    check_forward(case, data)


@pytest.mark.oracle
@SETTINGS
@given(separable_case(), st.data())
def test_separable_convolution_forward_matches_keras(case: Case, data: st.DataObject) -> None:
    check_forward(case, data)


@pytest.mark.oracle
@SETTINGS
@given(pooling_case(), st.data())
def test_pooling_forward_matches_keras(case: Case, data: st.DataObject) -> None:
    check_forward(case, data)


@pytest.mark.oracle
@SETTINGS
@given(resampling_case(), st.data())
def test_resampling_forward_matches_keras(case: Case, data: st.DataObject) -> None:
    check_forward(case, data)


# ------------------------------------------------------------------ exact arithmetic
@pytest.mark.parametrize(
    ("length", "window", "stride", "dilation", "expected"),
    [
        (7, 3, 2, 1, (1, 1)),   # out 4: 3*2 + 3 - 7 = 2
        (8, 3, 2, 1, (0, 1)),   # out 4: 6 + 3 - 8 = 1, the odd pixel after
        (6, 4, 1, 1, (1, 2)),   # out 6: 5 + 4 - 6 = 3
        (9, 3, 1, 2, (2, 2)),   # dilated window 5: 8 + 5 - 9 = 4
        (11, 2, 3, 1, (0, 0)),  # out 4: 9 + 2 - 11 = 0
        (5, 1, 2, 1, (0, 0)),   # 1x1 stride 2 never pads
        (2, 5, 1, 1, (2, 2)),   # window above the input
        (1, 3, 4, 1, (1, 1)),   # out 1: 0 + 3 - 1 = 2
    ],
)
def test_same_padding(length: int, window: int, stride: int, dilation: int,
                      expected: tuple[int, int]) -> None:
    assert kernels.same_padding(length, window, stride, dilation) == expected


@pytest.mark.parametrize(
    ("kernel", "stride", "dilation", "padding", "output_padding", "expected"),
    [
        (3, 2, 1, "valid", None, (2, 2)),   # (L-1)*2 + 3: no extra
        (2, 3, 1, "valid", None, (1, 2)),   # (L-1)*3 + max(2, 3): one extra
        (3, 2, 1, "valid", 1, (2, 3)),
        (3, 2, 1, "same", None, (2, 1)),    # total 2 + 3 - 2 = 3, ceil half before
        (4, 2, 1, "same", None, (2, 2)),    # total 4
        (4, 2, 1, "same", 1, (2, 1)),       # total 4 + 0 - 2 + 1 = 3
        (3, 1, 2, "same", None, (2, 2)),    # dilated window 5: total 4
        (2, 3, 1, "same", None, (1, 2)),    # total 3, before capped at window - 1
    ],
)
def test_transpose_pads(kernel: int, stride: int, dilation: int, padding: str,
                        output_padding: int | None, expected: tuple[int, int]) -> None:
    assert kernels.transpose_pads(kernel, stride, dilation, padding, output_padding) == expected


# ------------------------------------------------------------------------- kernels
def _direct_conv(x: np.ndarray[Any, Any], kernel: np.ndarray[Any, Any], stride: int,
                 pads: tuple[int, int]) -> np.ndarray[Any, Any]:
    """2-D convolution by the definition, one output pixel at a time (float64)."""
    xp = np.pad(x.astype(np.float64), [(0, 0), pads, pads, (0, 0)])
    kh, kw = kernel.shape[:2]
    rows = (xp.shape[1] - kh) // stride + 1
    cols = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], rows, cols, kernel.shape[-1]))
    for i in range(rows):
        for j in range(cols):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            y[:, i, j] = np.tensordot(patch, kernel, axes=3)
    return y


def test_conv_in_row_blocks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """A map whose im2col exceeds the budget is built block by block, same result."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 13, 11, 5)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 5, 4)).astype(np.float32)
    whole = kernels.conv(x, kernel, (2, 2), (1, 1), [(1, 1), (1, 1)])
    monkeypatch.setattr(kernels, "IM2COL_BYTES", 3 * 6 * 9 * 5 * 4)  # 3 output rows
    blocks = kernels._row_blocks(
        kernels._patches(kernels.pad(x, [(1, 1), (1, 1)]), (3, 3), (2, 2), (1, 1), (7, 6)), 2)
    assert len(blocks) == 2 * 3  # per image: rows 0-2, 3-5, 6
    blocked = kernels.conv(x, kernel, (2, 2), (1, 1), [(1, 1), (1, 1)])
    np.testing.assert_array_equal(blocked, whole)
    np.testing.assert_allclose(blocked, _direct_conv(x, kernel, 2, (1, 1)),
                               rtol=1e-5, atol=1e-5)


def test_conv_output_is_fresh() -> None:
    """A convolution never returns a view of its input (an in-place activation after
    it must not write into the input): checked on the 1x1 matmul path."""
    x = np.ones((1, 4, 4, 3), np.float32)
    y = kernels.conv(x, np.ones((1, 1, 3, 3), np.float32), (1, 1), (1, 1), [(0, 0)] * 2)
    assert not np.shares_memory(x, y)
    np.testing.assert_array_equal(y, np.full((1, 4, 4, 3), 3.0))


def test_max_pool_never_picks_padding() -> None:
    x = -np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)
    y = kernels.max_pool(x, (3,), (2,), [kernels.same_padding(5, 3, 2)])
    np.testing.assert_array_equal(y.ravel(), [-1, -2, -4])


def test_average_pool_counts_only_the_input() -> None:
    """'same' windows at the borders divide by the pixels they cover."""
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)
    y = kernels.average_pool(x, (3,), (2,), [kernels.same_padding(5, 3, 2)])
    np.testing.assert_allclose(y.ravel(), [(1 + 2) / 2, (2 + 3 + 4) / 3, (4 + 5) / 2])


def test_repeat_axes() -> None:
    x = np.arange(24).reshape(2, 3, 4)
    y = kernels.repeat_axes(x, (2, 3), (1, 2))
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, axis=1), 3, axis=2))


def test_moving_layers_keep_integer_dtypes() -> None:
    """Reshaping, padding and cropping move ids as they are (Keras keeps int dtypes)."""
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    for name, config in [("Flatten", {}), ("Reshape", {"target_shape": (4, 3)}),
                         ("Permute", {"dims": (2, 1)}), ("ZeroPadding1D", {}),
                         ("Cropping1D", {}), ("UpSampling1D", {})]:
        spec = lookup(name)
        assert spec is not None
        (y,) = spec.from_config(config).forward([x], [], {})
        assert y.dtype == np.int32, name
