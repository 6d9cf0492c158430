"""Shared base and helpers of the spatial layer specs (convolution, pooling, resampling):
the number of spatial axes, channel placement by data format, and Keras 1 forms
(per-axis kernel arguments, Keras 1 positional orders).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from convcalc import shapes
from convcalc.dims import Dim
from convcalc.layers.base import ConfigError, InferContext, LayerSpec
from convcalc.types import Shape, TensorType, format_shape


def is_int_value(v: Any) -> bool:
    """Whether v is a plain int (not a bool, not a float)."""
    return type(v) is int


class SpatialSpec(LayerSpec):
    """Base of the spatial layer specs: rank and Keras 1 kernel / positional forms."""

    rank: ClassVar[int] = 2
    """Number of spatial axes."""
    keras1_positional: ClassVar[tuple[str, ...]] = ()
    """The Keras 1 constructor order, for calls that :meth:`is_keras1_call` recognises."""
    kernel_parts: ClassVar[tuple[str, ...]] = ()
    """Keras 1 per-axis kernel arguments (``nb_row``, ``nb_col``) joined into kernel_size."""

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        cfg = dict(super().upgrade_config(config))
        parts = [p for p in cls.kernel_parts if p in cfg]
        if parts:
            values = [cfg.pop(p) for p in parts]
            if len(parts) < len(cls.kernel_parts):
                # Convolution2D(32, 3, nb_col=3): the positional row size is kernel_size.
                head = cfg.pop("kernel_size", None)
                if not is_int_value(head) or len(parts) + 1 != len(cls.kernel_parts):
                    raise ConfigError(
                        f"{cls.class_name}: incomplete kernel size "
                        f"{', '.join(cls.kernel_parts)}", "kernel_size")
                values.insert(0, head)
            elif "kernel_size" in cfg:
                raise ConfigError(
                    f"{cls.class_name}: both kernel_size and {', '.join(parts)} given",
                    "kernel_size")
            cfg["kernel_size"] = tuple(values)
        return cfg

    @classmethod
    def is_keras1_call(
        cls, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None
    ) -> bool:
        """Whether positional arguments follow the Keras 1 constructor order."""
        return False

    @classmethod
    def bind_arguments(
        cls, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None = None
    ) -> dict[str, Any]:
        if not (cls.keras1_positional and cls.is_keras1_call(args, kwargs, written_as)):
            return super().bind_arguments(args, kwargs, written_as)
        names = cls.keras1_positional
        if len(args) > len(names):
            raise ConfigError(
                f"{cls.class_name} (Keras 1 form) takes at most {len(names)} positional "
                f"arguments, got {len(args)}")
        config = dict(zip(names, args, strict=False))
        for k, v in kwargs.items():
            if k in config:
                raise ConfigError(f"{cls.class_name} got multiple values for argument {k!r}", k)
            config[k] = v
        return config


def expand_ints(spec: SpatialSpec, *names: str) -> None:
    """Replace int field values (defaults such as ``strides=1``) by one per spatial axis."""
    for name in names:
        value = getattr(spec, name)
        if is_int_value(value):
            object.__setattr__(spec, name, (value,) * spec.rank)


def split_channels(x: TensorType, data_format: str) -> tuple[tuple[Dim, ...], Dim]:
    """The spatial dims and the channel dim of a (batch, ..., channels) tensor."""
    if data_format == "channels_last":
        return x.shape[1:-1], x.shape[-1]
    return x.shape[2:], x.shape[1]


def join_channels(batch: Dim, spatial: Sequence[Dim], channels: Dim, data_format: str) -> Shape:
    """A full shape from its parts, in the data format's order."""
    if data_format == "channels_last":
        return (batch, *spatial, channels)
    return (batch, channels, *spatial)


def format_sizes(values: Sequence[int]) -> str:
    """``3x3`` for a kernel (``3`` when there is one axis)."""
    return "x".join(str(v) for v in values)


def conv_window_output(owner: str, spatial: Sequence[Dim], kernel: Sequence[int],
                       strides: Sequence[int], dilation: Sequence[int], padding: str,
                       ctx: InferContext, fitted: str) -> tuple[Dim, ...]:
    """Output spatial dims of a convolution window sliding over ``spatial``; with
    padding='valid', a window that does not fit ``fitted`` (what it slides over, in
    words) is an error of ``owner``."""
    out = tuple(shapes.conv_output_length(n, k, s, padding, d)
                for n, k, s, d in zip(spatial, kernel, strides, dilation, strict=True))
    if padding == "valid":
        dilated = f" with dilation {format_sizes(dilation)}" if max(dilation) > 1 else ""
        ctx.require_positive(
            out,
            f"{owner}: a {format_sizes(kernel)} kernel{dilated} does not fit {fitted} "
            f"with padding='valid' (output {format_shape(out)})",
        )
    return out
