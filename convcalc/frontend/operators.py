"""Python operators on abstract values: arithmetic, comparison, truth, ``str()``.

Operations on plain Python values are carried out for real, but only after checks
that bound their cost (no ``"x" * 10**9``, no ``2 ** 10**9``): a result that would be
too large raises :class:`Oversize`, which the interpreter reports as a budget error.
Symbolic sizes go through :mod:`convcalc.dims`; anything involving an unknown value
is unknown.
"""

from __future__ import annotations

import math
import operator
import re
import string
from collections.abc import Callable
from typing import Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.frontend.values import SymInt, Unknown, make_int

MAX_SEQUENCE = 200_000
"""Longest string / list / tuple a single operation may produce."""
MAX_INT_BITS = 100_000
MAX_FORMAT_WIDTH = 10_000

PLAIN = (int, float, str, bool, type(None), bytes, complex)


class Oversize(Exception):
    """An operation would build a value too large to be reasonable."""


class PyError(Exception):
    """The analysed program raises a Python exception here (``1 / 0``, ``[][3]``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def is_plain(v: Any) -> bool:
    return v is None or type(v) in PLAIN


def _size(v: Any) -> int:
    if isinstance(v, (str, bytes, list, tuple)):
        return len(v)
    return 0


def _check_len(n: int) -> None:
    if n > MAX_SEQUENCE:
        raise Oversize(f"a sequence of {n:,} items")


def _int_bits(v: Any) -> int:
    return v.bit_length() if type(v) is int else 64


def _sym(v: Any) -> Any:
    """A value as a sympy expression (for SymInt arithmetic)."""
    if type(v) is SymInt:
        return dims.to_expr(v.dim)
    import sympy

    if type(v) is float:
        return sympy.Float(v)
    return sympy.Integer(v)


def _sym_result(e: Any) -> Any:
    d = dims.normalize(e)
    if type(d) is int:
        return d
    import sympy

    if isinstance(d, sympy.Float):
        return float(d)
    if isinstance(d, sympy.Rational) and not isinstance(d, sympy.Integer):
        return float(d)
    return SymInt(d)


def _symbolic_binop(op: str, a: Any, b: Any) -> Any:
    out = _symbolic_value(op, a, b)
    if type(out) is SymInt and ((type(a) is SymInt and a.none) or (type(b) is SymInt and b.none)):
        out.none = True
    return out


def _symbolic_value(op: str, a: Any, b: Any) -> Any:
    da, db = (a.dim if type(a) is SymInt else a), (b.dim if type(b) is SymInt else b)
    if op == "+" and type(da) is not float and type(db) is not float:
        return make_int(dims.add(da, db))
    if op == "-" and type(da) is not float and type(db) is not float:
        return make_int(dims.sub(da, db))
    if op == "*" and type(da) is not float and type(db) is not float:
        return make_int(dims.mul(da, db))
    if op == "//" and type(db) is int and db > 0 and type(da) is not float:
        return make_int(dims.floordiv(da, db))
    import sympy

    x, y = _sym(a), _sym(b)
    if op == "+":
        return _sym_result(x + y)
    if op == "-":
        return _sym_result(x - y)
    if op == "*":
        return _sym_result(x * y)
    if op == "/":
        return _sym_result(x / y)
    if op == "//":
        return _sym_result(sympy.floor(x / y))
    if op == "%":
        return _sym_result(x - y * sympy.floor(x / y))
    if op == "**" and type(b) is int and 0 <= b <= 16:
        return _sym_result(x**y)
    return Unknown(f"{a} {op} {b}")


_NATIVE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
    "@": operator.matmul,
}


def native_binop(op: str, a: Any, b: Any) -> Any:
    """``a op b`` on plain values and containers, after cost checks."""
    ta, tb = type(a), type(b)
    if op == "+" and ta in (str, list, tuple, bytes) and ta is tb:
        _check_len(len(a) + len(b))
    elif op == "*":
        if ta in (str, list, tuple, bytes) and tb is int:
            _check_len(len(a) * max(b, 0))
        elif tb in (str, list, tuple, bytes) and ta is int:
            _check_len(len(b) * max(a, 0))
        elif ta is int and tb is int and _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
            raise Oversize("an integer product too large")
    elif op == "**" and ta is int and tb is int and b > 0:
        if _int_bits(a) * b > MAX_INT_BITS:
            raise Oversize(f"{a} ** {b}")
    elif op == "<<" and ta is int and tb is int and b > MAX_INT_BITS:
        raise Oversize(f"{a} << {b}")
    elif op == "%" and ta is str:
        check_format(a, b if isinstance(b, tuple) else (b,), percent=True)
        if isinstance(b, tuple) and not all(is_plain(x) or type(x) is SymInt for x in b):
            b = tuple(x if is_plain(x) else py_str(x) for x in b)
        elif not isinstance(b, tuple) and not is_plain(b):
            b = py_str(b) if not isinstance(b, dict) else b
    fn = _NATIVE_OPS.get(op)
    if fn is None:
        raise PyError("TypeError", f"unsupported operator {op}")
    try:
        return fn(a, b)
    except ZeroDivisionError as e:
        raise PyError("ZeroDivisionError", str(e)) from None
    except OverflowError as e:
        raise PyError("OverflowError", str(e)) from None
    except (TypeError, ValueError, KeyError) as e:
        raise PyError(type(e).__name__, str(e)) from None


def binop(op: str, a: Any, b: Any) -> Any:
    """``a op b`` for values that are not tensors (the interpreter handles those)."""
    ta, tb = type(a), type(b)
    if ta is SymInt or tb is SymInt:
        if (ta in (int, float, SymInt, bool)) and (tb in (int, float, SymInt, bool)):
            return _symbolic_binop(op, a, b)
        if (op == "*" and ta in (list, tuple, str)) or tb in (list, tuple, str):
            return Unknown("a sequence repeated a symbolic number of times")
        return Unknown(f"{py_str(a)} {op} {py_str(b)}")
    if ta is Unknown or tb is Unknown:
        return Unknown(f"{_origin(a)} {op} {_origin(b)}")
    if (is_plain(a) or ta in (list, tuple, dict, set, frozenset)) and (
            is_plain(b) or tb in (list, tuple, dict, set, frozenset)):
        return native_binop(op, a, b)
    raise PyError("TypeError", f"unsupported operand types for {op}: "
                               f"{type(a).__name__} and {type(b).__name__}")


def _origin(v: Any) -> str:
    return v.origin if type(v) is Unknown else py_str(v)


def unaryop(op: str, v: Any) -> Any:
    t = type(v)
    if t is SymInt:
        if op == "-":
            return make_int(dims.mul(-1, v.dim))
        if op == "+":
            return v
        return Unknown(f"{op}{v}")
    if t is Unknown:
        return Unknown(f"{op}{v.origin}")
    if op == "not":
        truth_value = truth(v)
        return None if truth_value is None else not truth_value
    if t in (int, float, bool, complex):
        if op == "-":
            return -v
        if op == "+":
            return +v
        if op == "~" and t in (int, bool):
            return ~v
    raise PyError("TypeError", f"bad operand type for unary {op}: {t.__name__}")


def truth(v: Any) -> bool | None:
    """``bool(v)``, or None when unknown."""
    t = type(v)
    if v is None or t in (bool, int, float, str, bytes, complex, list, tuple, dict, set,
                          frozenset, range):
        return bool(v)
    if t is SymInt:
        return _sign(v.dim, "nonzero")
    if t is Unknown:
        return None
    from convcalc.frontend.values import Tensor

    if t is Tensor:
        return None
    return True


def _sign(d: Dim, what: str) -> bool | None:
    """Whether a symbolic dim is provably nonzero / positive / nonnegative."""
    e = dims.to_expr(d)
    if what == "nonzero":
        return True if (e.is_positive or e.is_negative) else (False if e.is_zero else None)
    if what == "positive":
        return e.is_positive  # type: ignore[no-any-return]
    return e.is_nonnegative  # type: ignore[no-any-return]


def eq(a: Any, b: Any, notes: list[str] | None = None, depth: int = 0) -> bool | None:
    """``a == b``: True / False, or None when it cannot be known.

    Symbolic sizes that are not provably equal are taken as different (a free size is
    generic); each such assumption is appended to ``notes``.
    """
    ta, tb = type(a), type(b)
    if a is b and ta is not float:
        return True
    if ta is Unknown or tb is Unknown:
        return None
    if (ta is SymInt and b is None) or (tb is SymInt and a is None):
        return bool((a if ta is SymInt else b).none)
    if ta is SymInt or tb is SymInt:
        da = a.dim if ta is SymInt else a
        db = b.dim if tb is SymInt else b
        if not isinstance(da, (int, float)) and not _is_dim(da):
            return False
        if not isinstance(db, (int, float)) and not _is_dim(db):
            return False
        if type(da) is float or type(db) is float:
            try:
                diff = dims.to_expr(da) - dims.to_expr(db)
            except Exception:
                return None
            return True if diff == 0 else None
        if dims.identical(da, db):
            return True
        if notes is not None:
            notes.append(f"{dims.format_dim(da)} == {dims.format_dim(db)}")
        return False
    if is_plain(a) and is_plain(b):
        return bool(a == b)
    if ta in (list, tuple) and tb is ta:
        if len(a) != len(b):
            return False
        if depth > 50:
            return None
        result: bool | None = True
        for x, y in zip(a, b, strict=True):
            r = eq(x, y, notes, depth + 1)
            if r is False:
                return False
            if r is None:
                result = None
        return result
    if ta is dict and tb is dict:
        if set(a) != set(b):
            return False
        out: bool | None = True
        for k in a:
            r = eq(a[k], b[k], notes, depth + 1)
            if r is False:
                return False
            if r is None:
                out = None
        return out
    if ta in (set, frozenset) and tb in (set, frozenset):
        return bool(a == b)
    if ta is range and tb is range:
        return bool(a == b)
    from convcalc.frontend.values import Tensor

    if ta is Tensor or tb is Tensor:
        return None
    return False


def _is_dim(v: Any) -> bool:
    return type(v) is int or isinstance(v, dims.Sym) or type(v).__module__.startswith("sympy")


def order(op: str, a: Any, b: Any, notes: list[str] | None = None) -> bool | None:
    """``a < b`` and friends; None when unknown."""
    ta, tb = type(a), type(b)
    if ta is SymInt or tb is SymInt:
        if ta not in (int, float, SymInt, bool) or tb not in (int, float, SymInt, bool):
            return None
        diff = dims.to_expr(a.dim if ta is SymInt else a) - dims.to_expr(
            b.dim if tb is SymInt else b)
        if op == "<":
            return _known(diff.is_negative)
        if op == "<=":
            return _known(diff.is_nonpositive)
        if op == ">":
            return _known(diff.is_positive)
        return _known(diff.is_nonnegative)
    if ta is Unknown or tb is Unknown:
        return None
    fn = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]
    if _orderable(a) and _orderable(b):
        try:
            return bool(fn(a, b))
        except TypeError as e:
            raise PyError("TypeError", str(e)) from None
    if ta in (list, tuple) and tb is ta:
        for x, y in zip(a, b, strict=False):
            r = eq(x, y, notes)
            if r is None:
                return None
            if not r:
                return order(op, x, y, notes)
        return bool(fn(len(a), len(b)))
    return None


def _known(v: Any) -> bool | None:
    return None if v is None else bool(v)


def _orderable(v: Any) -> bool:
    return type(v) in (int, float, bool, str, bytes) or type(v) in (set, frozenset)


def contains(container: Any, item: Any, notes: list[str] | None = None) -> bool | None:
    """``item in container``; None when unknown."""
    t = type(container)
    if t is Unknown:
        return None
    if t in (str, bytes):
        if type(item) is t:
            return item in container
        return None if type(item) is Unknown else False
    if t is dict or t in (set, frozenset):
        if is_plain(item) or type(item) is tuple:
            try:
                if item in container:
                    return True
            except TypeError:
                return None
        seq = list(container)
    elif t in (list, tuple):
        seq = container
    elif t is range:
        if type(item) is int:
            return item in container
        return None
    else:
        return None
    result: bool | None = False
    for x in seq:
        r = eq(item, x, notes)
        if r:
            return True
        if r is None:
            result = None
    return result


_WIDTH = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_spec(spec: str) -> None:
    for m in _WIDTH.finditer(spec):
        if len(m.group()) > 5 or int(m.group()) > MAX_FORMAT_WIDTH:
            raise Oversize(f"a format width of {m.group()}")


def check_format(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None,
                 percent: bool = False) -> None:
    """Refuse format strings whose widths or precisions would build huge strings
    (``str.format`` fields, or ``%`` conversions when ``percent``)."""
    nested = False
    if percent:
        for m in _PERCENT_SPEC.finditer(fmt):
            for g in m.groups():
                if g == "*":
                    nested = True
                elif g:
                    _check_spec(g)
    else:
        try:
            fields = list(string.Formatter().parse(fmt))
        except ValueError as e:
            raise PyError("ValueError", str(e)) from None
        for _, _, spec, _ in fields:
            if spec:
                if "{" in spec:
                    nested = True
                _check_spec(spec)
    if nested:
        for v in (*args, *(kwargs or {}).values()):
            if type(v) is int and abs(v) > MAX_FORMAT_WIDTH:
                raise Oversize(f"a format width of {v}")


def format_value(v: Any, spec: str) -> str:
    """``format(v, spec)`` for plain values (symbolic sizes print as their formula)."""
    _check_spec(spec)
    if type(v) is SymInt:
        return format(str(v.dim), spec) if spec and not spec[-1:].isalpha() else str(v.dim)
    if is_plain(v):
        try:
            return format(v, spec)
        except (ValueError, TypeError) as e:
            raise PyError(type(e).__name__, str(e)) from None
    return format(py_str(v), spec) if spec else py_str(v)


def py_str(v: Any, depth: int = 0) -> str:
    """``str(v)`` for any abstract value, bounded in size."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int:
        try:
            return str(v)
        except ValueError:
            raise Oversize("an integer too large to print") from None
    if is_plain(v):
        return str(v)
    if t is SymInt:
        return str(v.dim)
    if depth > 20:
        return "..."
    if t in (list, tuple, set, frozenset):
        _check_len(len(v))
        inner = ", ".join(py_repr(x, depth + 1) for x in v)
        if t is list:
            return f"[{inner}]"
        if t is tuple:
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        return "{" + inner + "}" if v else "set()"
    if t is dict:
        _check_len(len(v))
        return "{" + ", ".join(f"{py_repr(k, depth + 1)}: {py_repr(x, depth + 1)}"
                               for k, x in v.items()) + "}"
    if t is range:
        return repr(v)
    return repr(v)


def py_repr(v: Any, depth: int = 0) -> str:
    if type(v) is str:
        return repr(v)
    return py_str(v, depth)


def floor_value(v: Any) -> Any:
    """``math.floor`` / ``int()`` of a number or symbolic size."""
    if type(v) is SymInt:
        import sympy

        return _sym_result(sympy.floor(dims.to_expr(v.dim)))
    if type(v) is float:
        if math.isinf(v) or math.isnan(v):
            raise PyError("ValueError", "cannot convert float to integer")
        return math.floor(v)
    return v


def ceil_value(v: Any) -> Any:
    if type(v) is SymInt:
        import sympy

        return _sym_result(sympy.ceiling(dims.to_expr(v.dim)))
    if type(v) is float:
        if math.isinf(v) or math.isnan(v):
            raise PyError("ValueError", "cannot convert float to integer")
        return math.ceil(v)
    return v
