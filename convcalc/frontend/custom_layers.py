"""Layers whose behaviour is code of the analysed program: subclasses of
``keras.layers.Layer`` and ``Lambda`` layers.

Such a layer is one node of the model graph. Its shape rule interprets the class's own
``build(input_shape)`` (``add_weight`` creates its weights) and ``call(inputs)`` on
symbolic tensors, as Keras traces ``call`` without recording what happens inside:
layers called there are built (their weights count as the custom layer's) but are not
nodes of the model, and tensor operations there are not named. Interpreting again
for other input types (``--input-shape``) is done on demand.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcalc import dims, rules
from convcalc.dims import Dim
from convcalc.formulas import evaluate, summed
from convcalc.frontend.building import (
    INPUT_DECLARATIONS,
    declared_input_shape,
    flatten_tensors,
    restructure,
    split_call,
    tensor_op_node,
    to_native,
)
from convcalc.frontend.objects import KerasError, LayerObj, snake_case
from convcalc.frontend.op_forwards import constant_array
from convcalc.frontend.scopes import BudgetExceeded, UserException
from convcalc.frontend.tensor_ops import Constant, ElementwiseOp
from convcalc.frontend.values import (
    Args,
    Builtin,
    ClassObj,
    Function,
    Instance,
    Kwargs,
    SymInt,
    Tensor,
    Unknown,
    Variable,
    as_dim,
    make_int,
)
from convcalc.graph import Layer
from convcalc.layers.base import InferContext, LayerSpec, ShapeError
from convcalc.layers.model import ModelSpec
from convcalc.rules import SHAPE_UNKNOWN
from convcalc.types import Initializer, Span, TensorType, WeightSpec

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter
    from convcalc.layers.base import Array



@dataclass(frozen=True, slots=True)
class CallOutput:
    """Output ``index`` of the trace's call number ``call``."""

    call: int
    index: int


@dataclass(frozen=True, slots=True)
class LayerInput:
    """Input ``index`` of the custom layer."""

    index: int


@dataclass(frozen=True, slots=True)
class OwnWeight:
    """The custom layer's own weight number ``index`` (``add_weight``)."""

    index: int


Source = CallOutput | LayerInput | OwnWeight | Constant
"""Where a tensor in a custom layer's ``call`` comes from."""


@dataclass(frozen=True, slots=True)
class SubCall:
    """One call of a layer (or, with ``op``, of a tensor operation) inside a custom
    layer's ``call``; ``weights`` on a layer's first call. ``sources`` tells, per input,
    where it comes from (None: a value convcalc cannot follow); ``kwargs`` are the
    call's plain arguments."""

    layer: Layer
    inputs: tuple[TensorType, ...]
    outputs: tuple[TensorType, ...]
    weights: tuple[WeightSpec, ...] | None
    macs: Dim | None
    flops: Dim | None
    sources: tuple[Source | None, ...] = ()
    op: bool = False
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Trace:
    """What one interpretation of a custom layer's build + call produced."""

    outputs: tuple[TensorType | None, ...]
    weights: list[WeightSpec]
    macs: list[Dim]
    flops: list[Dim]
    error: str | None = None
    calls: list[SubCall] = field(default_factory=list)
    output_sources: tuple[Source | None, ...] = ()


BUILT = "__built__"
"""The key marking, in a custom layer's attributes, that its ``build`` has run."""


class Runner:
    """Interprets one custom layer for given input types (cached per input types)."""

    def __init__(self, it: Interpreter, inst: Instance | None, fn: Any, template: Any,
                 kwargs: Kwargs, name: str) -> None:
        self.it = it
        self.inst = inst
        self.fn = fn
        self.template = template
        self.kwargs = kwargs
        self.name = name
        self.cache: dict[tuple[TensorType, ...], _Trace] = {}
        self.own: list[WeightSpec] = []
        self.subs: list[tuple[str, tuple[WeightSpec, ...]]] = []
        self.calls: list[SubCall] = []
        self.built_layers: set[int] = set()
        self.macs: list[Dim] = []
        self.flops: list[Dim] = []
        self.sources: dict[int, tuple[Tensor, Source]] = {}
        """Per tensor of the trace (by id, kept alive with it), where it comes from."""
        self.weight_names: dict[int, str] = {}

    def trace(self, types: Sequence[TensorType]) -> _Trace:
        key = tuple(types)
        if key in self.cache:
            return self.cache[key]
        result = self._run(types)
        self.cache[key] = result
        return result

    def _run(self, types: Sequence[TensorType]) -> _Trace:
        it = self.it
        session = it.session
        tensors = [Tensor(t, None) for t in types]
        inputs = restructure(self.template, tensors)
        saved = (session.detached, session.tracer)
        session.detached, session.tracer = True, self
        self.own, self.subs, self.built_layers, self.calls = [], [], set(), []
        self.macs, self.flops = [], []
        self.sources = {id(t): (t, LayerInput(i)) for i, t in enumerate(tensors)}
        error: str | None = None
        out: Any = None
        try:
            if self.inst is not None:
                self._build(inputs)
                found, call = self.inst.cls.lookup("call")
                if not found:
                    raise ShapeError(SHAPE_UNKNOWN, f"{self.name} has no call() method")
                out = it.call(it.bind(call, self.inst), [inputs], dict(self.kwargs), None)
            else:
                out = it.call(self.fn, [inputs], dict(self.kwargs), None)
        except UserException as e:
            error = f"{e.exc.class_name}: {e.exc.message()}"
        except ShapeError as e:
            error = e.message
        except BudgetExceeded as e:
            error = f"interpreting it stopped: {e.message}"
        except (KerasError, RecursionError) as e:
            error = str(e)
        finally:
            session.detached, session.tracer = saved
        flat = flatten_tensors(out, strict=False) or []
        if error is None and not flat:
            error = "its call() does not return a tensor convcalc can follow"
        outs = tuple(t.type for t in flat) if flat else (None,)
        if error is None and any(t is None for t in outs):
            error = "its call() uses operations convcalc cannot follow"
        weights = list(self.own)
        for prefix, ws in self.subs:
            weights.extend(w._replace(name=f"{prefix}/{w.name}") for w in ws)
        return _Trace(outs, weights, list(self.macs), list(self.flops), error, list(self.calls),
                      tuple(self._source(t) for t in flat))

    def _build(self, inputs: Any) -> None:
        assert self.inst is not None
        it = self.it
        found, build = self.inst.cls.lookup("build")
        if not found:
            return
        flat = flatten_tensors(inputs, strict=False) or []
        as_shapes = [_shape_value(t.type) for t in flat]
        shapes: Any = (as_shapes[0] if isinstance(inputs, Tensor)
                       else _replace_tensors(inputs, as_shapes))
        it.call(it.bind(build, self.inst), [shapes], {}, None)
        if self.inst.layer is not None:
            self.inst.layer.attrs[BUILT] = True

    # hooks called by the session while tracing
    def _source(self, t: Tensor) -> Source | None:
        entry = self.sources.get(id(t))
        if entry is not None and entry[0] is t:
            return entry[1]
        return t.constant

    def _record(self, layer: Layer, ins: Sequence[Tensor], outs: Sequence[Tensor],
                weights: Sequence[WeightSpec] | None, macs: Dim | None, flops: Dim | None,
                op: bool = False, kwargs: Mapping[str, Any] | None = None) -> None:
        first = not op and id(layer) not in self.built_layers
        if first:  # a layer's weights are built by its first call
            self.built_layers.add(id(layer))
            self.subs.append((layer.name, tuple(weights or ())))
        if macs is not None:
            self.macs.append(macs)
        if flops is not None:
            self.flops.append(flops)
        index = len(self.calls)
        self.calls.append(SubCall(
            layer, tuple(t.type for t in ins if t.type is not None),
            tuple(t.type for t in outs if t.type is not None),
            tuple(weights or ()) if first else None, macs, flops,
            tuple(self._source(t) for t in ins), op, dict(kwargs or {})))
        for i, t in enumerate(outs):
            self.sources[id(t)] = (t, CallOutput(index, i))

    def layer_called(self, layer: Layer, ins: Sequence[Tensor], outs: Sequence[Tensor],
                     kwargs: Mapping[str, Any] | None = None) -> None:
        """A layer called in ``call``: its weights count as the custom layer's."""
        spec = layer.spec
        if spec is None:
            return
        tin = [t.type for t in ins if t.type is not None]
        tout = [t.type for t in outs if t.type is not None]
        try:
            weights = spec.weights(tin) if id(layer) not in self.built_layers else ()
            macs, flops = spec.macs(tin, tout), spec.flops(tin, tout)
        except Exception:
            return
        self._record(layer, ins, outs, weights, macs, flops, kwargs=kwargs)

    def sub_weights(self, layer: Layer, spec: LayerSpec, ins: Sequence[Tensor],
                    outs: Sequence[Tensor], kwargs: Mapping[str, Any] | None = None) -> None:
        """A layer or model called in ``call`` outside the session's layer calls."""
        tin = [t.type for t in ins if t.type is not None]
        if isinstance(spec, ModelSpec):
            self._model_call(layer, spec, ins, outs)
            return
        try:
            tout = spec.infer(tin, InferContext())
            weights = spec.weights(tin) if id(layer) not in self.built_layers else ()
            macs, flops = spec.macs(tin, tout), spec.flops(tin, tout)
        except Exception:
            return
        self._record(layer, ins, outs, weights, macs, flops, kwargs=kwargs)

    def _model_call(self, layer: Layer, spec: ModelSpec, ins: Sequence[Tensor],
                    outs: Sequence[Tensor]) -> None:
        """The weights and cost of a model called in ``call``, from its own graph."""
        from convcalc.propagate import propagate

        graph = spec.graph
        if len(ins) != len(graph.inputs):
            return
        types = [t.type for t in ins]
        inner = propagate(graph, dict(zip(graph.inputs, types, strict=True)))  # type: ignore[arg-type]
        weights: list[WeightSpec] = []
        macs: list[Dim] = []
        flops: list[Dim] = []
        for lr in inner.layers.values():
            weights.extend(w._replace(name=f"{lr.layer.name}/{w.name}",
                                      trainable=w.trainable and lr.layer.trainable)
                           for w in lr.weights or ())
            macs.extend(cr.macs for cr in lr.calls if cr.macs is not None)
            flops.extend(cr.flops for cr in lr.calls if cr.flops is not None)
        self._record(layer, ins, outs, weights, dims.total(macs), dims.total(flops))

    def op_called(self, spec: LayerSpec, ins: Sequence[Tensor],
                  outs: Sequence[Tensor]) -> None:
        """A tensor operation in ``call`` (``ops.matmul``): its MACs and FLOPs count."""
        tin = [t.type for t in ins if t.type is not None]
        tout = [t.type for t in outs if t.type is not None]
        try:
            macs, flops = spec.macs(tin, tout), spec.flops(tin, tout)
        except Exception:
            return
        kind = getattr(spec, "op_class", spec.class_name)
        name = snake_case(kind)
        self._record(Layer(name, kind, spec, {"name": name}, hidden=True), ins, outs, None,
                     macs, flops, op=True)

    def weight_name(self) -> str:
        """Keras's name for the next unnamed weight: ``variable``, ``variable_1``... from
        a session-wide counter, taken once per weight however often it is traced."""
        index = len(self.own)
        if index not in self.weight_names:
            self.weight_names[index] = self.it.session.uniquify("variable")
        return self.weight_names[index]

    def add_weight(self, w: WeightSpec, tensor: Tensor) -> None:
        """A weight of the layer's own (``add_weight``), read in ``call`` as ``tensor``."""
        self.sources[id(tensor)] = (tensor, OwnWeight(len(self.own)))
        self.own.append(w)


