"""The library interface: ``analyze(path_or_text) -> Report``."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convcalc import constraints, counting, dims, rules
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.frontend import Loaded
from convcalc.graph import LayerGraph, TensorRef
from convcalc.propagate import declared_inputs, propagate
from convcalc.report import ModelReport, Report
from convcalc.types import TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.checking import CheckResult

InputShape = Sequence[int | None]


class UsageError(ValueError):
    """Arguments that do not fit the model (e.g. an --input-shape of the wrong rank)."""


def load(source: str | Path, call: str | None = None) -> tuple[str, Loaded]:
    """Read models from a path, or from JSON / Python text given directly."""
    if isinstance(source, Path) or _looks_like_path(source):
        path = Path(source)
        if path.suffix == ".py":
            from convcalc.frontend import source as python

            return str(path), python.load_source_file(path, call=call)
        from convcalc.frontend import files

        return str(path), files.load_file(path)
    text = source
    if text.lstrip().startswith(("{", "[")):
        from convcalc.frontend import config

        return "<string>", config.load_config_text(text, "<string>")
    from convcalc.frontend import source as python

    return "<string>", python.load_source_text(text, "<string>", call=call)


def _looks_like_path(s: str) -> bool:
    if "\n" in s or len(s) > 4096 or s.lstrip().startswith(("{", "[")):
        return False
    return Path(s).exists() or s.endswith((".py", ".json", ".keras", ".h5", ".hdf5"))


def analyze(
    source: str | Path,
    *,
    input_shapes: Sequence[InputShape] | Mapping[str, InputShape] = (),
    model: str | None = None,
    call: str | None = None,
) -> Report:
    """Analyse every model in ``source`` (a file path, JSON text or Python text).

    ``input_shapes`` binds unknown input sizes (per input, without the batch dim; by
    position or by input layer name); ``model`` keeps one model by name; ``call`` is a
    builder call such as ``"build_model((128, 128, 3))"`` for Python sources.
    Raises :class:`UsageError` when the options do not fit the model.
    """
    with _gc_paused():
        return _analyze(source, input_shapes, model, call)


def check(source: str | Path, **options: Any) -> CheckResult:
    """Run every model in ``source`` with NumPy and compare each executed output shape
    with the static one; options as :func:`convcalc.checking.check`."""
    from convcalc.checking import check as run_check

    return run_check(source, **options)


def lint(
    *paths: str | Path,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    input_shape: Sequence[int | None] | None = None,
    config: str | Path | None = None,
    jobs: int = 1,
) -> list[Diagnostic]:
    """Lint model files and directories; the findings as diagnostics.

    Settings come from ``config`` (a pyproject.toml with ``[tool.convcalc]``) when
    given; ``select`` / ``ignore`` are rule codes or prefixes (``"CC2"``).
    """
    from dataclasses import replace

    from convcalc.linter.runner import lint_paths
    from convcalc.linter.settings import load_settings

    settings = load_settings(Path(config) if config else None).with_options(select, ignore)
    if input_shape is not None:
        settings = replace(settings, input_shape=tuple(input_shape))
    return lint_paths(paths, settings, jobs).diagnostics


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: analysis allocates many small acyclic
    objects, and the collector's repeated scans of them cost a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _analyze(
    source: str | Path,
    input_shapes: Sequence[InputShape] | Mapping[str, InputShape],
    model: str | None,
    call: str | None,
) -> Report:
    name, loaded = load(source, call)
    report = Report(name, diagnostics=list(loaded.diagnostics), usable=loaded.usable)
    for g in select_models(loaded, model):
        report.models.append(analyze_graph(g, input_shapes))
    if report.usable and not loaded.models and not _has_error(report.diagnostics):
        report.diagnostics.append(rules.NO_MODEL.diagnostic(f"{name}: no Keras model found"))
    return report


def select_models(loaded: Loaded, model: str | None) -> list[LayerGraph]:
    """The models read, or only the one named ``model`` (a UsageError if none is)."""
    if model is None:
        return list(loaded.models)
    graphs = [g for g in loaded.models if g.name == model]
    if not graphs and loaded.models:
        names = ", ".join(g.name for g in loaded.models)
        raise UsageError(f"no model named {model!r} (found: {names})")
    return graphs


def _has_error(diags: Sequence[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diags)


def analyze_graph(
    graph: LayerGraph,
    input_shapes: Sequence[InputShape] | Mapping[str, InputShape] = (),
) -> ModelReport:
    """Propagate, count and check one model graph."""
    overrides = bind_inputs(graph, input_shapes)
    analysis = propagate(graph, overrides)
    diags = list(analysis.diagnostics)
    if analysis.requirements:
        diags.extend(constraints.solve(analysis.requirements, graph.span, graph.name))
    diags.sort(key=lambda d: (d.span.file, d.span.line, d.span.col) if d.span else ("", 0, 0))
    return ModelReport(graph, analysis, counting.totals(analysis), diags)


def bind_inputs(
    graph: LayerGraph,
    shapes: Sequence[InputShape] | Mapping[str, InputShape],
) -> dict[TensorRef, TensorType]:
    """Input types with the given sizes in place of the declared ones."""
    if not shapes:
        return {}
    declared = declared_inputs(graph)
    refs = list(graph.inputs)
    if isinstance(shapes, Mapping):
        by_name = {graph.calls[r.node].layer.name: r for r in refs}
        unknown = [k for k in shapes if k not in by_name]
        if unknown:
            raise UsageError(f"no input named {unknown[0]!r} (inputs: {', '.join(by_name)})")
        pairs = [(by_name[k], v) for k, v in shapes.items()]
    else:
        if len(shapes) > len(refs):
            raise UsageError(f"{len(shapes)} input shapes given, the model has {len(refs)} inputs")
        pairs = list(zip(refs, shapes, strict=False))
    out: dict[TensorRef, TensorType] = {}
    for ref, shape in pairs:
        want = declared[ref]
        name = graph.calls[ref.node].layer.name
        if want is None:
            continue
        if len(shape) != want.rank - 1:
            raise UsageError(
                f"input {name} has {want.rank - 1} dims besides the batch "
                f"{format_shape(want.shape)}, the given shape has {len(shape)}"
            )
        new: list[dims.Dim] = [want.batch]
        for d, given in zip(want.shape[1:], shape, strict=True):
            if given is None:
                new.append(d)
            elif given < 1:
                raise UsageError(f"input sizes must be positive, got {given}")
            elif dims.is_int(d) and d != given:
                raise UsageError(
                    f"input {name} is declared {format_shape(want.shape)}; "
                    f"a size of {given} does not fit it"
                )
            else:
                new.append(given)
        out[ref] = TensorType(tuple(new), want.dtype)
    return out

