"""``convcalc lint``: rule checks over analysed models, registered by code.

Modules: :mod:`registry` (checks and the model view), :mod:`graph_rules`,
:mod:`config_rules`, :mod:`training_rules` (the CC2xx rules next to their checks),
:mod:`labels` (label arrays visible in the source), :mod:`settings`, :mod:`runner`,
:mod:`formats`, :mod:`docs`.
"""

from __future__ import annotations


def load_rules() -> None:
    """Register the lint rules in the catalogue (importing their modules does it)."""
    from convcalc.linter import config_rules, graph_rules, training_rules  # noqa: F401
