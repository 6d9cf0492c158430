"""Dimension arithmetic over ints and symbolic expressions.

A dim is an ``int``, a :class:`Sym` (a free positive integer such as the batch size or
an input height not known statically) or a sympy expression built from them, e.g.
``floor(H/2)``. Never ``None`` or ``-1``. sympy is imported only when arithmetic
touches a symbol, so a fully concrete model never pays for it.

Every function here keeps results canonical: an integer result is an ``int`` and a
bare symbol is a :class:`Sym`, whatever the inputs were.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, Union

if TYPE_CHECKING:
    import sympy


@dataclass(frozen=True, slots=True)
class Sym:
    """A free dimension: a named positive integer not known statically."""

    name: str

    def __str__(self) -> str:
        return self.name


BATCH = Sym("batch")
"""The batch dimension of every model input whose batch size is not fixed."""

Dim: TypeAlias = Union[int, Sym, "sympy.Expr"]


def _sp() -> Any:
    import sympy

    return sympy


@cache
def _symbol(name: str) -> sympy.Symbol:
    return _sp().Symbol(name, integer=True, positive=True)


def to_expr(d: Dim) -> sympy.Expr:
    """The sympy form of a dim."""
    if type(d) is int:
        return _sp().Integer(d)
    if type(d) is Sym:
        return _symbol(d.name)
    return d


def normalize(e: Any) -> Dim:
    """Canonical form of a sympy result: ints as ``int``, bare symbols as :class:`Sym`."""
    if type(e) is int or type(e) is Sym:
        return e
    if e.is_Integer:
        return int(e)
    if e.is_Symbol:
        return Sym(e.name)
    return e


def is_int(d: Dim) -> bool:
    """Whether the dim is a concrete integer."""
    return type(d) is int


def as_int(d: Dim) -> int | None:
    """The integer value of a concrete dim, else None."""
    return d if type(d) is int else None


def add(a: Dim, b: Dim) -> Dim:
    """a + b"""
    if type(a) is int and type(b) is int:
        return a + b
    return normalize(to_expr(a) + to_expr(b))


def sub(a: Dim, b: Dim) -> Dim:
    """a - b"""
    if type(a) is int and type(b) is int:
        return a - b
    return normalize(to_expr(a) - to_expr(b))


def mul(a: Dim, b: Dim) -> Dim:
    """a * b"""
    if type(a) is int and type(b) is int:
        return a * b
    return normalize(to_expr(a) * to_expr(b))


def prod(ds: Iterable[Dim]) -> Dim:
    """The product of dims (1 for none)."""
    ds = tuple(ds)
    try:
        n = math.prod(ds)  # type: ignore[arg-type]
    except TypeError:  # a Sym among them
        pass
    else:
        if type(n) is int:
            return n
    ints = 1
    syms: list[Dim] = []
    for d in ds:
        if type(d) is int:
            ints *= d
        else:
            syms.append(d)
    if not syms or ints == 0:
        return ints
    out = to_expr(ints)
    for d in syms:
        out = out * to_expr(d)
    return normalize(out)


def total(ds: Iterable[Dim]) -> Dim:
    """The sum of dims (0 for none)."""
    ints = 0
    syms: list[Dim] = []
    for d in ds:
        if type(d) is int:
            ints += d
        else:
            syms.append(d)
    if not syms:
        return ints
    out = to_expr(ints)
    for d in syms:
        out = out + to_expr(d)
    return normalize(out)


def floordiv(a: Dim, b: int) -> Dim:
    """floor(a / b) for a positive integer b.

    Nested floors fold, ``floor((floor(x) + c) / b) = floor((x + c) / b)`` for integer
    c, so a chain of pools on H reads ``floor(H/8)``, not three nested floors.
    """
    if type(a) is int:
        return a // b
    sp = _sp()
    e = to_expr(a)
    inner = None
    rest = sp.Integer(0)
    for term in sp.Add.make_args(e):
        if isinstance(term, sp.floor) and inner is None:
            inner = term.args[0]
        elif term.is_Integer:
            rest += term
        else:
            inner = None
            break
    else:
        if inner is not None:
            e = inner + rest
    return normalize(sp.floor(e / b))


def ceildiv(a: Dim, b: int) -> Dim:
    """ceil(a / b) for a positive integer b, as floor((a + b - 1) / b)."""
    if type(a) is int:
        return -(-a // b)
    return floordiv(add(a, b - 1), b)


def maximum(a: Dim, b: Dim) -> Dim:
    """max(a, b)."""
    if type(a) is int and type(b) is int:
        return max(a, b)
    return normalize(_sp().Max(to_expr(a), to_expr(b)))


def free_symbols(d: Dim) -> frozenset[str]:
    """Names of the free symbols a dim depends on."""
    if isinstance(d, int):
        return frozenset()
    if isinstance(d, Sym):
        return frozenset((d.name,))
    return frozenset(s.name for s in d.free_symbols)


def identical(a: Dim, b: Dim) -> bool:
    """Whether a and b are provably equal for every value of their symbols."""
    if a == b:
        return True
    if type(a) is int and type(b) is int:
        return False
    diff = _sp().expand(to_expr(a) - to_expr(b))
    return bool(diff == 0)


def substitute(d: Dim, values: Mapping[str, Dim]) -> Dim:
    """d with the named symbols replaced."""
    if isinstance(d, int):
        return d
    if isinstance(d, Sym):
        return values.get(d.name, d)
    names = {s.name: s for s in d.free_symbols}
    subs = {names[k]: to_expr(v) for k, v in values.items() if k in names}
    if not subs:
        return d
    return normalize(d.xreplace(subs))


def evaluate(d: Dim, values: Mapping[str, int]) -> int:
    """The integer value of d once every symbol has a value."""
    out = substitute(d, values)
    if type(out) is not int:
        raise ValueError(f"dim {out} still has free symbols")
    return out


_Pair = tuple[int, int]
Evaluator = Callable[[Mapping[str, int]], _Pair]


def evaluator(d: Dim) -> Evaluator:
    """A function giving d's exact value for symbol values, as (numerator, denominator)
    with a positive denominator; built once from the expression's terms.

    Arithmetic is exact and nothing is generated or compiled: the expression tree
    becomes nested closures over pairs of ints, much cheaper than Fraction objects when
    tried on every size. Raises ValueError on a kind of term shape arithmetic never
    produces.
    """
    return _evaluator(to_expr(d))


def _evaluator(e: Any) -> Callable[[Mapping[str, int]], _Pair]:
    sp = _sp()
    if e.is_Integer:
        value = (int(e), 1)
        return lambda env: value
    if e.is_Rational:
        frac = (int(e.p), int(e.q))
        return lambda env: frac
    if e.is_Symbol:
        name = e.name
        return lambda env: (env[name], 1)
    parts = [_evaluator(a) for a in e.args]
    if isinstance(e, sp.Add):
        def add(env: Mapping[str, int]) -> _Pair:
            n, d = 0, 1
            for f in parts:
                a, b = f(env)
                n, d = (n * b + a * d, d * b) if b != d else (n + a, d)
            return n, d
        return add
    if isinstance(e, sp.Mul):
        def mul(env: Mapping[str, int]) -> _Pair:
            n, d = 1, 1
            for f in parts:
                a, b = f(env)
                n, d = n * a, d * b
            return n, d
        return mul
    if isinstance(e, sp.Pow) and e.args[1].is_Integer and int(e.args[1]) >= 0:
        base, exp = parts[0], int(e.args[1])

        def power(env: Mapping[str, int]) -> _Pair:
            n, d = base(env)
            return n**exp, d**exp
        return power
    if isinstance(e, (sp.floor, sp.ceiling)):
        (inner,) = parts
        sign = 1 if isinstance(e, sp.floor) else -1

        def rounded(env: Mapping[str, int]) -> _Pair:
            n, d = inner(env)
            return sign * (sign * n // d), 1
        return rounded
    if isinstance(e, (sp.Max, sp.Min)):
        pick = max if isinstance(e, sp.Max) else min
        return lambda env: pick((f(env) for f in parts), key=lambda p: Fraction(*p))
    raise ValueError(f"cannot evaluate {e}")


def format_dim(d: Dim) -> str:
    """Human form: the batch prints as ``None`` as in Keras summaries."""
    if type(d) is Sym and d == BATCH:
        return "None"
    return str(d)


def to_json(d: Dim) -> int | str | None:
    """JSON form: ints as numbers, the batch as null, other symbols as strings."""
    if type(d) is int:
        return d
    if type(d) is Sym and d == BATCH:
        return None
    return str(d)
