"""Expression handlers of the interpreter: one function per AST expression type, and
the operators on abstract values (tensors give hidden operation nodes)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from convcalc import rules
from convcalc.frontend import operators as ops
from convcalc.frontend.building import tensor_op
from convcalc.frontend.scopes import Frame
from convcalc.frontend.values import (
    Instance,
    SymInt,
    Tensor,
    Unknown,
    Variable,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter


def e_Constant(it: Interpreter, node: ast.Constant, frame: Frame) -> Any:
    v = node.value
    if isinstance(v, (str, bytes)) and len(v) > it.limits.string_literal:
        it.report(rules.BUDGET_EXCEEDED,
                  f"a string literal of {len(v):,} characters is too large to interpret "
                  f"(limit {it.limits.string_literal:,}); it is treated as unknown",
                  node=node)
        return Unknown("a very large string literal")
    return v


def e_Name(it: Interpreter, node: ast.Name, frame: Frame) -> Any:
    return it.lookup(node.id, frame, node)


def e_Attribute(it: Interpreter, node: ast.Attribute, frame: Frame) -> Any:
    return it.get_attr(it.eval(node.value, frame), node.attr, node)


def e_Subscript(it: Interpreter, node: ast.Subscript, frame: Frame) -> Any:
    return it.subscript(it.eval(node.value, frame), it.eval(node.slice, frame), node)


def e_Slice(it: Interpreter, node: ast.Slice, frame: Frame) -> Any:
    parts = [it.eval(p, frame) if p is not None else None
             for p in (node.lower, node.upper, node.step)]
    return slice(*parts)


def e_Tuple(it: Interpreter, node: ast.Tuple, frame: Frame) -> Any:
    return tuple(elements(it, node.elts, frame, node))


def e_List(it: Interpreter, node: ast.List, frame: Frame) -> Any:
    return elements(it, node.elts, frame, node)


def e_Set(it: Interpreter, node: ast.Set, frame: Frame) -> Any:
    items = elements(it, node.elts, frame, node)
    try:
        return set(items)
    except TypeError as e:
        it.raise_py("TypeError", str(e), node)


def e_Dict(it: Interpreter, node: ast.Dict, frame: Frame) -> Any:
    out: dict[Any, Any] = {}
    for k, v in zip(node.keys, node.values, strict=True):
        if k is None:
            other = it.eval(v, frame)
            if isinstance(other, dict):
                out.update(other)
            continue
        key = it.eval(k, frame)
        value = it.eval(v, frame)
        try:
            out[key] = value
        except TypeError as e:
            it.raise_py("TypeError", str(e), k)
    return out


def e_JoinedStr(it: Interpreter, node: ast.JoinedStr, frame: Frame) -> Any:
    parts: list[str] = []
    for v in node.values:
        if isinstance(v, ast.Constant):
            parts.append(str(v.value))
            continue
        assert isinstance(v, ast.FormattedValue)
        value = it.eval(v.value, frame)
        if isinstance(value, Unknown):
            return Unknown(it.text(node), None, node)
        if v.conversion == ord("r"):
            value = ops.py_repr(value)
        elif v.conversion in (ord("s"), ord("a")):
            value = ops.py_str(value)
        spec = ""
        if v.format_spec is not None:
            s = it.eval(v.format_spec, frame)
            if not isinstance(s, str):
                return Unknown(it.text(node), None, node)
            spec = s
        parts.append(it.guard(partial(ops.format_value, value, spec), node))
    out = "".join(parts)
    ops._check_len(len(out))
    return out


def e_BinOp(it: Interpreter, node: ast.BinOp, frame: Frame) -> Any:
    return it.binop(BINOPS[type(node.op)], it.eval(node.left, frame),
                    it.eval(node.right, frame), node)


def e_UnaryOp(it: Interpreter, node: ast.UnaryOp, frame: Frame) -> Any:
    v = it.eval(node.operand, frame)
    op = _UNARY[type(node.op)]
    if type(v) in (Tensor, Variable) and op in ("-", "+"):
        return it.tensor_arith("neg" if op == "-" else "pos", [v], node)
    if op == "not":
        t = it.truth(v, node.operand)
        return Unknown(it.text(node), None, node) if t is None else not t
    return it.guard(lambda: ops.unaryop(op, v), node)


def e_BoolOp(it: Interpreter, node: ast.BoolOp, frame: Frame) -> Any:
    is_and = isinstance(node.op, ast.And)
    value: Any = None
    for operand in node.values:
        value = it.eval(operand, frame)
        t = it.truth(value, operand)
        if t is None:
            return Unknown(it.text(node), None, node)
        if t is not is_and:
            return value
    return value


_TENSOR_COMPARISONS: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Gt: ("greater", "less"), ast.GtE: ("greater_equal", "less_equal"),
    ast.Lt: ("less", "greater"), ast.LtE: ("less_equal", "greater_equal"),
    ast.Eq: ("equal", "equal"), ast.NotEq: ("not_equal", "not_equal"),
}
"""Per comparison operator, the Keras operation of ``tensor <op> y`` and, when only the
right operand is a tensor, of the reflected ``y.__<reflected op>__(x)`` Python calls."""


def e_Compare(it: Interpreter, node: ast.Compare, frame: Frame) -> Any:
    left = it.eval(node.left, frame)
    if len(node.ops) == 1 and type(node.ops[0]) in _TENSOR_COMPARISONS:
        right = it.eval(node.comparators[0], frame)
        tensors = (Tensor, Variable)
        operands = (*tensors, int, float, bool, SymInt)
        if (type(left) in tensors or type(right) in tensors) and type(left) in operands \
                and type(right) in operands:  # an element-wise comparison
            name, reflected = _TENSOR_COMPARISONS[type(node.ops[0])]
            if type(left) in tensors:
                return it.tensor_arith(name, [left, right], node)
            return it.tensor_arith(reflected, [right, left], node)
        r = compare(it, node.ops[0], left, right, node)
        return Unknown(it.text(node), None, node) if r is None else r
    result: Any = True
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = it.eval(right_node, frame)
        r = compare(it, op, left, right, node)
        if r is False:
            return False
        if r is None:
            result = Unknown(it.text(node), None, node)
        left = right
    return result


def e_IfExp(it: Interpreter, node: ast.IfExp, frame: Frame) -> Any:
    t = it.truth(it.eval(node.test, frame), node.test)
    if t is None:
        it.report(rules.UNKNOWN_VALUE,
                  f"the condition `{it.text(node.test)}` cannot be computed; convcalc "
                  "takes the value for when it is true", node=node.test)
        t = True
    return it.eval(node.body if t else node.orelse, frame)


def e_NamedExpr(it: Interpreter, node: ast.NamedExpr, frame: Frame) -> Any:
    value = it.eval(node.value, frame)
    target = frame
    while target.kind == "comp" and target.parent is not None:
        target = target.parent
    it.store(node.target.id, value, target)
    return value


def e_Lambda(it: Interpreter, node: ast.Lambda, frame: Frame) -> Any:
    return it.make_function(node, frame, "<lambda>")


def e_Starred(it: Interpreter, node: ast.Starred, frame: Frame) -> Any:
    return it.eval(node.value, frame)


def e_Await(it: Interpreter, node: ast.Await, frame: Frame) -> Any:
    it.eval(node.value, frame)
    return it.unknown(node)


def e_Yield(it: Interpreter, node: ast.Yield, frame: Frame) -> Any:
    value = it.eval(node.value, frame) if node.value is not None else None
    f = frame
    while f.kind == "comp" and f.parent is not None:
        f = f.parent
    if f.yields is None:
        f.yields = []
    f.yields.append(value)
    ops._check_len(len(f.yields))
    return None


def e_YieldFrom(it: Interpreter, node: ast.YieldFrom, frame: Frame) -> Any:
    items = it.materialize(it.eval(node.value, frame), node)
    f = frame
    while f.kind == "comp" and f.parent is not None:
        f = f.parent
    if f.yields is None:
        f.yields = []
    f.yields.extend(items if items is not None else [it.unknown(node)])
    return None


def comprehension(it: Interpreter, node: Any, frame: Frame,
                  emit: Callable[[Frame], None]) -> bool:
    """Run the generators of a comprehension, calling ``emit`` per element.
    False when an iterable is unknown."""
    comp = Frame("comp", frame.module, {}, parent=frame)
    gens = node.generators

    def run(k: int, outer: Frame) -> bool:
        g = gens[k]
        items = it.iterate(it.eval(g.iter, outer if k else frame), g.iter)
        if items is None:
            return False
        count = 0
        for item in items:
            count += 1
            if count > it.limits.loop_iterations:
                it.budget("a comprehension ran more than "
                          f"{it.limits.loop_iterations:,} iterations", node)
            it.tick(g)
            it.assign(g.target, item, comp)
            ok = True
            for cond in g.ifs:
                t = it.truth(it.eval(cond, comp), cond)
                if t is None:
                    return False
                if not t:
                    ok = False
                    break
            if not ok:
                continue
            if k + 1 < len(gens):
                if not run(k + 1, comp):
                    return False
            else:
                emit(comp)
        return True

    return run(0, comp)


def e_ListComp(it: Interpreter, node: ast.ListComp, frame: Frame) -> Any:
    out: list[Any] = []

    def emit(f: Frame) -> None:
        out.append(it.eval(node.elt, f))
        if len(out) > ops.MAX_SEQUENCE:
            ops._check_len(len(out))

    if not comprehension(it, node, frame, emit):
        return it.unknown(node)
    return out


e_GeneratorExp = e_ListComp


def e_SetComp(it: Interpreter, node: ast.SetComp, frame: Frame) -> Any:
    items = e_ListComp(it, node, frame)  # type: ignore[arg-type]
    if isinstance(items, Unknown):
        return items
    try:
        return set(items)
    except TypeError as e:
        it.raise_py("TypeError", str(e), node)


def e_DictComp(it: Interpreter, node: ast.DictComp, frame: Frame) -> Any:
    out: dict[Any, Any] = {}

    def emit(f: Frame) -> None:
        key = it.eval(node.key, f)
        try:
            out[key] = it.eval(node.value, f)
        except TypeError as e:
            it.raise_py("TypeError", str(e), node)

    if not comprehension(it, node, frame, emit):
        return it.unknown(node)
    return out


def e_Call(it: Interpreter, node: ast.Call, frame: Frame) -> Any:
    func = it.eval(node.func, frame)
    args: list[Any] = []
    for a in node.args:
        if isinstance(a, ast.Starred):
            items = it.materialize(it.eval(a.value, frame), a)
            if items is None:
                return it.unknown(node)
            args.extend(items)
        else:
            args.append(it.eval(a, frame))
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        value = it.eval(kw.value, frame)
        if kw.arg is None:
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                kwargs.update(value)
            elif isinstance(value, (Instance, Unknown)):
                return it.unknown(node)
            else:
                it.raise_py("TypeError", "argument after ** must be a mapping", kw)
        else:
            kwargs[kw.arg] = value
    if type(func) is Unknown:
        return Unknown(it.text(node), _call_name(node), node)
    return it.call(func, args, kwargs, node)


def elements(it: Interpreter, elts: list[ast.expr], frame: Frame, node: ast.AST) -> list[Any]:
    out: list[Any] = []
    for e in elts:
        if isinstance(e, ast.Starred):
            items = it.materialize(it.eval(e.value, frame), e)
            if items is None:
                out.append(Unknown(it.text(e), None, e))
            else:
                out.extend(items)
                ops._check_len(len(out))
        else:
            out.append(it.eval(e, frame))
    return out


def binop(it: Interpreter, op: str, a: Any, b: Any, node: ast.AST) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int and op in _FAST_INT and -_SMALL < a < _SMALL and (
            -_SMALL < b < _SMALL):
        return _FAST_INT[op](a, b)
    if ta is Tensor or tb is Tensor or ta is Variable or tb is Variable:
        return it.tensor_arith(op, [a, b], node)
    if ta is Instance or tb is Instance:
        from convcalc.frontend.classes import instance_binop

        return instance_binop(it, op, a, b, node)
    if (ta is Unknown and a.name and tb in (int, SymInt)) or (
            tb is Unknown and b.name and ta in (int, SymInt)):
        a, b = symbolic(it, a), symbolic(it, b)
    if op == "%" and ta is str and type(b) is dict:
        return it.guard(lambda: ops.native_binop(op, a, b), node)
    return it.guard(lambda: ops.binop(op, a, b), node)


def symbolic(it: Interpreter, v: Any) -> Any:
    """A named unknown used as a number becomes a symbolic size of that name."""
    from convcalc import dims
    from convcalc.frontend.building import symbol_name

    if type(v) is Unknown and v.name:
        return SymInt(dims.Sym(symbol_name(v.name)))
    return v


def tensor_arith(it: Interpreter, op: str, operands: list[Any], node: ast.AST) -> Any:
    from convcalc.frontend import classes

    if op == "@" and len(operands) == 2:
        from convcalc.frontend.tensor_functions import matmul_operator

        return matmul_operator(it, operands[0], operands[1], node)
    if any(type(x) is Variable for x in operands):
        return classes.variable_arith(it, op, operands, node)
    if not all(type(x) in (Tensor, int, float, bool, SymInt) for x in operands):
        return Unknown(it.text(node), None, node)
    return tensor_op(it.session, op, operands, it.span(node), tuple(it.scope))


def compare(it: Interpreter, op: ast.cmpop, a: Any, b: Any, node: ast.AST) -> bool | None:
    t = type(op)
    if t is ast.Is:
        return _identical(a, b)
    if t is ast.IsNot:
        r = _identical(a, b)
        return None if r is None else not r
    if t is ast.Eq or t is ast.NotEq:
        r = ops.eq(a, b, it.notes)
        if r is None:
            return None
        return r if t is ast.Eq else not r
    if t is ast.In or t is ast.NotIn:
        if isinstance(b, Instance):
            from convcalc.frontend.classes import instance_contains

            r = instance_contains(it, b, a, node)
        else:
            r = ops.contains(b, a, it.notes)
        if r is None:
            return None
        return r if t is ast.In else not r
    sym = _ORDER[t]
    return it.guard(lambda: ops.order(sym, a, b, it.notes), node)  # type: ignore[no-any-return]

def _identical(a: Any, b: Any) -> bool | None:
    if type(a) is Unknown or type(b) is Unknown:
        return None
    if a is b:
        return True
    if type(a) is SymInt and b is None:
        return a.none
    if type(b) is SymInt and a is None:
        return b.none
    if ops.is_plain(a) and ops.is_plain(b) and type(a) is type(b) and type(a) in (
            int, str, bool, type(None)):
        return bool(a == b) if type(a) in (bool, type(None)) else (a is b or a == b)
    return False


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return None


BINOPS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|",
    ast.BitXor: "^", ast.BitAnd: "&", ast.MatMult: "@",
}
_ORDER: dict[type, str] = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_SMALL = 1 << 62
_FAST_INT: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
}
_UNARY: dict[type, str] = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not", ast.Invert: "~"}


def _handlers() -> dict[type, Any]:
    out: dict[type, Any] = {}
    for name, fn in list(globals().items()):
        if name.startswith("e_"):
            node_type = getattr(ast, name[2:], None)
            if isinstance(node_type, type):
                out[node_type] = fn
    return out


HANDLERS: dict[type, Any] = _handlers()
