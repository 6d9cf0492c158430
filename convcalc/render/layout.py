"""What a model diagram shows, independent of Graphviz: nodes, edges and clusters.

A node is a layer call; a nested model becomes a cluster holding its own layers, and so
does each call of a helper function of the source (from the call's recorded sites), and
each call of a custom layer whose code calls layers (its layer and operation calls, wired
as its code passes tensors between them).
With ``collapse_repeats``, a run of identical helper blocks or custom-layer calls that
feed one another (the blocks of a ResNet stage, a ViT's transformer blocks) is drawn
once, marked xN.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from convcalc.diagnostics import Diagnostic, Severity
from convcalc.dims import Dim
from convcalc.graph import Layer, LayerCall, LayerGraph, Site, TensorRef
from convcalc.propagate import Analysis, CallResult, LayerResult
from convcalc.report import ModelReport
from convcalc.types import TensorType

TIMES = "\u00d7"
"""The multiplication sign of a repeat count (``x3`` drawn as in print)."""


@dataclass(frozen=True, slots=True)
class Options:
    """What the diagram shows."""

    shapes: bool = True
    params: bool = True
    compact: bool = False
    rankdir: str = "TB"
    collapse_repeats: bool = False
    expand: bool = False
    """Draw everything: every call of a shared nested model or custom layer, nothing
    collapsed."""


@dataclass(slots=True)
class Node:
    """A drawn layer call."""

    id: str
    call: LayerCall
    result: CallResult | None
    params: Dim | None
    cluster: Hashable | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    path: tuple[str, ...] = ()
    """Names of the nested models it sits in, outermost first."""
    folded: list[Node] = field(default_factory=list)
    """The chain of layer calls this node stands for (a folded helper block), if any."""
    block: str = ""
    """The folded block's label."""
    shared_weights: bool = False
    """A later call of a layer with weights (counted at its first call)."""
    analysis: Analysis | None = None
    """The analysis of the graph it belongs to (a nested model's own, inside one)."""
    also: list[str] = field(default_factory=list)
    """Layers this node also stands for: the same layer of the other blocks of a
    collapsed run, the members of a folded block."""
    order: int = 0
    """Its place in drawing order (topological over the whole diagram)."""

    @property
    def severity(self) -> Severity | None:
        return max((d.severity for d in self.diagnostics), default=None)

    @property
    def output(self) -> tuple[TensorType | None, ...]:
        return self.result.outputs if self.result is not None else ()

    @property
    def macs(self) -> Dim | None:
        """MACs of the call, or of every call of a folded block."""
        if self.folded:
            return _total([m.macs for m in self.folded])
        return self.result.macs if self.result is not None else None


@dataclass(slots=True)
class Edge:
    """A tensor from one drawn node to another."""

    src: str
    dst: str
    tensor: TensorType | None


@dataclass(slots=True)
class Cluster:
    """A nested model or a helper-function call."""

    key: Hashable
    label: str
    parent: Hashable | None
    kind: str
    """``model``, ``function``, ``layer`` (a custom layer's call)."""
    block: str = ""
    """What made it (a function name; a block name without its number): only blocks
    made alike can be repeats of one another."""
    repeats: int = 1
    nodes: list[str] = field(default_factory=list)
    params: Dim | None = 0
    """A custom layer's params (0 on a later call, whose weights its first call holds)."""
    macs: Dim | None = 0
    """A custom layer call's MACs."""


@dataclass(slots=True)
class Layout:
    """The drawable form of one model."""

    name: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[Hashable, Cluster] = field(default_factory=dict)


def layout(model: ModelReport, options: Options | None = None) -> Layout:
    """Nodes, edges and clusters of a model's diagram."""
    opts = options or Options()
    out = Layout(model.name)
    by_layer: dict[str, list[Diagnostic]] = {}
    for d in model.diagnostics:
        if d.layer:
            by_layer.setdefault(d.layer, []).append(d)
    builder = _Builder(out, opts, by_layer)
    builder.add_graph(model.analysis, "", None, {}, ())
    if opts.collapse_repeats and not opts.expand:
        _collapse(out)
        _fold_chains(out)
    return out


