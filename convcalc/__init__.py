"""convcalc: static shapes, parameters, FLOPs and diagnostics for Keras models."""

from __future__ import annotations

__version__ = "0.1.0"
