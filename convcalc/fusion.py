"""Inference-time rewrites of a graph run, for speed when only the outputs matter.

- A BatchNormalization whose only input is a convolution or Dense (used once, linear
  activation, its output read by nothing else) is folded into that layer's kernel and
  bias: ``k' = k * s``, ``b' = (b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)``.
- A ReLU (``relu``, ``relu6``) applied by a layer's own ``activation=`` or by an
  Activation / ReLU layer reading a fresh array no one else reads runs in place.

The rewritten calls' own outputs no longer exist (a folded convolution yields the
normalised values), so the executor applies a plan only on request. Outputs equal an
unfused run up to float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convcalc.graph import LayerCall, LayerGraph, TensorRef
from convcalc.layers.base import LayerSpec

Array = np.ndarray[Any, np.dtype[Any]]

FOLDABLE = {"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D", "Dense"}
FRESH = FOLDABLE | {"BatchNormalization", "Add"}
"""Layer kinds whose forward returns a newly allocated array (never a view of an
input), which a following activation may overwrite."""
IN_PLACE = {"relu", "relu6"}


@dataclass(slots=True)
class Step:
    """How one call runs under a plan."""

    spec: LayerSpec | None = None
    """A replacement spec (the layer's own activation moved to ``post``)."""
    weights: list[Array] | None = None
    """Replacement weights (a folded kernel and bias)."""
    post: str | None = None
    """An activation applied in place to the call's output."""
    alias: bool = False
    """The call returns its input (after ``post``): a folded BatchNormalization, or an
    activation layer run in place."""


Plan = dict[int, Step]


def apply_in_place(activation: str, x: Array) -> Array:
    """``relu`` or ``relu6`` written over ``x``."""
    if activation == "relu":
        np.maximum(x, 0, out=x)
    else:
        np.clip(x, 0, 6, out=x)
    return x


def plan(graph: LayerGraph, weights: dict[Any, list[Array]]) -> Plan:
    """The rewrites that apply to ``graph`` (top-level calls) with these weights."""
    readers = graph.consumers()
    outputs = set(graph.outputs)
    steps: Plan = {}

    def only_reader(ref: TensorRef, call: LayerCall) -> bool:
        return readers.get(ref) == [call] and ref not in outputs

    for call in graph.ordered_calls():
        spec = call.layer.spec
        if spec is None or len(call.inputs) != 1:
            continue
        ref = call.inputs[0]
        producer = graph.calls[ref.node]
        kind = call.layer.class_name
        if kind == "BatchNormalization" and _foldable(graph, producer, call, ref, readers,
                                                      outputs):
            folded = _fold(producer, call, weights)
            if folded is not None:
                base = producer.layer.spec
                assert base is not None  # checked by _foldable
                steps[producer.id] = Step(spec=base.replace(use_bias=True), weights=folded)
                steps[call.id] = Step(alias=True)
            continue
        activation = _in_place_activation(spec)
        if activation is not None and producer.layer.class_name in FRESH and only_reader(
                ref, call):
            steps[call.id] = Step(alias=True, post=activation)
        elif kind in FOLDABLE and getattr(spec, "activation", None) in IN_PLACE:
            steps[call.id] = Step(spec=spec.replace(activation="linear"),
                                  post=getattr(spec, "activation", None))
    return steps


def _in_place_activation(spec: LayerSpec) -> str | None:
    """``relu`` / ``relu6`` for an Activation or ReLU layer computing exactly that."""
    if spec.class_name == "Activation":
        name = getattr(spec, "activation", None)
        return name if name in IN_PLACE else None
    if spec.class_name == "ReLU" and not getattr(spec, "negative_slope", 0) and not getattr(
            spec, "threshold", 0):
        cap = getattr(spec, "max_value", None)
        return "relu" if cap is None else "relu6" if cap == 6 else None
    return None


def _foldable(graph: LayerGraph, producer: LayerCall, bn: LayerCall, ref: TensorRef,
              readers: dict[TensorRef, list[LayerCall]], outputs: set[TensorRef]) -> bool:
    spec = producer.layer.spec
    bn_spec = bn.layer.spec
    return (
        spec is not None and bn_spec is not None
        and producer.layer.class_name in FOLDABLE
        and ref.index == 0 and readers.get(ref) == [bn] and ref not in outputs
        and len(graph.calls_of(producer.layer)) == 1 and len(graph.calls_of(bn.layer)) == 1
        and getattr(spec, "activation", "linear") == "linear"
        and getattr(spec, "data_format", "channels_last") == "channels_last"
        and getattr(spec, "groups", 1) == 1
        and tuple(getattr(bn_spec, "axis", ())) in _last_axis(spec)
    )


def _last_axis(spec: LayerSpec) -> tuple[tuple[int, ...], ...]:
    """How a BatchNormalization names the channels axis of this layer's output: -1, or
    its index when the rank is known (Keras applications write ``axis=3``)."""
    rank = getattr(spec, "rank", None)
    if spec.class_name == "Dense" or not isinstance(rank, int):
        return ((-1,),)
    return ((-1,), (rank + 1,))


def _fold(producer: LayerCall, bn: LayerCall, weights: dict[Any, list[Array]]
          ) -> list[Array] | None:
    """The producer's kernel and bias with the normalisation folded in, or None when
    the weights are not the expected ones."""
    spec, bn_spec = producer.layer.spec, bn.layer.spec
    own, norm = weights.get(producer.layer), weights.get(bn.layer)
    if own is None or norm is None or spec is None or bn_spec is None:
        return None
    center, scale = getattr(bn_spec, "center", True), getattr(bn_spec, "scale", True)
    if len(norm) != 2 + center + scale:
        return None
    parts = [np.asarray(a, np.float64) for a in norm]
    gamma = parts.pop(0) if scale else 1.0
    beta = parts.pop(0) if center else 0.0
    mean, var = parts
    s = gamma / np.sqrt(var + float(getattr(bn_spec, "epsilon", 1e-3)))
    kernel = np.asarray(own[0], np.float64)
    bias = np.asarray(own[1], np.float64) if getattr(spec, "use_bias", True) and len(
        own) > 1 else 0.0
    if producer.layer.class_name.startswith("Depthwise"):
        s_k = np.reshape(s, kernel.shape[-2:])  # output channel c * multiplier + j
    else:
        s_k = s
    if np.shape(s_k)[-1:] != kernel.shape[-1:]:
        return None
    folded_kernel = np.ascontiguousarray(kernel * s_k, dtype=np.float32)
    folded_bias = np.ascontiguousarray((bias - mean) * s + beta, dtype=np.float32)
    return [folded_kernel, folded_bias]
