"""The ``tf.*`` and ``keras.backend`` (``K.*``) spellings of tensor functions, each
checked against real Keras running the documented ``keras.ops`` equivalent.

TensorFlow is not installed: convcalc reads each spelling, with its own argument
conventions, in a functional model it analyses without running; the expected shape comes
from Keras evaluating, on Keras tensors of the same shapes, the ``keras.ops`` call that
the TensorFlow / Keras 2 documentation gives the spelling (its defaults spelled out).
So the argument mapping of :mod:`convcalc.frontend.op_spellings` is what is under test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from convcalc import api, dims
from convcalc.frontend.op_spellings import BACKEND, TENSORFLOW

INPUTS: dict[str, tuple[tuple[int, ...], str]] = {
    "a": ((6, 8), "float32"),
    "b": ((8, 5), "float32"),
    "c": ((1, 8), "float32"),
    "k": ((7, 8), "float32"),
    "img": ((32, 32, 3), "float32"),
    "idx": ((4,), "int32"),
    "v": ((12,), "float32"),
}
"""The model inputs a case may use, by name: shape without the batch, dtype."""

# (id, the spelling convcalc reads, the documented keras.ops equivalent Keras runs)
TF_CASES: list[tuple[str, str, str]] = [
    # tf.reshape(tensor, shape)
    ("reshape", "tf.reshape(a, (-1, 48))", "ops.reshape(a, (-1, 48))"),
    ("reshape_kw", "tf.reshape(tensor=a, shape=[-1, 4, 12])", "ops.reshape(a, (-1, 4, 12))"),
    # tf.transpose(a, perm=None): no perm reverses every axis
    ("transpose", "tf.transpose(a, [0, 2, 1])", "ops.transpose(a, (0, 2, 1))"),
    ("transpose_kw", "tf.transpose(a=a, perm=(0, 2, 1))", "ops.transpose(a, (0, 2, 1))"),
    ("transpose_all", "tf.transpose(a)", "ops.transpose(a)"),
    # tf.expand_dims(input, axis)
    ("expand_dims", "tf.expand_dims(a, 1)", "ops.expand_dims(a, 1)"),
    ("expand_dims_kw", "tf.expand_dims(input=a, axis=-1)", "ops.expand_dims(a, -1)"),
    # tf.squeeze(input, axis=None): no axis drops every size-1 axis
    ("squeeze", "tf.squeeze(c, [1])", "ops.squeeze(c, axis=1)"),
    ("squeeze_all", "tf.squeeze(input=c)", "ops.squeeze(c)"),
    # tf.concat(values, axis)
    ("concat", "tf.concat([a, a], -1)", "ops.concatenate([a, a], axis=-1)"),
    ("concat_kw", "tf.concat(values=[a, a], axis=1)", "ops.concatenate([a, a], axis=1)"),
    # tf.stack(values, axis=0)
    ("stack", "tf.stack([a, a], axis=1)", "ops.stack([a, a], axis=1)"),
    ("stack_default", "tf.stack([a, a])", "ops.stack([a, a], axis=0)"),
    # tf.split(value, num_or_size_splits, axis=0): a list gives the pieces' sizes
    ("split", "tf.split(a, 2, axis=-1)", "ops.split(a, 2, axis=-1)"),
    ("split_sizes", "tf.split(a, [2, 6], axis=2)", "ops.split(a, [2], axis=2)"),
    ("split_sizes_3", "tf.split(value=a, num_or_size_splits=[1, 2, 3], axis=1)",
     "ops.split(a, [1, 3], axis=1)"),
    ("split_default_axis", "tf.split(tf.reshape(a, (4, -1)), 2)",
     "ops.split(ops.reshape(a, (4, -1)), 2, axis=0)"),
    # tf.matmul(a, b, transpose_a=False, transpose_b=False); tf.linalg.matmul alike
    ("matmul", "tf.matmul(a, tf.ones((8, 5)))", "ops.matmul(a, ops.ones((8, 5)))"),
    ("matmul_transpose_b", "tf.matmul(a, k, transpose_b=True)",
     "ops.matmul(a, ops.transpose(k, (0, 2, 1)))"),
    ("matmul_transpose_a", "tf.linalg.matmul(a, a, transpose_a=True)",
     "ops.matmul(ops.transpose(a, (0, 2, 1)), a)"),
    ("matmul_kw", "tf.linalg.matmul(a=a, b=k, transpose_b=True)",
     "ops.matmul(a, ops.transpose(k, (0, 2, 1)))"),
    # tf.einsum(equation, *inputs)
    ("einsum", "tf.einsum('bij,bkj->bik', a, k)", "ops.einsum('bij,bkj->bik', a, k)"),
    # tf.nn.softmax(logits, axis=None): the last axis
    ("softmax", "tf.nn.softmax(a, axis=1)", "ops.softmax(a, axis=1)"),
    ("softmax_kw", "tf.nn.softmax(logits=a)", "ops.softmax(a, axis=-1)"),
    # tf.cast(x, dtype), tf.convert_to_tensor(value, dtype)
    ("cast", "tf.cast(idx, tf.float32)", "ops.cast(idx, 'float32')"),
    ("convert_to_tensor", "tf.convert_to_tensor(a)", "ops.convert_to_tensor(a)"),
    # tf.range(start, limit=None, delta=1): one argument is the limit
    ("range", "a[:, 0, :1] * tf.reshape(tf.cast(tf.range(5), 'float32'), (1, -1))",
     "a[:, 0, :1] * ops.reshape(ops.cast(ops.arange(0, 5, 1), 'float32'), (1, -1))"),
    ("range_3", "a[:, 0, :1] * tf.reshape(tf.cast(tf.range(2, 10, 3), 'float32'), (1, -1))",
     "a[:, 0, :1] * ops.reshape(ops.cast(ops.arange(2, 10, 3), 'float32'), (1, -1))"),
    ("range_kw", "a[:, 0, :1] * tf.reshape(tf.cast(tf.range(start=1, limit=7, delta=2), "
     "'float32'), (1, -1))",
     "a[:, 0, :1] * ops.reshape(ops.cast(ops.arange(1, 7, 2), 'float32'), (1, -1))"),
    # tf.image.extract_patches(images, sizes, strides, rates, padding): NHWC lists
    ("extract_patches", "tf.image.extract_patches(images=img, sizes=[1, 4, 4, 1], "
     "strides=[1, 4, 4, 1], rates=[1, 1, 1, 1], padding='VALID')",
     "ops.image.extract_patches(img, (4, 4), strides=(4, 4), padding='valid')"),
    ("extract_patches_same", "tf.image.extract_patches(img, [1, 5, 5, 1], [1, 3, 3, 1], "
     "[1, 1, 1, 1], 'SAME')",
     "ops.image.extract_patches(img, (5, 5), strides=(3, 3), padding='same')"),
    # tf.image.resize(images, size, method='bilinear')
    ("resize", "tf.image.resize(img, (16, 24))", "ops.image.resize(img, (16, 24))"),
    ("resize_method", "tf.image.resize(img, [64, 48], 'nearest')",
     "ops.image.resize(img, (64, 48), interpolation='nearest')"),
    # tf.pad(tensor, paddings, mode='CONSTANT', constant_values=0)
    ("pad", "tf.pad(a, [[0, 0], [1, 2], [3, 4]])", "ops.pad(a, [[0, 0], [1, 2], [3, 4]])"),
    ("pad_kw", "tf.pad(tensor=a, paddings=[[0, 0], [1, 1], [0, 0]], mode='REFLECT')",
     "ops.pad(a, [[0, 0], [1, 1], [0, 0]], mode='reflect')"),
    # tf.tile(input, multiples)
    ("tile", "tf.tile(a, [1, 2, 3])", "ops.tile(a, (1, 2, 3))"),
    ("tile_kw", "tf.tile(input=a, multiples=(2, 1, 1))", "ops.tile(a, (2, 1, 1))"),
    # tf.repeat(input, repeats, axis=None): no axis flattens
    ("repeat", "tf.repeat(a, 3, axis=1)", "ops.repeat(a, 3, axis=1)"),
    ("repeat_flat", "tf.repeat(v, 2)", "ops.repeat(v, 2)"),
    # tf.where(condition, x, y)
    ("where", "tf.where(tf.greater(a, 0.0), a, tf.zeros_like(a))",
     "ops.where(ops.greater(a, 0.0), a, ops.zeros_like(a))"),
    # tf.one_hot(indices, depth, on_value=None, off_value=None, axis=None): the last axis
    ("one_hot", "tf.one_hot(idx, 10)", "ops.one_hot(idx, 10, axis=-1)"),
    ("one_hot_axis", "tf.one_hot(indices=idx, depth=7, axis=1)", "ops.one_hot(idx, 7, axis=1)"),
    # tf.math.top_k(input, k=1, sorted=True): values and indices
    ("top_k", "tf.math.top_k(a, k=3)", "ops.top_k(a, 3)"),
    ("top_k_default", "tf.math.top_k(a)", "ops.top_k(a, 1)"),
    # tf.gather(params, indices, validate_indices=None, axis=None): axis None is 0
    ("gather", "tf.gather(a, [0, 2, 4], axis=1)", "ops.take(a, ops.array([0, 2, 4]), axis=1)"),
    ("gather_default", "tf.gather(v, idx)", "ops.take(v, idx, axis=0)"),
    # tf.math.cumsum(x, axis=0)
    ("cumsum", "tf.math.cumsum(a, axis=2)", "ops.cumsum(a, axis=2)"),
    ("cumsum_default", "tf.cumsum(a)", "ops.cumsum(a, axis=0)"),
    # tf.clip_by_value(t, clip_value_min, clip_value_max)
    ("clip_by_value", "tf.clip_by_value(a, 0.0, 6.0)", "ops.clip(a, 0.0, 6.0)"),
    # tf.broadcast_to(input, shape)
    ("broadcast_to", "tf.broadcast_to(c, (2, 5, 8))", "ops.broadcast_to(c, (2, 5, 8))"),
    # tf.zeros(shape) / tf.ones(shape) / tf.*_like(input)
    ("zeros", "a + tf.zeros((6, 8))", "a + ops.zeros((6, 8))"),
    ("ones", "a * tf.ones([1, 8])", "a * ops.ones((1, 8))"),
    ("zeros_like", "tf.zeros_like(a)", "ops.zeros_like(a)"),
    ("ones_like", "tf.ones_like(input=a)", "ops.ones_like(a)"),
    # tf.stop_gradient(input), tf.identity(input)
    ("stop_gradient", "tf.stop_gradient(a)", "ops.stop_gradient(a)"),
    ("identity", "tf.identity(a)", "a"),
    # tf.random.normal(shape) / tf.random.uniform(shape)
    ("normal", "a + tf.random.normal((6, 8))", "a + keras.random.normal((6, 8))"),
    ("uniform", "a + tf.random.uniform([1, 6, 8])", "a + keras.random.uniform((1, 6, 8))"),
    # tf.math.reduce_*(input_tensor, axis=None, keepdims=False)
    ("reduce_mean", "tf.reduce_mean(a, axis=1, keepdims=True)",
     "ops.mean(a, axis=1, keepdims=True)"),
    ("reduce_sum", "tf.reduce_sum(input_tensor=a, axis=[1, 2])", "ops.sum(a, axis=(1, 2))"),
    ("reduce_max", "tf.reduce_max(a, -1)", "ops.max(a, axis=-1)"),
    ("reduce_min", "tf.math.reduce_min(a)", "ops.min(a)"),
    ("reduce_prod", "tf.reduce_prod(a, 2, True)", "ops.prod(a, axis=2, keepdims=True)"),
    ("reduce_std", "tf.math.reduce_std(a, axis=1)", "ops.std(a, axis=1)"),
    ("reduce_variance", "tf.math.reduce_variance(a, axis=2, keepdims=True)",
     "ops.var(a, axis=2, keepdims=True)"),
    ("reduce_logsumexp", "tf.reduce_logsumexp(a, axis=1)", "ops.logsumexp(a, axis=1)"),
    ("reduce_any", "tf.reduce_any(tf.greater(a, 0.0), axis=1)",
     "ops.any(ops.greater(a, 0.0), axis=1)"),
    ("reduce_all", "tf.reduce_all(tf.less(a, 0.0), axis=-1, keepdims=True)",
     "ops.all(ops.less(a, 0.0), axis=-1, keepdims=True)"),
    # tf.argmax(input, axis=None): axis None is 0
    ("argmax", "tf.argmax(a, axis=-1)", "ops.argmax(a, axis=-1)"),
    ("argmax_default", "tf.argmax(a)", "ops.argmax(a, axis=0)"),
    ("argmin", "tf.math.argmin(input=a, axis=1)", "ops.argmin(a, axis=1)"),
    # tf.math binary functions (x, y), broadcasting
    *[(f"binary_{f}", f"tf.math.{f}(a, c)", f"ops.{g}(a, c)") for f, g in (
        ("add", "add"), ("subtract", "subtract"), ("multiply", "multiply"),
        ("divide", "divide"), ("truediv", "true_divide"), ("maximum", "maximum"),
        ("minimum", "minimum"), ("pow", "power"), ("equal", "equal"),
        ("not_equal", "not_equal"), ("greater", "greater"),
        ("greater_equal", "greater_equal"), ("less", "less"), ("less_equal", "less_equal"))],
    ("binary_kw", "tf.add(x=a, y=c)", "ops.add(a, c)"),
]

K_CASES: list[tuple[str, str, str]] = [
    # K.reshape(x, shape)
    ("reshape", "K.reshape(a, (-1, 2, 24))", "ops.reshape(a, (-1, 2, 24))"),
    # K.permute_dimensions(x, pattern)
    ("permute_dimensions", "K.permute_dimensions(a, (0, 2, 1))", "ops.transpose(a, (0, 2, 1))"),
    ("permute_dimensions_kw", "K.permute_dimensions(a, pattern=[0, 2, 1])",
     "ops.transpose(a, (0, 2, 1))"),
    # K.transpose(x): every axis reversed
    ("transpose", "K.transpose(a)", "ops.transpose(a)"),
    # K.expand_dims(x, axis=-1)
    ("expand_dims", "K.expand_dims(a)", "ops.expand_dims(a, -1)"),
    ("expand_dims_axis", "K.expand_dims(a, 1)", "ops.expand_dims(a, 1)"),
    # K.squeeze(x, axis)
    ("squeeze", "K.squeeze(c, 1)", "ops.squeeze(c, axis=1)"),
    # K.concatenate(tensors, axis=-1)
    ("concatenate", "K.concatenate([a, a])", "ops.concatenate([a, a], axis=-1)"),
    ("concatenate_axis", "K.concatenate([a, a], axis=1)", "ops.concatenate([a, a], axis=1)"),
    # K.stack(x, axis=0)
    ("stack", "K.stack([a, a], axis=-1)", "ops.stack([a, a], axis=-1)"),
    ("stack_default", "K.stack([a, a])", "ops.stack([a, a], axis=0)"),
    # K.dot(x, y): the last axis of x with the second-to-last of y, "(2, 3) * (4, 3, 5)
    # -> (2, 4, 5)" as Keras 2 documents it
    ("dot", "K.dot(a, K.ones((8, 5)))", "ops.einsum('bij,jk->bik', a, ops.ones((8, 5)))"),
    ("dot_nd", "K.dot(a[:, 0], K.ones((4, 8, 5)))",
     "ops.einsum('bj,ijk->bik', a[:, 0], ops.ones((4, 8, 5)))"),
    ("dot_vector", "K.dot(a, K.ones((8,)))", "ops.einsum('bij,j->bi', a, ops.ones((8,)))"),
    # K.batch_dot(x, y, axes=None): per sample; default axes (last of x, 2nd-last of y)
    ("batch_dot", "K.batch_dot(a, K.permute_dimensions(k, (0, 2, 1)))",
     "ops.matmul(a, ops.transpose(k, (0, 2, 1)))"),
    ("batch_dot_axes", "K.batch_dot(a, k, axes=(2, 2))",
     "ops.einsum('bij,bkj->bik', a, k)"),
    ("batch_dot_axes_1", "K.batch_dot(a, a, axes=1)", "ops.einsum('bji,bjk->bik', a, a)"),
    ("batch_dot_vectors", "K.batch_dot(v, v, axes=1)",
     "ops.expand_dims(ops.einsum('bi,bi->b', v, v), -1)"),
    # K.softmax(x, axis=-1)
    ("softmax", "K.softmax(a)", "ops.softmax(a, axis=-1)"),
    # K.cast(x, dtype)
    ("cast", "K.cast(idx, 'float32')", "ops.cast(idx, 'float32')"),
    # K.arange(start, stop=None, step=1)
    ("arange", "a[:, 0, :1] * K.reshape(K.cast(K.arange(6), 'float32'), (1, -1))",
     "a[:, 0, :1] * ops.reshape(ops.cast(ops.arange(0, 6, 1), 'float32'), (1, -1))"),
    ("arange_3", "a[:, 0, :1] * K.reshape(K.cast(K.arange(1, 9, 2), 'float32'), (1, -1))",
     "a[:, 0, :1] * ops.reshape(ops.cast(ops.arange(1, 9, 2), 'float32'), (1, -1))"),
    # K.tile(x, n)
    ("tile", "K.tile(a, (1, 2, 2))", "ops.tile(a, (1, 2, 2))"),
    ("tile_kw", "K.tile(a, n=[1, 1, 3])", "ops.tile(a, (1, 1, 3))"),
    # K.repeat_elements(x, rep, axis)
    ("repeat_elements", "K.repeat_elements(a, 2, axis=1)", "ops.repeat(a, 2, axis=1)"),
    ("repeat_elements_kw", "K.repeat_elements(a, rep=3, axis=-1)", "ops.repeat(a, 3, axis=-1)"),
    # K.repeat(x, n): a 2D (batch, dim) repeated n times as (batch, n, dim)
    ("repeat", "K.repeat(v, 3)", "ops.repeat(ops.expand_dims(v, 1), 3, axis=1)"),
    # K.one_hot(indices, num_classes): a new last axis
    ("one_hot", "K.one_hot(idx, 5)", "ops.one_hot(idx, 5)"),
    # K.gather(reference, indices): along the first axis
    ("gather", "K.gather(v, idx)", "ops.take(v, idx, axis=0)"),
    # K.cumsum(x, axis=0)
    ("cumsum", "K.cumsum(a)", "ops.cumsum(a, axis=0)"),
    ("cumsum_axis", "K.cumsum(a, axis=-1)", "ops.cumsum(a, axis=-1)"),
    # K.clip(x, min_value, max_value)
    ("clip", "K.clip(a, min_value=0.0, max_value=1.0)", "ops.clip(a, 0.0, 1.0)"),
    # K.zeros_like(x) / K.ones_like(x) / K.stop_gradient(variables)
    ("zeros_like", "K.zeros_like(a)", "ops.zeros_like(a)"),
    ("ones_like", "K.ones_like(a)", "ops.ones_like(a)"),
    ("stop_gradient", "K.stop_gradient(a)", "ops.stop_gradient(a)"),
    # K.mean(x, axis=None, keepdims=False) and the other reductions
    ("mean", "K.mean(a, axis=1, keepdims=True)", "ops.mean(a, axis=1, keepdims=True)"),
    ("sum", "K.sum(a, axis=-1)", "ops.sum(a, axis=-1)"),
    ("max", "K.max(a, 1)", "ops.max(a, axis=1)"),
    ("min", "K.min(a, axis=[1, 2])", "ops.min(a, axis=(1, 2))"),
    ("prod", "K.prod(a, -1, True)", "ops.prod(a, axis=-1, keepdims=True)"),
    ("std", "K.std(a, axis=1)", "ops.std(a, axis=1)"),
    ("var", "K.var(a, axis=2)", "ops.var(a, axis=2)"),
    ("logsumexp", "K.logsumexp(a, axis=1, keepdims=True)",
     "ops.logsumexp(a, axis=1, keepdims=True)"),
    ("any", "K.any(K.greater(a, 0.0), axis=1)", "ops.any(ops.greater(a, 0.0), axis=1)"),
    ("all", "K.all(K.less(a, 0.0))", "ops.all(ops.less(a, 0.0))"),
    # K.argmax(x, axis=-1) / K.argmin(x, axis=-1)
    ("argmax", "K.argmax(a)", "ops.argmax(a, axis=-1)"),
    ("argmin", "K.argmin(a, axis=1)", "ops.argmin(a, axis=1)"),
    # K binary functions (x, y); K.pow(x, a)
    *[(f"binary_{f}", f"K.{f}(a, c)", f"ops.{g}(a, c)") for f, g in (
        ("maximum", "maximum"), ("minimum", "minimum"), ("equal", "equal"),
        ("not_equal", "not_equal"), ("greater", "greater"), ("greater_equal", "greater_equal"),
        ("less", "less"), ("less_equal", "less_equal"))],
    ("pow", "K.pow(a, 2)", "ops.power(a, 2)"),
    # K.int_shape(x): the static shape as a tuple
    ("int_shape", "keras.layers.Reshape((K.int_shape(a)[1] * K.int_shape(a)[2],))(a)",
     "keras.layers.Reshape((a.shape[1] * a.shape[2],))(a)"),
    # K.batch_flatten(x): (batch, everything else); K.flatten(x): one axis
    ("batch_flatten", "K.batch_flatten(a)", "ops.reshape(a, (-1, 48))"),
    ("flatten", "K.flatten(a)", "ops.reshape(a, (-1,))"),
    # K.random_normal(shape) / K.random_uniform(shape); K.reverse(x, axes)
    ("random_normal", "a + K.random_normal((6, 8))", "a + keras.random.normal((6, 8))"),
    ("random_uniform", "a * K.random_uniform((8,))", "a * keras.random.uniform((8,))"),
    ("reverse", "K.reverse(a, axes=1)", "ops.flip(a, axis=1)"),
    ("l2_normalize", "K.l2_normalize(a, axis=-1)", "ops.normalize(a, axis=-1)"),
]

TF_EXTRA: list[tuple[str, str, str]] = [
    # spellings real code uses often: tf.nn.l2_normalize(x, axis), tf.math.l2_normalize,
    # tf.fill(dims, value), tf.reverse(tensor, axis), tf.roll(input, shift, axis)
    ("l2_normalize", "tf.math.l2_normalize(a, axis=-1)", "ops.normalize(a, axis=-1)"),
    ("nn_l2_normalize", "tf.nn.l2_normalize(a, 1)", "ops.normalize(a, axis=1)"),
    ("fill", "a + tf.fill([6, 8], 0.5)", "a + ops.full((6, 8), 0.5)"),
    ("reverse", "tf.reverse(a, axis=[1])", "ops.flip(a, axis=1)"),
    ("roll", "tf.roll(a, shift=1, axis=2)", "ops.roll(a, 1, axis=2)"),
    ("nn_log_softmax", "tf.nn.log_softmax(a)", "ops.log_softmax(a)"),
]

CASES = [pytest.param("tf", *c[1:], id=f"tf.{c[0]}") for c in TF_CASES + TF_EXTRA] + [
    pytest.param("K", *c[1:], id=f"K.{c[0]}") for c in K_CASES]


def _used(expr: str) -> list[str]:
    return [n for n in INPUTS if re.search(rf"\b{n}\b", expr)]


def _source(expr: str) -> str:
    lines = ["import keras", "import tensorflow as tf", "from keras import backend as K"]
    names = _used(expr)
    for n in names:
        shape, dtype = INPUTS[n]
        lines.append(f"{n} = keras.Input({shape!r}, dtype={dtype!r}, name={n!r})")
    lines.append(f"out = {expr}")
    lines.append(f"model = keras.Model([{', '.join(names)}], out)")
    return "\n".join(lines) + "\n"


def _keras_shapes(expr: str) -> list[list[int | None]]:
    """The output shapes of the keras.ops expression, run by Keras on Keras tensors."""
    import keras
    from keras import ops

    env: dict[str, Any] = {"keras": keras, "ops": ops}
    for n in _used(expr):
        shape, dtype = INPUTS[n]
        env[n] = keras.Input(shape, dtype=dtype, name=n)
    out = eval(expr, env)  # our own test text, run by Keras
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    return [[None if d is None else int(d) for d in t.shape] for t in outs]


def _dim(d: dims.Dim) -> int | str | None:
    """A dim as Keras shows it: None where it depends on the batch size."""
    if isinstance(d, int):
        return d
    batch = d == dims.BATCH or "batch" in {str(s) for s in getattr(d, "free_symbols", ())}
    return None if batch else str(d)


def _our_shapes(source: str) -> list[list[int | str | None] | None]:
    report = api.analyze(source)
    problems = [str(d) for d in report.all_diagnostics() if d.severity.name == "ERROR"]
    assert problems == []
    return [None if t is None else [_dim(d) for d in t.shape]
            for t in report.model().output_types]


@pytest.mark.oracle
@pytest.mark.parametrize(("module", "spelling", "keras_ops"), CASES)
def test_spelling_matches_the_documented_keras_ops_call(module: str, spelling: str,
                                                        keras_ops: str) -> None:
    assert _our_shapes(_source(spelling)) == _keras_shapes(keras_ops)


@pytest.mark.parametrize(("table", "cases"), [
    (TENSORFLOW, TF_CASES + TF_EXTRA), (BACKEND, K_CASES)], ids=["tf", "K"])
def test_every_spelling_of_the_tables_has_a_case(table: dict[str, Any],
                                                 cases: list[tuple[str, str, str]]) -> None:
    used = {m.group(1) for _, spelling, _ in cases
            for m in re.finditer(r"\b(?:tf|K)\.(?:\w+\.)*?(\w+)\(", spelling)}
    assert set(table) - used == set()
