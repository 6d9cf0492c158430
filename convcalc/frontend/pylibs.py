"""Library modules convcalc models: math, numpy shape helpers, functools, itertools,
operator, copy, collections, dataclasses, warnings... (pure functions only)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.frontend import operators as ops
from convcalc.frontend.pybuiltins import (
    TYPES,
    call_plain,
    identity_decorator,
    no_effect,
    range_of,
    unknown_fn,
)
from convcalc.frontend.values import (
    Args,
    Builtin,
    BuiltinType,
    ContextValue,
    Instance,
    Iterator,
    Kwargs,
    PyModule,
    SymInt,
    SyntaxNode,
    Unknown,
    as_dim,
    make_int,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter



def _math_fn(name: str, fn: Callable[..., Any], symbolic: Callable[..., Any] | None = None
             ) -> Builtin:
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        if args and all(type(a) in (int, float, bool) for a in args):
            return it.guard(lambda: call_plain(fn, args), node)
        if symbolic is not None and len(args) == 1 and type(args[0]) is SymInt:
            return symbolic(args[0])
        if args and type(args[0]) is list and name in ("prod", "fsum"):
            return prod(it, args, kwargs, node)
        return Unknown(f"{name}(...)")

    return Builtin(name, impl)


def prod(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    items = it.materialize(args[0], node) if args else None
    if items is None:
        return Unknown("prod(...)")
    if all(type(x) in (int, bool) for x in items):
        total: Any = 1
        for x in items:
            total = it.guard(partial(ops.native_binop, "*", total, x), node)
        return total
    if all(type(x) in (int, SymInt) for x in items):
        return make_int(dims.prod(d for d in map(as_dim, items) if d is not None))
    if all(type(x) in (int, float, bool) for x in items):
        return math.prod(items)
    return Unknown("prod(...)")


def _sqrt_sym(v: SymInt) -> Any:
    import sympy

    return ops._sym_result(sympy.sqrt(dims.to_expr(v.dim)))


def _math_module() -> PyModule:
    members: dict[str, Any] = {
        "pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "tau": math.tau,
        "ceil": Builtin("ceil", lambda it, a, k, n: it.guard(lambda: ops.ceil_value(a[0]), n)
                        if type(a[0]) in (int, float, SymInt, bool) else Unknown("ceil(...)")),
        "floor": Builtin("floor", lambda it, a, k, n: it.guard(
            lambda: ops.floor_value(a[0]), n) if type(a[0]) in (int, float, SymInt, bool)
            else Unknown("floor(...)")),
        "prod": Builtin("prod", prod),
        "sqrt": _math_fn("sqrt", math.sqrt, _sqrt_sym),
    }
    for name in ("log", "log2", "log10", "exp", "pow", "fabs", "trunc", "isclose", "gcd",
                 "lcm", "isfinite", "isnan", "isinf", "sin", "cos", "tan", "atan", "hypot",
                 "copysign", "fsum", "log1p", "expm1", "modf", "frexp"):
        members[name] = _math_fn(name, getattr(math, name))
    members["factorial"] = _math_fn("factorial", lambda n: math.factorial(n) if n <= 1000
                                    else _too_big())
    for name in ("comb", "perm"):  # bounded: their cost grows with the arguments
        fn = getattr(math, name)
        members[name] = _math_fn(name, lambda *a, fn=fn: fn(*a) if max(a) <= 10_000
                                 else _too_big())
    return PyModule("math", members)


def _too_big() -> Any:
    raise ops.Oversize("a factorial or combination of very large numbers")


def _np_array(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0] if args else None
    if isinstance(v, (list, tuple)):
        return list(v)
    if type(v) in (int, float, bool):
        return v
    return Unknown("np.array(...)")


def _np_linspace(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    start = args[0] if args else kwargs.get("start")
    stop = args[1] if len(args) > 1 else kwargs.get("stop")
    num = args[2] if len(args) > 2 else kwargs.get("num", 50)
    if not all(type(x) in (int, float) for x in (start, stop)) or type(num) is not int:
        return Unknown("np.linspace(...)")
    if num > ops.MAX_SEQUENCE:
        it.budget(f"np.linspace of {num:,} points", node)
    a, b = float(start), float(stop)  # type: ignore[arg-type]
    if num == 1:
        return [a]
    step = (b - a) / (num - 1)
    return [a + i * step for i in range(num - 1)] + [b]


def _np_arange(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    if all(type(a) is int for a in args) and args:
        r = range_of(it, args, {}, node)
        return list(it.materialize(r, node) or []) if isinstance(r, range) else r
    return Unknown("np.arange(...)")


def _np_reduce(name: str, fn: Callable[[list[Any]], Any]) -> Builtin:
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        items = it.materialize(args[0], node) if args else None
        if items is None or kwargs.get("axis") is not None:
            return Unknown(f"np.{name}(...)")
        if items and all(type(x) in (int, float, bool) for x in items):
            return it.guard(lambda: fn(items), node)
        if name == "sum" and all(type(x) in (int, SymInt) for x in items):
            return make_int(dims.total(d for d in map(as_dim, items) if d is not None))
        return Unknown(f"np.{name}(...)")

    return Builtin(f"np.{name}", impl)


def _numpy_module() -> PyModule:
    members: dict[str, Any] = {
        "prod": Builtin("np.prod", prod), "product": Builtin("np.prod", prod),
        "array": Builtin("np.array", _np_array), "asarray": Builtin("np.asarray", _np_array),
        "linspace": Builtin("np.linspace", _np_linspace),
        "arange": Builtin("np.arange", _np_arange),
        "sum": _np_reduce("sum", sum), "max": _np_reduce("max", max),
        "min": _np_reduce("min", min), "mean": _np_reduce("mean", lambda x: sum(x) / len(x)),
        "cumsum": _np_reduce("cumsum", lambda x: [sum(x[: i + 1]) for i in range(len(x))]),
        "pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan, "newaxis": None,
        "sqrt": _math_fn("sqrt", math.sqrt, _sqrt_sym),
        "ceil": _math_fn("ceil", lambda x: float(math.ceil(x))),
        "floor": _math_fn("floor", lambda x: float(math.floor(x))),
        "log2": _math_fn("log2", math.log2), "log": _math_fn("log", math.log),
        "exp": _math_fn("exp", math.exp), "round": _math_fn("round", round),
        "abs": _math_fn("abs", abs), "power": _math_fn("power", pow),
        "int32": TYPES["int"], "int64": TYPES["int"], "float32": TYPES["float"],
        "float64": TYPES["float"], "uint8": TYPES["int"], "float16": TYPES["float"],
        "ndarray": BuiltinType("ndarray", None), "floating": BuiltinType("floating", None),
        "integer": BuiltinType("integer", None),
    }
    return PyModule("numpy", members)


def _partial(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    fn, bound, bound_kw = args[0], list(args[1:]), dict(kwargs)

    def call(it2: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
        return it2.call(fn, [*bound, *a], {**bound_kw, **k}, n)

    return Builtin(f"partial({getattr(fn, 'name', 'f')})", call)


def _reduce(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    fn = args[0]
    items = it.materialize(args[1], node)
    if items is None:
        return Unknown("reduce(...)")
    if len(args) > 2:
        acc = args[2]
    elif items:
        acc, items = items[0], items[1:]
    else:
        it.raise_py("TypeError", "reduce() of empty iterable with no initial value", node)
    for x in items:
        acc = it.call(fn, [acc, x], {}, node)
    return acc


def _functools_module() -> PyModule:
    return PyModule("functools", {
        "partial": Builtin("partial", _partial), "reduce": Builtin("reduce", _reduce),
        "wraps": identity_decorator("wraps"), "lru_cache": identity_decorator("lru_cache"),
        "cache": identity_decorator("cache"),
    })


def _op(sym: str) -> Builtin:
    return Builtin(f"operator.{sym}", lambda it, a, k, n: it.binop(sym, a[0], a[1], n)
                   if n is not None else ops.binop(sym, a[0], a[1]))


def _operator_module() -> PyModule:
    return PyModule("operator", {
        "add": _op("+"), "sub": _op("-"), "mul": _op("*"), "truediv": _op("/"),
        "floordiv": _op("//"), "mod": _op("%"), "pow": _op("**"),
        "getitem": Builtin("getitem", lambda it, a, k, n: it.subscript(a[0], a[1], n)),
        "itemgetter": Builtin("itemgetter", lambda it, a, k, n: Builtin(
            "itemgetter", lambda it2, b, k2, n2: it2.subscript(b[0], a[0], n2))),
    })


def _deepcopy(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    def copy(v: Any, depth: int) -> Any:
        if depth > 50:
            return v
        t = type(v)
        if t is list:
            return [copy(x, depth + 1) for x in v]
        if t is dict:
            return {k: copy(x, depth + 1) for k, x in v.items()}
        if t is tuple:
            return tuple(copy(x, depth + 1) for x in v)
        if t is set:
            return set(v)
        if t is Instance and v.layer is None:
            return Instance(v.cls, {k: copy(x, depth + 1) for k, x in v.attrs.items()})
        return v

    return copy(args[0], 0)


def _shallow_copy(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
    v = args[0]
    if type(v) in (list, dict, set):
        return type(v)(v)
    if type(v) is Instance and v.layer is None:
        return Instance(v.cls, dict(v.attrs))
    return v


def _itertools_module() -> PyModule:
    import itertools

    def lists(it: Interpreter, args: Args, node: SyntaxNode) -> list[list[Any]] | None:
        out = [it.materialize(a, node) for a in args]
        return None if any(x is None for x in out) else out  # type: ignore[return-value]

    def product(it: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
        ls = lists(it, a, n)
        if ls is None or type(k.get("repeat", 1)) is not int:
            return Unknown("product(...)")
        size = math.prod(len(x) for x in ls) ** k.get("repeat", 1)
        if size > ops.MAX_SEQUENCE:
            it.budget(f"a product of {size:,} items", n)
        return Iterator(list(itertools.product(*ls, repeat=k.get("repeat", 1))))

    def chain(it: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
        ls = lists(it, a, n)
        if ls is None:
            return Unknown("chain(...)")
        out = [x for part in ls for x in part]
        ops._check_len(len(out))
        return Iterator(out)

    def combos(fn: Callable[..., Any], name: str) -> Builtin:
        def impl(it: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
            items = it.materialize(a[0], n) if a else None
            r = a[1] if len(a) > 1 else k.get("r")
            if items is None or (r is not None and type(r) is not int) or len(items) > 20:
                return Unknown(f"{name}(...)")
            return Iterator(list(fn(items, r) if r is not None else fn(items)))

        return Builtin(name, impl)

    def repeat(it: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
        times = a[1] if len(a) > 1 else k.get("times")
        if type(times) is not int:
            return Unknown("repeat(...)")
        ops._check_len(times)
        return Iterator([a[0]] * times)

    def accumulate(it: Interpreter, a: Args, k: Kwargs, n: SyntaxNode) -> Any:
        items = it.materialize(a[0], n)
        if items is None:
            return Unknown("accumulate(...)")
        out: list[Any] = []
        for x in items:
            out.append(x if not out else (it.binop("+", out[-1], x, n) if n else x))
        return Iterator(out)

    return PyModule("itertools", {
        "product": Builtin("product", product), "chain": Builtin("chain", chain),
        "combinations": combos(itertools.combinations, "combinations"),
        "permutations": combos(itertools.permutations, "permutations"),
        "repeat": Builtin("repeat", repeat), "accumulate": Builtin("accumulate", accumulate),
    })


def _collections_module() -> PyModule:
    return PyModule("collections", {
        "OrderedDict": TYPES["dict"],
        "namedtuple": unknown_fn("namedtuple"),
    })


def _dataclasses_module() -> PyModule:
    from convcalc.frontend.classes import dataclass_decorator

    return PyModule("dataclasses", {
        "dataclass": Builtin("decorator:dataclass", dataclass_decorator),
        "field": unknown_fn("field"),
    })


_MODULES: dict[str, Callable[[], PyModule]] = {
    "math": _math_module,
    "numpy": _numpy_module,
    "functools": _functools_module,
    "operator": _operator_module,
    "itertools": _itertools_module,
    "collections": _collections_module,
    "dataclasses": _dataclasses_module,
    "copy": lambda: PyModule("copy", {"deepcopy": Builtin("deepcopy", _deepcopy),
                                      "copy": Builtin("copy", _shallow_copy)}),
    "warnings": lambda: PyModule("warnings", {"warn": no_effect("warn"),
                                              "filterwarnings": no_effect("filterwarnings"),
                                              "simplefilter": no_effect("simplefilter")}),
    "typing": lambda: PyModule("typing", {
        "TYPE_CHECKING": False,
        "cast": Builtin("cast", lambda it, a, k, n: a[1] if len(a) > 1 else k.get("val")),
        "overload": identity_decorator("overload"), "final": identity_decorator("final"),
        "no_type_check": identity_decorator("no_type_check")}),
    "abc": lambda: PyModule("abc", {"abstractmethod": identity_decorator("abstractmethod"),
                                    "ABC": BuiltinType("ABC", object)}),
    "contextlib": lambda: PyModule("contextlib", {
        "contextmanager": identity_decorator("contextmanager"),
        "nullcontext": Builtin("nullcontext", lambda it, a, k, n: ContextValue("null"))}),
}


def py_module(name: str) -> PyModule | None:
    """A modelled library module by dotted name (``numpy.random`` is unknown)."""
    factory = _MODULES.get(name)
    return factory() if factory is not None else None


