"""The abstract interpreter: one handler per AST node type.

Statements run in order on abstract values (see :mod:`convcalc.frontend.values`);
user functions are inlined with abstract arguments, loops unroll, and an ``if`` on a
known value takes one branch. When a condition cannot be known the interpreter
follows the ``if`` branch (and a ``while`` loop stops), with an info diagnostic: the
analysed model is then the one built when the condition holds. Nothing of the analysed
program is ever executed, evaluated, compiled or imported.
"""

from __future__ import annotations

import ast
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from convcalc import rules
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.frontend import operators as ops
from convcalc.frontend.models import Session
from convcalc.frontend.objects import KerasError, LayerObj, ModelObj
from convcalc.frontend.scopes import (
    NORMAL,
    RETURN,
    BudgetExceeded,
    Frame,
    Limits,
    UserException,
    function_info,
)
from convcalc.frontend.values import (
    BoundMethod,
    Builtin,
    BuiltinType,
    ClassObj,
    ExceptionInst,
    Function,
    Instance,
    Iterator,
    KerasObject,
    KerasRef,
    LayerClass,
    ModuleObj,
    PyModule,
    SuperProxy,
    Unknown,
)
from convcalc.graph import Site
from convcalc.types import Span

StmtHandler = Callable[["Interpreter", Any, Frame], int]
ExprHandler = Callable[["Interpreter", Any, Frame], Any]


