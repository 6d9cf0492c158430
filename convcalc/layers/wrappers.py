"""Layer wrappers: TimeDistributed and Bidirectional.

The wrapped layer is given as a nested ``{"class_name": ..., "config": ...}`` config
(Keras 3 adds ``module`` and ``registered_name``) and resolved through the layer
catalogue, or, from Python source, as an already-built spec. Its weights keep their
Keras names under the wrapped layer's name (``dense/kernel``,
``forward_lstm/lstm_cell/kernel``). That name comes from the nested config; a spec
built from source has none, and takes Keras's automatic name for a first instance
(``lstm``, ``conv_lstm2d``) unless ``layer_name`` / ``backward_layer_name`` are given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import computed, evaluate, named
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
from convcalc.layers.common import elements, expect_min_rank, one_input
from convcalc.layers.recurrent import Recurrent
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array


def keras_auto_name(class_name: str) -> str:
    """The name Keras gives the first unnamed layer of a class: ConvLSTM2D -> conv_lstm2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def wrapped_layer(v: Any, cls: type[LayerSpec] | None = None) -> LayerSpec:
    """A layer spec, or a nested ``{"class_name", "config"}`` resolved by the catalogue."""
    if isinstance(v, LayerSpec):
        return v
    if not (isinstance(v, Mapping) and isinstance(v.get("class_name"), str)):
        raise ConfigError(f"expected a layer, got {v!r}")
    from convcalc.layers import lookup  # the catalogue imports this module

    name = str(v["class_name"])
    registered = v.get("registered_name")
    custom = isinstance(registered, str) and ">" in registered
    spec_cls = None if custom else lookup(name)
    if spec_cls is None:
        shown = registered if custom else name
        raise ConfigError(
            f"the wrapped layer class {shown!r} is unknown"
            + (" (a custom layer)" if custom else " to convcalc")
        )
    config = v.get("config")
    if not isinstance(config, Mapping):
        raise ConfigError(f"the wrapped {name} has no config object")
    return spec_cls.from_config(config)


def _recurrent_layer(v: Any, cls: type[LayerSpec] | None = None) -> Recurrent:
    """A recurrent layer spec (SimpleRNN, LSTM, GRU, ConvLSTM1D/2D/3D)."""
    spec = wrapped_layer(v, cls)
    if not isinstance(spec, Recurrent):
        raise ConfigError(
            f"it wraps a recurrent layer (SimpleRNN, LSTM, GRU, ConvLSTM...), got "
            f"{spec.class_name}"
        )
    return spec


def _nested_name(v: Any) -> str | None:
    if isinstance(v, Mapping) and isinstance(v.get("config"), Mapping):
        name = v["config"].get("name")
        return name if isinstance(name, str) else None
    return None


def _merge_mode(v: Any, cls: type[LayerSpec] | None = None) -> str | None:
    """'concat', 'sum', 'mul', 'ave' or None."""
    if v is None or v in ("concat", "sum", "mul", "ave"):
        return v  # type: ignore[no-any-return]
    raise ConfigError(f"merge_mode must be 'concat', 'sum', 'mul', 'ave' or None, got {v!r}")


def _inner_error(e: ShapeError, inner: LayerSpec, wrapper: str) -> ShapeError:
    return ShapeError(e.rule, f"{inner.class_name} inside {wrapper}: {e.message}", e.hint)


def _prefixed(prefix: str, weights: Sequence[WeightSpec]) -> tuple[WeightSpec, ...]:
    return tuple(w._replace(name=f"{prefix}/{w.name}") for w in weights)


