"""The command line: ``convcalc analyze``, ``check``, ``layers``, ``rule``."""

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
@click.option("--receptive-field", is_flag=True,
              help="Also list each layer's receptive field and jump (effective stride).")
def analyze(source: str, fmt: str, input_shapes: tuple[str, ...], model_name: str | None,
            call: str | None, expand_nested: bool, color: bool | None,
            receptive_field: bool) -> None:
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
    if receptive_field and fmt != "json":  # JSON always has them
        from convcalc.render.commands import receptive_text

        for m in report.models:
            click.echo(receptive_text(m))
    sys.exit(report.exit_code)


@main.command()
@click.argument("source", type=click.Path(dir_okay=True, allow_dash=False))
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="Output format.")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
              help="Bind unknown input sizes, without the batch: 224,224,3 or name=224,224,3 "
                   "(repeat per input); sizes left unknown get sample values.")
@click.option("--batch", type=click.IntRange(min=1), default=2, show_default=True,
              help="Batch size of the random inputs.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random inputs and initial weights.")
@click.option("--samples", type=click.IntRange(min=1), default=2, show_default=True,
              help="How many sample values to try for unknown input sizes.")
@click.option("--model", "model_name", metavar="NAME", help="Check only this model.")
@click.option("--call", metavar="EXPR",
              help='Builder call for Python sources, e.g. "build_model((128, 128, 3))".')
def check(source: str, fmt: str, input_shapes: tuple[str, ...], batch: int, seed: int,
          samples: int, model_name: str | None, call: str | None) -> None:
    """Run the models in SOURCE with NumPy and compare every executed shape with the
    static one (weights from the file, or drawn from the config's initialisers).

    Exit code: 0 clean, 1 findings, 2 unusable input.
    """
    from convcalc import api, checking

    shapes = parse_input_shapes(input_shapes)
    try:
        result = checking.check(source, input_shapes=shapes, model=model_name, call=call,
                                batch=batch, seed=seed, samples=samples)
    except api.UsageError as e:
        raise click.UsageError(str(e)) from None
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(checking.summary_text(result), nl=False)
    sys.exit(result.exit_code)


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
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=True, allow_dash=False))
@click.option("--format", "fmt", type=click.Choice(("human", "json", "sarif", "github")),
              default="human", show_default=True, help="Output format.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Report only these codes or prefixes (CC1,CC201); replaces the config's.")
@click.option("--extend-select", multiple=True, metavar="CODES",
              help="Codes to report on top of the selection (e.g. an info code).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Codes or prefixes to skip.")
@click.option("--input-shape", metavar="SHAPE",
              help="Default size of unknown model inputs, without the batch: 224,224,3.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False),
              help="pyproject.toml to read [tool.convcalc] from (default: the nearest).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Lint files in this many processes.")
@click.option("--color/--no-color", default=None, help="Force colours on or off.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to a file.")
def lint(paths: tuple[str, ...], fmt: str, select: tuple[str, ...],
         extend_select: tuple[str, ...], ignore: tuple[str, ...], input_shape: str | None,
         config: str | None, jobs: int, color: bool | None, output: str | None) -> None:
    """Check model files and directories for shape errors and likely mistakes.

    Exit code: 0 clean, 1 findings, 2 unusable input.
    """
    from convcalc.linter.command import lint_command

    shape = None
    if input_shape is not None:
        shapes = parse_input_shapes((input_shape,))
        if not isinstance(shapes, list) or len(shapes) != 1:
            raise click.BadParameter("give one unnamed shape", param_hint="--input-shape")
        shape = tuple(shapes[0])
    sys.exit(lint_command(paths, fmt, select, ignore, extend_select, shape, config, jobs,
                          color, output))


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
@click.option("--format", "fmt", type=click.Choice(("text", "markdown")), default="text",
              show_default=True, help="markdown: the docs/rules.md page.")
def rule(code: str | None, show_all: bool, fmt: str) -> None:
    """Explain a diagnostic code (e.g. CC101), or list them all."""
    from convcalc.linter import load_rules
    from convcalc.rules import RULES

    load_rules()
    if fmt == "markdown":
        from convcalc.linter.docs import rules_markdown

        click.echo(rules_markdown(), nl=False)
        return
    if show_all or code is None:
        for r in sorted(RULES.values(), key=lambda r: r.code):
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


@main.command()
@click.argument("source", type=click.Path(dir_okay=True, allow_dash=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Output file; its extension picks the format (svg, png, pdf, dot, html).")
@click.option("--format", "fmt", type=click.Choice(("svg", "png", "pdf", "dot", "html")),
              help="Output format, when the file name does not tell it.")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
              help="Bind unknown input sizes, without the batch: 224,224,3 or name=224,224,3.")
@click.option("--model", "model_name", metavar="NAME", help="Draw this model.")
@click.option("--call", metavar="EXPR",
              help='Builder call for Python sources, e.g. "build_model((128, 128, 3))".')
@click.option("--rankdir", type=click.Choice(("TB", "LR")), default="TB", show_default=True,
              help="Top to bottom, or left to right.")
@click.option("--shapes/--no-shapes", default=True, help="Show output shapes.")
@click.option("--params/--no-params", default=True, help="Show params and MACs.")
@click.option("--compact", is_flag=True, help="Name and type only; shapes on the edges.")
@click.option("--collapse-repeats", is_flag=True,
              help="Draw a chain of identical blocks (a ResNet stage) once, marked xN.")
@click.option("--expand", is_flag=True,
              help="Draw everything: every call of a shared nested model, nothing collapsed.")
def render(source: str, output: str, fmt: str | None, input_shapes: tuple[str, ...],
           model_name: str | None, call: str | None, rankdir: str, shapes: bool,
           params: bool, compact: bool, collapse_repeats: bool, expand: bool) -> None:
    """Draw a model of SOURCE as a diagram (Graphviz) or an interactive HTML page."""
    from pathlib import Path

    from convcalc.render.commands import render_command
    from convcalc.render.layout import Options

    options = Options(shapes=shapes, params=params, compact=compact, rankdir=rankdir,
                      collapse_repeats=collapse_repeats, expand=expand)
    sys.exit(render_command(source, Path(output), fmt, options,
                            parse_input_shapes(input_shapes), model_name, call))


@main.command()
@click.argument("source", type=click.Path(dir_okay=True, allow_dash=False))
@click.option("--layer", metavar="NAME", help="Explain only this layer.")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
              help="Bind unknown input sizes, without the batch: 224,224,3 or name=224,224,3.")
@click.option("--model", "model_name", metavar="NAME", help="Explain only this model.")
@click.option("--call", metavar="EXPR",
              help='Builder call for Python sources, e.g. "build_model((128, 128, 3))".')
def explain(source: str, layer: str | None, input_shapes: tuple[str, ...],
            model_name: str | None, call: str | None) -> None:
    """How each layer's output shape, params and MACs follow from its arguments,
    with the numbers filled in, and its receptive field."""
    from convcalc.render.commands import explain_command

    sys.exit(explain_command(source, layer, parse_input_shapes(input_shapes), model_name,
                             call))


def run() -> None:
    """Entry point that turns unexpected failures into a message, not a traceback."""
    try:
        main(standalone_mode=True)
    except Exception as e:  # pragma: no cover - last-resort guard
        click.echo(f"convcalc: internal error: {type(e).__name__}: {e} (this is a bug)",
                   err=True)
        sys.exit(2)
