"""``convcalc check``: run a model on random inputs and compare every executed shape
with the static one.

Unknown input sizes are bound to a few sample values that satisfy the model's size
requirements (``H a multiple of 8``); weights come from the initialisers in the config
(seeded) or from the file when it holds trained ones. A disagreement between the shape
an executed layer produced and the shape propagation predicted is a bug in convcalc
(CC301); a layer kind without a NumPy forward is reported (CC302) and the part of the
graph that depends on it is skipped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from convcalc import dims, rules
from convcalc.api import InputShape, UsageError, analyze_graph, load, select_models
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.executor import (
    FAILED,
    NO_FORWARD,
    OK,
    SKIPPED,
    Array,
    CallRun,
    Weights,
    concrete_shape,
    execute,
    init_weights,
    iter_layer_weights,
)
from convcalc.graph import Layer, LayerGraph
from convcalc.layers.base import Requirement
from convcalc.propagate import Analysis, PendingRequirement, about
from convcalc.report import ModelReport
from convcalc.types import TensorType, format_shape

JSON_VERSION = 1
SIZE_LIMIT = 1024
"""Sample sizes are searched in 1..SIZE_LIMIT."""
SIZE_TARGETS = (7, 32, 19, 50, 13, 64)
"""Sample values start from these sizes (the smallest valid size at or above each):
a small odd one, then larger ones, so size-dependent rounding gets exercised."""
INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
DEFAULT_VOCABULARY = 2
"""Ids fed to an integer input no layer gives a range for are drawn from 0..1."""


@dataclass(slots=True)
class LayerRun:
    """One layer call of one run: its status, executed and static output shapes."""

    layer: str
    class_name: str
    call_index: int
    path: tuple[str, ...]
    status: str
    shapes: tuple[tuple[int, ...], ...] | None
    static: tuple[str, ...]
    """The static output shapes, with the run's sizes substituted."""
    outputs: tuple[Array, ...] | None = None
    """The output arrays, when the check was asked to keep them."""

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "class_name": self.class_name,
            "call_index": self.call_index, "path": list(self.path), "status": self.status,
            "shapes": None if self.shapes is None else [list(s) for s in self.shapes],
            "static_shapes": list(self.static),
        }


@dataclass(slots=True)
class Run:
    """The model run once at one binding of its unknown sizes."""

    sizes: dict[str, int]
    batch: int
    layers: list[LayerRun]
    seconds: float
    peak_bytes: int

    @property
    def executed(self) -> int:
        return sum(1 for r in self.layers if r.status == OK)

    @property
    def shapes_checked(self) -> int:
        return sum(len(r.shapes or ()) for r in self.layers if r.status == OK)

    def describe(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in self.sizes.items())
        return f"batch {self.batch}" + (f", {sizes}" if sizes else "")

    def to_json(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "batch": self.batch, "seconds": self.seconds,
                "peak_bytes": self.peak_bytes, "layers": [x.to_json() for x in self.layers]}


@dataclass(slots=True)
class ModelCheck:
    """Every run of one model and what they found."""

    report: ModelReport
    weights_from: str
    runs: list[Run] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """The check's findings (CC3xx), after the static analysis's own."""

    @property
    def name(self) -> str:
        return self.report.name

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "weights": self.weights_from,
                "runs": [r.to_json() for r in self.runs],
                "diagnostics": [d.to_json() for d in self.diagnostics]}