@register
class TimeDistributed(LayerSpec):
    """Apply the wrapped layer to every timestep (axis 1) with one set of weights.

    MACs per sample = T * the wrapped layer's MACs on one step; FLOPs likewise.
    """

    class_name = "TimeDistributed"
    family = "wrapper"
    positional = ("layer",)
    supports_masking = True
    mask_in_call = True

    layer: LayerSpec = option(convert=wrapped_layer)
    layer_name: str | None = option(default=None, convert=arg.optional(arg.to_str))

    examples = (
        Example({"layer": {"module": "keras.layers", "class_name": "Dense",
                           "config": {"units": 4, "name": "dense"}, "registered_name": None}},
                ((None, 5, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "Conv2D",
                           "config": {"filters": 3, "kernel_size": 3, "strides": 2},
                           "registered_name": None}},
                ((None, None, 9, 8, 2),)),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 3, "return_sequences": True},
                           "registered_name": None}},
                ((None, 6, 5, 2),)),
        Example({"layer": {"module": "keras.layers", "class_name": "LayerNormalization",
                           "config": {"axis": [-2, -1]}, "registered_name": None}},
                ((None, 4, 3, 5),)),
        Example({"layer": {"module": "keras.layers", "class_name": "Dense",
                           "config": {"units": 4}, "registered_name": None}},
                ((None, 5),), fails=True),
        Example({"layer": {"module": "keras.layers", "class_name": "Conv2D",
                           "config": {"filters": 3, "kernel_size": 3},
                           "registered_name": None}},
                ((None, 5, 8, 2),), fails=True),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 3, "return_state": True},
                           "registered_name": None}},
                ((None, 6, 5, 2),), fails=True),
    )

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        name = _nested_name(config.get("layer"))
        if name is None or "layer_name" in config:
            return config
        return {**config, "layer_name": name}

    def validate(self) -> None:
        if self.layer.num_outputs() != 1 or not self.layer.call_args:
            raise ConfigError(
                f"TimeDistributed wraps a layer with one input and one output; this "
                f"{self.layer.class_name} returns {self.layer.num_outputs()} tensors", "layer")

    @property
    def inner_name(self) -> str:
        return self.layer_name or keras_auto_name(self.layer.class_name)

    def _step(self, x: TensorType) -> TensorType:
        return x.with_shape((x.batch, *x.shape[2:]))

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, T, ...) -> (batch, T, *inner output of (batch, ...) without its batch)"""
        x = one_input(inputs, self.class_name)
        expect_min_rank(x, 3, self.class_name)
        try:
            outs = self.layer.infer((self._step(x),), ctx)
        except ShapeError as e:
            raise _inner_error(e, self.layer, self.class_name) from None
        y = outs[0]
        return (y.with_shape((y.batch, x.shape[1], *y.shape[1:])),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        return _prefixed(self.inner_name, self.layer.weights((self._step(inputs[0]),)))

    def _step_io(
        self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]
    ) -> tuple[tuple[TensorType], tuple[TensorType]]:
        y = outputs[0]
        return (self._step(inputs[0]),), (y.with_shape((y.batch, *y.shape[2:])),)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * MACs of the wrapped layer on one step"""
        step = self._step_io(inputs, outputs)
        return evaluate(named("T", inputs[0].shape[1])
                        * computed("step MACs", lambda: self.layer.macs(*step)))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """T * FLOPs of the wrapped layer on one step"""
        return dims.mul(inputs[0].shape[1], self.layer.flops(*self._step_io(inputs, outputs)))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The wrapped layer's forward on the batch and time axes merged into one (the
        mask, (batch, T, ...), merged alike for a wrapped layer that reads masks)."""
        from convcalc.layers.numeric import mask_array

        x = inputs[0]
        batch, steps = x.shape[:2]
        inner: Mapping[str, Any] = {}
        if self.layer.mask_in_call:
            mask = mask_array(call_kwargs.get("mask"), "TimeDistributed mask")
            if mask is not None:
                inner = {"mask": mask.reshape(batch * steps, *mask.shape[2:])}
        (y,) = self.layer.forward([x.reshape(batch * steps, *x.shape[2:])], weights, inner)
        return (y.reshape(batch, steps, *y.shape[1:]),)

    def summary(self) -> str:
        inner = self.layer.summary()
        return f"{self.layer.class_name}({inner})"


@register
class Bidirectional(LayerSpec):
    """A recurrent layer run forwards and backwards, outputs merged by merge_mode.

    concat joins the last axes; sum, mul and ave need equal shapes; None returns both.
    return_state appends the forward then the backward states. initial_state holds
    the forward states then the backward ones. MACs = forward + backward MACs; FLOPs =
    forward + backward FLOPs + 1 per output element for sum and mul, 2 for ave.
    """

    class_name = "Bidirectional"
    family = "wrapper"
    positional = ("layer", "merge_mode", "weights", "backward_layer")
    call_args = ("sequences", "initial_state")
    supports_masking = True
    mask_in_call = True

    layer: Recurrent = option(convert=_recurrent_layer)
    merge_mode: str | None = option(default="concat", convert=_merge_mode)
    backward_layer: Recurrent | None = option(default=None, convert=arg.optional(_recurrent_layer))
    layer_name: str | None = option(default=None, convert=arg.optional(arg.to_str))
    backward_layer_name: str | None = option(default=None, convert=arg.optional(arg.to_str))

    examples = (
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4, "name": "lstm"}, "registered_name": None}},
                ((None, 5, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "GRU",
                           "config": {"units": 4, "return_sequences": True},
                           "registered_name": None}, "merge_mode": "sum"},
                ((None, None, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "SimpleRNN",
                           "config": {"units": 4, "return_sequences": True},
                           "registered_name": None}, "merge_mode": None},
                ((None, 5, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4, "return_state": True},
                           "registered_name": None}, "merge_mode": "ave"},
                ((None, 5, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4, "return_state": True},
                           "registered_name": None}, "merge_mode": None},
                ((None, 5, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "GRU",
                           "config": {"units": 4, "name": "forward_gru",
                                      "reset_after": False}, "registered_name": None},
                 "backward_layer": {"module": "keras.layers", "class_name": "GRU",
                                    "config": {"units": 4, "name": "backward_gru",
                                               "go_backwards": True, "reset_after": False},
                                    "registered_name": None},
                 "merge_mode": "mul"},
                ((None, 5, 3),)),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4}, "registered_name": None}},
                ((None, 5, 3), (None, 4), (None, 4), (None, 4), (None, 4)),
                arguments=("sequences", *("initial_state",) * 4)),
        Example({"layer": {"module": "keras.layers", "class_name": "ConvLSTM2D",
                           "config": {"filters": 2, "kernel_size": 3,
                                      "data_format": "channels_first",
                                      "return_sequences": True},
                           "registered_name": None}},
                ((None, 4, 3, 6, 5),)),
        Example({"layer": {"module": "keras.layers", "class_name": "GRU",
                           "config": {"units": 3, "return_sequences": True,
                                      "return_state": True, "reset_after": False},
                           "registered_name": None}, "merge_mode": "ave"},
                ((None, 5, 2), (None, 3), (None, 3)),
                arguments=("sequences", "initial_state", "initial_state")),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4}, "registered_name": None},
                 "merge_mode": "max"},
                ((None, 5, 3),), fails=True),
        Example({"layer": {"module": "keras.layers", "class_name": "Dense",
                           "config": {"units": 4}, "registered_name": None}},
                ((None, 5, 3),), fails=True),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4, "go_backwards": True},
                           "registered_name": None}},
                ((None, 5, 3),), fails=True),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4}, "registered_name": None},
                 "backward_layer": {"module": "keras.layers", "class_name": "LSTM",
                                    "config": {"units": 4, "go_backwards": True,
                                               "return_sequences": True},
                                    "registered_name": None}},
                ((None, 5, 3),), fails=True),
        Example({"layer": {"module": "keras.layers", "class_name": "LSTM",
                           "config": {"units": 4}, "registered_name": None}},
                ((None, 3),), fails=True),
    )

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        cfg = dict(config)
        for key in ("layer", "backward_layer"):
            name = _nested_name(cfg.get(key))
            if name is not None:
                cfg.setdefault(f"{key}_name", name)
        return cfg

    def validate(self) -> None:
        fwd, bwd = self.layer, self.backward()
        if fwd.go_backwards == bwd.go_backwards:
            raise ConfigError(
                "Bidirectional: the forward and backward layers need different go_backwards "
                f"values, both are {fwd.go_backwards}", "backward_layer")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, a) != getattr(bwd, a):
                raise ConfigError(
                    f"Bidirectional: the forward and backward layers need the same {a}, got "
                    f"{getattr(fwd, a)} and {getattr(bwd, a)}", "backward_layer")

    def backward(self) -> Recurrent:
        """The backward layer: the given one, or a copy of the forward with go_backwards."""
        if self.backward_layer is not None:
            return self.backward_layer
        return self.layer.replace(go_backwards=True)

    @property
    def forward_name(self) -> str:
        base = self.layer_name or keras_auto_name(self.layer.class_name)
        return f"forward_{base.removeprefix('forward_')}"

    @property
    def backward_name(self) -> str:
        if self.backward_layer is not None:
            return self.backward_layer_name or keras_auto_name(self.backward_layer.class_name)
        base = self.layer_name or keras_auto_name(self.layer.class_name)
        return f"backward_{base.removeprefix('backward_')}"

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        merged = 2 if self.merge_mode is None else 1
        states = 2 * len(self.layer.state_names) if self.layer.return_state else 0
        return merged + states

    def _directions(
        self, inputs: Sequence[TensorType], ctx: InferContext
    ) -> tuple[tuple[TensorType, ...], tuple[TensorType, ...]]:
        if not inputs:
            raise ShapeError(INCOMPATIBLE_INPUT, "Bidirectional needs an input sequence")
        x, states = inputs[0], inputs[1:]
        half = len(states) // 2
        fwd = self.layer.infer((x, *states[:half]), ctx)
        bwd = self.backward().infer((x, *states[half:]), ctx)
        return fwd, bwd

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Both directions' outputs merged (concat: last axes added), then their states."""
        fwd, bwd = self._directions(inputs, ctx)
        y, y_rev = fwd[0], bwd[0]
        message = (f"Bidirectional: the forward output {format_shape(y.shape)} and the "
                   f"backward output {format_shape(y_rev.shape)} cannot be merged with "
                   f"merge_mode={self.merge_mode!r}")
        if self.merge_mode is None:
            merged: tuple[TensorType, ...] = (y, y_rev)
        else:
            last = 1 if self.merge_mode == "concat" else 0
            for a, b in zip(y.shape[1:len(y.shape) - last], y_rev.shape[1:], strict=False):
                ctx.require_equal(a, b, INCOMPATIBLE_INPUT, message)
            if last:
                merged = (y.with_shape((*y.shape[:-1], dims.add(y.shape[-1],
                                                               y_rev.shape[-1]))),)
            else:
                merged = (y,)
        return (*merged, *fwd[1:], *bwd[1:])

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        x = inputs[:1]
        return (*_prefixed(self.forward_name, self.layer.weights(x)),
                *_prefixed(self.backward_name, self.backward().weights(x)))

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """forward MACs + backward MACs"""
        fwd, bwd = self._directions(inputs, InferContext())
        return evaluate(computed("forward MACs", lambda: self.layer.macs(inputs, fwd))
                        + computed("backward MACs", lambda: self.backward().macs(inputs, bwd)))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """forward + backward FLOPs + 1 per output element (sum, mul) or 2 (ave)"""
        fwd, bwd = self._directions(inputs, InferContext())
        merge = {"sum": 1, "mul": 1, "ave": 2}.get(self.merge_mode or "", 0)
        return dims.total((
            self.layer.flops(inputs, fwd),
            self.backward().flops(inputs, bwd),
            dims.mul(merge, elements(outputs[0])),
        ))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Both directions run (on the same mask, if given); the backward sequence
        flipped back in time before the merge (concat on the last axis, sum, ave, mul,
        or both outputs), then the forward and the backward states."""
        import numpy as np

        x, states = inputs[0], inputs[1:]
        half = len(states) // 2
        n_forward = len(self.layer.weights((TensorType(tuple(x.shape)),)))
        # Keras zeroes the masked steps' outputs of both directions in sequences
        options = {**call_kwargs, "zero_output_for_mask": self.layer.return_sequences}
        fwd = self.layer.forward([x, *states[:half]], weights[:n_forward], options)
        bwd = self.backward().forward([x, *states[half:]], weights[n_forward:], options)
        y, y_rev = fwd[0], bwd[0]
        if self.layer.return_sequences:
            y_rev = y_rev[:, ::-1]
        merged: tuple[Array, ...]
        if self.merge_mode == "concat":
            merged = (np.concatenate([y, y_rev], axis=-1),)
        elif self.merge_mode == "sum":
            merged = (y + y_rev,)
        elif self.merge_mode == "ave":
            merged = ((y + y_rev) / 2,)
        elif self.merge_mode == "mul":
            merged = (y * y_rev,)
        else:
            merged = (y, np.ascontiguousarray(y_rev))
        return (*merged, *fwd[1:], *bwd[1:])

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """With return_sequences, the sequence's mask on the output (on both outputs
        when merge_mode is None); none on a last output or the states."""
        previous = self.previous_masks(masks, call_kwargs)
        if not (self.layer.return_sequences and previous):
            return ()
        return (previous[0],) * (2 if self.merge_mode is None else 1)

    def summary(self) -> str:
        return f"{self.layer.class_name}({self.layer.summary()}), {self.merge_mode}"
