"""Dimension arithmetic over ints and symbolic expressions.

A dim is an ``int``, a :class:`Sym` (a free positive integer such as the batch size or
an input height not known statically) or a sympy expression built from them, e.g.
``floor(H/2)``. Never ``None`` or ``-1``. sympy is imported only when arithmetic
touches a symbol, so a fully concrete model never pays for it.

Every function here keeps results canonical: an integer result is an ``int`` and a
bare symbol is a :class:`Sym`, whatever the inputs were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
