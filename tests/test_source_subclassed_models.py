"""Subclassed ``keras.Model``s read from source against real Keras running the same text.

A subclass with its own ``call`` is a model once built: by ``build(shape)``, by a call on
``keras.Input`` tensors, or by a call (``predict``, ``fit``...) on data. Keras names it
after its class and lists the layers its attributes track; convcalc reads the same text
without running it. Used as a layer of another model, it is one layer of that model; a
subclass passing ``inputs`` / ``outputs`` to ``super().__init__`` is a Functional.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_source_fixtures import compare
from test_source_modern import keras_truth

from convcalc import api
from convcalc.report import ModelReport

pytestmark = pytest.mark.oracle

CLASSIFIER = """
import keras
from keras import layers, ops


class Classifier(keras.Model):
    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(8, 3, activation="relu")
        self.pool = layers.GlobalAveragePooling2D()
        self.out = layers.Dense(num_classes)

    def call(self, x):
        return self.out(self.pool(self.conv(x)))

"""

BUILDS = {
    "build": "model = Classifier()\nmodel.build((None, 32, 32, 3))\n",
    "call_on_input": "model = Classifier(name='clf')\nmodel(keras.Input((32, 32, 3)))\n",
    "call_on_data": "model = Classifier()\nmodel(ops.zeros((2, 32, 32, 3)))\n",
    "predict": "model = Classifier(5)\n"
               "model.predict(keras.random.normal((4, 32, 32, 3)), verbose=0)\n",
    "fit": "model = Classifier(5)\nmodel.compile(optimizer='adam', loss='mse')\n"
           "model.fit(ops.zeros((4, 32, 32, 3)), ops.zeros((4, 5)), epochs=1, verbose=0)\n",
}


def run_keras(source: str) -> dict[str, Any]:
    """Run our own test source with real Keras; its globals."""
    import keras

    keras.backend.clear_session()
    namespace: dict[str, Any] = {}
    exec(compile(source, "<test source>", "exec"), namespace)
    return namespace


def subclassed_truth(model: Any, input_shape: tuple[int | None, ...]) -> dict[str, Any]:
    """Keras's layers (tracking order), params and totals of a built subclassed model,
    and its output shape from a call on an input of that shape."""
    import keras

    if any(not layer.built for layer in model.layers):
        # Keras 3's build() does not run call(): the first call builds the layers
        model(keras.Input(input_shape[1:], batch_size=input_shape[0]))
    out = model.compute_output_spec(keras.KerasTensor((None, *input_shape[1:])))
    return {
        "model_name": model.name,
        "layers": [(layer.name, layer.count_params()) for layer in model.layers],
        "total_params": model.count_params(),
        "output_shape": [None if d is None else int(d) for d in out.shape],
    }


def ours(model: ModelReport) -> dict[str, Any]:
    (out,) = model.output_types
    assert out is not None
    return {
        "model_name": model.name,
        "layers": [(row.layer.name, row.result.params) for row in model.rows()],
        "total_params": model.totals.params,
        "output_shape": [None if i == 0 else d for i, d in enumerate(out.shape)],
    }


@pytest.mark.parametrize("how", sorted(BUILDS))
def test_a_built_subclassed_model_is_a_model(tmp_path: Path, how: str) -> None:
    source = CLASSIFIER + BUILDS[how]
    if how == "build":  # Keras 3 warns that build() leaves the layers unbuilt
        with pytest.warns(UserWarning, match="does not have a `build\\(\\)` method"):
            real = run_keras(source)["model"]
    else:
        real = run_keras(source)["model"]
    path = tmp_path / "classifier.py"
    path.write_text(source)
    report = api.analyze(path)
    assert [str(d) for d in report.all_diagnostics()] == []
    (model,) = report.models
    assert model.graph.kind == "Classifier"
    assert ours(model) == subclassed_truth(real, (None, 32, 32, 3))
    assert [t.shape[1:] if t else None for t in model.input_types] == [(32, 32, 3)]


def test_an_unbuilt_subclassed_model_is_not_a_model() -> None:
    report = api.analyze(CLASSIFIER + "model = Classifier()\nmodel.compile(loss='mse')\n")
    assert report.models == []


def test_data_of_unknown_shape_does_not_build_it() -> None:
    report = api.analyze(CLASSIFIER + "import numpy as np\nmodel = Classifier()\n"
                         "model(np.load('images.npy'))\n")
    assert report.models == []
    assert [d.code for d in report.all_diagnostics()] == ["CC008", "CC011"]
    assert "Classifier is called on data of unknown shape" in str(report.all_diagnostics()[0])


TRACKING = """
import keras
from keras import layers, ops


