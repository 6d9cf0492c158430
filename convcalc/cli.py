"""The command line: ``convcalc analyze``, ``layers``, ``rule``."""

from __future__ import annotations

import json
import sys

import click

from convcalc import __version__
from convcalc.rules import Rule

FORMATS = ("table", "json", "markdown")


Shape = list[int | None]


def parse_input_shapes(values: tuple[str, ...]) -> list[Shape] | dict[str, Shape]:
    """``--input-shape 224,224,3`` (per input, in order) or ``name=224,224,3``."""
    named: dict[str, list[int | None]] = {}
    ordered: list[list[int | None]] = []
    for value in values:
        name, _, dims_text = value.rpartition("=")
        dims: list[int | None] = []
        for part in dims_text.replace("x", ",").split(","):
            part = part.strip().strip("()[]")
            if part in ("", "None", "?", "null"):
                if part == "" and not dims_text.strip("()[] ,"):
                    raise click.BadParameter(f"empty shape {value!r}", param_hint="--input-shape")
                dims.append(None)
                continue
            try:
                dims.append(int(part))
            except ValueError:
                raise click.BadParameter(
                    f"{value!r}: sizes must be integers (or None), e.g. 224,224,3",
                    param_hint="--input-shape") from None
        if name:
            named[name] = dims
        else:
            ordered.append(dims)
    if named and ordered:
        raise click.BadParameter("give every --input-shape a name, or none",
                                 param_hint="--input-shape")
    return named if named else ordered


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="convcalc")
def main() -> None:
    """Static shapes, parameters, FLOPs and diagnostics for Keras models.

    Reads Keras model Python source (never executed), model.to_json() exports,
    .keras and .h5 files.
    """


@main.command()
@click.argument("source", type=click.Path(dir_okay=True, allow_dash=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format.")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
              help="Bind unknown input sizes, without the batch: 224,224,3 or name=224,224,3 "
                   "(repeat per input).")
@click.option("--model", "model_name", metavar="NAME", help="Report only this model.")
@click.option("--call", metavar="EXPR",
              help='Builder call for Python sources, e.g. "build_model((128, 128, 3))".')
@click.option("--expand-nested", is_flag=True, help="List the layers of nested models too.")
@click.option("--color/--no-color", default=None, help="Force colours on or off.")
def analyze(source: str, fmt: str, input_shapes: tuple[str, ...], model_name: str | None,
            call: str | None, expand_nested: bool, color: bool | None) -> None:
    """Shapes, params, MACs and diagnostics of the models in SOURCE.

    Exit code: 0 clean, 1 errors found, 2 unusable input.
    """
    from convcalc import api

    shapes = parse_input_shapes(input_shapes)
    try:
        report = api.analyze(source, input_shapes=shapes, model=model_name, call=call)
    except api.UsageError as e:
        raise click.UsageError(str(e)) from None
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    elif fmt == "markdown":
        from convcalc.render.text import markdown_report

        click.echo(markdown_report(report), nl=False)
    else:
        from convcalc.render.text import print_report

        print_report(report, sys.stdout, color=color, expand_nested=expand_nested)
    sys.exit(report.exit_code)


@main.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
def layers(fmt: str) -> None:
    """List the layer catalogue: every Keras layer kind convcalc understands."""
    from convcalc.catalogue_docs import catalogue_markdown, catalogue_rows

    if fmt == "markdown":
        click.echo(catalogue_markdown(), nl=False)
        return
    rows = catalogue_rows()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} layer kinds", title_justify="left")
    for col in ("Layer", "Aliases", "Family", "MACs", "FLOPs"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["class_name"], ", ".join(r["aliases"]), r["family"], r["macs"], r["flops"])
    Console(highlight=False).print(table)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
def rule(code: str | None, show_all: bool) -> None:
    """Explain a diagnostic code (e.g. CC101), or list them all."""
    from convcalc.rules import RULES

    if show_all or code is None:
        for r in RULES.values():
            click.echo(f"{r.code}  {r.name:<28} {r.severity!s:<8} {r.summary}")
        return
    found = RULES.get(code.upper()) or next((x for x in RULES.values() if x.name == code), None)
    if found is None:
        raise click.UsageError(f"unknown rule {code!r}; `convcalc rule --all` lists them")
    click.echo(rule_text(found))


def rule_text(r: Rule) -> str:
    """A rule's documentation as Markdown-ish text."""
    parts = [f"# {r.name} ({r.code})", "", f"Default severity: {r.severity}", "",
             "## What it finds", r.summary, "", "## Why", r.why, "", "## How to fix", r.hint]
    if r.bad:
        parts += ["", "## Example", "```python", r.bad, "```"]
    if r.good:
        parts += ["", "Use instead:", "```python", r.good, "```"]
    return "\n".join(parts)


def run() -> None:
    """Entry point that turns unexpected failures into a message, not a traceback."""
    try:
        main(standalone_mode=True)
    except Exception as e:  # pragma: no cover - last-resort guard
        click.echo(f"convcalc: internal error: {type(e).__name__}: {e} (this is a bug)",
                   err=True)
        sys.exit(2)
