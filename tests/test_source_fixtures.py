"""Models read from Python source against what real Keras built from the same source.

Every ground-truth model file (``fixtures/keras3/models``, ``fixtures/files/*_small.py``)
and the ``keras.applications`` builders, read from the installed package's own ``.py``
files: per layer (in ``model.layers`` order) the names, the output shapes of every call
and the params; then the model totals. Applications without a truth file are built
with real Keras in the test (marker ``oracle``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from convcalc import api, dims
from convcalc.frontend.loader import keras_package_dir
from convcalc.report import ModelReport
from convcalc.types import TensorType

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KERAS3 = FIXTURES / "keras3"
FILES = FIXTURES / "files"
MACS = {"VGG16": 15_470_264_320, "ResNet50": 3_857_973_248, "MobileNetV2": 300_774_272,
        "unet": 758_120_448}

APPLICATIONS = {
    "VGG16": "vgg16", "VGG19": "vgg19", "ResNet50": "resnet", "ResNet101": "resnet",
    "ResNet152": "resnet", "ResNet50V2": "resnet_v2", "ResNet101V2": "resnet_v2",
    "ResNet152V2": "resnet_v2", "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2",
    "MobileNetV3Small": "mobilenet_v3", "MobileNetV3Large": "mobilenet_v3",
    "InceptionV3": "inception_v3", "InceptionResNetV2": "inception_resnet_v2",
    "Xception": "xception", "DenseNet121": "densenet", "NASNetMobile": "nasnet",
    "EfficientNetB0": "efficientnet", "EfficientNetV2B0": "efficientnet_v2",
    "ConvNeXtTiny": "convnext",
}
"""One builder per application family (14 families), with its module in keras/src."""


def _shape(t: TensorType | None) -> list[int | None] | None:
    if t is None:
        return None
    return [dims.as_int(d) for d in t.shape]


def compare(model: ModelReport, truth: dict[str, Any]) -> list[str]:
    """Differences between a model read from source and Keras's report of it."""
    problems: list[str] = []
    rows = list(model.rows())
    names = [r.layer.name for r in rows]
    want = [layer["name"] for layer in truth["layers"]]
    if names != want:
        return [f"layers {names} != Keras {want}"]
    for row, layer in zip(rows, truth["layers"], strict=True):
        at = f"{row.layer.name} ({row.layer.class_name})"
        shapes = [[_shape(t) for t in outs] for outs in row.output_types]
        if shapes != layer["output_shapes"]:
            problems.append(f"{at}: output shapes {shapes} != Keras {layer['output_shapes']}")
        for key in ("params", "trainable_params", "non_trainable_params"):
            got = getattr(row.result, key)
            if got != layer[key]:
                problems.append(f"{at}: {key} {got} != Keras {layer[key]}")
    t = model.totals
    for key, got in (("total_params", t.params), ("trainable_params", t.trainable_params),
                     ("non_trainable_params", t.non_trainable_params)):
        if got != truth[key]:
            problems.append(f"{key} {got} != Keras {truth[key]}")
    for key, types in (("input_shapes", model.input_types),
                       ("output_shapes", model.output_types)):
        got_shapes = [_shape(x) for x in types]
        if got_shapes != truth[key]:
            problems.append(f"model {key} {got_shapes} != Keras {truth[key]}")
    if model.name != truth["model_name"]:
        problems.append(f"model name {model.name!r} != Keras {truth['model_name']!r}")
    if not t.complete:
        problems.append("totals are incomplete")
    return problems


def _model_files() -> list[Any]:
    cases = [pytest.param(path, KERAS3 / "truth" / f"{path.stem}.json", id=path.stem)
             for path in sorted((KERAS3 / "models").glob("*.py"))]
    cases += [pytest.param(path, FILES / f"{path.stem}.keras.truth.json", id=path.stem)
              for path in sorted(FILES.glob("*_small.py"))
              if (FILES / f"{path.stem}.keras.truth.json").exists()]
    return cases


@pytest.mark.parametrize(("path", "truth_path"), _model_files())
def test_model_file_matches_keras(path: Path, truth_path: Path) -> None:
    truth = json.loads(truth_path.read_text())
    report = api.analyze(path)
    assert [str(d) for d in report.all_diagnostics()] == []
    (model,) = report.models
    assert compare(model, truth) == []
    if path.stem in MACS:
        assert model.totals.macs == MACS[path.stem]


