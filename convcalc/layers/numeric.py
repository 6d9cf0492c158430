"""NumPy numerics shared by the layer forwards: activations, softmax, masks, and image
resizing as Keras's JAX backend resizes (convolutions are in :mod:`convcalc.kernels`).

Layer modules import this lazily (inside ``forward``) so that static analysis never
pays for NumPy. Every function keeps the input's float dtype and avoids overflow
warnings: large ``exp`` arguments are clamped where the result does not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[Any]]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def as_float(x: Any) -> Array:
    """``x`` as a float32 array (float64 stays float64)."""
    a = np.asarray(x)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float32)


def mask_array(value: Any, what: str) -> Array | None:
    """A mask given in call arguments as a NumPy array (None if absent); a mask in any
    other form (a serialized tensor reference) cannot be applied, so it is refused
    rather than ignored."""
    if value is None:
        return None
    if not isinstance(value, np.ndarray):
        raise NotImplementedError(f"the {what} is not an array and cannot be applied")
    return value if value.dtype == bool else value > 0.5


def erf(x: Array) -> Array:
    """Error function, absolute error < 1.2e-7 (Numerical Recipes' Chebyshev fit of erfc,
    whose relative error is below that)."""
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(-z * z + poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(x.dtype, copy=False)


def sigmoid(x: Array) -> Array:
    """1 / (1 + exp(-x)), without overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softplus(x: Array) -> Array:
    """log(1 + exp(x))."""
    return np.logaddexp(x, np.zeros((), x.dtype))


def elu(x: Array, alpha: float = 1.0) -> Array:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False)


def relu(x: Array, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Array:
    """Keras relu: x above ``threshold`` (capped at max_value), else
    ``negative_slope * (x - threshold)``."""
    y = np.where(x > threshold, x, 0) if threshold != 0 else np.maximum(x, 0)
    if max_value is not None:
        y = np.clip(y, 0, max_value)
    if negative_slope != 0:
        y = y - negative_slope * np.maximum(threshold - x, 0)
    return y.astype(x.dtype, copy=False)


def leaky_relu(x: Array, negative_slope: float) -> Array:
    """x for x >= 0, negative_slope * x otherwise."""
    return np.where(x >= 0, x, negative_slope * x).astype(x.dtype, copy=False)


def gelu(x: Array, approximate: bool = False) -> Array:
    """x * Phi(x); approximate: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))."""
    if approximate:
        c = np.sqrt(2 / np.pi).astype(x.dtype)
        y = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x**3)))
    else:
        y = 0.5 * x * (1 + erf(x / np.sqrt(2).astype(x.dtype)))
    return np.asarray(y.astype(x.dtype, copy=False))


def softmax(x: Array, axis: int | tuple[int, ...] = -1) -> Array:
    """exp(x - max) / sum(exp(x - max)) over ``axis``."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return np.asarray((e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype, copy=False))


def log_softmax(x: Array, axis: int | tuple[int, ...] = -1) -> Array:
    """(x - max) - log(sum(exp(x - max))) over ``axis``."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    log_total = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return np.asarray((shifted - log_total).astype(x.dtype, copy=False))


def sparsemax(x: Array, axis: int = -1) -> Array:
    """max(x - tau, 0), tau chosen so that the outputs sum to 1 (Martins et al. 2016)."""
    z = -np.sort(-x, axis=axis)
    cumsum = np.cumsum(z, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = z - (cumsum - 1) / r > 0
    k = np.sum(support, axis=axis, keepdims=True)
    tau = (np.sum(np.where(support, cumsum, 0), axis=axis, keepdims=True) - 1) / k
    return np.asarray(np.maximum(x - tau, 0).astype(x.dtype, copy=False))


def glu(x: Array, axis: int = -1) -> Array:
    """a * sigmoid(b), where a, b are the two halves of x along ``axis``."""
    a, b = np.split(x, 2, axis=axis)
    return (a * sigmoid(b)).astype(x.dtype, copy=False)


def l2_normalize(x: Array, axis: int | tuple[int, ...], epsilon: float = 1e-7) -> Array:
    """x / max(||x||_2, epsilon) along ``axis`` (Keras' ``ops.normalize``)."""
    norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    return np.asarray((x / np.maximum(norm, epsilon)).astype(x.dtype, copy=False))


def _exponential(x: Array) -> Array:
    with np.errstate(over="ignore"):  # exp overflows to inf, as in Keras
        return np.exp(x)


def _hard_sigmoid(x: Array) -> Array:
    return np.asarray((np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False))


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6).astype(x.dtype, copy=False),
    "leaky_relu": lambda x: leaky_relu(x, 0.2),
    "elu": elu,
    "selu": lambda x: (SELU_SCALE * elu(x, SELU_ALPHA)).astype(x.dtype, copy=False),
    "celu": lambda x: (np.maximum(x, 0) + np.expm1(np.minimum(x, 0))).astype(x.dtype, copy=False),
    "gelu": gelu,
    "sigmoid": sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "mish": lambda x: x * np.tanh(softplus(x)),
    "softplus": softplus,
    "softsign": lambda x: x / (np.abs(x) + 1),
    "squareplus": lambda x: ((x + np.sqrt(x * x + 4)) / 2).astype(x.dtype, copy=False),
    "sparse_plus": lambda x: np.where(
        x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)).astype(x.dtype, copy=False),
    "sparse_sigmoid": lambda x: (0.5 * np.clip(x + 1, 0, 2)).astype(x.dtype, copy=False),
    "log_sigmoid": lambda x: -softplus(-x),
    "tanh": np.tanh,
    "tanh_shrink": lambda x: x - np.tanh(x),
    "hard_tanh": lambda x: np.clip(x, -1, 1).astype(x.dtype, copy=False),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0).astype(x.dtype, copy=False),
    "soft_shrink": lambda x: np.where(
        x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)).astype(x.dtype, copy=False),
    "exponential": _exponential,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "sparsemax": sparsemax,
    "glu": glu,
    # Keras 2 activation-layer names (Activation('LeakyReLU')): a default instance
    "leakyrelu": lambda x: leaky_relu(x, 0.3),
    "thresholdedrelu": lambda x: np.where(x > 1, x, 0).astype(x.dtype, copy=False),
}
"""Activation name (lower case) -> element-wise NumPy function, as Keras applies it
when the activation is given by name (so ``gelu`` is exact, not the tanh form)."""


