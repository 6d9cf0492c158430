"""Lint files and directories: analyse each model file, run the checks, filter."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from convcalc.diagnostics import Diagnostic, Severity
from convcalc.frontend.scopes import Limits
from convcalc.linter.registry import CHECKS, ModelView, SourceFile
from convcalc.linter.settings import Settings, ignored_by_comment
from convcalc.propagate import Analysis
from convcalc.rules import ANALYSIS_BUG, NO_MODEL
from convcalc.types import Span

MODEL_SUFFIXES = (".py", ".keras", ".h5", ".hdf5")
"""What a directory walk picks up (.json only when named: too many JSON files are not
models)."""
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build",
                       "dist"})


@dataclass(slots=True)
class FileResult:
    """The findings in one file; ``usable`` is False when it could not be read."""

    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    usable: bool = True


@dataclass(slots=True)
class LintResult:
    """Findings over every linted file."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 unusable input (info notes, when selected, are shown
        but fail nothing)."""
        if any(not f.usable for f in self.files):
            return 2
        return 1 if any(d.severity >= Severity.WARNING for d in self.diagnostics) else 0


def discover(paths: Sequence[str | Path]) -> list[tuple[Path, bool]]:
    """The files to lint: (path, named on the command line)."""
    out: list[tuple[Path, bool]] = []
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            out.append((p, True))
            continue
        found: list[Path] = []
        for root, dirnames, filenames in os.walk(p):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(".") and d not in SKIP_DIRS)
            found.extend(Path(root) / f for f in filenames if f.endswith(MODEL_SUFFIXES))
        out.extend((f, False) for f in sorted(found))
    return out


def _source_text(path: Path) -> str | None:
    """A Python file's text, unless it is too large for the source reader anyway."""
    try:
        if path.stat().st_size > Limits().source_bytes:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _mentions_keras(path: Path) -> bool:
    if path.suffix != ".py":
        return True
    text = _source_text(path)
    # an oversized file is read by the frontend, which reports it
    return text is None or "keras" in text or "Sequential" in text or "Model(" in text


def lint_file(path: Path, settings: Settings, named: bool = True, call: str | None = None
              ) -> FileResult:
    """Analyse one file and report the findings the settings ask for."""
    name = str(path)
    if not named and not _mentions_keras(path):
        return FileResult(name)
    try:
        found, usable = _findings(path, settings, call)
    except Exception as e:  # a bug in a check must not stop a batch run
        found = [ANALYSIS_BUG.diagnostic(f"{name}: lint failed: {type(e).__name__}: {e}")]
        usable = True
    if not named or path.suffix == ".py":
        # a Python module without a model (a helper, a test) is not a problem: a
        # pre-commit hook hands every changed .py file over
        found = [d for d in found if d.code != NO_MODEL.code]
        usable = usable or not found
    text = _source_text(path) if path.suffix == ".py" else None
    lines = text.splitlines() if text is not None else []
    # a finding about the file as a whole still names the file (line 0: no line)
    found = [d if d.span is not None else replace(d, span=Span(name, 0)) for d in found]
    kept = [d for d in found if settings.wants(d, name) and not ignored_by_comment(d, lines)]
    if not usable and not any(d.severity is Severity.ERROR for d in found):
        usable = True
    return FileResult(name, kept, usable)


def _findings(path: Path, settings: Settings, call: str | None
              ) -> tuple[list[Diagnostic], bool]:
    from convcalc import api
    from convcalc.linter import graph_rules, load_rules

    load_rules()
    shapes = [settings.input_shape] if settings.input_shape else []
    try:
        report = api.analyze(path, input_shapes=shapes, call=call)
    except api.UsageError:
        report = api.analyze(path, call=call)  # the default shape does not fit this model
    text = _source_text(path) if path.suffix == ".py" else None
    source = SourceFile(str(path), text) if text is not None else None
    found = list(report.diagnostics)
    graphs = []
    for m in report.models:
        graphs.append(m.graph)
        recorded = _recorded(m.graph) if source is not None else []
        views = [ModelView(m.analysis, recorded, source)]
        views.extend(ModelView(a) for a in _nested(m.analysis))
        extra: list[Diagnostic] = []
        for view in views:
            for registered in CHECKS:
                if registered.top_level_only and view is not views[0]:
                    continue
                try:
                    extra.extend(registered.run(view))
                except Exception as e:  # one failing check must not hide the others
                    codes = ", ".join(r.code for r in registered.rules)
                    extra.append(ANALYSIS_BUG.diagnostic(
                        f"{path}: the {codes} check failed on model {view.graph.name}: "
                        f"{type(e).__name__}: {e}", span=view.graph.span))
        superseded = set().union(*(v.superseded for v in views))
        found.extend(d for d in m.diagnostics if (d.code, d.span, d.layer) not in superseded)
        found.extend(extra)
    if source is not None and not any(d.severity is Severity.ERROR for d in report.diagnostics):
        found.extend(graph_rules.unconnected_layers(graphs, str(path), source.tree))
    return _unique(found), report.usable and (bool(report.models) or not report.diagnostics)


def _recorded(graph: object) -> list[object]:
    from convcalc.frontend.source import recorded_calls
    from convcalc.graph import LayerGraph

    return list(recorded_calls(graph)) if isinstance(graph, LayerGraph) else []


def _nested(analysis: Analysis) -> Iterator[Analysis]:
    for result in analysis.layers.values():
        if result.inner is not None:
            yield result.inner
            yield from _nested(result.inner)


def _unique(found: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, object, str]] = set()
    out = []
    for d in found:
        key = (d.code, d.span, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    out.sort(key=lambda d: (d.span.line, d.span.col, d.code) if d.span else (0, 0, d.code))
    return out


def _lint_one(args: tuple[Path, Settings, bool]) -> FileResult:
    return lint_file(*args)


def lint_paths(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> LintResult:
    """Lint files and directories (``jobs`` > 1: that many worker processes)."""
    from convcalc.linter import load_rules

    load_rules()  # the workers register the rules for themselves; the report needs them here
    settings = settings or Settings()
    todo = [(p, settings, named) for p, named in discover(paths)]
    result = LintResult()
    total = len(todo)
    if jobs > 1 and total > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # workers start from a clean process, not a fork of this one: forking a process
        # that runs threads (an embedding application, a test session with JAX) can hang
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, total), mp_context=context) as pool:
            chunk = max(1, total // (jobs * 8))  # fewer round trips for many small files
            for i, r in enumerate(pool.map(_lint_one, todo, chunksize=chunk), 1):
                result.files.append(r)
                if progress is not None:
                    progress(i, total)
    else:
        for i, item in enumerate(todo, 1):
            result.files.append(_lint_one(item))
            if progress is not None:
                progress(i, total)
    return result
