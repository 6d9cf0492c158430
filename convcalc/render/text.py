"""Human reports: a Keras-summary-like table (rich), Markdown, and diagnostics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from convcalc import dims
from convcalc.counting import Totals
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.dims import Dim
from convcalc.report import LayerRow, Report
from convcalc.types import TensorType, format_shape

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def count(d: Dim | None) -> str:
    """A count with thousands separators; formulas as they are; ? when unknown."""
    if d is None:
        return "?"
    return f"{d:,}" if dims.is_int(d) else str(d)


def si(d: Dim | None) -> str:
    """A large count in SI units: 3.86 G."""
    if d is None or not dims.is_int(d):
        return count(d)
    n = float(d)  # type: ignore[arg-type]
    for unit in ("", "K", "M", "G", "T"):
        if abs(n) < 1000:
            return f"{n:.0f}" if unit == "" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} P"


def memory(nbytes: Dim | None) -> str:
    """Bytes in Keras-summary units (1024-based): 14.12 MB."""
    if nbytes is None or not dims.is_int(nbytes):
        return count(nbytes) + " B"
    n = float(nbytes)  # type: ignore[arg-type]
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} TB"


def shapes_cell(types: Iterable[tuple[TensorType | None, ...]]) -> str:
    """One line per call; several outputs of one call joined by commas."""
    lines = []
    for outs in types:
        lines.append(", ".join("?" if t is None else format_shape(t.shape) for t in outs))
    return "\n".join(lines)


def _connected(row: LayerRow) -> str:
    return "\n".join(", ".join(names) for names in row.connections if names)


def _layer_label(row: LayerRow) -> str:
    indent = "  " * row.depth
    return f"{indent}{row.layer.name} ({row.layer.class_name})"


def totals_lines(t: Totals) -> list[str]:
    """The totals block under the table."""
    partial = "" if t.complete else (
        f"  (lower bound: {t.unknown_layers} layer(s) / {t.unknown_calls} call(s) unknown)")
    return [
        f"Total params: {count(t.params)}{_unit(memory(t.weight_bytes), t.weight_bytes)}"
        f"{partial}",
        f"Trainable params: {count(t.trainable_params)}",
        f"Non-trainable params: {count(t.non_trainable_params)}",
        f"MACs: {count(t.macs)}{_unit(si(t.macs), t.macs)}",
        f"FLOPs: {count(t.flops)}{_unit(si(t.flops), t.flops)}",
    ]


def _unit(text: str, d: Dim) -> str:
    """`` (14.12 MB)`` after a concrete count; nothing after a formula."""
    return f" ({text})" if dims.is_int(d) else ""


HEADERS = ("Layer (type)", "Output Shape", "Param #", "MACs", "Connected to")


def print_report(
    report: Report, out: IO[str], *, color: bool | None = None, expand_nested: bool = False
) -> None:
    """The table of every model, its totals, then the diagnostics."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, force_terminal=color, no_color=color is False,
                      width=None if out.isatty() else 160, highlight=False, emoji=False)
    for m in report.models:
        console.print(Text(f'Model: "{m.name}"'))
        sequential = m.graph.kind == "Sequential"
        rows = []
        for row in m.rows(expand_nested=expand_nested):
            cells = [_layer_label(row), shapes_cell(row.output_types),
                     count(row.result.params), si(row.macs)]
            if not sequential:
                cells.append(_connected(row))
            rows.append(cells)
        headers = HEADERS[:4] if sequential else HEADERS
        widths = [max(len(line) for cell in [h, *(r[i] for r in rows)]
                      for line in cell.split("\n"))
                  for i, h in enumerate(headers)]
        # Columns that fit are given their width, which spares rich measuring every
        # cell; otherwise rich folds the long ones to the terminal's width.
        fits = sum(widths) + 3 * len(widths) + 1 <= console.width
        table = Table()
        for i, h in enumerate(headers):
            table.add_column(h, justify="right" if i in (2, 3) else "left",
                             width=widths[i] if fits else None, no_wrap=fits,
                             overflow="fold")
        for cells in rows:
            table.add_row(*(Text(c) for c in cells))
        console.print(table)
        for line in totals_lines(m.totals):
            console.print(Text(f" {line}"))
        console.print()
    diags = report.all_diagnostics()
    for d in diags:
        console.print(format_diagnostic(d, rich=True))
    if diags:
        console.print(summary_line(diags))


def summary_line(diags: list[Diagnostic]) -> str:
    """'2 errors, 1 warning' style summary."""
    parts = []
    for sev in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        n = sum(1 for d in diags if d.severity is sev)
        if n:
            parts.append(f"{n} {sev}{'s' if n != 1 else ''}")
    return "Found " + ", ".join(parts) + "."


def format_diagnostic(d: Diagnostic, rich: bool = False) -> str:
    """``file:line:col: severity CODE message`` with the hint on the next line."""
    from rich.markup import escape

    where = f"{d.span}: " if d.span else ""
    sev = str(d.severity)
    if rich:
        head = (f"{escape(where)}[{SEVERITY_STYLE[d.severity]}]{sev}[/] "
                f"[bold]{d.code}[/] {escape(d.message)}")
        hint = f"\n  [dim]hint:[/] {escape(d.hint)}" if d.hint else ""
    else:
        head = f"{where}{sev} {d.code} {d.message}"
        hint = f"\n  hint: {d.hint}" if d.hint else ""
    return head + hint


def markdown_report(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    out: list[str] = []
    for m in report.models:
        out.append(f"## Model `{m.name}`\n")
        out.append("| Layer (type) | Output Shape | Param # | MACs | Connected to |")
        out.append("|---|---|---:|---:|---|")
        for row in m.rows(expand_nested=True):
            shape = shapes_cell(row.output_types).replace("\n", "<br>")
            conn = _connected(row).replace("\n", "<br>")
            label = "&nbsp;&nbsp;" * row.depth + f"{row.layer.name} ({row.layer.class_name})"
            out.append(f"| {label} | `{shape}` | {count(row.result.params)} | "
                       f"{count(row.macs)} | {conn} |")
        out.append("")
        out.extend(f"- {line}" for line in totals_lines(m.totals))
        out.append("")
    diags = report.all_diagnostics()
    if diags:
        out.append("## Diagnostics\n")
        for d in diags:
            where = f"`{d.span}` " if d.span else ""
            hint = f" — {d.hint}" if d.hint else ""
            out.append(f"- {where}**{d.code}** ({d.severity}) {d.message}{hint}")
        out.append("")
    return "\n".join(out)
