"""Shape propagation: apply each layer's spec to its calls in topological order.

Every failure becomes a diagnostic on the call that caused it and analysis goes on:
outputs that cannot be derived are unknown (``None``), and nothing downstream of an
unknown tensor reports again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from convcalc import dims, rules
from convcalc.diagnostics import Diagnostic
from convcalc.dims import Dim
from convcalc.graph import Layer, LayerCall, LayerGraph, TensorRef
from convcalc.layers.base import InferContext, LayerSpec, Requirement, ShapeError, join_details
from convcalc.layers.model import ModelSpec
from convcalc.types import Span, TensorType, WeightSpec, format_shape

T = TypeVar("T")

_Evaluated = tuple[Sequence[TensorType], tuple[WeightSpec, ...], Dim, Dim]

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
    return _Propagator(graph, inputs or {}).run()


def latest_input(inputs: Sequence[T], order: Callable[[T], int]) -> int:
    """Index of the most recently produced of a call's inputs (0 when there are none)."""
    if len(inputs) < 2:
        return 0
    return max(range(len(inputs)), key=lambda i: order(inputs[i]))


def _node_of(ref: TensorRef) -> int:
    return ref.node


def about(layer: Layer, message: str) -> str:
    """A message prefixed with the layer's name (and its class, unless the message
    already starts with it: ``conv2d_3 (Conv2D): ...``, ``concatenate: Concatenate(...``)."""
    if message.startswith(layer.class_name):
        return f"{layer.name}: {message}"
    return f"{layer.name} ({layer.class_name}): {message}"


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


