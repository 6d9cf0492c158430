"""convcalc: static shapes, parameters, FLOPs and diagnostics for Keras models."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["analyze", "check", "lint"]


def __getattr__(name: str) -> Any:
    # imported on first use: `import convcalc` stays cheap for the command line
    if name in __all__:
        from convcalc import api

        return getattr(api, name)
    raise AttributeError(f"module 'convcalc' has no attribute {name!r}")
