"""Statement handlers of the interpreter: one function per AST statement type.

Each returns a control status (NORMAL, BREAK, CONTINUE, RETURN; the returned value is
kept on the frame). An unknown ``if`` condition is taken as true and an unknown
``while`` condition as false, with an info diagnostic.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from convcalc import rules
from convcalc.frontend import operators as ops
from convcalc.frontend.expressions import BINOPS
from convcalc.frontend.scopes import (
    BREAK,
    CONTINUE,
    NORMAL,
    RETURN,
    Frame,
    UserException,
)
from convcalc.frontend.values import (
    BoundMethod,
    Builtin,
    BuiltinType,
    ClassObj,
    ContextValue,
    ExceptionInst,
    Function,
    Instance,
    Unknown,
)

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter


def s_Expr(it: Interpreter, node: ast.Expr, frame: Frame) -> int:
    it.eval(node.value, frame)
    return NORMAL


def s_Pass(it: Interpreter, node: ast.Pass, frame: Frame) -> int:
    return NORMAL


def s_Break(it: Interpreter, node: ast.Break, frame: Frame) -> int:
    return BREAK


def s_Continue(it: Interpreter, node: ast.Continue, frame: Frame) -> int:
    return CONTINUE


def s_Return(it: Interpreter, node: ast.Return, frame: Frame) -> int:
    frame.retval = it.eval(node.value, frame) if node.value is not None else None
    return RETURN


def s_Global(it: Interpreter, node: ast.Global, frame: Frame) -> int:
    return NORMAL


s_Nonlocal = s_Global


def s_Assign(it: Interpreter, node: ast.Assign, frame: Frame) -> int:
    value = it.eval(node.value, frame)
    if type(value) is Unknown and len(node.targets) == 1 and isinstance(node.targets[0],
                                                                        ast.Name):
        # an unknown value is best named after the variable it is kept in
        value = Unknown(value.origin, node.targets[0].id, value.node)
    for target in node.targets:
        it.assign(target, value, frame)
    return NORMAL


def s_AnnAssign(it: Interpreter, node: ast.AnnAssign, frame: Frame) -> int:
    if frame.kind == "class" and isinstance(node.target, ast.Name):
        frame.locals.setdefault("__annotations_order__", []).append(node.target.id)
    if node.value is not None:
        it.assign(node.target, it.eval(node.value, frame), frame)
    return NORMAL


def s_AugAssign(it: Interpreter, node: ast.AugAssign, frame: Frame) -> int:
    op = BINOPS[type(node.op)]
    target = node.target
    if isinstance(target, ast.Name):
        current = it.lookup(target.id, frame, target)
        it.store(target.id, augmented(it, op, current, it.eval(node.value, frame),
                                      node), frame)
    elif isinstance(target, ast.Attribute):
        obj = it.eval(target.value, frame)
        current = it.get_attr(obj, target.attr, target)
        it.set_attr(obj, target.attr,
                    augmented(it, op, current, it.eval(node.value, frame), node),
                    target)
    elif isinstance(target, ast.Subscript):
        obj = it.eval(target.value, frame)
        index = it.eval(target.slice, frame)
        current = it.subscript(obj, index, target)
        it.set_item(obj, index,
                    augmented(it, op, current, it.eval(node.value, frame), node),
                    target)
    return NORMAL


def s_If(it: Interpreter, node: ast.If, frame: Frame) -> int:
    cond = condition(it, node.test, frame, "if")
    return it.exec_block(node.body if cond else node.orelse, frame)


def s_While(it: Interpreter, node: ast.While, frame: Frame) -> int:
    count = 0
    while condition(it, node.test, frame, "while"):
        count += 1
        if count > it.limits.loop_iterations:
            it.budget(f"a while loop ran more than {it.limits.loop_iterations:,} "
                      "iterations", node)
        status = it.exec_block(node.body, frame)
        if status == BREAK:
            return NORMAL
        if status == RETURN:
            return RETURN
    return it.exec_block(node.orelse, frame)


def s_For(it: Interpreter, node: ast.For, frame: Frame) -> int:
    iterable = it.eval(node.iter, frame)
    items = it.iterate(iterable, node.iter)
    if items is None:
        it.report(rules.UNKNOWN_VALUE,
                  f"cannot iterate over `{it.text(node.iter)}` (its value is unknown); "
                  "the loop body is skipped", node=node.iter)
        return NORMAL
    for count, item in enumerate(items, 1):
        if count > it.limits.loop_iterations:
            it.budget(f"a for loop ran more than {it.limits.loop_iterations:,} "
                      "iterations", node)
        it.tick(node)
        it.assign(node.target, item, frame)
        status = it.exec_block(node.body, frame)
        if status == BREAK:
            return NORMAL
        if status == RETURN:
            return RETURN
    return it.exec_block(node.orelse, frame)


s_AsyncFor = s_For


def s_FunctionDef(it: Interpreter, node: ast.FunctionDef, frame: Frame) -> int:
    fn = it.make_function(node, frame, node.name)
    value: Any = fn
    for dec in reversed(node.decorator_list):
        value = decorate(it, it.eval(dec, frame), value, dec)
    it.store(node.name, value, frame)
    return NORMAL


s_AsyncFunctionDef = s_FunctionDef


def s_ClassDef(it: Interpreter, node: ast.ClassDef, frame: Frame) -> int:
    from convcalc.frontend import classes

    bases = [it.eval(b, frame) for b in node.bases]
    namespace: dict[str, Any] = {"__name__": node.name}
    body = Frame("class", frame.module, namespace, closure=it.closure_of(frame))
    it.exec_block(node.body, body)
    cls = classes.make_class(it, node.name, bases, namespace, frame.module)
    value: Any = cls
    for dec in reversed(node.decorator_list):
        value = decorate(it, it.eval(dec, frame), value, dec)
    it.store(node.name, value, frame)
    return NORMAL


def s_Import(it: Interpreter, node: ast.Import, frame: Frame) -> int:
    for alias in node.names:
        if alias.asname:
            it.store(alias.asname, it.loader.import_module(it, alias.name, 0, frame,
                                                           node), frame)
        else:
            top = alias.name.split(".")[0]
            it.loader.import_module(it, alias.name, 0, frame, node)
            it.store(top, it.loader.import_module(it, top, 0, frame, node), frame)
    return NORMAL


def s_ImportFrom(it: Interpreter, node: ast.ImportFrom, frame: Frame) -> int:
    module = it.loader.import_module(it, node.module or "", node.level, frame, node)
    for alias in node.names:
        if alias.name == "*":
            for k, v in it.loader.star_names(it, module, node).items():
                it.store(k, v, frame)
            continue
        value = it.loader.import_from(it, module, alias.name, node)
        it.store(alias.asname or alias.name, value, frame)
    return NORMAL


def s_With(it: Interpreter, node: ast.With, frame: Frame) -> int:
    for item in node.items:
        ctx = it.eval(item.context_expr, frame)
        if item.optional_vars is not None:
            entered: Any = ctx
            if isinstance(ctx, Instance):
                found, method = ctx.cls.lookup("__enter__")
                if found:
                    entered = it.call(it.bind(method, ctx), [], {}, item.context_expr)
            elif isinstance(ctx, ContextValue):
                entered = None
            it.assign(item.optional_vars, entered, frame)
    return it.exec_block(node.body, frame)


s_AsyncWith = s_With


def s_Try(it: Interpreter, node: ast.Try, frame: Frame) -> int:
    try:
        status = it.exec_block(node.body, frame)
    except UserException as e:
        handler = match_handler(it, node.handlers, e, frame)
        if handler is None:
            exec_finally(it, node, frame)
            raise
        if handler.name:
            it.store(handler.name, e.exc, frame)
        try:
            status = it.exec_block(handler.body, frame)
        except UserException:
            exec_finally(it, node, frame)
            raise
    else:
        if status == NORMAL:
            status = it.exec_block(node.orelse, frame)
    final = exec_finally(it, node, frame)
    return final or status


s_TryStar = s_Try


def s_Raise(it: Interpreter, node: ast.Raise, frame: Frame) -> int:
    from convcalc.frontend.pybuiltins import exception_type

    if node.exc is None:
        raise UserException(ExceptionInst(exception_type("RuntimeError"),
                                          ("re-raised exception",)), it.span(node))
    value = it.eval(node.exc, frame)
    if isinstance(value, (BuiltinType, ClassObj)):
        value = it.call(value, [], {}, node)
    if not isinstance(value, ExceptionInst):
        value = ExceptionInst(exception_type("Exception"), (it.text(node.exc),))
    raise UserException(value, it.span(node))


def s_Assert(it: Interpreter, node: ast.Assert, frame: Frame) -> int:
    if it.truth(it.eval(node.test, frame), node.test) is False:
        msg = it.eval(node.msg, frame) if node.msg is not None else it.text(node.test)
        it.raise_py("AssertionError", ops.py_str(msg), node)
    return NORMAL


def s_Delete(it: Interpreter, node: ast.Delete, frame: Frame) -> int:
    for target in node.targets:
        if isinstance(target, ast.Name):
            frame.locals.pop(target.id, None)
        elif isinstance(target, ast.Subscript):
            obj = it.eval(target.value, frame)
            index = it.eval(target.slice, frame)
            if type(obj) in (list, dict) and (ops.is_plain(index) or type(index) is slice):
                try:
                    del obj[index]
                except (KeyError, IndexError, TypeError) as e:
                    it.raise_py(type(e).__name__, str(e), target)
        elif isinstance(target, ast.Attribute):
            obj = it.eval(target.value, frame)
            if isinstance(obj, Instance):
                obj.attrs.pop(target.attr, None)
    return NORMAL


def s_Match(it: Interpreter, node: ast.AST, frame: Frame) -> int:
    it.report(rules.UNSUPPORTED, "match statements are not interpreted; skipped",
              node=node)
    return NORMAL


def augmented(it: Interpreter, op: str, current: Any, value: Any, node: ast.AST) -> Any:
    """``x op= value``: lists extend in place, as in Python."""
    if op == "+" and type(current) is list:
        items = it.materialize(value, node)
        if items is None:
            return Unknown(it.text(node))
        ops._check_len(len(current) + len(items)) if len(items) else None
        current.extend(items)
        return current
    return it.binop(op, current, value, node)


def condition(it: Interpreter, test: ast.expr, frame: Frame, what: str) -> bool:
    """The truth of a condition; an unknown one is taken as true (``if``) or false
    (``while``), with an info diagnostic."""
    it.notes = []
    value = it.truth(it.eval(test, frame), test)
    if it.notes:
        it.report(rules.UNKNOWN_VALUE,
                  f"the condition `{it.text(test)}` compares symbolic sizes "
                  f"({'; '.join(it.notes[:2])}); convcalc takes them as different",
                  node=test)
        it.notes = []
    if value is None:
        if what == "while":
            it.report(rules.UNKNOWN_VALUE,
                      f"the loop condition `{it.text(test)}` cannot be computed; "
                      "the loop is not run", node=test)
            return False
        it.report(rules.UNKNOWN_VALUE,
                  f"the condition `{it.text(test)}` cannot be computed; convcalc "
                  "follows the branch taken when it is true", node=test)
        return True
    return value


def decorate(it: Interpreter, decorator: Any, value: Any, node: ast.AST) -> Any:
    """Apply a decorator; one convcalc cannot model leaves the function as it is."""
    if isinstance(decorator, BuiltinType) and decorator.name in (
            "staticmethod", "classmethod", "property") and isinstance(value, Function):
        value.kind = decorator.name
        return value
    if isinstance(decorator, (Function, BoundMethod, ClassObj)) or (
            isinstance(decorator, Builtin) and decorator.name.startswith("decorator:")):
        result = it.call(decorator, [value], {}, node)
        return value if isinstance(result, Unknown) else result
    return value


def exec_finally(it: Interpreter, node: ast.Try, frame: Frame) -> int:
    return it.exec_block(node.finalbody, frame) if node.finalbody else NORMAL


def match_handler(it: Interpreter, handlers: list[ast.ExceptHandler], e: UserException,
                  frame: Frame) -> ast.ExceptHandler | None:
    from convcalc.frontend.classes import exception_matches

    for h in handlers:
        if h.type is None:
            return h
        kind = it.eval(h.type, frame)
        if exception_matches(e.exc, kind):
            return h
    return None


def _handlers() -> dict[type, Any]:
    out: dict[type, Any] = {}
    for name, fn in list(globals().items()):
        if name.startswith("s_"):
            node_type = getattr(ast, name[2:], None)
            if isinstance(node_type, type):
                out[node_type] = fn
    return out


HANDLERS: dict[type, Any] = _handlers()
