"""Custom layers and source Lambdas run by the executor, against real Keras.

convcalc never runs a custom layer's code: it replays the layer and tensor calls that
interpreting its ``call`` recorded, each by its own NumPy forward. Each modern sample is
built by real Keras (our own file, run in the test), its weights are given random
values and transferred by their paths (``transformer_block/dense_1/kernel``), and
every model output convcalc computes must equal Keras's ``predict``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from keras_bridge import assert_close, randomize_constant_weights, weight_values
from test_source_modern import SAMPLES, keras_models

from convcalc import api
from convcalc.executor import Weights, execute
from convcalc.report import ModelReport

pytestmark = pytest.mark.oracle


def _weights(report: ModelReport, keras_model: Any) -> Weights:
    """Keras's weights for every convcalc layer: a custom layer's by path, as its own
    and its sub-layers' weights are ordered differently in the two."""
    out: Weights = {}
    analysis = report.analysis
    for layer in analysis.graph.layers:
        specs = analysis.result(layer).weights
        if not specs:
            continue
        theirs = keras_model.get_layer(layer.name)
        if layer.spec is not None and layer.spec.family == "custom":
            by_path = dict(zip((w.path for w in theirs.weights), weight_values(theirs),
                               strict=True))
            out[layer] = [by_path[f"{layer.name}/{w.name}"] for w in specs]
        else:
            out[layer] = weight_values(theirs)
    return out


def _inputs(model: Any, batch: int = 2) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for t in model.inputs:
        shape = (batch, *t.shape[1:])
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 50, shape).astype(str(t.dtype)))
        else:
            out.append(rng.standard_normal(shape, dtype=np.float32))
    return out


RANDOM = {("encoder", 2)}
"""Outputs Keras draws at random at inference (the VAE's sampled z): not comparable,
and convcalc does not run them (their value is not known without running)."""


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_custom_layers_run_as_keras_runs_them(path: Path) -> None:
    real = keras_models(path)
    report = api.analyze(path)
    for model in report.models:
        km = real[model.name]
        randomize_constant_weights(km)
        inputs = _inputs(km)
        ex = execute(model.analysis.graph, inputs, _weights(model, km))
        theirs = km.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        theirs = list(theirs) if isinstance(theirs, (list, tuple)) else [theirs]
        for i, (got, want) in enumerate(zip(ex.outputs, theirs, strict=True)):
            if (model.name, i) in RANDOM:
                assert got is None
                continue
            assert got is not None, f"{model.name} output {i} was not computed"
            assert_close(got, np.asarray(want), f"{model.name} output {i}")
        custom = [c for c in ex.calls if c.call.layer.spec is not None
                  and c.call.layer.spec.family == "custom"]
        assert all(c.status == "ok" for c in custom
                   if c.call.layer.class_name != "Sampling"), [
            (c.call.layer.name, c.status, c.error) for c in custom]


SOURCE = """
import keras
from keras import layers, ops


class Gate(layers.Layer):
    '''A learned per-channel gate and bias, a weight used directly in ops.'''

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal")
        self.b = self.add_weight(shape=(1, input_shape[-1]), initializer="random_normal")

    def call(self, x):
        return x * ops.sigmoid(self.w) + self.b


inputs = keras.Input((6, 4))
x = layers.Lambda(lambda t: ops.softmax(t, axis=1) * 2.0 + ops.ones((6, 4)))(inputs)
x = Gate()(x)
x = layers.Lambda(lambda t: ops.concatenate([t, ops.mean(t, axis=1, keepdims=True)], 1))(x)
model = keras.Model(inputs, ops.sum(x, axis=-1), name="gated")
"""


def test_weights_constants_and_lambdas_in_replayed_code(tmp_path: Path) -> None:
    path = tmp_path / "gated.py"
    path.write_text(SOURCE)
    real = keras_models(path)["gated"]
    report = api.analyze(path).model()
    inputs = _inputs(real)
    ex = execute(report.analysis.graph, inputs, _weights(report, real))
    assert [c.status for c in ex.calls if c.call.layer.class_name in ("Lambda", "Gate")] == [
        "ok", "ok", "ok"]
    (got,) = ex.outputs
    assert got is not None
    assert_close(got, np.asarray(real.predict(inputs[0], verbose=0)), "gated output")
