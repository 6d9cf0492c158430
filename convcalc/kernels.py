"""NumPy kernels of the windowed layers: convolutions, transposed convolutions, pooling,
nearest up-sampling.

Arrays are channels-last, ``(batch, *spatial, channels)``; the layer forwards move a
channels_first input's channels to the end first. Padding is explicit, one
``(before, after)`` pair per spatial axis (:func:`window_pads` derives it from a Keras
padding mode). A convolution is one BLAS matmul over an im2col copy of a strided view
(batched over groups; a 1x1 convolution is a plain matmul); the other kernels loop
over kernel taps, never over pixels.

Layer modules import this lazily (inside ``forward``), so analysis never pays for NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

Array = np.ndarray[Any, np.dtype[Any]]
Pads = Sequence[tuple[int, int]]

IM2COL_BYTES = 1 << 24
"""Largest im2col buffer built at once (16 MiB: every ResNet50 layer at batch 1 fits);
bigger ones are built and multiplied row-block by row-block, so memory stays bounded
on large maps and batches (VGG16's first layers would need 115 MiB) at no measured
cost in speed."""


# ------------------------------------------------------------------------- layouts
def channels_last(x: Array, data_format: str) -> Array:
    """(N, C, *spatial) -> (N, *spatial, C) for channels_first data (a view); else x."""
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def from_channels_last(x: Array, data_format: str) -> Array:
    """The inverse of :func:`channels_last`."""
    return np.moveaxis(x, -1, 1) if data_format == "channels_first" else x


def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """The spatial axes of a (batch, ...) array: 1..rank, or 2..rank+1 channels first."""
    first = 2 if data_format == "channels_first" else 1
    return tuple(range(first, first + rank))


# ------------------------------------------------------------------------- padding
def same_padding(length: int, window: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """'same' (before, after) of one axis: total = max((ceil(L/s) - 1)*s + (k-1)*d + 1 - L, 0),
    the extra pixel of an odd total after."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (window - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def window_pads(spatial: Sequence[int], window: Sequence[int], strides: Sequence[int],
                dilation: Sequence[int], padding: str) -> list[tuple[int, int]]:
    """Per-axis (before, after) of a Keras padding mode: valid (0, 0), same (above),
    causal ((k-1)*d, 0)."""
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    if padding == "causal":
        return [((k - 1) * d, 0) for k, d in zip(window, dilation, strict=True)]
    if padding != "same":
        raise ValueError(f"unknown padding {padding!r}")
    return [same_padding(n, k, s, d)
            for n, k, s, d in zip(spatial, window, strides, dilation, strict=True)]