class _Builder:
    def __init__(self, out: Layout, opts: Options,
                 diags: dict[str, list[Diagnostic]]) -> None:
        self.out = out
        self.opts = opts
        self.diags = diags
        self.drawn_models: set[int] = set()

    def _add_node(self, node: Node) -> None:
        node.order = len(self.out.nodes)
        self.out.nodes[node.id] = node
        if node.cluster is not None:
            self.out.clusters[node.cluster].nodes.append(node.id)

    def add_graph(self, analysis: Analysis, prefix: str, parent: Hashable | None,
                  inputs: dict[int, list[tuple[str, TensorType | None]]],
                  path: tuple[str, ...], shared: bool = False) -> dict[TensorRef, str]:
        """Draw a graph; ``inputs`` maps an input call id to the outer tensors feeding it.

        ``shared``: a later call of a nested model, whose weights its first call holds.
        Returns, per output tensor of the graph's calls, the drawn node producing it.
        """
        graph = analysis.graph
        common = _common_sites(graph.calls)
        by_name = not any(c.sites for c in graph.calls)
        source: dict[TensorRef, str] = {}
        for call in graph.ordered_calls():
            result = analysis.calls.get(call.id)
            if by_name:
                cluster = self._name_cluster(prefix, call.layer.name, parent)
            else:
                cluster = self._site_cluster(prefix, call.sites[common:], parent)
            lr = analysis.layers.get(id(call.layer))
            inner = lr.inner if lr is not None else None
            again = call.call_index > 0
            # the nested analysis is of the first call: a later call on other shapes is
            # drawn as one node rather than with the first call's shapes
            same = again and lr is not None and result is not None and \
                lr.calls[0].inputs == result.inputs
            if inner is not None and (not again or (self.opts.expand and same)):
                key = ("model", prefix, call.id)
                number = f" #{call.call_index}" if again else ""
                label = f"{call.layer.name}{number} ({call.layer.class_name})"
                self.out.clusters[key] = Cluster(key, label, cluster, "model")
                feeds: dict[int, list[tuple[str, TensorType | None]]] = {
                    r.node: [] for r in inner.graph.inputs}
                for slot, ref in enumerate(call.inputs):
                    if slot < len(inner.graph.inputs) and ref in source:
                        feeds[inner.graph.inputs[slot].node].append(
                            (source[ref], _tensor(analysis, ref)))
                inner_src = self.add_graph(inner, f"{prefix}{call.id}.", key, feeds,
                                           (*path, call.layer.name), shared or again)
                for i, ref in enumerate(inner.graph.outputs):
                    source[TensorRef(call.id, i)] = inner_src[ref]
                continue
            if lr is not None and result is not None and (not again or self.opts.expand):
                slots = [[(source[ref], _tensor(analysis, ref))] if ref in source else []
                         for ref in call.inputs]
                params = lr.params if not (again or shared) else 0
                made = self.add_custom(call, result, params, slots, f"{prefix}{call.id}.",
                                       cluster, path, shared or again)
                if made is not None:
                    for i, nid in enumerate(made):
                        source[TensorRef(call.id, i)] = nid
                    continue
            nid = f"{prefix}n{call.id}"
            later = call.call_index > 0 or shared
            params = lr.params if lr is not None and not later else 0
            if lr is not None and lr.weights is None:
                params = None
            node = Node(nid, call, result, params, cluster,
                        list(self.diags.get(call.layer.name, [])) if not path else [], path)
            node.shared_weights = later and lr is not None and bool(lr.weights)
            node.analysis = analysis
            self._add_node(node)
            for src, t in inputs.get(call.id, []):
                self.out.edges.append(Edge(src, nid, t))
            for ref in call.inputs:
                if ref in source:
                    self.out.edges.append(Edge(source[ref], nid, _tensor(analysis, ref)))
            for i in range(max(len(node.output), 1)):
                source[TensorRef(call.id, i)] = nid
        return source

    def add_custom(self, call: LayerCall, result: CallResult, params: Dim | None,
                   feeds: list[list[tuple[str, TensorType | None]]], prefix: str,
                   parent: Hashable | None, path: tuple[str, ...],
                   shared: bool) -> list[str] | None:
        """Draw a custom layer's call as a cluster of the calls its code makes; None when
        that code calls no layer (it stays one node). ``feeds`` gives, per input, the
        drawn nodes producing it; returns, per output, the drawn node producing it."""
        if any(t is None for t in result.inputs):
            return None
        inner = inner_graph(call.layer, [t for t in result.inputs if t is not None])
        if inner is None:
            return None
        key = ("layer", prefix)
        number = f" #{call.call_index}" if call.call_index else ""
        self.out.clusters[key] = Cluster(
            key, f"{call.layer.name}{number} ({call.layer.class_name})", parent, "layer",
            block=call.layer.class_name, params=params, macs=result.macs)
        analysis = inner.analysis
        inside = (*path, call.layer.name)
        drawn: dict[TensorRef, str] = {}
        entered = False
        first = ""
        for sub in analysis.graph.calls:
            res = analysis.calls[sub.id]
            slots: list[list[tuple[str, TensorType | None]]] = []
            for src in inner.sources[sub.id]:
                if isinstance(src, TensorRef):
                    slots.append([(drawn[src], analysis.tensor(src))] if src in drawn else [])
                elif src is not None and src < len(feeds):
                    entered = entered or bool(feeds[src])
                    slots.append(feeds[src])
                else:
                    slots.append([])
            lr = analysis.result(sub.layer)
            later = shared or sub.call_index > 0
            model = self._inner_model(sub, res, slots, f"{prefix}{sub.id}.", key, inside, later)
            if model is not None:
                first = first or next(iter(model.values()), "")
                for ref, nid in model.items():
                    drawn[ref] = nid
                continue
            if not sub.layer.hidden:
                made = self.add_custom(sub, res, lr.params if not later else 0, slots,
                                       f"{prefix}{sub.id}.", key, inside, later)
                if made is not None:
                    first = first or made[0]
                    for i, nid in enumerate(made):
                        drawn[TensorRef(sub.id, i)] = nid
                    continue
            nid = f"{prefix}s{sub.id}"
            node = Node(nid, sub, res, lr.params if not later else 0, key, [], inside)
            node.shared_weights = later and bool(lr.weights)
            node.analysis = analysis
            self._add_node(node)
            first = first or nid
            for slot in slots:
                for src_id, t in slot:
                    self.out.edges.append(Edge(src_id, nid, t))
            for i in range(max(len(res.outputs), 1)):
                drawn[TensorRef(sub.id, i)] = nid
        if not entered:  # the trace lost where the inputs go: into the first call
            for slot in feeds:
                for src_id, t in slot:
                    self.out.edges.append(Edge(src_id, first, t))
        last = self.out.clusters[key].nodes[-1] if self.out.clusters[key].nodes else first
        outs: list[str] = []
        for out in inner.outputs:
            if isinstance(out, TensorRef) and out in drawn:
                outs.append(drawn[out])
            elif isinstance(out, int) and out < len(feeds) and feeds[out]:
                outs.append(feeds[out][0][0])
            else:
                outs.append(last)
        return outs

    def _inner_model(self, call: LayerCall, result: CallResult,
                     slots: list[list[tuple[str, TensorType | None]]], prefix: str,
                     parent: Hashable, path: tuple[str, ...],
                     shared: bool) -> dict[TensorRef, str] | None:
        """A model called in a custom layer's code, drawn as a nested model's cluster;
        returns the drawn node of each of its outputs (None: not a model)."""
        from convcalc.layers.model import ModelSpec
        from convcalc.propagate import propagate

        spec = call.layer.spec
        if not isinstance(spec, ModelSpec) or (shared and not self.opts.expand):
            return None
        graph = spec.graph
        if len(result.inputs) != len(graph.inputs) or any(t is None for t in result.inputs):
            return None
        inner = propagate(graph, dict(zip(graph.inputs, result.inputs, strict=True)))  # type: ignore[arg-type]
        key = ("model", prefix)
        number = f" #{call.call_index}" if call.call_index else ""
        self.out.clusters[key] = Cluster(key, f"{call.layer.name}{number} "
                                         f"({call.layer.class_name})", parent, "model")
        feeds = {r.node: list(slots[i]) if i < len(slots) else []
                 for i, r in enumerate(graph.inputs)}
        inner_src = self.add_graph(inner, prefix, key, feeds, (*path, call.layer.name), shared)
        return {TensorRef(call.id, i): inner_src[ref] for i, ref in enumerate(graph.outputs)
                if ref in inner_src}

    def _site_cluster(self, prefix: str, sites: tuple[Site, ...],
                      parent: Hashable | None) -> Hashable | None:
        key = parent
        for depth in range(len(sites)):
            site = sites[depth]
            child = ("function", prefix, tuple(s.call for s in sites[:depth + 1]))
            if child not in self.out.clusters:
                where = f"  {_short(site)}" if site.span else ""
                self.out.clusters[child] = Cluster(child, f"{site.function}(){where}", key,
                                                   "function", site.function)
            key = child
        return key


    def _name_cluster(self, prefix: str, name: str,
                      parent: Hashable | None) -> Hashable | None:
        """A block named in its layers' names (``conv2_block1_1_conv``), for models read
        from a config, which has no record of the functions that built them."""
        m = BLOCK_NAME.match(name)
        if m is None:
            return parent
        key = ("names", prefix, m.group(1))
        if key not in self.out.clusters:
            block = re.sub(r"\d+[a-z]?$", "", m.group(1))
            self.out.clusters[key] = Cluster(key, m.group(1), parent, "function", block)
        return key


