"""Models: Keras's Functional and Sequential behaviour replayed on recorded calls.

A functional model is the graph walked back from its outputs to its inputs, with its
layers in ``model.layers`` order (by depth from the outputs, then by first visit, as
Keras's ``map_graph``); layers created but never connected are not in it. A
Sequential model is rebuilt on each ``add`` once it has an input, as Keras 3 does
(each rebuild makes, and names, a Functional).

A subclass of ``keras.Model`` is a model too: one calling ``super().__init__(inputs,
outputs)`` is a Functional of its class; one with its own ``call`` has no graph in
Keras, and its graph here is what that ``call`` does once interpreted on inputs of the
shapes it is built with (``build``, a call on tensors or data), every layer call
recorded. Such a model is reported unless it is used as a layer of another model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.frontend.building import (
    LayerSession,
    flatten_tensors,
    restructure,
    split_call,
    to_native,
)
from convcalc.frontend.objects import KerasError, LayerObj, ModelObj, RankChoice, snake_case
from convcalc.frontend.scopes import BudgetExceeded, UserException
from convcalc.frontend.values import Instance, Node, SymInt, Tensor, Unknown
from convcalc.graph import Layer, LayerGraph, TensorRef
from convcalc.layers.base import InferContext, ShapeError
from convcalc.layers.model import ModelSpec
from convcalc.types import Span, TensorType

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter

InputShapes = Any
"""Batch shapes as values (``(None, 32, 32, 3)``), in the structure of a call's inputs."""


