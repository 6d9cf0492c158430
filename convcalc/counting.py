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


def totals(analysis: Analysis) -> Totals:
    """Totals of one analysed model."""
    # Concrete sizes are summed as plain ints (the common case, and the hot loop of a
    # big model); symbolic terms are collected per total and added up once at the end.
    params = trainable = frozen = memory = macs = flops = 0
    symbolic: dict[str, list[Dim]] = {}
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
                nbytes = layer_bytes if w.dtype == "float32" else DTYPE_BYTES.get(w.dtype, 4)
                is_trainable = w.trainable and layer_trainable
                if type(size) is int:
                    params += size
                    if is_trainable:
                        trainable += size
                    else:
                        frozen += size
                    memory += size * nbytes
                else:
                    symbolic.setdefault("params", []).append(size)
                    part = "trainable" if is_trainable else "frozen"
                    symbolic.setdefault(part, []).append(size)
                    symbolic.setdefault("memory", []).append(dims.mul(nbytes, size))
        for cr in lr.calls:
            m, f = cr.macs, cr.flops
            if m is None or f is None:
                unknown_calls += 1
                continue
            if type(m) is int:
                macs += m
            else:
                symbolic.setdefault("macs", []).append(m)
            if type(f) is int:
                flops += f
            else:
                symbolic.setdefault("flops", []).append(f)

    def total(ints: int, part: str) -> Dim:
        terms = symbolic.get(part)
        return dims.total((ints, *terms)) if terms else ints

    return Totals(
        total(params, "params"), total(trainable, "trainable"), total(frozen, "frozen"),
        total(memory, "memory"), total(macs, "macs"), total(flops, "flops"),
        unknown_layers, unknown_calls,
    )
