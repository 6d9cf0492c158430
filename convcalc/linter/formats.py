"""Lint output formats: human (ruff-like), JSON, SARIF 2.1.0, GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from convcalc import __version__
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.linter.runner import LintResult
from convcalc.rules import RULES

FORMATS = ("human", "json", "sarif", "github")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}


def render(result: LintResult, fmt: str, color: bool = False) -> str:
    """The findings in one of :data:`FORMATS`."""
    diags = result.diagnostics
    if fmt == "json":
        return json.dumps([to_json(d) for d in diags], indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(diags), indent=2) + "\n"
    if fmt == "github":
        return "".join(github_line(d) + "\n" for d in diags)
    return human(result, color)


def to_json(d: Diagnostic) -> dict[str, Any]:
    """A finding as JSON: the diagnostic's fields plus the rule name."""
    rule = RULES.get(d.code)
    out = {**d.to_json(), "name": rule.name if rule else None}
    if d.span is not None and d.span.line == 0:  # about the whole file
        out["line"] = out["col"] = None
    return out


def _source_line(path: str, line: int, cache: dict[str, list[str]]) -> str | None:
    if not path.endswith((".py", ".json")):  # binary model files have no lines to show
        return None
    if path not in cache:
        try:
            cache[path] = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1] if 1 <= line <= len(lines) else None


def human(result: LintResult, color: bool = False) -> str:
    """``path:line:col: CODE message``, the source line with a caret, and the hint."""
    out: list[str] = []
    cache: dict[str, list[str]] = {}

    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if color else text

    for d in result.diagnostics:
        where = "" if d.span is None else (
            f"{d.span.file}:" if d.span.line == 0 else f"{d.span}:")
        rule = RULES.get(d.code)
        code = style(d.code, fg=_COLOURS[d.severity], bold=True)
        name = f" [{rule.name}]" if rule else ""
        out.append(f"{style(where, bold=True)} {code} {d.message}{style(name, dim=True)}")
        if d.span is not None and d.span.line > 0:
            text = _source_line(d.span.file, d.span.line, cache)
            if text is not None:
                gutter = f"{d.span.line:>4} | "
                out.append(style(gutter, fg="blue") + text)
                out.append(" " * (len(gutter) + d.span.col) + style("^", fg=_COLOURS[d.severity]))
        for r in d.related:
            out.append(f"  related: {r}")
        if d.hint:
            out.append(style("  hint: ", fg="cyan") + d.hint)
        out.append("")
    counts = [sum(d.severity is s for d in result.diagnostics) for s in Severity]
    notes, warnings, errors = counts
    files = len(result.files)
    if result.diagnostics:
        parts = [_plural(errors, "error"), _plural(warnings, "warning")]
        if notes:
            parts.append(_plural(notes, "note"))
        out.append(f"Found {_plural(len(result.diagnostics), 'finding')} "
                   f"({', '.join(parts)}) in {_plural(files, 'file')}.")
    else:
        out.append(f"All checks passed ({_plural(files, 'file')}).")
    return "\n".join(out) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(d: Diagnostic) -> str:
    """A GitHub Actions workflow command (``::error file=...,line=...::message``)."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning"}.get(d.severity, "notice")
    props = []
    if d.span is not None:
        props.append(f"file={_escape_property(d.span.file)}")
        if d.span.line > 0:
            props += [f"line={d.span.line}", f"col={d.span.col + 1}"]
    rule = RULES.get(d.code)
    props.append(f"title={_escape_property(d.code + (' ' + rule.name if rule else ''))}")
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def _uri(path: str) -> str:
    p = Path(path)
    return p.as_posix() if not p.is_absolute() else p.as_uri()


def _location(span: Any) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(span.file)}}
    if span.line > 0:
        physical["region"] = {"startLine": span.line, "startColumn": span.col + 1}
    return {"physicalLocation": physical}


def to_sarif(diags: Sequence[Diagnostic]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: the rules used and one result per finding."""
    codes = sorted({d.code for d in diags} | {c for c in RULES if c.startswith("CC2")})
    rules: list[dict[str, Any]] = []
    for code in codes:
        r = RULES.get(code)
        if r is None:
            rules.append({"id": code})
            continue
        rules.append({
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.why},
            "help": {"text": r.hint},
            "defaultConfiguration": {"level": _level(r.severity)},
        })
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for d in diags:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _level(d.severity),
            "message": {"text": d.message + (f" Hint: {d.hint}" if d.hint else "")},
        }
        if d.span is not None:
            result["locations"] = [_location(d.span)]
        if d.related:
            result["relatedLocations"] = [
                {"id": i, **_location(s), "message": {"text": "related"}}
                for i, s in enumerate(d.related)]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "convcalc", "version": __version__, "rules": rules}},
            "results": results,
        }],
    }


def _level(s: Severity) -> str:
    return {Severity.ERROR: "error", Severity.WARNING: "warning"}.get(s, "note")
