"""Pooling layers: max and average pooling over 1-3 spatial axes, and their global forms.

No MACs. FLOPs: one per window element per output for windowed pooling, one per input
element for global pooling. Keras 1 names (``pool_length``, ``stride``, ``border_mode``,
``dim_ordering``) are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc import dims, shapes
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

_POOL_RENAMED = {
    "pool_length": "pool_size", "stride": "strides", "border_mode": "padding",
    "dim_ordering": "data_format",
}
_POOL_POSITIONAL = ("pool_size", "strides", "padding", "data_format")


def _pool_padding(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """'valid' or 'same' (case-insensitive, as Keras 2 accepted)."""
    mode = arg.padding_mode(v)
    if mode == "causal":
        raise ConfigError("padding must be 'valid' or 'same', got 'causal'")
    return mode


class _Pooling(SpatialSpec):
    """A sliding-window reduction; strides default to the pool size."""

    family = "pooling"
    positional = _POOL_POSITIONAL
    renamed = _POOL_RENAMED
    reduction: ClassVar[str] = "max"
    """``max`` or ``average``."""

    pool_size: tuple[int, ...] = option(default=2, convert=arg.ntuple)
    strides: tuple[int, ...] = option(default=None, convert=arg.optional(arg.ntuple))
    padding: str = option(default="valid", convert=_pool_padding)
    data_format: str = option(default="channels_last", convert=arg.data_format)

    def __post_init__(self) -> None:
        expand_ints(self, "pool_size")
        strides: Any = self.strides
        if strides is None:
            object.__setattr__(self, "strides", self.pool_size)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """valid: floor((L - p) / s) + 1; same: floor((L - 1) / s) + 1; channels unchanged"""
        x = one_input(inputs, self.class_name)
        expect_rank(x, self.rank + 2, self.class_name)
        spatial, channels = split_channels(x, self.data_format)
        out = tuple(
            shapes.pool_output_length(n, p, s, self.padding)
            for n, p, s in zip(spatial, self.pool_size, self.strides, strict=True)
        )
        if self.padding == "valid":
            ctx.require_positive(
                out,
                f"{self.class_name}: a {format_sizes(self.pool_size)} window does not fit the "
                f"input {format_shape(x.shape)} with padding='valid' "
                f"(output {format_shape(out)})",
            )
        return (x.with_shape(join_channels(x.batch, out, channels, self.data_format)),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """output elements * prod(pool_size)"""
        return dims.mul(elements(outputs[0]), dims.prod(self.pool_size))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Max or mean of each window; 'same' padding is never the max and is not
        counted in the mean."""
        from convcalc import kernels
        from convcalc.layers.numeric import as_float

        x = kernels.channels_last(as_float(inputs[0]), self.data_format)
        ones = (1,) * self.rank
        pads = kernels.window_pads(x.shape[1:-1], self.pool_size, self.strides, ones,
                                   self.padding)
        pool = kernels.max_pool if self.reduction == "max" else kernels.average_pool
        y = pool(x, self.pool_size, self.strides, pads)
        return (kernels.from_channels_last(y, self.data_format),)

    def summary(self) -> str:
        parts = [format_sizes(self.pool_size)]
        if self.strides != self.pool_size:
            parts.append(f"s{format_sizes(self.strides)}")
        if self.padding != "valid":
            parts.append(self.padding)
        return ", ".join(parts)


class _AveragePooling(_Pooling):
    """Average pooling: Keras 3 has no default pool size."""

    reduction = "average"

    pool_size: tuple[int, ...] = option(convert=arg.ntuple)


@register
class MaxPooling1D(_Pooling):
    """Max over windows of steps."""

    class_name = "MaxPooling1D"
    aliases = ("MaxPool1D",)
    rank = 1

    examples = (
        Example({}, ((None, 9, 3),)),
        Example({"pool_size": 3, "strides": 2}, ((None, 10, 3),)),
        Example({"pool_size": 3, "padding": "same"}, ((None, 10, 3),)),
        Example({"pool_size": 4, "strides": 1, "padding": "same"}, ((None, 2, 3),)),
        Example({"pool_size": 2, "data_format": "channels_first"}, ((None, 3, 7),)),
        Example({"pool_size": 3}, ((None, None, 3),)),
        Example({"pool_size": 3}, ((None, 2, 3),), fails=True),
        Example({"padding": "causal"}, ((None, 8, 3),), fails=True),
        Example({}, ((None, 8, 8, 3),), fails=True),
    )


