"""NumPy forwards of the tensor operations between layers, against real Keras.

Each model is source text: convcalc reads it without running it, and Keras builds the
model from the same file (our own test file; for the ``tf`` / ``keras.backend``
spellings, which Keras 3 cannot run, from the same model spelled with ``keras.ops``).
convcalc then runs its graph with Keras's weights, and every call's outputs (layers and
the hidden operation nodes, which must carry Keras's names) are compared with what
Keras computes for the same inputs: values at rtol 1e-4, and dtypes exactly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from keras_bridge import transfer_weights

from convcalc import api
from convcalc.cli import main
from convcalc.executor import OK, execute
from convcalc.propagate import propagate

Array = np.ndarray[Any, np.dtype[Any]]
RTOL = 1e-4

HEADER = "import keras\nfrom keras import layers, ops\n"

ARITHMETIC = HEADER + """
x = keras.Input((4, 6), name="x")
h = layers.Dense(6, name="proj")(x)
scaled = 2 * h
thirds = h / 3
flipped = 1 - scaled
squared = h ** 2
floored = h // 0.5
wrapped = h % 1.5
centre = ops.mean(h, axis=1, keepdims=True)
shifted = flipped + centre
big = ops.maximum(h, 0.25)
small = ops.minimum(centre, h)
positive = ops.greater(h, 0.0)
inside = ops.logical_and(positive, ops.less(h, 1.0))
kept = ops.where(inside, h, 0.0)
negated = -h
powers = ops.power(2.0, h)
offsets = ops.subtract(h, ops.convert_to_tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
window = h[:, 1:3, None, ::2]
last = h[..., -1]
first = h[:, 0]
above = h > 0.5
below = 0.5 >= h  # Python calls h.__le__(0.5): Keras records less_equal(h, 0.5)
out = layers.Dense(2, name="head")(ops.concatenate([shifted, big], axis=-1))
model = keras.Model(x, [out, thirds, squared, floored, wrapped, small, kept, negated, powers,
                        offsets, window, last, first, above, below], name="arithmetic")
"""

INTEGERS = HEADER + """
ids = keras.Input((5,), dtype="int32", name="ids")
x = keras.Input((5, 3), name="x")
h = layers.Dense(3, name="proj")(x)
halves = ids / 2
doubled = ids * 2
lifted = ids + 0.5
average = ops.mean(ids, axis=-1)
total = ops.sum(ids, axis=-1)
running = ops.cumsum(ids, axis=1)
product = ops.cumprod(ops.minimum(ids, 2), axis=-1)
hot = ops.one_hot(ids, 7)
picked = ops.take(h, ids, axis=1)
gathered = ops.take_along_axis(h, ops.expand_dims(ops.minimum(ids, 4), -1), axis=1)
first = ids[:, 0]
large = ops.greater(ids, 3)
best = ops.argmax(h, axis=-1)
values, indices = ops.top_k(h[:, :, 0], 2)
clipped = ops.clip(ids, 1, 5)
lifted_clip = ops.clip(ids, 0.5, 4)
as_float = ops.cast(ids, "float32")
model = keras.Model([ids, x], [halves, doubled, lifted, average, total, running, product, hot,
                               picked, gathered, first, large, best, values, indices, clipped,
                               lifted_clip, as_float], name="integers")
"""

REDUCTIONS = HEADER + """
x = keras.Input((4, 5), name="x")
h = layers.Dense(5, name="proj")(x)
total = ops.sum(h, axis=(1, 2))
top = ops.max(h, axis=1, keepdims=True)
bottom = ops.min(h, axis=-1)
product = ops.prod(h, axis=1)
spread = ops.std(h, axis=1)
variance = ops.var(h, axis=-1, keepdims=True)
soft_max = ops.logsumexp(h, axis=-1)
everything = ops.mean(h)
lowest = ops.argmin(h, axis=1)
flat_best = ops.argmax(h)
any_big = ops.any(ops.greater(h, 1.0), axis=-1)
all_small = ops.all(ops.less(h, 2.0), axis=1)
running = ops.cumsum(h, axis=1)
flat_running = ops.cumprod(h)
model = keras.Model(x, [total, top, bottom, product, spread, variance, soft_max, everything,
                        lowest, flat_best, any_big, all_small, running, flat_running],
                    name="reductions")
"""

SHAPES = HEADER + """
x = keras.Input((4, 6), name="x")
h = layers.Dense(6, name="proj")(x)
flat = ops.reshape(h, (-1, 24))
folded = ops.reshape(h, (-1, 6, 4))
swapped = ops.transpose(h, (0, 2, 1))
wide = ops.expand_dims(h, 2)
narrow = ops.squeeze(wide, axis=2)
stacked = ops.stack([h, narrow], axis=1)
halves = ops.split(h, 2, axis=-1)
pieces = ops.split(h, [1, 3], axis=1)
tiled = ops.tile(h, (1, 2, 1))
repeated = ops.repeat(h, 2, axis=1)
padded = ops.pad(h, ((0, 0), (1, 2), (0, 1)), constant_values=0.5)
mirrored = ops.pad(h, ((0, 0), (2, 1), (1, 1)), mode="reflect")
edged = ops.pad(h, ((0, 0), (1, 1), (0, 0)), mode="symmetric")
spread = ops.broadcast_to(ops.mean(h, axis=1, keepdims=True), (3, 3, 6))
joined = ops.concatenate([halves[0], pieces[2][:, :, :3]], axis=1)
model = keras.Model(x, [flat, folded, swapped, stacked, halves[1], pieces[0], pieces[1], joined,
                        tiled, repeated, padded, mirrored, edged, spread], name="shapes")
"""

PRODUCTS = HEADER + """
x = keras.Input((4, 6), name="x")
h = layers.Dense(6, name="proj")(x)
scores = ops.matmul(h, ops.transpose(h, (0, 2, 1)))
attention = ops.einsum("bij,bjk->bik", ops.softmax(scores, axis=-1), h)
projected = h @ ops.ones((6, 2))
mixed = ops.matmul(h, ops.convert_to_tensor([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0],
                                               [1.0, 1.0], [0.25, 0.5], [-1.0, 0.0]]))
