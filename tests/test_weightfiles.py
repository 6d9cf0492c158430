"""Trained weights read from ``.keras`` and ``.h5`` files, against Keras loading them.

Keras 3 files are loaded by Keras itself: the weights convcalc reads must equal the
loaded model's, layer by layer, and the executor must then compute the loaded model's
outputs. tf_keras files (which Keras 3 cannot load) come in two containers holding the
same weights, matched by two different routes (layer names in ``.h5``, object paths in
``.keras``): both must agree.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import FIXTURES
from keras_bridge import assert_close, weight_values

from convcalc.checking import check
from convcalc.executor import execute
from convcalc.frontend.files import load_file
from convcalc.graph import LayerGraph
from convcalc.weightfiles import WeightsError, has_weights, load_weights

FILES = FIXTURES / "files"
KERAS3_FILES = sorted([*FILES.glob("*[!2].keras"), *FILES.glob("*.keras3.h5")])
KERAS2_PAIRS = [(p, p.with_name(p.name.replace(".h5", ".keras2.keras")))
                for p in sorted(FILES.glob("*.h5"))
                if not p.name.endswith(".keras3.h5")
                and p.with_name(p.name.replace(".h5", ".keras2.keras")).exists()]


def _graph(path: Path) -> LayerGraph:
    loaded = load_file(path)
    assert loaded.usable, [str(d) for d in loaded.diagnostics]
    (graph,) = loaded.models
    return graph


@pytest.mark.oracle
@pytest.mark.parametrize("path", KERAS3_FILES, ids=[p.name for p in KERAS3_FILES])
def test_weights_equal_the_model_keras_loads(path: Path) -> None:
    graph = _graph(path)
    ours = {layer.name: arrays for layer, arrays in load_weights(path, graph).items()}
    model = keras.saving.load_model(path, compile=False)
    theirs = {layer.name: weight_values(layer) for layer in model.layers if layer.weights}
    assert {k for k, v in ours.items() if v} == set(theirs)
    for name, arrays in theirs.items():
        assert len(ours[name]) == len(arrays), name
        for got, want in zip(ours[name], arrays, strict=True):
            assert got.dtype == want.dtype and np.array_equal(got, want), name


@pytest.mark.oracle
@pytest.mark.parametrize("path", KERAS3_FILES, ids=[p.name for p in KERAS3_FILES])
def test_outputs_equal_the_model_keras_loads(path: Path) -> None:
    graph = _graph(path)
    model = keras.saving.load_model(path, compile=False)
    rng = np.random.default_rng(0)
    inputs = []
    for t in model.inputs:
        shape = (2, *(d if d is not None else 9 for d in t.shape[1:]))
        if "int" in str(t.dtype):
            inputs.append(rng.integers(0, 50, shape).astype(str(t.dtype)))
        else:
            inputs.append(rng.standard_normal(shape, dtype=np.float32))
    ex = execute(graph, inputs, load_weights(path, graph))
    theirs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    for got, want in zip(ex.outputs, theirs if isinstance(theirs, list) else [theirs],
                         strict=True):
        assert got is not None, [(r.call.layer.name, r.status, r.error) for r in ex.calls
                                 if r.status != "ok"][:3]
        assert_close(got, np.asarray(want), path.name)


@pytest.mark.parametrize(("h5", "zipped"), KERAS2_PAIRS, ids=[p.name for p, _ in KERAS2_PAIRS])
def test_keras2_h5_and_keras_zip_give_the_same_weights(h5: Path, zipped: Path) -> None:
    by_name = {k.name: v for k, v in load_weights(h5, _graph(h5)).items()}
    by_path = {k.name: v for k, v in load_weights(zipped, _graph(zipped)).items()}
    assert by_name.keys() == by_path.keys()
    assert sum(a.size for v in by_name.values() for a in v) > 0
    for name, arrays in by_name.items():
        assert [a.shape for a in arrays] == [a.shape for a in by_path[name]], name
        assert all(np.array_equal(a, b) for a, b in zip(arrays, by_path[name], strict=True))


def test_check_uses_the_file_weights() -> None:
    result = check(FILES / "rnn_small.keras", batch=1)
    (m,) = result.models
    assert m.weights_from == "from rnn_small.keras"
    assert [r.sizes for r in m.runs] == [{}]


def test_config_only_files_have_no_weights(tmp_path: Path) -> None:
    config = tmp_path / "model.json"
    config.write_text((FIXTURES / "keras3" / "truth" / "dense4d.model.json").read_text())
    assert not has_weights(config)
    result = check(config)
    assert result.models[0].weights_from.startswith("initialisers in the config")


def _rezip(src: Path, dst: Path, rename: dict[str, str]) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(rename.get(info.filename, info.filename), zin.read(info))


def test_unsafe_or_incomplete_archives_are_refused(tmp_path: Path) -> None:
    src = FILES / "conv_transpose.keras"
    graph = _graph(src)
    unsafe = tmp_path / "unsafe.keras"
    _rezip(src, unsafe, {"metadata.json": "../escape.json"})
    with pytest.raises(WeightsError, match="unsafe"):
        load_weights(unsafe, graph)
    missing = tmp_path / "missing.keras"
    _rezip(src, missing, {"model.weights.h5": "other.h5"})
    assert not has_weights(missing)
    with pytest.raises(WeightsError, match=r"no model\.weights\.h5"):
        load_weights(missing, graph)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(src.read_bytes()[:3000])
    with pytest.raises(WeightsError):
        load_weights(truncated, graph)


def test_unreadable_weights_make_check_exit_2(tmp_path: Path) -> None:
    src = FILES / "conv_transpose.keras"
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data[:200] if info.filename == "model.weights.h5" else data)
    result = check(broken)
    assert result.exit_code == 2
    assert [d.code for d in result.diagnostics] == ["CC006"]


def _nested_model() -> keras.Model:
    inner = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="relu",
                                                                   name="inner_dense"),
                              keras.layers.Dense(3, name="inner_out")], name="encoder")
    x = keras.Input((5,), name="x")
    y = keras.layers.Dense(2, name="head")(inner(x))
    return keras.Model(x, y, name="outer")


@pytest.mark.oracle
# Keras's own saving converts variables through a NumPy-2-deprecated __array__ path
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_nested_model_weights_load_by_name(tmp_path: Path, suffix: str) -> None:
    model = _nested_model()
    path = tmp_path / f"outer{suffix}"
    model.save(path)
    graph = _graph(path)
    ours = {layer.name: arrays for layer, arrays in load_weights(path, graph).items()
            if arrays}
    want = {layer.name: weight_values(layer)
            for layer in [*model.layers, *model.get_layer("encoder").layers]
            if layer.weights and not isinstance(layer, keras.Model)}
    assert set(ours) == set(want)
    for name, arrays in want.items():
        assert all(np.array_equal(a, b) for a, b in zip(ours[name], arrays, strict=True))
    x = np.random.default_rng(0).standard_normal((3, 5), dtype=np.float32)
    (got,) = execute(graph, [x], load_weights(path, graph)).outputs
    assert got is not None
    assert_close(got, np.asarray(model.predict(x, verbose=0)), path.name)