@register
class MaxPooling2D(_Pooling):
    """Max over windows of rows and cols."""

    class_name = "MaxPooling2D"
    aliases = ("MaxPool2D",)
    rank = 2

    examples = (
        Example({}, ((None, 7, 8, 3),)),
        Example({"pool_size": (3, 2), "strides": (2, 1)}, ((None, 9, 8, 3),)),
        Example({"pool_size": 3, "strides": 2, "padding": "same"}, ((None, 7, 8, 3),)),
        Example({"pool_size": 2, "data_format": "channels_first"}, ((None, 3, 7, 9),)),
        Example({"pool_size": 2, "padding": "same"}, ((None, None, 5, 3),)),
        Example({"pool_size": 2, "strides": 3}, ((None, 8, 7, 3),)),
        Example({"pool_size": (2, 3), "strides": (3, 2), "padding": "same"},
                ((None, 8, 7, 3),)),
        Example({"pool_size": 3}, ((None, 2, 8, 3),), fails=True),
        Example({"pool_size": 0}, ((None, 8, 8, 3),), fails=True),
        Example({"pool_size": (2, 2, 2)}, ((None, 8, 8, 3),), fails=True),
    )


@register
class MaxPooling3D(_Pooling):
    """Max over 3-D windows."""

    class_name = "MaxPooling3D"
    aliases = ("MaxPool3D",)
    rank = 3

    examples = (
        Example({}, ((None, 4, 5, 6, 2),)),
        Example({"pool_size": (1, 2, 3), "padding": "same"}, ((None, 4, 5, 7, 2),)),
        Example({"pool_size": 2, "strides": 1, "data_format": "channels_first"},
                ((None, 2, 4, None, 3),)),
        Example({}, ((None, 4, 1, 6, 2),), fails=True),
    )


@register
class AveragePooling1D(_AveragePooling):
    """Mean over windows of steps."""

    class_name = "AveragePooling1D"
    aliases = ("AvgPool1D",)
    rank = 1

    examples = (
        Example({"pool_size": 2}, ((None, 9, 3),)),
        Example({"pool_size": 3, "strides": 2, "padding": "same"}, ((None, 10, 3),)),
        Example({"pool_size": 2, "data_format": "channels_first"}, ((None, 3, None),)),
        Example({"pool_size": 4, "strides": 1, "padding": "same"}, ((None, 5, 2),)),
        Example({"pool_size": 2, "strides": 3, "padding": "same"}, ((None, 8, 2),)),
        Example({}, ((None, 9, 3),), fails=True),
        Example({"pool_size": 4}, ((None, 3, 3),), fails=True),
    )


@register
class AveragePooling2D(_AveragePooling):
    """Mean over windows of rows and cols."""

    class_name = "AveragePooling2D"
    aliases = ("AvgPool2D",)
    rank = 2

    examples = (
        Example({"pool_size": 2}, ((None, 7, 8, 3),)),
        Example({"pool_size": (2, 3), "strides": 1}, ((None, 7, 8, 3),)),
        Example({"pool_size": 3, "padding": "same", "data_format": "channels_first"},
                ((None, 3, 7, 8),)),
        Example({"pool_size": 7}, ((None, 7, 7, 16),)),
        Example({"pool_size": 3, "strides": 2, "padding": "same"}, ((None, 7, 8, 3),)),
        Example({"pool_size": (2, 3), "strides": (1, 2), "padding": "same"},
                ((None, 5, 6, 2),)),
        Example({}, ((None, 7, 8, 3),), fails=True),
        Example({"pool_size": 2}, ((None, 7, 8),), fails=True),
    )


@register
class AveragePooling3D(_AveragePooling):
    """Mean over 3-D windows."""

    class_name = "AveragePooling3D"
    aliases = ("AvgPool3D",)
    rank = 3

    examples = (
        Example({"pool_size": 2}, ((None, 4, 5, 6, 2),)),
        Example({"pool_size": (2, 1, 3), "strides": 2, "padding": "same"},
                ((None, 5, 4, None, 2),)),
        Example({"pool_size": 3, "data_format": "channels_first"}, ((None, 2, 3, 4, 5),)),
        Example({"pool_size": 2, "strides": (1, 2, 3), "padding": "same",
                 "data_format": "channels_first"}, ((None, 2, 3, 4, 5),)),
        Example({"pool_size": 3}, ((None, 2, 4, 5, 2),), fails=True),
    )


