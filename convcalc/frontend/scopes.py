"""Frames, scope facts about function bodies, and the interpreter's control signals."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from convcalc.frontend.values import ExceptionInst, Function, FunctionInfo, ModuleObj
from convcalc.types import Span

NORMAL, BREAK, CONTINUE, RETURN = 0, 1, 2, 3


class UserException(Exception):
    """An exception raised by the analysed program (``raise``, ``1 / 0``, Keras)."""

    def __init__(self, exc: ExceptionInst, span: Span | None) -> None:
        super().__init__(exc.message())
        self.exc = exc
        self.span = span


class BudgetExceeded(Exception):
    """Interpretation must stop: a step, loop, depth, time or size budget ran out."""

    def __init__(self, message: str, span: Span | None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets that bound one analysis, whatever the analysed code does."""

    steps: int = 1_000_000
    seconds: float = 5.0
    """Wall-clock budget of one whole analysis (all its interpretations)."""
    call_depth: int = 80
    loop_iterations: int = 50_000
    source_bytes: int = 2_000_000
    string_literal: int = 100_000
    modules: int = 300


class Frame:
    """One activation: a module body, a class body, a function call or a comprehension."""

    __slots__ = ("closure", "function", "info", "kind", "locals", "module", "parent",
                 "retval", "yields")

    def __init__(
        self,
        kind: str,
        module: ModuleObj,
        locals_: dict[str, Any],
        info: FunctionInfo | None = None,
        closure: tuple[dict[str, Any], ...] = (),
        function: Function | None = None,
        parent: Frame | None = None,
    ) -> None:
        self.kind = kind
        self.module = module
        self.locals = locals_
        self.info = info
        self.closure = closure
        self.function = function
        self.parent = parent
        self.retval: Any = None
        self.yields: list[Any] | None = None


class _Scan(ast.NodeVisitor):
    """Names bound in one function body (not in nested functions, classes or
    comprehensions), its global / nonlocal declarations, and whether it yields."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.generator = False

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.bound.add(node.id)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.bound.add(node.name)
        for d in node.decorator_list:
            self.visit(d)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bound.add(node.name)
        for b in (*node.bases, *node.decorator_list):
            self.visit(b)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp
                       | ast.GeneratorExp) -> None:
        if node.generators:
            self.visit(node.generators[0].iter)
        for n in ast.walk(node):
            if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                self.bound.add(n.target.id)

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_DictComp = _comprehension
    visit_GeneratorExp = _comprehension

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.bound.add(a.asname or a.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            if a.name != "*":
                self.bound.add(a.asname or a.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.nonlocals.update(node.names)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.generator = True
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.generator = True
        self.generic_visit(node)


def function_info(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> FunctionInfo:
    """Scope facts of a function, computed once and kept on its AST node."""
    cached = getattr(node, "_convcalc_info", None)
    if isinstance(cached, FunctionInfo):
        return cached
    scan = _Scan()
    a = node.args
    params = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    if a.vararg:
        params.append(a.vararg.arg)
    if a.kwarg:
        params.append(a.kwarg.arg)
    if isinstance(node, ast.Lambda):
        scan.visit(node.body)
    else:
        for stmt in node.body:
            scan.visit(stmt)
    bound = (scan.bound | set(params)) - scan.globals - scan.nonlocals
    info = FunctionInfo(frozenset(bound), frozenset(scan.globals), frozenset(scan.nonlocals),
                        scan.generator)
    node._convcalc_info = info  # type: ignore[union-attr]
    return info
