"""The Python source frontend: read model code with ``ast.parse``, interpret it
abstractly, and return the models it builds.

Nothing of the analysed program is ever executed, evaluated, compiled or imported (see
:mod:`convcalc.frontend.interpreter`). Which models are reported:

- every model built while the module body runs (the file run as a script, so an
  ``if __name__ == "__main__":`` block runs too), except models used only as a layer of
  another model;
- with ``call`` (``"build_model((128, 128, 3))"``), the models that call builds;
- without it, every module-level function that builds a model (it, or a function of
  the module it calls, calls ``Model`` / ``Sequential`` / a keras application) and that
  the file never calls: it is called with its defaults, parameters without a default
  standing for unknown values (named after the parameter).

A model input whose shape is unknown as a whole (a parameter, ``x.shape[1:]`` of data)
has no rank yet. The first layer that consumes it decides the rank, as the smallest
rank that layer accepts (Dense 2, Conv1D / LSTM 3, Conv2D 4, Conv3D 5; a merge takes
the rank of its other inputs; layers that accept any rank and keep the shape, such as
Activation or BatchNormalization, pass the decision on). The interpretation then starts
again with that input's rank fixed, its sizes named ``H, W, C`` / ``T, F`` / ``F``...
"""

from __future__ import annotations

import ast
import sys
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from convcalc import rules
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.frontend import Loaded
from convcalc.frontend.interpreter import Interpreter
from convcalc.frontend.loader import Loader
from convcalc.frontend.models import Session
from convcalc.frontend.objects import KerasError, LayerObj, ModelObj, RankChoice, RecordedCall
from convcalc.frontend.scopes import BudgetExceeded, Limits, UserException
from convcalc.frontend.values import ModuleObj, Unknown, models_in
from convcalc.graph import Layer, LayerGraph
from convcalc.types import Span

MAX_RESTARTS = 8
MODEL_BUILDERS = frozenset({"Model", "Sequential", "Functional"})

_RECORDED: weakref.WeakKeyDictionary[LayerGraph, list[RecordedCall]] = (
    weakref.WeakKeyDictionary())


def recorded_calls(graph: LayerGraph) -> list[RecordedCall]:
    """The ``compile`` / ``fit`` / ``summary``... calls made on a model read from source,
    with their arguments as plain values (recorded, never run)."""
    return list(_RECORDED.get(graph, ()))


_CALLED: weakref.WeakKeyDictionary[LayerGraph, list[tuple[Layer, Span | None]]] = (
    weakref.WeakKeyDictionary())


def called_layers(graph: LayerGraph) -> list[tuple[Layer, Span | None]]:
    """Every layer the program created while building ``graph``, with the span of its
    first call on tensors (None if it was never called), whether or not it ended up in a
    model; graphs built by one run share one list."""
    return _CALLED.get(graph, [])


