"""Shape rules of tensor operations (``convcalc.ops``) against ``keras.ops`` run on
concrete arrays, and the same operations spelled in model source (``keras.ops``, ``tf``,
``keras.backend``) read by the source frontend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from convcalc import api, dims, ops
from convcalc.layers.base import ShapeError

Rule = Callable[[Any], Any]
Shapes = list[tuple[int, ...]]
Real = Callable[..., Any]

CASES: list[tuple[str, Shapes, Rule, Real]] = [
    ("reshape", [(2, 3, 4)], lambda s: ops.reshape(s[0], (6, -1)),
     lambda k, x: k.ops.reshape(x, (6, -1))),
    ("reshape_full", [(2, 3, 4)], lambda s: ops.reshape(s[0], (4, 3, 2)),
     lambda k, x: k.ops.reshape(x, (4, 3, 2))),
    ("transpose", [(2, 3, 4)], lambda s: ops.transpose(s[0], (2, 0, 1)),
     lambda k, x: k.ops.transpose(x, (2, 0, 1))),
    ("transpose_default", [(2, 3, 4)], lambda s: ops.transpose(s[0]),
     lambda k, x: k.ops.transpose(x)),
    ("expand_dims", [(2, 3)], lambda s: ops.expand_dims(s[0], -1),
     lambda k, x: k.ops.expand_dims(x, -1)),
    ("expand_dims_many", [(2, 3)], lambda s: ops.expand_dims(s[0], (0, 2)),
     lambda k, x: k.ops.expand_dims(x, (0, 2))),
    ("squeeze", [(2, 1, 3, 1)], lambda s: ops.squeeze(s[0]),
     lambda k, x: k.ops.squeeze(x)),
    ("squeeze_axis", [(2, 1, 3, 1)], lambda s: ops.squeeze(s[0], 1),
     lambda k, x: k.ops.squeeze(x, 1)),
    ("concatenate", [(2, 3, 4), (2, 5, 4)], lambda s: ops.concatenate(s, 1),
     lambda k, a, b: k.ops.concatenate([a, b], axis=1)),
    ("stack", [(2, 3), (2, 3), (2, 3)], lambda s: ops.stack(s, -1),
     lambda k, a, b, c: k.ops.stack([a, b, c], axis=-1)),
    ("split_sections", [(6, 4)], lambda s: ops.split(s[0], 3, 0),
     lambda k, x: k.ops.split(x, 3, axis=0)),
    ("split_indices", [(2, 10)], lambda s: ops.split(s[0], (3, 7), 1),
     lambda k, x: k.ops.split(x, [3, 7], axis=1)),
    ("matmul", [(2, 3, 4), (4, 5)], lambda s: ops.matmul(*s),
     lambda k, a, b: k.ops.matmul(a, b)),
    ("matmul_batch_broadcast", [(2, 1, 3, 4), (5, 4, 6)], lambda s: ops.matmul(*s),
     lambda k, a, b: k.ops.matmul(a, b)),
    ("matmul_vector", [(4,), (3, 4, 5)], lambda s: ops.matmul(*s),
     lambda k, a, b: k.ops.matmul(a, b)),
    ("matmul_vector_right", [(3, 4), (4,)], lambda s: ops.matmul(*s),
     lambda k, a, b: k.ops.matmul(a, b)),
    ("einsum_attention", [(2, 5, 4, 8), (2, 7, 4, 8)],
     lambda s: ops.einsum("bqhd,bkhd->bhqk", s),
     lambda k, a, b: k.ops.einsum("bqhd,bkhd->bhqk", a, b)),
    ("einsum_implicit", [(3, 4), (4, 5)], lambda s: ops.einsum("ij,jk", s),
     lambda k, a, b: k.ops.einsum("ij,jk", a, b)),
    ("einsum_ellipsis", [(2, 3, 4), (4, 6)], lambda s: ops.einsum("...i,ij->...j", s),
     lambda k, a, b: k.ops.einsum("...i,ij->...j", a, b)),
    ("mean_axes_keepdims", [(2, 5, 6, 3)], lambda s: ops.reduce(s[0], (1, 2), True),
     lambda k, x: k.ops.mean(x, axis=(1, 2), keepdims=True)),
    ("sum_all", [(2, 5, 6)], lambda s: ops.reduce(s[0]), lambda k, x: k.ops.sum(x)),
    ("max_last", [(2, 5, 6)], lambda s: ops.reduce(s[0], -1),
     lambda k, x: k.ops.max(x, axis=-1)),
    ("add_broadcast", [(2, 1, 4), (3, 1)], lambda s: ops.broadcast_shapes(*s),
     lambda k, a, b: k.ops.add(a, b)),
    ("where", [(2, 1), (1, 3), (2, 3)], lambda s: ops.broadcast_shapes(*s),
     lambda k, c, a, b: k.ops.where(c > 0, a, b)),
    ("extract_patches", [(2, 8, 8, 3)], lambda s: ops.extract_patches(s[0], 4, None),
     lambda k, x: k.ops.image.extract_patches(x, 4)),
    ("extract_patches_strided_same", [(1, 9, 7, 2)],
     lambda s: ops.extract_patches(s[0], (3, 2), (2, 2), "same"),
     lambda k, x: k.ops.image.extract_patches(x, (3, 2), strides=(2, 2), padding="same")),
    ("resize", [(2, 8, 6, 3)], lambda s: ops.resize(s[0], (16, 4)),
     lambda k, x: k.ops.image.resize(x, (16, 4))),
    ("pad", [(2, 3, 4)], lambda s: ops.pad(s[0], ((0, 0), (1, 2), (3, 0))),
     lambda k, x: k.ops.pad(x, ((0, 0), (1, 2), (3, 0)))),
    ("tile", [(2, 3)], lambda s: ops.tile(s[0], (2, 1, 3)),
     lambda k, x: k.ops.tile(x, (2, 1, 3))),
    ("repeat_axis", [(2, 3)], lambda s: ops.repeat(s[0], 4, 1),
     lambda k, x: k.ops.repeat(x, 4, axis=1)),
    ("repeat_flat", [(2, 3)], lambda s: ops.repeat(s[0], 2),
     lambda k, x: k.ops.repeat(x, 2)),
    ("one_hot", [(2, 5)], lambda s: ops.one_hot(s[0], 7),
     lambda k, x: k.ops.one_hot(k.ops.cast(x, "int32"), 7)),
    ("one_hot_axis", [(2, 5)], lambda s: ops.one_hot(s[0], 7, 1),
     lambda k, x: k.ops.one_hot(k.ops.cast(x, "int32"), 7, axis=1)),
    ("top_k", [(2, 9)], lambda s: ops.top_k(s[0], 3), lambda k, x: k.ops.top_k(x, 3)),
    ("take_axis", [(5, 6), (2, 3)], lambda s: ops.take(s[0], s[1], 1),
     lambda k, x, i: k.ops.take(x, k.ops.cast(i * 0, "int32"), axis=1)),
    ("take_flat", [(5, 6), (4,)], lambda s: ops.take(s[0], s[1]),
     lambda k, x, i: k.ops.take(x, k.ops.cast(i * 0, "int32"))),
    ("cumsum_flat", [(2, 3)], lambda s: ops.cumulative(s[0]), lambda k, x: k.ops.cumsum(x)),
    ("cumsum_axis", [(2, 3)], lambda s: ops.cumulative(s[0], 1),
     lambda k, x: k.ops.cumsum(x, axis=1)),
    ("broadcast_to", [(3, 1)], lambda s: ops.broadcast_to(s[0], (2, 3, 4)),
     lambda k, x: k.ops.broadcast_to(x, (2, 3, 4))),
]


def _shapes(out: Any) -> list[tuple[int, ...]]:
    if isinstance(out, (list, tuple)) and out and not isinstance(out[0], int):
        return [tuple(int(d) for d in s) for s in out]
    return [tuple(int(d) for d in out)]


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "shapes", "rule", "real"), CASES, ids=[c[0] for c in CASES])
def test_op_shape_matches_keras(name: str, shapes: Shapes, rule: Rule, real: Real) -> None:
    import keras

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype("float32") for s in shapes]
    got = _shapes(rule(shapes))
    out = real(keras, *arrays)
    want = [tuple(o.shape) for o in out] if isinstance(out, (list, tuple)) else [
        tuple(out.shape)]
    assert got == want


REJECTED: list[tuple[str, Shapes, Rule, Real]] = [
    ("concatenate", [(2, 3, 4), (2, 5, 5)], lambda s: ops.concatenate(s, 1),
     lambda k, a, b: k.ops.concatenate([a, b], axis=1)),
    ("matmul", [(2, 3), (4, 5)], lambda s: ops.matmul(*s), lambda k, a, b: k.ops.matmul(a, b)),
    ("broadcast", [(2, 3), (4, 3)], lambda s: ops.broadcast_shapes(*s),
     lambda k, a, b: k.ops.add(a, b)),
    ("reshape", [(2, 3, 4)], lambda s: ops.reshape(s[0], (5, -1)),
     lambda k, x: k.ops.reshape(x, (5, -1))),
    ("squeeze", [(2, 3)], lambda s: ops.squeeze(s[0], 0), lambda k, x: k.ops.squeeze(x, 0)),
    ("split", [(6, 2)], lambda s: ops.split(s[0], 4, 0), lambda k, x: k.ops.split(x, 4, axis=0)),
    ("einsum", [(2, 3), (4, 5)], lambda s: ops.einsum("ij,jk->ik", s),
     lambda k, a, b: k.ops.einsum("ij,jk->ik", a, b)),
    ("top_k", [(2, 9)], lambda s: ops.top_k(s[0], 10), lambda k, x: k.ops.top_k(x, 10)),
]


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "shapes", "rule", "real"), REJECTED,
                         ids=[c[0] for c in REJECTED])
def test_op_rejects_what_keras_rejects(name: str, shapes: Shapes, rule: Rule,
                                       real: Real) -> None:
    import keras

    with pytest.raises(ShapeError):
        rule(shapes)
    arrays = [np.zeros(s, "float32") for s in shapes]
    with pytest.raises(Exception):  # noqa: B017  the error type is the backend's
        real(keras, *arrays)


def test_symbolic_dims_stay_exact() -> None:
    h, w = dims.Sym("H"), dims.Sym("W")
    b = dims.BATCH
    assert ops.extract_patches((b, h, w, 3), 4, None) == (
        b, dims.add(dims.floordiv(dims.sub(h, 4), 4), 1),
        dims.add(dims.floordiv(dims.sub(w, 4), 4), 1), 48)
    assert ops.reduce((b, h, w, 8), (1, 2), keepdims=True) == (b, 1, 1, 8)
    assert ops.reshape((b, h, w, 8), (-1, dims.mul(h, w), 8)) == (b, dims.mul(h, w), 8)
    assert ops.concatenate([(b, h, 4), (b, h, 6)], -1) == (b, h, 10)
    assert ops.matmul((b, h, 16), (16, 32)) == (b, h, 32)


def test_matmul_and_einsum_macs() -> None:
    """MACs = multiply-accumulates of the naive loop, counted with NumPy's own shapes."""
    a, b = (7, 5, 16), (16, 32)
    assert ops.matmul_macs(a, b) == int(np.prod(np.matmul(np.zeros(a), np.zeros(b)).shape)) * 16
    q, k = (1, 10, 4, 8), (1, 12, 4, 8)
    out = np.einsum("bqhd,bkhd->bhqk", np.zeros(q), np.zeros(k))
    assert ops.einsum_macs("bqhd,bkhd->bhqk", [q, k]) == int(np.prod(out.shape)) * 8
    assert ops.matmul_macs((dims.BATCH, 5, 16), (16, 32)) == 5 * 16 * 32


