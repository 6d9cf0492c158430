"""Shape propagation: apply each layer's spec to its calls in topological order.

Every failure becomes a diagnostic on the call that caused it and analysis goes on:
outputs that cannot be derived are unknown (``None``), and nothing downstream of an
unknown tensor reports again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from convcalc import dims, rules
from convcalc.diagnostics import Diagnostic
from convcalc.dims import Dim
from convcalc.graph import Layer, LayerCall, LayerGraph, TensorRef
from convcalc.layers.base import InferContext, Requirement, ShapeError, join_details
from convcalc.layers.model import ModelSpec
from convcalc.types import Span, TensorType, WeightSpec, format_shape

T = TypeVar("T")

MAX_ELEMENTS = 2**31
"""A tensor or weight larger than this (per sample) is reported as CC106."""


@dataclass(slots=True)
class CallResult:
    """Types and cost of one call; None where unknown."""

    call: LayerCall
    inputs: tuple[TensorType | None, ...]
    outputs: tuple[TensorType | None, ...]
    macs: Dim | None = None
    flops: Dim | None = None


@dataclass(slots=True)
class LayerResult:
    """A layer's weights (built by its first call) and its calls' results."""

    layer: Layer
    weights: tuple[WeightSpec, ...] | None = None
    calls: list[CallResult] = field(default_factory=list)
    inner: Analysis | None = None
    """For a nested model: the analysis of its own graph (first call)."""

    @property
    def params(self) -> Dim | None:
        if self.weights is None:
            return None
        return dims.total(w.size for w in self.weights)

    @property
    def trainable_params(self) -> Dim | None:
        if self.weights is None:
            return None
        return dims.total(w.size for w in self.weights if w.trainable and self.layer.trainable)

    @property
    def non_trainable_params(self) -> Dim | None:
        if self.weights is None:
            return None
        return dims.total(
            w.size for w in self.weights if not (w.trainable and self.layer.trainable)
        )


@dataclass(slots=True)
class PendingRequirement:
    """A symbolic requirement with the call that made it."""

    requirement: Requirement
    call: LayerCall
    related: tuple[Span, ...] = ()


@dataclass(slots=True)
class Analysis:
    """The result of propagating shapes through one graph."""

    graph: LayerGraph
    layers: dict[int, LayerResult]
    calls: dict[int, CallResult]
    diagnostics: list[Diagnostic]
    requirements: list[PendingRequirement]

    def result(self, layer: Layer) -> LayerResult:
        return self.layers[id(layer)]

    def tensor(self, ref: TensorRef) -> TensorType | None:
        outs = self.calls[ref.node].outputs
        return outs[ref.index] if ref.index < len(outs) else None

    @property
    def output_types(self) -> list[TensorType | None]:
        return [self.tensor(r) for r in self.graph.outputs]

    @property
    def input_types(self) -> list[TensorType | None]:
        return [self.tensor(r) for r in self.graph.inputs]


def propagate(
    graph: LayerGraph, inputs: Mapping[TensorRef, TensorType] | None = None
) -> Analysis:
    """Propagate shapes through ``graph``; ``inputs`` overrides model input types."""
    analysis = Analysis(graph, {}, {}, [], [])
    for layer in graph.layers:
        analysis.layers[id(layer)] = LayerResult(layer)
    overrides = {ref.node: t for ref, t in (inputs or {}).items()}
    for call in graph.ordered_calls():
        if call.id in overrides:
            res = CallResult(call, (), (overrides[call.id],), 0, 0)
            analysis.calls[call.id] = res
            analysis.layers[id(call.layer)].calls.append(res)
            analysis.layers[id(call.layer)].weights = ()
            continue
        _propagate_call(analysis, call)
    return analysis


def latest_input(inputs: Sequence[T], order: Callable[[T], int]) -> int:
    """Index of the most recently produced of a call's inputs (0 when there are none)."""
    return max(range(len(inputs)), key=lambda i: order(inputs[i]), default=0)


def declared_inputs(graph: LayerGraph) -> dict[TensorRef, TensorType | None]:
    """The declared types of a model's inputs (None where they cannot be derived)."""
    out: dict[TensorRef, TensorType | None] = {}
    for ref in graph.inputs:
        spec = graph.calls[ref.node].layer.spec
        t = None
        if spec is not None:
            try:
                t = spec.infer((), InferContext())[ref.index]
            except (ShapeError, IndexError):
                t = None
        out[ref] = t
    return out


def _propagate_call(analysis: Analysis, call: LayerCall) -> None:
    layer = call.layer
    spec = layer.spec
    lres = analysis.layers[id(layer)]
    ins = tuple(analysis.tensor(r) for r in call.inputs)
    n_out = spec.num_outputs(call.kwargs) if spec is not None else 1
    res = CallResult(call, ins, (None,) * n_out)
    analysis.calls[call.id] = res
    lres.calls.append(res)
    if spec is None or any(t is None for t in ins):
        return
    known: tuple[TensorType, ...] = ins  # type: ignore[assignment]
    span = call.span or layer.span

    def report(rule: rules.Rule, message: str, hint: str | None = None) -> None:
        analysis.diagnostics.append(
            rule.diagnostic(message, span=span, layer=layer.name, hint=hint,
                            related=_input_spans(analysis, call))
        )

    if isinstance(spec, ModelSpec):
        _propagate_nested(analysis, call, spec, known, res, report)
        return

    ctx = InferContext(call.kwargs, latest_input(call.inputs, lambda r: r.node))
    try:
        outs = spec.infer(known, ctx)
    except ShapeError as e:
        report(e.rule, f"{layer.name} ({layer.class_name}): {e.message}", e.hint)
        return
    except Exception as e:  # a bug in a spec must not end the analysis
        report(rules.ANALYSIS_BUG, f"{layer.name} ({layer.class_name}): {type(e).__name__}: {e}")
        return
    grouped: dict[tuple[str, str, str | None], list[str]] = {}
    rule_of: dict[str, rules.Rule] = {}
    for p in ctx.problems:
        grouped.setdefault((p.rule.code, p.message, p.hint), []).append(p.detail)
        rule_of[p.rule.code] = p.rule
    for (code, message, hint), details in grouped.items():
        report(rule_of[code], f"{layer.name} ({layer.class_name}): "
               f"{join_details(message, details)}", hint)
    for r in ctx.requirements:
        analysis.requirements.append(PendingRequirement(r, call, _input_spans(analysis, call)))
    res.outputs = tuple(outs)

    try:
        weights = spec.weights(known)
        res.macs = spec.macs(known, outs)
        res.flops = spec.flops(known, outs)
    except Exception as e:
        report(rules.ANALYSIS_BUG, f"{layer.name} ({layer.class_name}): {type(e).__name__}: {e}")
        return
    _check_sizes(outs, weights, report)
    _record_weights(lres, weights, call, report)