class Session(LayerSession):
    """Keras's global state during one interpretation, with model building."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subclassed: dict[int, tuple[Instance, ModelObj]] = {}
        """Per ``keras.Model`` subclass instance (by id), the model it is."""
        self.traces: dict[int, Callable[[], LayerGraph]] = {}
        """Per subclassed model with a ``call`` (by id), how to make its graph."""
        self.tracing: set[int] = set()
        """Subclass instances whose ``build`` and ``call`` are being interpreted."""

    # ------------------------------------------------------------------ models
    def model_layer(self, model: ModelObj) -> Layer:
        """The model as a layer of another model (a nested model)."""
        if model.layer is None:
            graph = self.model_graph(model)
            model.layer = Layer(model.name, model.kind, ModelSpec(graph=graph),
                                {"name": model.name}, model.span, trainable=model.trainable,
                                scope=model.scope)
            self.owners[id(model.layer)] = model
        return model.layer

    def call_model(
        self,
        model: ModelObj,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        span: Span | None,
        scope: tuple[str, ...],
    ) -> Any:
        """A model called on tensors: one node of a nested-model layer."""
        inputs, _ = split_call(None, args[:1], {})
        if not inputs:
            return Unknown(f"{model.name}(...) on a value that is not a Keras tensor")
        if model.kind == "Sequential" and not model.chain:
            first = inputs[0]
            if first.pending is not None:
                raise RankChoice(first.pending, self._first_rank(model) or 2)
            if first.type is None:
                return Unknown(f"{model.name}(...) on a tensor of unknown shape")
            # built on its first call even inside a custom layer's call: its own graph
            # is recorded, only the call itself is traced
            saved = (self.detached, self.tracer)
            self.detached, self.tracer = False, None
            try:
                self.build_sequential(model, tuple(first.type.shape), span)
            finally:
                self.detached, self.tracer = saved
        model.nested = True
        layer = self.model_layer(model)
        spec = layer.spec
        assert isinstance(spec, ModelSpec)
        pending = [t for t in inputs if t.pending is not None]
        types: tuple[TensorType | None, ...] = (None,) * spec.num_outputs()
        if pending:
            self._decide(pending[0].pending, spec, inputs)  # type: ignore[arg-type]
        elif all(t.type is not None for t in inputs):
            try:
                types = tuple(spec.infer([t.type for t in inputs], InferContext()))  # type: ignore[misc]
            except Exception:
                types = (None,) * spec.num_outputs()
        if self.detached:  # inside a custom layer's call: traced, not recorded
            douts = [Tensor(t, None, i) for i, t in enumerate(types)]
            add_sub = getattr(self.tracer, "sub_weights", None)
            if add_sub is not None and all(t.type is not None for t in inputs):
                add_sub(layer, spec, inputs, douts)
            return restructure(model.outputs, douts) if model.kind != "Sequential" else douts[0]
        kw = {k: to_native(v, []) for k, v in kwargs.items() if k == "training"}
        node = self._node(layer, tuple(inputs), span, kw)
        outs = tuple(Tensor(t, node, i) for i, t in enumerate(types))
        node.outputs = outs
        return restructure(model.outputs, list(outs)) if model.kind != "Sequential" else outs[0]

    def _first_rank(self, model: ModelObj) -> int | None:
        for item in model.items[:1]:
            spec = item.layer.spec if isinstance(item, LayerObj) else None
            if spec is None:
                return None
            try:
                self._decide(-1, spec, [Tensor(None, None)])
            except RankChoice as c:
                return c.rank
        return None

    def functional(
        self,
        inputs: Any,
        outputs: Any,
        name: Any,
        span: Span | None,
        scope: tuple[str, ...],
        trainable: Any = True,
        kind: str = "Functional",
    ) -> ModelObj:
        """``keras.Model(inputs, outputs)``: the graph walked back from the outputs."""
        flat_in = flatten_tensors(inputs)
        flat_out = flatten_tensors(outputs)
        if flat_in is None or flat_out is None or not flat_out:
            raise KerasError("ValueError",
                             "Model(inputs, outputs) needs Keras tensors as inputs and outputs")
        self.decide_default(flat_in)
        mname = name if isinstance(name, str) else self.auto_name("Functional")
        graph = extract_graph(mname, kind, span, flat_in, flat_out)
        self._mark_nested(graph)
        model = ModelObj(kind, mname, span, scope, inputs=inputs, outputs=outputs,
                         graph=graph)
        if trainable is False:
            set_trainable(model, False, self)
        self.models.append(model)
        self.free_inputs = 0  # symbol suffixes tell apart the inputs of one model
        return model

    def sequential(
        self,
        items: Any,
        name: Any,
        span: Span | None,
        scope: tuple[str, ...],
        trainable: Any = True,
    ) -> ModelObj:
        """``keras.Sequential([...])``."""
        mname = name if isinstance(name, str) else self.auto_name("Sequential")
        model = ModelObj("Sequential", mname, span, scope)
        self.models.append(model)
        if isinstance(items, (list, tuple)):
            for item in items:
                self.sequential_add(model, item, span, rebuild=False)
            self.rebuild(model, span)
        elif items is not None and not isinstance(items, Unknown):
            raise KerasError("TypeError", "Sequential() takes a list of layers")
        if trainable is False:
            set_trainable(model, False, self)
        return model

    def sequential_add(self, model: ModelObj, item: Any, span: Span | None,
                       rebuild: bool = True) -> None:
        """``model.add(layer)``: Keras 3 rebuilds the model when it has an input."""
        if isinstance(item, Tensor) and item.node is not None and not item.node.inputs:
            owner = self.owners.get(id(item.node.layer))
            if isinstance(owner, LayerObj):
                item = owner
        if isinstance(item, Instance) and item.layer is not None:
            item = item.layer
        if not isinstance(item, (LayerObj, ModelObj)):
            raise KerasError("ValueError",
                             "only layers can be added to a Sequential model, got "
                             f"{type(item).__name__}")
        if isinstance(item, LayerObj) and item.layer.class_name == "InputLayer":
            if model.input_layer is not None or model.items:
                raise KerasError("ValueError",
                                 f"Sequential model {model.name} already has an input")
            model.input_layer = item
            item.layer.hidden = True
            return
        if (not model.items and model.input_layer is None and isinstance(item, LayerObj)
                and item.declared_input is not None):
            tensor = self.input_tensor(item.declared_input, item.layer.dtype,
                                       self.auto_name("InputLayer"), item.layer.span,
                                       item.layer.scope, hidden=True)
            owner = self.owners[id(tensor.node.layer)]  # type: ignore[union-attr]
            assert isinstance(owner, LayerObj)
            model.input_layer = owner
        model.items.append(item)
        if isinstance(item, ModelObj):
            item.nested = True
        if rebuild:
            self.rebuild(model, span)

    def rebuild(self, model: ModelObj, span: Span | None) -> None:
        """Keras's ``_maybe_rebuild``: with an input (or a first layer that is a built
        model), call every layer again; each rebuild makes (and names) a Functional."""
        if not model.items:
            return
        if model.input_layer is None:
            first = model.items[0]
            if (len(model.items) > 1 and isinstance(first, ModelObj) and first.built
                    and first.kind != "Sequential" and first.inputs is not None):
                ins = flatten_tensors(first.inputs) or []
                if len(ins) == 1 and ins[0].type is not None:
                    self.build_sequential(model, tuple(ins[0].type.shape), span)
            return
        self.uniquify("functional")
        self._chain(model)

    def build_sequential(self, model: ModelObj, batch_shape: tuple[Any, ...] | None,
                         span: Span | None) -> None:
        """``model.build(shape)`` or a first call: an InputLayer of that batch shape."""
        if model.input_layer is None:
            shape: Any = Unknown(f"the input of {model.name}") if batch_shape is None else (
                tuple(batch_shape))
            if isinstance(shape, tuple):
                shape = tuple(None if d == dims.BATCH else (
                    d if type(d) is int else SymInt(d)) for d in shape)
            tensor = self.input_tensor(shape, None, self.auto_name("InputLayer"),
                                       model.span, model.scope, hidden=True)
            owner = self.owners[id(tensor.node.layer)]  # type: ignore[union-attr]
            assert isinstance(owner, LayerObj)
            model.input_layer = owner
        self.uniquify("functional")
        self._chain(model)

    def _chain(self, model: ModelObj) -> None:
        assert model.input_layer is not None
        x = model.input_layer.nodes[0].outputs[0]
        chain = [x]
        for item in model.items:
            y = self.layer_caller(item, (x,), {}, _span_of(item), _scope_of(item))
            if isinstance(y, list):
                y = y[0] if y else Unknown("empty output")
            if not isinstance(y, Tensor):
                y = Tensor(None, None)
            chain.append(y)
            x = y
            inner = self.model_of(item.instance) if isinstance(item, LayerObj) and \
                item.instance is not None else None
            if inner is not None:
                inner.nested = True
        model.chain = chain

    def model_graph(self, model: ModelObj) -> LayerGraph:
        """The model's layer graph (a Sequential is built first if it is not yet)."""
        if model.kind != "Sequential":
            if model.graph is None:
                model.graph = self._traced_graph(model)
            return model.graph
        if not model.chain:
            self.free_inputs = 0
            self.build_sequential(model, None, model.span)
        ins = model.chain[:1]
        self.decide_default(ins)
        outs = [t for t in model.chain[-1:] if t.node is not None]
        graph = extract_graph(model.name, "Sequential", model.span, ins, outs)
        model.graph = graph
        self._mark_nested(graph)
        return graph

    def _mark_nested(self, graph: LayerGraph) -> None:
        """Subclassed models called in a model's graph are layers of it, not models of
        their own (called on tensors, they could have been either until now)."""
        for layer in graph.layers:
            owner = self.owners.get(id(layer))
            inst = owner.instance if isinstance(owner, LayerObj) else None
            model = self.model_of(inst) if inst is not None else None
            if model is not None:
                model.nested = True

    # ------------------------------------------------------------ subclassed models
    def model_of(self, inst: Instance) -> ModelObj | None:
        """The model a ``keras.Model`` subclass instance is, once it has one."""
        entry = self.subclassed.get(id(inst))
        return entry[1] if entry is not None else None

    def functional_subclass(self, inst: Instance, inputs: Any, outputs: Any, name: Any,
                            span: Span | None, scope: tuple[str, ...],
                            trainable: Any = True) -> ModelObj:
        """``super().__init__(inputs, outputs)`` in a ``keras.Model`` subclass: a
        Functional of that class, named after it."""
        mname = name if isinstance(name, str) else self.auto_name(inst.cls.name)
        model = self.functional(inputs, outputs, mname, span, scope, trainable,
                                kind=inst.cls.name)
        self.subclassed[id(inst)] = (inst, model)
        return model

    def subclassed_model(self, it: Interpreter, inst: Instance, shapes: InputShapes,
                         dtypes: list[str | None], kwargs: dict[str, Any],
                         nested: bool = False) -> ModelObj:
        """A ``keras.Model`` subclass with its own ``call``, built on inputs of these
        batch shapes: its graph is made when first needed (see :func:`trace_call`)."""
        known = self.model_of(inst)
        if known is not None:
            return known
        obj = inst.layer
        assert obj is not None
        model = ModelObj(inst.cls.name, obj.name, obj.layer.span, obj.layer.scope,
                         trainable=obj.layer.trainable, nested=nested)
        self.subclassed[id(inst)] = (inst, model)
        self.models.append(model)
        self.traces[id(model)] = lambda: trace_call(it, inst, model, shapes, dtypes, kwargs)
        return model

    def _traced_graph(self, model: ModelObj) -> LayerGraph:
        trace = self.traces.pop(id(model), None)
        if trace is None:
            raise KerasError("ValueError", f"model {model.name} has no graph (it is not built)")
        try:
            return trace()
        except KerasError as e:
            failed = e
        self.traces[id(model)] = _raise(failed)  # the same error, not a second run
        raise failed