def _shape_value(t: TensorType | None) -> Any:
    if t is None:
        return Unknown("an input shape")
    return tuple(None if d == dims.BATCH else make_int(d) for d in t.shape)


def _replace_tensors(value: Any, shapes: list[Any]) -> Any:
    it_shapes = iter(shapes)

    def walk(v: Any) -> Any:
        if isinstance(v, Tensor):
            return next(it_shapes)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return walk(value)


class InterpretedLayer(LayerSpec):
    """A layer whose shapes and weights come from interpreting its Python code."""

    class_name = "CustomLayer"
    family = "custom"
    pure = False

    runner: Runner
    n_outputs: int = 1

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        return self.n_outputs

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """The outputs of the interpreted ``call``."""
        trace = self.runner.trace(inputs)
        if trace.error is not None or any(t is None for t in trace.outputs):
            raise ShapeError(SHAPE_UNKNOWN, f"{self.runner.name}: {trace.error}",
                             "Give the layer a compute_output_shape, or use built-in layers.")
        return tuple(t for t in trace.outputs if t is not None)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        return tuple(self.runner.trace(inputs).weights)

    def sublayer_calls(self, inputs: Sequence[TensorType]) -> list[SubCall]:
        """The calls of layers inside its ``call`` for these inputs, in order."""
        return [c for c in self.runner.trace(inputs).calls if not c.op]

    def inner_calls(self, inputs: Sequence[TensorType]
                    ) -> tuple[list[SubCall], tuple[Source | None, ...]]:
        """Every layer and operation call inside its ``call`` for these inputs, in order
        (``Source.call`` indexes this list), and where each of its outputs comes from."""
        trace = self.runner.trace(inputs)
        return list(trace.calls), trace.output_sources

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """The MACs of the layers its call() uses"""
        return evaluate(summed("sub-layer MACs", (m for m in self.runner.trace(inputs).macs
                                                  if m != 0)))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """The FLOPs of the layers its call() uses"""
        return dims.total(self.runner.trace(inputs).flops)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Its ``call`` replayed on arrays: the layer and operation calls its code made
        when interpreted on inputs of these shapes, each by its own forward, tensors
        passed as the code passes them. ``weights`` are its own weights, then each
        sub-layer's (as :meth:`weights` lists them)."""
        types = [TensorType(tuple(x.shape), x.dtype.name) for x in inputs]
        trace = self.runner.trace(types)
        if trace.error is not None:
            raise NotImplementedError(f"{self.runner.name}: {trace.error}")
        firsts = [c for c in trace.calls if c.weights is not None]
        own = len(weights) - sum(len(c.weights or ()) for c in firsts)
        if own < 0:
            raise ValueError(f"{self.runner.name} has more weights than the "
                             f"{len(weights)} given")
        per_layer: dict[int, Sequence[Array]] = {}
        pos = own
        for c in firsts:
            per_layer[id(c.layer)] = weights[pos:pos + len(c.weights or ())]
            pos += len(c.weights or ())
        values: list[tuple[Array, ...]] = []

        def value(src: Source | None) -> Array:
            if src is None:
                raise NotImplementedError(
                    f"{self.runner.name}: its call() reads a value convcalc cannot follow")
            if isinstance(src, Constant):
                return constant_array(src)
            if isinstance(src, OwnWeight):
                return weights[src.index]
            if isinstance(src, LayerInput):
                return inputs[src.index]
            return values[src.call][src.index]

        for c in trace.calls:
            spec = c.layer.spec
            ins = [value(s) for s in c.sources]
            if spec is None:
                raise NotImplementedError(f"{c.layer.name} ({c.layer.class_name}) is unknown")
            if isinstance(spec, ModelSpec):
                from convcalc.executor import forward_model

                try:
                    outs = forward_model(spec, ins, per_layer.get(id(c.layer), ()))
                except ValueError as e:
                    raise NotImplementedError(str(e)) from None
            else:
                outs = spec.forward(ins, per_layer.get(id(c.layer), ()), c.kwargs)
            values.append(tuple(outs))
        return tuple(value(s) for s in trace.output_sources)