weighted = ops.einsum("btd,de->bte", h, ops.full((6, 3), 0.5))
positions = h + ops.cast(ops.arange(6), "float32")
ramp = ops.multiply(ops.arange(1, 7), h)
filled = ops.zeros_like(h) + ops.ones_like(h) * ops.full_like(h, 2.5)
model = keras.Model(x, [attention, projected, mixed, weighted, positions, ramp, filled],
                    name="products")
"""

ACTIVATIONS = HEADER + """
x = keras.Input((3, 8), name="x")
h = layers.Dense(8, name="proj")(x)
outs = [
    ops.relu(h), ops.relu6(h * 4), ops.sigmoid(h), ops.tanh(h), ops.gelu(h),
    keras.activations.gelu(h), ops.leaky_relu(h, negative_slope=0.1), ops.elu(h), ops.selu(h),
    ops.softplus(h), ops.softsign(h), ops.silu(h), ops.hard_sigmoid(h), ops.hard_silu(h),
    ops.exp(h), ops.log(ops.square(h) + 1), ops.sqrt(ops.abs(h)), ops.erf(h), ops.sign(h),
    ops.floor(h * 3), ops.ceil(h * 3), ops.round(h * 3), ops.rsqrt(ops.square(h) + 1),
    ops.reciprocal(h + 10), ops.sin(h), ops.cos(h), ops.log1p(ops.abs(h)), ops.expm1(h),
    ops.softmax(h), ops.log_softmax(h, axis=1), keras.activations.leaky_relu(h),
    keras.activations.relu(h, max_value=0.5),  # a ReLU operation: node re_lu
]
model = keras.Model(x, outs, name="activations")
"""

IMAGES = HEADER + """
x = keras.Input((8, 8, 3), name="x")
h = layers.Conv2D(3, 1, name="mix")(x)
tiles = ops.image.extract_patches(h, 4)
windows = ops.image.extract_patches(h, (3, 2), strides=(2, 3), padding="same")
grown = ops.image.resize(h, (5, 12))
blocky = ops.image.resize(h, (16, 16), interpolation="nearest")
shrunk = ops.image.resize(h, (3, 3), antialias=True)
cropped = ops.image.resize(h, (4, 8), crop_to_aspect_ratio=True)
model = keras.Model(x, [tiles, windows, grown, blocky, shrunk, cropped], name="images")
"""

TF_SPELLED = """
import keras
import tensorflow as tf
from keras import backend as K, layers

x = keras.Input((4, 6), name="x")
h = layers.Dense(6, name="proj")(x)
joined = K.concatenate([h, h * 2.0])
average = tf.reduce_mean(h, axis=1)
parts = tf.split(h, [2, 4], axis=-1)
columns = tf.gather(h, [0, 2], axis=1)
leaky = tf.nn.leaky_relu(h, alpha=0.1)
swapped = K.permute_dimensions(h, (0, 2, 1))
clipped = tf.clip_by_value(h, -0.5, 0.5)
best = K.argmax(h)
rows = tf.concat([h, h], axis=1)
repeated = K.repeat_elements(h, 2, axis=1)
total = K.sum(h, axis=-1, keepdims=True)
model = keras.Model(x, [joined, average, parts[0], parts[1], columns, leaky, swapped, clipped,
                        best, rows, repeated, total], name="spellings")