# ---------------------------------------------------------------------------- global
class _GlobalPooling(SpatialSpec):
    """A reduction over every spatial axis."""

    family = "pooling"
    positional = ("data_format", "keepdims")
    reduction: ClassVar[str] = "max"
    """``max`` or ``average``."""
    renamed = {"dim_ordering": "data_format"}

    data_format: str = option(default="channels_last", convert=arg.data_format)
    keepdims: bool = option(default=False, convert=arg.to_bool)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, channels), or spatial dims of 1 with keepdims"""
        x = one_input(inputs, self.class_name)
        expect_rank(x, self.rank + 2, self.class_name)
        _, channels = split_channels(x, self.data_format)
        if not self.keepdims:
            return (x.with_shape((x.batch, channels)),)
        return (x.with_shape(join_channels(x.batch, (1,) * self.rank, channels,
                                           self.data_format)),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """input elements"""
        return elements(inputs[0])

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Max or mean over the spatial axes."""
        from convcalc import kernels
        from convcalc.layers.numeric import as_float

        x = as_float(inputs[0])
        axes = kernels.spatial_axes(self.rank, self.data_format)
        if self.reduction == "max":
            return (x.max(axis=axes, keepdims=self.keepdims),)
        return (x.mean(axis=axes, keepdims=self.keepdims, dtype=x.dtype),)

    def summary(self) -> str:
        return "keepdims" if self.keepdims else ""


def _global_examples(rank: int) -> tuple[Example, ...]:
    spatial = (5, 4, 3)[:rank]
    return (
        Example({}, ((None, *spatial, 6),)),
        Example({"keepdims": True}, ((None, *spatial, 6),)),
        Example({"data_format": "channels_first"}, ((None, 6, *spatial),)),
        Example({"data_format": "channels_first", "keepdims": True},
                ((None, 6, *(None,) * rank),)),
        Example({}, ((None, *spatial),), fails=True),
    )


@register
class GlobalMaxPooling1D(_GlobalPooling):
    """Max over all steps."""

    class_name = "GlobalMaxPooling1D"
    aliases = ("GlobalMaxPool1D",)
    rank = 1
    examples = _global_examples(1)


@register
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over rows and cols."""

    class_name = "GlobalMaxPooling2D"
    aliases = ("GlobalMaxPool2D",)
    rank = 2
    examples = _global_examples(2)


@register
class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial axes."""

    class_name = "GlobalMaxPooling3D"
    aliases = ("GlobalMaxPool3D",)
    rank = 3
    examples = _global_examples(3)


@register
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over all steps; with a mask, over the unmasked steps (the output carries
    no mask)."""

    class_name = "GlobalAveragePooling1D"
    reduction = "average"
    aliases = ("GlobalAvgPool1D",)
    rank = 1
    examples = _global_examples(1)
    mask_in_call = True

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Mean over the steps; with ``call_kwargs["mask"]`` (batch, steps), the sum of
        the unmasked steps over their count (NaN where every step is masked, as in
        Keras)."""
        import numpy as np

        from convcalc.layers.numeric import as_float, mask_array

        mask = mask_array(call_kwargs.get("mask"), "GlobalAveragePooling1D mask")
        if mask is None:
            return super().forward(inputs, weights, call_kwargs)
        x = as_float(inputs[0])
        steps = 1 if self.data_format == "channels_last" else 2
        keep = np.expand_dims(mask, 3 - steps)
        total = np.where(keep, x, np.zeros((), x.dtype)).sum(axis=steps, keepdims=self.keepdims)
        count = keep.astype(x.dtype).sum(axis=steps, keepdims=self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((total / count).astype(x.dtype),)


@register
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over rows and cols."""

    class_name = "GlobalAveragePooling2D"
    reduction = "average"
    aliases = ("GlobalAvgPool2D",)
    rank = 2
    examples = _global_examples(2)


@register
class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes."""

    class_name = "GlobalAveragePooling3D"
    reduction = "average"
    aliases = ("GlobalAvgPool3D",)
    rank = 3
    examples = _global_examples(3)
