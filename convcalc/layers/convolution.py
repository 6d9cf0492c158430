"""Convolution layers: Conv1D/2D/3D, depthwise and separable convolutions (the transposes
are in :mod:`convcalc.layers.convolution_transpose`).

MACs per sample (bias adds not counted):
conv = out_spatial * prod(k) * in_c / groups * filters;
transpose = in_spatial * prod(k) * in_c * filters (every input pixel scatters a kernel);
depthwise = out_spatial * prod(k) * in_c * depth_multiplier;
separable = depthwise + out_spatial * in_c * depth_multiplier * filters.
FLOPs = 2 * MACs + one per output element for the bias + the fused activation.

Keras 1 and 2 forms are accepted: ``Convolution2D(32, 3, 3, border_mode='same')``
(nb_filter, nb_row, nb_col), ``Convolution3D(8, 3, 3, 3)``, ``Convolution1D(16, 5,
'he_normal')``, ``AtrousConvolution2D(..., atrous_rate=2)``, ``Deconvolution2D(..., output_shape)``
(the output shape is dropped, as Keras 2 did), ``subsample``, ``init``, ``bias`` and
``dim_ordering`` ('tf', 'th').
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import evaluate, named
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    LayerSpec,
    ShapeError,
    option,
    register,
)
from convcalc.layers.common import activation_flops, elements, expect_rank, one_input
from convcalc.layers.core import GLOROT_UNIFORM, ZEROS
from convcalc.layers.spatial import (
    SpatialSpec,
    conv_window_output,
    expand_ints,
    format_sizes,
    is_int_value,
    join_channels,
    split_channels,
)
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.kernels import Array

__all__ = [
    "Conv1D", "Conv2D", "Conv3D",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    # re-exported for specs that still import them from here
    "SpatialSpec", "format_sizes", "join_channels", "split_channels",
]

_KERAS3_WINDOW_ARGS = frozenset(
    ("kernel_size", "strides", "padding", "data_format", "dilation_rate")
)
_PADDINGS = frozenset(("valid", "same", "causal"))
_KERAS1_PREFIXES = ("Convolution", "AtrousConvolution", "SeparableConvolution", "Deconvolution")


def nonneg_ntuple(v: Any, cls: type[LayerSpec]) -> tuple[int, ...]:
    """An int or a sequence of ``cls.rank`` ints >= 0."""
    rank: int = cls.rank  # type: ignore[attr-defined]
    if isinstance(v, (list, tuple)):
        if len(v) != rank:
            raise ConfigError(f"expected {rank} values, got {list(v)!r}")
        return tuple(arg.non_negative_int(x) for x in v)
    return (arg.non_negative_int(v),) * rank


def _keras1_kernel_call(
    rank: int, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None
) -> bool:
    """``Convolution2D(32, 3, 3, ...)``: filters then one int per kernel axis.

    Keras 3 reads a third int as strides (``Conv2D(64, 3, 2)`` is a stride-2 conv), but
    under a Keras 1 class name (``Convolution2D``...) or with a Keras 1 keyword
    (``border_mode=``...) three bare ints are the Keras 1 idiom. A Keras 3 keyword
    (``padding=``...) or a padding mode where Keras 1 has ``init`` keeps the Keras 3
    reading.
    """
    keras1_name = written_as is not None and written_as.startswith(_KERAS1_PREFIXES)
    if not (keras1_name or any(k in kwargs for k in K1_RENAMED)):
        return False
    if len(args) < rank + 1 or not all(is_int_value(a) for a in args[1:rank + 1]):
        return False
    if any(k in kwargs for k in _KERAS3_WINDOW_ARGS):
        return False
    nxt = args[rank + 1] if len(args) > rank + 1 else None
    return not (isinstance(nxt, str) and nxt.lower() in _PADDINGS)


# ---------------------------------------------------------------------------- bases
class WindowedSpec(SpatialSpec):
    """Arguments and rules shared by every convolution kind."""

    family = "convolution"
    allows_causal: ClassVar[bool] = False
    allows_strided_dilation: ClassVar[bool] = True

    kernel_size: tuple[int, ...] = option(convert=arg.ntuple)
    strides: tuple[int, ...] = option(default=1, convert=arg.ntuple)
    padding: str = option(default="valid", convert=arg.padding_mode)
    data_format: str = option(default="channels_last", convert=arg.data_format)
    dilation_rate: tuple[int, ...] = option(default=1, convert=arg.ntuple)
    activation: str = option(default="linear", convert=arg.activation)
    use_bias: bool = option(default=True, convert=arg.to_bool)
    bias_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)

    def __post_init__(self) -> None:
        expand_ints(self, "kernel_size", "strides", "dilation_rate")

    @classmethod
    def is_keras1_call(
        cls, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None
    ) -> bool:
        return _keras1_kernel_call(cls.rank, args, kwargs, written_as)

    def validate(self) -> None:
        if self.padding == "causal" and not self.allows_causal:
            raise ConfigError(
                f"{self.class_name}: padding must be 'valid' or 'same', got 'causal'", "padding")
        if (not self.allows_strided_dilation and max(self.strides) > 1
                and max(self.dilation_rate) > 1):
            raise ConfigError(
                f"{self.class_name}: strides > 1 cannot be combined with dilation_rate > 1 "
                f"(strides={self.strides}, dilation_rate={self.dilation_rate})", "strides")

    def _input(self, inputs: Sequence[TensorType]) -> tuple[TensorType, tuple[Dim, ...], Dim]:
        x = one_input(inputs, self.class_name)
        expect_rank(x, self.rank + 2, self.class_name)
        spatial, channels = split_channels(x, self.data_format)
        return x, spatial, channels

    def _window_output(
        self, x: TensorType, spatial: Sequence[Dim], ctx: InferContext
    ) -> tuple[Dim, ...]:
        """Output spatial dims of a (non-transposed) convolution window."""
        return conv_window_output(self.class_name, spatial, self.kernel_size, self.strides,
                                  self.dilation_rate, self.padding, ctx,
                                  f"the input {format_shape(x.shape)}")

    def _bias_and_activation(self, out: TensorType) -> Dim:
        n = elements(out)
        return dims.add(n if self.use_bias else 0, activation_flops(self.activation, n))

    def _channels_last(self, x: Array) -> Array:
        """The float input, its channels moved last (the kernels' layout)."""
        from convcalc import kernels
        from convcalc.layers.numeric import as_float

        return kernels.channels_last(as_float(x), self.data_format)

    def _pads(self, x: Array) -> list[tuple[int, int]]:
        """(before, after) of each spatial axis of channels-last x, from the padding mode."""
        from convcalc import kernels

        return kernels.window_pads(x.shape[1:-1], self.kernel_size, self.strides,
                                   self.dilation_rate, self.padding)

    def _finish(self, y: Array, bias: Array | None) -> Array:
        """activation(y + bias), channels back in the data format's place."""
        from convcalc import kernels
        from convcalc.layers.activations import apply_activation

        if bias is not None:
            y += bias.astype(y.dtype, copy=False)
        # after the move: an axis-wise activation (softmax) works on Keras's last axis
        y = kernels.from_channels_last(y, self.data_format)
        return apply_activation(self.activation, y)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs + output elements for the bias + activation cost"""
        return dims.add(dims.mul(2, self.macs(inputs, outputs)),
                        self._bias_and_activation(outputs[0]))

    def _summary(self, head: Sequence[str]) -> str:
        parts = [*head, format_sizes(self.kernel_size)]
        if max(self.strides) > 1:
            parts.append(f"s{format_sizes(self.strides)}")
        if max(self.dilation_rate) > 1:
            parts.append(f"d{format_sizes(self.dilation_rate)}")
        if self.padding != "valid":
            parts.append(self.padding)
        if self.activation != "linear":
            parts.append(self.activation)
        return ", ".join(parts)


class _Conv(WindowedSpec):
    """A convolution: kernel (k..., in/groups, filters), bias (filters,)."""

    allows_strided_dilation = False

    filters: Dim = option(convert=arg.positive_dim)
    groups: int = option(default=1, convert=arg.positive_int)
    kernel_initializer: Initializer | None = option(default=GLOROT_UNIFORM, convert=arg.initializer)

    def validate(self) -> None:
        WindowedSpec.validate(self)
        if is_int_value(self.filters) and self.filters % self.groups:  # type: ignore[operator]
            raise ConfigError(
                f"{self.class_name}: filters={self.filters} is not divisible by "
                f"groups={self.groups}", "groups")

    def _group_channels(self, channels: Dim, x: TensorType, ctx: InferContext) -> Dim:
        if self.groups == 1:
            return channels
        message = (f"{self.class_name}: the {channels} input channels of "
                   f"{format_shape(x.shape)} are not divisible by groups={self.groups}")
        if is_int_value(channels):
            if channels % self.groups:  # type: ignore[operator]
                raise ShapeError(INCOMPATIBLE_INPUT, message)
            return channels // self.groups  # type: ignore[operator]
        per_group = dims.floordiv(channels, self.groups)
        ctx.require_equal(dims.mul(per_group, self.groups), channels, INCOMPATIBLE_INPUT,
                          message)
        return per_group

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """valid: floor((L - (k-1)*d - 1) / s) + 1; same/causal: ceil(L / s); channels = filters"""
        x, spatial, channels = self._input(inputs)
        self._group_channels(channels, x, ctx)
        out = self._window_output(x, spatial, ctx)
        return (x.with_shape(join_channels(x.batch, out, self.filters, self.data_format)),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        x = inputs[0]
        _, channels = split_channels(x, self.data_format)
        per_group = self._group_channels(channels, x, InferContext())
        kernel = WeightSpec("kernel", (*self.kernel_size, per_group, self.filters),
                            initializer=self.kernel_initializer)
        if not self.use_bias:
            return (kernel,)
        return kernel, WeightSpec("bias", (self.filters,), initializer=self.bias_initializer)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """out_spatial * prod(k) * in_c / groups * filters"""
        out_spatial, _ = split_channels(outputs[0], self.data_format)
        _, channels = split_channels(inputs[0], self.data_format)
        return evaluate(named("out_spatial", *out_spatial) * named("prod(k)", *self.kernel_size)
                        * (named("in_c", channels) / named("groups", self.groups))
                        * named("filters", self.filters))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """activation(conv(x, kernel) + bias), groups = in_c / kernel in_c."""
        from convcalc import kernels

        x = self._channels_last(inputs[0])
        kernel = weights[0]
        groups = x.shape[-1] // kernel.shape[-2]
        y = kernels.conv(x, kernel, self.strides, self.dilation_rate, self._pads(x), groups)
        return (self._finish(y, weights[1] if self.use_bias else None),)

    def summary(self) -> str:
        head = [str(self.filters)]
        text = self._summary(head)
        return text if self.groups == 1 else f"{text}, g{self.groups}"


class _DepthwiseConv(WindowedSpec):
    """A depthwise convolution: kernel (k..., in, depth_multiplier), bias (in * dm,)."""

    depth_multiplier: int = option(default=1, convert=arg.positive_int)
    depthwise_initializer: Initializer | None = option(
        default=GLOROT_UNIFORM, convert=arg.initializer)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """spatial as Conv; channels = in_c * depth_multiplier"""
        x, spatial, channels = self._input(inputs)
        out = self._window_output(x, spatial, ctx)
        width = dims.mul(channels, self.depth_multiplier)
        return (x.with_shape(join_channels(x.batch, out, width, self.data_format)),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        _, channels = split_channels(inputs[0], self.data_format)
        kernel = WeightSpec("kernel", (*self.kernel_size, channels, self.depth_multiplier),
                            initializer=self.depthwise_initializer)
        if not self.use_bias:
            return (kernel,)
        width = dims.mul(channels, self.depth_multiplier)
        return kernel, WeightSpec("bias", (width,), initializer=self.bias_initializer)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """out_spatial * prod(k) * in_c * depth_multiplier"""
        out_spatial, _ = split_channels(outputs[0], self.data_format)
        _, channels = split_channels(inputs[0], self.data_format)
        return evaluate(named("out_spatial", *out_spatial) * named("prod(k)", *self.kernel_size)
                        * named("in_c", channels)
                        * named("depth_multiplier", self.depth_multiplier))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """activation(depthwise_conv(x, kernel) + bias); channel c*dm + j is channel c
        convolved with kernel[..., c, j]."""
        from convcalc import kernels

        x = self._channels_last(inputs[0])
        y = kernels.depthwise_conv(x, weights[0], self.strides, self.dilation_rate,
                                   self._pads(x))
        return (self._finish(y, weights[1] if self.use_bias else None),)

    def summary(self) -> str:
        text = self._summary([])
        return text if self.depth_multiplier == 1 else f"{text}, x{self.depth_multiplier}"


class _SeparableConv(WindowedSpec):
    """Depthwise then pointwise: depthwise_kernel (k..., in, dm), pointwise_kernel
    (1..., in * dm, filters), bias (filters,)."""

    filters: Dim = option(convert=arg.positive_dim)
    depth_multiplier: int = option(default=1, convert=arg.positive_int)
    depthwise_initializer: Initializer | None = option(
        default=GLOROT_UNIFORM, convert=arg.initializer)
    pointwise_initializer: Initializer | None = option(
        default=GLOROT_UNIFORM, convert=arg.initializer)

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        cfg = dict(super().upgrade_config(config))
        if "init" in cfg:  # Keras 1 used one initializer for both kernels
            init = cfg.pop("init")
            cfg.setdefault("depthwise_initializer", init)
            cfg.setdefault("pointwise_initializer", init)
        return cfg

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """spatial as Conv; channels = filters"""
        x, spatial, _ = self._input(inputs)
        out = self._window_output(x, spatial, ctx)
        return (x.with_shape(join_channels(x.batch, out, self.filters, self.data_format)),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        _, channels = split_channels(inputs[0], self.data_format)
        width = dims.mul(channels, self.depth_multiplier)
        out = (
            WeightSpec("depthwise_kernel", (*self.kernel_size, channels, self.depth_multiplier),
                       initializer=self.depthwise_initializer),
            WeightSpec("pointwise_kernel", (*(1,) * self.rank, width, self.filters),
                       initializer=self.pointwise_initializer),
        )
        if not self.use_bias:
            return out
        return (*out, WeightSpec("bias", (self.filters,), initializer=self.bias_initializer))

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """out_spatial * (prod(k) * in_c * dm + in_c * dm * filters)"""
        out_spatial, _ = split_channels(outputs[0], self.data_format)
        _, channels = split_channels(inputs[0], self.data_format)
        in_c, dm = named("in_c", channels), named("dm", self.depth_multiplier)
        return evaluate(named("out_spatial", *out_spatial)
                        * (named("prod(k)", *self.kernel_size) * in_c * dm
                           + in_c * dm * named("filters", self.filters)))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """activation(pointwise 1x1 conv of the depthwise conv + bias)."""
        from convcalc import kernels

        x = self._channels_last(inputs[0])
        rank = self.rank
        depth = kernels.depthwise_conv(x, weights[0], self.strides, self.dilation_rate,
                                       self._pads(x))
        y = kernels.conv(depth, weights[1], (1,) * rank, (1,) * rank, [(0, 0)] * rank)
        return (self._finish(y, weights[2] if self.use_bias else None),)

    def summary(self) -> str:
        text = self._summary([str(self.filters)])
        return text if self.depth_multiplier == 1 else f"{text}, x{self.depth_multiplier}"


# ------------------------------------------------------------------ positional orders
CONV_TAIL = ("activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint")
_CONV_POSITIONAL = ("filters", "kernel_size", "strides", "padding", "data_format",
                    "dilation_rate", "groups", *CONV_TAIL)
K1_TAIL = ("W_regularizer", "b_regularizer", "activity_regularizer", "W_constraint",
            "b_constraint", "bias")
K1_RENAMED = {
    "nb_filter": "filters", "border_mode": "padding", "subsample": "strides",
    "subsample_length": "strides", "filter_length": "kernel_size", "init": "kernel_initializer",
    "bias": "use_bias", "dim_ordering": "data_format", "atrous_rate": "dilation_rate",
}
_K1_SEPARABLE_RENAMED = {k: v for k, v in K1_RENAMED.items() if k != "init"}
_DEPTHWISE_POSITIONAL = ("kernel_size", "strides", "padding", "depth_multiplier", "data_format",
                         "dilation_rate", "activation", "use_bias", "depthwise_initializer",
                         "bias_initializer")
_SEPARABLE_POSITIONAL = ("filters", "kernel_size", "strides", "padding", "data_format",
                         "dilation_rate", "depth_multiplier", "activation", "use_bias",
                         "depthwise_initializer", "pointwise_initializer", "bias_initializer")


# ---------------------------------------------------------------------- convolutions
@register
class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); padding may be 'causal'."""

    class_name = "Conv1D"
    aliases = ("Convolution1D", "AtrousConvolution1D")
    rank = 1
    allows_causal = True
    positional = _CONV_POSITIONAL
    renamed = K1_RENAMED
    keras1_positional = ("nb_filter", "filter_length", "init", "activation", "weights",
                         "border_mode", "subsample_length", *K1_TAIL)

    examples = (
        Example({"filters": 4, "kernel_size": 3}, ((None, 10, 3),)),
        Example({"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2},
                ((None, 9, 3),)),
        Example({"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
                ((None, 7, 3),)),
        Example({"filters": 4, "kernel_size": 4, "padding": "causal", "strides": 3},
                ((None, 10, 2),)),
        Example({"filters": 6, "kernel_size": 2, "groups": 3, "use_bias": False},
                ((None, 8, 9),)),
        Example({"filters": 5, "kernel_size": 3, "strides": 2, "data_format": "channels_first",
                 "activation": "relu"}, ((None, 2, 11),)),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, ((None, None, 3),)),
        Example({"filters": 4, "kernel_size": 5}, ((None, 4, 3),), fails=True),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, ((None, 4, 3),),
                fails=True),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
                ((None, 10, 3),), fails=True),
        Example({"filters": 5, "kernel_size": 3, "groups": 2}, ((None, 10, 4),), fails=True),
        Example({"filters": 4, "kernel_size": 3, "groups": 2}, ((None, 10, 3),), fails=True),
        Example({"filters": 4, "kernel_size": 3}, ((None, 10, 10, 3),), fails=True),
    )

    @classmethod
    def is_keras1_call(
        cls, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None
    ) -> bool:
        """``Convolution1D(16, 5, 'he_normal')``: the third argument is Keras 1's init."""
        return len(args) >= 3 and isinstance(args[2], str)


