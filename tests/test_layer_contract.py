"""One contract test over every registered layer kind, against real Keras 3.

For each spec's examples: Keras builds the layer and calls it on symbolic inputs;
convcalc's output shapes, weight shapes and params must equal Keras's, and an example
Keras rejects must be rejected by convcalc too.
"""

from __future__ import annotations

import copy
from typing import Any

import keras
import pytest

from convcalc import dims
from convcalc.layers import catalogue
from convcalc.layers.base import ConfigError, Example, InferContext, LayerSpec, ShapeError
from convcalc.types import TensorType

CASES = [
    pytest.param(spec, i, ex, id=f"{name}-{i}")
    for name, spec in sorted(catalogue().items())
    for i, ex in enumerate(spec.examples)
]


def _our_input(shape: tuple[int | None, ...], k: int) -> TensorType:
    out: list[dims.Dim] = []
    for i, d in enumerate(shape):
        if d is None:
            out.append(dims.BATCH if i == 0 else dims.Sym(f"u{k}_{i}"))
        else:
            out.append(d)
    return TensorType(tuple(out))


def _keras_shape(shape: tuple[dims.Dim, ...]) -> list[int | None]:
    return [d if dims.is_int(d) else None for d in shape]


KerasResult = tuple[list[list[int | None]], list[Any]]


def _build_keras(spec: type[LayerSpec], config: dict[str, Any]) -> Any:
    if any(isinstance(v, dict) and "class_name" in v for v in config.values()):
        # serialized objects inside (a wrapped layer, a named function): Keras's
        # deserializer builds them as a saved model would
        return keras.layers.deserialize(
            {"module": "keras.layers", "class_name": spec.class_name,
             "config": copy.deepcopy(config)}
        )
    return getattr(keras.layers, spec.class_name)(**config)


def _bind(names: tuple[str, ...], tensors: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword call arguments: ``names[i]`` receives ``tensors[i]``."""
    grouped: dict[str, list[Any]] = {}
    for name, t in zip(names, tensors, strict=True):
        grouped.setdefault(name, []).append(t)
    values = {k: v[0] if names.count(k) == 1 else v for k, v in grouped.items()}
    first = names[0]
    return [values.pop(first)], values


def _run_keras(ex: Example, spec: type[LayerSpec]) -> KerasResult | None:
    try:
        layer = _build_keras(spec, dict(ex.config))
        inputs = [keras.Input(batch_shape=s) for s in ex.inputs]
        if not inputs:  # an InputLayer: its output exists without a call
            out = layer.output
        elif ex.arguments:
            args, kwargs = _bind(ex.arguments, inputs)
            out = layer(*args, **kwargs, **dict(ex.call))
        elif len(spec.call_args) > 1:  # separate tensor arguments: layer(query, value)
            out = layer(*inputs, **dict(ex.call))
        else:
            out = layer(inputs[0] if len(inputs) == 1 else inputs, **dict(ex.call))
    except (ValueError, TypeError):
        return None
    outs = out if isinstance(out, (list, tuple)) else [out]
    return [list(o.shape) for o in outs], list(layer.weights)


def _run_ours(spec: type[LayerSpec], ex: Example):  # type: ignore[no-untyped-def]
    try:
        layer = spec.from_config(ex.config)
        ins = [_our_input(s, k) for k, s in enumerate(ex.inputs)]
        ctx = InferContext(ex.call)
        outs = layer.infer(ins, ctx)
    except (ConfigError, ShapeError):
        return None
    if ctx.problems:
        return None
    return layer, ins, outs


def test_every_layer_kind_has_examples() -> None:
    missing = [name for name, spec in catalogue().items() if spec.in_keras3 and not spec.examples]
    assert missing == []


@pytest.mark.oracle
@pytest.mark.parametrize(("spec", "index", "example"), CASES)
def test_layer_matches_keras(spec: type[LayerSpec], index: int, example: Example) -> None:
    theirs = _run_keras(example, spec)
    ours = _run_ours(spec, example)
    assert (theirs is None) == example.fails, "the example's `fails` flag disagrees with Keras"
    verdict = "rejects" if theirs is None else "accepts"
    assert (ours is None) == (theirs is None), f"Keras {verdict} this example"
    if theirs is None or ours is None:
        return
    layer, ins, outs = ours
    keras_shapes, keras_weights = theirs
    assert [_keras_shape(t.shape) for t in outs] == keras_shapes
    weights = layer.weights(ins)
    assert [tuple(w.shape) for w in weights] == [tuple(w.shape) for w in keras_weights]
    assert [w.trainable for w in weights] == [w.trainable for w in keras_weights]
    macs = layer.macs(ins, outs)
    flops = layer.flops(ins, outs)
    if dims.is_int(macs) and dims.is_int(flops):
        assert 0 <= 2 * macs <= flops or (macs == 0 and flops >= 0)
