"""Layers whose behaviour is code of the analysed program: subclasses of
``keras.layers.Layer`` and ``Lambda`` layers.

Such a layer is one node of the model graph. Its shape rule interprets the class's own
``build(input_shape)`` (``add_weight`` creates its weights) and ``call(inputs)`` on
symbolic tensors, as Keras traces ``call`` without recording what happens inside:
layers called there are built (their weights count as the custom layer's) but are not
nodes of the model, and tensor operations there are not named. Interpreting again
for other input types (``--input-shape``) is done on demand (see
:mod:`convcalc.frontend.traces`); this module creates such layers and records their
calls, and those of ``keras.Model`` subclasses with a ``call`` of their own.
"""

from __future__ import annotations

import ast
import contextlib
from typing import TYPE_CHECKING, Any

from convcalc import rules
from convcalc.dims import Dim
from convcalc.frontend.building import (
    INPUT_DECLARATIONS,
    declared_input_shape,
    flatten_tensors,
    restructure,
    split_call,
    tensor_op_node,
    to_native,
)
from convcalc.frontend.objects import KerasError, LayerObj
from convcalc.frontend.tensor_ops import ElementwiseOp
from convcalc.frontend.traces import (
    InterpretedLayer,
    Runner,
    replace_tensors,
    shape_of_batch,
)
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
)
from convcalc.graph import Layer
from convcalc.types import Initializer, Span, TensorType, WeightSpec

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter



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
            shapes = replace_tensors(data, [_data_shape(t.type) for t in flat])  # type: ignore[arg-type]
            _build_now(it, inst, shapes, [t.type.dtype for t in flat], {})  # type: ignore[union-attr]
    return Unknown(f"{inst.cls.name}.{method}(...)" if isinstance(inst, Instance)
                   else f"{method}(...)")


def _data_shape(t: TensorType) -> Any:
    return (None, *shape_of_batch(t)[1:])


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
        shapes = [(_data_shape if data else shape_of_batch)(t) for t in types]
        dtypes: list[str | None] = [t.dtype for t in types]
        value = replace_tensors(template, shapes)
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
