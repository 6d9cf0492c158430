"""One self-contained HTML page per model: the SVG diagram with pan, zoom, search and
per-layer details, and the summary table. Scripts and styles are inlined, so the file
opens offline.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from convcalc.explain import explain_call
from convcalc.receptive import receptive_fields
from convcalc.render.diagram import digraph, pipe
from convcalc.render.layout import Layout, Node, Options, layout
from convcalc.render.text import count, si, totals_lines
from convcalc.report import ModelReport
from convcalc.types import format_shape


def _asset(name: str) -> str:
    return (resources.files("convcalc.render") / "assets" / name).read_text(encoding="utf-8")


def page(model: ModelReport, options: Options | None = None) -> str:
    """The HTML page of one model."""
    opts = options or Options()
    drawn = layout(model, opts)
    svg = pipe(digraph(model, opts, drawn), "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]  # drop the XML prolog: the SVG sits inside HTML
    data = {"model": model.name, "nodes": node_details(model, drawn)}
    payload = json.dumps(data).replace("</", "<\\/")
    totals = " · ".join(escape(line) for line in totals_lines(model.totals))
    diags = "".join(
        f'<div class="diag {d.severity}">{escape(str(d.span) + ": " if d.span else "")}'
        f"{d.severity} {escape(d.code)}: {escape(d.message)}</div>"
        for d in model.diagnostics)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(model.name)} · convcalc</title>
<style>
{_asset("view.css")}
</style>
</head>
<body>
<header>
<h1>Model “{escape(model.name)}”</h1>
<div class="totals">{totals}</div>
{diags}
</header>
<div class="toolbar">
<input id="search" type="search" placeholder="Search layers by name or type"
 aria-label="Search layers">
<span id="search-status" class="status"></span>
<button id="zoom-in" type="button" title="Zoom in">+</button>
<button id="zoom-out" type="button" title="Zoom out">&#8722;</button>
<button id="zoom-fit" type="button" title="Fit the diagram">Fit</button>
<span class="status">drag to pan, wheel to zoom, click a layer for its details</span>
</div>
<main>
<div id="diagram">
{svg}
</div>
<aside id="details"><p class="empty">Click a layer, or search for one.</p></aside>
</main>
<section class="summary">
<h2>Summary</h2>
{summary_table(drawn)}
</section>
<script type="application/json" id="convcalc-data">{payload}</script>
<script>
{_asset("view.js")}
</script>
</body>
</html>
"""


def summary_table(drawn: Layout) -> str:
    """The layers as an HTML table, one row per drawn call."""
    rows = []
    for n in drawn.nodes.values():
        sev = n.severity
        cls = f' class="{sev}"' if sev is not None else ""
        name = " / ".join((*n.path, n.call.layer.name))
        macs = n.result.macs if n.result is not None else None
        rows.append(
            f'<tr data-node="{escape(n.id)}"{cls}><td>{escape(name)}</td>'
            f"<td>{escape(n.call.layer.class_name)}</td><td>{escape(_outputs(n))}</td>"
            f'<td class="num">{escape(count(n.params))}</td>'
            f'<td class="num">{escape(si(macs))}</td></tr>')
    head = ("<tr><th>Layer</th><th>Type</th><th>Output shape</th><th>Param #</th>"
            "<th>MACs</th></tr>")
    return f'<table id="summary"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _outputs(n: Node) -> str:
    return ", ".join("?" if t is None else format_shape(t.shape) for t in n.output) or "?"


def node_details(model: ModelReport, drawn: Layout) -> dict[str, dict[str, Any]]:
    """Per drawn node, what the details panel shows."""
    fields = receptive_fields(model.analysis)
    out: dict[str, dict[str, Any]] = {}
    for nid, n in drawn.nodes.items():
        call = n.call
        f = fields.get(call.id, ()) if not n.path else ()
        rf = f[0] if f else None
        result = n.result
        ex = None
        if result is not None and n.analysis is not None and not n.folded:
            ex = explain_call(n.analysis, result, rf)
        span = call.span or call.layer.span
        out[nid] = {
            "name": call.layer.name,
            "class_name": call.layer.class_name,
            "call_index": call.call_index,
            "path": list(n.path),
            "block": n.block,
            "also": n.also,
            "inputs": [] if result is None else [
                "?" if t is None else format_shape(t.shape) for t in result.inputs],
            "outputs": [] if result is None else [
                "?" if t is None else format_shape(t.shape) for t in result.outputs],
            "params": count(n.params),
            "macs": count(result.macs if result is not None else None),
            "flops": count(result.flops if result is not None else None),
            "receptive": ex.receptive if ex is not None else None,
            "source": str(span) if span else None,
            "source_line": _source_line(span.file, span.line) if span else None,
            "diagnostics": [d.to_json() for d in n.diagnostics],
            "explanation": ex.text() if ex is not None else
            "\n\n".join(_folded_explanations(n)),
            "config": _jsonable(dict(call.layer.config)),
        }
    return out


def _folded_explanations(n: Node) -> list[str]:
    """Each layer of a folded block, explained."""
    return [explain_call(m.analysis, m.result).text() for m in n.folded
            if m.analysis is not None and m.result is not None]


@cache
def _lines(file: str) -> list[str]:
    try:
        return Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _source_line(file: str, line: int) -> str | None:
    lines = _lines(file)
    return lines[line - 1].strip() if 0 < line <= len(lines) else None


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return str(v)
