"""Recurrent layers: SimpleRNN, LSTM and GRU (the convolutional LSTMs, which share their
call conventions, are in :mod:`convcalc.layers.conv_recurrent`).

A call is ``layer(sequences, initial_state=[...])``: the sequence comes first, then the
initial state tensors, flattened in order (``call_args``); without them the states
start at zero. ``return_state`` adds the final states as further outputs (h for
SimpleRNN and GRU; h then c for the LSTMs). ``stateful``, ``go_backwards`` and
``unroll`` change no shape; ``stateful`` needs a fixed batch size, as in Keras.

The NumPy forward projects the inputs of all steps at once and loops over time only
for the recurrent products; a Keras mask in ``call_kwargs["mask"]`` skips steps.

MACs per sample, with T timesteps (a symbol when unknown), d input features, u units
and g gates (SimpleRNN 1, GRU 3, LSTM 4): T * g * u * (d + u). ConvLSTM: T *
out_spatial * prod(k) * 4 * filters * (in_c + filters). Bias adds are not counted.

Keras 1 argument names are accepted (``output_dim``, ``init``, ``inner_init``,
``inner_activation``, ``W/U/b_regularizer``, ``dropout_W/U``, ``forget_bias_init``,
``consume_less``; ``nb_filter``, ``nb_row``, ``nb_col``, ``border_mode``, ``subsample``,
``dim_ordering`` for ConvLSTM2D). A Keras 1 GRU had its reset gate before the
recurrent product and one bias: a GRU config written with Keras 1 names and no
``reset_after`` reads as ``reset_after=False``; any other config without the key takes
the Keras 3 default (True).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import Expr, evaluate, named
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
from convcalc.layers.common import activation_flops, expect_rank
from convcalc.layers.core import GLOROT_UNIFORM, ZEROS
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Initializer, Shape, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

ORTHOGONAL = Initializer("Orthogonal", (("gain", 1.0),))

KERAS1_NAMES: Mapping[str, str] = {
    "output_dim": "units",
    "init": "kernel_initializer",
    "inner_init": "recurrent_initializer",
    "inner_activation": "recurrent_activation",
    "W_regularizer": "kernel_regularizer",
    "U_regularizer": "recurrent_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "U_constraint": "recurrent_constraint",
    "b_constraint": "bias_constraint",
    "dropout_W": "dropout",
    "dropout_U": "recurrent_dropout",
    "consume_less": "implementation",
}
"""Keras 1 recurrent argument names -> Keras 3 (``implementation`` changes no shape)."""

RNN_TAIL = (
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
    "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
    "dropout", "recurrent_dropout",
)


def _use_cudnn(v: Any, cls: type[LayerSpec] | None = None) -> Any:
    """'auto', True or False."""
    if v == "auto" or isinstance(v, bool):
        return v
    raise ConfigError(f"use_cudnn must be 'auto', True or False, got {v!r}")


class Recurrent(LayerSpec):
    """What every recurrent layer shares: the sequence loop, states and call options."""

    family = "recurrent"
    renamed = KERAS1_NAMES
    call_args = ("sequences", "initial_state")
    supports_masking = True
    mask_in_call = True
    cell_name: ClassVar[str] = ""
    """Keras's name of the cell sub-layer that owns the weights."""
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    input_rank: ClassVar[int] = 3

    return_sequences: bool = option(default=False, convert=arg.to_bool)
    return_state: bool = option(default=False, convert=arg.to_bool)
    go_backwards: bool = option(default=False, convert=arg.to_bool)
    stateful: bool = option(default=False, convert=arg.to_bool)
    unroll: bool = option(default=False, convert=arg.to_bool)
    activation: str = option(default="tanh", convert=arg.activation)
    use_bias: bool = option(default=True, convert=arg.to_bool)
    kernel_initializer: Initializer | None = option(default=GLOROT_UNIFORM, convert=arg.initializer)
    recurrent_initializer: Initializer | None = option(default=ORTHOGONAL, convert=arg.initializer)
    bias_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)
    dropout: float = option(default=0.0, convert=arg.to_float)
    recurrent_dropout: float = option(default=0.0, convert=arg.to_float)

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        cfg = dict(super().upgrade_config(config))
        if "forget_bias_init" in cfg:  # Keras 1: 'one' is Keras 2's unit_forget_bias
            init = cfg.pop("forget_bias_init")
            if init in ("one", "zero"):
                cfg.setdefault("unit_forget_bias", init == "one")
        return cfg

    # ------------------------------------------------------------- per layer kind
    def step_shape(self, x: TensorType, ctx: InferContext) -> Shape:
        """Shape of one timestep's output (and of each state), without the batch."""
        raise NotImplementedError

    def cell_weights(self, x: TensorType) -> tuple[WeightSpec, ...]:
        """The cell's weights, named as in Keras (without the cell prefix)."""
        raise NotImplementedError

    def step_macs(self, x: TensorType) -> Expr:
        """The formula of the MACs of one timestep."""
        raise NotImplementedError

    def step_elementwise(self, x: TensorType) -> Dim:
        """FLOPs of one timestep besides its products (bias, gates, state update)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ behaviour
    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        return 1 + (len(self.state_names) if self.return_state else 0)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, T, ...) -> (batch, T, *y) with return_sequences, else (batch, *y), where
        y is (units,) or a ConvLSTM step's convolution output; return_state adds one
        (batch, *y) per state (h; h and c for the LSTMs)."""
        if not inputs:
            raise ShapeError(INCOMPATIBLE_INPUT, f"{self.class_name} needs an input sequence")
        x = inputs[0]
        expect_rank(x, self.input_rank, self.class_name)
        step = self.step_shape(x, ctx)
        self._check_initial_state(inputs[1:], step, ctx)
        if self.stateful and not dims.is_int(x.batch):
            ctx.error(
                INCOMPATIBLE_INPUT,
                f"{self.class_name}: stateful=True needs a fixed batch size, got "
                f"{format_shape(x.shape)}",
                "Give the model Input a batch_size (Input(shape, batch_size=...)).",
            )
        out = (x.batch, x.shape[1], *step) if self.return_sequences else (x.batch, *step)
        states = (TensorType((x.batch, *step)),) * len(self.state_names)
        return (TensorType(out), *(states if self.return_state else ()))

    def _check_initial_state(
        self, states: Sequence[TensorType], step: Shape, ctx: InferContext
    ) -> None:
        if not states:
            return
        names = self.state_names
        if len(states) != len(names):
            raise ShapeError(
                INCOMPATIBLE_INPUT,
                f"{self.class_name} takes {len(names)} initial state tensor"
                f"{'s' if len(names) > 1 else ''} ({', '.join(names)}), got {len(states)}",
            )
        for name, s in zip(names, states, strict=True):
            want = (s.batch, *step)
            message = (f"{self.class_name}: initial state {name} has the shape "
                       f"{format_shape(s.shape)}, the layer's state is {format_shape(want)}")
            if s.rank != len(want):
                raise ShapeError(INCOMPATIBLE_INPUT, message)
            for a, b in zip(s.shape[1:], step, strict=True):
                ctx.require_equal(a, b, INCOMPATIBLE_INPUT, message)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        return tuple(
            WeightSpec(f"{self.cell_name}/{w.name}", w.shape, w.trainable, w.initializer)
            for w in self.cell_weights(inputs[0])
        )

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * MACs of one step"""
        return evaluate(named("T", inputs[0].shape[1]) * self.step_macs(inputs[0]))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * (2 * MACs of one step + its element-wise work)"""
        x = inputs[0]
        step = dims.add(dims.mul(2, evaluate(self.step_macs(x))), self.step_elementwise(x))
        return dims.mul(x.shape[1], step)

    def project_inputs(self, x: Array, weights: Sequence[Array]) -> Array:
        """The input's contribution to every step at once: (batch, T, ...)."""
        raise NotImplementedError

    def zero_states(self, projected: Array) -> list[Array]:
        """The states a call without initial_state starts from (all zero)."""
        raise NotImplementedError

    def step(
        self, projected: Array, states: list[Array], weights: Sequence[Array]
    ) -> tuple[Array, list[Array]]:
        """One timestep: (output, new states) from the projected input and the states."""
        raise NotImplementedError

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The cell run over time (reversed input with go_backwards, outputs then kept
        in processing order, as Keras does); states from initial_state or zeros.

        ``call_kwargs["mask"]``, a (batch, T) boolean array (a Keras mask, e.g. from
        Embedding(mask_zero=True)), skips the masked steps: the states carry over and
        the step's output is the previous h (zeros with ``zero_output_for_mask``;
        unrolled, the previous output, zeros before the first step).
        """
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        mask = numeric.mask_array(call_kwargs.get("mask"), f"{self.class_name} mask")
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        projected = self.project_inputs(x, weights)
        states = ([numeric.as_float(s) for s in inputs[1:]] if len(inputs) > 1
                  else self.zero_states(projected))
        # Keras's unrolled loop repeats the previous output (zeros before the first
        # step) and never zeroes; its scan repeats the carried h or zeroes
        zero_output = call_kwargs.get("zero_output_for_mask") is True and not self.unroll
        outputs = []
        h = np.zeros_like(states[0]) if self.unroll else states[0]
        for t in range(projected.shape[1]):
            new_h, new_states = self.step(projected[:, t], states, weights)
            if mask is None:
                h, states = new_h, new_states
            else:
                keep = mask[:, t].reshape(-1, *(1,) * (new_h.ndim - 1))
                previous = h if self.unroll else states[0]
                h = np.where(keep, new_h, 0 if zero_output else previous)
                states = [np.where(keep, n, old) for n, old in zip(new_states, states,
                                                                    strict=True)]
            if self.return_sequences:
                outputs.append(h)
        out = np.stack(outputs, axis=1) if self.return_sequences else h
        return (out, *(states if self.return_state else ()))

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """The sequence's mask on the sequence output (with return_sequences); none on
        a last output or the states."""
        previous = self.previous_masks(masks, call_kwargs)
        return (previous[0],) if self.return_sequences and previous else ()

    def _flags(self) -> list[str]:
        names = ("return_sequences", "return_state", "go_backwards", "stateful")
        short = ("seq", "state", "backwards", "stateful")
        return [s for n, s in zip(names, short, strict=True) if getattr(self, n)]


class _UnitsRecurrent(Recurrent):
    """A recurrent layer with dense gates: kernel (d, g*u), recurrent_kernel (u, g*u)."""

    gates: ClassVar[int] = 1

    units: Dim = option(convert=arg.positive_dim)

    def step_shape(self, x: TensorType, ctx: InferContext) -> Shape:
        return (self.units,)

    def bias_shape(self) -> Shape:
        return (dims.mul(self.gates, self.units),)

    def cell_weights(self, x: TensorType) -> tuple[WeightSpec, ...]:
        width = dims.mul(self.gates, self.units)
        out = (
            WeightSpec("kernel", (x.shape[-1], width), initializer=self.kernel_initializer),
            WeightSpec("recurrent_kernel", (self.units, width),
                       initializer=self.recurrent_initializer),
        )
        if not self.use_bias:
            return out
        return (*out, WeightSpec("bias", self.bias_shape(), initializer=self.bias_initializer))

    def step_macs(self, x: TensorType) -> Expr:
        """g * u * (d + u)"""
        u = named("u", self.units)
        return named("g", self.gates) * u * (named("d", x.shape[-1]) + u)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * g * u * (d + u) for T steps, d features, u units, g gates (SimpleRNN 1,
        GRU 3, LSTM 4)"""
        return Recurrent.macs(self, inputs, outputs)

    def project_inputs(self, x: Array, weights: Sequence[Array]) -> Array:
        """x @ kernel (+ the input bias): (batch, T, g * u)"""
        import numpy as np

        kernel = weights[0].astype(x.dtype)
        # one BLAS product for every batch and step; only the recurrence loops
        projected = (x.reshape(-1, x.shape[-1]) @ kernel).reshape(*x.shape[:-1], -1)
        bias = self.input_bias(weights)
        return np.asarray(projected if bias is None else projected + bias)

    def input_bias(self, weights: Sequence[Array]) -> Array | None:
        """The bias added to the input projection, if any."""
        return weights[2] if self.use_bias else None

    def zero_states(self, projected: Array) -> list[Array]:
        import numpy as np

        zeros = np.zeros((projected.shape[0], projected.shape[-1] // self.gates),
                         projected.dtype)
        return [zeros] * len(self.state_names)

    def summary(self) -> str:
        return ", ".join([str(self.units), *self._flags()])


@register
class SimpleRNN(_UnitsRecurrent):
    """A fully connected RNN: h = activation(x W + h U + b)."""

    class_name = "SimpleRNN"
    positional = ("units", "activation", "use_bias", "kernel_initializer",
                  "recurrent_initializer", "bias_initializer", *RNN_TAIL,
                  "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                  "seed")
    cell_name = "simple_rnn_cell"

    examples = (
        Example({"units": 4}, ((None, 5, 3),)),
        Example({"units": 4, "return_sequences": True, "use_bias": False}, ((None, 5, 3),)),
        Example({"units": 4, "return_state": True, "go_backwards": True}, ((None, None, 3),)),
        Example({"units": 4, "return_sequences": True, "return_state": True},
                ((None, 5, 3), (None, 4)), arguments=("sequences", "initial_state")),
        Example({"units": 4, "unroll": True}, ((None, 5, 3),)),
        Example({"units": 4, "unroll": True}, ((None, None, 3),)),
        Example({"units": 3, "activation": "relu", "go_backwards": True,
                 "return_sequences": True}, ((None, 6, 2),)),
        Example({"units": 4, "stateful": True}, ((2, 5, 3),)),
        Example({"units": 4, "stateful": True}, ((None, 5, 3),), fails=True),
        Example({"units": 4}, ((None, 3),), fails=True),
        Example({"units": 4}, ((None, 5, 3, 2),), fails=True),
        Example({"units": 0}, ((None, 5, 3),), fails=True),
    )

    def step_elementwise(self, x: TensorType) -> Dim:
        u = self.units
        return dims.total((u, u if self.use_bias else 0, activation_flops(self.activation, u)))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * (2 * step MACs + u (adding the two products) + u (bias) + activation(u))"""
        return Recurrent.flops(self, inputs, outputs)

    def step(
        self, projected: Array, states: list[Array], weights: Sequence[Array]
    ) -> tuple[Array, list[Array]]:
        """h = activation(x W + b + h U)"""
        from convcalc.layers.activations import apply_activation

        h = apply_activation(self.activation, projected + states[0] @ weights[1])
        return h, [h]


@register
class LSTM(_UnitsRecurrent):
    """Long short-term memory: gates i, f, c, o; states h and c."""

    class_name = "LSTM"
    positional = ("units", "activation", "recurrent_activation", "use_bias",
                  "kernel_initializer", "recurrent_initializer", "bias_initializer",
                  "unit_forget_bias", *RNN_TAIL, "seed", "return_sequences", "return_state",
                  "go_backwards", "stateful", "unroll")
    cell_name = "lstm_cell"
    state_names = ("h", "c")
    gates = 4

    recurrent_activation: str = option(default="sigmoid", convert=arg.activation)
    unit_forget_bias: bool = option(default=True, convert=arg.to_bool)
    use_cudnn: Any = option(default="auto", convert=_use_cudnn)

    examples = (
        Example({"units": 8}, ((None, 10, 3),)),
        Example({"units": 8, "return_sequences": True}, ((None, None, 3),)),
        Example({"units": 8, "return_state": True, "use_bias": False}, ((None, 10, 3),)),
        Example({"units": 8, "return_sequences": True, "return_state": True,
                 "go_backwards": True}, ((None, 10, 3),)),
        Example({"units": 4}, ((None, 5, 3), (None, 4), (None, 4)),
                arguments=("sequences", "initial_state", "initial_state")),
        Example({"units": 3, "activation": "gelu", "recurrent_activation": "hard_sigmoid",
                 "unit_forget_bias": False, "return_state": True, "go_backwards": True},
                ((None, 5, 3), (None, 3), (None, 3)),
                arguments=("sequences", "initial_state", "initial_state")),
        Example({"units": 4, "stateful": True, "return_state": True}, ((3, 5, 2),)),
        Example({"units": 4, "stateful": True}, ((None, 5, 2),), fails=True),
        Example({"units": 8}, ((None, 3),), fails=True),
        Example({"units": 8, "use_cudnn": "yes"}, ((None, 10, 3),), fails=True),
    )

    def step_elementwise(self, x: TensorType) -> Dim:
        u = self.units
        return dims.total((
            dims.mul(4, u),
            dims.mul(4, u) if self.use_bias else 0,
            activation_flops(self.recurrent_activation, dims.mul(3, u)),
            activation_flops(self.activation, dims.mul(2, u)),
            dims.mul(4, u),
        ))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * (2 * step MACs + 4u (adding the products) + 4u (bias) + recurrent
        activation(3u) + activation(2u) + 4u (cell and hidden state updates))"""
        return Recurrent.flops(self, inputs, outputs)

    def step(
        self, projected: Array, states: list[Array], weights: Sequence[Array]
    ) -> tuple[Array, list[Array]]:
        """z = x W + h U + b split into i, f, g, o; c = f c + i act(g); h = o act(c)"""
        h, c = lstm_update(projected + states[0] @ weights[1], states[1],
                           self.activation, self.recurrent_activation)
        return h, [h, c]


@register
class GRU(_UnitsRecurrent):
    """Gated recurrent unit: gates z, r, h; bias (2, 3u) with reset_after, else (3u,)."""

    class_name = "GRU"
    positional = ("units", "activation", "recurrent_activation", "use_bias",
                  "kernel_initializer", "recurrent_initializer", "bias_initializer",
                  *RNN_TAIL, "seed", "return_sequences", "return_state", "go_backwards",
                  "stateful", "unroll", "reset_after")
    cell_name = "gru_cell"
    gates = 3

    recurrent_activation: str = option(default="sigmoid", convert=arg.activation)
    reset_after: bool = option(default=True, convert=arg.to_bool)
    use_cudnn: Any = option(default="auto", convert=_use_cudnn)

    examples = (
        Example({"units": 6}, ((None, 7, 4),)),
        Example({"units": 6, "reset_after": False}, ((None, 7, 4),)),
        Example({"units": 6, "reset_after": False, "use_bias": False,
                 "return_sequences": True}, ((None, None, 4),)),
        Example({"units": 6, "return_state": True, "return_sequences": True},
                ((None, 7, 4), (None, 6)), arguments=("sequences", "initial_state")),
        Example({"units": 5, "reset_after": False, "go_backwards": True, "return_state": True,
                 "return_sequences": True}, ((None, 6, 3), (None, 5)),
                arguments=("sequences", "initial_state")),
        Example({"units": 4, "activation": "relu", "recurrent_activation": "hard_silu",
                 "go_backwards": True}, ((None, 6, 3),)),
        Example({"units": 6}, ((None, 4),), fails=True),
        Example({"units": -1}, ((None, 7, 4),), fails=True),
    )

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        keras1 = "reset_after" not in config and any(k in config for k in KERAS1_NAMES)
        cfg = dict(super().upgrade_config(config))
        if keras1:
            cfg["reset_after"] = False
        return cfg

    def bias_shape(self) -> Shape:
        width = dims.mul(3, self.units)
        return (2, width) if self.reset_after else (width,)

    def step_elementwise(self, x: TensorType) -> Dim:
        u = self.units
        bias = (6 if self.reset_after else 3) if self.use_bias else 0
        return dims.total((
            dims.mul(3, u),
            dims.mul(bias, u),
            u,
            activation_flops(self.recurrent_activation, dims.mul(2, u)),
            activation_flops(self.activation, u),
            dims.mul(4, u),
        ))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * (2 * step MACs + 3u (adding the products) + 6u with reset_after, else 3u
        (biases) + u (reset product) + recurrent activation(2u) + activation(u) + 4u
        (state update))"""
        return Recurrent.flops(self, inputs, outputs)

    def input_bias(self, weights: Sequence[Array]) -> Array | None:
        if not self.use_bias:
            return None
        return weights[2][0] if self.reset_after else weights[2]

    def step(
        self, projected: Array, states: list[Array], weights: Sequence[Array]
    ) -> tuple[Array, list[Array]]:
        """z, r = rec_act(x W + h U (+ b_rec)); reset_after: hh = act(x W_h + r (h U_h
        + b_rec_h)), else act(x W_h + (r h) U_h); h = z h + (1 - z) hh"""
        from convcalc.layers.activations import apply_activation

        h_prev, kernel = states[0], weights[1]
        u = h_prev.shape[-1]
        x_z, x_r, x_h = projected[:, :u], projected[:, u:2 * u], projected[:, 2 * u:]
        if self.reset_after:
            inner = h_prev @ kernel
            if self.use_bias:
                inner = inner + weights[2][1]
        else:
            inner = h_prev @ kernel[:, :2 * u]
        z = apply_activation(self.recurrent_activation, x_z + inner[:, :u])
        r = apply_activation(self.recurrent_activation, x_r + inner[:, u:2 * u])
        recurrent_h = r * inner[:, 2 * u:] if self.reset_after else (r * h_prev) @ kernel[:, 2 * u:]
        hh = apply_activation(self.activation, x_h + recurrent_h)
        h = z * h_prev + (1 - z) * hh
        return h, [h]

    def summary(self) -> str:
        text = _UnitsRecurrent.summary(self)
        return text if self.reset_after else f"{text}, reset_before"


def lstm_update(
    z: Array, c_prev: Array, activation: str, recurrent_activation: str
) -> tuple[Array, Array]:
    """LSTM state update from the gate pre-activations z = [i, f, g, o] (last axis):
    c = f * c_prev + i * act(g), h = o * act(c)."""
    from convcalc.layers.activations import apply_activation

    zi, zf, zg, zo = (z[..., k * c_prev.shape[-1]:(k + 1) * c_prev.shape[-1]]
                      for k in range(4))
    c = (apply_activation(recurrent_activation, zf) * c_prev
         + apply_activation(recurrent_activation, zi) * apply_activation(activation, zg))
    h = apply_activation(recurrent_activation, zo) * apply_activation(activation, c)
    return h, c
