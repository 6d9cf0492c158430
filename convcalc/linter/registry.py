"""Lint checks registered by rule code, and the model view they inspect."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from convcalc.diagnostics import Diagnostic
from convcalc.graph import Layer, LayerCall, LayerGraph, TensorRef
from convcalc.propagate import Analysis
from convcalc.rules import Rule
from convcalc.types import Span, TensorType

PASS_THROUGH = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
    "AlphaDropout", "GaussianNoise", "ActivityRegularization", "Identity",
})
"""Layers that leave values unchanged at inference: checks look through them."""

ACTIVATION_LAYERS = frozenset({
    "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "ThresholdedReLU",
})


@dataclass
class SourceFile:
    """The analysed Python file: its lines and syntax tree (parsed, never run)."""

    path: str
    text: str

    @cached_property
    def tree(self) -> ast.Module | None:
        try:
            return ast.parse(self.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


@dataclass(eq=False)
class ModelView:
    """One analysed graph with the lookups the checks share."""

    analysis: Analysis
    recorded: list[Any] = field(default_factory=list)
    """compile / fit calls recorded by the source frontend (top-level models only)."""
    source: SourceFile | None = None
    superseded: set[tuple[str, Span | None, str | None]] = field(default_factory=set)
    """(code, span, layer) of propagation diagnostics a more precise finding replaces."""

    @property
    def graph(self) -> LayerGraph:
        return self.analysis.graph

    @cached_property
    def consumers(self) -> dict[TensorRef, list[LayerCall]]:
        return self.graph.consumers()

    def producer(self, ref: TensorRef) -> LayerCall:
        return self.graph.calls[ref.node]

    def input_type(self, call: LayerCall, index: int = 0) -> TensorType | None:
        result = self.analysis.calls.get(call.id)
        if result is None or index >= len(result.inputs):
            return None
        return result.inputs[index]

    def output_type(self, call: LayerCall, index: int = 0) -> TensorType | None:
        result = self.analysis.calls.get(call.id)
        if result is None or index >= len(result.outputs):
            return None
        return result.outputs[index]

    def calls(self) -> Iterator[LayerCall]:
        return iter(self.graph.calls)

    def source_call(self, call: LayerCall) -> LayerCall:
        """The call whose value reaches ``call``'s first input, looking back through
        pass-through layers (Dropout and the like)."""
        c = self.producer(call.inputs[0])
        while c.layer.class_name in PASS_THROUGH and len(c.inputs) == 1:
            c = self.producer(c.inputs[0])
        return c

    def sole_consumer(self, call: LayerCall) -> LayerCall | None:
        """The one call that reads ``call``'s output (looking through pass-through
        layers), or None when there are several, none, or it is a model output."""
        c = call
        while True:
            ref = TensorRef(c.id, 0)
            readers = self.consumers.get(ref, [])
            if len(readers) != 1 or ref in self.graph.outputs:
                return None
            nxt = readers[0]
            if nxt.layer.class_name not in PASS_THROUGH:
                return nxt
            c = nxt

    def span_of(self, call: LayerCall) -> Span | None:
        return call.span or call.layer.span


Check = Callable[[ModelView], Iterable[Diagnostic]]


@dataclass(frozen=True, slots=True)
class Registered:
    """A check and the rules it reports."""

    rules: tuple[Rule, ...]
    run: Check
    top_level_only: bool = False


CHECKS: list[Registered] = []


def check(*rules: Rule, top_level_only: bool = False) -> Callable[[Check], Check]:
    """Register a check function that reports ``rules``."""

    def register(fn: Check) -> Check:
        CHECKS.append(Registered(rules, fn, top_level_only))
        return fn

    return register


def activation_of(layer: Layer) -> str | None:
    """The non-linearity a layer applies to its output (lower case), or None if none is
    known: ``linear`` for a Dense / conv without one."""
    spec: Any = layer.spec
    if spec is None:
        return None
    name = layer.class_name
    if name in ("ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "ThresholdedReLU"):
        return {"ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu", "PReLU": "prelu",
                "Softmax": "softmax", "ThresholdedReLU": "thresholded_relu"}[name]
    act = getattr(spec, "activation", None)
    return act.lower() if isinstance(act, str) else None