@dataclass(slots=True)
class CheckResult:
    """Everything ``check`` found in one input."""

    source: str
    models: list[ModelCheck] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """About the input as a whole (unreadable file, unusable weights)."""
    usable: bool = True

    def all_diagnostics(self) -> list[Diagnostic]:
        """The input's, then per model the static analysis's and the check's."""
        out = list(self.diagnostics)
        for m in self.models:
            out.extend(m.report.diagnostics)
            out.extend(m.diagnostics)
        return out

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings (any error, or a layer the check could not run),
        2 unusable input."""
        if not self.usable or not self.models:
            return 2
        for d in self.all_diagnostics():
            if d.severity is Severity.ERROR or d.code.startswith("CC3"):
                return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {"version": JSON_VERSION, "source": self.source,
                "models": [m.to_json() for m in self.models],
                "diagnostics": [d.to_json() for d in self.diagnostics]}


# ----------------------------------------------------------------------- sample sizes
def _holds(req: PendingRequirement, env: Mapping[str, int]) -> bool:
    r = req.requirement
    try:
        n, d = dims.evaluator(r.lhs)(env)
        if r.kind == "positive":
            return n >= d
        a, b = dims.evaluator(r.rhs)(env)
    except (ValueError, KeyError, ZeroDivisionError):
        return True  # nothing is claimed about a requirement that cannot be evaluated
    return n * b == a * d


def sample_sizes(names: Sequence[str], requirements: Sequence[PendingRequirement],
                 fixed: Mapping[str, int], count: int) -> list[dict[str, int]]:
    """Up to ``count`` distinct bindings of ``names`` satisfying every requirement.

    Symbols are bound one at a time, each to the smallest size at or above a target
    that keeps the requirements on the symbols bound so far true.
    """
    reqs = [(r, dims.free_symbols(r.requirement.lhs) | dims.free_symbols(r.requirement.rhs))
            for r in requirements]
    out: list[dict[str, int]] = []
    for target in SIZE_TARGETS:
        if len(out) >= count:
            break
        env = dict(fixed)
        for name in names:
            for v in (*range(target, SIZE_LIMIT + 1), *range(1, target)):
                env[name] = v
                if all(_holds(r, env) for r, syms in reqs if name in syms and syms <= env.keys()):
                    break
            else:
                break
        else:
            binding = {n: env[n] for n in names}
            if binding not in out:
                out.append(binding)
        if not names:
            break
    return out


# ----------------------------------------------------------------------------- inputs
def _vocabulary(graph: LayerGraph, node: int) -> int:
    """The id range an integer input may take: the smallest ``input_dim`` among the
    layers reading it (an Embedding), else DEFAULT_VOCABULARY."""
    sizes = []
    for c in graph.calls:
        if any(ref.node == node for ref in c.inputs):
            n = getattr(c.layer.spec, "input_dim", None)
            if isinstance(n, int) and n > 0:
                sizes.append(n)
    return min(sizes) if sizes else DEFAULT_VOCABULARY


def random_inputs(graph: LayerGraph, types: Sequence[TensorType], values: Mapping[str, int],
                  rng: np.random.Generator) -> list[Array]:
    """One array per model input: float32 normal values, or ids for integer inputs."""
    out = []
    for ref, t in zip(graph.inputs, types, strict=True):
        shape = concrete_shape(t.shape, values)
        if t.dtype in INTEGER_DTYPES:
            out.append(rng.integers(0, _vocabulary(graph, ref.node), shape).astype(t.dtype))
        elif t.dtype == "bool":
            out.append(rng.integers(0, 2, shape).astype(bool))
        else:
            out.append(rng.standard_normal(shape, dtype=np.float32))
    return out


# ------------------------------------------------------------------------------ check
class _Checker:
    """Compares one run's executed shapes with the static ones and collects findings."""

    def __init__(self, values: Mapping[str, int], keep: bool, run_text: str) -> None:
        self.values = values
        self.keep = keep
        self.run_text = run_text
        self.layers: list[LayerRun] = []
        self.findings: list[tuple[str, Layer, Diagnostic]] = []

    def static_text(self, t: TensorType | None) -> str:
        if t is None:
            return "?"
        return format_shape(tuple(dims.substitute(d, self.values) for d in t.shape))

    def __call__(self, run: CallRun) -> None:
        call = run.call
        static = run.static
        self.layers.append(LayerRun(
            call.layer.name, call.layer.class_name, call.call_index, run.path, run.status,
            run.shapes, tuple(self.static_text(t) for t in static),
            run.outputs if self.keep else None))
        where = f" (in {'/'.join(run.path)})" if run.path else ""
        span = call.span or call.layer.span
        if run.status == NO_FORWARD:
            self.findings.append(("forward", call.layer, rules.NO_FORWARD.diagnostic(
                about(call.layer, f"{call.layer.class_name} has no NumPy forward{where}"
                                  f"{_reason(run.error)}; the layers that depend on it "
                                  "were not run"),
                span=span, layer=call.layer.name)))
        elif run.status == FAILED:
            self.findings.append(("failed", call.layer, rules.ANALYSIS_BUG.diagnostic(
                about(call.layer, f"the NumPy forward failed{where} ({self.run_text}): "
                                  f"{run.error}"),
                span=span, layer=call.layer.name)))
        elif run.status == OK and run.outputs is not None:
            problem = self.compare(run.outputs, static)
            if problem:
                self.findings.append(("shape", call.layer, rules.SHAPE_DISAGREES.diagnostic(
                    about(call.layer, f"executed{where} with {self.run_text}, {problem}"),
                    span=span, layer=call.layer.name)))

    def compare(self, outputs: Sequence[Array], static: Sequence[TensorType | None]) -> str:
        if len(outputs) != len(static):
            return f"it returned {len(outputs)} outputs where the static rule has {len(static)}"
        for i, (a, t) in enumerate(zip(outputs, static, strict=True)):
            if t is None:
                continue
            want = [dims.substitute(d, self.values) for d in t.shape]
            which = f"output {i} " if len(outputs) > 1 else "output "
            if len(want) != a.ndim or any(
                dims.is_int(w) and w != got for w, got in zip(want, a.shape, strict=False)
            ):
                return (f"{which}has shape {a.shape}, the static shape "
                        f"{format_shape(t.shape)} is {self.static_text(t)} there")
        return ""