def _propagate_nested(
    analysis: Analysis,
    call: LayerCall,
    spec: ModelSpec,
    ins: Sequence[TensorType],
    res: CallResult,
    report: object,
) -> None:
    inner_graph = spec.graph
    lres = analysis.layers[id(call.layer)]
    if len(ins) != len(inner_graph.inputs):
        analysis.diagnostics.append(rules.INCOMPATIBLE_INPUT.diagnostic(
            f"{call.layer.name}: model expects {len(inner_graph.inputs)} inputs, "
            f"got {len(ins)}",
            span=call.span, layer=call.layer.name))
        return
    declared = declared_inputs(inner_graph)
    overrides: dict[TensorRef, TensorType] = {}
    for ref, got in zip(inner_graph.inputs, ins, strict=True):
        want = declared[ref]
        if want is not None and not _compatible(want, got):
            analysis.diagnostics.append(rules.INCOMPATIBLE_INPUT.diagnostic(
                f"{call.layer.name}: input {format_shape(got.shape)} is incompatible with "
                f"the model's declared input {format_shape(want.shape)}",
                span=call.span, layer=call.layer.name))
            return
        overrides[ref] = got
    inner = propagate(inner_graph, overrides)
    for d in inner.diagnostics:
        analysis.diagnostics.append(d)
    analysis.requirements.extend(inner.requirements)
    res.outputs = tuple(inner.output_types)
    weights: list[WeightSpec] = []
    macs: list[Dim] = []
    flops: list[Dim] = []
    complete = True
    for lr in inner.layers.values():
        if lr.weights is None:
            complete = complete and lr.layer.spec is not None and not lr.calls
        else:
            trainable = lr.layer.trainable
            weights.extend(
                WeightSpec(f"{lr.layer.name}/{w.name}", w.shape, w.trainable and trainable,
                           w.initializer, w.dtype)
                for w in lr.weights
            )
        for cr in lr.calls:
            if cr.macs is None or cr.flops is None:
                complete = False
            else:
                macs.append(cr.macs)
                flops.append(cr.flops)
    if complete:
        res.macs = dims.total(macs)
        res.flops = dims.total(flops)
        if lres.weights is None:
            lres.weights = tuple(weights)
            lres.inner = inner


def _compatible(want: TensorType, got: TensorType) -> bool:
    if want.rank != got.rank:
        return False
    return all(
        not (dims.is_int(a) and dims.is_int(b)) or a == b
        for a, b in zip(want.shape[1:], got.shape[1:], strict=True)
    )


def _record_weights(
    lres: LayerResult, weights: tuple[WeightSpec, ...], call: LayerCall, report: object
) -> None:
    if lres.weights is None:
        lres.weights = weights
        return
    old = [w.shape for w in lres.weights]
    new = [w.shape for w in weights]
    if old != new and all(dims.is_int(d) for s in old + new for d in s):
        report(  # type: ignore[operator]
            rules.INCOMPATIBLE_INPUT,
            f"shared layer {call.layer.name} ({call.layer.class_name}) is called on inputs "
            f"its weights do not fit: weights {_fmt_shapes(old)} were built by its first "
            f"call, this call needs {_fmt_shapes(new)}",
            "A shared layer needs inputs of the same shape (except the batch) on every call.",
        )


def _check_sizes(
    outs: Sequence[TensorType], weights: Sequence[WeightSpec], report: object
) -> None:
    for t in outs:
        n = dims.prod(t.shape[1:])
        if dims.is_int(n) and n > MAX_ELEMENTS:  # type: ignore[operator]
            report(rules.TENSOR_TOO_LARGE,  # type: ignore[operator]
                   f"output {format_shape(t.shape)} holds {n:,} elements per sample")
            return
    for w in weights:
        n = w.size
        if dims.is_int(n) and n > MAX_ELEMENTS:  # type: ignore[operator]
            report(rules.TENSOR_TOO_LARGE,  # type: ignore[operator]
                   f"weight {w.name} {format_shape(w.shape)} holds {n:,} elements")
            return


def _fmt_shapes(shapes: list[tuple[Dim, ...]]) -> str:
    return ", ".join(format_shape(s) for s in shapes)


def _input_spans(analysis: Analysis, call: LayerCall) -> tuple[Span, ...]:
    spans: list[Span] = []
    for ref in call.inputs:
        producer = analysis.graph.calls[ref.node]
        s = producer.span or producer.layer.span
        if s is not None and s not in spans:
            spans.append(s)
    return tuple(spans)
