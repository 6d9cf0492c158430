"""Derivations of each layer's shapes, params and MACs, with the numbers filled in.

Every number comes from the layer spec that the analysis used: the output lengths are
the steps :mod:`convcalc.shapes` wrote down while the spec's shape rule ran again on
the same inputs, the params are the spec's weight shapes multiplied out, the MACs are
the formula :mod:`convcalc.formulas` wrote down while the spec's ``macs`` ran again,
and the rules are the docstrings of the spec's shape and cost methods. An explanation
can therefore not disagree with the analysis.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from convcalc import dims, formulas, shapes
from convcalc.dims import Dim
from convcalc.layers.base import InferContext, LayerSpec
from convcalc.propagate import Analysis, CallResult
from convcalc.receptive import Field, receptive_fields
from convcalc.report import ModelReport
from convcalc.types import TensorType, format_shape


@dataclass(slots=True)
class StepGroup:
    """One shape formula applied along several axes."""

    what: str
    formula: str
    filled: list[str] = field(default_factory=list)
    """Per axis: ``floor((32 - 3) / 1) + 1 = 30``."""


@dataclass(slots=True)
class WeightLine:
    """One weight variable: its shape multiplied out."""

    name: str
    shape: str
    product: str
    size: str


@dataclass(slots=True)
class Explanation:
    """How one layer call's outputs, weights and cost follow from its arguments."""

    layer: str
    class_name: str
    call_index: int
    where: str | None
    summary: str
    inputs: list[str]
    outputs: list[str]
    shape_rule: str = ""
    steps: list[StepGroup] = field(default_factory=list)
    weights: list[WeightLine] = field(default_factory=list)
    params: str = ""
    macs_rule: str = ""
    macs: str = ""
    macs_formula: str = ""
    """The MACs formula in the names of its quantities, as the spec evaluated it."""
    macs_filled: str = ""
    """The same formula with the numbers of this call: ``(30*30) * (3*3) * 3 / 1 * 16``."""
    receptive: str | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The explanation as indented text."""
        call = f" call {self.call_index}" if self.call_index else ""
        head = f"{self.layer} ({self.class_name}){call}"
        out = [head + (f"  [{self.where}]" if self.where else "")]
        if self.summary:
            out.append(f"  arguments: {self.summary}")
        out.append(f"  input:  {', '.join(self.inputs) or '-'}")
        out.append(f"  output: {', '.join(self.outputs) or '?'}")
        if self.shape_rule:
            out.append(f"  shape rule: {self.shape_rule}")
        for g in self.steps:
            out.append(f"  {g.what}: {g.formula}")
            out.extend(f"    axis {i}: {text}" for i, text in enumerate(g.filled, 1))
        if self.weights:
            out.append("  weights:")
            out.extend(f"    {w.name} {w.shape}: {w.product} = {w.size}"
                       if w.product != w.size else f"    {w.name} {w.shape}: {w.size}"
                       for w in self.weights)
            out.append(f"    params = {self.params}")
        if self.macs_filled:
            if _squeezed(self.macs_rule) not in ("", _squeezed(self.macs_formula)):
                out.append(f"  MACs rule: {self.macs_rule}")
            out.extend(_equation("  MACs", [self.macs_formula, self.macs_filled, self.macs]))
        elif self.macs:
            rule = f" ({self.macs_rule})" if self.macs_rule else ""
            out.append(f"  MACs{rule} = {self.macs}")
        if self.receptive:
            out.append(f"  receptive field: {self.receptive}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out

    def text(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "class_name": self.class_name, "call_index": self.call_index,
            "where": self.where, "summary": self.summary, "inputs": self.inputs,
            "outputs": self.outputs, "shape_rule": self.shape_rule,
            "steps": [{"what": g.what, "formula": g.formula, "axes": g.filled}
                      for g in self.steps],
            "weights": [{"name": w.name, "shape": w.shape, "product": w.product,
                         "size": w.size} for w in self.weights],
            "params": self.params, "macs_rule": self.macs_rule, "macs": self.macs,
            "macs_formula": self.macs_formula, "macs_filled": self.macs_filled,
            "receptive_field": self.receptive, "notes": self.notes,
        }


def _count(d: Dim | None) -> str:
    if d is None:
        return "?"
    return f"{d:,}" if dims.is_int(d) else str(d)


def _shape(t: TensorType | None) -> str:
    return "?" if t is None else format_shape(t.shape)


_WIDTH = 100
"""Longest line an equation is kept on before it is broken."""


def _equation(head: str, sides: list[str]) -> list[str]:
    """``head = a = b = c`` on one line if it fits, else one side per line, long sums
    broken before a top-level ``+``."""
    sides = [s for i, s in enumerate(sides) if s and (i == 0 or s != sides[i - 1])]
    line = f"{head} = {' = '.join(sides)}"
    if len(line) <= _WIDTH:
        return [line]
    pad = " " * len(head)
    out: list[str] = []
    for i, side in enumerate(sides):
        current = f"{head if i == 0 else pad} = "
        first = True
        for term in _terms(side):
            piece = term if first else f"+ {term}"
            if not first and len(current) + 1 + len(piece) > _WIDTH:
                out.append(current)
                current = f"{pad}   {piece}"
            else:
                current = current + piece if first else f"{current} {piece}"
            first = False
        out.append(current)
    return out


def _terms(text: str) -> list[str]:
    """A formula split at its top-level `` + ``."""
    terms: list[str] = []
    depth = start = 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(" + ", i):
            terms.append(text[start:i])
            start = i + 3
    return [*terms, text[start:]]


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _own_doc(spec: LayerSpec, method: str) -> str:
    """The formula docstring of a spec's rule, unless it is the interface's generic one."""
    fn = getattr(type(spec), method, None)
    if fn is None or fn is getattr(LayerSpec, method):
        return ""
    doc = inspect.getdoc(fn) or ""
    return " ".join(doc.split())


def explain_model(model: ModelReport, layer: str | None = None) -> list[Explanation]:
    """One explanation per call of each layer (of the named layer only, if given)."""
    fields = receptive_fields(model.analysis)
    out: list[Explanation] = []
    for call in model.graph.ordered_calls():
        if layer is not None and call.layer.name != layer:
            continue
        if call.layer.hidden and call.layer.class_name == "InputLayer" and layer is None:
            continue
        result = model.analysis.calls.get(call.id)
        if result is None:
            continue
        f = fields.get(call.id, ())
        out.append(explain_call(model.analysis, result, f[0] if f else None))
    return out


def explain_call(analysis: Analysis, result: CallResult, rf: Field | None = None) -> Explanation:
    """The derivation of one call's outputs, weights and MACs (of a call of ``analysis``)."""
    call = result.call
    lay = call.layer
    spec = lay.spec
    span = call.span or lay.span
    ex = Explanation(
        lay.name, lay.class_name, call.call_index, str(span) if span else None,
        spec.summary() if spec is not None else "",
        [_shape(t) for t in result.inputs], [_shape(t) for t in result.outputs],
    )
    if rf is not None:
        ex.receptive = rf.describe() + (f" ({rf.disagreement})" if rf.disagreement else "")
    if spec is None:
        ex.notes.append(f"{lay.class_name} is not a layer kind convcalc knows, so its shapes "
                        "and weights are unknown")
        return ex
    ex.shape_rule = _own_doc(spec, "infer")
    ins = [t for t in result.inputs if t is not None]
    if len(ins) == len(result.inputs) and ins and spec.family != "model":
        ex.steps = list(_groups(_steps(spec, ins, call.kwargs)))
        lr = analysis.layers.get(id(lay))
        weights = lr.weights if lr is not None else None
        if weights is None and call.call_index == 0:
            weights = spec.weights(ins)
        for w in weights or ():
            factors = " * ".join(dims.format_dim(d) for d in w.shape) or "1"
            ex.weights.append(WeightLine(w.name, format_shape(w.shape), factors,
                                         _count(w.size)))
        if weights:
            sizes = [w.size for w in weights]
            total = _count(dims.total(sizes))
            terms = " + ".join(_count(s) for s in sizes)
            ex.params = total if terms == total else f"{terms} = {total}"
        if call.call_index > 0 and weights:
            ex.notes.append("a shared layer: its weights are counted once, at its first call")
    elif spec.family == "model":
        ex.notes.append("a nested model: its own layers explain its shapes and weights")
    ex.macs_rule = _own_doc(spec, "macs")
    if result.macs is not None and (result.macs != 0 or ex.macs_rule):
        ex.macs = _count(result.macs)
        outs = [t for t in result.outputs if t is not None]
        if spec.family != "model" and len(ins) == len(result.inputs) and outs:
            d = _macs_derivation(spec, ins, outs, result.macs)
            if d is not None:
                ex.macs_formula, ex.macs_filled = d.formula, d.filled
    return ex


