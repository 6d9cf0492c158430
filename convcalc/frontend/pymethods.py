"""Methods of Python's own types (str, list, dict, set, tuple...) on abstract values;
those that could build huge values are bounded."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from convcalc.frontend import operators as ops
from convcalc.frontend.pybuiltins import (
    call_plain,
    sort_list,
)
from convcalc.frontend.values import (
    Args,
    BoundMethod,
    Builtin,
    BuiltinType,
    ContextValue,
    Iterator,
    KerasRef,
    Kwargs,
    LayerClass,
    SymInt,
    SyntaxNode,
    Unknown,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter



_STR_PURE = {
    "upper", "lower", "strip", "lstrip", "rstrip", "startswith", "endswith", "find", "rfind",
    "index", "rindex", "count", "capitalize", "title", "isdigit", "isalpha", "isnumeric",
    "isalnum", "isspace", "isupper", "islower", "isidentifier", "isdecimal", "splitlines",
    "partition", "rpartition", "casefold", "swapcase", "removeprefix", "removesuffix",
    "split", "rsplit",
}
_STR_WIDTH = {"ljust", "rjust", "center", "zfill", "expandtabs"}


def _str_method(it: Interpreter, s: str, name: str, node: SyntaxNode) -> Any:
    if name in _STR_PURE or name in _STR_WIDTH:
        def impl(it2: Interpreter, args: Args, kwargs: Kwargs, n: SyntaxNode) -> Any:
            a = args[1:]
            if not all(ops.is_plain(x) or type(x) is tuple for x in [*a, *kwargs.values()]):
                return Unknown(f"str.{name}(...)")
            if name in _STR_WIDTH and any(type(x) is int and x > ops.MAX_FORMAT_WIDTH
                                          for x in a):
                it2.budget(f"str.{name} to a width of {a[0]}", n)
            return it2.guard(lambda: call_plain(getattr(s, name), [*a]) if not kwargs
                             else getattr(s, name)(*a, **kwargs), n)

        return Builtin(f"str.{name}", impl).bind(s)
    if name == "join":
        def join(it2: Interpreter, args: Args, kwargs: Kwargs, n: SyntaxNode) -> Any:
            items = it2.materialize(args[1], n)
            if items is None or not all(type(x) is str for x in items):
                return Unknown("str.join(...)")
            total = sum(len(x) for x in items) + len(s) * max(len(items) - 1, 0)
            ops._check_len(total)
            return s.join(items)

        return Builtin("str.join", join).bind(s)
    if name == "replace":
        def replace(it2: Interpreter, args: Args, kwargs: Kwargs, n: SyntaxNode) -> Any:
            a = args[1:]
            if len(a) < 2 or not all(type(x) is str for x in a[:2]):
                return Unknown("str.replace(...)")
            old, new = a[0], a[1]
            bound = len(s) + (len(s) // max(len(old), 1) + 1) * len(new)
            ops._check_len(bound)
            return s.replace(old, new, *a[2:3])

        return Builtin("str.replace", replace).bind(s)
    if name == "format":
        def fmt(it2: Interpreter, args: Args, kwargs: Kwargs, n: SyntaxNode) -> Any:
            return _str_format(it2, s, args[1:], kwargs, n)

        return Builtin("str.format", fmt).bind(s)
    it.raise_py("AttributeError", f"'str' object has no attribute {name!r}", node)


def _str_format(it: Interpreter, s: str, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    import string

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(s) if f]
    except ValueError as e:
        it.raise_py("ValueError", str(e), node)
    if any("." in f or "[" in f for f in fields):
        return Unknown("str.format(...)")
    values: list[Any] = []
    for a in args:
        if type(a) is Unknown:
            return Unknown("str.format(...)")
        values.append(a if ops.is_plain(a) else ops.py_str(a))
    kw: dict[str, Any] = {}
    for k, v in kwargs.items():
        if type(v) is Unknown:
            return Unknown("str.format(...)")
        kw[k] = v if ops.is_plain(v) else ops.py_str(v)
    ops.check_format(s, tuple(values), kw)

    def run() -> str:
        try:
            return s.format(*values, **kw)
        except (IndexError, KeyError, ValueError) as e:
            raise ops.PyError(type(e).__name__, str(e)) from None

    out = it.guard(run, node)
    if isinstance(out, str):
        ops._check_len(len(out))
    return out


def _list_method(it: Interpreter, lst: list[Any], name: str, node: SyntaxNode) -> Any:
    def m(fn: Callable[[Interpreter, Args, Kwargs, SyntaxNode], Any]) -> Builtin:
        return Builtin(f"list.{name}", lambda it2, a, k, n: fn(it2, a[1:], k, n)).bind(lst)

    if name == "append":
        def append(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            ops._check_len(len(lst) + 1)
            lst.append(a[0])
            return None
        return m(append)
    if name == "extend":
        def extend(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            items = it2.materialize(a[0], n)
            if items is None:
                lst.append(Unknown("an unknown list extension"))
                return None
            ops._check_len(len(lst) + len(items))
            lst.extend(items)
            return None
        return m(extend)
    if name == "insert":
        return m(lambda it2, a, k, n: lst.insert(a[0], a[1]) if type(a[0]) is int else None)
    if name == "pop":
        def pop(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            try:
                return lst.pop(*a) if all(type(x) is int for x in a) else Unknown("pop")
            except IndexError as e:
                it2.raise_py("IndexError", str(e), n)
        return m(pop)
    if name in ("index", "count", "remove"):
        def search(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            matches = [ops.eq(a[0], x) for x in lst]
            if name == "count":
                return Unknown("count") if None in matches else matches.count(True)
            for i, r in enumerate(matches):
                if r is None:
                    return Unknown(name)
                if r:
                    if name == "index":
                        return i
                    del lst[i]
                    return None
            it2.raise_py("ValueError", f"list.{name}(x): x not in list", n)
        return m(search)
    if name == "reverse":
        return m(lambda it2, a, k, n: lst.reverse())
    if name == "sort":
        def sort(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            out = sort_list(it2, lst, k, n)
            if isinstance(out, list):
                lst[:] = out
            return None
        return m(sort)
    if name == "copy":
        return m(lambda it2, a, k, n: list(lst))
    if name == "clear":
        return m(lambda it2, a, k, n: lst.clear())
    it.raise_py("AttributeError", f"'list' object has no attribute {name!r}", node)


def _dict_method(it: Interpreter, d: dict[Any, Any], name: str, node: SyntaxNode) -> Any:
    def m(fn: Callable[[Interpreter, Args, Kwargs, SyntaxNode], Any]) -> Builtin:
        return Builtin(f"dict.{name}", lambda it2, a, k, n: fn(it2, a[1:], k, n)).bind(d)

    def safe(fn: Callable[[], Any], it2: Interpreter, n: SyntaxNode) -> Any:
        try:
            return fn()
        except TypeError as e:
            it2.raise_py("TypeError", str(e), n)
        except KeyError as e:
            it2.raise_py("KeyError", str(e), n)

    if name == "get":
        return m(lambda it2, a, k, n: safe(lambda: d.get(a[0], a[1] if len(a) > 1 else None),
                                            it2, n))
    if name == "items":
        return m(lambda it2, a, k, n: list(d.items()))
    if name == "keys":
        return m(lambda it2, a, k, n: list(d.keys()))
    if name == "values":
        return m(lambda it2, a, k, n: list(d.values()))
    if name == "update":
        def update(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            if a and type(a[0]) is dict:
                d.update(a[0])
            elif a:
                items = it2.materialize(a[0], n)
                for pair in items or []:
                    if type(pair) in (list, tuple) and len(pair) == 2:
                        safe(partial(d.__setitem__, pair[0], pair[1]), it2, n)
            d.update(k)
            return None
        return m(update)
    if name == "pop":
        return m(lambda it2, a, k, n: safe(lambda: d.pop(*a), it2, n))
    if name == "setdefault":
        return m(lambda it2, a, k, n: safe(lambda: d.setdefault(a[0], a[1] if len(a) > 1
                                                                 else None), it2, n))
    if name == "copy":
        return m(lambda it2, a, k, n: dict(d))
    if name == "clear":
        return m(lambda it2, a, k, n: d.clear())
    if name == "popitem":
        return m(lambda it2, a, k, n: safe(d.popitem, it2, n))
    it.raise_py("AttributeError", f"'dict' object has no attribute {name!r}", node)


def _set_method(it: Interpreter, s: set[Any], name: str, node: SyntaxNode) -> Any:
    if name in ("add", "discard", "remove"):
        def mutate(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            try:
                getattr(s, name)(a[1])
            except (KeyError, TypeError) as e:
                it2.raise_py(type(e).__name__, str(e), n)
            return None
        return Builtin(f"set.{name}", mutate).bind(s)
    if name in ("union", "intersection", "difference", "issubset", "issuperset", "update",
                "symmetric_difference", "isdisjoint", "copy"):
        def combine(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            others = [it2.materialize(x, n) for x in a[1:]]
            if any(o is None for o in others):
                return Unknown(f"set.{name}(...)")
            try:
                return getattr(s, name)(*others)
            except TypeError as e:
                it2.raise_py("TypeError", str(e), n)
        return Builtin(f"set.{name}", combine).bind(s)
    it.raise_py("AttributeError", f"'set' object has no attribute {name!r}", node)


def native_attr(it: Interpreter, obj: Any, name: str, node: SyntaxNode) -> Any:
    """Attributes and methods of Python's own types on abstract values."""
    t = type(obj)
    if t is str:
        return _str_method(it, obj, name, node)
    if t is list:
        return _list_method(it, obj, name, node)
    if t is dict:
        return _dict_method(it, obj, name, node)
    if t in (set, frozenset):
        return _set_method(it, obj, name, node)
    if t is tuple and name == "as_list":  # TF's TensorShape.as_list() on a shape
        return Builtin("as_list", lambda it2, a, k, n: list(a[0])).bind(obj)
    if t is tuple and name in ("index", "count"):
        def search(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            matches = [ops.eq(a[1], x) for x in obj]
            if None in matches:
                return Unknown(f"tuple.{name}")
            if name == "count":
                return matches.count(True)
            if True in matches:
                return matches.index(True)
            it2.raise_py("ValueError", "tuple.index(x): x not in tuple", n)
        return Builtin(f"tuple.{name}", search).bind(obj)
    if t in (int, float, bool) and name in ("is_integer", "bit_length", "real", "imag",
                                            "conjugate", "as_integer_ratio"):
        attr = getattr(obj, name)
        if callable(attr):
            return Builtin(f"{t.__name__}.{name}",
                           lambda it2, a, k, n: call_plain(attr, [])).bind(obj)
        return attr
    if t is SymInt:
        return Unknown(f"{obj}.{name}", name)
    if t is range and name in ("start", "stop", "step"):
        return getattr(obj, name)
    if t is slice and name in ("start", "stop", "step"):
        return getattr(obj, name)
    if t is BuiltinType:
        if name == "__name__":
            return obj.name
        if name == "fromkeys" and obj.name == "dict":
            return Builtin("dict.fromkeys", lambda it2, a, k, n: {
                x: (a[1] if len(a) > 1 else None) for x in (it2.materialize(a[0], n) or [])})
        return Unknown(f"{obj.name}.{name}", name)
    if t is Iterator:
        return Unknown(f"iterator.{name}", name)
    if t in (BoundMethod, Builtin, ContextValue, KerasRef, LayerClass):
        return Unknown(f"{obj!r}.{name}", name)
    it.raise_py("AttributeError", f"'{t.__name__}' object has no attribute {name!r}", node)
    return None