BLOCK_NAME = re.compile(r"^(.*?(?:block|stage|cell|unit)_?\d+[a-z]?)_")
"""Keras applications' block names: ``conv2_block1_``, ``block1a_``, ``stage2_unit1_``."""


def _short(site: Site) -> str:
    assert site.span is not None
    name = site.span.file.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name}:{site.span.line}"


def _common_sites(calls: list[LayerCall]) -> int:
    """How many outer sites every call shares (the builder function itself)."""
    if not calls:
        return 0
    first = calls[0].sites
    n = len(first)
    for c in calls[1:]:
        n = min(n, len(c.sites))
        while n and c.sites[:n] != first[:n]:
            n -= 1
    return n


@dataclass(slots=True)
class InnerGraph:
    """The layer and operation calls a custom layer's code makes for some inputs, as a
    graph of its own whose calls read one another's outputs (``analysis.graph``)."""

    analysis: Analysis
    sources: dict[int, list[TensorRef | int | None]]
    """Per call id, where each input comes from: a call's output, the custom layer's
    input of that index, or nothing known (a constant, a weight)."""
    outputs: list[TensorRef | int | None]
    """Where each output of the custom layer comes from."""


def inner_graph(layer: Layer, inputs: list[TensorType]) -> InnerGraph | None:
    """The calls a custom layer's code makes on these inputs; None when it is not one
    or calls no layer."""
    inner_calls = getattr(layer.spec, "inner_calls", None)
    if inner_calls is None:
        return None
    from convcalc.frontend.traces import CallOutput, LayerInput

    calls, out_sources = inner_calls(inputs)
    if all(c.op for c in calls):
        return None
    graph = LayerGraph(layer.name, layer.class_name)
    results: dict[int, LayerResult] = {}
    by_call: dict[int, CallResult] = {}
    sources: dict[int, list[TensorRef | int | None]] = {}
    ids: list[int] = []

    def where(src: Any) -> TensorRef | int | None:
        if isinstance(src, LayerInput):
            return src.index
        return TensorRef(ids[src.call], src.index) if isinstance(src, CallOutput) else None

    for sub in calls:
        res = results.get(id(sub.layer))
        if res is None:
            res = results[id(sub.layer)] = LayerResult(sub.layer, () if sub.op else sub.weights)
            graph.add_layer(sub.layer)
        froms = [where(s) for s in sub.sources]
        call = graph.add_call(sub.layer, [r for r in froms if isinstance(r, TensorRef)])
        ids.append(call.id)
        sources[call.id] = froms
        res.calls.append(CallResult(call, sub.inputs, sub.outputs, sub.macs, sub.flops))
        by_call[call.id] = res.calls[-1]
    analysis = Analysis(graph, results, by_call, [], [])
    return InnerGraph(analysis, sources, [where(s) for s in out_sources])