def _raise(error: KerasError) -> Callable[[], LayerGraph]:
    def again() -> LayerGraph:
        raise error
    return again


def trace_call(it: Interpreter, inst: Instance, model: ModelObj, shapes: InputShapes,
               dtypes: list[str | None], kwargs: dict[str, Any]) -> LayerGraph:
    """The graph of a subclassed model: its ``build`` and ``call`` interpreted on
    hidden inputs of these batch shapes, every layer call recorded, in its layers'
    tracking order (the order ``__init__`` assigns them, as Keras lists them)."""
    from convcalc.frontend.traces import BUILT

    session = it.session
    saved = (session.detached, session.tracer, dict(session.uids))
    session.detached, session.tracer = False, None
    session.tracing.add(id(inst))
    flat_shapes = _flat_shapes(shapes)
    try:
        ins = [session.input_tensor(shape, dtypes[i] if i < len(dtypes) else None,
                                    f"{model.name}_input" + (f"_{i}" if i else ""),
                                    model.span, model.scope, hidden=True)
               for i, shape in enumerate(flat_shapes)]
        args = _inputs_like(shapes, ins)
        found, build = inst.cls.lookup("build")
        obj = inst.layer
        if found and obj is not None and not obj.attrs.get(BUILT):
            obj.attrs[BUILT] = True  # Keras builds a layer once
            it.call(it.bind(build, inst), [shapes], {}, None)
        found, call = inst.cls.lookup("call")
        out = it.call(it.bind(call, inst), [args], dict(kwargs), None)
    except UserException as e:
        raise KerasError(e.exc.class_name, "building it raises "
                         f"{e.exc.class_name}: {e.exc.message()}") from None
    except BudgetExceeded as e:
        raise KerasError("RuntimeError", "interpreting its call() stopped: "
                         f"{e.message}") from None
    except RecursionError:
        raise KerasError("RuntimeError", "its call() recurses too deeply"
                         ) from None
    except ShapeError as e:
        raise KerasError("ValueError", e.message) from None
    finally:
        session.detached, session.tracer = saved[0], saved[1]
        session.tracing.discard(id(inst))
    flat_out = flatten_tensors(out)
    if not flat_out or any(t.node is None for t in flat_out):
        raise KerasError("ValueError", "its call() does not return Keras "
                         "tensors convcalc can follow")
    model.inputs, model.outputs = args, out
    graph = extract_graph(model.name, model.kind, model.span, ins, flat_out)
    for layer in graph.layers:  # operations traced in a call take no names in Keras
        if layer.hidden and layer.class_name != "InputLayer":
            prefix = snake_case(layer.class_name)
            session.uids[prefix] = saved[2].get(prefix, 0)
    graph.layers.sort(key=_tracking_order(inst, graph))
    session._mark_nested(graph)
    return graph