# ------------------------------------------------------------ construction
def new_custom_layer(it: Interpreter, cls: ClassObj, args: Args, kwargs: Kwargs,
                     node: ast.AST | None) -> Instance:
    """Instantiate a subclass of ``keras.layers.Layer``: run its ``__init__``."""
    inst = Instance(cls)
    it.session.custom_sites[id(inst)] = (it.span(node), tuple(it.scope))
    found, init = cls.lookup("__init__")
    if found:
        it.call(it.bind(init, inst), args, kwargs, node)
    else:
        _keras_layer_init(it, [inst, *args], kwargs, node)
    if inst.layer is None:
        _keras_layer_init(it, [inst], {}, node)
    return inst


def _keras_layer_init(it: Interpreter, args: Args, kwargs: Kwargs,
                      node: ast.AST | None) -> None:
    """``keras.layers.Layer.__init__(name=, trainable=, dtype=, input_shape=...)``."""
    inst = args[0]
    if not isinstance(inst, Instance) or inst.layer is not None:
        return
    session = it.session
    span, scope = session.custom_sites.get(id(inst), (it.span(node), tuple(it.scope)))
    name = kwargs.get("name")
    lname = name if isinstance(name, str) else session.auto_name(inst.cls.name)
    layer = Layer(lname, inst.cls.name, None, {"name": lname}, span, scope=scope)
    if kwargs.get("trainable") is False:
        layer.trainable = False
    dtype = to_native(kwargs.get("dtype"), [])
    if isinstance(dtype, str):
        layer.dtype = dtype
    declared: dict[str, Any] = {k: kwargs[k] for k in INPUT_DECLARATIONS if k in kwargs}
    obj = LayerObj(layer, declared_input_shape(declared), instance=inst)
    inst.layer = obj
    session.owners[id(layer)] = obj


