"""Moving models, weights and activations between real Keras 3 and convcalc (tests only).

A Keras model becomes a convcalc graph through its own ``to_json()`` (the config
reader), its weights are copied by layer name, and every layer call's Keras output
is fetched from one multi-output model, so each convcalc call can be compared with
the Keras node it mirrors (same layer name, same call index).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from convcalc.executor import Executor, Weights
from convcalc.frontend.config import load_config_text
from convcalc.graph import LayerCall, LayerGraph
from convcalc.layers.model import ModelSpec
from convcalc.propagate import propagate

Array = np.ndarray[Any, np.dtype[Any]]
RTOL = 1e-4


def build_fixture(path: Path) -> Any:
    """The Keras model a fixture file's ``build()`` returns (our own test fixture)."""
    spec = importlib.util.spec_from_file_location(f"fixture_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with warnings.catch_warnings():
        # some fixtures keep the Keras 2 idiom Keras 3 warns about (input_shape= on a layer)
        warnings.filterwarnings("ignore", message="Do not pass an `input_shape`")
        return module.build()


def convcalc_graph(model: Any) -> LayerGraph:
    """The model as convcalc reads its ``to_json()``."""
    loaded = load_config_text(model.to_json(), model.name)
    assert loaded.usable, [str(d) for d in loaded.diagnostics]
    (graph,) = loaded.models
    return graph


def weight_values(layer: Any) -> list[Array]:
    """A Keras layer's weights as NumPy arrays (``get_weights()`` trips a NumPy 2
    deprecation warning through the variable's ``__array__``)."""
    return [np.ascontiguousarray(keras.ops.convert_to_numpy(w.value)) for w in layer.weights]


def randomize_constant_weights(model: Any, seed: int = 0) -> None:
    """Give weights Keras initialises to constants (biases, BatchNorm statistics)
    random values, so that they take part in the comparison: a forward that ignored
    a bias would otherwise agree with Keras. Variances and scales stay in [0.5, 1.5]."""
    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        if not layer.weights or isinstance(layer, keras.Model):
            continue
        values = []
        for w, v in zip(layer.weights, weight_values(layer), strict=True):
            if v.size and np.issubdtype(v.dtype, np.floating) and np.all(v == v.flat[0]):
                path = w.path
                if "variance" in path or "gamma" in path or path.endswith("/scale"):
                    v = rng.uniform(0.5, 1.5, v.shape).astype(v.dtype)
                else:
                    v = (0.1 * rng.standard_normal(v.shape)).astype(v.dtype)
            values.append(v)
        layer.set_weights(values)


def _all_layers(model: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(_all_layers(layer))
    return out


def transfer_weights(model: Any, graph: LayerGraph) -> Weights:
    """Keras's weights for every convcalc layer, matched by name (nested models too)."""
    out: Weights = {}
    for layer in graph.layers:
        if isinstance(layer.spec, ModelSpec):
            out.update(transfer_weights(model.get_layer(layer.name), layer.spec.graph))
            continue
        if layer.hidden:
            continue
        try:
            theirs = model.get_layer(layer.name)
        except ValueError:
            continue  # an automatic InputLayer
        out[layer] = weight_values(theirs)
    return out


def node_outputs(model: Any, inputs: list[Array]) -> dict[tuple[str, int], list[Array]]:
    """Keras's outputs of every layer call of ``model`` (not inside nested models),
    keyed by (layer name, call index)."""
    keys: list[tuple[str, int]] = []
    tensors: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        for i, node in enumerate(layer._inbound_nodes):
            outs = node.output_tensors
            keys.append((layer.name, i))
            tensors.append(list(outs))
    flat = [t for group in tensors for t in group]
    probe = keras.Model(model.inputs, flat)
    values = probe(list(inputs), training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    arrays = [np.asarray(keras.ops.convert_to_numpy(v)) for v in values]
    out: dict[tuple[str, int], list[Array]] = {}
    pos = 0
    for key, group in zip(keys, tensors, strict=True):
        out[key] = arrays[pos:pos + len(group)]
        pos += len(group)
    return out


def assert_close(got: Array, want: Array, where: str) -> None:
    """Equal within rtol 1e-4, element by element, with an absolute floor of 1e-4 times
    the RMS of the Keras output: an element near zero in a layer whose values are of
    order one carries the rounding error of those order-one terms, not of its own size.
    Integer outputs must be equal."""
    assert got.shape == want.shape, f"{where}: shape {got.shape} != Keras {want.shape}"
    if not np.issubdtype(want.dtype, np.floating):
        np.testing.assert_array_equal(got, want, err_msg=where)
        return
    scale = float(np.sqrt(np.mean(np.square(want.astype(np.float64))))) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale + 1e-30, err_msg=where)


def compare_layer_by_layer(model: Any, inputs: list[Array], seed: int = 0) -> list[str]:
    """Every convcalc call run on Keras's own inputs for that call, against Keras's
    outputs; returns the failures (one line per call) and the calls without forward."""
    graph = convcalc_graph(model)
    weights = transfer_weights(model, graph)
    analysis = propagate(graph)
    theirs = node_outputs(model, inputs)
    for ref, x in zip(graph.inputs, inputs, strict=True):
        theirs[_key(graph, graph.calls[ref.node])] = [x]
    problems: list[str] = []
    executor = Executor(weights, keep=True)
    for call in graph.ordered_calls():
        if not call.inputs:  # an input: nothing computed
            continue
        ins = [theirs[_key(graph, graph.calls[r.node])][r.index] for r in call.inputs]
        run = executor.call(call, ins, analysis.calls[call.id].outputs, analysis, ())
        where = f"{call.layer.name}#{call.call_index} ({call.layer.class_name})"
        if run.outputs is None:
            problems.append(f"{where}: {run.status} {run.error}")
            continue
        want = theirs[_key(graph, call)]
        if len(run.outputs) != len(want):
            problems.append(f"{where}: {len(run.outputs)} outputs, Keras {len(want)}")
            continue
        for got, expected in zip(run.outputs, want, strict=True):
            try:
                assert_close(np.asarray(got), expected, where)
            except AssertionError as e:
                problems.append(str(e).strip().splitlines()[0] + " " + _worst(got, expected))
    return problems


def _worst(got: Array, want: Array) -> str:
    if got.shape != want.shape:
        return ""
    diff = np.abs(got.astype(np.float64) - want)
    return f"(max abs diff {diff.max():.3g}, Keras max |x| {np.abs(want).max():.3g})"


def _key(graph: LayerGraph, call: LayerCall) -> tuple[str, int]:
    return call.layer.name, call.call_index
