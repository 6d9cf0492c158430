"""What keras names mean: module paths, layer classes, the functional-API functions,
backend helpers, and the attributes of tensors, layers and models.

Every spelling resolves to the same meaning: ``keras.layers.Conv2D``,
``tf.keras.layers.Conv2D``, ``tensorflow.keras.layers.Conv2D``, ``keras.src.layers.
convolutional.conv2d.Conv2D``, the Keras 1/2 module paths (``keras.layers.convolutional``,
``keras.layers.core``, ``keras.engine.topology``) and the Keras 1/2 class aliases
(``Convolution2D``) known to the layer catalogue. Parts of the keras package that are
not modelled here (``keras.applications``, ``keras.src.applications.imagenet_utils``)
are read from the installed package's own source files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convcalc import dims, rules
from convcalc.frontend.building import flatten_tensors, tensor_op_node, to_native
from convcalc.frontend.objects import KerasError, LayerObj, ModelObj, RecordedCall
from convcalc.frontend.op_spellings import signature
from convcalc.frontend.tensor_functions import tensor_function
from convcalc.frontend.tensor_ops import UNARY_FUNCTIONS, GetItem, index_key, unary_op
from convcalc.frontend.values import (
    Args,
    Builtin,
    ContextValue,
    KerasObject,
    KerasRef,
    Kwargs,
    LayerClass,
    SymInt,
    SyntaxNode,
    Tensor,
    Unknown,
    Variable,
    make_int,
)
from convcalc.layers import lookup

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter


MODELLED_AREAS = frozenset({
    "layers", "models", "engine", "backend", "config", "ops", "activations", "initializers",
    "regularizers", "constraints", "optimizers", "losses", "metrics", "callbacks", "utils",
    "api_export", "saving", "dtype_policies", "random", "mixed_precision", "preprocessing",
    "datasets", "legacy", "tree", "export", "quantizers", "visualization", "wrappers",
    "distribution", "schedules", "src", "api", "_tf_keras", "version",
})
"""Areas of the keras package that convcalc models; the rest is read from source."""

MERGE_FUNCTIONS = {
    "concatenate": "Concatenate", "add": "Add", "subtract": "Subtract",
    "multiply": "Multiply", "average": "Average", "maximum": "Maximum",
    "minimum": "Minimum", "dot": "Dot",
}


def canonical(path: tuple[str, ...]) -> tuple[str, ...]:
    """A keras path in its public Keras 3 form: ``tf.keras`` -> ``keras``, internal
    ``keras.src`` / ``keras.api`` / ``keras._tf_keras.keras`` prefixes dropped."""
    p = list(path)
    if p and p[0] in ("tensorflow", "tf"):
        if len(p) > 1 and p[1] == "keras":
            p = ["keras", *p[2:]]
        elif len(p) > 2 and p[1] == "python" and p[2] == "keras":
            p = ["keras", *p[3:]]
        elif len(p) > 3 and p[1:4] == ["compat", "v1", "keras"]:
            p = ["keras", *p[4:]]
        else:
            return ("tensorflow", *p[1:])
    elif p and p[0] == "tf_keras":
        p = ["keras", *p[1:]]
    while len(p) > 1 and p[1] in ("src", "api", "_tf_keras") and p[0] == "keras":
        del p[1]
        if len(p) > 1 and p[1] == "keras":
            del p[1]
    return tuple(p)


def is_source_path(path: tuple[str, ...]) -> bool:
    """Whether a keras module path is read from the package's own source (the names
    convcalc models at the top level, ``keras.Input`` and the like, are not)."""
    p = canonical(path)
    return (len(p) > 1 and p[0] == "keras" and p[1] not in MODELLED_AREAS
            and p[1] not in _TOP_LEVEL and p[1] not in _TOP_LEVEL_REFS)


def import_keras(it: Interpreter, dotted: str, node: SyntaxNode) -> Any:
    """The value of ``import <dotted>`` for a keras / tensorflow module path."""
    path = tuple(dotted.split("."))
    if is_source_path(path):
        return it.loader.keras_source_module(it, path, node)
    return KerasRef(path)


def keras_attr(it: Interpreter, ref: KerasRef, name: str, node: SyntaxNode) -> Any:
    """``ref.name`` for a keras module or name."""
    raw = (*ref.path, name)
    path = canonical(raw)
    if path[0] != "keras":
        return KerasRef(raw)
    if len(path) == 1:
        return KerasRef(raw)
    if is_source_path(raw):
        return it.loader.keras_source_member(it, raw, node)
    last = path[-1]
    area = path[1]
    if len(path) == 2:
        if last in _TOP_LEVEL:
            return _TOP_LEVEL[last]
        return KerasRef(raw)
    if area in ("layers", "engine", "legacy"):
        return _layers_member(raw, last)
    if area == "models":
        if last in ("Model", "Functional"):
            return _TOP_LEVEL["Model"]
        if last == "Sequential":
            return _TOP_LEVEL["Sequential"]
        return KerasRef(raw)
    if area in ("backend", "config") and last in _BACKEND:
        return _BACKEND[last]
    if area == "ops" and last in _OPS:
        return _OPS[last]
    if area == "utils" and last in _UTILS:
        return _UTILS[last]
    if area == "api_export" and last == "keras_export":
        return _KERAS_EXPORT
    if area == "activations" and len(path) == 3:
        return _ACTIVATIONS_GET if last == "get" else activation_ref(last)
    return KerasRef(raw)


_ACTIVATION_REFS: dict[str, KerasRef] = {}


def activation_ref(name: str) -> KerasRef:
    """The one value standing for ``keras.activations.<name>`` (so that two lookups of
    the same activation compare equal, as the functions do in Keras)."""
    name = {"linear": "linear", "swish": "silu"}.get(name, name)
    ref = _ACTIVATION_REFS.get(name)
    if ref is None:
        ref = _ACTIVATION_REFS[name] = KerasRef(("keras", "activations", name))
    return ref


def _activations_get(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    """``keras.activations.get(identifier)``: None is linear, a name its function."""
    v = args[0] if args else kwargs.get("identifier")
    if v is None:
        return activation_ref("linear")
    if isinstance(v, str):
        return activation_ref(v.lower())
    if isinstance(v, KerasRef):
        return activation_ref(v.path[-1])
    return v


_ACTIVATIONS_GET = Builtin("activations.get", _activations_get)


def _layers_member(raw: tuple[str, ...], name: str) -> Any:
    if name == "Input":
        return _TOP_LEVEL["Input"]
    if name in MERGE_FUNCTIONS:
        return _merge_function(name)
    if name == "merge":
        return Builtin("keras.layers.merge", _keras1_merge)
    if name in ("Model", "Functional"):
        return _TOP_LEVEL["Model"]
    if name in ("Layer", "InputSpec", "Wrapper", "Operation"):
        return KerasRef(raw)
    spec = lookup(name)
    if spec is not None:
        return LayerClass(name, spec)
    if name[:1].isupper() and not name.isupper():
        return LayerClass(name, None)
    return KerasRef(raw)


def call_keras_ref(it: Interpreter, ref: KerasRef, args: Args, kwargs: Kwargs,
                   node: SyntaxNode) -> Any:
    """Calling a keras / tensorflow name convcalc does not model.

    Classes (optimizers, initializers, regularizers, callbacks...) give an object that
    keeps its arguments; functions give an unknown value.
    """
    path = canonical(ref.path)
    last = path[-1]
    if last[:1].isupper() or (len(path) > 1 and path[1] in ("regularizers", "initializers")):
        return KerasObject(last, tuple(args), dict(kwargs))
    sig = signature(path)
    if sig is not None:
        return tensor_function(sig, last).fn(it, args, kwargs, node)
    if args and isinstance(args[0], Variable):  # a custom layer's weight
        args = [args[0].tensor, *args[1:]]
    if args and isinstance(args[0], Tensor) and last in UNARY_FUNCTIONS:
        return tensor_op_node(it.session, unary_op(path, args, kwargs), [args[0]],
                              it.span(node), tuple(it.scope))
    return Unknown(f"{'.'.join(ref.path)}(...)", last)


# ------------------------------------------------------------------ layers
def create_layer(it: Interpreter, cls: LayerClass, args: Args, kwargs: Kwargs,
                 node: SyntaxNode) -> Any:
    """A layer constructor call."""
    span = it.span(node)
    scope = tuple(it.scope)
    if cls.class_name == "InputLayer" or (cls.spec is not None
                                          and cls.spec.class_name == "InputLayer"):
        return _input_layer(it, args, kwargs, node)
    if cls.class_name == "Lambda" and (args or "function" in kwargs):
        from convcalc.frontend.custom_layers import new_lambda_layer

        return new_lambda_layer(it, args, kwargs, node)
    return it.session.create_layer(cls, tuple(args), kwargs, span, scope)


def _input_layer(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> LayerObj:
    params = ("shape", "batch_size", "dtype", "sparse", "batch_shape", "input_tensor",
              "optional", "name")
    bound = dict(zip(params, args, strict=False))
    bound.update(kwargs)
    shape = bound.get("shape", bound.get("input_shape"))
    batch_shape = bound.get("batch_shape", bound.get("batch_input_shape"))
    name = bound.get("name")
    lname = name if isinstance(name, str) else it.session.auto_name("InputLayer")
    session = it.session
    if batch_shape is not None:
        full: Any = batch_shape
    elif isinstance(shape, (tuple, list)):
        full = (bound.get("batch_size"), *shape)
    elif shape is None:
        raise KerasError("ValueError", "InputLayer needs a shape")
    else:
        full = shape if isinstance(shape, Unknown) else (bound.get("batch_size"), shape)
    tensor = session.input_tensor(full, bound.get("dtype"), lname, it.span(node),
                                  tuple(it.scope))
    owner = session.owners[id(tensor.node.layer)]  # type: ignore[union-attr]
    assert isinstance(owner, LayerObj)
    return owner


def _input(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    params = ("shape", "batch_size", "dtype", "sparse", "batch_shape", "name", "tensor")
    bound = dict(zip(params, args, strict=False))
    bound.update(kwargs)
    if "tensor" in bound and isinstance(bound["tensor"], Tensor):
        return bound["tensor"]
    batch_shape = bound.get("batch_shape", bound.get("batch_input_shape"))
    return it.session.make_input(bound.get("shape"), bound.get("batch_size"), batch_shape,
                                 bound.get("dtype"), bound.get("name"), it.span(node),
                                 tuple(it.scope))


def _model(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    bound = dict(zip(("inputs", "outputs"), args, strict=False))
    bound.update(kwargs)
    inputs = bound.get("inputs", bound.get("input"))
    outputs = bound.get("outputs", bound.get("output"))
    if inputs is None and outputs is None:
        it.report(rules.UNSUPPORTED,
                  "Model() without inputs and outputs (a subclassed model) is not analysed",
                  node=node)
        return Unknown("Model()", None, node)
    if isinstance(inputs, Unknown) or isinstance(outputs, Unknown):
        return Unknown("Model(...) of unknown tensors", None, node)
    return it.session.functional(inputs, outputs, bound.get("name"), it.span(node),
                                 tuple(it.scope), bound.get("trainable", True))


def _sequential(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    bound = dict(zip(("layers", "trainable", "name"), args, strict=False))
    bound.update(kwargs)
    return it.session.sequential(bound.get("layers"), bound.get("name"), it.span(node),
                                 tuple(it.scope), bound.get("trainable", True))


def _merge_function(name: str) -> Builtin:
    class_name = MERGE_FUNCTIONS[name]

    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        params = ("inputs", "axes", "normalize") if name == "dot" else (
            ("inputs", "axis") if name == "concatenate" else ("inputs",))
        bound = dict(zip(params, args, strict=False))
        bound.update(kwargs)
        inputs = bound.pop("inputs", None)
        layer = it.session.create_layer(LayerClass(class_name, lookup(class_name)), (),
                                        bound, it.span(node), tuple(it.scope))
        return it.session.call_layer(layer, (inputs,), {}, it.span(node), tuple(it.scope))

    return Builtin(f"keras.layers.{name}", impl)


def _keras1_merge(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    """Keras 1's ``merge(inputs, mode=...)`` function: a Merge layer, called."""
    bound = dict(zip(("inputs", "mode", "concat_axis", "dot_axes"), args, strict=False))
    bound.update(kwargs)
    inputs = bound.pop("inputs", None)
    layer = it.session.create_layer(LayerClass("Merge", lookup("Merge")), (), bound,
                                    it.span(node), tuple(it.scope))
    return it.session.call_layer(layer, (inputs,), {}, it.span(node), tuple(it.scope))