def _tensor(analysis: Analysis, ref: TensorRef) -> TensorType | None:
    result = analysis.calls.get(ref.node)
    if result is None or ref.index >= len(result.outputs):
        return None
    return result.outputs[ref.index]


# ------------------------------------------------------------------ collapsing repeats
def _collapse(out: Layout) -> None:
    """Draw each chain of identical sibling helper blocks (or calls of one custom layer
    class) once, marked xN."""
    children: dict[Hashable | None, list[Cluster]] = {}
    for c in out.clusters.values():
        children.setdefault(c.parent, []).append(c)
    members = {key: _members(out, key, children) for key in out.clusters}
    where = {nid: n.cluster for nid, n in out.nodes.items()}
    alias: dict[str, str] = {}
    removed: set[Hashable] = set()
    for siblings in children.values():
        runs = _runs([c for c in siblings if c.kind in ("function", "layer")], out, members,
                     where)
        for run in runs:
            first = run[0]
            first.repeats = len(run)
            for c in run[1:]:
                for rep, nid in zip(members[first.key], members[c.key], strict=True):
                    alias[nid] = rep
                removed.add(c.key)
                removed.update(_descendants(c.key, children))
    if not alias:
        return
    for nid, rep in alias.items():
        gone = out.nodes[nid]
        out.nodes[rep].also.extend([gone.call.layer.name, *gone.also])
    for nid in alias:
        del out.nodes[nid]
    for key in removed:
        del out.clusters[key]
    for c in out.clusters.values():
        c.nodes = [n for n in c.nodes if n not in alias]
    seen: set[tuple[str, str]] = set()
    edges = []
    for e in out.edges:
        src, dst = alias.get(e.src, e.src), alias.get(e.dst, e.dst)
        if (e.src in alias or e.dst in alias) and _same_run(src, dst, out):
            continue  # from one block of a run to the next: folded away
        if (src, dst) in seen:
            continue
        seen.add((src, dst))
        edges.append(Edge(src, dst, e.tensor))
    out.edges = edges