"""

KERAS_SPELLED = HEADER + """
x = keras.Input((4, 6), name="x")
h = layers.Dense(6, name="proj")(x)
joined = ops.concatenate([h, h * 2.0], axis=-1)
average = ops.mean(h, axis=1)
parts = ops.split(h, [2], axis=-1)
columns = ops.take(h, [0, 2], axis=1)
leaky = ops.leaky_relu(h, negative_slope=0.1)
swapped = ops.transpose(h, (0, 2, 1))
clipped = ops.clip(h, -0.5, 0.5)
best = ops.argmax(h, axis=-1)
rows = ops.concatenate([h, h], axis=1)
repeated = ops.repeat(h, 2, axis=1)
total = ops.sum(h, axis=-1, keepdims=True)
model = keras.Model(x, [joined, average, parts[0], parts[1], columns, leaky, swapped, clipped,
                        best, rows, repeated, total], name="spellings")
"""

REORDERING = HEADER + """
x = keras.Input((4, 6), name="x")
h = layers.Dense(6, name="proj")(x)
flipped = ops.flip(h, axis=1)
mirrored = ops.flip(h)
rolled = ops.roll(h, 2, axis=-1)
wrapped = ops.roll(h, -3)
ordered = ops.sort(h)
columns = ops.sort(h, axis=1)
flat = ops.sort(h, axis=None)
lower = ops.tril(h)
upper = ops.triu(h, 1)
model = keras.Model(x, [flipped, mirrored, rolled, wrapped, ordered, columns, flat, lower, upper],
                    name="reordering")
"""

CASES = {
    "arithmetic": (ARITHMETIC, None), "integers": (INTEGERS, None),
    "reductions": (REDUCTIONS, None), "shapes": (SHAPES, None), "products": (PRODUCTS, None),
    "activations": (ACTIVATIONS, None), "images": (IMAGES, None),
    "reordering": (REORDERING, None),
    "tf_and_backend_spellings": (TF_SPELLED, KERAS_SPELLED),
}


def keras_model(path: Path) -> Any:
    """The ``model`` a source file builds, with real Keras."""
    import keras

    keras.backend.clear_session()
    spec = importlib.util.spec_from_file_location(f"ops_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.model


def sample_inputs(model: Any, seed: int = 0) -> list[Array]:
    """Batch-3 inputs: normal floats, and ints in [0, 9) (some out of range on purpose:
    a one_hot row of zeros, a gathered NaN)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = (3, *t.shape[1:])
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 9, shape).astype("int32"))
        else:
            out.append(rng.standard_normal(shape).astype("float32"))
    return out


def keras_outputs(model: Any, inputs: list[Array]) -> dict[str, list[Array]]:
    """Every operation's outputs (layers and hidden ones alike), by operation name."""
    import keras

    names, groups = [], []
    for op in model.operations:
        if isinstance(op, keras.layers.InputLayer):
            continue
        (node,) = op._inbound_nodes
        names.append(op.name)
        groups.append(list(node.output_tensors))
    probe = keras.Model(model.inputs, [t for g in groups for t in g])
    values = probe(inputs, training=False)
    arrays = iter(np.asarray(keras.ops.convert_to_numpy(v)) for v in values)
    return {name: [next(arrays) for _ in group] for name, group in zip(names, groups,
                                                                       strict=True)}


def assert_same(got: Array, want: Array, where: str) -> None:
    """Equal dtype and shape; values within rtol 1e-4 (an absolute floor of 1e-4 times
    the RMS of Keras's finite values), NaN where Keras has NaN; ints and bools exact."""
    assert (got.dtype, got.shape) == (want.dtype, want.shape), (
        f"{where}: {got.dtype}{got.shape} != Keras {want.dtype}{want.shape}")
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=where)
        return
    finite = want[np.isfinite(want)].astype(np.float64)
    scale = float(np.sqrt(np.mean(np.square(finite)))) if finite.size else 0.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale + 1e-30,
                               err_msg=where)


def assert_runs_match_keras(loaded: Any, model: Any) -> None:
    """convcalc's run of the one model read, with Keras's weights, against Keras's
    outputs of every operation; the hidden nodes must carry Keras's names."""
    assert [str(d) for d in loaded.diagnostics] == []
    (graph,) = loaded.models
    analysis = propagate(graph)
    assert [str(d) for d in analysis.diagnostics] == []
    inputs = sample_inputs(model)
    result = execute(graph, inputs, transfer_weights(model, graph), analysis=analysis,
                     keep=True)
    runs = {run.call.layer.name: run for run in result.calls if run.call.inputs}
    want = keras_outputs(model, inputs)
    assert sorted(runs) == sorted(want)
    for name, expected in want.items():
        run = runs[name]
        assert run.status == OK, f"{name}: {run.status} {run.error}"
        assert run.outputs is not None and len(run.outputs) == len(expected), name
        for got, w in zip(run.outputs, expected, strict=True):
            assert_same(np.asarray(got), w, f"{name} ({run.call.layer.class_name})")
        static = [t.dtype for t in run.static if t is not None]
        assert static == [str(w.dtype) for w in expected], f"{name}: static dtypes"


