"""Pure shape arithmetic shared by the layer specs (ints or symbolic dims).

Each function states its formula; lengths are per spatial axis.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import dims
from convcalc.dims import Dim


def dilated_kernel(kernel: int, dilation: int) -> int:
    """Effective kernel extent: (k - 1) * d + 1."""
    return (kernel - 1) * dilation + 1


def conv_output_length(
    length: Dim, kernel: int, stride: int, padding: str, dilation: int = 1
) -> Dim:
    """Output length of a convolution along one axis.

    valid: floor((L - ((k - 1) * d + 1)) / s) + 1; same and causal: floor((L - 1) / s) + 1.
    """
    if padding == "valid":
        span = dims.sub(length, dilated_kernel(kernel, dilation))
        return dims.add(dims.floordiv(span, stride), 1)
    return dims.add(dims.floordiv(dims.sub(length, 1), stride), 1)


def pool_output_length(length: Dim, pool: int, stride: int, padding: str) -> Dim:
    """Output length of a pooling window along one axis.

    valid: floor((L - p) / s) + 1; same: floor((L - 1) / s) + 1.
    """
    return conv_output_length(length, pool, stride, padding)


def conv_transpose_output_length(
    length: Dim,
    kernel: int,
    stride: int,
    padding: str,
    output_padding: int | None = None,
    dilation: int = 1,
) -> Dim:
    """Output length of a transposed convolution along one axis (k' = (k - 1) * d + 1).

    valid: (L - 1) * s + k' + (max(k', s) - k' if output_padding is None else output_padding);
    same: L * s if output_padding is None else (L - 1) * s + k' % 2 + output_padding.
    """
    k = dilated_kernel(kernel, dilation)
    stepped = dims.mul(dims.sub(length, 1), stride)
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return dims.add(stepped, k + extra)
    if output_padding is None:
        return dims.mul(length, stride)
    return dims.add(stepped, k % 2 + output_padding)


def canonical_axis(axis: int, rank: int) -> int:
    """An axis in [-rank, rank) as a non-negative index; ValueError outside."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of bounds for rank {rank}")
    return axis + rank if axis < 0 else axis


def spatial_axes(rank: int, data_format: str) -> range:
    """Indices of the spatial axes of a (batch, ..., channels) tensor."""
    return range(1, rank - 1) if data_format == "channels_last" else range(2, rank)


def channel_axis(rank: int, data_format: str) -> int:
    """Index of the channel axis."""
    return rank - 1 if data_format == "channels_last" else 1


def per_sample(shape: Sequence[Dim]) -> Dim:
    """Number of elements of one sample: the product of all but the batch dim."""
    return dims.prod(shape[1:])
