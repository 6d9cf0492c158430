"""The shape of a label array passed to ``fit``, when the source makes it visible.

A small syntactic resolver: a name is followed to its last plain assignment in the same
function (given up when an assignment sits in a branch or loop), and a few array
constructors are understood (``np.zeros``, ``np.random.randint``, ``to_categorical``,
``keras.datasets.*.load_data()``...). Anything else is unknown: no finding.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_DEPTH = 8


@dataclass(frozen=True, slots=True)
class ArrayInfo:
    """A label array: its shape (None for an unknown size), whether it holds integer
    class ids, whether it is one-hot."""

    shape: tuple[int | None, ...]
    integer: bool = False
    onehot: bool = False


_DATASETS: dict[str, tuple[tuple[tuple[int, ...], ...], bool]] = {
    "mnist": (((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)), True),
    "fashion_mnist": (((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)), True),
    "cifar10": (((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1)), True),
    "cifar100": (((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1)), True),
    "boston_housing": (((404, 13), (404,), (102, 13), (102,)), False),
}
"""``keras.datasets``: x_train, y_train, x_test, y_test shapes; integer labels?"""


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


class _Scope:
    """Assignments of one function (or the module) body, outside nested definitions."""

    def __init__(self, body: list[ast.stmt], params: set[str]) -> None:
        self.params = params
        self.assigns: dict[str, list[tuple[int, ast.expr, tuple[int, ...], bool]]] = {}
        self._collect(body, nested=False)

    def _collect(self, body: list[ast.stmt], nested: bool) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    self._bind(target, stmt.value, (), stmt.lineno, nested)
            elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and isinstance(
                    stmt.target, ast.Name):
                value = stmt.value if isinstance(stmt, ast.AnnAssign) else None
                self._add(stmt.target.id, stmt.lineno, value, (), nested or value is None)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and not isinstance(
                        stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    self._collect([s for s in inner if isinstance(s, ast.stmt)]
                                  + [s for h in inner if isinstance(h, ast.ExceptHandler)
                                     for s in h.body], nested=True)
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                for n in ast.walk(stmt.target if isinstance(stmt, (ast.For, ast.AsyncFor))
                                  else stmt):
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                        self._add(n.id, stmt.lineno, None, (), True)

    def _bind(self, target: ast.expr, value: ast.expr, path: tuple[int, ...], line: int,
              nested: bool) -> None:
        if isinstance(target, ast.Name):
            self._add(target.id, line, value, path, nested)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for i, t in enumerate(target.elts):
                self._bind(t, value, (*path, i), line, nested)

    def _add(self, name: str, line: int, value: ast.expr | None, path: tuple[int, ...],
             nested: bool) -> None:
        self.assigns.setdefault(name, []).append(
            (line, value if value is not None else ast.Constant(None), path,
             nested or value is None))

    def lookup(self, name: str, before: int
               ) -> tuple[ast.expr, tuple[int, ...], int] | None:
        """The value last assigned to ``name`` before a line (with the line of that
        assignment), if that is certain."""
        found = self.assigns.get(name, [])
        if any(nested for _, _, _, nested in found):
            return None
        earlier = [(line, v, p) for line, v, p, _ in found if line < before]
        if not earlier:
            return None
        line, value, path = max(earlier, key=lambda x: x[0])
        return value, path, line


def enclosing_scope(tree: ast.Module, line: int) -> _Scope:
    """The innermost function around a line (or the module)."""
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            end = n.end_lineno or n.lineno
            if n.lineno <= line <= end and (best is None or n.lineno >= best.lineno):
                best = n
    if best is None:
        return _Scope(tree.body, set())
    a = best.args
    params = {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
    return _Scope(best.body, params)


def find_call(tree: ast.Module, line: int, col: int, method: str) -> ast.Call | None:
    """The ``.method(...)`` call at a recorded position."""
    found: ast.Call | None = None
    for n in ast.walk(tree):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr == method and n.lineno == line):
            if n.col_offset == col:
                return n
            found = found or n
    return found


def call_argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if index < len(call.args) and not any(isinstance(a, ast.Starred)
                                          for a in call.args[:index + 1]):
        return call.args[index]
    return None


class Resolver:
    """Array shapes of expressions at one place of a file."""

    def __init__(self, scope: _Scope, line: int) -> None:
        self.scope = scope
        self.line = line

    def array(self, node: ast.expr, depth: int = 0) -> ArrayInfo | None:
        """The array an expression evaluates to at this resolver's line, if visible."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            if node.id in self.scope.params and node.id not in self.scope.assigns:
                return None
            found = self.scope.lookup(node.id, self.line)
            if found is None:
                return None
            value, path, line = found
            # names in the assigned value refer to what they were before that line
            return Resolver(self.scope, line)._unpacked(value, path, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(
                node.op, (ast.Div, ast.Mult, ast.Sub, ast.Add, ast.FloorDiv)):
            # array (op) number keeps the shape; true division makes floats
            for array_side, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(other, ast.Constant) and type(other.value) in (int, float):
                    inner = self.array(array_side, depth + 1)
                    if inner is None:
                        return None
                    integer = inner.integer and type(other.value) is int and not isinstance(
                        node.op, ast.Div)
                    return ArrayInfo(inner.shape, integer, inner.onehot)
            return None
        if isinstance(node, ast.Subscript):
            inner = self.array(node.value, depth + 1)
            if inner is None or not inner.shape or not isinstance(node.slice, ast.Slice):
                return None
            return ArrayInfo((None, *inner.shape[1:]), inner.integer, inner.onehot)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        return None

    def _unpacked(self, value: ast.expr, path: tuple[int, ...], depth: int) -> ArrayInfo | None:
        if not path:
            return self.array(value, depth)
        if isinstance(value, (ast.Tuple, ast.List)):
            if path[0] < len(value.elts):
                return self._unpacked(value.elts[path[0]], path[1:], depth)
            return None
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr == "load_data" and not value.args and not value.keywords):
            name = _dotted(value.func.value).rsplit(".", 1)[-1]
            data = _DATASETS.get(name)
            if data is None or len(path) != 2 or path[0] > 1 or path[1] > 1:
                return None
            shape = data[0][path[0] * 2 + path[1]]
            return ArrayInfo(shape, integer=data[1] and path[1] == 1)
        return None

    def _call(self, node: ast.Call, depth: int) -> ArrayInfo | None:
        func = _dotted(node.func)
        last = func.rsplit(".", 1)[-1]
        if isinstance(node.func, ast.Attribute) and last in ("astype", "reshape") and not (
                func.startswith(("np.", "numpy."))):
            inner = self.array(node.func.value, depth + 1)
            if inner is None:
                return None
            if last == "astype":
                dtype = ast.unparse(node.args[0]) if node.args else ""
                return ArrayInfo(inner.shape, "int" in dtype and not inner.onehot, inner.onehot)
            return self._reshape(inner, node.args)
        if last == "to_categorical":
            base_node = call_argument(node, 0, "x")
            base = self.array(base_node, depth + 1) if base_node is not None else None
            if base is None:
                return None
            k = _int(call_argument(node, 1, "num_classes"))
            ids = base.shape[:-1] if base.shape[-1:] == (1,) else base.shape
            return ArrayInfo((*ids, k), integer=False, onehot=True)
        if not func.startswith(("np.", "numpy.")):
            return None
        if last in ("zeros", "ones", "empty", "full"):
            shape = _shape(call_argument(node, 0, "shape"))
            dtype_node = call_argument(node, 2 if last == "full" else 1, "dtype")
            integer = dtype_node is not None and "int" in ast.unparse(dtype_node)
            return None if shape is None else ArrayInfo(shape, integer)
        if last in ("rand", "randn") and not node.keywords:
            sizes = [_int(a) for a in node.args]
            return ArrayInfo(tuple(sizes)) if node.args and None not in sizes else None
        if last in ("random", "random_sample", "uniform", "normal", "randint"):
            index = {"random": 0, "random_sample": 0, "uniform": 2, "normal": 2,
                     "randint": 2}[last]
            size = call_argument(node, index, "size")
            sized = _shape(size) if size is not None else None
            return None if sized is None else ArrayInfo(sized, integer=last == "randint")
        if last in ("array", "asarray") and node.args:
            return _literal(node.args[0])
        if last == "expand_dims":
            inner_node = call_argument(node, 0, "a")
            inner = self.array(inner_node, depth + 1) if inner_node is not None else None
            axis = _int(call_argument(node, 1, "axis"))
            if inner is None or axis != -1:
                return None
            return ArrayInfo((*inner.shape, 1), inner.integer, False)
        return None

    @staticmethod
    def _reshape(inner: ArrayInfo, args: list[ast.expr]) -> ArrayInfo | None:
        target: tuple[int | None, ...] | None = (
            _shape_signed(args[0]) if len(args) == 1 else tuple(_signed(a) for a in args))
        if target is None or any(t is None for t in target):
            return None
        total = 1
        for d in inner.shape:
            if d is None:
                return None
            total *= d
        known = 1
        for t in target:
            if t is not None and t != -1:
                known *= t
        if known == 0:
            return None
        shape = tuple(total // known if t == -1 else t for t in target)
        return ArrayInfo(shape, inner.integer, False)


def _signed(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _int(node.operand)
        return None if v is None else -v
    return _int(node)


def _shape_signed(node: ast.expr) -> tuple[int | None, ...] | None:
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_signed(e) for e in node.elts)
    v = _signed(node)
    return None if v is None else (v,)


def _int(node: ast.expr | None) -> int | None:
    """An int literal, or integer arithmetic on literals (``28 * 28``)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub,
                                                            ast.FloorDiv)):
        a, b = _int(node.left), _int(node.right)
        if a is None or b is None or (isinstance(node.op, ast.FloorDiv) and b == 0):
            return None
        if isinstance(node.op, ast.Mult):
            return a * b if abs(a * b) < 2**40 else None
        if isinstance(node.op, ast.Add):
            return a + b
        return a - b if isinstance(node.op, ast.Sub) else a // b
    return None


def _shape(node: ast.expr | None) -> tuple[int | None, ...] | None:
    if node is None:
        return None
    if isinstance(node, (ast.Tuple, ast.List)):
        sizes = tuple(_signed(e) for e in node.elts)
        return None if any(s is None or s < 0 for s in sizes) else sizes
    v = _int(node)
    return None if v is None else (v,)


def _literal(node: ast.expr) -> ArrayInfo | None:
    """Shape and kind of a nested list literal of numbers."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    if not node.elts:
        return ArrayInfo((0,))
    items = [_literal(e) if isinstance(e, (ast.List, ast.Tuple)) else None for e in node.elts]
    if all(isinstance(e, ast.Constant) and type(e.value) in (int, float) for e in node.elts):
        integer = all(type(e.value) is int for e in node.elts)  # type: ignore[attr-defined]
        return ArrayInfo((len(node.elts),), integer)
    if any(i is None for i in items):
        return None
    shapes = {i.shape for i in items if i is not None}
    if len(shapes) != 1:
        return None
    first = items[0]
    assert first is not None
    return ArrayInfo((len(node.elts), *first.shape), all(i.integer for i in items if i))
