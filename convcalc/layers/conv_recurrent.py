"""Convolutional LSTMs: ConvLSTM1D/2D/3D, LSTMs whose gates are convolutions. Calls,
states and MACs follow the conventions of :mod:`convcalc.layers.recurrent`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import Expr, named
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    option,
    register,
)
from convcalc.layers.common import activation_flops
from convcalc.layers.spatial import (
    SpatialSpec,
    conv_window_output,
    format_sizes,
    join_channels,
    split_channels,
)
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Shape, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

from convcalc.layers.recurrent import KERAS1_NAMES, RNN_TAIL, Recurrent, lstm_update


class _ConvLSTM(Recurrent, SpatialSpec):
    """An LSTM whose input and recurrent products are convolutions.

    kernel (k..., in_c, 4f), recurrent_kernel (k..., f, 4f), bias (4f,). The input
    convolution has the layer's strides, padding and dilation; the recurrent one is
    'same' with stride 1 on the state. Spatial and channel dims must be known.
    """

    renamed = {**KERAS1_NAMES, "nb_filter": "filters", "border_mode": "padding",
               "subsample": "strides", "dim_ordering": "data_format"}
    positional = ("filters", "kernel_size", "strides", "padding", "data_format",
                  "dilation_rate", "activation", "recurrent_activation", "use_bias",
                  "kernel_initializer", "recurrent_initializer", "bias_initializer",
                  "unit_forget_bias", *RNN_TAIL, "seed", "return_sequences",
                  "return_state", "go_backwards", "stateful")
    cell_name = "conv_lstm_cell"
    state_names = ("h", "c")

    filters: int = option(convert=arg.positive_int)
    kernel_size: tuple[int, ...] = option(convert=arg.ntuple)
    strides: tuple[int, ...] = option(default=1, convert=arg.ntuple)
    padding: str = option(default="valid", convert=arg.padding_mode)
    data_format: str = option(default="channels_last", convert=arg.data_format)
    dilation_rate: tuple[int, ...] = option(default=1, convert=arg.ntuple)
    recurrent_activation: str = option(default="sigmoid", convert=arg.activation)
    unit_forget_bias: bool = option(default=True, convert=arg.to_bool)

    def __post_init__(self) -> None:
        for name in ("strides", "dilation_rate"):
            value = getattr(self, name)
            if type(value) is int:
                object.__setattr__(self, name, (value,) * self.rank)

    def validate(self) -> None:
        if self.padding not in ("valid", "same"):
            raise ConfigError(
                f"{self.class_name}: padding must be 'valid' or 'same', got {self.padding!r}",
                "padding")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(
                f"{self.class_name}: strides > 1 cannot be combined with dilation_rate > 1 "
                f"(strides={self.strides}, dilation_rate={self.dilation_rate})", "strides")

    def _step_input(self, x: TensorType) -> tuple[tuple[Dim, ...], Dim]:
        return split_channels(TensorType((x.batch, *x.shape[2:])), self.data_format)

    def step_shape(self, x: TensorType, ctx: InferContext) -> Shape:
        """Convolution output of one step: valid floor((L - (k-1)*d - 1) / s) + 1,
        same floor((L - 1) / s) + 1; channels = filters."""
        spatial, channels = self._step_input(x)
        if not all(dims.is_int(d) for d in (*spatial, channels)):
            ctx.error(
                INCOMPATIBLE_INPUT,
                f"{self.class_name} needs known spatial and channel dims, got "
                f"{format_shape(x.shape)}",
                "Give the Input fixed spatial sizes and channels (only the time axis may "
                "be None).",
            )
        out = conv_window_output(self.class_name, spatial, self.kernel_size, self.strides,
                                 self.dilation_rate, self.padding, ctx,
                                 f"the steps of {format_shape(x.shape)}")
        return join_channels(x.batch, out, self.filters, self.data_format)[1:]

    def cell_weights(self, x: TensorType) -> tuple[WeightSpec, ...]:
        _, channels = self._step_input(x)
        width = 4 * self.filters
        out = (
            WeightSpec("kernel", (*self.kernel_size, channels, width),
                       initializer=self.kernel_initializer),
            WeightSpec("recurrent_kernel", (*self.kernel_size, self.filters, width),
                       initializer=self.recurrent_initializer),
        )
        if not self.use_bias:
            return out
        return (*out, WeightSpec("bias", (width,), initializer=self.bias_initializer))

    def _out_axes(self, x: TensorType) -> tuple[Dim, ...]:
        step = self.step_shape(x, InferContext())
        spatial, _ = split_channels(TensorType((x.batch, *step)), self.data_format)
        return spatial

    def _out_spatial(self, x: TensorType) -> Dim:
        return dims.prod(self._out_axes(x))

    def step_macs(self, x: TensorType) -> Expr:
        """out_spatial * prod(k) * 4 * filters * (in_c + filters)"""
        _, channels = self._step_input(x)
        filters = named("filters", self.filters)
        return (named("out_spatial", *self._out_axes(x)) * named("prod(k)", *self.kernel_size)
                * 4 * filters * (named("in_c", channels) + filters))

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * out_spatial * prod(k) * 4 * filters * (in_c + filters)"""
        return Recurrent.macs(self, inputs, outputs)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """as LSTM with u = out_spatial * filters: T * (2 * step MACs + 4u + 4u (bias)
        + recurrent activation(3u) + activation(2u) + 4u)"""
        return Recurrent.flops(self, inputs, outputs)

    def step_elementwise(self, x: TensorType) -> Dim:
        u = dims.mul(self._out_spatial(x), self.filters)
        return dims.total((
            dims.mul(4, u),
            dims.mul(4, u) if self.use_bias else 0,
            activation_flops(self.recurrent_activation, dims.mul(3, u)),
            activation_flops(self.activation, dims.mul(2, u)),
            dims.mul(4, u),
        ))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """As the LSTM, with convolutions for the products (channels_first runs
        channels last inside)."""
        import numpy as np

        if self.data_format == "channels_last":
            return Recurrent.forward(self, inputs, weights, call_kwargs)
        x, *states = inputs
        x = np.moveaxis(x, 2, -1)
        states = [np.moveaxis(st, 1, -1) for st in states]
        outs = Recurrent.forward(self, [x, *states], weights, call_kwargs)
        seq = np.moveaxis(outs[0], -1, 2 if self.return_sequences else 1)
        return (seq, *(np.moveaxis(st, -1, 1) for st in outs[1:]))

    def project_inputs(self, x: Array, weights: Sequence[Array]) -> Array:
        """The input convolution of every step at once (bias added): (B, T, *out, 4f)"""
        from convcalc import kernels

        batch, steps = x.shape[:2]
        frames = x.reshape(batch * steps, *x.shape[2:])
        pads = kernels.window_pads(frames.shape[1:-1], self.kernel_size, self.strides,
                                   self.dilation_rate, self.padding)
        y = kernels.conv(frames, weights[0], self.strides, self.dilation_rate, pads)
        if self.use_bias:
            y = y + weights[2].astype(y.dtype)
        return y.reshape(batch, steps, *y.shape[1:])

    def zero_states(self, projected: Array) -> list[Array]:
        import numpy as np

        zeros = np.zeros((*projected.shape[:1], *projected.shape[2:-1], self.filters),
                         projected.dtype)
        return [zeros, zeros]

    def step(
        self, projected: Array, states: list[Array], weights: Sequence[Array]
    ) -> tuple[Array, list[Array]]:
        """z = conv(x, W) + b + conv(h, U, 'same') split into i, f, g, o; then as LSTM"""
        from convcalc import kernels

        ones = (1,) * self.rank
        pads = kernels.window_pads(states[0].shape[1:-1], self.kernel_size, ones, ones, "same")
        recurrent = kernels.conv(states[0], weights[1], ones, ones, pads)
        h, c = lstm_update(projected + recurrent, states[1], self.activation,
                           self.recurrent_activation)
        return h, [h, c]

    def summary(self) -> str:
        parts = [str(self.filters), format_sizes(self.kernel_size)]
        if max(self.strides) > 1:
            parts.append(f"s{format_sizes(self.strides)}")
        if max(self.dilation_rate) > 1:
            parts.append(f"d{format_sizes(self.dilation_rate)}")
        if self.padding != "valid":
            parts.append(self.padding)
        return ", ".join(parts + self._flags())


