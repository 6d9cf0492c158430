"""Diagnostics: what convcalc found, where, and how to fix it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from convcalc.types import Span


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that ``max()`` gives the worst."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding. The message is complete on its own; the hint says how to fix it."""

    code: str
    severity: Severity
    message: str
    span: Span | None = None
    layer: str | None = None
    hint: str | None = None
    related: tuple[Span, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "layer": self.layer,
            "file": self.span.file if self.span else None,
            "line": self.span.line if self.span else None,
            "col": self.span.col + 1 if self.span else None,
            "hint": self.hint,
            "related": [
                {"file": s.file, "line": s.line, "col": s.col + 1} for s in self.related
            ],
        }

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span else ""
        return f"{where}{self.code} {self.message}"