def check_graph(graph: LayerGraph, *,
                input_shapes: Sequence[InputShape] | Mapping[str, InputShape] = (),
                batch: int = 2, seed: int = 0, samples: int = 2,
                weights: Weights | None = None, weights_from: str = "",
                keep_outputs: bool = False) -> ModelCheck:
    """Analyse ``graph``, then run it at up to ``samples`` bindings of its unknown
    sizes and compare every executed output shape with the static one."""
    report = analyze_graph(graph, input_shapes)
    analysis = report.analysis
    result = ModelCheck(report, weights_from or f"initialisers in the config (seed {seed})")
    types = analysis.input_types
    if any(t is None for t in types):
        result.diagnostics.append(rules.SHAPE_UNKNOWN.diagnostic(
            f"model {graph.name}: an input has no known shape; nothing was run",
            span=graph.span))
        return result
    known: list[TensorType] = [t for t in types if t is not None]
    names = sorted(set().union(*(dims.free_symbols(d) for t in known for d in t.shape))
                   - {dims.BATCH.name})
    fixed = {dims.BATCH.name: batch}
    requirements = list(analysis.requirements)
    if weights is not None:
        requirements += _fit_weights(graph, analysis, weights)
    bindings = sample_sizes(names, requirements, fixed, max(1, samples))
    if not bindings:
        # requirements no size meets are errors the static analysis reported; the
        # rest of the model can still run at sizes that meet the others
        kept: list[PendingRequirement] = []
        for r in sorted(requirements, key=lambda r: r.requirement.kind != "positive"):
            if sample_sizes(names, [*kept, r], fixed, 1):
                kept.append(r)
        requirements = kept
        bindings = sample_sizes(names, requirements, fixed, max(1, samples))
    if not bindings:
        result.diagnostics.append(rules.INPUT_SIZE_CONSTRAINT.diagnostic(
            f"model {graph.name}: no input size up to {SIZE_LIMIT} satisfies every layer; "
            "nothing was run", span=graph.span, severity=Severity.ERROR))
        return result
    if weights is not None:
        problem = _weights_problem(analysis, weights, {**fixed, **bindings[0]})
        if problem:
            result.diagnostics.append(rules.SHAPE_DISAGREES.diagnostic(
                f"model {graph.name}: {problem}", span=graph.span,
                hint="The weights in the file do not fit the model convcalc read from it; "
                     "please report it with the file."))
            return result
    broken = {d.layer for d in report.diagnostics if d.severity is Severity.ERROR}
    skip = frozenset(c.id for c in graph.calls if c.layer.name in broken)
    seen: set[tuple[str, int]] = set()
    for k, binding in enumerate(bindings):
        values = {**fixed, **binding}
        rng = np.random.default_rng(np.random.SeedSequence([seed, k, 1]))
        inputs = random_inputs(graph, known, values, rng)
        run_weights = weights if weights is not None else init_weights(analysis, values, seed)
        text = ", ".join(f"{n}={v}" for n, v in values.items())
        checker = _Checker(values, keep_outputs, text)
        start = time.perf_counter()
        ex = execute(graph, inputs, run_weights, analysis=analysis, observer=checker,
                     keep=keep_outputs, skip=skip)
        seconds = time.perf_counter() - start
        result.runs.append(Run(dict(binding), batch, checker.layers, seconds, ex.peak_bytes))
        for kind, layer, diag in checker.findings:
            key = (kind, id(layer))
            if key not in seen:  # one finding per layer and kind across runs
                seen.add(key)
                result.diagnostics.append(diag)
    return result


def _fit_weights(graph: LayerGraph, analysis: Analysis, weights: Weights
                 ) -> list[PendingRequirement]:
    """Loaded weights fix the sizes their shapes depend on (a Dense after a Flatten of
    an H x W map): each symbolic weight dim must equal the stored one."""
    out = []
    for layer, specs in iter_layer_weights(analysis):
        got = weights.get(layer)
        if got is None or len(got) != len(specs):
            continue
        for w, array in zip(specs, got, strict=True):
            if len(w.shape) != array.ndim:
                continue
            for d, n in zip(w.shape, array.shape, strict=True):
                if not dims.is_int(d):
                    req = Requirement("equal", d, int(n), rules.SHAPE_DISAGREES,
                                      f"weight {w.name} of {layer.name}")
                    out.append(PendingRequirement(req, graph.calls[0]))
    return out


