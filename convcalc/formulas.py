"""Cost formulas over named quantities, able to show their numbers.

A spec's ``macs`` writes its count the way its docstring reads it,
``named("out_spatial", *spatial) * named("prod(k)", *kernel) * ...``, and
:func:`evaluate` multiplies and adds it out with :mod:`convcalc.dims`. Inside
:func:`recording`, evaluate also writes down a :class:`Derivation`: the formula in the
quantities' names and the same formula with their numbers, computed alongside the
value, so an explanation of a count is the arithmetic that produced it. Outside, no
text is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from convcalc import dims
from convcalc.dims import Dim


class Derivation(NamedTuple):
    """A formula, the same formula with its numbers filled in, and its value."""

    formula: str
    filled: str
    value: Dim


# a context variable, so that recording in one thread leaves the others' analyses alone
_derivations: ContextVar[list[Derivation] | None] = ContextVar("derivations", default=None)


@contextmanager
def recording() -> Iterator[list[Derivation]]:
    """Collect the derivations of the formulas evaluated inside the block, in order."""
    found: list[Derivation] = []
    token = _derivations.set(found)
    try:
        yield found
    finally:
        _derivations.reset(token)


def evaluate(formula: Expr) -> Dim:
    """The value of a formula (also recorded with its numbers inside :func:`recording`)."""
    found = _derivations.get()
    if found is None:
        return formula.value()
    d = formula.derive()
    found.append(d)
    return d.value


class Expr:
    """A formula: named quantities combined with ``*``, ``+`` and ``/`` (by a named int)."""

    __slots__ = ()

    def value(self) -> Dim:
        """The formula multiplied and added out."""
        raise NotImplementedError

    def derive(self) -> Derivation:
        """The formula, its numbers and its value (the value as :meth:`value` computes it)."""
        raise NotImplementedError

    def __mul__(self, other: Expr | int) -> Expr:
        return Product((self, _expr(other)))

    def __rmul__(self, other: int) -> Expr:
        return Product((_expr(other), self))

    def __add__(self, other: Expr | int) -> Expr:
        return Sum((self, _expr(other)))

    def __truediv__(self, other: Named) -> Expr:
        return Quotient(self, other)


# Formulas are built on every count, wanted or not: slotted classes with plain
# constructors keep that cheap, and text is only made by derive().
class Named(Expr):
    """A named quantity: one dim, or the product (the sum, if ``added``) of several."""

    __slots__ = ("added", "name", "sizes")

    def __init__(self, name: str, sizes: tuple[Dim, ...], added: bool = False) -> None:
        self.name = name
        self.sizes = sizes
        self.added = added

    def value(self) -> Dim:
        sizes = self.sizes
        if len(sizes) == 1:
            return sizes[0]
        return dims.total(sizes) if self.added else dims.prod(sizes)

    def derive(self) -> Derivation:
        if len(self.sizes) == 1:
            filled = _operand(self.sizes[0])
        elif self.added:
            filled = " + ".join(_operand(d) for d in self.sizes) or "0"
        elif self.sizes:  # the axes of one quantity stay together: (30*30)
            axes = [_operand(d) for d in self.sizes]
            filled = f"({(' * ' if any('*' in a for a in axes) else '*').join(axes)})"
        else:
            filled = "1"
        return Derivation(self.name, filled, self.value())


class Product(Expr):
    """factor * factor * ..."""

    __slots__ = ("factors",)

    def __init__(self, factors: tuple[Expr, ...]) -> None:
        self.factors = factors

    def value(self) -> Dim:
        return _times([f.value() for f in self.factors])

    def derive(self) -> Derivation:
        parts = [f.derive() for f in self.factors]
        return Derivation(" * ".join(_factor(p.formula) for p in parts) or "1",
                          " * ".join(_factor(p.filled) for p in parts) or "1",
                          _times([p.value for p in parts]))


class Sum(Expr):
    """term + term + ..."""

    __slots__ = ("terms",)

    def __init__(self, terms: tuple[Expr, ...]) -> None:
        self.terms = terms

    def value(self) -> Dim:
        return dims.total([t.value() for t in self.terms])

    def derive(self) -> Derivation:
        parts = [t.derive() for t in self.terms]
        return Derivation(" + ".join(p.formula for p in parts) or "0",
                          " + ".join(p.filled for p in parts) or "0",
                          dims.total([p.value for p in parts]))


class Quotient(Expr):
    """numerator / denominator, an exact division by a named positive int (floored as
    :func:`convcalc.dims.floordiv` floors it)."""

    __slots__ = ("denominator", "numerator")

    def __init__(self, numerator: Expr, denominator: Named) -> None:
        d = denominator.value()
        if type(d) is not int or d < 1:
            raise ValueError(f"{denominator.name} must be a positive int to divide by")
        self.numerator = numerator
        self.denominator = denominator

    def _divide(self, n: Dim) -> Dim:
        d = self.denominator.value()
        assert type(d) is int
        return n if d == 1 else dims.floordiv(n, d)

    def value(self) -> Dim:
        return self._divide(self.numerator.value())

    def derive(self) -> Derivation:
        n, d = self.numerator.derive(), self.denominator.derive()
        return Derivation(f"{_factor(n.formula)} / {d.formula}",
                          f"{_factor(n.filled)} / {d.filled}", self._divide(n.value))


class Computed(Expr):
    """A count computed elsewhere (a wrapped layer's MACs): its own derivation if it has
    one, else its name and value."""

    __slots__ = ("compute", "name")

    def __init__(self, name: str, compute: Callable[[], Dim]) -> None:
        self.name = name
        self.compute = compute

    def value(self) -> Dim:
        return self.compute()

    def derive(self) -> Derivation:
        with recording() as found:
            value = self.compute()
        if found and found[-1].value == value:
            return found[-1]
        return Derivation(self.name, _operand(value), value)


def named(name: str, *sizes: Dim) -> Named:
    """A quantity called ``name``: the product of ``sizes`` (one dim, or a shape's axes)."""
    return Named(name, sizes)


def summed(name: str, sizes: Iterable[Dim]) -> Named:
    """A quantity called ``name``: the sum of ``sizes``."""
    return Named(name, tuple(sizes), added=True)


def computed(name: str, compute: Callable[[], Dim]) -> Computed:
    """A count computed by ``compute`` (which may evaluate a formula of its own)."""
    return Computed(name, compute)


def product(factors: Iterable[Expr]) -> Expr:
    """The product of any number of factors (1 for none)."""
    return Product(tuple(factors))


def total(terms: Iterable[Expr]) -> Expr:
    """The sum of any number of terms (0 for none)."""
    return Sum(tuple(terms))


def _expr(x: Expr | int) -> Expr:
    return x if isinstance(x, Expr) else Named(str(x), (x,))


def _times(values: list[Dim]) -> Dim:
    """The product of values, multiplied as plain ints while they are ints."""
    out: Dim = 1
    for v in values:
        out = out * v if type(out) is int and type(v) is int else dims.mul(out, v)
    return out


def _operand(d: Dim) -> str:
    """A dim as an operand: ``(H - 2)`` in brackets, ``floor(H/2)`` and ``2*W`` as they are."""
    text = str(d)
    return f"({text})" if " " in text else text


def _factor(text: str) -> str:
    """A formula as a factor: in brackets if it is a sum at its top level."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and ch in "+-" and text[i - 1:i] == " ":
            return f"({text})"
    return text