def load_source_file(path: Path, call: str | None = None,
                     limits: Limits | None = None) -> Loaded:
    """Read the models a Python file builds (see the module docstring)."""
    limits = limits or Limits()
    if path.is_dir():
        path = path / "__init__.py"
    name = str(path)
    try:
        size = path.stat().st_size
        if size > limits.source_bytes:
            return _unusable(rules.BUDGET_EXCEEDED,
                             f"{name} is {size:,} bytes, more than the {limits.source_bytes:,} "
                             "bytes convcalc reads", name)
        data = path.read_bytes()
    except OSError as e:
        return _unusable(rules.UNREADABLE_FILE, f"{name}: {e.strerror or e}", name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return _unusable(rules.SYNTAX_ERROR, f"{name} is not UTF-8 text ({e.reason})", name)
    return _load(text, name, path, call, limits)


def load_source_text(text: str, name: str, call: str | None = None,
                     limits: Limits | None = None) -> Loaded:
    """Read the models Python source text builds (imports of the user's own modules are
    looked up in the current directory)."""
    limits = limits or Limits()
    if len(text) > limits.source_bytes:
        return _unusable(rules.BUDGET_EXCEEDED,
                         f"{name} holds {len(text):,} characters, more than the "
                         f"{limits.source_bytes:,} convcalc reads", name)
    return _load(text, name, None, call, limits)


def _unusable(rule: rules.Rule, message: str, name: str, line: int = 0, col: int = 0
              ) -> Loaded:
    span = Span(name, line, col) if line else None
    return Loaded(diagnostics=[rule.diagnostic(message, span=span)], usable=False)


def _parse(text: str, name: str) -> ast.Module | Loaded:
    try:
        return ast.parse(text, filename=name)
    except SyntaxError as e:
        line = e.lineno or 1
        col = max((e.offset or 1) - 1, 0)
        return _unusable(rules.SYNTAX_ERROR, f"syntax error: {e.msg}", name, line, col)
    except ValueError as e:
        return _unusable(rules.SYNTAX_ERROR, f"the file cannot be parsed: {e}", name, 1)
    except (RecursionError, MemoryError):
        return _unusable(rules.BUDGET_EXCEEDED,
                         "the source is nested too deeply to be parsed", name, 1)


@dataclass
class _Target:
    """One thing to interpret after the module body: a call, or an uncalled builder."""

    run: Callable[[Interpreter, ModuleObj], Any] | None
    models: list[LayerGraph] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    built: bool = False


def _load(text: str, name: str, path: Path | None, call: str | None, limits: Limits
          ) -> Loaded:
    tree = _parse(text, name)
    if isinstance(tree, Loaded):
        return tree
    call_expr: ast.expr | None = None
    if call is not None:
        try:
            call_expr = ast.parse(call.strip(), filename="<call>", mode="eval").body
        except SyntaxError as e:
            return _unusable(rules.SYNTAX_ERROR, f"the --call expression {call!r} is not "
                             f"valid Python: {e.msg}", "<call>", 1, max((e.offset or 1) - 1, 0))
    runner = _Runner(tree, name, path, limits)
    module_target = _Target(None)
    choices = runner.run(module_target, {})
    targets = [module_target]
    if call_expr is not None:
        expr = call_expr
        targets.append(_Target(lambda it, mod: it.run_in(
            mod, lambda frame: it.eval(expr, frame))))
    else:
        for fn in uncalled_builders(tree):
            targets.append(_Target(_builder_call(fn)))
    for t in targets[1:]:
        runner.run(t, choices)
    out = Loaded()
    seen: set[tuple[str, Span | None, str]] = set()
    for t in targets:
        diags = t.diagnostics
        if t.run is not None and call_expr is None and not t.built:
            # a function that looked like a builder but built nothing: keep its problems
            diags = [d for d in diags if d.severity >= Severity.WARNING]
        out.models.extend(t.models)
        for d in diags:
            key = (d.code, d.span, d.message)
            if key not in seen:
                seen.add(key)
                out.diagnostics.append(d)
    return out


def _builder_call(fn: ast.FunctionDef | ast.AsyncFunctionDef
                  ) -> Callable[[Interpreter, ModuleObj], Any]:
    """Call a module-level function with its defaults; parameters without one are
    unknown values named after the parameter."""

    def run(it: Interpreter, module: ModuleObj) -> Any:
        func = module.namespace.get(fn.name)
        if func is None:
            return None
        a = fn.args
        positional = [*a.posonlyargs, *a.args]
        n_free = len(positional) - len(a.defaults)

        def param(name: str) -> Unknown:
            return Unknown(f"the parameter {name} of {fn.name} (never called in the file)",
                           name)

        args = [param(p.arg) for p in positional[:n_free]]
        kwargs = {p.arg: param(p.arg)
                  for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is None}
        return it.run_in(module, lambda frame: it.call(func, args, kwargs, fn))

    return run


class _Runner:
    """Interprets the module (and one target after it), starting again when a model
    input's rank gets decided."""

    def __init__(self, tree: ast.Module, name: str, path: Path | None, limits: Limits) -> None:
        self.tree = tree
        self.name = name
        self.path = path
        self.limits = limits
        self.roots: list[Path] = []
        self.package = ""
        self.started = time.perf_counter()
        if path is not None:
            here = path.resolve().parent
            self.roots.append(here)
            parts: list[str] = []
            d = here
            while (d / "__init__.py").is_file() and d.parent != d:
                parts.insert(0, d.name)
                d = d.parent
            if parts and not _installed_packages_dir(d):
                self.roots.append(d)
            if parts:
                self.package = ".".join(parts)

    def run(self, target: _Target, choices: dict[int, RankChoice]) -> dict[int, RankChoice]:
        """Interpret until no new rank decision comes up; fill the target's results."""
        choices = dict(choices)
        for _ in range(MAX_RESTARTS):
            try:
                self._once(target, choices)
            except RankChoice as c:
                if c.key in choices:
                    break
                choices[c.key] = c
                continue
            return choices
        return choices

    def _once(self, target: _Target, choices: dict[int, RankChoice]) -> None:
        target.models = []
        target.diagnostics = []
        target.built = False
        module = ModuleObj("__main__", self.name, {"__name__": "__main__",
                                                   "__file__": self.name,
                                                   "__doc__": ast.get_docstring(self.tree)},
                           self.package)
        session = Session(lambda *a, **k: None, choices)
        it = Interpreter(session, Loader(module, self.roots), self.limits, self.started)
        session.report = it.report
        first_model = first_diag = 0
        result: Any = None
        try:
            it.guarded(lambda: it.run_module(module, self.tree))
            if target.run is not None:
                first_model, first_diag = len(session.models), len(it.diagnostics)
                run = target.run
                result = it.guarded(lambda: run(it, module))
        except RankChoice:
            raise
        except UserException as e:
            it.report(rules.CODE_RAISES, _raise_message(e), e.span)
        except BudgetExceeded as e:
            it.report(rules.BUDGET_EXCEEDED, f"interpretation stopped: {e.message}", e.span)
        except RecursionError:
            it.report(rules.BUDGET_EXCEEDED,
                      "interpretation stopped: the code recurses too deeply", None)
        except KerasError as e:
            it.report(rules.CODE_RAISES, f"{e.kind}: {e.message}", None)
        except Exception as e:  # a bug in convcalc must not take the analysis down
            where = traceback.extract_tb(e.__traceback__)[-1]
            it.report(rules.ANALYSIS_BUG,
                      f"the source reader failed: {type(e).__name__}: {e} "
                      f"({Path(where.filename).name}:{where.lineno})", None)
        models = session.models[first_model:]
        chosen = [m for m in models if not m.nested]
        for m in models_in(result):
            if m not in chosen:
                chosen.append(m)
        target.built = bool(chosen)
        for m in chosen:
            graph = self._graph(it, session, m)
            if graph is not None:
                target.models.append(graph)
                _RECORDED[graph] = list(m.recorded)
        called = [(o.layer, o.nodes[0].span if o.nodes else None)
                  for o in session.owners.values() if isinstance(o, LayerObj)]
        for graph in target.models:
            _CALLED[graph] = called
        target.diagnostics = it.diagnostics[first_diag:]

    def _graph(self, it: Interpreter, session: Session, model: ModelObj) -> LayerGraph | None:
        try:
            return session.model_graph(model)
        except KerasError as e:
            it.report(rules.CODE_RAISES, f"model {model.name}: {e.message}", model.span)
            return None


def _installed_packages_dir(d: Path) -> bool:
    """Whether a directory holds installed packages (never a user's project root)."""
    if d.name in ("site-packages", "dist-packages"):
        return True
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return any(d == p or p in d.parents for p in prefixes)


def _raise_message(e: UserException) -> str:
    msg = e.exc.message()
    text = f"{e.exc.class_name}: {msg}" if msg else e.exc.class_name
    return f"the code raises {text}; the model is not built past this point"


def uncalled_builders(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions the file never refers to that build a model (call Model /
    Sequential / Functional or a keras application, directly or through other functions
    of the module)."""
    defs = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef,
                                                          ast.AsyncFunctionDef))}
    used: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            used.add(n.id)
        elif isinstance(n, ast.Attribute):
            used.add(n.attr)
    applications = _application_names(tree)
    memo: dict[str, bool] = {}

    def builds(name: str, seen: frozenset[str]) -> bool:
        if name in memo:
            return memo[name]
        fn = defs[name]
        result = False
        for n in ast.walk(fn):
            if isinstance(n, ast.Call):
                f = n.func
                callee = f.attr if isinstance(f, ast.Attribute) else (
                    f.id if isinstance(f, ast.Name) else None)
                if callee in MODEL_BUILDERS or callee in applications or (
                        isinstance(f, ast.Attribute) and _mentions(f, "applications")):
                    result = True
                    break
            if (isinstance(n, ast.Name) and n.id in defs and n.id not in seen
                    and n.id != name and builds(n.id, seen | {name})):
                result = True
                break
        memo[name] = result
        return result

    return [fn for name, fn in defs.items()
            if name not in used and builds(name, frozenset())]


def _application_names(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom) and n.module and "applications" in n.module:
            out.update(a.asname or a.name for a in n.names)
    return out


def _mentions(node: ast.expr, name: str) -> bool:
    while isinstance(node, ast.Attribute):
        if node.attr == name:
            return True
        node = node.value
    return False