def keras_layer_base_attr(it: Interpreter, inst: Any, name: str,
                          node: ast.AST | None) -> Any:
    """Members a custom layer inherits from ``keras.layers.Layer``."""
    if not isinstance(inst, Instance):
        return Unknown(f"Layer.{name}", name)
    is_model = inst.cls.keras_base == "Model"
    if name == "__init__":
        if is_model and inst.layer is None and not any(
                "call" in c.namespace for c in inst.cls.mro()):
            return Builtin("Model.__init__", _functional_init).bind(inst)
        return Builtin("Layer.__init__", _keras_layer_init).bind(inst)
    model = it.session.model_of(inst) if is_model else None
    if model is not None and inst.layer is None:  # a Functional subclass
        from convcalc.frontend.keras_api import model_attr

        return model_attr(it, model, name, node)
    if is_model and name == "build":
        return Builtin("Model.build", _build_model).bind(inst)
    if is_model and name in _DATA_METHODS:
        return Builtin(f"Model.{name}", lambda it2, a, k, n: _data_method(
            it2, a, k, n, name)).bind(inst)
    if is_model and name in _MODEL_METHODS:
        return Builtin(f"Model.{name}", lambda it2, a, k, n: None)
    if model is not None and name in ("layers", "get_layer"):
        from convcalc.frontend.keras_api import model_attr

        return model_attr(it, model, name, node)
    if name in ("add_weight", "add_variable"):
        return Builtin("add_weight", _add_weight).bind(inst)
    if name in ("build", "compute_output_shape", "get_config"):
        if name == "get_config":
            return Builtin("get_config", lambda it2, a, k, n: dict(
                inst.layer.layer.config) if inst.layer else {}).bind(inst)
        return Builtin(name, lambda it2, a, k, n: None).bind(inst)
    if name == "call":
        return Builtin("call", lambda it2, a, k, n: a[1] if len(a) > 1 else None).bind(inst)
    obj = inst.layer
    if obj is not None:
        if name == "name":
            return obj.layer.name
        if name == "trainable":
            return obj.layer.trainable
        if name in ("dtype", "compute_dtype", "variable_dtype"):
            return obj.layer.dtype
        if name in ("output", "input"):
            from convcalc.frontend.keras_api import layer_attr

            return layer_attr(it, obj, name, node)
        if name == "built":
            return bool(obj.nodes)
    return Unknown(f"{inst.cls.name}.{name}", name)