def transpose_pads(kernel: int, stride: int, dilation: int, padding: str,
                   output_padding: int | None) -> tuple[int, int]:
    """Keras's (before, after) padding of one axis of a transposed convolution, on the
    stride-dilated input: k' = (k-1)*d + 1; valid: (k'-1, k'-1 + op), op = max(k', s) - k'
    by default; same: total = s + k' - 2 (or k' + k' % 2 - 2 + op), before =
    min(ceil(total/2), k'-1)."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return span - 1, span - 1 + extra
    total = (stride + span - 2 if output_padding is None
             else span + span % 2 - 2 + output_padding)
    before = min(total // 2 + total % 2, span - 1)
    return before, total - before


def pad(x: Array, pads: Pads, value: float = 0.0) -> Array:
    """x with its spatial axes (1..n) padded by ``value``; x itself when nothing is added."""
    if not any(a or b for a, b in pads):
        return x
    shape = (x.shape[0], *(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads, strict=True)),
             x.shape[-1])
    # a fresh zero buffer costs nothing (calloc); np.pad's per-call overhead is larger
    out = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    out[(slice(None), *(slice(a, a + n) for n, (a, _) in zip(x.shape[1:-1], pads,
                                                              strict=True)))] = x
    return out


def window_output(length: int, window: int, stride: int, dilation: int = 1) -> int:
    """floor((L - (k-1)*d - 1) / s) + 1 on an already padded axis."""
    return (length - (window - 1) * dilation - 1) // stride + 1


def _tap(offset: Sequence[int], dilation: Sequence[int], out: Sequence[int],
         strides: Sequence[int]) -> tuple[slice, ...]:
    """The index of the input pixels one kernel tap reads, for every output pixel."""
    return (slice(None), *(slice(o * d, o * d + (n - 1) * s + 1, s)
                           for o, d, n, s in zip(offset, dilation, out, strides, strict=True)))


# ---------------------------------------------------------------------- convolution
def _patches(x: Array, window: Sequence[int], strides: Sequence[int],
             dilation: Sequence[int], out: Sequence[int]) -> Array:
    """Read-only view (N, *out, *window, C) of the windows of padded x; no copy."""
    rank = len(window)
    st = x.strides
    shape = (x.shape[0], *out, *window, x.shape[-1])
    steps = (st[0], *(st[1 + i] * strides[i] for i in range(rank)),
             *(st[1 + i] * dilation[i] for i in range(rank)), st[-1])
    view: Array = as_strided(x, shape, steps, writeable=False)
    return view


def conv(x: Array, kernel: Array, strides: Sequence[int], dilation: Sequence[int],
         pads: Pads, groups: int = 1) -> Array:
    """y[n, o, f] = sum_{t, c} xpad[n, o*s + t*d, g(f)*C/groups + c] * kernel[t, c, f]:
    an N-d grouped convolution; kernel (*k, C/groups, F), one im2col matmul per group."""
    rank = kernel.ndim - 2
    window = kernel.shape[:rank]
    filters = kernel.shape[-1]
    kernel = kernel.astype(x.dtype, copy=False)
    xp = pad(x, pads)
    out = [window_output(xp.shape[1 + i], window[i], strides[i], dilation[i])
           for i in range(rank)]
    batch = x.shape[0]
    if not xp.flags.c_contiguous:  # a channels_first view: one copy beats strided gathers
        xp = np.ascontiguousarray(xp)
    if groups > 1:
        return _grouped_conv(xp, kernel, strides, dilation, out, groups)
    if all(k == 1 for k in window):
        cols = xp[_tap((0,) * rank, dilation, out, strides)]
        y = cols.reshape(-1, cols.shape[-1]) @ kernel.reshape(-1, filters)
        return y.reshape(batch, *out, filters)
    weight = kernel.reshape(-1, filters)
    patches = _patches(xp, window, strides, dilation, out)
    y = np.empty((batch, *out, filters), x.dtype)
    for index in _row_blocks(patches, rank):
        block = patches[index]
        np.matmul(block.reshape(-1, weight.shape[0]), weight,
                  out=y[index].reshape(-1, filters))
    return y


def _row_blocks(patches: Array, rank: int) -> list[tuple[Any, ...]]:
    """Indices of (batch, first output axis) blocks whose im2col fits IM2COL_BYTES."""
    total = patches.size * patches.itemsize
    if total <= IM2COL_BYTES:
        return [()]
    batch, rows = patches.shape[:2]
    per_row = total // (batch * rows)
    step = max(1, IM2COL_BYTES // per_row)
    return [(n, slice(r, min(r + step, rows))) for n in range(batch)
            for r in range(0, rows, step)]


def _grouped_conv(xp: Array, kernel: Array, strides: Sequence[int],
                  dilation: Sequence[int], out: Sequence[int], groups: int) -> Array:
    """:func:`conv` with groups > 1: one batched matmul over the groups."""
    rank = len(out)
    window = kernel.shape[:rank]
    per_group, filters = kernel.shape[-2], kernel.shape[-1]
    batch = xp.shape[0]
    taps = math.prod(window)
    patches = _patches(xp, window, strides, dilation, out)
    # (N, *out, *k, G, Cg) -> (G, N, *out, *k, Cg): each group's im2col rows contiguous
    split = patches.reshape(*patches.shape[:-1], groups, per_group)
    cols = np.moveaxis(split, -2, 0).reshape(groups, -1, taps * per_group)
    weight = kernel.reshape(taps * per_group, groups, filters // groups).transpose(1, 0, 2)
    y = np.matmul(cols, weight)  # (G, M, F/G)
    return np.ascontiguousarray(np.moveaxis(y, 0, 1)).reshape(batch, *out, filters)


def depthwise_conv(x: Array, kernel: Array, strides: Sequence[int], dilation: Sequence[int],
                   pads: Pads) -> Array:
    """y[n, o, c*m + j] = sum_t xpad[n, o*s + t*d, c] * kernel[t, c, j]; kernel (*k, C, m),
    accumulated tap by tap."""
    rank = kernel.ndim - 2
    window = kernel.shape[:rank]
    channels, multiplier = kernel.shape[-2:]
    kernel = kernel.astype(x.dtype, copy=False)
    xp = pad(x, pads)
    out = [window_output(xp.shape[1 + i], window[i], strides[i], dilation[i])
           for i in range(rank)]
    shape = (x.shape[0], *out, channels, multiplier)
    y = np.empty(shape, x.dtype)
    tmp = np.empty(shape, x.dtype)
    for t, offset in enumerate(np.ndindex(*window)):
        tap = xp[_tap(offset, dilation, out, strides)][..., None]
        if t == 0:
            np.multiply(tap, kernel[offset], out=y)
        else:
            np.multiply(tap, kernel[offset], out=tmp)
            y += tmp
    return y.reshape(*shape[:-2], channels * multiplier)


def conv_transpose(x: Array, kernel: Array, strides: Sequence[int], dilation: Sequence[int],
                   pads: Pads) -> Array:
    """Transposed convolution, kernel (*k, F, C): each input pixel scatters
    x[n, i, :] @ kernel[t].T to full[i*s + t*d] (one matmul, then a scatter-add per tap);
    the output is full[k'-1-before : ...], L_out = (L-1)*s + 1 + before + after - k' + 1."""
    rank = kernel.ndim - 2
    window = kernel.shape[:rank]
    filters, channels = kernel.shape[-2:]
    spatial = x.shape[1:-1]
    spans = [(k - 1) * d + 1 for k, d in zip(window, dilation, strict=True)]
    full = [(n - 1) * s + k for n, s, k in zip(spatial, strides, spans, strict=True)]
    start = [k - 1 - a for k, (a, _) in zip(spans, pads, strict=True)]
    length = [(n - 1) * s + a + b + 2 - k
              for n, s, (a, b), k in zip(spatial, strides, pads, spans, strict=True)]
    taps = math.prod(window)
    weight = kernel.astype(x.dtype, copy=False).reshape(taps * filters, channels).T
    cols = (x.reshape(-1, channels) @ weight).reshape(*x.shape[:-1], taps, filters)
    size = [max(f, s + n) for f, s, n in zip(full, start, length, strict=True)]
    y = np.zeros((x.shape[0], *size, filters), x.dtype)
    for t, offset in enumerate(np.ndindex(*window)):
        y[_tap(offset, dilation, spatial, strides)] += cols[..., t, :]
    crop = tuple(slice(s, s + n) for s, n in zip(start, length, strict=True))
    return np.ascontiguousarray(y[(slice(None), *crop)])


# -------------------------------------------------------------------------- pooling
def _fold_windows(xp: Array, window: Sequence[int], strides: Sequence[int],
                  fold: Callable[[Array, Array], object]) -> Array:
    """Fold the window taps of padded ``xp`` into one array, tap by tap, in place."""
    rank = len(window)
    out = [window_output(xp.shape[1 + i], window[i], strides[i]) for i in range(rank)]
    ones = (1,) * rank
    y: Array | None = None
    for offset in np.ndindex(*window):
        tap = xp[_tap(offset, ones, out, strides)]
        if y is None:
            y = tap.copy()
        else:
            fold(y, tap)
    assert y is not None
    return y


def max_pool(x: Array, window: Sequence[int], strides: Sequence[int], pads: Pads) -> Array:
    """y[n, o, c] = max_t xpad[n, o*s + t, c], padding never chosen (-inf)."""
    return _fold_windows(pad(x, pads, -np.inf), window, strides,
                         lambda y, tap: np.maximum(y, tap, out=y))


def average_pool(x: Array, window: Sequence[int], strides: Sequence[int],
                 pads: Pads) -> Array:
    """y[n, o, c] = sum_t xpad[n, o*s + t, c] / count(o), count = window pixels inside
    the input (padding is not counted)."""
    rank = len(window)
    y = _fold_windows(pad(x, pads), window, strides, lambda y, tap: np.add(y, tap, out=y))
    out = y.shape[1:1 + rank]
    if not any(a or b for a, b in pads):
        y *= np.asarray(1 / math.prod(window), y.dtype)
        return y
    counts = np.ones((1,) * (rank + 2), y.dtype)
    for i in range(rank):
        starts = np.arange(out[i]) * strides[i] - pads[i][0]
        inside = (np.minimum(starts + window[i], x.shape[1 + i]) - np.maximum(starts, 0))
        shape = [1] * (rank + 2)
        shape[1 + i] = out[i]
        counts = counts * inside.astype(y.dtype).reshape(shape)
    y /= counts
    return y


# ----------------------------------------------------------------------- resampling
def repeat_axes(x: Array, sizes: Sequence[int], axes: Sequence[int]) -> Array:
    """Each index along ``axes[i]`` repeated ``sizes[i]`` times (nearest up-sampling),
    as one copy of a broadcast view."""
    factor = dict(zip(axes, sizes, strict=True))
    view_shape: list[int] = []
    target: list[int] = []
    for axis, n in enumerate(x.shape):
        view_shape.append(n)
        target.append(n)
        if factor.get(axis, 1) != 1:
            view_shape.append(1)
            target.append(factor[axis])
    out = np.broadcast_to(x.reshape(view_shape), target)
    return out.reshape([n * factor.get(a, 1) for a, n in enumerate(x.shape)])
