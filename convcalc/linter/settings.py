"""Lint configuration: ``[tool.convcalc]`` in pyproject.toml, --select / --ignore, and
``# convcalc: ignore[CODE]`` comments."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from convcalc.diagnostics import Diagnostic, Severity

QUIET_BY_DEFAULT = frozenset({"CC003", "CC008", "CC012", "CC109"})
"""What convcalc could not analyse (unknown layer, value, construct or shape): a limit of
the analysis rather than a mistake in the model, so lint reports these only when they
are selected by their exact code."""

_IGNORE_COMMENT = re.compile(r"#\s*convcalc:\s*ignore(?:\[([A-Za-z0-9_,\s-]*)\])?")


class ConfigError(ValueError):
    """An invalid ``[tool.convcalc]`` table."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Which findings to report, and the default input shape of analysed models."""

    select: tuple[str, ...] = ()
    """Code prefixes to report (empty: every warning and error)."""
    ignore: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Glob pattern (matched against the path) -> code prefixes ignored there."""
    input_shape: tuple[int | None, ...] | None = None
    root: Path | None = None
    """Directory of the pyproject.toml the settings come from."""

    def with_options(self, select: Sequence[str], ignore: Sequence[str],
                     extend_select: Sequence[str] = ()) -> Settings:
        """Command-line options on top of the file's settings (--select replaces)."""
        sel = tuple(_codes(select)) if select else self.select
        if extend_select:
            sel = (*(sel or ("CC",)), *_codes(extend_select))
        return replace(self, select=sel, ignore=(*self.ignore, *_codes(ignore)))

    def wants(self, d: Diagnostic, path: str) -> bool:
        """Whether a finding is reported for a file (before ignore comments)."""
        code = d.code
        if self.select:
            if not any(code.startswith(p) for p in self.select):
                return False
            # info notes are reported only when their exact code is selected
            if d.severity is Severity.INFO and code not in self.select:
                return False
        elif d.severity is Severity.INFO:
            return False
        if code in QUIET_BY_DEFAULT and code not in self.select:
            return False
        if any(code.startswith(p) for p in self.ignore):
            return False
        rel = self._relative(path)
        for pattern, codes in self.per_file_ignores.items():
            if (fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(Path(rel).name, pattern)) and (
                    any(code.startswith(p) for p in codes)):
                return False
        return True

    def _relative(self, path: str) -> str:
        p = Path(path)
        if self.root is not None:
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except ValueError:
                pass
        return p.as_posix()


def _codes(values: Iterable[str]) -> list[str]:
    out = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip().upper()
            if part:
                if part != "ALL" and not re.fullmatch(r"CC\d{0,3}", part):
                    raise ConfigError(f"not a rule code or prefix: {part!r}")
                out.append("CC" if part == "ALL" else part)
    return out


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.convcalc] table, from ``start`` up."""
    start = start.resolve()
    for d in (start, *start.parents) if start.is_dir() else start.parents:
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            if isinstance(data.get("tool"), dict) and "convcalc" in data["tool"]:
                return candidate
    return None


def load_settings(pyproject: Path | None) -> Settings:
    """Settings from a pyproject.toml's [tool.convcalc] table (defaults without one)."""
    if pyproject is None:
        return Settings()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{pyproject}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{pyproject}: {e}") from None
    table = data.get("tool", {}).get("convcalc", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.convcalc] must be a table")
    lint: dict[str, Any] = dict(table.get("lint", {})) if isinstance(
        table.get("lint"), dict) else {}
    merged = {**{k: v for k, v in table.items() if k != "lint"}, **lint}
    known = {"select", "ignore", "per-file-ignores", "input-shape"}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise ConfigError(f"{pyproject}: unknown [tool.convcalc] key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(known))})")
    per_file = merged.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{pyproject}: per-file-ignores must be a table")
    return Settings(
        select=tuple(_codes(_list(merged.get("select", []), "select", pyproject))),
        ignore=tuple(_codes(_list(merged.get("ignore", []), "ignore", pyproject))),
        per_file_ignores={str(k): tuple(_codes(_list(v, k, pyproject)))
                          for k, v in per_file.items()},
        input_shape=_shape(merged.get("input-shape"), pyproject),
        root=pyproject.parent,
    )


def _list(v: Any, key: str, where: Path) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return v
    raise ConfigError(f"{where}: {key} must be a list of rule codes")


def _shape(v: Any, where: Path) -> tuple[int | None, ...] | None:
    if v is None:
        return None
    if isinstance(v, str):
        parts = [p.strip() for p in v.replace("x", ",").split(",") if p.strip()]
        try:
            return tuple(None if p in ("None", "?") else int(p) for p in parts)
        except ValueError:
            raise ConfigError(f"{where}: input-shape {v!r} is not like '224,224,3'") from None
    if isinstance(v, list) and all(x is None or (type(x) is int and x > 0) for x in v):
        return tuple(v)
    raise ConfigError(f"{where}: input-shape must be a list of positive sizes")


def ignored_by_comment(d: Diagnostic, lines: Sequence[str]) -> bool:
    """Whether the finding's line carries ``# convcalc: ignore`` (all codes) or
    ``# convcalc: ignore[CODE, ...]`` naming its code."""
    if d.span is None or not 1 <= d.span.line <= len(lines):
        return False
    m = _IGNORE_COMMENT.search(lines[d.span.line - 1])
    if m is None:
        return False
    if m.group(1) is None:
        return True
    codes = [c.strip().upper() for c in m.group(1).split(",") if c.strip()]
    return any(d.code.startswith(c) for c in codes)