def _fold_chains(out: Layout) -> None:
    """Draw each innermost helper block that is a plain chain of layers, and is made
    more than once, as one node (the U-Net's conv blocks, NASNet's separable blocks)."""
    parents = {c.parent for c in out.clusters.values()}
    leaves = [c for c in out.clusters.values()
              if c.kind == "function" and c.key not in parents and len(c.nodes) > 1]
    made: dict[str, int] = {}
    for c in leaves:
        made[c.block] = made.get(c.block, 0) + c.repeats
    into: dict[str, list[Edge]] = {}
    outof: dict[str, list[Edge]] = {}
    for e in out.edges:
        into.setdefault(e.dst, []).append(e)
        outof.setdefault(e.src, []).append(e)
    fold: dict[str, str] = {}
    for c in leaves:
        ids = sorted(c.nodes, key=lambda n: out.nodes[n].order)
        if made[c.block] < 2 or not _is_chain(ids, into, outof):
            continue
        first, last = out.nodes[ids[0]], out.nodes[ids[-1]]
        members = [out.nodes[n] for n in ids]
        label = c.label.split("  ")[0] + (f" {TIMES}{c.repeats}" if c.repeats > 1 else "")
        node = Node(first.id, last.call, last.result, _total([m.params for m in members]),
                    c.parent, [d for m in members for d in m.diagnostics], first.path,
                    members, label)
        node.also = [name for m in members for name in (m.call.layer.name, *m.also)]
        node.order = first.order
        for n in ids:
            del out.nodes[n]
            fold[n] = first.id
        out.nodes[first.id] = node
        if c.parent is not None:
            out.clusters[c.parent].nodes.append(first.id)
        del out.clusters[c.key]
    if not fold:
        return
    edges = []
    for e in out.edges:
        src, dst = fold.get(e.src, e.src), fold.get(e.dst, e.dst)
        if src != dst:
            edges.append(Edge(src, dst, e.tensor))
    out.edges = edges


