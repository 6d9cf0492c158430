"""Propagation reuses the results of identical (spec, inputs) pairs, and only those."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from convcalc import api
from convcalc.frontend.config import load_config_text
from convcalc.layers.core import Dense
from convcalc.propagate import _Propagator


def _chain(n_blocks: int, batch_shape: list[int | None]) -> str:
    layers: list[dict[str, object]] = [
        {"class_name": "InputLayer", "config": {"name": "in", "batch_shape": batch_shape}}]
    for i in range(n_blocks):
        layers += [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 64}},
                   {"class_name": "BatchNormalization", "config": {"name": f"bn{i}"}},
                   {"class_name": "ReLU", "config": {"name": f"r{i}"}}]
    return json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": layers}})


def test_repeated_blocks_are_evaluated_once_and_counted_per_layer() -> None:
    text = _chain(10, [None, 64])
    graph = load_config_text(text, "chain.json").models[0]
    propagator = _Propagator(graph, {})
    propagator.run()
    kinds = sorted(type(spec).__name__ for spec, _, _ in propagator.memo)
    assert kinds == ["BatchNormalization", "Dense", "InputLayer", "ReLU"]
    totals = api.analyze(text).models[0].totals
    assert totals.params == 10 * (64 * 64 + 64) + 10 * 4 * 64
    assert totals.non_trainable_params == 10 * 2 * 64


def test_results_with_symbolic_requirements_are_not_reused(tmp_path: Path) -> None:
    # two identical concatenates on a length-L input: each must record L % 2 == 0
    source = tmp_path / "twins.py"
    source.write_text(
        "import keras\n"
        "from keras import layers\n"
        "inp = keras.Input((None, 8))\n"
        "a = layers.UpSampling1D(2)(layers.MaxPooling1D(2)(inp))\n"
        "b = layers.UpSampling1D(2)(layers.MaxPooling1D(2)(inp))\n"
        "x = layers.Concatenate()([a, inp])\n"
        "y = layers.Concatenate()([b, inp])\n"
        "model = keras.Model(inp, [x, y])\n")
    model = api.analyze(source).models[0]
    made_by = sorted({p.call.layer.name for p in model.analysis.requirements
                      if p.call.layer.class_name == "Concatenate"})
    assert made_by == ["concatenate", "concatenate_1"]


def test_a_pickled_spec_hashes_afresh() -> None:
    spec = Dense.from_config({"units": 3})
    hash(spec)
    copy = pickle.loads(pickle.dumps(spec))
    assert "_hash" not in copy.__dict__
    assert copy == spec and hash(copy) == hash(spec)