class Scale(layers.Layer):
    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.gamma


class Tower(keras.Model):
    \"\"\"Layers assigned in another order than called, a list of blocks, a custom layer,
    tensor operations and two inputs.\"\"\"

    def __init__(self, width=16, depth=2, **kwargs):
        super().__init__(**kwargs)
        self.head = layers.Dense(3, name="head")
        self.blocks = [layers.Dense(width, activation="relu") for _ in range(depth)]
        self.scale = Scale()
        self.merge = layers.Concatenate()

    def build(self, input_shape):
        self.norm = layers.LayerNormalization()

    def call(self, inputs):
        a, b = inputs
        x = self.merge([a, ops.mean(b, axis=1)])
        for block in self.blocks:
            x = block(x)
        x = self.norm(self.scale(x)) + ops.ones_like(x)
        return self.head(x)


tower = Tower(name="tower")
y = tower([keras.Input((6,)), keras.Input((4, 5))])
z = keras.ops.sum(y)
after = layers.Dense(2)
"""


def test_layers_are_listed_in_keras_tracking_order(tmp_path: Path) -> None:
    real = run_keras(TRACKING)
    path = tmp_path / "tower.py"
    path.write_text(TRACKING)
    report = api.analyze(path)
    assert [str(d) for d in report.all_diagnostics()] == []
    (model,) = report.models
    tower = real["tower"]
    assert [(row.layer.name, row.result.params) for row in model.rows()] == [
        (layer.name, layer.count_params()) for layer in tower.layers]
    assert model.totals.params == tower.count_params()
    assert [tuple(t.shape[1:]) for t in model.output_types if t] == [tuple(real["y"].shape[1:])]
    # the operations of the call take no names from Keras's counters
    assert real["z"]._keras_history[0].name == "sum"
    assert real["after"].name == "dense_2"
    names = {c.layer.name for c in model.graph.calls}
    assert "dense_2" not in names


NESTED = CLASSIFIER + """
inputs = keras.Input((32, 32, 3))
features = Classifier(16, name="backbone")(inputs)
outputs = layers.Dense(2, activation="softmax")(features)
model = keras.Model(inputs, outputs, name="outer")
"""

IN_SEQUENTIAL = CLASSIFIER + """
model = keras.Sequential([keras.Input((32, 32, 3)), Classifier(4), layers.Softmax()],
                         name="stack")
"""

FUNCTIONAL = """
import keras
from keras import layers


class Mlp(keras.Model):
    def __init__(self, units=10, **kwargs):
        inputs = keras.Input((16,))
        x = layers.Dense(32, activation="relu")(inputs)
        outputs = layers.Dense(units)(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.units = units

    def describe(self):
        return f"mlp of {self.units}"


mlp = Mlp(4)
assert mlp.describe() == "mlp of 4"
assert len(mlp.layers) == 3
image = keras.Input((16,))
model = keras.Model(image, layers.Dense(1)(Mlp(name="inner")(image)), name="outer")
"""


@pytest.mark.parametrize("source", [NESTED, IN_SEQUENTIAL, FUNCTIONAL],
                         ids=["functional_of_subclassed", "sequential_of_subclassed",
                              "functional_subclass"])
def test_models_built_around_subclassed_models_match_keras(tmp_path: Path,
                                                           source: str) -> None:
    import keras

    real = run_keras(source)
    path = tmp_path / "models.py"
    path.write_text(source)
    report = api.analyze(path)
    assert [str(d) for d in report.all_diagnostics()] == []
    models = [v for v in real.values() if isinstance(v, keras.Model) and v.built]
    inner = {id(layer) for m in models for layer in m.layers}
    built = {m.name: m for m in models if id(m) not in inner}
    assert sorted(m.name for m in report.models) == sorted(built)
    for model in report.models:
        assert compare(model, keras_truth(built[model.name])) == [], model.name


def test_a_functional_subclass_is_named_and_typed_after_its_class() -> None:
    report = api.analyze(FUNCTIONAL)
    mlp = report.model("mlp")
    assert mlp.graph.kind == "Mlp"
    outer = report.model("outer")
    assert outer.layer("inner").layer.class_name == "Mlp"
