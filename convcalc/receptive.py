"""Receptive field and jump (effective stride) of every layer call in conv/pool chains.

Per spatial axis, through a window of extent k' = (k - 1) * d + 1 and stride s:
rf_out = rf_in + (k' - 1) * j_in and j_out = j_in * s. Upsampling by s divides the
jump (j_out = j_in / s); a transposed convolution also widens the field by
(ceil(k' / s) - 1) * j_in. Padding and cropping change neither. Both stay in input
pixels, so they are plain integers (or fractions after upsampling) whatever the input
size. A merge of branches whose fields differ takes the widest and says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from convcalc.graph import LayerCall
from convcalc.propagate import Analysis
from convcalc.types import TensorType


@dataclass(frozen=True, slots=True)
class Field:
    """The input region one output unit sees, per spatial axis."""

    size: tuple[int, ...]
    """Receptive field, in input pixels."""
    jump: tuple[Fraction, ...]
    """Distance in input pixels between neighbouring outputs (the effective stride)."""
    whole: bool = False
    """The output sees the whole input (after global pooling or flattening)."""
    disagreement: str | None = None
    """Branches merged here with different fields: which, and what each had."""

    def describe(self) -> str:
        """``rf 7x7, jump 2x2``, or ``whole input``."""
        if self.whole:
            return "whole input"
        return f"rf {_sizes(self.size)}, jump {_sizes(self.jump)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "jump": [_json_number(j) for j in self.jump],
            "whole": self.whole,
            "branches_disagree": self.disagreement,
        }


def _sizes(values: Sequence[int | Fraction]) -> str:
    return "x".join(str(v) for v in values)


def _json_number(f: Fraction) -> int | str:
    return int(f) if f.denominator == 1 else str(f)


CallFields = dict[int, tuple[Field | None, ...]]
"""Per call id, the field of each output (None where there is no spatial field)."""


def receptive_fields(analysis: Analysis) -> CallFields:
    """The field of every output of every call of a model (nested models included)."""
    return _propagate(analysis, None)


def nested_fields(analysis: Analysis) -> dict[tuple[int, int], tuple[Field | None, ...]]:
    """Per (id of the layer, call index), its output fields, nested models' layers too."""
    out: dict[tuple[int, int], tuple[Field | None, ...]] = {}
    _collect(analysis, None, out)
    return out


def _collect(analysis: Analysis, given: Sequence[Field | None] | None,
             out: dict[tuple[int, int], tuple[Field | None, ...]]) -> None:
    fields = _propagate(analysis, given)
    for call in analysis.graph.calls:
        out.setdefault((id(call.layer), call.call_index), fields.get(call.id, ()))
        lr = analysis.layers.get(id(call.layer))
        inner = lr.inner if lr is not None else None
        if inner is not None and call.call_index == 0:
            _collect(inner, [_input_field(fields, r) for r in call.inputs], out)


def _input_field(fields: CallFields, ref: Any) -> Field | None:
    outs = fields.get(ref.node, ())
    return outs[ref.index] if ref.index < len(outs) else None


def _propagate(analysis: Analysis, given: Sequence[Field | None] | None) -> CallFields:
    graph = analysis.graph
    fields: CallFields = {}
    inputs = {r.node: i for i, r in enumerate(graph.inputs)}
    for call in graph.ordered_calls():
        result = analysis.calls.get(call.id)
        outputs = result.outputs if result is not None else ()
        if call.id in inputs and not call.inputs:
            slot = inputs[call.id]
            start = given[slot] if given is not None and slot < len(given) else None
            fields[call.id] = (start if given is not None else _identity(outputs[:1]),)
            continue
        ins = [_input_field(fields, r) for r in call.inputs]
        in_types = result.inputs if result is not None else ()
        fields[call.id] = _through(analysis, call, ins, in_types, outputs)
    return fields


def _identity(types: Sequence[TensorType | None]) -> Field | None:
    t = types[0] if types else None
    if t is None or t.rank < 3:
        return None
    n = t.rank - 2
    return Field((1,) * n, (Fraction(1),) * n)


