"""Classes defined in analysed code: plain classes, exception classes and keras layer
subclasses (custom layers, see :mod:`convcalc.frontend.custom_layers`).

Instances of plain classes are modelled (attributes, methods, ``super()``, properties,
``__call__``/``__getitem__``...). A subclass of ``keras.Model`` with a ``call`` is read
like a custom layer, and is a model once built (see :mod:`convcalc.frontend.models`);
one without runs its ``__init__``: a Functional of its class when that passes
``inputs`` and ``outputs`` on, else analysed through the models it wraps. Instances of classes whose
bases convcalc cannot see are unknown, with a diagnostic.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from convcalc import rules
from convcalc.frontend import operators as ops
from convcalc.frontend.values import (
    Args,
    BoundMethod,
    Builtin,
    BuiltinType,
    ClassObj,
    ExceptionInst,
    Function,
    Instance,
    Iterator,
    KerasRef,
    Kwargs,
    LayerClass,
    ModuleObj,
    SuperProxy,
    SymInt,
    SyntaxNode,
    Tensor,
    Unknown,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter


_KERAS_BASES = {"Layer": "Layer", "Model": "Model", "Functional": "Model",
                "Sequential": "Model"}


def _keras_base(base: Any) -> str | None:
    if isinstance(base, ClassObj):
        return base.keras_base
    if isinstance(base, KerasRef) and base.path[-1] in _KERAS_BASES:
        return _KERAS_BASES[base.path[-1]]
    if isinstance(base, LayerClass):
        return "Layer"
    if isinstance(base, Builtin) and base.name in ("keras.Model", "keras.Sequential"):
        return "Model"
    return None


def make_class(it: Interpreter, name: str, bases: list[Any], namespace: dict[str, Any],
               module: ModuleObj) -> ClassObj:
    keras_base = None
    for b in bases:
        keras_base = keras_base or _keras_base(b)
    cls = ClassObj(name, tuple(bases), namespace, module, keras_base)
    for v in namespace.values():
        if isinstance(v, Function) and v.owner is None:
            v.owner = cls
    return cls


def _exception_base(cls: ClassObj) -> BuiltinType | None:
    for c in cls.mro():
        for b in c.bases:
            if isinstance(b, BuiltinType) and b.py is not None and issubclass(
                    b.py, BaseException):
                return b
    return None


def exception_matches(exc: ExceptionInst, kind: Any) -> bool:
    """Whether ``except kind`` catches ``exc`` (an unknown kind is taken to match)."""
    if isinstance(kind, tuple):
        return any(exception_matches(exc, k) for k in kind)
    if isinstance(kind, (Unknown, KerasRef)):
        return True
    cls = exc.cls
    if isinstance(kind, BuiltinType):
        if isinstance(cls, BuiltinType):
            return cls.is_subclass_of(kind)
        base = _exception_base(cls)
        return base is not None and base.is_subclass_of(kind)
    if isinstance(kind, ClassObj) and isinstance(cls, ClassObj):
        return kind in cls.mro()
    return False


def _unmodelled_base(cls: ClassObj) -> Any:
    for c in cls.mro():
        for b in c.bases:
            if not isinstance(b, (ClassObj, BuiltinType)) and _keras_base(b) is None:
                return b
    return None


def call_class_value(it: Interpreter, func: Any, args: list[Any], kwargs: dict[str, Any],
                     node: ast.AST | None) -> Any:
    """Instantiate a class, or call an instance (``__call__``)."""
    if isinstance(func, Instance):
        if func.layer is not None:
            from convcalc.frontend.custom_layers import call_custom_layer

            return call_custom_layer(it, func, args, kwargs, it.span(node))
        found, method = func.cls.lookup("__call__")
        if found:
            return it.call(it.bind(method, func), args, kwargs, node)
        model = it.session.model_of(func)
        if model is not None:  # a Functional subclass
            return it.call_layer_value(model, tuple(args), kwargs, it.span(node),
                                       tuple(it.scope))
        it.raise_py("TypeError", f"'{func.cls.name}' object is not callable", node)
    if isinstance(func, SuperProxy):
        return Unknown("super()(...)")
    cls: ClassObj = func
    if cls.keras_base == "Model" and not _defines(cls, "call"):
        return _wrapper_model(it, cls, args, kwargs, node)
    if cls.keras_base in ("Layer", "Model"):
        from convcalc.frontend.custom_layers import new_custom_layer

        return new_custom_layer(it, cls, args, kwargs, node)
    if _exception_base(cls) is not None:
        return ExceptionInst(cls, tuple(args))
    unmodelled = _unmodelled_base(cls)
    if unmodelled is not None:
        it.report(rules.UNKNOWN_VALUE,
                  f"{cls.name} derives from {unmodelled!r}, which convcalc does not model; "
                  "its instances are unknown", node=node)
        return Unknown(f"a {cls.name} instance", None, node)
    inst = Instance(cls)
    found, init = cls.lookup("__init__")
    if found:
        it.call(it.bind(init, inst), args, kwargs, node)
    elif args or kwargs:
        fields = cls.namespace.get("__dataclass_fields__")
        if isinstance(fields, list):
            _dataclass_init(it, inst, fields, args, kwargs, node)
    return inst


def _defines(cls: ClassObj, method: str) -> bool:
    """Whether a class of the analysed code (or a base of it there) defines ``method``."""
    return any(method in c.namespace for c in cls.mro() if isinstance(c, ClassObj))


def _wrapper_model(it: Interpreter, cls: ClassObj, args: list[Any], kwargs: dict[str, Any],
                   node: ast.AST | None) -> Instance:
    """A ``keras.Model`` subclass without ``call``: its ``__init__`` runs. Passing
    ``inputs`` and ``outputs`` to ``super().__init__`` makes it a Functional of its class;
    otherwise (a GAN, a VAE overriding only ``train_step`` / ``compile``) it adds no
    graph of its own, and the models it is given or builds are read."""
    inst = Instance(cls)
    it.session.custom_sites[id(inst)] = (it.span(node), tuple(it.scope))
    found, init = cls.lookup("__init__")
    if found:
        it.call(it.bind(init, inst), args, kwargs, node)
    return inst


def _dataclass_init(it: Interpreter, inst: Instance, fields: list[str], args: list[Any],
                    kwargs: dict[str, Any], node: ast.AST | None) -> None:
    for name, value in zip(fields, args, strict=False):
        inst.attrs[name] = value
    for k, v in kwargs.items():
        inst.attrs[k] = v


def dataclass_decorator(it: Interpreter, args: list[Any], kwargs: dict[str, Any],
                        node: ast.AST | None) -> Any:
    """``@dataclass``: an ``__init__`` over the annotated fields (defaults from the body)."""
    if not args:
        return Builtin("decorator:dataclass", dataclass_decorator)
    cls = args[0]
    if isinstance(cls, ClassObj):
        order = cls.namespace.get("__annotations_order__", [])
        fields = [n for n in order if isinstance(n, str)]
        cls.namespace["__dataclass_fields__"] = fields
        defaults = {n: cls.namespace[n] for n in fields if n in cls.namespace}
        init = Builtin("method:__init__",
                       lambda it2, a, k, n: _dc_init(it2, fields, defaults, a, k, n))
        cls.namespace["__init__"] = init
    return cls


def _dc_init(it: Interpreter, fields: list[str], defaults: dict[str, Any], args: list[Any],
             kwargs: dict[str, Any], node: ast.AST | None) -> None:
    inst = args[0]
    values = dict(defaults)
    for name, value in zip(fields, args[1:], strict=False):
        values[name] = value
    values.update(kwargs)
    if isinstance(inst, Instance):
        for name in fields:
            if name not in values:
                it.raise_py("TypeError", f"missing argument {name!r}", node)
            inst.attrs[name] = values[name]


def class_attr(it: Interpreter, obj: Any, name: str, node: ast.AST | None) -> Any:
    """Attribute lookup on classes, instances, ``super()``, functions and exceptions."""
    if isinstance(obj, Instance):
        if name in obj.attrs:
            return obj.attrs[name]
        found, value = obj.cls.lookup(name)
        if found:
            if isinstance(value, Function) and value.kind == "property":
                return it.call(value, [obj], {}, node)
            if isinstance(value, Function) and value.kind == "classmethod":
                return BoundMethod(value, obj.cls)
            return it.bind(value, obj)
        if obj.cls.keras_base in ("Layer", "Model"):
            from convcalc.frontend.custom_layers import keras_layer_base_attr

            return keras_layer_base_attr(it, obj, name, node)
        if name == "__class__":
            return obj.cls
        if name == "__dict__":
            return obj.attrs
        found_ga, getattr_ = obj.cls.lookup("__getattr__")
        if found_ga:
            return it.call(it.bind(getattr_, obj), [name], {}, node)
        it.raise_py("AttributeError", f"'{obj.cls.name}' object has no attribute {name!r}", node)
    if isinstance(obj, ClassObj):
        found, value = obj.lookup(name)
        if found:
            if isinstance(value, Function) and value.kind == "classmethod":
                return BoundMethod(value, obj)
            return value
        if name == "__name__":
            return obj.name
        if obj.keras_base is not None or _unmodelled_base(obj) is not None:
            return Unknown(f"{obj.name}.{name}", name)
        it.raise_py("AttributeError", f"type object {obj.name!r} has no attribute {name!r}",
                    node)
    if isinstance(obj, SuperProxy):
        mro = obj.cls.mro()
        for c in mro[1:]:
            if name in c.namespace:
                return it.bind(c.namespace[name], obj.receiver)
        if obj.cls.keras_base in ("Layer", "Model"):
            from convcalc.frontend.custom_layers import keras_layer_base_attr

            return keras_layer_base_attr(it, obj.receiver, name, node)
        if name == "__init__":
            return Builtin("object.__init__", lambda it2, a, k, n: None)
        return Unknown(f"super().{name}", name)
    if isinstance(obj, Function):
        if name in obj.attrs:
            return obj.attrs[name]
        if name in ("__name__", "__qualname__"):
            return obj.name
        if name == "__doc__":
            return ast.get_docstring(obj.node) if not isinstance(obj.node, ast.Lambda) else None
        return Unknown(f"{obj.name}.{name}", name)
    if isinstance(obj, BoundMethod):
        if name == "__self__":
            return obj.receiver
        return class_attr(it, obj.function, name, node)
    if isinstance(obj, ExceptionInst):
        if name == "args":
            return obj.args
        return Unknown(f"exception.{name}", name)
    return Unknown(f"{name}", name)


def set_instance_attr(it: Interpreter, obj: Instance, name: str, value: Any,
                      node: ast.AST | None) -> None:
    found, prop = obj.cls.lookup(name)
    if found and isinstance(prop, Function) and prop.kind == "property":
        return
    obj.attrs[name] = value
    if obj.layer is not None:
        from convcalc.frontend.custom_layers import custom_layer_setattr

        custom_layer_setattr(it, obj, name, value)


def _dunder(it: Interpreter, obj: Any, method: str, args: list[Any],
            node: ast.AST | None) -> tuple[bool, Any]:
    if not isinstance(obj, Instance):
        return False, None
    found, fn = obj.cls.lookup(method)
    if not found:
        return False, None
    return True, it.call(it.bind(fn, obj), args, {}, node)


_BINOP_DUNDERS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "//": "floordiv",
                  "%": "mod", "**": "pow", "@": "matmul"}


def instance_binop(it: Interpreter, op: str, a: Any, b: Any, node: ast.AST | None) -> Any:
    name = _BINOP_DUNDERS.get(op)
    if name is not None:
        ok, value = _dunder(it, a, f"__{name}__", [b], node)
        if ok:
            return value
        ok, value = _dunder(it, b, f"__r{name}__", [a], node)
        if ok:
            return value
    if op in ("==",):
        return a is b
    return Unknown(f"{a!r} {op} {b!r}")


def instance_contains(it: Interpreter, obj: Instance, item: Any,
                      node: ast.AST | None) -> bool | None:
    ok, value = _dunder(it, obj, "__contains__", [item], node)
    if ok:
        return it.truth(value, node)
    return None


def instance_truth(it: Interpreter, obj: Instance, node: ast.AST | None) -> bool | None:
    ok, value = _dunder(it, obj, "__bool__", [], node)
    if ok:
        return it.truth(value, node)
    ok, value = _dunder(it, obj, "__len__", [], node)
    if ok:
        return it.truth(value, node)
    return True


def instance_getitem(it: Interpreter, obj: Any, index: Any, node: ast.AST | None) -> Any:
    if isinstance(obj, ClassObj):
        ok, value = (False, None)
        found, fn = obj.lookup("__class_getitem__")
        if found:
            return it.call(fn, [obj, index], {}, node)
        return obj
    ok, value = _dunder(it, obj, "__getitem__", [index], node)
    if ok:
        return value
    return Unknown(f"{obj!r}[...]")


def instance_setitem(it: Interpreter, obj: Instance, index: Any, value: Any,
                     node: ast.AST | None) -> None:
    _dunder(it, obj, "__setitem__", [index, value], node)


def instance_iter(it: Interpreter, obj: Instance, node: ast.AST | None) -> list[Any] | None:
    ok, value = _dunder(it, obj, "__iter__", [], node)
    if ok:
        if isinstance(value, Iterator):
            return value.items[value.pos:]
        return it.materialize(value, node)
    return None


def variable_arith(it: Interpreter, op: str, operands: list[Any], node: ast.AST) -> Any:
    from convcalc.frontend.custom_layers import variable_arith as impl

    return impl(it, op, operands, node)


# ------------------------------------------------------------------ isinstance & co
def isinstance_builtin(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v, kind = args[0], args[1]
    r = instance_of(v, kind)
    return Unknown("isinstance(...)") if r is None else r


def instance_of(v: Any, kind: Any) -> bool | None:
    """``isinstance(v, kind)`` on abstract values; None when unknown."""
    from convcalc.frontend.objects import LayerObj, ModelObj

    if type(kind) is tuple:
        results = [instance_of(v, k) for k in kind]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if type(v) is Unknown or type(kind) is Unknown:
        return None
    t = type(v)
    if isinstance(kind, BuiltinType):
        if kind.py is None:
            return False
        if t is SymInt:
            return kind.py in (int, float, object)
        if t is Iterator:
            return False
        if t is ExceptionInst:
            return exception_matches(v, kind)
        if ops.is_plain(v) or t in (list, tuple, dict, set, frozenset, range, slice):
            return isinstance(v, kind.py)
        return kind.name == "object"
    if isinstance(kind, ClassObj):
        return t is Instance and kind in v.cls.mro()
    if isinstance(kind, KerasRef):
        name = kind.path[-1]
        if t is Tensor:
            return "Tensor" in name or name == "Variable"
        if t is LayerObj:
            return name in ("Layer", "Operation")
        if t is ModelObj:
            return name in ("Layer", "Model", "Functional", "Sequential", "Operation") and (
                name != "Sequential" or v.kind == "Sequential")
        if t is Instance and v.layer is not None:
            return name in ("Layer", "Operation")
        return False
    if isinstance(kind, LayerClass):
        if t is LayerObj:
            return bool(v.layer.class_name == kind.class_name)
        return False
    if isinstance(kind, Builtin) and kind.name in ("keras.Model", "keras.Sequential"):
        return t is ModelObj and (kind.name == "keras.Model" or v.kind == "Sequential")
    return None


def issubclass_builtin(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    a, b = args[0], args[1]
    if isinstance(a, BuiltinType) and isinstance(b, BuiltinType) and a.py and b.py:
        return issubclass(a.py, b.py)
    if isinstance(a, ClassObj) and isinstance(b, ClassObj):
        return b in a.mro()
    return Unknown("issubclass(...)")


def type_builtin(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    from convcalc.frontend import pybuiltins

    if len(args) != 1:
        return Unknown("type(...)")
    v = args[0]
    if isinstance(v, Instance):
        return v.cls
    if ops.is_plain(v) or type(v) in (list, tuple, dict, set, frozenset, range, slice):
        return pybuiltins.TYPES.get(type(v).__name__, Unknown("type(...)"))
    if isinstance(v, SymInt):
        return pybuiltins.TYPES["int"]
    return Unknown(f"type({v!r})")
