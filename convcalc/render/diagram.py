"""Model diagrams with Graphviz: a ``graphviz.Digraph`` per model, and files from it.

Node ids are the layout's ids (``n12``, ``3.n4`` inside a nested model), so the SVG
element of each node carries the id the HTML view looks up.
"""

from __future__ import annotations

import shutil
from collections.abc import Hashable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from convcalc import dims
from convcalc.diagnostics import Severity
from convcalc.dims import Dim
from convcalc.render.layout import TIMES, Cluster, Layout, Node, Options, layout
from convcalc.report import ModelReport
from convcalc.types import TensorType, format_shape

if TYPE_CHECKING:
    import graphviz

FORMATS = ("svg", "png", "pdf", "dot", "html")

INSTALL_HINT = (
    "the Graphviz 'dot' program is not installed; install Graphviz "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz), or write the diagram as .dot"
)

FILL = {Severity.ERROR: "#f8d0d0", Severity.WARNING: "#fbe6bd", Severity.INFO: "#ffffff"}
BORDER = {Severity.ERROR: "#c62828", Severity.WARNING: "#e69500", Severity.INFO: "#7a8aa0"}
FAMILY_FILL = {
    "convolution": "#e3edf9", "pooling": "#e6f4ea", "normalization": "#f3eefa",
    "merging": "#fdf3e1", "core": "#f5f5f5", "model": "#eeeeee", "recurrent": "#e8f6f6",
    "attention": "#e8f6f6", "block": "#fff8e8",
}


class DotMissing(RuntimeError):
    """The Graphviz ``dot`` binary is needed and not installed."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def _count(d: Dim | None) -> str:
    if d is None:
        return "?"
    return f"{d:,}" if dims.is_int(d) else str(d)


def _si(d: Dim | None) -> str:
    from convcalc.render.text import si

    return si(d)


def _shapes(types: tuple[TensorType | None, ...]) -> str:
    return ", ".join("?" if t is None else format_shape(t.shape) for t in types) or "?"


def node_label(node: Node, opts: Options) -> str:
    """An HTML-like Graphviz label: name and type; output shape; params and MACs."""
    layer = node.call.layer
    call = f" #{node.call.call_index}" if node.call.call_index else ""
    if node.folded:
        rows = [f"<B>{escape(node.block)}</B>",
                *(f'<FONT COLOR="#555555">{escape(line)}</FONT>'
                  for line in folded_kinds(node).split("\n"))]
    else:
        rows = [f'<B>{escape(layer.name)}</B>{call} <FONT COLOR="#555555">'
                f"{escape(layer.class_name)}</FONT>"]
    if not opts.compact:
        if opts.shapes:
            rows.append(f'<FONT POINT-SIZE="10">{escape(_shapes(node.output))}</FONT>')
        if opts.params:
            macs = node.macs
            parts = []
            if node.params != 0:
                parts.append(f"{_count(node.params)} params")
            elif node.shared_weights:
                parts.append("weights of #0")
            if macs not in (0, None):
                parts.append(f"{_si(macs)} MACs")
            if parts:
                rows.append(f'<FONT POINT-SIZE="9" COLOR="#444444">'
                            f"{escape(' · '.join(parts))}</FONT>")
    cells = "".join(f"<TR><TD>{r}</TD></TR>" for r in rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'


def folded_kinds(node: Node) -> str:
    """``Conv2D x2, BatchNormalization``: the layer kinds of a folded block, in order."""
    kinds: list[list[object]] = []
    for m in node.folded:
        name = m.call.layer.class_name
        if kinds and kinds[-1][0] == name:
            kinds[-1][1] = int(str(kinds[-1][1])) + 1
        else:
            kinds.append([name, 1])
    parts = [f"{k} {TIMES}{n}" if n != 1 else str(k) for k, n in kinds]
    # two kinds a line keeps a long block (7 layers in NASNet) from making a wide node
    return "\n".join(", ".join(parts[i:i + 2]) for i in range(0, len(parts), 2))


def tooltip(node: Node) -> str:
    """The node's hover text: its diagnostics, else its type and arguments."""
    if node.diagnostics:
        return "\n".join(f"{d.severity} {d.code}: {d.message}" for d in node.diagnostics)
    if node.folded:
        return "\n".join(f"{m.call.layer.name} ({m.call.layer.class_name})" for m in node.folded)
    spec = node.call.layer.spec
    summary = spec.summary() if spec is not None else ""
    return f"{node.call.layer.class_name}({summary})" if summary else node.call.layer.class_name