@register
class Conv2D(_Conv):
    """2-D convolution over (batch, rows, cols, channels)."""

    class_name = "Conv2D"
    aliases = ("Convolution2D", "AtrousConvolution2D")
    rank = 2
    positional = _CONV_POSITIONAL
    renamed = K1_RENAMED
    keras1_positional = ("nb_filter", "nb_row", "nb_col", "init", "activation", "weights",
                         "border_mode", "subsample", "dim_ordering", *K1_TAIL)
    kernel_parts = ("nb_row", "nb_col")

    examples = (
        Example({"filters": 8, "kernel_size": 3}, ((None, 7, 6, 3),)),
        Example({"filters": 8, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same"},
                ((None, 7, 6, 3),)),
        Example({"filters": 8, "kernel_size": 3, "strides": 2}, ((None, 8, 9, 3),)),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": (2, 3), "padding": "same"},
                ((None, 9, 9, 2),)),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, ((None, 9, 10, 2),)),
        Example({"filters": 6, "kernel_size": 3, "groups": 2, "activation": "relu"},
                ((None, 6, 6, 4),)),
        Example({"filters": 8, "kernel_size": 5, "strides": 3, "data_format": "channels_first"},
                ((None, 3, 17, 16),)),
        Example({"filters": 8, "kernel_size": 3, "padding": "same", "strides": 2,
                 "data_format": "channels_first", "use_bias": False}, ((None, 3, None, 5),)),
        Example({"filters": 8, "kernel_size": 3, "strides": 2}, ((None, None, None, 3),)),
        Example({"filters": 3, "kernel_size": 2, "strides": 3, "padding": "same"},
                ((None, 11, 10, 2),)),
        Example({"filters": 4, "kernel_size": 1, "strides": 2}, ((None, 7, 8, 5),)),
        Example({"filters": 4, "kernel_size": (2, 3), "strides": (4, 1)}, ((None, 9, 6, 2),)),
        Example({"filters": 4, "kernel_size": 3, "groups": 2, "dilation_rate": 2,
                 "padding": "same", "data_format": "channels_first"}, ((None, 4, 7, 9),)),
        Example({"filters": 4, "kernel_size": 3, "activation": "softmax",
                 "data_format": "channels_first"}, ((None, 2, 5, 6),)),
        Example({"filters": 8, "kernel_size": 3}, ((None, 2, 6, 3),), fails=True),
        Example({"filters": 8, "kernel_size": 3, "padding": "causal"}, ((None, 6, 6, 3),),
                fails=True),
        Example({"filters": 8, "kernel_size": 3, "groups": 3}, ((None, 6, 6, 3),), fails=True),
        Example({"filters": 6, "kernel_size": 3, "groups": 4}, ((None, 6, 6, 8),), fails=True),
        Example({"filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
                ((None, 9, 9, 3),), fails=True),
        Example({"filters": 8, "kernel_size": (3, 3, 3)}, ((None, 6, 6, 3),), fails=True),
        Example({"filters": 8, "kernel_size": 0}, ((None, 6, 6, 3),), fails=True),
        Example({"filters": 0, "kernel_size": 3}, ((None, 6, 6, 3),), fails=True),
        Example({"filters": 8, "kernel_size": 3}, ((None, 6, 3),), fails=True),
    )