def _keras_file(tmp_path: Path, case: str) -> Path:
    source, keras_source = CASES[case]
    path = tmp_path / "keras_model.py"
    path.write_text(keras_source or source)
    return path


@pytest.mark.oracle
@pytest.mark.parametrize("case", list(CASES))
def test_every_operation_matches_keras(tmp_path: Path, case: str) -> None:
    """Read from source (the tf / keras.backend spelling where there is one)."""
    ours = tmp_path / "model.py"
    ours.write_text(CASES[case][0])
    model = keras_model(_keras_file(tmp_path, case))
    _, loaded = api.load(ours)
    assert_runs_match_keras(loaded, model)


@pytest.mark.oracle
@pytest.mark.parametrize("case", list(CASES))
def test_serialized_operations_match_keras(tmp_path: Path, case: str) -> None:
    """Read from Keras's own ``to_json()``, which writes the operations like layers."""
    from convcalc.frontend.config import load_config_text

    model = keras_model(_keras_file(tmp_path, case))
    assert_runs_match_keras(load_config_text(model.to_json(), "model.json"), model)


def test_scalar_operands_are_kept_in_order(tmp_path: Path) -> None:
    """``1 - x`` and ``x - 1`` differ: the number is recorded at its position."""
    source = HEADER + (
        "x = keras.Input((3,), name='x')\n"
        "model = keras.Model(x, [1 - x, x - 1, x / 4, 4 / (x + 10)])\n")
    path = tmp_path / "model.py"
    path.write_text(source)
    _, loaded = api.load(path)
    (graph,) = loaded.models
    xs = np.array([[1.0, 2.0, 4.0]], "float32")
    result = execute(graph, [xs], {})
    got = [np.asarray(o) for o in result.outputs]
    expected = [1 - xs, xs - 1, xs / 4, 4 / (xs + 10)]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6)


def test_check_runs_every_operation(tmp_path: Path) -> None:
    """``convcalc check`` on a model with operations between layers: no CC302."""
    path = tmp_path / "model.py"
    path.write_text(ARITHMETIC)
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "CC302" not in result.output
    assert "every executed shape matches the static shape" in result.output


def test_unknown_constant_values_are_reported_not_guessed(tmp_path: Path) -> None:
    """A random constant's values are unknown: the call has no forward, and says why."""
    path = tmp_path / "model.py"
    path.write_text(HEADER + (
        "x = keras.Input((3,), name='x')\n"
        "model = keras.Model(x, x + keras.random.normal((3,)))\n"))
    _, loaded = api.load(path)
    (graph,) = loaded.models
    result = execute(graph, [np.zeros((1, 3), "float32")], {})
    (run,) = [r for r in result.calls if r.call.inputs]
    assert run.status == "no-forward"
    assert "normal" in run.error and "not known" in run.error


def test_unreadable_serialized_operation_is_a_diagnostic() -> None:
    """An operation whose arguments make no sense is reported on its layer (CC007), an
    unknown operation class is CC003; reading carries on."""
    import json

    from convcalc.frontend.config import load_config_text

    doc = {"class_name": "Functional", "config": {
        "name": "m", "input_layers": [["x", 0, 0]], "output_layers": [["odd", 0, 0]],
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "name": "x",
             "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "x"},
             "inbound_nodes": []},
            {"module": "keras.src.ops.numpy", "class_name": "Mean", "name": "mean",
             "config": {"name": "mean", "axis": "sideways", "keepdims": False},
             "inbound_nodes": [{"args": [_tensor("x")], "kwargs": {}}]},
            {"module": "keras.src.ops.numpy", "class_name": "Frobnicate", "name": "odd",
             "config": {"name": "odd"},
             "inbound_nodes": [{"args": [_tensor("x")], "kwargs": {}}]},
        ]}}
    loaded = load_config_text(json.dumps(doc), "m.json")
    found = sorted((d.code, d.layer) for d in loaded.diagnostics)
    assert found == [("CC003", "odd"), ("CC007", "mean")]


def _tensor(layer: str) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, 4], "dtype": "float32", "keras_history": [layer, 0, 0]}}