_MODEL_METHODS = frozenset({
    "compile", "fit", "evaluate", "predict", "summary", "save", "save_weights",
    "load_weights", "build", "train_on_batch", "test_on_batch", "predict_on_batch"})
"""``keras.Model`` methods a subclass inherits; their effects are not modelled."""

_DATA_METHODS = frozenset({
    "fit", "evaluate", "predict", "train_on_batch", "test_on_batch", "predict_on_batch"})
"""``keras.Model`` methods whose data builds a subclassed model with its own ``call``."""


def _functional_init(it: Interpreter, args: Args, kwargs: Kwargs,
                     node: ast.AST | None) -> None:
    """``keras.Model.__init__`` in a subclass without ``call``: with ``inputs`` and
    ``outputs`` it is a Functional of that class; without, it only wraps other models."""
    inst = args[0]
    bound = dict(zip(("inputs", "outputs"), args[1:], strict=False))
    bound.update(kwargs)
    inputs = bound.get("inputs", bound.get("input"))
    outputs = bound.get("outputs", bound.get("output"))
    session = it.session
    if not isinstance(inst, Instance) or inputs is None or outputs is None or \
            session.model_of(inst) is not None:
        return
    span, scope = session.custom_sites.get(id(inst), (it.span(node), tuple(it.scope)))
    session.functional_subclass(inst, inputs, outputs, bound.get("name"), span, scope,
                                bound.get("trainable", True))


def _build_model(it: Interpreter, args: Args, kwargs: Kwargs, node: ast.AST | None) -> None:
    """``model.build(input_shape)`` of a subclass with its own ``call``.

    Keras 3 runs neither ``call`` nor the sub-layers' ``build`` here unless the class
    defines ``build`` (they are built on the first call); the model reported is the one
    that first call makes, as ``tf.keras`` builds it here.
    """
    inst = args[0]
    shape = args[1] if len(args) > 1 else kwargs.get("input_shape")
    session = it.session
    if not isinstance(inst, Instance) or inst.layer is None or id(inst) in session.tracing:
        return
    if session.model_of(inst) is not None or not isinstance(shape, (tuple, list, dict)):
        return
    _build_now(it, inst, shape, [], {})


def _data_method(it: Interpreter, args: Args, kwargs: Kwargs, node: ast.AST | None,
                 method: str) -> Any:
    """``fit`` / ``predict``... of a subclass with its own ``call``: data of a known shape
    builds it (the batch size is left free)."""
    inst = args[0]
    data = args[1] if len(args) > 1 else kwargs.get("x")
    if isinstance(inst, Instance) and inst.layer is not None and \
            it.session.model_of(inst) is None:
        flat = flatten_tensors(data, strict=True) or []
        if flat and all(t.type is not None for t in flat):
            shapes = _replace_tensors(data, [_data_shape(t.type) for t in flat])  # type: ignore[arg-type]
            _build_now(it, inst, shapes, [t.type.dtype for t in flat], {})  # type: ignore[union-attr]
    return Unknown(f"{inst.cls.name}.{method}(...)" if isinstance(inst, Instance)
                   else f"{method}(...)")


def _data_shape(t: TensorType) -> Any:
    return (None, *_shape_value(t)[1:])


def _build_now(it: Interpreter, inst: Instance, shapes: Any, dtypes: list[str | None],
               kwargs: Kwargs) -> None:
    session = it.session
    model = session.subclassed_model(it, inst, shapes, dtypes, kwargs, nested=session.detached)
    with contextlib.suppress(KerasError):  # reported with the models, not traced again
        session.model_graph(model)


def custom_layer_setattr(it: Interpreter, inst: Instance, name: str, value: Any) -> None:
    if inst.layer is not None and name == "trainable" and isinstance(value, bool):
        inst.layer.layer.trainable = value


