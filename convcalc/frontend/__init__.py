"""Frontends turn an input (Python source, Keras JSON, .keras, .h5) into layer graphs."""

from __future__ import annotations

from dataclasses import dataclass, field

from convcalc.diagnostics import Diagnostic
from convcalc.graph import LayerGraph


@dataclass(slots=True)
class Loaded:
    """What a frontend read: the models found and the diagnostics on the way.

    ``usable`` is False when the input could not be read at all (exit code 2).
    """

    models: list[LayerGraph] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    usable: bool = True