class Interpreter:
    """Runs analysed code abstractly within budgets, collecting diagnostics."""

    def __init__(self, session: Session, loader: Any, limits: Limits | None = None,
                 started: float | None = None) -> None:
        from convcalc.frontend import pybuiltins

        self.session = session
        self.loader = loader
        self.limits = limits or Limits()
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple[str, Span | None, str]] = set()
        self.steps = 0
        self.depth = 0
        self.scope: list[str] = []
        self.function_calls = 0
        self.frame: Frame | None = None
        self.started = time.perf_counter() if started is None else started
        self.max_steps = self.limits.steps
        self.builtins: dict[str, Any] = pybuiltins.builtins_namespace()
        self.notes: list[str] = []
        session.layer_caller = self.call_layer_value

    # --------------------------------------------------------------- reporting
    def span(self, node: ast.AST | None) -> Span | None:
        if node is None or self.frame is None or not hasattr(node, "lineno"):
            return None
        return Span(self.frame.module.file, node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def report(
        self,
        rule: rules.Rule,
        message: str,
        span: Span | None = None,
        *,
        node: ast.AST | None = None,
        layer: str | None = None,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        if span is None and node is not None:
            span = self.span(node)
        key = (rule.code, span, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.diagnostics.append(rule.diagnostic(message, span=span, layer=layer, hint=hint,
                                                severity=severity))

    def text(self, node: ast.AST, limit: int = 60) -> str:
        """Source text of a node, shortened for messages."""
        try:
            s = ast.unparse(node)
        except Exception:
            return type(node).__name__
        return s if len(s) <= limit else s[: limit - 3] + "..."

    def unknown(self, node: ast.AST, name: str | None = None) -> Unknown:
        return Unknown(self.text(node), name, node)

    def raise_py(self, kind: str, message: str, node: ast.AST | None = None) -> None:
        from convcalc.frontend.pybuiltins import exception_type

        raise UserException(ExceptionInst(exception_type(kind), (message,)), self.span(node))

    def budget(self, message: str, node: ast.AST | None = None) -> None:
        raise BudgetExceeded(message, self.span(node))

    def tick(self, node: ast.AST | None) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            self.budget(f"more than {self.limits.steps:,} interpretation steps", node)
        if self.steps & 0x3FFF == 0 and time.perf_counter() - self.started > self.limits.seconds:
            self.budget(f"more than {self.limits.seconds:g} s of interpretation", node)

    # --------------------------------------------------------------- modules
    def run_module(self, module: ModuleObj, tree: ast.Module) -> None:
        """Execute a module body in its own namespace."""
        frame = Frame("module", module, module.namespace)
        saved = self.frame
        self.frame = frame
        try:
            status = self.exec_block(tree.body, frame)
            if status == RETURN:
                self.report(rules.UNSUPPORTED, "'return' outside a function", node=tree)
        finally:
            self.frame = saved

    def run_in(self, module: ModuleObj, fn: Callable[[Frame], Any]) -> Any:
        """Run ``fn`` with a module-level frame of ``module`` as the current frame."""
        frame = Frame("module", module, module.namespace)
        saved = self.frame
        self.frame = frame
        try:
            return fn(frame)
        finally:
            self.frame = saved

    def guarded(self, fn: Callable[[], Any]) -> Any:
        """Run with a recursion limit high enough for the call-depth budget."""
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 4_000))
        try:
            return fn()
        finally:
            sys.setrecursionlimit(old)

    # ------------------------------------------------------------ statements
    def exec_block(self, body: list[ast.stmt], frame: Frame) -> int:
        for stmt in body:
            self.tick(stmt)
            handler = _STMT.get(type(stmt))
            if handler is None:
                self.report(rules.UNSUPPORTED,
                            f"{type(stmt).__name__} statements are not interpreted; skipped",
                            node=stmt)
                continue
            status = handler(self, stmt, frame)
            if status:
                return status
        return NORMAL

    def make_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
                      frame: Frame, name: str) -> Function:
        a = node.args
        defaults = [self.eval(d, frame) for d in a.defaults]
        kw_defaults = {arg.arg: self.eval(d, frame)
                       for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
                       if d is not None}
        return Function(name, node, frame.module, self.closure_of(frame), defaults,
                        kw_defaults, function_info(node))

    def closure_of(self, frame: Frame) -> tuple[dict[str, Any], ...]:
        """The enclosing function scopes a function defined in ``frame`` can see."""
        f: Frame | None = frame
        while f is not None and f.kind == "comp":
            if f.parent is None:
                break
            out: tuple[dict[str, Any], ...] = (f.locals,)
            return out + self.closure_of(f.parent)
        if f is None:
            return ()
        if f.kind == "function":
            return (f.locals, *f.closure)
        if f.kind == "class":
            return f.closure
        return ()

    # --------------------------------------------------------------- binding
    def lookup(self, name: str, frame: Frame, node: ast.AST) -> Any:
        f = frame
        while f.kind == "comp":
            if name in f.locals:
                return f.locals[name]
            assert f.parent is not None
            f = f.parent
        if name in f.locals and f.kind != "function":
            return f.locals[name]
        if f.kind == "function":
            info = f.info
            assert info is not None
            if name in info.globals:
                pass
            elif name in info.locals:
                if name in f.locals:
                    return f.locals[name]
                self.raise_py("UnboundLocalError",
                              f"local variable {name!r} referenced before assignment", node)
            else:
                for scope in f.closure:
                    if name in scope:
                        return scope[name]
        elif f.kind == "class":
            for scope in f.closure:
                if name in scope:
                    return scope[name]
        module = f.module
        if name in module.namespace:
            return module.namespace[name]
        if module.lazy and name in module.lazy:
            return self.loader.lazy_member(self, module, name)
        if name in self.builtins:
            return self.builtins[name]
        if module.namespace.get("__star_unknown__"):
            return Unknown(name, name, node)
        self.raise_py("NameError", f"name {name!r} is not defined", node)
        return None

    def store(self, name: str, value: Any, frame: Frame) -> None:
        if frame.kind == "function":
            info = frame.info
            assert info is not None
            if name in info.globals:
                frame.module.namespace[name] = value
                return
            if name in info.nonlocals:
                for scope in frame.closure:
                    if name in scope:
                        scope[name] = value
                        return
        frame.locals[name] = value

    def assign(self, target: ast.expr, value: Any, frame: Frame) -> None:
        t = type(target)
        if t is ast.Name:
            self.store(target.id, value, frame)  # type: ignore[attr-defined]
        elif t is ast.Tuple or t is ast.List:
            self.unpack(target.elts, value, frame, target)  # type: ignore[attr-defined]
        elif t is ast.Attribute:
            obj = self.eval(target.value, frame)  # type: ignore[attr-defined]
            self.set_attr(obj, target.attr, value, target)  # type: ignore[attr-defined]
        elif t is ast.Subscript:
            obj = self.eval(target.value, frame)  # type: ignore[attr-defined]
            index = self.eval(target.slice, frame)  # type: ignore[attr-defined]
            self.set_item(obj, index, value, target)
        elif t is ast.Starred:
            self.assign(target.value, value, frame)  # type: ignore[attr-defined]

    def unpack(self, targets: list[ast.expr], value: Any, frame: Frame, node: ast.AST) -> None:
        items = self.materialize(value, node)
        star = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        if items is None:
            for t in targets:
                self.assign(t, Unknown(f"{self.text(node)} (unpacked)", None, node), frame)
            return
        if star:
            k = star[0]
            after = len(targets) - k - 1
            if len(items) < len(targets) - 1:
                self.raise_py("ValueError", "not enough values to unpack", node)
            parts = [*items[:k], list(items[k:len(items) - after]), *items[len(items) - after:]]
        else:
            if len(items) != len(targets):
                self.raise_py("ValueError",
                              f"cannot unpack {len(items)} values into {len(targets)}", node)
            parts = list(items)
        for t, v in zip(targets, parts, strict=True):
            self.assign(t, v, frame)

    # ------------------------------------------------------------ expressions
    def eval(self, node: ast.expr, frame: Frame) -> Any:
        self.steps += 1
        if self.steps > self.max_steps or not self.steps & 0x3FFF:
            self.tick(node)
        t = type(node)
        if t is ast.Name:
            return self.lookup(node.id, frame, node)  # type: ignore[attr-defined]
        if t is ast.Constant:
            v = node.value  # type: ignore[attr-defined]
            if type(v) is not str or len(v) <= self.limits.string_literal:
                return v
        try:
            handler = _EXPR[t]
        except KeyError:
            self.report(rules.UNSUPPORTED,
                        f"{type(node).__name__} expressions are not interpreted", node=node)
            return self.unknown(node)
        return handler(self, node, frame)

    def binop(self, op: str, a: Any, b: Any, node: ast.AST) -> Any:
        return expressions.binop(self, op, a, b, node)

    def tensor_arith(self, op: str, operands: list[Any], node: ast.AST) -> Any:
        return expressions.tensor_arith(self, op, operands, node)

    def guard(self, fn: Callable[[], Any], node: ast.AST | None) -> Any:
        """Run a native operation: Python errors become the program's exceptions, and
        oversized results a budget error."""
        try:
            result = fn()
        except ops.PyError as e:
            self.raise_py(e.kind, e.message, node)
        except ops.Oversize as e:
            self.budget(f"the code builds {e} (too large to interpret)", node)
        except KerasError as e:
            self.raise_py(e.kind, e.message, node)
        if type(result) in (str, list, tuple, bytes) and len(result) > 4096:
            self.charge(len(result), node)
        return result

    def charge(self, size: int, node: ast.AST | None) -> None:
        """Count the work of building a large value against the step budget."""
        self.steps += size >> 5
        self.tick(node)

    def truth(self, v: Any, node: ast.AST | None = None) -> bool | None:
        if type(v) is Instance:
            from convcalc.frontend.classes import instance_truth

            return instance_truth(self, v, node)
        return ops.truth(v)

    # ------------------------------------------------------------ comprehensions

    # ------------------------------------------------------------------ calls

    def call(self, func: Any, args: list[Any], kwargs: dict[str, Any],
             node: ast.AST | None) -> Any:
        """Call an abstract value."""
        t = type(func)
        try:
            if t is Function:
                return self.call_function(func, args, kwargs, node)
            if t is BoundMethod:
                return self.call_function(func.function, [func.receiver, *args], kwargs, node)
            if t is Builtin:
                if func.bound:
                    return func.fn(self, [func.receiver, *args], kwargs, node)
                return func.fn(self, args, kwargs, node)
            if t is BuiltinType:
                if func.call is None:
                    return Unknown(f"{func.name}(...)")
                return func.call(self, args, kwargs, node)
            if t is LayerClass:
                from convcalc.frontend.keras_api import create_layer

                return create_layer(self, func, args, kwargs, node)
            if t is LayerObj or t is ModelObj:
                return self.call_layer_value(func, tuple(args), kwargs, self.span(node),
                                             tuple(self.scope))
            if t is KerasRef:
                from convcalc.frontend.keras_api import call_keras_ref

                return call_keras_ref(self, func, args, kwargs, node)
            if t is ClassObj or t is Instance or t is SuperProxy:
                from convcalc.frontend.classes import call_class_value

                return call_class_value(self, func, args, kwargs, node)
            if t is Unknown:
                return Unknown(f"{func.origin}(...)", func.name)
            if t is KerasObject:
                return Unknown(f"{func.class_name}(...)")
        except KerasError as e:
            self.raise_py(e.kind, e.message, node)
        except ops.PyError as e:
            self.raise_py(e.kind, e.message, node)
        except ops.Oversize as e:
            self.budget(f"the code builds {e} (too large to interpret)", node)
        if t in (PyModule, ModuleObj):
            self.raise_py("TypeError", "'module' object is not callable", node)
        if ops.is_plain(func) or t in (list, tuple, dict, set):
            self.raise_py("TypeError", f"'{t.__name__}' object is not callable", node)
        return Unknown(f"a call of {func!r}")

    def call_layer_value(self, obj: LayerObj | ModelObj, args: tuple[Any, ...],
                         kwargs: dict[str, Any], span: Span | None,
                         scope: tuple[str, ...]) -> Any:
        """Call a layer or model on tensors (code-defined layers are interpreted)."""
        from convcalc.frontend import custom_layers

        if isinstance(obj, LayerObj):
            if obj.instance is not None:
                return custom_layers.call_custom_layer(self, obj.instance, list(args), kwargs,
                                                       span)
            if "__lambda__" in obj.attrs:
                return custom_layers.call_lambda_layer(self, obj, list(args), kwargs, span)
        return self.session.call_layer(obj, args, kwargs, span, scope)

    def call_function(self, func: Function, args: list[Any], kwargs: dict[str, Any],
                      node: ast.AST | None) -> Any:
        if self.depth >= self.limits.call_depth:
            self.budget(f"calls nested more than {self.limits.call_depth} deep (runaway "
                        f"recursion in {func.name}?)", node)
        locals_ = self.bind_arguments(func, args, kwargs, node)
        frame = Frame("function", func.module, locals_, func.info, func.closure, func)
        self.function_calls += 1
        site = Site(func.name, self.span(node), self.function_calls)
        saved = self.frame
        self.frame = frame
        self.depth += 1
        self.scope.append(func.name)
        self.session.sites.append(site)
        try:
            if isinstance(func.node, ast.Lambda):
                return self.eval(func.node.body, frame)
            if func.info.generator:
                frame.yields = []
            self.exec_block(func.node.body, frame)
            if frame.yields is not None:
                return Iterator(frame.yields)
            return frame.retval
        finally:
            self.scope.pop()
            self.session.sites.pop()
            self.depth -= 1
            self.frame = saved

    def bind_arguments(self, func: Function, args: list[Any], kwargs: dict[str, Any],
                       node: ast.AST | None) -> dict[str, Any]:
        """Python's argument binding, including defaults, ``*args`` and ``**kwargs``."""
        a = func.node.args
        positional = [p.arg for p in (*a.posonlyargs, *a.args)]
        out: dict[str, Any] = {}
        for name, value in zip(positional, args, strict=False):
            out[name] = value
        extra = args[len(positional):]
        if a.vararg:
            out[a.vararg.arg] = tuple(extra)
        elif extra:
            self.raise_py("TypeError", f"{func.name}() takes {len(positional)} positional "
                          f"arguments but {len(args)} were given", node)
        rest: dict[str, Any] = {}
        posonly = {p.arg for p in a.posonlyargs}
        kwonly = [p.arg for p in a.kwonlyargs]
        for k, v in kwargs.items():
            if (k in positional and k not in posonly) or k in kwonly:
                if k in out:
                    self.raise_py("TypeError",
                                  f"{func.name}() got multiple values for argument {k!r}", node)
                out[k] = v
            else:
                rest[k] = v
        if a.kwarg:
            out[a.kwarg.arg] = rest
        elif rest:
            self.raise_py("TypeError", f"{func.name}() got an unexpected keyword argument "
                          f"{next(iter(rest))!r}", node)
        defaults = func.defaults
        first_default = len(positional) - len(defaults)
        for i, name in enumerate(positional):
            if name not in out:
                if i >= first_default:
                    out[name] = defaults[i - first_default]
                else:
                    self.raise_py("TypeError", f"{func.name}() missing required argument "
                                  f"{name!r}", node)
        for name in kwonly:
            if name not in out:
                if name in func.kw_defaults:
                    out[name] = func.kw_defaults[name]
                else:
                    self.raise_py("TypeError", f"{func.name}() missing required keyword "
                                  f"argument {name!r}", node)
        return out

    def bind(self, method: Any, receiver: Any) -> Any:
        """A class attribute looked up on an instance: functions become bound methods."""
        if isinstance(method, Function):
            if method.kind == "staticmethod":
                return method
            return BoundMethod(method, receiver)
        if isinstance(method, Builtin) and method.name.startswith("method:") and (
                not method.bound):
            return method.bind(receiver)
        return method

    # ----------------------------------------------------------- attributes
    def get_attr(self, obj: Any, name: str, node: ast.AST | None) -> Any:
        return datamodel.get_attr(self, obj, name, node)

    def set_attr(self, obj: Any, name: str, value: Any, node: ast.AST | None) -> None:
        return datamodel.set_attr(self, obj, name, value, node)

    # ----------------------------------------------------------- subscripts
    def subscript(self, obj: Any, index: Any, node: ast.AST | None) -> Any:
        return datamodel.subscript(self, obj, index, node)

    def set_item(self, obj: Any, index: Any, value: Any, node: ast.AST | None) -> None:
        return datamodel.set_item(self, obj, index, value, node)

    # ------------------------------------------------------------ iteration
    def iterate(self, value: Any, node: ast.AST | None) -> Iterable[Any] | None:
        return datamodel.iterate(self, value, node)

    def materialize(self, value: Any, node: ast.AST | None) -> list[Any] | None:
        return datamodel.materialize(self, value, node)


from convcalc.frontend import datamodel, expressions, statements  # noqa: E402

_STMT: dict[type, StmtHandler] = statements.HANDLERS
_EXPR: dict[type, ExprHandler] = expressions.HANDLERS
