"""Resampling layers: UpSampling, ZeroPadding and Cropping over 1-3 spatial axes.

No MACs and no weights. FLOPs are zero except for UpSampling2D with an interpolating
resize. Keras 1 forms are accepted: ``UpSampling1D(length=)``, ``dim_ordering``,
``ZeroPadding1D(padding={'left_pad': .., 'right_pad': ..})``, ``ZeroPadding2D`` with a
4-tuple ``(top, bottom, left, right)`` or a ``{'top_pad', ...}`` dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers import arguments as arg
from convcalc.layers.base import ConfigError, Example, InferContext, LayerSpec, option, register
from convcalc.layers.common import elements, expect_rank, one_input
from convcalc.layers.spatial import (
    SpatialSpec,
    expand_ints,
    format_sizes,
    join_channels,
    split_channels,
)
from convcalc.types import TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.kernels import Array

Pairs = tuple[tuple[int, int], ...]

INTERPOLATION_TAPS = {
    "nearest": 1, "area": 1, "bilinear": 4, "bicubic": 16, "mitchellcubic": 16,
    "gaussian": 36, "lanczos3": 36, "lanczos5": 100,
}
"""Input values read per output value by each UpSampling2D interpolation."""

_KERAS1_PAD_KEYS = {
    1: ("left_pad", "right_pad"),
    2: ("top_pad", "bottom_pad", "left_pad", "right_pad"),
}


def _pair(v: Any) -> tuple[int, int]:
    """An int (symmetric) or a pair of ints >= 0."""
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ConfigError(f"expected a pair, got {list(v)!r}")
        return arg.non_negative_int(v[0]), arg.non_negative_int(v[1])
    n = arg.non_negative_int(v)
    return n, n


def crop_amounts(v: Any, cls: type[LayerSpec]) -> Pairs:
    """Per-axis (before, after) amounts: an int, or one int or pair per axis (1-D: a pair)."""
    rank: int = cls.rank  # type: ignore[attr-defined]
    if rank == 1:
        return (_pair(v),)
    if isinstance(v, (list, tuple)):
        if len(v) != rank:
            raise ConfigError(f"expected {rank} entries, got {list(v)!r}")
        return tuple(_pair(x) for x in v)
    return (_pair(v),) * rank


def padding_amounts(v: Any, cls: type[LayerSpec]) -> Pairs:
    """As :func:`crop_amounts`, plus the Keras 1 forms: a dict of ``*_pad`` keys, and a
    4-tuple (top, bottom, left, right) in 2-D."""
    rank: int = cls.rank  # type: ignore[attr-defined]
    if isinstance(v, Mapping):
        keys = _KERAS1_PAD_KEYS.get(rank)
        if keys is None or not set(v) <= set(keys):
            raise ConfigError(f"unsupported padding {dict(v)!r}")
        flat = [arg.non_negative_int(v.get(k, 0)) for k in keys]
        return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
    if rank == 2 and isinstance(v, (list, tuple)) and len(v) == 4:
        return (_pair(tuple(v[:2])), _pair(tuple(v[2:])))
    return crop_amounts(v, cls)


def _no_data_format(v: Any, cls: type[LayerSpec]) -> str:
    """Only the implicit channels_last: this layer has no data_format argument."""
    raise ConfigError(f"{cls.class_name} has no data_format argument")


# -------------------------------------------------------------------------- upsampling
class _UpSampling(SpatialSpec):
    """Repeat each spatial position ``size`` times along each axis."""

    family = "resampling"
    renamed = {"dim_ordering": "data_format"}

    size: tuple[int, ...] = option(default=2, convert=arg.ntuple)
    data_format: str = option(default="channels_last", convert=arg.data_format)

    def __post_init__(self) -> None:
        expand_ints(self, "size")

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """L * size on each spatial axis"""
        x = one_input(inputs, self.class_name)
        expect_rank(x, self.rank + 2, self.class_name)
        spatial, channels = split_channels(x, self.data_format)
        out = tuple(dims.mul(n, s) for n, s in zip(spatial, self.size, strict=True))
        return (x.with_shape(join_channels(x.batch, out, channels, self.data_format)),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Each position repeated ``size`` times along its axis."""
        from convcalc import kernels

        axes = kernels.spatial_axes(self.rank, self.data_format)
        return (kernels.repeat_axes(inputs[0], self.size, axes),)

    def summary(self) -> str:
        return format_sizes(self.size)


