"""Whole models run by the executor against real Keras 3, layer by layer.

Each model is built in Keras (the fixture files, and ResNet50, VGG16, MobileNetV2 from
``keras.applications`` with ``weights=None``), its constant-initialised weights are
randomised, and convcalc reads it from its ``to_json()``. Every layer call runs on
Keras's own inputs for that call, so each layer is compared on its own (float32,
rtol 1e-4 with a floor relative to the layer's output scale, see
``keras_bridge.assert_close``); then the executor runs the whole graph on its own
outputs and the model outputs are compared with ``model.predict``, also with the
inference rewrites of ``convcalc.fusion`` (BatchNorm folded, ReLU in place).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from conftest import FIXTURES
from keras_bridge import (
    assert_close,
    build_fixture,
    compare_layer_by_layer,
    convcalc_graph,
    randomize_constant_weights,
    transfer_weights,
)

from convcalc.checking import check_graph
from convcalc.executor import execute
from convcalc.fusion import plan

MODELS = sorted((FIXTURES / "keras3" / "models").glob("*.py"))

APPLICATIONS = {
    "ResNet50": (64, 64, 3),
    "VGG16": (64, 64, 3),
    "MobileNetV2": (96, 96, 3),
}
"""Built at a smaller input than their default to keep the test quick; every layer
kind and connection is the same as at 224."""



def _inputs(model: Any, batch: int = 2, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = (batch, *t.shape[1:])
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 50, shape).astype(str(t.dtype)))
        else:
            out.append(rng.standard_normal(shape, dtype=np.float32))
    return out


def _run_model(model: Any, name: str) -> None:
    """Each call on Keras's inputs, then the whole graph on its own activations: the
    outputs are held to the same bound (rounding differences do not compound enough
    through these models to need a looser one)."""
    randomize_constant_weights(model)
    inputs = _inputs(model)
    problems = compare_layer_by_layer(model, inputs)
    assert problems == []
    graph = convcalc_graph(model)
    ex = execute(graph, inputs, transfer_weights(model, graph))
    theirs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    theirs = theirs if isinstance(theirs, list) else [theirs]
    weights = transfer_weights(model, graph)
    fused = execute(graph, inputs, weights, plan=plan(graph, weights))
    for got, fast, want in zip(ex.outputs, fused.outputs, theirs, strict=True):
        assert got is not None and fast is not None
        assert_close(got, np.asarray(want), f"{name} output")
        assert_close(fast, np.asarray(want), f"{name} output, BatchNorm folded")


@pytest.mark.oracle
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_fixture_model_matches_keras(path: Path) -> None:
    _run_model(build_fixture(path), path.stem)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_application_matches_keras(name: str) -> None:
    builder = getattr(keras.applications, name)
    model = builder(weights=None, input_shape=APPLICATIONS[name])
    _run_model(model, name)


@pytest.mark.oracle
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_fixture_model_check_is_clean(path: Path) -> None:
    """Executed shapes equal the static ones (no CC301) and every layer runs (no
    CC302): the same model as above, read from its JSON, weights from the config."""
    graph = convcalc_graph(build_fixture(path))
    result = check_graph(graph, batch=2, samples=2)
    assert [str(d) for d in result.diagnostics] == []
    assert result.runs and all(r.executed == len(r.layers) for r in result.runs)