def _add_weight(it: Interpreter, args: Args, kwargs: Kwargs, node: ast.AST | None) -> Any:
    """``self.add_weight(shape, initializer, dtype, trainable, ..., name)`` (Keras 3
    order; Keras 2's ``add_weight(name, shape, ...)`` too)."""
    rest = args[1:]
    order = ("name", "shape", "dtype", "initializer") if rest and isinstance(rest[0], str) else (
        "shape", "initializer", "dtype", "trainable")
    bound = dict(zip(order, rest, strict=False))
    bound.update(kwargs)
    shape = bound.get("shape")
    if shape is None:
        shape = ()
    if not isinstance(shape, (tuple, list)):
        shape = (shape,)
    sizes: list[Dim] = []
    for d in shape:
        dim = as_dim(d)
        if dim is None:
            return Unknown("a weight of unknown shape")
        sizes.append(dim)
    name = bound.get("name")
    tracer = it.session.tracer
    wname = name if isinstance(name, str) else (
        tracer.weight_name() if isinstance(tracer, Runner) else it.session.uniquify("variable"))
    trainable = bound.get("trainable", True)
    init = to_native(bound.get("initializer"), [])
    initializer = Initializer(init) if isinstance(init, str) else (
        Initializer(str(init["class_name"])) if isinstance(init, dict) and "class_name" in init
        else None)
    weight = WeightSpec(wname, tuple(sizes), trainable is not False, initializer)
    variable = Variable(tuple(sizes), wname, trainable is not False,
                        Tensor(TensorType(tuple(sizes)), None))
    if isinstance(tracer, Runner):
        tracer.add_weight(weight, variable.tensor)
    return variable


# ------------------------------------------------------------------- calls
def call_custom_layer(it: Interpreter, inst: Instance, args: Args, kwargs: Kwargs,
                      span: Span | None) -> Any:
    """Calling a custom layer on tensors: one node of the graph."""
    obj = inst.layer
    assert obj is not None
    if not args:
        return Unknown(f"{obj.name}()")
    template = args[0]
    plain = {k: v for k, v in kwargs.items() if not isinstance(v, Tensor)}
    runner = Runner(it, inst, None, template, plain, obj.name)
    if obj.layer.spec is None:
        obj.layer.spec = InterpretedLayer(runner=runner)
    if inst.cls.keras_base != "Model" or it.session.detached:
        return _call_interpreted(it, obj, runner, template, kwargs, span)
    return _call_model(it, inst, runner, template, kwargs, plain, span)


def _call_model(it: Interpreter, inst: Instance, runner: Runner, template: Any,
                kwargs: Kwargs, plain: Kwargs, span: Span | None) -> Any:
    """A subclass of ``keras.Model`` with its own ``call`` called outside a model's
    code: on data it is built (and returns the result's shape); on Keras tensors it is a
    layer, and a model of its own unless another model takes it in."""
    session = it.session
    tensors, _ = split_call(None, (template,), {})
    known = bool(tensors) and all(t.type is not None for t in tensors)
    data = known and all(t.node is None for t in tensors)
    types = [t.type for t in tensors if t.type is not None]
    first = known and session.model_of(inst) is None
    if first:
        shapes = [(_data_shape if data else _shape_value)(t) for t in types]
        dtypes: list[str | None] = [t.dtype for t in types]
        value = _replace_tensors(template, shapes)
        if data:
            _build_now(it, inst, value, dtypes, plain)
        else:
            session.subclassed_model(it, inst, value, dtypes, plain)
    if not data:
        if not tensors:
            it.report(rules.UNKNOWN_VALUE, f"{inst.cls.name} is called on data of unknown "
                      "shape: it is not built (call it on keras.Input, or build() it)",
                      span, layer=inst.layer.name if inst.layer else None)
        obj = inst.layer
        assert obj is not None
        return _call_interpreted(it, obj, runner, template, kwargs, span)
    model = session.model_of(inst)
    if first and model is not None and model.outputs is not None:  # built just now
        flat = flatten_tensors(model.outputs, strict=False) or []
        return restructure(model.outputs, [Tensor(t.type, None) for t in flat])
    trace = runner.trace(types)
    outs = [Tensor(t, None) for t in trace.outputs]
    return outs[0] if len(outs) == 1 else outs