def _weights_problem(analysis: Analysis, weights: Weights, values: Mapping[str, int]) -> str:
    """Why loaded weights do not fit the analysed layers ('' when they do)."""
    for layer, specs in iter_layer_weights(analysis):
        got = weights.get(layer)
        if got is None:
            return f"the file has no weights for layer {layer.name}"
        want = [concrete_shape(w.shape, values) for w in specs]
        have = [tuple(a.shape) for a in got]
        if want != have:
            return (f"layer {layer.name}: the file's weights have shapes {have}, "
                    f"the layer needs {want}")
    return ""


def check(source: str | Path, *,
          input_shapes: Sequence[InputShape] | Mapping[str, InputShape] = (),
          model: str | None = None, call: str | None = None, batch: int = 2, seed: int = 0,
          samples: int = 2, keep_outputs: bool = False) -> CheckResult:
    """Run every model in ``source`` with NumPy and compare executed with static shapes.

    Weights come from the file when it holds them (``.keras``, ``.h5``), else from the
    config's initialisers drawn with ``seed``. ``keep_outputs`` keeps every layer's
    output arrays in the result (memory grows with the model).
    """
    name, loaded = load(source, call)
    result = CheckResult(name, diagnostics=list(loaded.diagnostics), usable=loaded.usable)
    graphs = select_models(loaded, model)
    if batch < 1:
        raise UsageError(f"the batch size must be positive, got {batch}")
    path = Path(source) if isinstance(source, Path) or name == str(source) else None
    for g in graphs:
        weights, origin = None, ""
        if path is not None and path.suffix != ".py":
            weights, origin = _file_weights(path, g, result)
            if weights is None and not result.usable:
                continue
        result.models.append(check_graph(
            g, input_shapes=input_shapes, batch=batch, seed=seed, samples=samples,
            weights=weights, weights_from=origin, keep_outputs=keep_outputs))
    if result.usable and not loaded.models:
        result.diagnostics.append(rules.NO_MODEL.diagnostic(f"{name}: no Keras model found"))
    return result


def _file_weights(path: Path, graph: LayerGraph, result: CheckResult
                  ) -> tuple[Weights | None, str]:
    from convcalc.weightfiles import WeightsError, has_weights, load_weights

    if not has_weights(path):
        return None, ""
    try:
        return load_weights(path, graph), f"from {path.name}"
    except WeightsError as e:
        result.diagnostics.append(rules.UNREADABLE_FILE.diagnostic(
            f"{path}: {e}", hint="Re-save the model with model.save('model.keras')."))
        result.usable = False
        return None, ""


# ----------------------------------------------------------------------------- output
def _size(n: int) -> str:
    """Bytes in the largest unit that keeps the number >= 1 (``12.3 MB``, ``40.0 KB``)."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def summary_text(result: CheckResult) -> str:
    """The human summary: per model, what ran, what was checked, how long it took,
    then every diagnostic (the static analysis's and the check's)."""
    lines: list[str] = []
    for m in result.models:
        calls = len(m.report.graph.calls)
        lines.append(f'Model "{m.name}": weights {m.weights_from}')
        for r in m.runs:
            skipped = sum(1 for x in r.layers if x.status in (SKIPPED, NO_FORWARD, FAILED))
            ran = f"ran {r.executed} of {len(r.layers)} layer calls"
            if len(r.layers) != calls:
                ran += " (nested models' calls included)"
            lines.append(
                f"  {r.describe()}: {ran}, {r.shapes_checked} output shapes checked"
                f"{f', {skipped} not run' if skipped else ''}; "
                f"{r.seconds * 1000:.0f} ms, peak activations {_size(r.peak_bytes)}")
        if not m.runs:
            lines.append("  not run")
        found = [d for d in m.diagnostics if d.code == rules.SHAPE_DISAGREES.code]
        if m.runs and not found:
            lines.append("  every executed shape matches the static shape")
    for d in result.all_diagnostics():
        lines.append(f"{d.span}: " * (d.span is not None) + f"{d.severity} {d.code} {d.message}")
        if d.hint:
            lines.append(f"  hint: {d.hint}")
    return "\n".join(lines) + "\n"


def _reason(error: str | None) -> str:
    """Why a forward could not run, when it says more than that there is none."""
    return f" ({error})" if error and "has no NumPy forward" not in error else ""