def _is_shape(v: Any) -> bool:
    return isinstance(v, (tuple, list)) and all(
        x is None or type(x) is int or isinstance(x, (SymInt, Unknown)) for x in v)


def _flat_shapes(shapes: InputShapes) -> list[Any]:
    """The batch shapes of each input, in ``tree.flatten`` order."""
    if _is_shape(shapes) or not isinstance(shapes, (tuple, list, dict)):
        return [shapes]
    if isinstance(shapes, dict):
        return [s for k in sorted(shapes) for s in _flat_shapes(shapes[k])]
    return [s for x in shapes for s in _flat_shapes(x)]


def _inputs_like(shapes: InputShapes, ins: list[Tensor]) -> Any:
    """The input tensors in the structure of the shapes they were made from."""
    it = iter(ins)

    def walk(v: Any) -> Any:
        if _is_shape(v) or not isinstance(v, (tuple, list, dict)):
            return next(it)
        if isinstance(v, dict):
            return {k: walk(v[k]) for k in sorted(v)}
        return [walk(x) for x in v] if isinstance(v, list) else tuple(walk(x) for x in v)

    return walk(shapes)


def _tracking_order(inst: Instance, graph: LayerGraph) -> Callable[[Layer], int]:
    """A sort key: the inputs, then the layers in the order the instance's attributes
    hold them, then the others in graph order."""
    tracked: dict[int, int] = {}

    def walk(v: Any, depth: int) -> None:
        if isinstance(v, Instance) and v.layer is not None:
            v = v.layer
        if isinstance(v, (LayerObj, ModelObj)) and v.layer is not None:
            tracked.setdefault(id(v.layer), len(tracked))
        elif isinstance(v, (list, tuple)) and depth < 3:
            for x in v:
                walk(x, depth + 1)
        elif isinstance(v, dict) and depth < 3:
            for x in v.values():
                walk(x, depth + 1)

    for v in inst.attrs.values():
        walk(v, 0)
    position = {id(layer): i for i, layer in enumerate(graph.layers)}

    def key(layer: Layer) -> int:
        if layer.class_name == "InputLayer" and layer.hidden:
            return -1
        at = tracked.get(id(layer))
        return at if at is not None else len(tracked) + position[id(layer)]

    return key


