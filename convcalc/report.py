"""Analysis results as report objects, and their stable JSON form.

The JSON form (``Report.to_json()``, ``convcalc analyze --format json``) is documented
in ``docs/json-format.md``; its ``version`` changes only when a field changes meaning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.counting import Totals
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.dims import Dim
from convcalc.graph import Layer, LayerGraph
from convcalc.propagate import Analysis, CallResult, LayerResult
from convcalc.types import TensorType, shape_to_json

if TYPE_CHECKING:
    import graphviz
    import networkx

JSON_VERSION = 1


def dim_json(d: Dim | None) -> int | str | None:
    """A count (params, MACs) as JSON: an int, or a formula string when symbolic."""
    if d is None:
        return None
    return d if isinstance(d, int) else str(d)


def _shape_json(t: TensorType | None) -> list[int | str | None] | None:
    return None if t is None else shape_to_json(t.shape)


@dataclass(slots=True)
class LayerRow:
    """One layer of a model report (a nested model's layers have depth > 0)."""

    result: LayerResult
    graph: LayerGraph
    depth: int = 0

    @property
    def layer(self) -> Layer:
        return self.result.layer

    @property
    def output_types(self) -> list[tuple[TensorType | None, ...]]:
        """Per call, the output types."""
        return [c.outputs for c in self.result.calls]

    @property
    def inbound(self) -> list[list[str]]:
        """Per call, the names of the layers whose outputs it reads."""
        calls = self.graph.calls
        return [[calls[r.node].layer.name for r in c.call.inputs] for c in self.result.calls]

    @property
    def connections(self) -> list[list[str]]:
        """Per call, its input tensors as Keras prints them: ``layer[call][output]``."""
        calls = self.graph.calls
        return [
            [f"{calls[r.node].layer.name}[{calls[r.node].call_index}][{r.index}]"
             for r in c.call.inputs]
            for c in self.result.calls
        ]

    def _call_sum(self, attr: str) -> Dim | None:
        values = [getattr(c, attr) for c in self.result.calls]
        if not values or any(v is None for v in values):
            return None if values else 0
        return dims.total(values)

    @property
    def macs(self) -> Dim | None:
        return self._call_sum("macs")

    @property
    def flops(self) -> Dim | None:
        return self._call_sum("flops")

    def to_json(self) -> dict[str, Any]:
        r = self.result
        span = self.layer.span
        return {
            "name": self.layer.name,
            "class_name": self.layer.class_name,
            "depth": self.depth,
            "params": dim_json(r.params),
            "trainable_params": dim_json(r.trainable_params),
            "non_trainable_params": dim_json(r.non_trainable_params),
            "macs": dim_json(self.macs),
            "flops": dim_json(self.flops),
            "output_shapes": [[_shape_json(t) for t in outs] for outs in self.output_types],
            "inbound_layers": self.inbound,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "col": span.col + 1 if span else None,
        }


@dataclass(slots=True)
class ModelReport:
    """One analysed model: its graph, per-layer results, totals and diagnostics."""

    graph: LayerGraph
    analysis: Analysis
    totals: Totals
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.graph.name

    def rows(self, expand_nested: bool = False) -> Iterator[LayerRow]:
        """Layers in ``model.layers`` order; nested models' layers after theirs."""
        yield from _rows(self.analysis, expand_nested, 0)

    def layer(self, name: str) -> LayerRow:
        """The row of a top-level layer by name."""
        for row in self.rows():
            if row.layer.name == name:
                return row
        raise KeyError(name)

    @property
    def input_types(self) -> list[TensorType | None]:
        return self.analysis.input_types

    @property
    def output_types(self) -> list[TensorType | None]:
        return self.analysis.output_types

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    def to_json(self) -> dict[str, Any]:
        t = self.totals
        return {
            "name": self.name,
            "class_name": self.graph.kind,
            "inputs": [_shape_json(x) for x in self.input_types],
            "outputs": [_shape_json(x) for x in self.output_types],
            "total_params": dim_json(t.params),
            "trainable_params": dim_json(t.trainable_params),
            "non_trainable_params": dim_json(t.non_trainable_params),
            "weight_bytes": dim_json(t.weight_bytes),
            "macs": dim_json(t.macs),
            "flops": dim_json(t.flops),
            "complete": t.complete,
            "layers": self._layers_json(),
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }

    def diagram(self, **options: Any) -> graphviz.Digraph:
        """The model's diagram as a ``graphviz.Digraph`` (options as ``convcalc render``'s:
        shapes, params, compact, rankdir, collapse_repeats, expand)."""
        from convcalc.render.diagram import digraph
        from convcalc.render.layout import Options

        return digraph(self, Options(**options))

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a model as its diagram (nothing when Graphviz is missing)."""
        from convcalc.render.diagram import DotMissing, svg

        try:
            return svg(self)
        except DotMissing:
            return None

    def _layers_json(self) -> list[dict[str, Any]]:
        from convcalc.receptive import nested_fields

        fields = nested_fields(self.analysis)
        out = []
        for row in self.rows(expand_nested=True):
            item = row.to_json()
            item["receptive_field"] = [
                [None if f is None else f.to_json() for f in fields.get((id(row.layer), i), ())]
                for i in range(len(row.result.calls))]
            out.append(item)
        return out


def _rows(analysis: Analysis, expand: bool, depth: int) -> Iterator[LayerRow]:
    for layer in analysis.graph.layers:
        if layer.hidden:
            continue
        lr = analysis.result(layer)
        yield LayerRow(lr, analysis.graph, depth)
        if expand and lr.inner is not None:
            yield from _rows(lr.inner, expand, depth + 1)
        elif expand and lr.calls:
            yield from _sublayer_rows(lr, depth + 1)


def _sublayer_rows(lr: LayerResult, depth: int) -> Iterator[LayerRow]:
    """The layers a custom layer calls in its ``call`` (read from its code), each with
    the calls made by the layer's first call, like Keras's expanded summary."""
    calls_of = getattr(lr.layer.spec, "sublayer_calls", None)
    ins = lr.calls[0].inputs
    if calls_of is None or any(t is None for t in ins):
        return
    graph = LayerGraph(lr.layer.name, "Layer")
    results: dict[int, LayerResult] = {}
    for sub in calls_of(ins):
        res = results.get(id(sub.layer))
        if res is None:
            res = results[id(sub.layer)] = LayerResult(sub.layer, sub.weights)
            graph.add_layer(sub.layer)
        call = graph.add_call(sub.layer, ())
        res.calls.append(CallResult(call, sub.inputs, sub.outputs, sub.macs, sub.flops))
    for res in results.values():
        yield LayerRow(res, graph, depth)
        yield from _sublayer_rows(res, depth + 1)


@dataclass(slots=True)
class Report:
    """Everything ``analyze`` found in one input."""

    source: str
    models: list[ModelReport] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Diagnostics about the input as a whole (syntax errors, unreadable files)."""
    usable: bool = True

    def all_diagnostics(self) -> list[Diagnostic]:
        out = list(self.diagnostics)
        for m in self.models:
            out.extend(m.diagnostics)
        return out

    @property
    def exit_code(self) -> int:
        """0 clean, 1 errors found, 2 unusable input."""
        if not self.usable or not self.models:
            return 2
        if any(d.severity is Severity.ERROR for d in self.all_diagnostics()):
            return 1
        return 0

    def model(self, name: str | None = None) -> ModelReport:
        """A model by name (the only/first one when no name is given)."""
        if name is None:
            if not self.models:
                raise LookupError(f"no model found in {self.source}")
            return self.models[0]
        for m in self.models:
            if m.name == name:
                return m
        raise LookupError(f"no model named {name!r} in {self.source}")

    @property
    def graph(self) -> networkx.MultiDiGraph:
        """The first model's layer graph as networkx (nodes are layer calls)."""
        return self.model().graph.to_networkx()

    def _repr_html_(self) -> str | None:
        """Jupyter shows a report as each model's diagram and diagnostics."""
        from html import escape

        parts = []
        for m in self.models:
            svg = m._repr_svg_()
            if svg is None:
                return None
            parts.append(f"<div><b>{escape(m.name)}</b>{svg[svg.index('<svg'):]}</div>")
        parts.extend(f"<div>{escape(str(d))}</div>" for d in self.all_diagnostics())
        return "".join(parts) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "source": self.source,
            "models": [m.to_json() for m in self.models],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }
