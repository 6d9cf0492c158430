"""Model totals: params (trainable / non-trainable), weight memory, MACs and FLOPs.

Params are counted per layer (a shared layer once), MACs and FLOPs per call (a shared
layer once per call), all per sample. A layer whose weights or cost could not be
derived is left out of the sums and counted in ``unknown_*``: never silently zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcalc import dims
from convcalc.dims import Dim
from convcalc.propagate import Analysis

DTYPE_BYTES = {
    "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8,
    "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "bool": 1,
}


def variable_dtype(policy: str) -> str:
    """The dtype weights are stored in under a dtype policy (mixed_* keeps float32)."""
    return "float32" if policy.startswith("mixed_") else policy


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over a model; ``unknown_*`` count the layers / calls left out."""

    params: Dim
    trainable_params: Dim
    non_trainable_params: Dim
    weight_bytes: Dim
    macs: Dim
    flops: Dim
    unknown_layers: int = 0
    unknown_calls: int = 0

    @property
    def complete(self) -> bool:
        return self.unknown_layers == 0 and self.unknown_calls == 0


class _Sum:
    """A running sum of dims: ints added directly, symbolic terms kept for the end."""

    __slots__ = ("ints", "symbolic")

    def __init__(self) -> None:
        self.ints = 0
        self.symbolic: list[Dim] = []

    def add(self, d: Dim) -> None:
        if type(d) is int:
            self.ints += d
        else:
            self.symbolic.append(d)

    def value(self) -> Dim:
        return dims.total((self.ints, *self.symbolic)) if self.symbolic else self.ints


def totals(analysis: Analysis) -> Totals:
    """Totals of one analysed model."""
    params, trainable, frozen, memory, macs, flops = (_Sum() for _ in range(6))
    unknown_layers = 0
    unknown_calls = 0
    for lr in analysis.layers.values():
        if lr.weights is None:
            if lr.calls or lr.layer.spec is None:
                unknown_layers += 1
        else:
            layer_trainable = lr.layer.trainable
            layer_bytes = DTYPE_BYTES.get(variable_dtype(lr.layer.dtype), 4)
            for w in lr.weights:
                size = w.size
                params.add(size)
                (trainable if w.trainable and layer_trainable else frozen).add(size)
                nbytes = layer_bytes if w.dtype == "float32" else DTYPE_BYTES.get(w.dtype, 4)
                memory.add(size * nbytes if type(size) is int else dims.mul(nbytes, size))
        for cr in lr.calls:
            if cr.macs is None or cr.flops is None:
                unknown_calls += 1
            else:
                macs.add(cr.macs)
                flops.add(cr.flops)
    return Totals(
        params.value(), trainable.value(), frozen.value(), memory.value(), macs.value(),
        flops.value(), unknown_layers, unknown_calls,
    )
