"""Python's data model on abstract values: attributes, items and iteration."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from convcalc.frontend import operators as ops
from convcalc.frontend.models import set_trainable
from convcalc.frontend.objects import LayerObj, ModelObj
from convcalc.frontend.values import (
    BoundMethod,
    Builtin,
    ClassObj,
    ExceptionInst,
    Function,
    Instance,
    Iterator,
    KerasRef,
    LayerClass,
    ModuleObj,
    PyModule,
    SuperProxy,
    Tensor,
    Unknown,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter


def get_attr(it: Interpreter, obj: Any, name: str, node: ast.AST | None) -> Any:
    from convcalc.frontend import classes, keras_api, pymethods

    t = type(obj)
    if t is Unknown:
        return Unknown(it.text(node) if node is not None else f"{obj.origin}.{name}",
                       name, node)
    if t is KerasRef:
        return keras_api.keras_attr(it, obj, name, node)
    if t is ModuleObj:
        if name in obj.namespace:
            return obj.namespace[name]
        return it.loader.module_attr(it, obj, name, node)
    if t is PyModule:
        if name in obj.members:
            return obj.members[name]
        return Unknown(f"{obj.name}.{name}", name)
    if t is Tensor:
        return keras_api.tensor_attr(it, obj, name, node)
    if t is LayerObj:
        return keras_api.layer_attr(it, obj, name, node)
    if t is ModelObj:
        return keras_api.model_attr(it, obj, name, node)
    if t in (ClassObj, Instance, SuperProxy, Function, BoundMethod, ExceptionInst):
        return classes.class_attr(it, obj, name, node)
    if t is LayerClass:
        if name == "__name__":
            return obj.class_name
        return Unknown(f"{obj.class_name}.{name}", name)
    if t is Builtin:
        if name == "__name__":
            return obj.name
        return Unknown(f"{obj.name}.{name}", name)
    return pymethods.native_attr(it, obj, name, node)


def set_attr(it: Interpreter, obj: Any, name: str, value: Any, node: ast.AST | None) -> None:
    t = type(obj)
    if t is Instance:
        from convcalc.frontend.classes import set_instance_attr

        set_instance_attr(it, obj, name, value, node)
    elif t is LayerObj or t is ModelObj:
        if name == "trainable" and isinstance(value, bool):
            set_trainable(obj, value, it.session)
        else:
            obj.attrs[name] = value
    elif t is Function or t is ClassObj:
        (obj.attrs if t is Function else obj.namespace)[name] = value
    elif t is ModuleObj:
        obj.namespace[name] = value
    elif ops.is_plain(obj) or t in (list, tuple, dict, set):
        it.raise_py("AttributeError",
                    f"'{t.__name__}' object attribute {name!r} cannot be set", node)


def subscript(it: Interpreter, obj: Any, index: Any, node: ast.AST | None) -> Any:
    t = type(obj)
    if t is Unknown or type(index) is Unknown:
        return Unknown(it.text(node) if node is not None else "item", None, node)
    if t in (list, tuple, str, bytes, range):
        if type(index) is slice:
            parts = (index.start, index.stop, index.step)
            if not all(p is None or type(p) in (int, bool) for p in parts):
                return Unknown(it.text(node) if node is not None else "slice")
            return obj[index]
        if type(index) in (int, bool):
            try:
                return obj[index]
            except IndexError as e:
                it.raise_py("IndexError", str(e), node)
        return Unknown(it.text(node) if node is not None else "item")
    if t is dict:
        try:
            return obj[index]
        except KeyError:
            it.raise_py("KeyError", ops.py_repr(index), node)
        except TypeError as e:
            it.raise_py("TypeError", str(e), node)
    if t is Tensor:
        from convcalc.frontend.keras_api import tensor_getitem

        return tensor_getitem(it, obj, index, node)
    if t is Instance or t is ClassObj:
        from convcalc.frontend.classes import instance_getitem

        return instance_getitem(it, obj, index, node)
    return Unknown(it.text(node) if node is not None else "item", None, node)


def set_item(it: Interpreter, obj: Any, index: Any, value: Any, node: ast.AST | None) -> None:
    t = type(obj)
    if t is list:
        if type(index) in (int, bool):
            try:
                obj[index] = value
            except IndexError as e:
                it.raise_py("IndexError", str(e), node)
        elif type(index) is slice:
            items = it.materialize(value, node)
            if items is not None:
                obj[index] = items
    elif t is dict:
        try:
            obj[index] = value
        except TypeError as e:
            it.raise_py("TypeError", str(e), node)
    elif t is Instance:
        from convcalc.frontend.classes import instance_setitem

        instance_setitem(it, obj, index, value, node)
    elif t is tuple or t is str:
        it.raise_py("TypeError", f"'{t.__name__}' object does not support item "
                    "assignment", node)


def iterate(it: Interpreter, value: Any, node: ast.AST | None) -> Iterable[Any] | None:
    """The items of an iterable value, or None when they cannot be known."""
    t = type(value)
    if t in (list, tuple, str, bytes, range):
        return value  # type: ignore[no-any-return]
    if t is dict:
        return list(value)
    if t in (set, frozenset):
        return list(value)
    if t is Iterator:
        items = value.items[value.pos:]
        value.pos = len(value.items)
        return items  # type: ignore[no-any-return]
    if t is Instance:
        from convcalc.frontend.classes import instance_iter

        return instance_iter(it, value, node)
    if t is ModelObj and value.kind == "Sequential":
        return None
    return None


def materialize(it: Interpreter, value: Any, node: ast.AST | None) -> list[Any] | None:
    """The items of an iterable as a list (bounded), or None when unknown."""
    if type(value) is range and len(value) > ops.MAX_SEQUENCE:
        it.budget(f"a range of {len(value):,} items", node)
    items = it.iterate(value, node)
    if items is None:
        return None
    out = list(items)
    ops._check_len(len(out))
    if len(out) > 4096:
        it.charge(len(out), node)
    return out
