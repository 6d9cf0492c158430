"""Bodies of the ``render`` and ``explain`` commands and of ``analyze --receptive-field``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from convcalc.report import ModelReport, Report

InputShapes = Sequence[Sequence[int | None]] | Mapping[str, Sequence[int | None]]


def _analyze(source: str, input_shapes: InputShapes, model: str | None,
             call: str | None) -> Report:
    from convcalc import api

    try:
        return api.analyze(source, input_shapes=input_shapes, model=model, call=call)
    except api.UsageError as e:
        raise click.UsageError(str(e)) from None


def _format_of(output: Path, fmt: str | None) -> str:
    from convcalc.render.diagram import FORMATS

    if fmt is not None:
        return fmt
    suffix = output.suffix.lower().lstrip(".")
    if suffix == "htm":
        return "html"
    if suffix == "gv":
        return "dot"
    if suffix not in FORMATS:
        raise click.UsageError(
            f"cannot tell the format from {output.name!r}: use a .svg, .png, .pdf, .dot or "
            ".html name, or --format")
    return suffix


def render_command(source: str, output: Path, fmt: str | None, options: object,
                   input_shapes: InputShapes, model: str | None, call: str | None) -> int:
    """Write the diagram of a model; returns the exit code."""
    from convcalc.render.diagram import DotMissing, write
    from convcalc.render.layout import Options

    assert isinstance(options, Options)
    kind = _format_of(output, fmt)
    report = _analyze(source, input_shapes, model, call)
    if not report.models:
        from convcalc.render.text import format_diagnostic

        for d in report.diagnostics:
            click.echo(format_diagnostic(d), err=True)
        return 2
    chosen = report.model(model)
    try:
        write(chosen, output, kind, options)
    except DotMissing as e:
        raise click.ClickException(str(e)) from None
    others = [m.name for m in report.models if m is not chosen]
    note = f" (other models: {', '.join(others)}; pick one with --model)" if others else ""
    click.echo(f"wrote {output} ({kind}, model {chosen.name}){note}", err=True)
    calls = len(chosen.graph.calls)
    if calls > BIG_MODEL and not options.collapse_repeats:
        click.echo(f"{calls} layer calls drawn; --collapse-repeats draws repeated blocks once",
                   err=True)
    return 0


BIG_MODEL = 150
"""Layer calls past which a full diagram is too tall to read without collapsing."""


def explain_command(source: str, layer: str | None, input_shapes: InputShapes,
                    model: str | None, call: str | None) -> int:
    """Print the derivations of every layer (or one); returns the exit code."""
    from convcalc.explain import explain_model

    report = _analyze(source, input_shapes, model, call)
    found = False
    for m in report.models:
        explanations = explain_model(m, layer)
        if not explanations:
            continue
        found = True
        click.echo(f'Model "{m.name}"\n')
        click.echo("\n\n".join(e.text() for e in explanations))
        click.echo()
    if layer is not None and not found and report.models:
        names = ", ".join(r.layer.name for m in report.models for r in m.rows())
        raise click.UsageError(f"no layer named {layer!r} (layers: {names})")
    return report.exit_code if report.models else 2


def receptive_text(model: ModelReport) -> str:
    """The receptive field and jump of every call with a spatial output."""
    from convcalc.receptive import field_rows

    rows = field_rows(model.analysis)
    if not rows:
        return f'Model "{model.name}": no spatial layers to trace a receptive field through.\n'
    width = max(len(n) + (len(f" #{i}") if i else 0) for n, i, _ in rows)
    lines = [f'Receptive fields of "{model.name}" (in input pixels; jump = effective stride):']
    for name, index, text in rows:
        label = f"{name} #{index}" if index else name
        lines.append(f"  {label:<{width}}  {text}")
    return "\n".join(lines) + "\n"