def _triangle(x: Array) -> Array:
    return np.asarray(np.maximum(0, 1 - np.abs(x)))


def _keys_cubic(x: Array) -> Array:
    out = ((1.5 * x - 2.5) * x) * x + 1
    out = np.where(x >= 1, ((-0.5 * x + 2.5) * x - 4) * x + 2, out)
    return np.where(x >= 2, 0, out)


def _lanczos(radius: float) -> Callable[[Array], Array]:
    def kernel(x: Array) -> Array:
        y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
        safe = np.where(x != 0, np.pi**2 * x**2, 1)
        out = np.where(x > 1e-3, y / safe, 1)
        return np.where(x > radius, 0, out)

    return kernel


RESIZE_KERNELS: dict[str, Callable[[Array], Array]] = {
    "bilinear": _triangle, "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0),
}
"""Interpolation kernels of the resize methods Keras's JAX backend offers (besides
nearest), as ``jax.image.resize`` defines them."""


def resize_weights(size_in: int, size_out: int, method: str, antialias: bool) -> Array:
    """(size_in, size_out) matrix of one axis of a resize: output pixel centres sampled
    at (j + 0.5) * in/out - 0.5, kernel weights normalised to sum 1, zero outside the
    image; with antialias the kernel is stretched by in/out when downsampling."""
    inv_scale = size_in / size_out
    kernel_scale = max(inv_scale, 1.0) if antialias else 1.0
    sample = (np.arange(size_out) + 0.5) * inv_scale - 0.5
    x = np.abs(sample[None, :] - np.arange(size_in)[:, None]) / kernel_scale
    weights = RESIZE_KERNELS[method](x)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps,
                       weights / np.where(total != 0, total, 1), 0)
    inside = (sample >= -0.5) & (sample <= size_in - 0.5)
    return np.where(inside[None, :], weights, 0)


def resize(x: Array, height: int, width: int, method: str, antialias: bool = False) -> Array:
    """Resize a channels-last image batch (N, H, W, C) to (N, height, width, C)."""
    if method == "nearest":
        for axis, n in ((1, height), (2, width)):
            m = x.shape[axis]
            if m != n:
                offsets = (np.arange(n, dtype=np.float32) + 0.5) * np.float32(m / n)
                x = np.take(x, np.floor(offsets).astype(np.int64), axis=axis)
        return x
    if method not in RESIZE_KERNELS:
        raise NotImplementedError(f"resize interpolation {method!r} has no NumPy forward")
    out = x
    for axis, n in ((1, height), (2, width)):
        if x.shape[axis] != n:
            w = resize_weights(x.shape[axis], n, method, antialias).astype(x.dtype, copy=False)
            out = np.moveaxis(np.tensordot(out, w, axes=(axis, 0)), -1, axis)
    return np.ascontiguousarray(out)


def crop_to_aspect(x: Array, height: int, width: int) -> Array:
    """The centred window of (N, H, W, C) images with the aspect ratio height:width."""
    h, w = x.shape[1:3]
    crop_h = max(min(h, int(float(w * height) / width)), 1)
    crop_w = max(min(w, int(float(h * width) / height)), 1)
    top, left = int(float(h - crop_h) / 2), int(float(w - crop_w) / 2)
    return x[:, top:top + crop_h, left:left + crop_w]


def pad_to_aspect(x: Array, height: int, width: int, fill_value: float) -> Array:
    """(N, H, W, C) images padded with fill_value towards the aspect ratio
    height:width, by the same amount on both sides of one axis (as Keras pads)."""
    h, w = x.shape[1:3]
    top = int(float(max(h, int(float(w * height) / width)) - h) / 2)
    left = int(float(max(w, int(float(h * width) / height)) - w) / 2)
    if top > 0:
        pads = [(0, 0), (top, top), (0, 0), (0, 0)]
    elif left > 0:
        pads = [(0, 0), (0, 0), (left, left), (0, 0)]
    else:
        return x
    return np.pad(x, pads, constant_values=fill_value)
