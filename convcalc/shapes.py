"""Pure shape arithmetic shared by the layer specs (ints or symbolic dims).

Each function states its formula; lengths are per spatial axis. Inside
:func:`recording`, the window functions also write down each computation as a
:class:`Step` (the formula, and the same formula with the numbers filled in), so an
explanation is the arithmetic that produced the shape, not a second copy of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from convcalc import dims
from convcalc.dims import Dim


class Step(NamedTuple):
    """One use of a shape formula: what it computes, the formula, its numbers, the result."""

    what: str
    formula: str
    filled: str
    value: Dim

    def __str__(self) -> str:
        return f"{self.filled} = {dims.format_dim(self.value)}"


# a context variable, so that recording in one thread leaves the others' analyses alone
_steps: ContextVar[list[Step] | None] = ContextVar("shape_steps", default=None)


@contextmanager
def recording() -> Iterator[list[Step]]:
    """Collect the steps of the window functions called inside the block."""
    steps: list[Step] = []
    token = _steps.set(steps)
    try:
        yield steps
    finally:
        _steps.reset(token)


def _record(what: str, formula: str, filled: str, value: Dim) -> None:
    steps = _steps.get()
    if steps is not None:
        steps.append(Step(what, formula, filled, value))


def _window_length(length: Dim, extent: int, stride: int, padding: str) -> Dim:
    """valid: floor((L - extent) / s) + 1; same and causal: floor((L - 1) / s) + 1."""
    if padding == "valid":
        return dims.add(dims.floordiv(dims.sub(length, extent), stride), 1)
    return dims.add(dims.floordiv(dims.sub(length, 1), stride), 1)


def _d(d: Dim) -> str:
    """A dim as an operand: ``(H - 2)`` in brackets, ``floor(H/2)`` and ``2*W`` as they are."""
    text = dims.format_dim(d)
    return f"({text})" if " " in text else text


def dilated_kernel(kernel: int, dilation: int) -> int:
    """Effective kernel extent: (k - 1) * d + 1."""
    return (kernel - 1) * dilation + 1


def conv_output_length(
    length: Dim, kernel: int, stride: int, padding: str, dilation: int = 1
) -> Dim:
    """Output length of a convolution along one axis.

    valid: floor((L - ((k - 1) * d + 1)) / s) + 1; same and causal: floor((L - 1) / s) + 1.
    """
    extent = dilated_kernel(kernel, dilation)
    out = _window_length(length, extent, stride, padding)
    if _steps.get() is not None:
        if padding == "valid":
            k = f"(({kernel} - 1) * {dilation} + 1)" if dilation != 1 else str(kernel)
            _record("convolution output length (valid: the kernel stays inside the input)",
                    "floor((L - ((k - 1) * d + 1)) / s) + 1",
                    f"floor(({_d(length)} - {k}) / {stride}) + 1", out)
        else:
            _record(f"convolution output length ({padding}: padded so that out = ceil(L / s))",
                    "floor((L - 1) / s) + 1", f"floor(({_d(length)} - 1) / {stride}) + 1", out)
    return out


def pool_output_length(length: Dim, pool: int, stride: int, padding: str) -> Dim:
    """Output length of a pooling window along one axis.

    valid: floor((L - p) / s) + 1; same: floor((L - 1) / s) + 1.
    """
    out = _window_length(length, pool, stride, padding)
    if _steps.get() is not None:
        if padding == "valid":
            _record("pooling output length (valid: the window stays inside the input)",
                    "floor((L - p) / s) + 1", f"floor(({_d(length)} - {pool}) / {stride}) + 1",
                    out)
        else:
            _record("pooling output length (same: padded so that out = ceil(L / s))",
                    "floor((L - 1) / s) + 1", f"floor(({_d(length)} - 1) / {stride}) + 1", out)
    return out


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
    what = "transposed convolution output length"
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        out = dims.add(stepped, k + extra)
        if output_padding is None:
            _record(what, "(L - 1) * s + max(k', s)",
                    f"({_d(length)} - 1) * {stride} + max({k}, {stride})", out)
        else:
            _record(what, "(L - 1) * s + k' + output_padding",
                    f"({_d(length)} - 1) * {stride} + {k} + {output_padding}", out)
        return out
    if output_padding is None:
        out = dims.mul(length, stride)
        _record(what, "L * s", f"{_d(length)} * {stride}", out)
        return out
    out = dims.add(stepped, k % 2 + output_padding)
    _record(what, "(L - 1) * s + k' % 2 + output_padding",
            f"({_d(length)} - 1) * {stride} + {k} % 2 + {output_padding}", out)
    return out


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
