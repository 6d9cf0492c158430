"""What building a Keras model does, replayed on abstract values.

A session holds the state real Keras keeps globally while model code runs:
the name counters behind automatic layer names, the recorded layer calls (nodes) and
the models made so far. Layers are created through the catalogue, called on symbolic
tensors (computing output types eagerly, since code reads ``x.shape``), and models are
extracted from the recorded calls the way Keras's ``Functional`` walks back from its
outputs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from convcalc import dims, rules
from convcalc.dims import Dim
from convcalc.frontend.objects import (
    KerasError,
    LayerObj,
    ModelObj,
    RankChoice,
    snake_case,
)
from convcalc.frontend.tensor_ops import (
    ElementwiseOp,
    OpSpec,
    constant_outputs,
    split_operands,
)
from convcalc.frontend.values import (
    Builtin,
    Function,
    Instance,
    KerasObject,
    KerasRef,
    LayerClass,
    Node,
    SymInt,
    Tensor,
    Unknown,
)
from convcalc.graph import Layer, Site
from convcalc.layers.base import ConfigError, InferContext, LayerSpec
from convcalc.layers.core import InputLayer, free_dim_names
from convcalc.layers.model import ModelSpec
from convcalc.propagate import latest_input
from convcalc.types import Span, TensorType

Report = Callable[..., None]

INPUT_DECLARATIONS = ("input_shape", "batch_input_shape", "batch_size", "input_dim",
                      "input_length")
"""Constructor keywords that declare a Sequential's input rather than configure a layer."""
LAYER_BASE_ARGS = ("name", "trainable", "dtype", "weights", "autocast")