def digraph(model: ModelReport, options: Options | None = None,
            drawn: Layout | None = None) -> graphviz.Digraph:
    """The diagram of one model as a ``graphviz.Digraph``."""
    import graphviz

    opts = options or Options()
    lay = drawn if drawn is not None else layout(model, opts)
    big = len(lay.nodes) > 150
    g = graphviz.Digraph(model.name, format="svg")
    g.attr(rankdir=opts.rankdir, fontname="Helvetica", fontsize="11",
           nodesep="0.2" if big else "0.3", ranksep="0.3" if big else "0.4",
           tooltip=model.name, label=f"{model.name}", labelloc="t", newrank="true")
    g.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11",
           margin="0.08,0.03", height="0.3", penwidth="1")
    g.attr("edge", fontname="Helvetica", fontsize="9", color="#666666", arrowsize="0.6",
           fontcolor="#333333")
    children: dict[Hashable | None, list[Cluster]] = {}
    for c in lay.clusters.values():
        children.setdefault(c.parent, []).append(c)
    numbers = {key: i for i, key in enumerate(lay.clusters)}

    def draw(target: graphviz.Digraph, key: Hashable | None) -> None:
        ids = [n.id for n in lay.nodes.values() if n.cluster == key]
        for nid in ids:
            _node(target, lay.nodes[nid], opts)
        for c in children.get(key, []):
            with target.subgraph(name=f"cluster_{numbers[c.key]}") as sub:
                label = c.label + (f"  {TIMES}{c.repeats}" if c.repeats > 1 else "")
                if c.kind == "layer":
                    _layer_cluster(sub, c, opts, f"cluster_{numbers[c.key]}")
                    draw(sub, c.key)
                    continue
                style = "rounded,dashed" if c.kind == "function" else "rounded"
                color = "#1565c0" if c.repeats > 1 else (
                    "#999999" if c.kind == "function" else "#555555")
                sub.attr(label=label, style=style, color=color, fontcolor=color,
                         labeljust="l", fontsize="10", penwidth="2" if c.repeats > 1 else "1",
                         id=f"cluster_{numbers[c.key]}", tooltip=label)
                draw(sub, c.key)

    draw(g, None)
    fan_in: dict[str, int] = {}
    for e in lay.edges:
        fan_in[e.dst] = fan_in.get(e.dst, 0) + 1
    for e in lay.edges:
        attrs = {}
        # compact nodes leave shapes to the edges; full nodes show their output, so only
        # the inputs of a merge are labelled, where differing shapes are the point
        if opts.shapes and e.tensor is not None and (opts.compact or fan_in[e.dst] > 1):
            attrs["label"] = " " + format_shape(e.tensor.shape)
        if e.tensor is not None:
            attrs["tooltip"] = format_shape(e.tensor.shape)
        g.edge(e.src, e.dst, **attrs)
    return g


def cluster_stats(c: Cluster) -> str:
    """``33,472 params · 2.67 M MACs``: what a custom layer's call costs."""
    parts = []
    if c.params != 0:
        parts.append(f"{_count(c.params)} params")
    if c.macs not in (0, None):
        parts.append(f"{_si(c.macs)} MACs")
    return " · ".join(parts)


def _layer_cluster(sub: graphviz.Digraph, c: Cluster, opts: Options, cid: str) -> None:
    """A custom layer's call: a filled frame titled with its name, class and cost."""
    name, _, kind = c.label.partition(" (")
    times = f"  {TIMES}{c.repeats}" if c.repeats > 1 else ""
    rows = [f'<B>{escape(name)}</B> <FONT COLOR="#555555">({escape(kind)}</FONT>'
            + (f'<B><FONT COLOR="#1565c0">{times}</FONT></B>' if times else "")]
    stats = cluster_stats(c)
    if opts.params and not opts.compact and stats:
        rows.append(f'<FONT POINT-SIZE="9" COLOR="#444444">{escape(stats)}</FONT>')
    cells = "".join(f'<TR><TD ALIGN="LEFT">{r}</TD></TR>' for r in rows)
    label = f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>>'
    sub.attr(label=label, style="rounded,filled", color="#7a8aa0", fillcolor="#f6f8fb",
             fontcolor="#222222", labeljust="l", fontsize="10", penwidth="1", id=cid,
             tooltip=c.label + times + (f"\n{stats}" if stats else ""))


def _node(g: graphviz.Digraph, node: Node, opts: Options) -> None:
    sev = node.severity
    spec = node.call.layer.spec
    family = spec.family if spec is not None else ""
    if node.folded:
        family = "block"
    fill = FILL[sev] if sev is not None and sev > Severity.INFO else FAMILY_FILL.get(
        family, "#ffffff")
    color = BORDER[sev] if sev is not None else "#7a8aa0"
    width = "2.5" if sev is not None and sev > Severity.INFO else "1"
    cls = f"layer {sev}" if sev is not None else "layer"
    g.node(node.id, node_label(node, opts), fillcolor=fill, color=color, penwidth=width,
           tooltip=tooltip(node), id=node.id, **{"class": cls})


def dot_available() -> bool:
    """Whether the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


def pipe(g: graphviz.Digraph, fmt: str) -> bytes:
    """The diagram in an output format of ``dot`` (svg, png, pdf)."""
    if not dot_available():
        raise DotMissing
    data: bytes = g.pipe(format=fmt)
    return data


def svg(model: ModelReport, options: Options | None = None) -> str:
    """The diagram of a model as SVG text."""
    return pipe(digraph(model, options), "svg").decode("utf-8")


def write(model: ModelReport, path: Path, fmt: str, options: Options | None = None) -> None:
    """Write a model's diagram to ``path`` as svg, png, pdf, dot or html."""
    if fmt == "html":
        from convcalc.render.html import page

        path.write_text(page(model, options), encoding="utf-8")
        return
    g = digraph(model, options)
    if fmt == "dot":
        path.write_text(g.source, encoding="utf-8")
        return
    path.write_bytes(pipe(g, fmt))