def test_layers_carry_their_source_lines() -> None:
    path = KERAS3 / "models" / "unet.py"
    model = api.analyze(path).model()
    enc1 = model.layer("enc1_conv1").layer
    assert enc1.span is not None and (enc1.span.line, enc1.span.col) == (7, 8)
    assert enc1.scope == ("build", "conv_block")
    skip6 = model.layer("skip6")
    assert skip6.layer.span is not None and (skip6.layer.span.line, skip6.layer.span.col) == (
        25, 20)
    assert [c.span for c in model.graph.calls_of(skip6.layer)] == [skip6.layer.span]


# ------------------------------------------------------------------ keras.applications
def _application_source(name: str) -> Path:
    root = keras_package_dir()
    if root is None:
        pytest.skip("keras is not installed")
    return root / "src" / "applications" / f"{APPLICATIONS[name]}.py"


def _analyse_application(name: str) -> ModelReport:
    report = api.analyze(_application_source(name), call=f"{name}(weights=None)")
    assert [d for d in report.diagnostics if d.severity.name == "ERROR"] == []
    (model,) = report.models
    return model


@pytest.mark.parametrize("name", sorted(p.stem for p in (KERAS3 / "truth").glob("*.json")
                                        if p.stem in APPLICATIONS))
def test_application_matches_keras_truth(name: str) -> None:
    truth = json.loads((KERAS3 / "truth" / f"{name}.json").read_text())
    model = _analyse_application(name)
    assert compare(model, truth) == []
    if name in MACS:
        assert model.totals.macs == MACS[name]


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_application_matches_real_keras(name: str) -> None:
    import keras
    import numpy as np

    keras.backend.clear_session()
    real = getattr(keras.applications, name)(weights=None)
    model = _analyse_application(name)
    trainable = sum(int(np.prod(w.shape)) for w in real.trainable_weights)
    assert (model.name, model.totals.params, model.totals.trainable_params) == (
        real.name, real.count_params(), trainable)
    assert [r.layer.name for r in model.rows()] == [layer.name for layer in real.layers]
    assert [_shape(t) for t in model.output_types] == [list(o.shape) for o in real.outputs]


def test_application_imported_by_user_code(tmp_path: Path) -> None:
    if keras_package_dir() is None:
        pytest.skip("keras is not installed")
    source = tmp_path / "transfer.py"
    source.write_text(
        "from tensorflow.keras.applications import ResNet50\n"
        "from tensorflow.keras import layers, Model\n"
        "base = ResNet50(weights=None, include_top=False, input_shape=(160, 160, 3))\n"
        "base.trainable = False\n"
        "x = layers.GlobalAveragePooling2D()(base.output)\n"
        "out = layers.Dense(5, activation='softmax')(x)\n"
        "model = Model(base.input, out, name='transfer')\n"
    )
    report = api.analyze(source, model="transfer")
    (model,) = report.models
    assert model.totals.params == 23_587_712 + 2048 * 5 + 5
    assert model.totals.trainable_params == 2048 * 5 + 5
    assert [_shape(t) for t in model.output_types] == [[None, 5]]


def test_resnet50_reads_fast() -> None:
    path = _application_source("ResNet50")
    api.analyze(path, call="ResNet50(weights=None)")  # warm caches (parse, imports)
    start = time.perf_counter()
    api.analyze(path, call="ResNet50(weights=None)")
    elapsed = time.perf_counter() - start
    assert elapsed < (1.0 if not os.environ.get("CI_SLOW") else 3.0), elapsed


def test_applications_with_their_defaults(tmp_path: Path) -> None:
    if keras_package_dir() is None:
        pytest.skip("keras is not installed")
    source = tmp_path / "pretrained.py"
    source.write_text(
        "from tensorflow.keras.applications import ResNet50, MobileNetV2\n"
        "from tensorflow.keras.applications.efficientnet import EfficientNetB0\n"
        "a = ResNet50()\n"  # weights='imagenet': validates the classifier activation
        "b = MobileNetV2(input_shape=(160, 160, 3), include_top=False, pooling='avg')\n"
        "c = EfficientNetB0(include_top=False, weights=None, input_shape=(None, None, 3))\n"
    )
    report = api.analyze(source)
    assert [d for d in report.all_diagnostics() if d.severity.name == "ERROR"] == []
    a, b, c = report.models
    assert (a.name, a.totals.params) == ("resnet50", 25_636_712)
    assert (b.name, b.totals.params) == ("mobilenetv2_1.00_160", 2_257_984)
    assert (c.name, c.totals.params) == ("efficientnetb0", 4_049_571)
    assert [dims.format_dim(d) for d in c.input_types[0].shape] == [  # type: ignore[union-attr]
        "None", "H", "W", "3"]
