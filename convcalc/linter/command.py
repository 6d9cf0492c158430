"""The body of ``convcalc lint``: settings, progress bar, output, exit code."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from convcalc.linter.formats import render
from convcalc.linter.runner import lint_paths
from convcalc.linter.settings import ConfigError, find_pyproject, load_settings


def lint_command(
    paths: Sequence[str],
    fmt: str,
    select: Sequence[str],
    ignore: Sequence[str],
    extend_select: Sequence[str],
    input_shape: tuple[int | None, ...] | None,
    config: str | None,
    jobs: int,
    color: bool | None,
    output: str | None,
) -> int:
    """Lint PATHS and print the findings; returns the exit code."""
    from dataclasses import replace

    try:
        pyproject = Path(config) if config else find_pyproject(Path(paths[0]) if paths
                                                               else Path.cwd())
        settings = load_settings(pyproject).with_options(select, ignore, extend_select)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None
    if input_shape is not None:
        settings = replace(settings, input_shape=input_shape)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        # on stderr, so that redirected findings stay clean
        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("linting", total=None)

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = lint_paths(paths, settings, jobs, advance)
    else:
        result = lint_paths(paths, settings, jobs)
    use_color = (sys.stdout.isatty() if color is None else color) and output is None
    text = render(result, fmt, color=use_color)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False, color=use_color)
    return result.exit_code