@register
class ConvLSTM1D(_ConvLSTM):
    """A convolutional LSTM over sequences of 1-D maps: (batch, T, L, C)."""

    class_name = "ConvLSTM1D"
    rank = 1
    input_rank = 4

    examples = (
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 8, 2),)),
        Example({"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2,
                 "return_sequences": True, "return_state": True}, ((None, None, 8, 2),)),
        Example({"filters": 4, "kernel_size": 3, "dilation_rate": 2,
                 "data_format": "channels_first"}, ((None, 5, 2, 9),)),
        Example({"filters": 4, "kernel_size": 9}, ((None, 5, 8, 2),), fails=True),
        Example({"filters": 4, "kernel_size": 3, "padding": "causal"}, ((None, 5, 8, 2),),
                fails=True),
        Example({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
                ((None, 5, 8, 2),), fails=True),
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, None, 2),), fails=True),
    )


@register
class ConvLSTM2D(_ConvLSTM):
    """A convolutional LSTM over sequences of images: (batch, T, H, W, C)."""

    class_name = "ConvLSTM2D"
    rank = 2
    input_rank = 5
    kernel_parts = ("nb_row", "nb_col")

    examples = (
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 8, 9, 2),)),
        Example({"filters": 4, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same",
                 "use_bias": False, "return_sequences": True}, ((None, 5, 8, 9, 2),)),
        Example({"filters": 3, "kernel_size": 3, "data_format": "channels_first",
                 "return_state": True}, ((None, None, 2, 7, 6),)),
        Example({"filters": 2, "kernel_size": (3, 2), "dilation_rate": 2, "go_backwards": True,
                 "return_sequences": True}, ((None, 4, 9, 7, 3),)),
        Example({"filters": 3, "kernel_size": 3, "padding": "same",
                 "data_format": "channels_first", "return_state": True},
                ((None, 3, 2, 6, 5), (None, 3, 6, 5), (None, 3, 6, 5)),
                arguments=("sequences", "initial_state", "initial_state")),
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 8, 2),), fails=True),
        Example({"filters": 4, "kernel_size": 3}, ((None, 5, 8, 9, None),), fails=True),
    )


@register
class ConvLSTM3D(_ConvLSTM):
    """A convolutional LSTM over sequences of volumes: (batch, T, D, H, W, C)."""

    class_name = "ConvLSTM3D"
    rank = 3
    input_rank = 6

    examples = (
        Example({"filters": 2, "kernel_size": 3}, ((None, 3, 6, 6, 5, 2),)),
        Example({"filters": 2, "kernel_size": 2, "data_format": "channels_first",
                 "return_sequences": True, "padding": "same"}, ((None, 3, 2, 5, 5, 4),)),
        Example({"filters": 2, "kernel_size": 3}, ((None, 3, 6, 6, 2),), fails=True),
    )