class _Propagator:
    """One propagation run over one graph."""

    def __init__(self, graph: LayerGraph, inputs: Mapping[TensorRef, TensorType]) -> None:
        self.graph = graph
        self.analysis = Analysis(graph, {id(layer): LayerResult(layer) for layer in graph.layers},
                                 {}, [], [])
        self.overrides = {ref.node: t for ref, t in inputs.items()}
        self.memo: dict[tuple[LayerSpec, tuple[TensorType, ...], int], _Evaluated] = {}

    def run(self) -> Analysis:
        for call in self.graph.ordered_calls():
            self.call(call)
        return self.analysis

    def report(self, call: LayerCall, rule: rules.Rule, message: str,
               hint: str | None = None) -> None:
        self.analysis.diagnostics.append(rule.diagnostic(
            message, span=call.span or call.layer.span, layer=call.layer.name, hint=hint,
            related=self.input_spans(call)))

    def input_spans(self, call: LayerCall) -> tuple[Span, ...]:
        spans: list[Span] = []
        for ref in call.inputs:
            producer = self.graph.calls[ref.node]
            s = producer.span or producer.layer.span
            if s is not None and s not in spans:
                spans.append(s)
        return tuple(spans)

    def call(self, call: LayerCall) -> None:
        layer = call.layer
        spec = layer.spec
        analysis = self.analysis
        lres = analysis.layers[id(layer)]
        if call.id in self.overrides:
            res = CallResult(call, (), (self.overrides[call.id],), 0, 0)
            analysis.calls[call.id] = res
            lres.calls.append(res)
            lres.weights = ()
            return
        calls = analysis.calls
        ins = tuple(
            outs[r.index] if r.index < len(outs := calls[r.node].outputs) else None
            for r in call.inputs
        )
        n_out = spec.num_outputs(call.kwargs) if spec is not None else 1
        res = CallResult(call, ins, (None,) * n_out)
        calls[call.id] = res
        lres.calls.append(res)
        if spec is None or None in ins:
            return
        known: tuple[TensorType, ...] = ins  # type: ignore[assignment]
        if isinstance(spec, ModelSpec):
            self.nested(call, spec, known, res, lres)
            return
        ctx = InferContext(call.kwargs, latest_input(call.inputs, _node_of))
        try:
            produced, weights, res.macs, res.flops = self.evaluate(spec, known, ctx)
        except ShapeError as e:
            self.report(call, e.rule, about(layer, e.message), e.hint)
            return
        except Exception as e:  # a bug in a spec must not end the analysis
            self.report(call, rules.ANALYSIS_BUG, about(layer, f"{type(e).__name__}: {e}"))
            return
        if ctx.problems:
            self.problems(call, ctx)
        for r in ctx.requirements:
            analysis.requirements.append(PendingRequirement(r, call, self.input_spans(call)))
        res.outputs = tuple(produced)
        self.check_sizes(call, produced, weights)
        self.record_weights(call, lres, weights)

    def evaluate(self, spec: LayerSpec, ins: tuple[TensorType, ...], ctx: InferContext
                 ) -> _Evaluated:
        """Outputs, weights, MACs and FLOPs of a spec on ``ins``.

        Models repeat themselves (a ResNet stage, a stack of identical blocks), so clean
        results of pure specs are memoised by (spec, input types, primary input): a spec
        is an immutable value. Calls with keyword arguments, results with problems or
        requirements, and specs holding unhashable values are not.
        """
        key = None
        if spec.pure and not ctx.call_kwargs:
            key = (spec, ins, ctx.primary)
            try:
                found = self.memo.get(key)
            except TypeError:  # an unhashable argument value
                key = found = None
            if found is not None:
                return found
        outs = spec.infer(ins, ctx)
        weights = spec.weights(ins)
        result = (outs, weights, spec.macs(ins, outs), spec.flops(ins, outs))
        if key is not None and not ctx.problems and not ctx.requirements:
            self.memo[key] = result
        return result

    def problems(self, call: LayerCall, ctx: InferContext) -> None:
        """Problems sharing a message become one diagnostic listing their details."""
        grouped: dict[tuple[rules.Rule, str, str | None], list[str]] = {}
        for p in ctx.problems:
            grouped.setdefault((p.rule, p.message, p.hint), []).append(p.detail)
        for (rule, message, hint), details in grouped.items():
            self.report(call, rule, about(call.layer, join_details(message, details)), hint)

    def nested(self, call: LayerCall, spec: ModelSpec, ins: Sequence[TensorType],
               res: CallResult, lres: LayerResult) -> None:
        """A model used as a layer: propagate through its own graph."""
        inner_graph = spec.graph
        if len(ins) != len(inner_graph.inputs):
            self.report(call, rules.INCOMPATIBLE_INPUT,
                        f"{call.layer.name}: model expects {len(inner_graph.inputs)} inputs, "
                        f"got {len(ins)}")
            return
        declared = declared_inputs(inner_graph)
        overrides: dict[TensorRef, TensorType] = {}
        for ref, got in zip(inner_graph.inputs, ins, strict=True):
            want = declared[ref]
            if want is not None and not _compatible(want, got):
                self.report(call, rules.INCOMPATIBLE_INPUT,
                            f"{call.layer.name}: input {format_shape(got.shape)} is "
                            f"incompatible with the model's declared input "
                            f"{format_shape(want.shape)}")
                return
            overrides[ref] = got
        inner = propagate(inner_graph, overrides)
        self.analysis.diagnostics.extend(inner.diagnostics)
        self.analysis.requirements.extend(inner.requirements)
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

    def record_weights(self, call: LayerCall, lres: LayerResult,
                       weights: tuple[WeightSpec, ...]) -> None:
        """The first call builds the weights; later calls of a shared layer must fit them."""
        if lres.weights is None:
            lres.weights = weights
            return
        old = [w.shape for w in lres.weights]
        new = [w.shape for w in weights]
        if old != new and all(dims.is_int(d) for s in old + new for d in s):
            self.report(
                call, rules.INCOMPATIBLE_INPUT,
                f"shared layer {call.layer.name} ({call.layer.class_name}) is called on inputs "
                f"its weights do not fit: weights {_fmt_shapes(old)} were built by its first "
                f"call, this call needs {_fmt_shapes(new)}",
                "A shared layer needs inputs of the same shape (except the batch) on every "
                "call.",
            )

    def check_sizes(self, call: LayerCall, outs: Sequence[TensorType],
                    weights: Sequence[WeightSpec]) -> None:
        """CC106 for a tensor or weight over MAX_ELEMENTS elements (concrete sizes only:
        a symbolic size has no bound to check)."""
        ins = self.analysis.calls[call.id].inputs
        for t in outs:
            if t in ins:  # passed through: checked where it was made
                continue
            n = _concrete_size(t.shape[1:])
            if n > MAX_ELEMENTS:
                self.report(call, rules.TENSOR_TOO_LARGE,
                            f"output {format_shape(t.shape)} holds {n:,} elements per sample")
                return
        for w in weights:
            n = _concrete_size(w.shape)
            if n > MAX_ELEMENTS:
                self.report(call, rules.TENSOR_TOO_LARGE,
                            f"weight {w.name} {format_shape(w.shape)} holds {n:,} elements")
                return


def _concrete_size(shape: Sequence[Dim]) -> int:
    """The element count of an all-int shape; 0 when a dim is symbolic."""
    try:
        n = math.prod(shape)  # type: ignore[arg-type]
    except TypeError:  # a free symbol
        return 0
    return n if type(n) is int else 0


def _compatible(want: TensorType, got: TensorType) -> bool:
    if want.rank != got.rank:
        return False
    return all(
        not (dims.is_int(a) and dims.is_int(b)) or a == b
        for a, b in zip(want.shape[1:], got.shape[1:], strict=True)
    )


def _fmt_shapes(shapes: list[tuple[Dim, ...]]) -> str:
    return ", ".join(format_shape(s) for s in shapes)