def _is_chain(ids: list[str], into: dict[str, list[Edge]], outof: dict[str, list[Edge]]) -> bool:
    """Each layer reads only the one before it; only the last is read from outside."""
    for prev, nid in itertools.pairwise(ids):
        if [e.src for e in into.get(nid, [])] != [prev]:
            return False
        if any(e.dst != nid for e in outof.get(prev, [])):
            return False
    return True


def _total(values: list[Dim | None]) -> Dim | None:
    from convcalc import dims

    if any(v is None for v in values):
        return None
    return dims.total([v for v in values if v is not None])


def _same_run(src: str, dst: str, out: Layout) -> bool:
    """Whether both ends sit in one collapsed block (the run's representative)."""
    a, b = out.nodes[src], out.nodes[dst]
    return _top_repeat(a.cluster, out) is not None and \
        _top_repeat(a.cluster, out) == _top_repeat(b.cluster, out)


def _top_repeat(key: Hashable | None, out: Layout) -> Hashable | None:
    found = None
    while key is not None:
        c = out.clusters[key]
        if c.repeats > 1:
            found = key
        key = c.parent
    return found


def _members(out: Layout, key: Hashable,
             children: dict[Hashable | None, list[Cluster]]) -> list[str]:
    """The nodes of a cluster and its sub-clusters, in drawing order."""
    ids = list(out.clusters[key].nodes)
    for c in children.get(key, []):
        ids.extend(_members(out, c.key, children))
    return sorted(ids, key=lambda n: out.nodes[n].order)


def _descendants(key: Hashable, children: dict[Hashable | None, list[Cluster]]) -> list[Hashable]:
    found = []
    for c in children.get(key, []):
        found.append(c.key)
        found.extend(_descendants(c.key, children))
    return found


def _signature(out: Layout, ids: list[str]) -> tuple[object, ...]:
    """Layer kinds, arguments and wiring of a block, independent of where it sits."""
    index = {nid: i for i, nid in enumerate(ids)}
    kinds = tuple((out.nodes[n].call.layer.class_name, _spec_key(out.nodes[n])) for n in ids)
    wires = tuple(sorted((index[e.src], index[e.dst]) for e in out.edges
                         if e.src in index and e.dst in index))
    return kinds, wires


def _spec_key(node: Node) -> object:
    spec = node.call.layer.spec
    return spec.summary() if spec is not None else None


def _runs(siblings: list[Cluster], out: Layout, members: dict[Hashable, list[str]],
          where: dict[str, Hashable | None]) -> list[list[Cluster]]:
    """Maximal runs of consecutive identical siblings, each feeding the next."""
    ordered = sorted((c for c in siblings if members[c.key]),
                     key=lambda c: out.nodes[members[c.key][0]].order)
    feeds = {(e.src, e.dst) for e in out.edges}
    runs: list[list[Cluster]] = []
    current: list[Cluster] = []
    for c in ordered:
        if current and _joins(current[-1], c, out, members, feeds):
            current.append(c)
            continue
        if len(current) > 1:
            runs.append(current)
        current = [c]
    if len(current) > 1:
        runs.append(current)
    return runs


def _joins(a: Cluster, b: Cluster, out: Layout, members: dict[Hashable, list[str]],
           feeds: set[tuple[str, str]]) -> bool:
    ma, mb = members[a.key], members[b.key]
    if a.block != b.block or len(ma) != len(mb):
        return False
    if _signature(out, ma) != _signature(out, mb):
        return False
    sa, sb = set(ma), set(mb)
    return any(s in sa and d in sb for s, d in feeds)
