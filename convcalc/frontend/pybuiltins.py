"""Python's builtins on abstract values (library modules are in
:mod:`convcalc.frontend.pylibs`, methods of Python's types in
:mod:`convcalc.frontend.pymethods`).

Only pure, bounded operations are carried out. Everything with an effect on the outside
world (``open``, ``exec``, ``__import__``, modules such as ``os`` or ``subprocess``...)
only ever gives an unknown value: nothing is run.
"""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.frontend import operators as ops
from convcalc.frontend.values import (
    Args,
    Builtin,
    BuiltinType,
    ClassObj,
    ExceptionInst,
    Function,
    Instance,
    Iterator,
    Kwargs,
    SuperProxy,
    SymInt,
    SyntaxNode,
    Tensor,
    Unknown,
    as_dim,
    make_int,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter

Impl = Callable[["Interpreter", Args, Kwargs, SyntaxNode], Any]


def _unknown_arg(args: Args) -> bool:
    return any(type(a) is Unknown for a in args)


# ------------------------------------------------------------------ exceptions
_EXCEPTION_TREE = {
    "BaseException": None, "Exception": "BaseException", "ArithmeticError": "Exception",
    "ZeroDivisionError": "ArithmeticError", "OverflowError": "ArithmeticError",
    "LookupError": "Exception", "KeyError": "LookupError", "IndexError": "LookupError",
    "ValueError": "Exception", "TypeError": "Exception", "AttributeError": "Exception",
    "NameError": "Exception", "UnboundLocalError": "NameError", "RuntimeError": "Exception",
    "NotImplementedError": "RuntimeError", "RecursionError": "RuntimeError",
    "AssertionError": "Exception", "ImportError": "Exception",
    "ModuleNotFoundError": "ImportError", "OSError": "Exception", "IOError": "Exception",
    "FileNotFoundError": "OSError", "StopIteration": "Exception",
    "KeyboardInterrupt": "BaseException", "SystemExit": "BaseException",
    "Warning": "Exception", "UserWarning": "Warning", "DeprecationWarning": "Warning",
    "RuntimeWarning": "Warning", "FutureWarning": "Warning",
}


@cache
def exception_type(name: str) -> BuiltinType:
    """The builtin exception class ``name`` (unknown names derive from Exception)."""
    parent = _EXCEPTION_TREE.get(name, "Exception")
    base = exception_type(parent) if parent is not None else None
    py = getattr(builtins, name, Exception)

    def make(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        return ExceptionInst(exception_type(name), tuple(args))

    return BuiltinType(name, py, make, base)


# ----------------------------------------------------------- conversions
def _int(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if not args:
        return 0
    v = args[0]
    t = type(v)
    if t is Unknown:
        return v
    if t in (int, bool):
        return int(v)
    if t is SymInt or t is float:
        return it.guard(lambda: ops.floor_value(v) if (t is SymInt or v >= 0) else math.ceil(v),
                        node)
    if t is str:
        if len(v) > 1000:
            it.budget("int() of a very long string", node)
        try:
            base = args[1] if len(args) > 1 else kwargs.get("base", 10)
            return int(v, base)
        except (ValueError, TypeError) as e:
            it.raise_py("ValueError", str(e), node)
    if t is Tensor:
        return Unknown("int(tensor)")
    it.raise_py("TypeError", f"int() argument must be a number, not {t.__name__}", node)


def _float(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if not args:
        return 0.0
    v = args[0]
    if type(v) in (int, float, bool):
        return it.guard(lambda: float(v), node)
    if type(v) is str:
        try:
            return float(v[:1000])
        except ValueError as e:
            it.raise_py("ValueError", str(e), node)
    if type(v) is SymInt:
        return v
    return Unknown("float(...)")


def _bool(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if not args:
        return False
    t = it.truth(args[0], node)
    return Unknown("bool(...)") if t is None else t


def _str(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if not args:
        return ""
    if type(args[0]) is Unknown:
        return Unknown(f"str({args[0].origin})")
    return it.guard(lambda: ops.py_str(args[0]), node)


def _repr(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if type(args[0]) is Unknown:
        return Unknown(f"repr({args[0].origin})")
    return it.guard(lambda: ops.py_repr(args[0]), node)


def _container(kind: type) -> Impl:
    def make(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        if not args:
            return dict(kwargs) if kind is dict else kind()
        v = args[0]
        if kind is dict:
            if type(v) is dict:
                out = dict(v)
            else:
                items = it.materialize(v, node)
                if items is None:
                    return Unknown("dict(...)")
                out = {}
                for pair in items:
                    pair_items = it.materialize(pair, node)
                    if pair_items is None or len(pair_items) != 2:
                        return Unknown("dict(...)")
                    try:
                        out[pair_items[0]] = pair_items[1]
                    except TypeError as e:
                        it.raise_py("TypeError", str(e), node)
            out.update(kwargs)
            return out
        items = it.materialize(v, node)
        if items is None:
            return Unknown(f"{kind.__name__}(...)")
        try:
            return kind(items)
        except TypeError as e:
            it.raise_py("TypeError", str(e), node)

    return make


# ----------------------------------------------------------- builtins
def _len(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0]
    t = type(v)
    if t in (list, tuple, str, bytes, dict, set, frozenset, range):
        return len(v)
    if t is Iterator:
        return len(v.items) - v.pos
    if t is Instance:
        found, fn = v.cls.lookup("__len__")
        if found:
            return it.call(it.bind(fn, v), [], {}, node)
    if t is Unknown:
        return Unknown(f"len({v.origin})", f"len_{v.name}" if v.name else None)
    if t is Tensor:
        return Unknown("len(tensor)")
    it.raise_py("TypeError", f"object of type '{t.__name__}' has no len()", node)


def range_of(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if not all(type(a) in (int, bool) for a in args):
        return Unknown(f"range({', '.join(ops.py_str(a) for a in args)})")
    try:
        return range(*args)
    except (TypeError, ValueError) as e:
        it.raise_py(type(e).__name__, str(e), node)


def _items_of(it: Interpreter, args: Args, node: SyntaxNode) -> list[Any] | None:
    if len(args) == 1:
        return it.materialize(args[0], node)
    return list(args)


def _min_max(which: str) -> Impl:
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        items = _items_of(it, args, node)
        if items is None or _unknown_arg(items):
            return Unknown(f"{which}(...)")
        if not items:
            if "default" in kwargs:
                return kwargs["default"]
            it.raise_py("ValueError", f"{which}() arg is an empty sequence", node)
        key = kwargs.get("key")
        keys = [it.call(key, [x], {}, node) for x in items] if key is not None else items
        if all(type(k) in (int, float, bool, str) for k in keys):
            pick = max if which == "max" else min
            try:
                idx = pick(range(len(items)), key=lambda i: keys[i])
            except TypeError as e:
                it.raise_py("TypeError", str(e), node)
            return items[idx]
        if all(type(k) in (int, SymInt, float) for k in keys) and key is None:
            ds = [as_dim(k) if type(k) is not float else None for k in keys]
            if any(d is None for d in ds):
                return Unknown(f"{which}(...)")
            best: Any = ds[0]
            for d in ds[1:]:
                best = dims.maximum(best, d) if which == "max" else _sym_min(best, d)
            return make_int(best)
        return Unknown(f"{which}(...)")

    return impl


def _sym_min(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return min(a, b)
    import sympy

    return dims.normalize(sympy.Min(dims.to_expr(a), dims.to_expr(b)))


def _sum(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    items = it.materialize(args[0], node)
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if items is None:
        return Unknown("sum(...)")
    total = start
    for x in items:
        it.tick(node)
        total = it.binop("+", total, x, node) if node is not None else ops.binop("+", total, x)
    return total


def _abs(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0]
    if type(v) in (int, float, bool):
        return abs(v)
    if type(v) is SymInt:
        import sympy

        return ops._sym_result(sympy.Abs(dims.to_expr(v.dim)))
    if type(v) is Tensor:
        return it.tensor_arith("abs", [v], node) if node is not None else Unknown("abs")
    return Unknown("abs(...)")


def _round(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0]
    nd = args[1] if len(args) > 1 else kwargs.get("ndigits")
    if type(v) in (int, float, bool) and (nd is None or type(nd) is int):
        return it.guard(lambda: round(v, nd) if nd is not None else round(v), node)
    if type(v) is SymInt and nd is None:
        return ops.floor_value(ops.binop("+", v, 0.5))
    return Unknown("round(...)")


def _sorted(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    items = it.materialize(args[0], node)
    if items is None:
        return Unknown("sorted(...)")
    return sort_list(it, items, kwargs, node)


def sort_list(it: Interpreter, items: list[Any], kwargs: Kwargs, node: SyntaxNode) -> Any:
    it.charge(len(items) * max(len(items).bit_length(), 1), node)
    key = kwargs.get("key")
    reverse = kwargs.get("reverse", False) is True
    keys = [it.call(key, [x], {}, node) for x in items] if key is not None else list(items)
    if not all(ops.is_plain(k) or type(k) is tuple for k in keys):
        return Unknown("sorted(...)")
    try:
        order = sorted(range(len(items)), key=lambda i: keys[i], reverse=reverse)
    except TypeError as e:
        it.raise_py("TypeError", str(e), node)
    return [items[i] for i in order]


def _reversed(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    items = it.materialize(args[0], node)
    return Unknown("reversed(...)") if items is None else Iterator(items[::-1])


def _enumerate(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    items = it.materialize(args[0], node)
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if items is None or type(start) is not int:
        return Unknown("enumerate(...)")
    return Iterator([(start + i, x) for i, x in enumerate(items)])


def _zip(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    lists = [it.materialize(a, node) for a in args]
    if any(x is None for x in lists):
        return Unknown("zip(...)")
    if kwargs.get("strict") is True and len({len(x) for x in lists}) > 1:  # type: ignore[arg-type]
        it.raise_py("ValueError", "zip() arguments have different lengths", node)
    return Iterator([tuple(t) for t in zip(*lists, strict=False)])


def _map(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    fn = args[0]
    lists = [it.materialize(a, node) for a in args[1:]]
    if any(x is None for x in lists):
        return Unknown("map(...)")
    return Iterator([it.call(fn, list(t), {}, node)
                     for t in zip(*lists, strict=False)])


def _filter(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    fn, items = args[0], it.materialize(args[1], node)
    if items is None:
        return Unknown("filter(...)")
    out = []
    for x in items:
        t = it.truth(x if fn is None else it.call(fn, [x], {}, node), node)
        if t is None:
            return Unknown("filter(...)")
        if t:
            out.append(x)
    return Iterator(out)


def _any_all(which: str) -> Impl:
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        items = it.materialize(args[0], node)
        if items is None:
            return Unknown(f"{which}(...)")
        unknown = False
        for x in items:
            t = it.truth(x, node)
            if t is None:
                unknown = True
            elif t is (which == "any"):
                return t
        return Unknown(f"{which}(...)") if unknown else (which == "all")

    return impl


def _hasattr(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    from convcalc.frontend.scopes import UserException

    try:
        v = it.get_attr(args[0], args[1], node) if isinstance(args[1], str) else None
    except UserException:
        return False
    return Unknown("hasattr(...)") if isinstance(v, Unknown) else True


def _getattr(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    from convcalc.frontend.scopes import UserException

    if not isinstance(args[1], str):
        return Unknown("getattr(...)")
    if len(args) > 2:
        try:
            return it.get_attr(args[0], args[1], node)
        except UserException:
            return args[2]
    return it.get_attr(args[0], args[1], node)


def _setattr(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if isinstance(args[1], str):
        it.set_attr(args[0], args[1], args[2], node)
    return None


def _callable(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0]
    if type(v) is Unknown:
        return Unknown("callable(...)")
    if ops.is_plain(v) or type(v) in (list, tuple, dict, set):
        return False
    if type(v) is Instance:
        return v.cls.lookup("__call__")[0] or v.layer is not None
    return True


def _iter(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if type(args[0]) is Iterator:
        return args[0]
    items = it.materialize(args[0], node)
    return Unknown("iter(...)") if items is None else Iterator(items)


def _next(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0]
    if type(v) is Iterator:
        if v.pos < len(v.items):
            v.pos += 1
            return v.items[v.pos - 1]
        if len(args) > 1:
            return args[1]
        it.raise_py("StopIteration", "", node)
    return Unknown("next(...)")


def _print(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    return None


def _divmod(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    a, b = args
    return (it.binop("//", a, b, node) if node else ops.binop("//", a, b),
            it.binop("%", a, b, node) if node else ops.binop("%", a, b))


def _pow(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if len(args) == 3:
        if all(type(a) is int for a in args):
            return it.guard(lambda: pow(*args), node)
        return Unknown("pow(...)")
    return it.binop("**", args[0], args[1], node) if node else ops.binop("**", *args)


def _format(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    spec = args[1] if len(args) > 1 else ""
    if not isinstance(spec, str) or type(args[0]) is Unknown:
        return Unknown("format(...)")
    return it.guard(lambda: ops.format_value(args[0], spec), node)


def _plain_fn(name: str, fn: Callable[..., Any], kinds: tuple[type, ...] = (int, float, bool)
              ) -> Builtin:
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        if all(type(a) in kinds for a in args) and not kwargs:
            return it.guard(lambda: call_plain(fn, args), node)
        return Unknown(f"{name}(...)")

    return Builtin(name, impl)


def call_plain(fn: Callable[..., Any], args: Args) -> Any:
    try:
        return fn(*args)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError) as e:
        raise ops.PyError(type(e).__name__, str(e)) from None


def _super(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if len(args) >= 2 and isinstance(args[0], ClassObj):
        return SuperProxy(args[0], args[1])
    frame = it.frame
    fn = frame.function if frame is not None else None
    if fn is None or fn.owner is None or not isinstance(fn.node, (ast.FunctionDef,
                                                                  ast.AsyncFunctionDef)):
        return Unknown("super()")
    params = fn.node.args.posonlyargs + fn.node.args.args
    if not params or frame is None:
        return Unknown("super()")
    return SuperProxy(fn.owner, frame.locals.get(params[0].arg))


def no_effect(name: str) -> Builtin:
    return Builtin(name, lambda it, a, k, n: None)


def unknown_fn(name: str) -> Builtin:
    return Builtin(name, lambda it, a, k, n: Unknown(f"{name}(...)"))


def identity_decorator(name: str) -> Builtin:
    """A decorator (or decorator factory) convcalc treats as leaving the function as is."""

    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        if len(args) == 1 and not kwargs and isinstance(args[0], (Function, ClassObj)):
            return args[0]
        return Builtin(f"decorator:{name}", lambda it2, a, k, n: a[0] if a else None)

    return Builtin(f"decorator:{name}", impl)


def _type_value(name: str, py: type, call: Impl | None) -> BuiltinType:
    return BuiltinType(name, py, call)


TYPES: dict[str, BuiltinType] = {
    "int": _type_value("int", int, _int),
    "float": _type_value("float", float, _float),
    "bool": _type_value("bool", bool, _bool),
    "str": _type_value("str", str, _str),
    "list": _type_value("list", list, _container(list)),
    "tuple": _type_value("tuple", tuple, _container(tuple)),
    "dict": _type_value("dict", dict, _container(dict)),
    "set": _type_value("set", set, _container(set)),
    "frozenset": _type_value("frozenset", frozenset, _container(frozenset)),
    "object": _type_value("object", object, lambda it, a, k, n: Unknown("object()")),
    "bytes": _type_value("bytes", bytes, None),
    "range": _type_value("range", range, range_of),
    "slice": _type_value("slice", slice, lambda it, a, k, n: slice(*a)),
    "NoneType": _type_value("NoneType", type(None), None),
    "complex": _type_value("complex", complex, None),
    "staticmethod": _type_value("staticmethod", staticmethod, None),
    "classmethod": _type_value("classmethod", classmethod, None),
    "property": _type_value("property", property, None),
}


def builtins_namespace() -> dict[str, Any]:
    from convcalc.frontend import classes

    """The names every analysed module sees, as Python's builtins module would give."""
    ns: dict[str, Any] = dict(TYPES)
    fns: dict[str, Impl] = {
        "len": _len, "min": _min_max("min"), "max": _min_max("max"), "sum": _sum,
        "abs": _abs, "round": _round, "sorted": _sorted, "reversed": _reversed,
        "enumerate": _enumerate, "zip": _zip, "map": _map, "filter": _filter,
        "any": _any_all("any"), "all": _any_all("all"),
        "isinstance": classes.isinstance_builtin, "issubclass": classes.issubclass_builtin,
        "type": classes.type_builtin, "hasattr": _hasattr, "getattr": _getattr,
        "setattr": _setattr, "callable": _callable, "iter": _iter, "next": _next,
        "print": _print, "divmod": _divmod, "pow": _pow, "format": _format, "repr": _repr,
        "super": _super,
    }
    for name, fn in fns.items():
        ns[name] = Builtin(name, fn)
    ns.update({
        "chr": _plain_fn("chr", chr, (int,)), "ord": _plain_fn("ord", ord, (str,)),
        "hex": _plain_fn("hex", hex, (int,)), "bin": _plain_fn("bin", bin, (int,)),
        "oct": _plain_fn("oct", oct, (int,)),
        "id": unknown_fn("id"), "hash": unknown_fn("hash"), "input": unknown_fn("input"),
        # Effects on the outside world are never carried out: their results are unknown.
        "open": unknown_fn("open"), "exec": unknown_fn("exec"), "eval": unknown_fn("eval"),
        "compile": unknown_fn("compile"), "__import__": unknown_fn("__import__"),
        "exit": unknown_fn("exit"), "quit": unknown_fn("quit"),
        "breakpoint": unknown_fn("breakpoint"), "memoryview": unknown_fn("memoryview"),
        "bytearray": unknown_fn("bytearray"),
        "vars": unknown_fn("vars"), "dir": unknown_fn("dir"),
        "globals": unknown_fn("globals"), "locals": unknown_fn("locals"),
        "NotImplemented": Unknown("NotImplemented"), "Ellipsis": ...,
        "__name__": "builtins", "__debug__": True,
    })
    for name in _EXCEPTION_TREE:
        ns[name] = exception_type(name)
    return ns