@register
class Conv3D(_Conv):
    """3-D convolution over (batch, d1, d2, d3, channels)."""

    class_name = "Conv3D"
    aliases = ("Convolution3D",)
    rank = 3
    positional = _CONV_POSITIONAL
    renamed = K1_RENAMED
    keras1_positional = ("nb_filter", "kernel_dim1", "kernel_dim2", "kernel_dim3", "init",
                         "activation", "weights", "border_mode", "subsample", "dim_ordering",
                         *K1_TAIL)
    kernel_parts = ("kernel_dim1", "kernel_dim2", "kernel_dim3")

    examples = (
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 6, 7, 2),)),
        Example({"filters": 4, "kernel_size": (1, 3, 2), "strides": (1, 2, 2),
                 "padding": "same"}, ((None, 5, 6, 7, 2),)),
        Example({"filters": 4, "kernel_size": 2, "dilation_rate": 2, "groups": 2},
                ((None, 6, 5, 7, 4),)),
        Example({"filters": 3, "kernel_size": 3, "strides": 2, "data_format": "channels_first"},
                ((None, 2, 7, 8, 9),)),
        Example({"filters": 3, "kernel_size": 2}, ((None, None, 4, None, 2),)),
        Example({"filters": 2, "kernel_size": 2, "dilation_rate": (1, 2, 1), "padding": "same",
                 "data_format": "channels_first", "activation": "sigmoid"},
                ((None, 2, 4, 5, 3),)),
        Example({"filters": 3, "kernel_size": 3}, ((None, 5, 2, 5, 2),), fails=True),
        Example({"filters": 3, "kernel_size": 3}, ((None, 5, 5, 2),), fails=True),
    )


