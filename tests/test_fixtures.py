"""Every ground-truth fixture, read by the config reader and propagated, against Keras.

For each model: per layer (in ``model.layers`` order) the output shapes of every call,
the params, trainable and non-trainable params; then the model totals, input and
output shapes. Symbolic dims must sit exactly where Keras has None.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from convcalc import dims
from convcalc.frontend import Loaded
from convcalc.frontend.config import load_config_text
from convcalc.frontend.files import load_file
from convcalc.graph import LayerGraph
from convcalc.propagate import Analysis, propagate
from convcalc.types import TensorType

KERAS3 = FIXTURES / "keras3" / "truth"
KERAS2 = FIXTURES / "keras2"
FILES = FIXTURES / "files"

MACS = {"VGG16": 15_470_264_320, "ResNet50": 3_857_973_248, "MobileNetV2": 300_774_272,
        "unet": 758_120_448}
"""Total MACs from the keras3 README (the Keras 2 exports are the same models)."""


def _cases() -> list[Any]:
    cases = []
    for model in sorted(KERAS3.glob("*.model.json")):
        name = model.name.removesuffix(".model.json")
        cases.append(pytest.param(model, KERAS3 / f"{name}.json", name, id=f"keras3-{name}"))
    for model in sorted(KERAS2.glob("*.model.json")):
        stem = model.name.removesuffix(".model.json")
        name = stem.removesuffix(".legacy")
        kind = "legacy" if stem.endswith(".legacy") else "json"
        cases.append(pytest.param(model, KERAS2 / f"{name}.json", name,
                                  id=f"keras2-{kind}-{name}"))
    for truth in sorted(FILES.glob("*.truth.json")):
        model = truth.with_name(truth.name.removesuffix(".truth.json"))
        cases.append(pytest.param(model, truth, None, id=f"file-{model.name}"))
    return cases


def _keras_shape(t: TensorType | None) -> list[int | None] | None:
    if t is None:
        return None
    return [dims.as_int(d) for d in t.shape]


def _compare(graph: LayerGraph, analysis: Analysis, truth: dict[str, Any],
             where: str) -> list[str]:
    """Differences between our analysis and Keras's report, one line each."""
    problems: list[str] = []
    layers = [layer for layer in graph.layers if not layer.hidden]
    names = [layer.name for layer in layers]
    want_names = [t["name"] for t in truth["layers"]]
    if names != want_names:
        return [f"{where}: layers {names} != Keras {want_names}"]
    totals = {"params": 0, "trainable_params": 0, "non_trainable_params": 0}
    for layer, want in zip(layers, truth["layers"], strict=True):
        at = f"{where}/{layer.name} ({layer.class_name})"
        result = analysis.result(layer)
        calls = [analysis.calls[c.id] for c in graph.calls_of(layer)]
        got_shapes = [[_keras_shape(t) for t in cr.outputs] for cr in calls]
        if got_shapes != want["output_shapes"]:
            problems.append(f"{at}: output shapes {got_shapes} != Keras {want['output_shapes']}")
        for key in totals:
            got = getattr(result, key)
            if got != want[key]:
                problems.append(f"{at}: {key} {got} != Keras {want[key]}")
            totals[key] += got if dims.is_int(got) else 0
        if "layers" in want and result.inner is not None:
            problems += _compare(result.inner.graph, result.inner, want, at)
        elif "layers" in want:
            problems.append(f"{at}: nested model not analysed")
    for key, total in (("total_params", totals["params"]),
                       ("trainable_params", totals["trainable_params"]),
                       ("non_trainable_params", totals["non_trainable_params"])):
        if key in truth and total != truth[key]:
            problems.append(f"{where}: {key} {total} != Keras {truth[key]}")
    for key, types in (("input_shapes", analysis.input_types),
                       ("output_shapes", analysis.output_types)):
        got = [_keras_shape(t) for t in types]
        if key in truth and got != truth[key]:
            problems.append(f"{where}: model {key} {got} != Keras {truth[key]}")
    return problems


def _load(model: Path) -> Loaded:
    if model.suffix == ".json":
        return load_config_text(model.read_text(), str(model))
    return load_file(model)


@pytest.mark.parametrize(("model", "truth_path", "name"), _cases())
def test_fixture_matches_keras(model: Path, truth_path: Path, name: str | None) -> None:
    truth = json.loads(truth_path.read_text())
    loaded = _load(model)
    assert loaded.usable, [str(d) for d in loaded.diagnostics]
    (graph,) = loaded.models
    analysis = propagate(graph)
    problems = [str(d) for d in loaded.diagnostics + analysis.diagnostics]
    problems += _compare(graph, analysis, truth, graph.name)
    if name in MACS:
        macs = [cr.macs for cr in analysis.calls.values()]
        total = dims.total(m for m in macs if m is not None)
        if None in macs or total != MACS[name]:
            problems.append(f"MACs {total} (unknown for {macs.count(None)} calls) != "
                            f"{MACS[name]:,}")
    assert problems == []