# ---------------------------------------------------------------- backend
def _image_data_format(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    return it.session.data_format


def _set_image_data_format(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    it.session.set_data_format(args[0] if args else kwargs.get("data_format"))
    return None


def shape_value(t: Tensor) -> Any:
    """``x.shape`` as Keras gives it: a tuple with None for the batch."""
    if t.type is None:
        return Unknown("the shape of a tensor convcalc cannot derive")
    return tuple(None if d == dims.BATCH else _shape_dim(d) for d in t.type.shape)


def _shape_dim(d: dims.Dim) -> Any:
    return d if type(d) is int else SymInt(d, none=True)


def _int_shape(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    x = args[0] if args else None
    if isinstance(x, Tensor):
        return shape_value(x)
    if isinstance(x, Variable):
        return tuple(make_int(d) for d in x.shape)
    return Unknown("int_shape(...)")


def _is_keras_tensor(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if args and isinstance(args[0], Unknown):
        return Unknown("is_keras_tensor(...)")
    return bool(args) and isinstance(args[0], Tensor)


def _get_uid(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    prefix = args[0] if args else kwargs.get("prefix", "")
    return it.session.get_uid(prefix if isinstance(prefix, str) else "")


def _clear_session(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    it.session.clear()
    return None


def _const(value: Any) -> Callable[[Interpreter, Args, Kwargs, SyntaxNode], Any]:
    return lambda it, a, k, n: value


_BACKEND: dict[str, Builtin] = {
    "image_data_format": Builtin("image_data_format", _image_data_format),
    "set_image_data_format": Builtin("set_image_data_format", _set_image_data_format),
    "int_shape": Builtin("int_shape", _int_shape),
    "shape": Builtin("shape", _int_shape),
    "floatx": Builtin("floatx", _const("float32")),
    "epsilon": Builtin("epsilon", _const(1e-7)),
    "backend": Builtin("backend", _const("jax")),
    "is_keras_tensor": Builtin("is_keras_tensor", _is_keras_tensor),
    "get_uid": Builtin("get_uid", _get_uid),
    "clear_session": Builtin("clear_session", _clear_session),
    "name_scope": Builtin("name_scope", lambda it, a, k, n: ContextValue("name_scope")),
    "set_floatx": Builtin("set_floatx", _const(None)),
    "set_epsilon": Builtin("set_epsilon", _const(None)),
    "ndim": Builtin("ndim", lambda it, a, k, n: len(a[0].type.shape)
                    if isinstance(a[0], Tensor) and a[0].type is not None else Unknown("ndim")),
}


def _ops_binary(sym: str) -> Builtin:
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        if len(args) == 2:
            return it.binop(sym, args[0], args[1], node) if node is not None else Unknown(sym)
        return Unknown(f"ops({sym})")

    return Builtin(f"ops.{sym}", impl)


_OPS: dict[str, Builtin] = {
    "shape": Builtin("ops.shape", _int_shape),
    "ndim": _BACKEND["ndim"],
    "add": _ops_binary("+"), "subtract": _ops_binary("-"), "multiply": _ops_binary("*"),
    "divide": _ops_binary("/"), "true_divide": _ops_binary("/"),
}


def _get_source_inputs(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    t = args[0] if args else None
    if not isinstance(t, Tensor):
        return Unknown("get_source_inputs(...)")
    seen: list[Tensor] = []
    stack = [t]
    while stack:
        x = stack.pop()
        if x.node is None or not x.node.inputs:
            if all(x is not s for s in seen):
                seen.append(x)
        else:
            stack.extend(reversed(x.node.inputs))
    return seen


_UTILS: dict[str, Builtin] = {
    "get_source_inputs": Builtin("get_source_inputs", _get_source_inputs),
}


def _keras_export(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    return Builtin("decorator:keras_export", lambda it2, a, k, n: a[0] if a else None)


_KERAS_EXPORT = Builtin("keras_export", _keras_export)

_TOP_LEVEL: dict[str, Any] = {
    "Input": Builtin("keras.Input", _input),
    "Model": Builtin("keras.Model", _model),
    "Sequential": Builtin("keras.Sequential", _sequential),
}
_TOP_LEVEL_REFS = frozenset({"Layer", "Operation", "KerasTensor", "Variable"})
"""Top-level keras names kept as references (base classes custom code derives from)."""


# ---------------------------------------------------------------- tensors
def tensor_attr(it: Interpreter, t: Tensor, name: str, node: SyntaxNode) -> Any:
    if name == "shape":
        return shape_value(t)
    if name in ("get_shape",):
        return Builtin("get_shape", lambda it2, a, k, n: shape_value(t))
    if name in ("ndim", "rank"):
        return len(t.type.shape) if t.type is not None else Unknown("ndim")
    if name == "dtype":
        return t.type.dtype if t.type is not None else "float32"
    if name == "name":
        return t.node.layer.name if t.node is not None else Unknown("tensor name")
    return Unknown(f"tensor.{name}", name)


def tensor_getitem(it: Interpreter, t: Tensor, index: Any, node: SyntaxNode) -> Any:
    """``x[:, 0]``, ``x[..., :3]``: a get_item operation."""
    key = index_key(index)
    if key is None:
        return Unknown(it.text(node) if node is not None else "x[...]")
    return tensor_op_node(it.session, GetItem(key=key), [t], it.span(node), tuple(it.scope))


# ----------------------------------------------------------------- layers
def layer_attr(it: Interpreter, obj: LayerObj, name: str, node: SyntaxNode) -> Any:
    layer = obj.layer
    if name in obj.attrs:
        return obj.attrs[name]
    if name == "name":
        return layer.name
    if name == "trainable":
        return layer.trainable
    if name in ("output", "input"):
        if not obj.nodes:
            raise KerasError("AttributeError", f"layer {layer.name} has never been called")
        n = obj.nodes[0]
        if name == "output":
            return n.outputs[0] if len(n.outputs) == 1 else list(n.outputs)
        return n.inputs[0] if len(n.inputs) == 1 else list(n.inputs) if n.inputs else (
            n.outputs[0])
    if name in ("output_shape", "input_shape"):
        t = layer_attr(it, obj, name.split("_")[0], node)
        return shape_value(t) if isinstance(t, Tensor) else Unknown(name)
    if name == "built":
        return bool(obj.nodes)
    if name == "get_config":
        return Builtin("get_config", lambda it2, a, k, n: dict(layer.config))
    if name in ("count_params", "get_weights", "weights", "trainable_weights",
                "non_trainable_weights", "variables"):
        return Unknown(f"{layer.name}.{name}", name)
    if name in ("set_weights", "build"):
        return Builtin(name, _const(None))
    if name == "__class__":
        return LayerClass(layer.class_name, lookup(layer.class_name))
    if name == "dtype":
        return layer.dtype
    spec = layer.spec
    if spec is not None and hasattr(spec, name) and not name.startswith("_"):
        value = getattr(spec, name)
        return _from_native(value)
    if name in layer.config:
        return layer.config[name]
    return Unknown(f"{layer.name}.{name}", name)


def _from_native(v: Any) -> Any:
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    if isinstance(v, tuple):
        return tuple(_from_native(x) for x in v)
    if isinstance(v, list):
        return [_from_native(x) for x in v]
    if isinstance(v, dims.Sym) or type(v).__module__.startswith("sympy"):
        return make_int(dims.normalize(v))
    return Unknown(repr(v))


def model_attr(it: Interpreter, model: ModelObj, name: str, node: SyntaxNode) -> Any:
    session = it.session
    if name in model.attrs:
        return model.attrs[name]
    if name == "name":
        return model.name
    if name == "trainable":
        return model.trainable
    if name == "add" and model.kind == "Sequential":
        return Builtin("add", lambda it2, a, k, n: session.sequential_add(
            model, a[0] if a else k.get("layer"), it2.span(n)))
    if name == "pop" and model.kind == "Sequential":
        return Builtin("pop", lambda it2, a, k, n: _pop(it2, model, n))
    if name == "build":
        return Builtin("build", lambda it2, a, k, n: _build(it2, model, a, k, n))
    if name == "layers":
        return _model_layers(it, model)
    if name == "get_layer":
        return Builtin("get_layer", lambda it2, a, k, n: _get_layer(it2, model, a, k, n))
    if name in ("inputs", "input", "outputs", "output"):
        graph_ready = model.kind != "Sequential" or model.chain
        if not graph_ready:
            raise KerasError("AttributeError", f"the Sequential model {model.name} has no "
                             "input yet (give its first layer an input shape)")
        if model.kind == "Sequential":
            t = model.chain[0] if name.startswith("input") else model.chain[-1]
            return [t] if name.endswith("s") else t
        value = model.inputs if name.startswith("input") else model.outputs
        flat = flatten_tensors(value) or []
        if name.endswith("s"):
            return list(flat)
        return flat[0] if len(flat) == 1 else list(flat)
    if name in ("input_shape", "output_shape"):
        v = model_attr(it, model, name.split("_")[0], node)
        if isinstance(v, Tensor):
            return shape_value(v)
        if isinstance(v, list):
            return [shape_value(x) for x in v]
        return Unknown(name)
    if name in ("compile", "fit", "fit_generator", "evaluate", "summary", "save",
                "save_weights", "load_weights", "predict", "train_on_batch", "plot_model"):
        def record(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode, name: str = name) -> Any:
            model.recorded.append(RecordedCall(name, tuple(to_native(x, []) for x in a),
                                               {kk: to_native(v, []) for kk, v in k.items()},
                                               it2.span(n)))
            if name in ("fit", "fit_generator", "evaluate", "predict", "train_on_batch"):
                return Unknown(f"{model.name}.{name}(...)")
            return None

        return Builtin(name, record)
    if name == "built":
        return model.built
    if name in ("count_params", "to_json", "get_config", "weights", "trainable_weights",
                "optimizer", "history", "metrics_names", "get_weights", "set_weights"):
        return Unknown(f"{model.name}.{name}", name)
    return Unknown(f"{model.name}.{name}", name)


def _pop(it: Interpreter, model: ModelObj, node: SyntaxNode) -> Any:
    if not model.items:
        raise KerasError("IndexError", "pop from an empty Sequential model")
    item = model.items.pop()
    if model.chain:
        model.chain.pop()
        model.graph = None
    return item


def _build(it: Interpreter, model: ModelObj, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    shape = args[0] if args else kwargs.get("input_shape")
    if model.kind != "Sequential" or model.chain:
        return None
    if isinstance(shape, (tuple, list)):
        dims_ = tuple(dims.BATCH if (i == 0 and d is None) else (
            d.dim if isinstance(d, SymInt) else d) for i, d in enumerate(shape))
        if all(isinstance(d, int) or d is dims.BATCH or d is None or isinstance(
                d, (dims.Sym,)) for d in dims_):
            it.session.build_sequential(model, tuple(
                d if d is not None else Unknown("None") for d in dims_), it.span(node))
            return None
    it.session.build_sequential(model, None, it.span(node))
    return None


def _model_layers(it: Interpreter, model: ModelObj) -> list[Any]:
    if model.kind == "Sequential" and not model.chain:
        return list(model.items)
    graph = it.session.model_graph(model)
    out: list[Any] = []
    for layer in graph.layers:
        if layer.hidden:
            continue
        owner = it.session.owners.get(id(layer))
        out.append(owner if owner is not None else Unknown(layer.name))
    return out


def _get_layer(it: Interpreter, model: ModelObj, args: Args, kwargs: Kwargs,
               node: SyntaxNode) -> Any:
    key = args[0] if args else kwargs.get("name", kwargs.get("index"))
    layers = _model_layers(it, model)
    if isinstance(key, int):
        if -len(layers) <= key < len(layers):
            return layers[key]
        raise KerasError("ValueError", f"no layer at index {key}")
    if isinstance(key, str):
        for x in layers:
            if isinstance(x, (LayerObj, ModelObj)) and x.name == key:
                return x
        if model.kind == "Functional" and model.graph is not None:
            for layer in model.graph.layers:
                if layer.name == key:
                    owner = it.session.owners.get(id(layer))
                    if owner is not None:
                        return owner
        raise KerasError("ValueError", f"no layer named {key!r} in model {model.name}")
    return Unknown("get_layer(...)")