# ------------------------------------------------------------------------ depthwise
@register
class DepthwiseConv1D(_DepthwiseConv):
    """1-D depthwise convolution: each channel convolved with depth_multiplier kernels."""

    class_name = "DepthwiseConv1D"
    rank = 1
    positional = _DEPTHWISE_POSITIONAL
    renamed = K1_RENAMED

    examples = (
        Example({"kernel_size": 3}, ((None, 9, 4),)),
        Example({"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"},
                ((None, 9, 4),)),
        Example({"kernel_size": 2, "dilation_rate": 3, "data_format": "channels_first",
                 "use_bias": False}, ((None, 4, 10),)),
        Example({"kernel_size": 3, "strides": 2, "dilation_rate": 2}, ((None, None, 3),)),
        Example({"kernel_size": 3, "padding": "causal"}, ((None, 9, 4),), fails=True),
        Example({"kernel_size": 5}, ((None, 4, 4),), fails=True),
    )


@register
class DepthwiseConv2D(_DepthwiseConv):
    """2-D depthwise convolution: each channel convolved with depth_multiplier kernels."""

    class_name = "DepthwiseConv2D"
    rank = 2
    positional = _DEPTHWISE_POSITIONAL
    renamed = K1_RENAMED

    examples = (
        Example({"kernel_size": 3}, ((None, 7, 8, 4),)),
        Example({"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 3},
                ((None, 7, 8, 4),)),
        Example({"kernel_size": (3, 1), "dilation_rate": 2, "activation": "relu6"},
                ((None, 7, 8, 4),)),
        Example({"kernel_size": 3, "strides": 2, "dilation_rate": 2}, ((None, 9, 9, 2),)),
        Example({"kernel_size": 3, "data_format": "channels_first", "use_bias": False},
                ((None, 2, 5, None),)),
        Example({"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 2,
                 "data_format": "channels_first"}, ((None, 3, 7, 9),)),
        Example({"kernel_size": 2, "strides": 3, "padding": "same"}, ((None, 8, 7, 2),)),
        Example({"kernel_size": 3, "depth_multiplier": 0}, ((None, 7, 8, 4),), fails=True),
        Example({"kernel_size": 4}, ((None, 3, 8, 4),), fails=True),
    )


# ------------------------------------------------------------------------ separable
@register
class SeparableConv1D(_SeparableConv):
    """1-D depthwise-separable convolution."""

    class_name = "SeparableConv1D"
    aliases = ("SeparableConvolution1D",)
    rank = 1
    positional = _SEPARABLE_POSITIONAL
    renamed = _K1_SEPARABLE_RENAMED

    examples = (
        Example({"filters": 6, "kernel_size": 3}, ((None, 9, 4),)),
        Example({"filters": 6, "kernel_size": 3, "depth_multiplier": 2, "strides": 2,
                 "padding": "same"}, ((None, 9, 4),)),
        Example({"filters": 6, "kernel_size": 2, "dilation_rate": 2,
                 "data_format": "channels_first", "use_bias": False}, ((None, 4, None),)),
        Example({"filters": 6, "kernel_size": 3, "padding": "causal"}, ((None, 9, 4),),
                fails=True),
        Example({"filters": 6, "kernel_size": 5}, ((None, 3, 4),), fails=True),
    )


@register
class SeparableConv2D(_SeparableConv):
    """2-D depthwise-separable convolution."""

    class_name = "SeparableConv2D"
    aliases = ("SeparableConvolution2D",)
    rank = 2
    positional = _SEPARABLE_POSITIONAL
    renamed = _K1_SEPARABLE_RENAMED
    keras1_positional = ("nb_filter", "nb_row", "nb_col", "init", "activation", "weights",
                         "border_mode", "subsample", "depth_multiplier", "dim_ordering",
                         "depthwise_regularizer", "pointwise_regularizer", "b_regularizer",
                         "activity_regularizer", "depthwise_constraint",
                         "pointwise_constraint", "b_constraint", "bias")
    kernel_parts = ("nb_row", "nb_col")

    examples = (
        Example({"filters": 8, "kernel_size": 3}, ((None, 7, 8, 4),)),
        Example({"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same",
                 "depth_multiplier": 2}, ((None, 7, 8, 4),)),
        Example({"filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
                ((None, 11, 9, 3),)),
        Example({"filters": 8, "kernel_size": (1, 3), "data_format": "channels_first",
                 "use_bias": False}, ((None, 3, None, 6),)),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same",
                 "depth_multiplier": 3, "activation": "tanh"}, ((None, 8, 7, 2),)),
        Example({"filters": 8, "kernel_size": 3}, ((None, 2, 8, 4),), fails=True),
        Example({"filters": 0, "kernel_size": 3}, ((None, 7, 8, 4),), fails=True),
    )