def _int_size(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int]:
    """A positive int (not a float: Keras 3 checks the type)."""
    if type(v) is not int:
        raise ConfigError(f"size must be an integer, got {v!r}")
    return (arg.positive_int(v),)


@register
class UpSampling1D(_UpSampling):
    """Repeat each step ``size`` times: (batch, steps * size, channels)."""

    class_name = "UpSampling1D"
    rank = 1
    positional = ("size",)
    renamed = {"length": "size"}

    size: tuple[int, ...] = option(default=2, convert=_int_size)
    data_format: str = option(default="channels_last", convert=_no_data_format)

    examples = (
        Example({}, ((None, 5, 3),)),
        Example({"size": 3}, ((None, None, 3),)),
        Example({"size": 0}, ((None, 5, 3),), fails=True),
        Example({"size": 2.0}, ((None, 5, 3),), fails=True),
        Example({"size": 2}, ((None, 5, 3, 2),), fails=True),
    )


def _interpolation(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """A resize interpolation name (case-insensitive)."""
    if not isinstance(v, str) or v.lower() not in INTERPOLATION_TAPS:
        raise ConfigError(
            f"interpolation must be one of {', '.join(INTERPOLATION_TAPS)}, got {v!r}")
    return v.lower()


@register
class UpSampling2D(_UpSampling):
    """Resize rows and cols by integer factors."""

    class_name = "UpSampling2D"
    rank = 2
    positional = ("size", "data_format", "interpolation")

    interpolation: str = option(default="nearest", convert=_interpolation)

    examples = (
        Example({}, ((None, 5, 4, 3),)),
        Example({"size": (3, 2), "interpolation": "bilinear"}, ((None, 5, 4, 3),)),
        Example({"size": 2, "data_format": "channels_first"}, ((None, 3, 5, None),)),
        Example({"size": (2, 3), "interpolation": "bicubic"}, ((None, 4, 3, 2),)),
        Example({"size": 2, "interpolation": "lanczos3"}, ((None, 4, 5, 2),)),
        Example({"size": (1, 3), "interpolation": "lanczos5"}, ((None, 3, 4, 2),)),
        Example({"size": 3, "interpolation": "bilinear", "data_format": "channels_first"},
                ((None, 2, 4, 3),)),
        Example({"size": (2, 0)}, ((None, 5, 4, 3),), fails=True),
        Example({}, ((None, 5, 3),), fails=True),
    )

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """nearest: 0; else output elements * (2 * taps - 1), taps = 4 for bilinear, 16
        for bicubic, 36 for lanczos3, 100 for lanczos5"""
        taps = INTERPOLATION_TAPS[self.interpolation]
        return 0 if taps == 1 else dims.mul(elements(outputs[0]), 2 * taps - 1)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """nearest: each pixel repeated; otherwise an image resize to (H * s1, W * s2)
        (no antialiasing), as Keras does."""
        if self.interpolation == "nearest":
            return _UpSampling.forward(self, inputs, weights, call_kwargs)
        from convcalc import kernels
        from convcalc.layers.numeric import as_float, resize

        x = kernels.channels_last(as_float(inputs[0]), self.data_format)
        height, width = (n * s for n, s in zip(x.shape[1:3], self.size, strict=True))
        y = resize(x, height, width, self.interpolation)
        return (kernels.from_channels_last(y, self.data_format),)

    def summary(self) -> str:
        text = format_sizes(self.size)
        return text if self.interpolation == "nearest" else f"{text}, {self.interpolation}"


@register
class UpSampling3D(_UpSampling):
    """Repeat along the three spatial axes."""

    class_name = "UpSampling3D"
    rank = 3
    positional = ("size", "data_format")

    examples = (
        Example({}, ((None, 2, 3, 4, 2),)),
        Example({"size": (1, 2, 3), "data_format": "channels_first"},
                ((None, 2, 3, None, 4),)),
        Example({"size": (2, 2)}, ((None, 2, 3, 4, 2),), fails=True),
    )


# ---------------------------------------------------------------------- padding / crop
class _Border(SpatialSpec):
    """Add (ZeroPadding) or remove (Cropping) rows at both ends of each spatial axis."""

    family = "resampling"
    renamed = {"dim_ordering": "data_format"}
    sign: ClassVar[int] = 1

    data_format: str = option(default="channels_last", convert=arg.data_format)

    def pairs(self) -> Pairs:
        raise NotImplementedError

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """L + before + after (padding) or L - before - after (cropping, must stay >= 1)"""
        x = one_input(inputs, self.class_name)
        expect_rank(x, self.rank + 2, self.class_name)
        spatial, channels = split_channels(x, self.data_format)
        out = tuple(dims.add(n, self.sign * (a + b))
                    for n, (a, b) in zip(spatial, self.pairs(), strict=True))
        if self.sign < 0:
            ctx.require_positive(
                out,
                f"{self.class_name}: cropping {self.pairs()} removes all of an axis of "
                f"{format_shape(x.shape)} (output {format_shape(out)})",
            )
        return (x.with_shape(join_channels(x.batch, out, channels, self.data_format)),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Zeros added (padding) or positions removed (cropping) at both ends of each
        spatial axis."""
        import numpy as np

        from convcalc import kernels

        x = np.asarray(inputs[0])
        axes = kernels.spatial_axes(self.rank, self.data_format)
        if self.sign > 0:
            widths = [(0, 0)] * x.ndim
            for axis, pair in zip(axes, self.pairs(), strict=True):
                widths[axis] = pair
            return (np.pad(x, widths),)
        index = [slice(None)] * x.ndim
        for axis, (a, b) in zip(axes, self.pairs(), strict=True):
            index[axis] = slice(a, x.shape[axis] - b)
        return (x[tuple(index)],)

    def summary(self) -> str:
        pairs = self.pairs()
        if all(a == b for a, b in pairs):
            return format_sizes([a for a, _ in pairs])
        return ", ".join(f"{a}+{b}" for a, b in pairs)


class _ZeroPadding(_Border):
    positional = ("padding", "data_format")

    padding: Pairs = option(default=1, convert=padding_amounts)

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        cfg = dict(super().upgrade_config(config))
        keys = [k for k in _KERAS1_PAD_KEYS.get(cls.rank, ()) if k in cfg]
        if keys and "padding" not in cfg:  # a Keras 1.2 config: one key per side
            cfg["padding"] = {k: cfg.pop(k) for k in keys}
        return cfg

    def __post_init__(self) -> None:
        value: Any = self.padding
        if type(value) is int:
            object.__setattr__(self, "padding", padding_amounts(value, type(self)))

    def pairs(self) -> Pairs:
        return self.padding


class _Cropping(_Border):
    sign = -1
    positional: ClassVar[tuple[str, ...]] = ("cropping", "data_format")

    cropping: Pairs = option(default=1, convert=crop_amounts)

    def __post_init__(self) -> None:
        value: Any = self.cropping
        if type(value) is int:
            object.__setattr__(self, "cropping", crop_amounts(value, type(self)))

    def pairs(self) -> Pairs:
        return self.cropping


@register
class ZeroPadding1D(_ZeroPadding):
    """Zeros before and after the steps."""

    class_name = "ZeroPadding1D"
    rank = 1

    examples = (
        Example({}, ((None, 5, 3),)),
        Example({"padding": (2, 0)}, ((None, 5, 3),)),
        Example({"padding": 3, "data_format": "channels_first"}, ((None, 3, None),)),
        Example({"padding": (1, 2, 3)}, ((None, 5, 3),), fails=True),
        Example({"padding": (1, -1)}, ((None, 5, 3),), fails=True),
    )


@register
class ZeroPadding2D(_ZeroPadding):
    """Zeros around rows and cols."""

    class_name = "ZeroPadding2D"
    rank = 2

    examples = (
        Example({}, ((None, 5, 4, 3),)),
        Example({"padding": (2, 1)}, ((None, 5, 4, 3),)),
        Example({"padding": ((0, 1), (2, 3))}, ((None, 5, None, 3),)),
        Example({"padding": ((0, 1), 2), "data_format": "channels_first"},
                ((None, 3, 5, 4),)),
        Example({"padding": (1, 2, 3)}, ((None, 5, 4, 3),), fails=True),
        Example({}, ((None, 5, 4),), fails=True),
    )


@register
class ZeroPadding3D(_ZeroPadding):
    """Zeros around the three spatial axes."""

    class_name = "ZeroPadding3D"
    rank = 3

    examples = (
        Example({}, ((None, 2, 3, 4, 2),)),
        Example({"padding": (1, 0, 2)}, ((None, 2, 3, 4, 2),)),
        Example({"padding": ((0, 1), (1, 1), (2, 0)), "data_format": "channels_first"},
                ((None, 2, None, 3, 4),)),
        Example({"padding": (1, 2)}, ((None, 2, 3, 4, 2),), fails=True),
    )


@register
class Cropping1D(_Cropping):
    """Remove steps at both ends."""

    class_name = "Cropping1D"
    rank = 1
    positional = ("cropping",)

    examples = (
        Example({}, ((None, 5, 3),)),
        Example({"cropping": (2, 0)}, ((None, 5, 3),)),
        Example({"cropping": 2}, ((None, None, 3),)),
        Example({"cropping": (2, 3)}, ((None, 5, 3),), fails=True),
        Example({"cropping": (3, 3)}, ((None, 5, 3),), fails=True),
        Example({"data_format": "channels_first"}, ((None, 5, 3),), fails=True),
    )

    data_format: str = option(default="channels_last", convert=_no_data_format)


@register
class Cropping2D(_Cropping):
    """Remove rows and cols at both ends."""

    class_name = "Cropping2D"
    rank = 2

    cropping: Pairs = option(default=0, convert=crop_amounts)

    examples = (
        Example({}, ((None, 5, 4, 3),)),
        Example({"cropping": ((1, 2), (0, 1))}, ((None, 5, 4, 3),)),
        Example({"cropping": (1, 0), "data_format": "channels_first"}, ((None, 3, 5, 4),)),
        Example({"cropping": 1}, ((None, None, 4, 3),)),
        Example({"cropping": 2}, ((None, 4, 5, 3),), fails=True),
        Example({"cropping": ((0, 0), (3, 2))}, ((None, 8, 5, 3),), fails=True),
        Example({"cropping": -1}, ((None, 8, 5, 3),), fails=True),
    )


@register
class Cropping3D(_Cropping):
    """Remove positions at both ends of the three spatial axes."""

    class_name = "Cropping3D"
    rank = 3

    examples = (
        Example({}, ((None, 3, 4, 5, 2),)),
        Example({"cropping": ((0, 1), 0, (2, 1)), "data_format": "channels_first"},
                ((None, 2, 3, 4, 5),)),
        Example({"cropping": (0, 1, 1)}, ((None, None, 4, 5, 2),)),
        Example({}, ((None, 3, 2, 5, 2),), fails=True),
    )
