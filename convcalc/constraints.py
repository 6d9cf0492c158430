"""Which input sizes make a model build: the requirements on symbolic dims, solved.

Propagation records a requirement wherever a merge or a shrinking layer depends on an
unknown input size (``floor(H/2) == 2*floor(H/8)``, ``floor((H - 4)/2) + 1 >= 1``).
Here each group of requirements that share symbols is evaluated over every size in
``1..LIMIT``: a requirement no size satisfies is an error at its layer; otherwise the
sizes that satisfy them all are summarised (``H a multiple of 8, H >= 8``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from convcalc import dims, rules
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.layers.base import Requirement, join_details
from convcalc.propagate import PendingRequirement, about
from convcalc.types import Span

LIMIT = 1024
"""Sizes 1..LIMIT are tried for a requirement on one symbol."""
GRID = 64
"""Sizes 1..GRID per symbol are tried for a requirement on two symbols."""
MAX_PERIOD = 256


@dataclass(frozen=True, slots=True)
class SizeSet:
    """The values of one symbol in ``1..LIMIT`` that satisfy its requirements."""

    symbol: str
    valid: tuple[bool, ...]  # index h - 1 for h in 1..LIMIT

    def values(self) -> list[int]:
        return [h for h, ok in enumerate(self.valid, start=1) if ok]

    def describe(self) -> str:
        """A short description, e.g. ``H a multiple of 8 (H >= 8)``."""
        vals = self.values()
        s = self.symbol
        if not vals:
            return f"no value of {s}"
        low = vals[0]
        if len(vals) == LIMIT - low + 1:
            return f"{s} >= {low}"
        tail = any(self.valid[LIMIT // 2:])
        period = _period(self.valid, low) if tail else None
        if period is None:
            shown = ", ".join(str(v) for v in vals[:8])
            more = ", ..." if len(vals) > 8 else ""
            return f"{s} in {{{shown}{more}}}"
        residues = sorted({v % period for v in vals if v >= low + period})
        if residues == [0]:
            form = f"{s} a multiple of {period}"
            first = period
        else:
            form = f"{s} mod {period} in {{{', '.join(map(str, residues))}}}"
            first = min(v for v in range(1, period + 1) if v % period in residues)
        return form if low <= first else f"{form}, {s} >= {low}"


def _period(valid: Sequence[bool], low: int) -> int | None:
    start = low - 1
    for p in range(1, MAX_PERIOD + 1):
        end = len(valid) - p
        if end - start < 2 * p:
            return None
        if all(valid[i] == valid[i + p] for i in range(start + p, end)):
            return p
    return None


def _holds(req: Requirement, names: Sequence[str]) -> Callable[..., bool]:
    """``check(*values)``: whether the requirement holds for these symbol values (one
    that cannot be evaluated is taken to hold: nothing is claimed about it)."""
    try:
        lhs = dims.evaluator(req.lhs)
        rhs = dims.evaluator(req.rhs)
    except ValueError:
        return lambda *v: True
    if req.kind == "positive":
        def positive(*v: int) -> bool:
            n, d = lhs(dict(zip(names, v, strict=True)))
            return n >= d

        return positive

    def equal(*v: int) -> bool:
        env = dict(zip(names, v, strict=True))
        (a, b), (c, d) = lhs(env), rhs(env)
        return a * d == b * c

    return equal


def _components(reqs: Sequence[PendingRequirement]) -> list[list[PendingRequirement]]:
    """Requirements grouped so that no symbol appears in two groups."""
    groups: list[tuple[set[str], list[PendingRequirement]]] = []
    for p in reqs:
        r = p.requirement
        syms = set(dims.free_symbols(r.lhs) | dims.free_symbols(r.rhs))
        merged = [g for g in groups if g[0] & syms]
        for g in merged:
            groups.remove(g)
            syms |= g[0]
        members = [m for g in merged for m in g[1]] + [p]
        groups.append((syms, members))
    return [g[1] for g in groups]


Failure = tuple[PendingRequirement, str]
"""A requirement that holds for no size tried, and how far the search went."""


def solve(pending: Sequence[PendingRequirement], model_span: Span | None,
          model_name: str) -> list[Diagnostic]:
    """Diagnostics for requirements that never hold, and the sizes that work."""
    failed: list[Failure] = []
    out: list[Diagnostic] = []
    for group in _components(pending):
        names = sorted(
            set().union(*(dims.free_symbols(p.requirement.lhs)
                          | dims.free_symbols(p.requirement.rhs) for p in group))
        )
        names = [n for n in names if n != dims.BATCH.name] + (
            [dims.BATCH.name] if dims.BATCH.name in names else [])
        solver = _solve_one if len(names) == 1 else _solve_many
        group_failed, diags = solver(group, names, model_span, model_name)
        failed.extend(group_failed)
        out.extend(diags)
    return _failures(failed) + out


def _failures(failed: Sequence[tuple[PendingRequirement, str]]) -> list[Diagnostic]:
    """One diagnostic per call and message, listing every failing detail."""
    groups: dict[tuple[int, str, str], list[tuple[PendingRequirement, str]]] = {}
    for p, suffix in failed:
        key = (p.call.id, p.requirement.rule.code, p.requirement.message)
        groups.setdefault(key, []).append((p, suffix))
    out = []
    for members in groups.values():
        p, suffix = members[0]
        layer = p.call.layer
        r = p.requirement
        details = [m.requirement.describe() if m.requirement.detail else "" for m, _ in members]
        suffixes = list(dict.fromkeys(s for _, s in members))
        out.append(r.rule.diagnostic(
            about(layer, f"{join_details(r.message, details)} {'; '.join(suffixes)}"),
            span=p.call.span or layer.span, layer=layer.name, related=p.related,
        ))
    return out


def _solve_one(group: list[PendingRequirement], names: list[str], span: Span | None,
               model_name: str) -> tuple[list[Failure], list[Diagnostic]]:
    (name,) = names
    sizes = range(1, LIMIT + 1)
    checks = [_holds(p.requirement, [name]) for p in group]
    masks = [[check(h) for h in sizes] for check in checks]
    positive = [True] * LIMIT
    for p, m in zip(group, masks, strict=True):
        if p.requirement.kind == "positive":
            positive = [a and b for a, b in zip(positive, m, strict=True)]
    failed: list[Failure] = []
    joint = list(positive)
    for p, m in zip(group, masks, strict=True):
        usable = [a and b for a, b in zip(m, positive, strict=True)]
        if not any(usable):
            where = "" if any(positive) else ", none of them large enough"
            failed.append((p, f"for every input size (tried 1..{LIMIT}{where})"))
        joint = [a and b for a, b in zip(joint, m, strict=True)]
    if failed:
        return failed, []
    if not any(joint):
        return [], [rules.INPUT_SIZE_CONSTRAINT.diagnostic(
            f"model {model_name}: no value of {name} in 1..{LIMIT} satisfies every "
            f"layer at once", span=span, severity=Severity.ERROR)]
    desc = SizeSet(name, tuple(joint)).describe()
    return [], [rules.INPUT_SIZE_CONSTRAINT.diagnostic(
        f"model {model_name} builds only for {desc}", span=span,
        hint=f"Feed inputs with {desc}, or pad/crop them to such a size.")]


def _solve_many(group: list[PendingRequirement], names: list[str], span: Span | None,
                model_name: str) -> tuple[list[Failure], list[Diagnostic]]:
    points = list(itertools.product(range(1, GRID + 1), repeat=min(len(names), 2)))
    if len(names) > 2:  # too many symbols for a grid: tie the rest to the first two
        points = [p + (p[0],) * (len(names) - 2) for p in points]
    checks = [_holds(p.requirement, names) for p in group]
    ok = [[c(*pt) for pt in points] for c in checks]
    failed = [
        (p, f"for every input size tried ({', '.join(names)} = 1..{GRID})")
        for p, m in zip(group, ok, strict=True) if not any(m)
    ]
    if failed:
        return failed, []
    joint = [all(col) for col in zip(*ok, strict=True)]
    if not any(joint):
        return [], [rules.INPUT_SIZE_CONSTRAINT.diagnostic(
            f"model {model_name}: no sizes of {', '.join(names)} satisfy every layer at once",
            span=span, severity=Severity.ERROR)]
    good = [pt for pt, j in zip(points, joint, strict=True) if j][:4]
    shown = "; ".join(", ".join(f"{n}={v}" for n, v in zip(names, pt, strict=False))
                      for pt in good)
    return [], [rules.INPUT_SIZE_CONSTRAINT.diagnostic(
        f"model {model_name} builds only for some combinations of {', '.join(names)} "
        f"(e.g. {shown})", span=span)]