def _call_interpreted(it: Interpreter, obj: LayerObj, runner: Runner, template: Any,
                      kwargs: Kwargs, span: Span | None) -> Any:
    session = it.session
    tensors, plain = split_call(None, (template,), {})
    if not tensors:
        return Unknown(f"{obj.name}(...) on a value that is not a Keras tensor")
    spec = obj.layer.spec
    assert isinstance(spec, InterpretedLayer)
    if any(t.pending is not None for t in tensors):
        from convcalc.frontend.objects import RankChoice

        known = [t.type for t in tensors if t.type is not None]
        raise RankChoice(tensors[0].pending, known[0].rank if known else 4)  # type: ignore[arg-type]
    types: tuple[TensorType | None, ...] = (None,)
    if all(t.type is not None for t in tensors):
        trace = runner.trace([t.type for t in tensors])  # type: ignore[misc]
        types = trace.outputs
        if trace.error is not None:
            it.report(rules.SHAPE_UNKNOWN, f"{obj.name} ({obj.layer.class_name}): cannot "
                      f"follow its code: {trace.error}", span, layer=obj.name)
    if session.detached:
        outs = [Tensor(t, None) for t in types]
        tracer = session.tracer
        if isinstance(tracer, Runner) and all(t is not None for t in types) and all(
                t.type is not None for t in tensors):
            tracer.sub_weights(obj.layer, spec, tensors, outs)
        return outs[0] if len(outs) == 1 else outs
    node_ = session._node(obj.layer, tuple(tensors), span, plain)
    outs = [Tensor(t, node_, i) for i, t in enumerate(types)]
    node_.outputs = tuple(outs)
    obj.nodes.append(node_)
    return outs[0] if len(outs) == 1 else outs


def new_lambda_layer(it: Interpreter, args: Args, kwargs: Kwargs,
                     node: ast.AST | None) -> LayerObj:
    """``Lambda(function, output_shape=None, mask=None, arguments=None, name=...)``."""
    session = it.session
    bound = dict(zip(("function", "output_shape", "mask", "arguments"), args, strict=False))
    bound.update(kwargs)
    fn = bound.get("function")
    name = bound.get("name")
    lname = name if isinstance(name, str) else session.auto_name("Lambda")
    layer = Layer(lname, "Lambda", None, {"name": lname}, it.span(node), scope=tuple(it.scope))
    declared: dict[str, Any] = {k: bound[k] for k in INPUT_DECLARATIONS if k in bound}
    obj = LayerObj(layer, declared_input_shape(declared))
    session.owners[id(layer)] = obj
    extra = bound.get("arguments")
    obj.attrs["__lambda__"] = (fn, extra if isinstance(extra, dict) else {})
    if not isinstance(fn, (Function, Builtin)):
        it.report(rules.SHAPE_UNKNOWN, f"{lname} (Lambda): its function is not code convcalc "
                  "can read", node=node, layer=lname)
    return obj


def call_lambda_layer(it: Interpreter, obj: LayerObj, args: Args, kwargs: Kwargs,
                      span: Span | None) -> Any:
    fn, extra = obj.attrs["__lambda__"]
    if not args:
        return Unknown(f"{obj.name}()")
    template = args[0]
    if obj.layer.spec is None:
        runner = Runner(it, None, fn, template, dict(extra), obj.name)
        obj.layer.spec = InterpretedLayer(runner=runner)
    spec = obj.layer.spec
    assert isinstance(spec, InterpretedLayer)
    return _call_interpreted(it, obj, spec.runner, template, kwargs, span)


def variable_arith(it: Interpreter, op: str, operands: list[Any], node: ast.AST) -> Any:
    """Arithmetic between tensors and a custom layer's weights (``x * self.gamma``)."""
    tensors: list[Tensor] = []
    for x in operands:
        if isinstance(x, Variable):
            tensors.append(x.tensor)
        elif isinstance(x, Tensor):
            tensors.append(x)
        elif not isinstance(x, (int, float, bool, SymInt)):
            return Unknown(it.text(node), None, node)
    return tensor_op_node(it.session, ElementwiseOp(op=op), tensors, it.span(node),
                          tuple(it.scope))
