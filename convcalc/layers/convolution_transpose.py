"""Transposed convolutions: Conv1D/2D/3DTranspose, up-sampling by the stride.

MACs = in_spatial * prod(k) * in_c * filters: every input pixel scatters a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc import shapes
from convcalc.dims import Dim
from convcalc.formulas import evaluate, named
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    option,
    register,
)
from convcalc.layers.convolution import CONV_TAIL, K1_RENAMED, K1_TAIL, WindowedSpec, nonneg_ntuple
from convcalc.layers.core import GLOROT_UNIFORM
from convcalc.layers.spatial import (
    format_sizes,
    join_channels,
    split_channels,
)
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.kernels import Array




class _ConvTranspose(WindowedSpec):
    """A transposed convolution: kernel (k..., filters, in), bias (filters,)."""

    allows_strided_dilation = False

    filters: Dim = option(convert=arg.positive_dim)
    output_padding: tuple[int, ...] | None = option(
        default=None, convert=arg.optional(nonneg_ntuple))
    kernel_initializer: Initializer | None = option(default=GLOROT_UNIFORM, convert=arg.initializer)

    def validate(self) -> None:
        WindowedSpec.validate(self)
        if self.output_padding is not None and any(
            p >= s for p, s in zip(self.output_padding, self.strides, strict=True)
        ):
            raise ConfigError(
                f"{self.class_name}: output_padding={self.output_padding} must be smaller "
                f"than strides={self.strides} on every axis", "output_padding")

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """k' = (k-1)*d + 1; valid: (L-1)*s + max(k', s) (or + k' + output_padding);
        same: L*s (or (L-1)*s + k' % 2 + output_padding)"""
        x, spatial, _ = self._input(inputs)
        pads = self.output_padding or (None,) * self.rank
        out = tuple(
            shapes.conv_transpose_output_length(n, k, s, self.padding, p, d)
            for n, k, s, p, d in zip(spatial, self.kernel_size, self.strides, pads,
                                     self.dilation_rate, strict=True)
        )
        ctx.require_positive(
            out,
            f"{self.class_name}: output {format_shape(out)} of input {format_shape(x.shape)} "
            f"has an empty axis (padding='same' with an even kernel and "
            f"output_padding={self.output_padding})",
        )
        return (x.with_shape(join_channels(x.batch, out, self.filters, self.data_format)),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        _, channels = split_channels(inputs[0], self.data_format)
        kernel = WeightSpec("kernel", (*self.kernel_size, self.filters, channels),
                            initializer=self.kernel_initializer)
        if not self.use_bias:
            return (kernel,)
        return kernel, WeightSpec("bias", (self.filters,), initializer=self.bias_initializer)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """in_spatial * prod(k) * in_c * filters"""
        in_spatial, channels = split_channels(inputs[0], self.data_format)
        return evaluate(named("in_spatial", *in_spatial) * named("prod(k)", *self.kernel_size)
                        * named("in_c", channels) * named("filters", self.filters))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """activation(conv_transpose(x, kernel) + bias), padded as Keras pads the
        stride-dilated input."""
        from convcalc import kernels

        x = self._channels_last(inputs[0])
        extra = self.output_padding or (None,) * self.rank
        pads = [kernels.transpose_pads(k, s, d, self.padding, p)
                for k, s, d, p in zip(self.kernel_size, self.strides, self.dilation_rate,
                                      extra, strict=True)]
        y = kernels.conv_transpose(x, weights[0], self.strides, self.dilation_rate, pads)
        return (self._finish(y, weights[1] if self.use_bias else None),)

    def summary(self) -> str:
        text = self._summary([str(self.filters)])
        if self.output_padding is not None:
            text += f", op{format_sizes(self.output_padding)}"
        return text


_TRANSPOSE_POSITIONAL = ("filters", "kernel_size", "strides", "padding", "output_padding",
                         "data_format", "dilation_rate", *CONV_TAIL)


@register
class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution (up-sampling by the stride)."""

    class_name = "Conv1DTranspose"
    aliases = ("Convolution1DTranspose",)
    rank = 1
    positional = _TRANSPOSE_POSITIONAL
    renamed = K1_RENAMED

    examples = (
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 2),)),
        Example({"filters": 4, "kernel_size": 2, "strides": 3}, ((None, 5, 2),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
                ((None, 5, 2),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                 "output_padding": 0}, ((None, 5, 2),)),
        Example({"filters": 4, "kernel_size": 4, "strides": 3, "output_padding": 2,
                 "data_format": "channels_first"}, ((None, 2, 5),)),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, ((None, None, 2),)),
        Example({"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same",
                 "output_padding": 1}, ((None, 6, 2),)),
        Example({"filters": 3, "kernel_size": 2, "dilation_rate": 3, "padding": "same",
                 "activation": "relu"}, ((None, 6, 2),)),
        Example({"filters": 3, "kernel_size": 2, "strides": 2, "activation": "softmax",
                 "data_format": "channels_first"}, ((None, 2, 4),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 2},
                ((None, 5, 2),), fails=True),
        Example({"filters": 4, "kernel_size": 3, "padding": "causal"}, ((None, 5, 2),),
                fails=True),
    )


@register
class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution (up-sampling by the stride)."""

    class_name = "Conv2DTranspose"
    aliases = ("Convolution2DTranspose", "Deconvolution2D")
    rank = 2
    positional = _TRANSPOSE_POSITIONAL
    renamed = K1_RENAMED
    keras1_positional = ("nb_filter", "nb_row", "nb_col", "output_shape", "init", "activation",
                         "weights", "border_mode", "subsample", "dim_ordering", *K1_TAIL)
    kernel_parts = ("nb_row", "nb_col")

    examples = (
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
                ((None, 7, 7, 3),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                 "output_padding": 0}, ((None, 7, 7, 3),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                 "output_padding": 1}, ((None, 7, 6, 3),)),
        Example({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same",
                 "output_padding": (0, 1)}, ((None, 7, 6, 3),)),
        Example({"filters": 4, "kernel_size": 2, "strides": (3, 2)}, ((None, 5, 4, 3),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 1,
                 "use_bias": False}, ((None, 5, 4, 3),)),
        Example({"filters": 4, "kernel_size": (3, 2), "dilation_rate": 2, "padding": "same"},
                ((None, 5, 4, 3),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2,
                 "data_format": "channels_first"}, ((None, 3, 5, None),)),
        Example({"filters": 2, "kernel_size": 5}, ((None, 3, 2, 3),)),
        Example({"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same"},
                ((None, 3, 4, 3),)),
        Example({"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same",
                 "output_padding": (2, 0)}, ((None, 3, 4, 3),)),
        Example({"filters": 2, "kernel_size": (1, 4), "strides": (2, 3), "padding": "same",
                 "output_padding": (1, 2), "data_format": "channels_first"},
                ((None, 3, 4, 3),)),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 2},
                ((None, 5, 5, 3),), fails=True),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
                ((None, 5, 5, 3),), fails=True),
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 3),), fails=True),
    )


@register
class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution (up-sampling by the stride)."""

    class_name = "Conv3DTranspose"
    aliases = ("Convolution3DTranspose", "Deconvolution3D")
    rank = 3
    positional = ("filters", "kernel_size", "strides", "padding", "data_format",
                  "output_padding", "dilation_rate", *CONV_TAIL)
    renamed = K1_RENAMED

    examples = (
        Example({"filters": 2, "kernel_size": 3, "strides": 2}, ((None, 3, 4, 5, 2),)),
        Example({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                 "output_padding": (0, 1, 0)}, ((None, 3, 4, 5, 2),)),
        Example({"filters": 2, "kernel_size": (2, 1, 3), "data_format": "channels_first"},
                ((None, 3, 4, None, 5),)),
        Example({"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same"},
                ((None, 3, 4, 2, 2),)),
        Example({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 3},
                ((None, 3, 4, 5, 2),), fails=True),
    )