SPELLINGS: list[tuple[str, str, Callable[[Any, Any], Any]]] = [
    ("keras_ops", "ops.mean(x, axis=1, keepdims=True)",
     lambda k, x: k.ops.mean(x, axis=1, keepdims=True)),
    ("keras_ops_chain", "ops.reshape(ops.transpose(x, (0, 2, 1)), (-1, 24))",
     lambda k, x: k.ops.reshape(k.ops.transpose(x, (0, 2, 1)), (-1, 24))),
    ("reshape_batch_kept", "ops.reshape(x, (ops.shape(x)[0], -1))",
     lambda k, x: k.ops.reshape(x, (k.ops.shape(x)[0], -1))),
    ("keras_ops_einsum", "ops.einsum('btd,de->bte', x, ops.ones((4, 5)))",
     lambda k, x: k.ops.einsum("btd,de->bte", x, k.ops.ones((4, 5)))),
    ("keras_ops_split", "ops.split(x, 2, axis=-1)[1]", lambda k, x: k.ops.split(x, 2, axis=-1)[1]),
    ("backend", "K.concatenate([x, K.expand_dims(K.sum(x, axis=-1))], axis=-1)",
     lambda k, x: k.ops.concatenate([x, k.ops.expand_dims(k.ops.sum(x, axis=-1), -1)], -1)),
    ("tf", "tf.reduce_max(tf.transpose(x, perm=[0, 2, 1]), axis=-1)",
     lambda k, x: k.ops.max(k.ops.transpose(x, (0, 2, 1)), axis=-1)),
    ("tf_concat", "tf.concat([x, x * 2.0], axis=1)",
     lambda k, x: k.ops.concatenate([x, x * 2.0], 1)),
    ("matmul_operator", "x @ ops.ones((4, 3))", lambda k, x: k.ops.matmul(x, k.ops.ones((4, 3)))),
    ("softmax", "ops.softmax(ops.matmul(x, ops.transpose(x, (0, 2, 1))), axis=-1)",
     lambda k, x: k.ops.softmax(k.ops.matmul(x, k.ops.transpose(x, (0, 2, 1))), axis=-1)),
    ("top_k", "ops.top_k(x, 2)[0]", lambda k, x: k.ops.top_k(x, 2)[0]),
    ("one_hot", "ops.one_hot(ops.argmax(x, axis=-1), 9)",
     lambda k, x: k.ops.one_hot(k.ops.argmax(x, axis=-1), 9)),
    ("pad_tile", "ops.tile(ops.pad(x, ((0, 0), (1, 1), (0, 0))), (1, 1, 2))",
     lambda k, x: k.ops.tile(k.ops.pad(x, ((0, 0), (1, 1), (0, 0))), (1, 1, 2))),
    ("patches", "ops.image.extract_patches(ops.reshape(x, (-1, 4, 6, 1)), 2)",
     lambda k, x: k.ops.image.extract_patches(k.ops.reshape(x, (-1, 4, 6, 1)), 2)),
]


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "ours", "theirs"), SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_lambda_body_shape_matches_keras(tmp_path: Any, name: str, ours: str,
                                         theirs: Callable[[Any, Any], Any]) -> None:
    """A Lambda whose function uses the op: its output shape comes from the body."""
    import keras

    source = tmp_path / "model.py"
    source.write_text(
        "import keras\nimport tensorflow as tf\nfrom keras import backend as K, layers, ops\n"
        "inputs = keras.Input((6, 4))\n"
        f"out = layers.Lambda(lambda x: {ours})(inputs)\n"
        "model = keras.Model(inputs, out, name='probe')\n")
    report = api.analyze(source)
    assert [d for d in report.all_diagnostics() if d.severity.name in ("ERROR", "WARNING")] == []
    row = next(r for r in report.model().rows() if r.layer.class_name == "Lambda")
    got = [dims.as_int(d) for d in row.output_types[0][0].shape]  # type: ignore[union-attr]
    x = keras.Input((6, 4))
    want = list(keras.layers.Lambda(lambda t: theirs(keras, t))(x).shape)
    assert got == want


def test_macs_of_matmul_inside_a_custom_layer(tmp_path: Any) -> None:
    source = tmp_path / "model.py"
    source.write_text(
        "import keras\nfrom keras import ops\n"
        "class Attend(keras.layers.Layer):\n"
        "    def call(self, x):\n"
        "        scores = ops.einsum('bqd,bkd->bqk', x, x)\n"
        "        return ops.matmul(ops.softmax(scores), x)\n"
        "inputs = keras.Input((10, 8))\n"
        "model = keras.Model(inputs, Attend()(inputs))\n")
    model = api.analyze(source).model()
    assert model.totals.macs == 10 * 10 * 8 + 10 * 8 * 10