def _span_of(item: LayerObj | ModelObj) -> Span | None:
    return item.layer.span if isinstance(item, LayerObj) else item.span


def _scope_of(item: LayerObj | ModelObj) -> tuple[str, ...]:
    return item.layer.scope if isinstance(item, LayerObj) else item.scope


def set_trainable(target: LayerObj | ModelObj, value: bool, session: Session) -> None:
    """``x.trainable = value``: a model passes it on to all its layers, as Keras does."""
    if isinstance(target, LayerObj):
        target.layer.trainable = value
        return
    target.trainable = value
    if target.layer is not None:
        target.layer.trainable = value
    if target.kind == "Sequential" and not target.chain:
        for item in target.items:
            set_trainable(item, value, session)
        return
    graph = session.model_graph(target)
    for layer in graph.layers:
        owner = session.owners.get(id(layer))
        if owner is not None and owner is not target:
            set_trainable(owner, value, session)
        else:
            layer.trainable = value


def extract_graph(
    name: str,
    kind: str,
    span: Span | None,
    inputs: list[Tensor],
    outputs: list[Tensor],
) -> LayerGraph:
    """The model between ``inputs`` and ``outputs``, ordered as Keras orders
    ``model.layers`` (by depth from the outputs, then by first visit)."""
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    op_index: dict[int, int] = {}

    def visit(t: Tensor) -> None:
        node = t.node
        if node is None:
            raise KerasError("ValueError", f"model {name}: a tensor has no producing layer")
        if id(node) in finished:
            return
        if not node.is_input and id(t) in input_ids:
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise KerasError("ValueError", f"model {name}: the layer graph has a cycle")
        op_index.setdefault(id(node.layer), len(op_index))
        in_progress.add(id(node))
        for x in node.inputs:
            visit(x)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for t in outputs:
        visit(t)
    for node in ordered:
        if node.is_input and not any(id(o) in input_ids for o in node.outputs):
            raise KerasError(
                "ValueError",
                f"model {name}: its outputs are not connected to its inputs (Graph "
                f"disconnected): they need input {node.layer.name}, which is not one of them")
    in_graph = {id(n) for n in ordered}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers_by_id: dict[int, Layer] = {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers_by_id[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        for x in node.inputs:
            parent = x.node
            if parent is not None and id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        source = t.node
        if source is not None and source.is_input and id(source.layer) not in layer_depth:
            layer_depth[id(source.layer)] = 0
            op_index[id(source.layer)] = -1
            layers_by_id[id(source.layer)] = source.layer
            ordered.append(source)
    computable = set(input_ids)
    for node in sorted(ordered, key=lambda n: n.seq):
        for x in node.inputs:
            if id(x) not in computable:
                what = x.node.layer.name if x.node is not None else "?"
                raise KerasError(
                    "ValueError",
                    f"Graph disconnected: model {name} needs the output of {what}, which "
                    "does not come from the model's inputs")
        computable.update(id(o) for o in node.outputs)
    graph = LayerGraph(name, kind, span)
    for lid in sorted(layer_depth, key=lambda i: (-layer_depth[i], op_index[i])):
        graph.add_layer(layers_by_id[lid])
    refs: dict[int, TensorRef] = {}
    for node in sorted(ordered, key=lambda n: n.seq):
        ins = []
        for x in node.inputs:
            ref = refs.get(id(x))
            if ref is None:  # a declared input that is not an InputLayer's output
                raise KerasError("ValueError",
                                 f"model {name}: inputs must come from keras.Input()")
            ins.append(ref)
        call = graph.add_call(node.layer, ins, node.span, node.kwargs, node.sites)
        for o in node.outputs:
            refs[id(o)] = TensorRef(call.id, o.index)
    graph.inputs = [refs[id(t)] for t in inputs if id(t) in refs]
    graph.outputs = [refs[id(t)] for t in outputs]
    return graph


