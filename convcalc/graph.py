"""The layer graph: layers, their calls (nodes) and the tensors between them (edges).

A layer is one Keras layer object; each time it is called it makes a :class:`LayerCall`.
A shared layer is one :class:`Layer` with several calls and one weight set. Tensors
are named by the call that produced them and the output index.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from convcalc.types import Span

if TYPE_CHECKING:
    import networkx

    from convcalc.layers.base import LayerSpec


@dataclass(eq=False, slots=True)
class Layer:
    """One layer object of a model."""

    name: str
    class_name: str
    spec: LayerSpec | None
    """None when the class is unknown or its arguments are invalid."""
    config: Mapping[str, Any] = field(default_factory=dict)
    span: Span | None = None
    trainable: bool = True
    dtype: str = "float32"
    hidden: bool = False
    """An automatic InputLayer that Keras leaves out of ``model.layers``."""
    scope: tuple[str, ...] = ()
    """Where it was made: the chain of helper-function calls in the source, if any."""

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {self.class_name})"


class Site(NamedTuple):
    """One helper-function call a layer call was made in (the source frontend's record).

    ``call`` numbers the function calls of one interpretation, telling apart calls made
    from one place (a loop calling ``conv_block`` three times).
    """

    function: str
    span: Span | None
    call: int


@dataclass(frozen=True, slots=True)
class TensorRef:
    """A tensor: output ``index`` of call ``node``."""

    node: int
    index: int = 0


@dataclass(eq=False, slots=True)
class LayerCall:
    """One call of a layer on tensors: a node of the graph."""

    id: int
    layer: Layer
    inputs: tuple[TensorRef, ...]
    call_index: int
    """The Keras node index: 0 for the first call of this layer, 1 for the next..."""
    span: Span | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Non-tensor call arguments (``training=False``, ``return_attention_scores=True``)."""
    sites: tuple[Site, ...] = ()
    """The helper-function calls it was made in, outermost first (source models only)."""

    def __repr__(self) -> str:
        return f"LayerCall({self.id}, {self.layer.name!r}#{self.call_index})"


class GraphCycleError(Exception):
    """The calls do not form a DAG."""

    def __init__(self, calls: list[LayerCall]) -> None:
        names = " -> ".join(c.layer.name for c in calls)
        super().__init__(f"the layer graph has a cycle: {names}")
        self.calls = calls


class LayerGraph:
    """A model: its layers, calls, inputs and outputs."""

    def __init__(self, name: str, kind: str = "Functional", span: Span | None = None) -> None:
        self.name = name
        self.kind = kind
        self.span = span
        self.layers: list[Layer] = []
        self.calls: list[LayerCall] = []
        self.inputs: list[TensorRef] = []
        self.outputs: list[TensorRef] = []
        self._calls_by_layer: dict[int, list[LayerCall]] = {}
        self._ordered: list[LayerCall] | None = None

    def __repr__(self) -> str:
        return f"LayerGraph({self.name!r}, {len(self.layers)} layers, {len(self.calls)} calls)"

    def add_layer(self, layer: Layer) -> Layer:
        self.layers.append(layer)
        self._calls_by_layer[id(layer)] = []
        return layer

    def add_call(
        self,
        layer: Layer,
        inputs: Iterable[TensorRef],
        span: Span | None = None,
        kwargs: Mapping[str, Any] | None = None,
        sites: tuple[Site, ...] = (),
    ) -> LayerCall:
        """Record a call of ``layer`` (already added) on ``inputs``."""
        calls = self._calls_by_layer[id(layer)]
        call = LayerCall(len(self.calls), layer, tuple(inputs), len(calls), span, kwargs or {},
                         sites)
        calls.append(call)
        self.calls.append(call)
        self._ordered = None
        return call

    def calls_of(self, layer: Layer) -> list[LayerCall]:
        """The calls of a layer, in call-index order."""
        return self._calls_by_layer[id(layer)]

    def ordered_calls(self) -> list[LayerCall]:
        """Calls in a topological order (creation order where it already is one)."""
        if self._ordered is not None:
            return self._ordered
        if all(ref.node < c.id for c in self.calls for ref in c.inputs):
            self._ordered = list(self.calls)
            return self._ordered
        sorter: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
        for c in self.calls:
            sorter.add(c.id, *(ref.node for ref in c.inputs))
        try:
            order = list(sorter.static_order())
        except graphlib.CycleError as e:
            raise GraphCycleError([self.calls[i] for i in e.args[1]]) from None
        self._ordered = [self.calls[i] for i in order]
        return self._ordered

    def consumers(self) -> dict[TensorRef, list[LayerCall]]:
        """For each tensor, the calls that read it."""
        out: dict[TensorRef, list[LayerCall]] = {}
        for c in self.calls:
            for ref in c.inputs:
                out.setdefault(ref, []).append(c)
        return out

    def to_networkx(self) -> networkx.MultiDiGraph:
        """The graph as networkx: a node per call (attributes ``layer``, ``call``),
        an edge per tensor read (``tensor`` = TensorRef, ``slot`` = input position)."""
        import networkx as nx

        g = nx.MultiDiGraph(name=self.name)
        for c in self.calls:
            g.add_node(c.id, layer=c.layer, call=c, name=c.layer.name)
        for c in self.calls:
            for slot, ref in enumerate(c.inputs):
                g.add_edge(ref.node, c.id, tensor=ref, slot=slot)
        return g