class LayerSession:
    """Keras's global state during one interpretation, and the layer operations
    (models are added by :class:`convcalc.frontend.models.Session`)."""

    def __init__(self, report: Report,
                 rank_choices: dict[int, RankChoice] | None = None) -> None:
        self.report = report
        self.uids: defaultdict[str, int] = defaultdict(int)
        self.seq = 0
        self.models: list[ModelObj] = []
        self.data_format = "channels_last"
        self.rank_choices = dict(rank_choices or {})
        self.pending_inputs = 0
        self.free_inputs = 0
        self.owners: dict[int, LayerObj | ModelObj] = {}
        self.detached = False
        """Inside a custom layer's call: layer and op calls are traced, not recorded."""
        self.tracer: Any = None
        """The custom-layer runner tracing the current call (gets the inner layer calls)."""
        self.custom_sites: dict[int, tuple[Span | None, tuple[str, ...]]] = {}
        self.layer_caller: Callable[..., Any] = self.call_layer
        """How a Sequential calls its layers (the interpreter handles code-defined ones)."""
        self.built: set[int] = set()
        """Layers already called once (built), by id."""
        self.sites: list[Site] = []
        """The helper-function calls being interpreted (kept by the interpreter)."""

    # ------------------------------------------------------------------ naming
    def auto_name(self, class_name: str) -> str:
        """Keras's automatic name: snake case, then ``_1``, ``_2``... per prefix."""
        return self.uniquify(snake_case(class_name))

    def uniquify(self, name: str) -> str:
        n = self.uids[name]
        self.uids[name] = n + 1
        return name if n == 0 else f"{name}_{n}"

    def get_uid(self, prefix: str) -> int:
        """``keras.backend.get_uid``: 1, 2, ... per prefix (shares the name counters)."""
        self.uids[prefix] += 1
        return self.uids[prefix]

    def clear(self) -> None:
        """``keras.backend.clear_session``: name counters start again."""
        self.uids.clear()

    # ------------------------------------------------------------------ layers
    def create_layer(
        self,
        cls: LayerClass,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        span: Span | None,
        scope: tuple[str, ...],
    ) -> LayerObj:
        """A layer object from a constructor call (``Conv2D(32, 3, padding='same')``)."""
        spec_cls: type[LayerSpec] | None = cls.spec
        kwargs = dict(kwargs)
        fields = {f.name for f in spec_cls._spec_fields()} if spec_cls is not None else set()
        base = {k: kwargs.pop(k) for k in LAYER_BASE_ARGS if k in kwargs}
        declared = {k: kwargs.pop(k) for k in INPUT_DECLARATIONS
                    if k in kwargs and k not in fields}
        if (self.data_format != "channels_last" and "data_format" in fields
                and kwargs.get("data_format") is None
                and not (spec_cls is not None and "data_format" in spec_cls.positional[
                    :len(args)])):
            kwargs["data_format"] = self.data_format  # keras.config.image_data_format()
        class_name = spec_cls.class_name if spec_cls is not None else cls.class_name
        name = base.get("name")
        if not isinstance(name, str):
            name = self.auto_name(class_name)
        spec: LayerSpec | None = None
        config: dict[str, Any] = {}
        if spec_cls is None:
            self.report(rules.UNKNOWN_LAYER,
                        f"{cls.class_name} is not a layer class convcalc knows; its outputs "
                        "and weights are unknown", span=span, layer=name)
        else:
            spec, config = self._spec(spec_cls, args, kwargs, span, name, cls.class_name)
        layer = Layer(name, class_name, spec, {**config, "name": name}, span, scope=scope)
        trainable = base.get("trainable", True)
        if isinstance(trainable, bool):
            layer.trainable = trainable
        dtype = to_native(base.get("dtype"), [])
        if isinstance(dtype, str):
            layer.dtype = dtype
        elif isinstance(dtype, dict) and isinstance(dtype.get("class_name"), str):
            policy = dtype.get("config", {}).get("name") if isinstance(
                dtype.get("config"), dict) else None
            if isinstance(policy, str):
                layer.dtype = policy
        obj = LayerObj(layer, declared_input_shape(declared))
        self.owners[id(layer)] = obj
        if isinstance(spec, InputLayer):
            self._input_node(obj, span)
        return obj

    def _spec(
        self,
        spec_cls: type[LayerSpec],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        span: Span | None,
        name: str,
        written_as: str,
    ) -> tuple[LayerSpec | None, dict[str, Any]]:
        unknowns: list[Unknown] = []
        nargs = tuple(to_native(a, unknowns) for a in args)
        nkwargs = {k: to_native(v, unknowns) for k, v in kwargs.items()}
        try:
            config = spec_cls.bind_arguments(nargs, nkwargs, written_as)
            _name_wrapped_layers(spec_cls, config, args, kwargs)
            spec = spec_cls.from_config(config)
        except ConfigError as e:
            if unknowns:
                what = ", ".join(sorted({u.origin for u in unknowns}))
                self.report(rules.UNKNOWN_VALUE,
                            f"{name} ({spec_cls.class_name}): its arguments depend on values "
                            f"convcalc cannot compute ({what}); the layer is left unknown",
                            span=span, layer=name)
            else:
                self.report(rules.INVALID_ARGUMENT, f"{name}: {e}", span=span, layer=name)
            return None, {}
        except Exception as e:  # a converter that trips over an odd value
            self.report(rules.INVALID_ARGUMENT,
                        f"{name}: invalid arguments for {spec_cls.class_name} ({e})",
                        span=span, layer=name)
            return None, {}
        return spec, {k: v for k, v in config.items() if _plain(v)}

    def _input_node(self, obj: LayerObj, span: Span | None) -> Tensor:
        node = self._node(obj.layer, (), span, {})
        spec = obj.layer.spec
        t = spec.infer((), InferContext())[0] if spec is not None else None
        out = Tensor(t, node, 0)
        node.outputs = (out,)
        obj.nodes.append(node)
        return out

    def make_input(
        self,
        shape: Any,
        batch_size: Any,
        batch_shape: Any,
        dtype: Any,
        name: Any,
        span: Span | None,
        scope: tuple[str, ...],
    ) -> Tensor:
        """``keras.Input(shape=...)``: an InputLayer and its output tensor.

        A shape that is unknown as a whole gives an input of undecided rank (see
        :meth:`_decide`); unknown or None sizes become named symbols.
        """
        lname = name if isinstance(name, str) else self.auto_name("InputLayer")
        if batch_shape is not None and not isinstance(batch_shape, Unknown):
            full = batch_shape
        elif shape is None:
            self.report(rules.SHAPE_UNKNOWN, "Input() needs a shape", span=span, layer=lname)
            full = Unknown("Input()")
        elif isinstance(shape, (Unknown, SymInt)) or not isinstance(shape, (tuple, list, int)):
            full = shape if isinstance(shape, Unknown) else Unknown(repr(shape))
        else:
            full = (batch_size, *(shape if isinstance(shape, (tuple, list)) else (shape,)))
        return self.input_tensor(full, dtype, lname, span, scope)

    def input_tensor(
        self,
        batch_shape: Any,
        dtype: Any,
        name: str,
        span: Span | None,
        scope: tuple[str, ...],
        hidden: bool = False,
    ) -> Tensor:
        """An InputLayer of this batch shape (values; an Unknown for an unknown rank)."""
        origin: str | None = None
        choice: RankChoice | None = None
        if isinstance(batch_shape, Unknown) or not isinstance(batch_shape, (tuple, list)):
            key = self.pending_inputs
            self.pending_inputs += 1
            origin = batch_shape.origin if isinstance(batch_shape, Unknown) else repr(batch_shape)
            choice = self.rank_choices.get(key)
            if choice is None:
                layer = Layer(name, "InputLayer", None, {"name": name}, span, scope=scope,
                              hidden=hidden)
                obj = LayerObj(layer)
                self.owners[id(layer)] = obj
                node = self._node(layer, (), span, {})
                out = Tensor(None, node, 0, pending=key)
                node.outputs = (out,)
                obj.nodes.append(node)
                return out
            batch_shape = (None,) * choice.rank
        shape = self._input_dims(list(batch_shape), choice.names if choice else None)
        if origin is not None:
            sizes = ", ".join(str(d) for d in shape[1:])
            self.report(rules.UNKNOWN_VALUE,
                        f"the shape of input {name} comes from {origin}, unknown before the "
                        f"program runs; its sizes are the symbols {sizes} (the rank is the one "
                        "the first layer using it needs)", span=span, layer=name,
                        hint="Give the sizes with --input-shape, or the builder's arguments "
                             "with --call.")
        native_dtype = to_native(dtype, [])
        config: dict[str, Any] = {"batch_shape": shape, "name": name}
        if isinstance(native_dtype, str):
            config["dtype"] = native_dtype
        try:
            spec: LayerSpec | None = InputLayer.from_config(config)
        except ConfigError as e:
            self.report(rules.INVALID_ARGUMENT, f"{name}: {e}", span=span, layer=name)
            spec = None
        layer = Layer(name, "InputLayer", spec, config, span, scope=scope, hidden=hidden)
        if isinstance(native_dtype, str):
            layer.dtype = native_dtype
        obj = LayerObj(layer)
        self.owners[id(layer)] = obj
        return self._input_node(obj, span)

    def _input_dims(self, values: list[Any], names: tuple[str, ...] | None = None
                    ) -> tuple[Dim, ...]:
        """A batch shape of values as dims: None and unknown sizes become symbols, named
        by position (``H, W, C``...) and suffixed from the second such input on."""
        names = names or free_dim_names(len(values) - 1)
        free = [i for i, v in enumerate(values) if i > 0 and not _is_size(v)]
        suffix = ""
        if free:
            self.free_inputs += 1
            if self.free_inputs > 1:
                suffix = str(self.free_inputs)
        out: list[Dim] = []
        for i, v in enumerate(values):
            if i == 0:
                out.append(dims.BATCH if not (type(v) is int and v > 0) else v)
            elif type(v) is int:
                out.append(v)
            elif type(v) is SymInt:
                out.append(v.dim)
            elif isinstance(v, Unknown) and v.name:
                out.append(dims.Sym(symbol_name(v.name)))
            else:
                out.append(dims.Sym(names[i - 1] + suffix))
        return tuple(out)

    # ------------------------------------------------------------------- calls
    def _node(self, layer: Layer, inputs: tuple[Tensor, ...], span: Span | None,
              kwargs: dict[str, Any]) -> Node:
        self.seq += 1
        return Node(layer, inputs, span, kwargs, self.seq, sites=tuple(self.sites))

    def call_layer(
        self,
        obj: LayerObj | ModelObj,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        span: Span | None,
        scope: tuple[str, ...],
    ) -> Any:
        """``layer(x)``: record the call and return its output tensor(s)."""
        if isinstance(obj, ModelObj):
            return self.call_model(obj, args, kwargs, span, scope)
        layer = obj.layer
        spec = layer.spec
        inputs, plain = split_call(spec, args, kwargs)
        if not inputs:
            return Unknown(f"{layer.name}(...) on a value that is not a Keras tensor")
        if isinstance(spec, InputLayer):
            raise KerasError("TypeError", f"an InputLayer ({layer.name}) cannot be called")
        if id(layer) not in self.built:
            self.built.add(id(layer))
            for inner in BUILD_TIME_LAYERS.get(layer.class_name, ()):
                self.auto_name(inner)
        pending = [t for t in inputs if t.pending is not None]
        n_out = spec.num_outputs(plain) if spec is not None else 1
        types: tuple[TensorType | None, ...] = (None,) * n_out
        out_pending: int | None = None
        if pending:
            out_pending = self._decide(pending[0].pending, spec, inputs)  # type: ignore[arg-type]
        elif spec is not None and all(t.type is not None for t in inputs):
            ctx = InferContext(plain, latest_input(inputs, _creation_order))
            try:
                types = tuple(spec.infer([t.type for t in inputs], ctx))  # type: ignore[misc]
            except Exception:  # the final propagation reports why
                types = (None,) * n_out
        if self.detached:
            douts = [Tensor(t, None, i) for i, t in enumerate(types)]
            if self.tracer is not None and spec is not None and all(
                    t is not None for t in types) and all(t.type is not None for t in inputs):
                self.tracer.layer_called(layer, inputs, douts, plain)
            return douts[0] if len(douts) == 1 else douts
        node = self._node(layer, tuple(inputs), span, plain)
        outs = tuple(Tensor(t, node, i, out_pending) for i, t in enumerate(types))
        node.outputs = outs
        obj.nodes.append(node)
        if len(outs) == 1:
            return outs[0]
        return list(outs)

    def _decide(self, key: int, spec: LayerSpec | None, inputs: list[Tensor]) -> int | None:
        """The rank a layer needs of an input of undecided rank.

        Another input of known rank decides it (a merge); else the smallest rank
        the layer accepts (Dense 2, Conv1D/LSTM 3, Conv2D 4, Conv3D 5). A layer that
        accepts every rank and keeps the shape (Activation, Dropout, BatchNormalization)
        decides nothing: its output stays undecided and the next layer decides.
        Raises :class:`RankChoice`, or returns the key the output stays pending on.
        """
        known = [t.type for t in inputs if t.type is not None]
        if known:
            raise RankChoice(key, known[0].rank)
        if spec is None:
            return None
        if isinstance(spec, ModelSpec):
            declared = [spec.graph.calls[r.node].layer.spec for r in spec.graph.inputs]
            if declared and isinstance(declared[0], InputLayer):
                raise RankChoice(key, len(declared[0].batch_shape))
            return None
        accepted: list[int] = []
        same = True
        for rank in range(2, 6):
            probe = TensorType((dims.BATCH, *(dims.Sym(f"_r{i}") for i in range(1, rank))))
            try:
                outs = spec.infer([probe] * len(inputs), InferContext())
            except Exception:
                same = False
                continue
            accepted.append(rank)
            if len(outs) != 1 or outs[0].shape != probe.shape:
                same = False
        if not accepted:
            return None
        if same and len(accepted) == 4:
            return key
        names = None
        if accepted[0] == 2:  # features for a Dense, a time axis of token ids for Embedding
            names = ("T",) if spec.class_name == "Embedding" else ("F",)
        raise RankChoice(key, accepted[0], names)

    def decide_default(self, tensors: Iterable[Tensor]) -> None:
        """A model built on an input no layer decided the rank of: take (F,)."""
        for t in tensors:
            if t.pending is not None:
                raise RankChoice(t.pending, 2, ("F",))

    def call_model(self, model: ModelObj, args: tuple[Any, ...], kwargs: dict[str, Any],
                   span: Span | None, scope: tuple[str, ...]) -> Any:
        raise NotImplementedError

    def set_data_format(self, value: Any) -> None:
        if value in ("channels_last", "channels_first"):
            self.data_format = value


# ---------------------------------------------------------------------- helpers
def _plain(v: Any) -> bool:
    if v is None or isinstance(v, (int, float, str, bool)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x) for k, x in v.items())
    return False


def _is_size(v: Any) -> bool:
    return type(v) is int or type(v) is SymInt or (isinstance(v, Unknown) and bool(v.name))


def symbol_name(name: str) -> str:
    """A symbol name from an identifier-ish text."""
    out = re.sub(r"\W+", "_", name).strip("_")
    return out or "n"


def _name_wrapped_layers(spec_cls: type[LayerSpec], config: dict[str, Any],
                         args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A wrapper's inner layer keeps its own name (``layer_name`` when the spec has it)."""
    raw = dict(zip(spec_cls.positional, args, strict=False))
    raw.update(kwargs)
    fields = {f.name for f in spec_cls._spec_fields()}
    for key, value in raw.items():
        if isinstance(value, LayerObj) and f"{key}_name" in fields and (
                f"{key}_name" not in config):
            config[f"{key}_name"] = value.name


def to_native(v: Any, unknowns: list[Unknown]) -> Any:
    """An abstract value as a plain config value for a layer spec.

    Sizes stay dims (symbols included); an unknown value with a name becomes a symbol
    of that name; functions and keras objects become their names or serialized form.
    """
    t = type(v)
    if v is None or t in (int, float, str, bool):
        return v
    if t is tuple:
        return tuple(to_native(x, unknowns) for x in v)
    if t is list:
        return [to_native(x, unknowns) for x in v]
    if t is dict:
        return {k: to_native(x, unknowns) for k, x in v.items()}
    if t is SymInt:
        return v.dim
    if t is Unknown:
        unknowns.append(v)
        return dims.Sym(symbol_name(v.name)) if v.name else v
    if t is KerasRef:
        return v.path[-1]
    if t is KerasObject:
        return {"class_name": v.class_name,
                "config": {k: to_native(x, unknowns) for k, x in v.kwargs.items()}}
    if t is LayerObj:
        return v.layer.spec if v.layer.spec is not None else v
    if t is Instance or t is ModelObj:  # a custom layer or a model handed to a wrapper
        unknowns.append(Unknown(f"the layer {v.layer.name if t is Instance and v.layer else v}"))
        return v
    if t is LayerClass:
        return v.class_name
    if t in (Function, Builtin):
        return v.name
    return v


def declared_input_shape(declared: dict[str, Any]) -> tuple[Any, ...] | Unknown | None:
    """The batch shape that ``input_shape=`` / ``batch_input_shape=`` / ``input_dim=``
    (Keras 1/2) declare, as values; an Unknown for an unknown shape."""
    if not declared:
        return None
    if "batch_input_shape" in declared:
        shape = declared["batch_input_shape"]
        if isinstance(shape, (tuple, list)):
            return tuple(shape)
        return shape if isinstance(shape, Unknown) else Unknown("batch_input_shape")
    batch = declared.get("batch_size")
    if "input_shape" in declared:
        shape = declared["input_shape"]
        if isinstance(shape, (tuple, list)):
            return (batch, *shape)
        if type(shape) is int or type(shape) is SymInt:
            return (batch, shape)
        return shape if isinstance(shape, Unknown) else Unknown("input_shape")
    dim, length = declared.get("input_dim"), declared.get("input_length")
    if dim is not None:
        return (batch, length, dim) if length is not None else (batch, dim)
    if length is not None:
        return (batch, length)
    return None


def split_call(spec: LayerSpec | None, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> tuple[list[Tensor], dict[str, Any]]:
    """The tensors a layer call reads, in ``call_args`` order, and its plain kwargs."""
    names = type(spec).call_args if spec is not None else ("inputs",)
    bound = dict(zip(names, args, strict=False))
    plain: dict[str, Any] = {}
    for k, v in kwargs.items():
        if k in names:
            bound[k] = v
        elif not _holds_tensor(v):
            plain[k] = to_native(v, [])
    tensors: list[Tensor] = []
    for n in names:
        if n in bound:
            tensors.extend(flatten_tensors(bound[n], strict=False) or [])
    for a in args[len(names):]:
        tensors.extend(flatten_tensors(a, strict=False) or [])
    return tensors, plain


def _holds_tensor(v: Any) -> bool:
    if isinstance(v, Tensor):
        return True
    if isinstance(v, (list, tuple)):
        return any(_holds_tensor(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_tensor(x) for x in v.values())
    return False


def flatten_tensors(value: Any, strict: bool = True) -> list[Tensor] | None:
    """The tensors of a structure (Keras's ``tree.flatten``: dicts by sorted key).

    None when ``strict`` and something in it is not a tensor.
    """
    out: list[Tensor] = []

    def walk(v: Any) -> bool:
        if isinstance(v, Tensor):
            out.append(v)
            return True
        if isinstance(v, (list, tuple)):
            return all([walk(x) for x in v])
        if isinstance(v, dict):
            try:
                keys = sorted(v)
            except TypeError:
                keys = list(v)
            return all([walk(v[k]) for k in keys])
        return not strict

    ok = walk(value)
    return out if ok else None


def restructure(template: Any, flat: list[Tensor]) -> Any:
    """Flat outputs in the structure of ``template`` (the model's outputs)."""
    it = iter(flat)

    def build(t: Any) -> Any:
        if isinstance(t, Tensor):
            return next(it, Tensor(None, None))
        if isinstance(t, list):
            return [build(x) for x in t]
        if isinstance(t, tuple):
            return tuple(build(x) for x in t)
        if isinstance(t, dict):
            try:
                keys = sorted(t)
            except TypeError:
                keys = list(t)
            built = {k: build(t[k]) for k in keys}
            return {k: built[k] for k in t}
        return t

    return build(template)


def tensor_op(session: LayerSession, op: str, operands: list[Any], span: Span | None,
              scope: tuple[str, ...]) -> Any:
    """Arithmetic on Keras tensors (``x + 3.0``, ``a * b``), with broadcasting."""
    tensors, constants = split_operands(operands)
    return tensor_op_node(session, ElementwiseOp(op=op, constants=constants), tensors, span,
                          scope)


BUILD_TIME_LAYERS: dict[str, tuple[str, ...]] = {
    "MultiHeadAttention": ("Dropout", "Softmax"),
}
"""Unnamed layers a layer creates when it is built: they take automatic names (so a
later ``Dropout()`` of the program is ``dropout_1``, as in Keras)."""


def tensor_op_node(session: LayerSession, spec: OpSpec, tensors: list[Tensor], span: Span | None,
                   scope: tuple[str, ...]) -> Tensor:
    """A Keras operation on tensors that is not a layer: a hidden node named as Keras
    names the operation. Inside a custom layer's ``call`` (``session.detached``) only
    the output type is computed, as Keras traces ``call`` without recording it."""
    return tensor_op_outputs(session, spec, tensors, span, scope)[0]


def tensor_op_outputs(session: LayerSession, spec: OpSpec, tensors: list[Tensor],
                      span: Span | None, scope: tuple[str, ...]) -> tuple[Tensor, ...]:
    """Every output of a tensor operation (see :func:`tensor_op_node`); an output whose
    type cannot be derived is a tensor of unknown type. On constants only, Keras
    computes the operation at once: its outputs are constants, not graph tensors."""
    if all(t.constant is not None for t in tensors):
        return constant_outputs(spec, tensors)
    pending = [t for t in tensors if t.pending is not None]
    n = spec.num_outputs()
    types: tuple[TensorType | None, ...] = (None,) * n
    if pending:
        known = [x.type for x in tensors if x.type is not None]
        if known:
            raise RankChoice(pending[0].pending, known[0].rank)  # type: ignore[arg-type]
    elif all(x.type is not None for x in tensors):
        try:
            types = tuple(spec.infer([x.type for x in tensors], InferContext()))  # type: ignore[misc]
        except Exception:  # the rule rejects the operands: the output stays unknown
            types = (None,) * n
    if session.detached:
        douts = tuple(Tensor(t, None, i) for i, t in enumerate(types))
        op_called = getattr(session.tracer, "op_called", None)
        if op_called is not None and all(t is not None for t in types) and all(
                x.type is not None for x in tensors):
            op_called(spec, tensors, douts)
        return douts
    name = session.auto_name(spec.op_class)
    layer = Layer(name, spec.op_class, spec, {"name": name}, span, hidden=True, scope=scope)
    node = session._node(layer, tuple(tensors), span, {})
    outs = tuple(Tensor(t, node, i, pending[0].pending if pending else None)
                 for i, t in enumerate(types))
    node.outputs = outs
    return outs


def _creation_order(t: Tensor) -> int:
    return t.node.seq if t.node is not None else -1