def _through(analysis: Analysis, call: LayerCall, ins: list[Field | None],
             in_types: Sequence[TensorType | None],
             outputs: Sequence[TensorType | None]) -> tuple[Field | None, ...]:
    layer = call.layer
    n_out = max(len(outputs), 1)
    known = [f for f in ins if f is not None]
    if not known:
        return (None,) * n_out
    spec = layer.spec
    lr = analysis.layers.get(id(layer))
    if lr is not None and lr.inner is not None:
        inner = _propagate(lr.inner, ins)
        return tuple(_input_field(inner, r) for r in lr.inner.graph.outputs)
    # a disagreement is reported where the branches meet, not after it
    field = _merge(analysis, call, ins) if len(ins) > 1 else replace(known[0], disagreement=None)
    if field.whole:
        return (field,) * n_out
    if spec is None:
        return (None,) * n_out
    name = type(spec).__name__
    if name.startswith("Global"):
        return (Field(field.size, field.jump, whole=True),) * n_out
    window = _window(spec)
    if window is not None and len(window[0]) == len(field.size):
        return (_through_window(field, *window, transposed=name.endswith("Transpose")),) * n_out
    size = getattr(spec, "size", None)
    if name.startswith("UpSampling") and isinstance(size, tuple) and len(size) == len(field.size):
        return (Field(field.size, tuple(j / s for j, s in zip(field.jump, size, strict=True))),
                ) * n_out
    if name.startswith(("ZeroPadding", "Cropping")):
        return (field,) * n_out
    return tuple(_kept(field, in_types, t) for t in outputs) or (None,)


def _window(spec: Any) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """(kernel, strides, dilation) of a convolution or pooling spec."""
    kernel = getattr(spec, "kernel_size", None) or getattr(spec, "pool_size", None)
    strides = getattr(spec, "strides", None)
    if not isinstance(kernel, tuple) or not isinstance(strides, tuple):
        return None
    dilation = getattr(spec, "dilation_rate", None) or (1,) * len(kernel)
    return kernel, strides, dilation


def _through_window(field: Field, kernel: tuple[int, ...], strides: tuple[int, ...],
                    dilation: tuple[int, ...], transposed: bool) -> Field:
    """rf + (k' - 1) * j, j * s; transposed: rf + (ceil(k' / s) - 1) * j, j / s."""
    size: list[int] = []
    jump: list[Fraction] = []
    for rf, j, k, s, d in zip(field.size, field.jump, kernel, strides, dilation, strict=True):
        extent = (k - 1) * d + 1
        if transposed:
            size.append(rf + math.ceil((math.ceil(extent / s) - 1) * j))
            jump.append(j / s)
        else:
            size.append(rf + math.ceil((extent - 1) * j))
            jump.append(j * s)
    return Field(tuple(size), tuple(jump))


def _kept(field: Field, before: Sequence[TensorType | None],
          after: TensorType | None) -> Field | None:
    """A layer that keeps the spatial dims of an input keeps the field; one that drops
    them (flatten, a dense head) sees the whole input."""
    if after is None:
        return None
    n = len(field.size)
    for t in before:
        if t is None or t.rank != after.rank:
            continue
        if after.shape[1:1 + n] == t.shape[1:1 + n] or after.shape[-1 - n:-1] == t.shape[-1 - n:-1]:
            return field
    if after.rank < 3:
        return Field(field.size, field.jump, whole=True)
    return None


def _merge(analysis: Analysis, call: LayerCall, ins: list[Field | None]) -> Field:
    known = [(r, f) for r, f in zip(call.inputs, ins, strict=True) if f is not None]
    first = known[0][1]
    if all(f == first for _, f in known):
        return first
    size = tuple(max(f.size[i] for _, f in known) for i in range(len(first.size)))
    jump = tuple(max(f.jump[i] for _, f in known) for i in range(len(first.jump)))
    calls = analysis.graph.calls
    parts = [f"{calls[r.node].layer.name} {f.describe()}" for r, f in known]
    return Field(size, jump, whole=any(f.whole for _, f in known),
                 disagreement="branches disagree: " + "; ".join(parts))


def field_rows(analysis: Analysis) -> list[tuple[str, int, str]]:
    """(layer name, call index, description) for every call with a spatial field."""
    fields = receptive_fields(analysis)
    rows = []
    for call in analysis.graph.ordered_calls():
        for f in fields.get(call.id, ())[:1]:
            if f is not None:
                text = f.describe() + (f" ({f.disagreement})" if f.disagreement else "")
                rows.append((call.layer.name, call.call_index, text))
    return rows