def _macs_derivation(spec: LayerSpec, ins: list[TensorType], outs: list[TensorType],
                     value: Dim) -> formulas.Derivation | None:
    """The formula the spec's ``macs`` evaluated last, if it gave the analysis's value."""
    with formulas.recording() as found:
        try:
            spec.macs(ins, outs)
        except Exception:  # the analysis already reported why
            return None
    if found and (found[-1].value == value or dims.identical(found[-1].value, value)):
        return found[-1]
    return None


def _steps(spec: LayerSpec, ins: list[TensorType], kwargs: Any) -> list[shapes.Step]:
    with shapes.recording() as steps:
        try:
            spec.infer(ins, InferContext(kwargs))
        except Exception:  # the analysis already reported why
            return []
    return steps


def _groups(steps: list[shapes.Step]) -> Iterator[StepGroup]:
    group: StepGroup | None = None
    for s in steps:
        if group is None or (group.what, group.formula) != (s.what, s.formula):
            if group is not None:
                yield group
            group = StepGroup(s.what, s.formula)
        group.filled.append(str(s))
    if group is not None:
        yield group


def explain_text(model: ModelReport, layer: str | None = None) -> str:
    """Every explanation of a model, separated by blank lines."""
    return "\n\n".join(e.text() for e in explain_model(model, layer))
