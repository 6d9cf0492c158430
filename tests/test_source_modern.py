"""Modern Keras code read from source against real Keras building the same file.

Each sample of ``samples/modern`` (subclassed layers whose ``call`` uses ``keras.ops``,
a ``train_step``-only ``Model`` subclass) is run with real Keras here, in the test (it is
our own file); convcalc reads the same file without running it. Every model the file
builds must match: layer names, the output shapes of every call, the params of every
top-level layer and the totals.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from test_source_fixtures import compare

from convcalc import api

MODERN = Path(__file__).resolve().parent.parent / "samples" / "modern"
SAMPLES = sorted(MODERN.glob("*.py"))


def _shape(shape: tuple[Any, ...]) -> list[int | None]:
    return [None if d is None else int(d) for d in shape]


def keras_truth(model: Any) -> dict[str, Any]:
    """What Keras reports of a built model, in the form ``compare`` reads."""
    import numpy as np

    def count(ws: list[Any]) -> int:
        return sum(int(np.prod(w.shape)) for w in ws)

    layers = []
    for layer in model.layers:
        layers.append({
            "name": layer.name,
            "output_shapes": [[_shape(t.shape) for t in node.output_tensors]
                              for node in layer._inbound_nodes],
            "params": layer.count_params(),
            "trainable_params": count(layer.trainable_weights),
            "non_trainable_params": count(layer.non_trainable_weights),
        })
    return {
        "model_name": model.name,
        "layers": layers,
        "total_params": model.count_params(),
        "trainable_params": count(model.trainable_weights),
        "non_trainable_params": count(model.non_trainable_weights),
        "input_shapes": [_shape(t.shape) for t in model.inputs],
        "output_shapes": [_shape(t.shape) for t in model.outputs],
    }


def keras_models(path: Path) -> dict[str, Any]:
    """The built models a sample file leaves in its globals, run with real Keras."""
    import keras

    keras.backend.clear_session()
    spec = importlib.util.spec_from_file_location(f"modern_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # a Model subclass that only wraps others (the VAE) is never built: not a model
    return {v.name: v for v in vars(module).values() if isinstance(v, keras.Model) and v.built}


def test_samples_exist() -> None:
    assert [p.stem for p in SAMPLES] == [
        "convnext_block", "squeeze_excite", "text_classifier", "vae", "vit"]


@pytest.mark.oracle
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_modern_sample_matches_keras(path: Path) -> None:
    real = keras_models(path)
    report = api.analyze(path)
    problems = [f"{d.code} {d.message}" for d in report.all_diagnostics()
                if d.severity.name in ("ERROR", "WARNING")]
    assert problems == []
    assert sorted(m.name for m in report.models) == sorted(real)
    for model in report.models:
        assert compare(model, keras_truth(real[model.name])) == [], model.name


@pytest.mark.oracle
@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sublayers_of_custom_layers_match_keras(path: Path) -> None:
    """The expanded report nests under each custom layer the layers its ``call`` uses,
    with the params Keras gives the layers that custom layer tracks."""
    import keras

    real = keras_models(path)
    for model in api.analyze(path).models:
        rows = list(model.rows(expand_nested=True))
        for i, row in enumerate(rows):
            theirs = real[model.name].get_layer(row.layer.name) if row.depth == 0 else None
            if theirs is None or isinstance(theirs, keras.Model) or type(theirs).__module__ \
                    .startswith("keras."):
                continue
            subs = {s.name: s.count_params()
                    for s in theirs._flatten_layers(include_self=False, recursive=False)}
            ours: dict[str, Any] = {}
            for r in rows[i + 1:]:
                if r.depth == 0:
                    break
                if r.depth == 1:
                    ours[r.layer.name] = r.result.params
            assert ours == subs, row.layer.name


BACKBONE = """
import keras
from keras import layers

base = keras.applications.EfficientNetB0(
    include_top=False, weights="{weights}", input_shape=(96, 96, 3))
base.trainable = False
inputs = keras.Input(shape=(96, 96, 3))
x = base(inputs, training=False)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.2)(x)
outputs = layers.Dense(5, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="transfer")
"""


@pytest.mark.oracle
def test_pretrained_backbone_inside_a_model(tmp_path: Path) -> None:
    """A ``keras.applications`` backbone with ``weights='imagenet'`` as a layer: read from
    the installed package's source (nothing downloaded); Keras builds it without weights."""
    import keras

    keras.backend.clear_session()
    namespace: dict[str, Any] = {}
    exec(BACKBONE.format(weights="None").replace('"None"', "None"), namespace)
    source = tmp_path / "transfer.py"
    source.write_text(BACKBONE.format(weights="imagenet"))
    report = api.analyze(source, model="transfer")
    (model,) = report.models
    assert compare(model, keras_truth(namespace["model"])) == []
