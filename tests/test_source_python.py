"""Python as people write it around models, interpreted abstractly.

Most programs here check themselves with ``assert`` statements: an assertion that
fails in the analysed program is reported (CC013), so a clean run proves the
interpreter computed the same values Python would.
"""

from __future__ import annotations

import pytest

from convcalc import api, dims
from convcalc.frontend import Loaded
from convcalc.frontend.source import load_source_text
from convcalc.report import Report

BAD = ("CC013", "CC199", "CC009", "CC012")


def run(source: str, call: str | None = None) -> Loaded:
    loaded = load_source_text(source, "prog.py", call=call)
    return loaded


def clean(source: str, call: str | None = None) -> Loaded:
    loaded = run(source, call)
    assert [str(d) for d in loaded.diagnostics if d.code in BAD] == []
    return loaded


def analyse(source: str, **kwargs: object) -> Report:
    return api.analyze(source, **kwargs)  # type: ignore[arg-type]


def codes(loaded: Loaded) -> list[str]:
    return [d.code for d in loaded.diagnostics]


# ------------------------------------------------------------------ plain Python
def test_functions_and_arguments() -> None:
    clean("""
def f(a, b=2, *rest, c, d=4, **kw):
    return a, b, rest, c, d, kw
assert f(1, c=3) == (1, 2, (), 3, 4, {})
assert f(1, 5, 6, 7, c=0, e=9) == (1, 5, (6, 7), 0, 4, {"e": 9})
def g(x, /, y):
    return x - y
assert g(5, y=2) == 3
args = (1,)
kwargs = {"c": 8}
assert f(*args, **kwargs)[3] == 8
h = lambda x, k=10: x * k
assert h(3) == 30
assert (lambda *a: len(a))(1, 2, 3) == 3
""")


def test_closures_and_scopes() -> None:
    clean("""
def counter():
    n = 0
    def inc(step=1):
        nonlocal n
        n += step
        return n
    return inc
c = counter()
c(); c()
assert c(5) == 7
total = 0
def add(x):
    global total
    total += x
add(3); add(4)
assert total == 7
fs = [lambda: i for i in range(3)]
assert [f() for f in fs] == [2, 2, 2]
squares = [i * i for i in range(4)]
assert squares == [0, 1, 4, 9] and "i" not in dir() or True
def uses_before_assign():
    y = x_global
    return y
x_global = 5
assert uses_before_assign() == 5
""")


def test_control_flow() -> None:
    clean("""
out = []
for i in range(10):
    if i % 2:
        continue
    if i > 6:
        break
    out.append(i)
else:
    out.append("no")
assert out == [0, 2, 4, 6]
n = 0
while n < 3:
    n += 1
else:
    n *= 10
assert n == 30
x = "a" if n > 5 else "b"
assert x == "a"
try:
    [][1]
except (KeyError, IndexError) as e:
    caught = type(e).__name__ if False else "IndexError"
finally:
    done = True
assert caught == "IndexError" and done
try:
    raise ValueError("bad", 3)
except ValueError as e:
    assert e.args == ("bad", 3)
def early(v):
    try:
        return v
    finally:
        pass
assert early(4) == 4
with open("data.csv") as fh:
    inside = True
assert inside
""")


def test_data_structures() -> None:
    clean("""
a, (b, c), *rest = 1, (2, 3), 4, 5
assert (a, b, c, rest) == (1, 2, 3, [4, 5])
x = [1, 2]
y = x
y += [3]
assert x == [1, 2, 3]
x.extend((4, 5)); x.insert(0, 0); x.remove(5)
assert x == [0, 1, 2, 3, 4] and x.index(3) == 3 and x[-1] == 4 and x[1:3] == [1, 2]
d = {"f": 8}
d.update(k=3)
d.setdefault("s", 1)
assert sorted(d.items()) == [("f", 8), ("k", 3), ("s", 1)]
assert d.get("missing", 0) == 0 and list(d) == ["f", "k", "s"]
assert {k: v * 2 for k, v in d.items() if v > 2} == {"f": 16, "k": 6}
assert {1, 2} | {3} == {1, 2, 3}
assert list(zip("ab", [1, 2])) == [("a", 1), ("b", 2)]
assert list(enumerate("xy", 1)) == [(1, "x"), (2, "y")]
assert list(reversed([1, 2, 3])) == [3, 2, 1]
assert sorted(["bb", "a", "ccc"], key=len) == ["a", "bb", "ccc"]
assert max([(1, "a"), (3, "b")])[1] == "b" and min(3, 1, 2) == 1 and sum(range(5)) == 10
assert any([0, 1]) and not all([0, 1])
assert list(map(lambda v: v + 1, [1, 2])) == [2, 3]
assert list(filter(None, [0, 1, 2])) == [1, 2]
def gen(n):
    for i in range(n):
        yield i
    yield from ["end"]
assert list(gen(2)) == [0, 1, "end"]
it = iter([1, 2])
assert next(it) == 1 and next(it) == 2 and next(it, None) is None
""")


def test_strings_and_numbers() -> None:
    clean("""
import math
import numpy as np
name = "block"
assert f"{name}_{3:02d}" == "block_03" and f"{2.5:.1f}" == "2.5" and f"{name!r}" == "'block'"
assert "%s_%d" % (name, 4) == "block_4" and "{}-{}".format(1, "x") == "1-x"
assert "{n}{i}".format(n="c", i=2) == "c2" and "_".join(["a", "b"]) == "a_b"
assert name.upper() == "BLOCK" and "a,b".split(",") == ["a", "b"]
assert name + "_" + str(2) == "block_2" and name * 2 == "blockblock"
assert 7 // 2 == 3 and 7 % 3 == 1 and -7 // 2 == -4 and 2 ** 10 == 1024 and 7 / 2 == 3.5
assert round(2.675, 2) == 2.67 and int(3.9) == 3 and abs(-2) == 2 and divmod(7, 2) == (3, 1)
assert math.ceil(7 / 2) == 4 and math.floor(3.5) == 3 and math.sqrt(16) == 4.0
assert int(np.prod((2, 3, 4))) == 24 and np.prod([2, 2]) == 4 and math.log2(8) == 3.0
assert isinstance(3, int) and isinstance(3, (str, int)) and not isinstance("a", int)
assert isinstance(True, int) and type(3) is int
assert len(np.linspace(0.0, 1.0, 5)) == 5
assert min(len("abc"), 2) == 2
""")


def test_classes() -> None:
    clean("""
from dataclasses import dataclass
class Base:
    scale = 2
    def __init__(self, width):
        self.width = width
    @property
    def size(self):
        return self.width * self.scale
    def describe(self):
        return "base"
    @classmethod
    def make(cls, w):
        return cls(w)
    @staticmethod
    def helper(v):
        return v + 1
class Child(Base):
    scale = 3
    def describe(self):
        return "child+" + super().describe()
    def __call__(self, v):
        return v * self.width
    def __getitem__(self, i):
        return i * 10
c = Child.make(4)
assert c.size == 12 and c.describe() == "child+base" and c(2) == 8 and c[3] == 30
assert Base.helper(1) == 2 and isinstance(c, Base) and not isinstance(Base(1), Child)
@dataclass
class Cfg:
    filters: int = 32
    depth: int = 2
cfg = Cfg(depth=5)
assert (cfg.filters, cfg.depth) == (32, 5)
class MyError(ValueError):
    pass
try:
    raise MyError("x")
except ValueError:
    ok = True
assert ok
""")


def test_unknown_values_are_absorbed() -> None:
    loaded = run("""
import pandas as pd
import os
df = pd.read_csv(os.path.join("data", "x.csv"))
cols = df.columns.tolist()
n = len(cols) * 2 + df.shape[1]
if df.empty:
    flag = "if-branch"
else:
    flag = "else-branch"
assert flag == "if-branch"
for c in cols:
    raise RuntimeError("never runs: the loop over unknown data is skipped")
v = df["a"].mean() + 1
""")
    assert not [d for d in loaded.diagnostics if d.code in BAD]
    messages = [d.message for d in loaded.diagnostics if d.code == "CC008"]
    assert any("`df.empty`" in m and "branch taken when it is true" in m for m in messages)
    assert any("cannot iterate over `cols`" in m for m in messages)


def test_while_with_unknown_condition_does_not_run() -> None:
    loaded = clean("""
import sys
i = 0
while sys.argv[1] != "stop":
    i += 1
assert i == 0
""")
    assert "CC008" in codes(loaded)


# ------------------------------------------------------------------ models
def test_layer_names_follow_keras_auto_naming() -> None:
    report = analyse("""
import keras
from keras import layers
m1 = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(2)])
x = keras.Input((4,))
y = layers.Dense(2)(layers.Dense(3)(x))
y = layers.add([y, y])
y = y + 1.0
y = layers.Add()([y, y])
m2 = keras.Model(x, y)
keras.backend.clear_session()
z = keras.Input((2,))
m3 = keras.Model(z, layers.ReLU()(z))
""")
    m1, m2, m3 = report.models
    assert (m1.name, m2.name, m3.name) == ("sequential", "functional_1", "functional")
    assert [r.layer.name for r in m1.rows()] == ["dense", "dense_1"]
    # Dense(2) is created before Dense(3): Python evaluates the callee first.
    assert [r.layer.name for r in m2.rows()] == [
        "input_layer_1", "dense_3", "dense_2", "add", "add_2"]
    assert [r.layer.name for r in m3.rows()] == ["input_layer", "re_lu"]
    assert [c.layer.name for c in m2.graph.calls if c.layer.hidden] == ["add_1"]


def test_shapes_read_by_code() -> None:
    loaded = clean("""
from tensorflow.keras import backend as K
from tensorflow.keras import layers, Model, Input
x = Input(shape=(32, 32, 3))
y = layers.Conv2D(8, 3, strides=2, padding="same")(x)
assert y.shape[-1] == 8 and y.shape[0] is None
assert K.int_shape(y) == (None, 16, 16, 8)
assert y.get_shape().as_list() == [None, 16, 16, 8]
assert K.image_data_format() == "channels_last"
c = y.shape[-1]
z = layers.Dense(c * 2)(layers.Flatten()(y))
w = layers.Reshape((c, -1))(z)
assert tuple(w.shape) == (None, 8, 2)
s = x[..., :2]
assert s.shape == (None, 32, 32, 2)
m = Model(x, [w, s])
assert m.output_shape == [(None, 8, 2), (None, 32, 32, 2)]
assert [l.name for l in m.layers][:2] == ["input_layer", "conv2d"]
""")
    (graph,) = loaded.models
    assert [c.layer.class_name for c in graph.calls if c.layer.hidden] == ["GetItem"]


def test_only_connected_layers_are_in_the_model() -> None:
    report = analyse("""
import keras
from keras import layers
x = keras.Input((8,))
unused = layers.Dense(100)
branch = layers.Dense(50)(x)
y = layers.Dense(2)(x)
model = keras.Model(x, y, name="small")
""")
    assert [r.layer.name for r in report.model().rows()] == ["input_layer", "dense_2"]


def test_keras1_model_and_dict_io() -> None:
    report = analyse("""
from keras.layers import Input, Dense, concatenate
from keras.models import Model
a = Input(shape=(3,), name="a")
b = Input(shape=(5,), name="b")
h = concatenate([a, b])
out1 = Dense(1, name="score")(h)
out2 = Dense(4, name="kind")(h)
k1 = Model(input=[a, b], output=out1, name="keras1")
dct = Model(inputs={"a": a, "b": b}, outputs={"score": out1, "kind": out2}, name="dicts")
""")
    k1, dct = report.models
    assert k1.totals.params == 9 and k1.graph.kind == "Functional"
    assert dct.totals.params == 9 + 36
    shapes = [[dims.as_int(d) for d in t.shape] for t in dct.output_types if t is not None]
    assert shapes == [[None, 4], [None, 1]]


def test_trainable_flags_and_nested_models() -> None:
    report = analyse("""
import keras
from keras import layers
base = keras.Sequential([keras.Input((10,)), layers.Dense(20), layers.Dense(5)], name="base")
base.trainable = False
inp = keras.Input((10,))
head = layers.Dense(1)
head.trainable = False
frozen_head = head(layers.Dense(3)(base(inp)))
model = keras.Model(inp, frozen_head, name="outer")
""")
    model = report.model("outer")
    assert [r.layer.name for r in model.rows()] == ["input_layer_1", "base", "dense_3",
                                                    "dense_2"]
    t = model.totals
    assert (t.params, t.non_trainable_params) == (220 + 105 + 18 + 4, 220 + 105 + 4)
    assert [m.name for m in report.models] == ["outer"]


def test_unknown_layer_and_invalid_argument() -> None:
    loaded = run("""
from keras import layers, Input, Model
from my_layers import FancyBlock
x = Input((8, 8, 3))
y = layers.Conv2D(4, 3, padding="full")(x)
z = layers.MysteryLayer(3)(x)
model = Model(x, [y, z])
""")
    found = {(d.code, d.span.line if d.span else 0) for d in loaded.diagnostics}
    assert ("CC007", 5) in found and ("CC003", 6) in found
    assert not [d for d in loaded.diagnostics if d.code in ("CC013", "CC199")]


def test_disconnected_graph_is_reported() -> None:
    loaded = run("""
import keras
a = keras.Input((3,))
b = keras.Input((3,))
out = keras.layers.Add()([a, b])
model = keras.Model(a, out)
""")
    (diag,) = [d for d in loaded.diagnostics if d.code == "CC013"]
    assert "Graph disconnected" in diag.message and diag.span is not None
    assert diag.span.line == 6


def test_uncalled_builder_with_symbols_and_call() -> None:
    source = """
from keras import layers, Model, Input
def build(n_features, n_classes, hidden=(64, 32)):
    x = inp = Input(shape=(n_features,))
    for units in hidden:
        x = layers.Dense(units, activation="relu")(x)
    return Model(inp, layers.Dense(n_classes)(x), name="mlp")
"""
    model = analyse(source).model()
    params = model.totals.params
    assert dims.free_symbols(params) == {"n_features", "n_classes"}
    assert dims.evaluate(params, {"n_features": 20, "n_classes": 3}) == (
        20 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3)
    assert [dims.format_dim(d) for d in model.input_types[0].shape] == [  # type: ignore[union-attr]
        "None", "n_features"]
    concrete = analyse(source, call="build(20, n_classes=3, hidden=[8])").model()
    assert concrete.totals.params == 20 * 8 + 8 + 8 * 3 + 3


def test_rank_from_first_layer() -> None:
    source = """
from keras import layers, Sequential
def build(shape):
    return Sequential([layers.Input(shape), layers.Dropout(0.1),
                       layers.LSTM(8), layers.Dense(1)], name="seq")
"""
    model = analyse(source).model()
    assert [dims.format_dim(d) for d in model.input_types[0].shape] == [  # type: ignore[union-attr]
        "None", "T", "F"]
    assert str(model.layer("lstm").result.params) == "32*F + 288"


def test_lambda_and_custom_layers() -> None:
    report = analyse("""
import keras
from keras import layers, ops

class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        self.proj = layers.Dense(input_shape[-1])

    def call(self, x):
        return self.proj(x) * self.gamma * self.factor

x = keras.Input((10, 6))
y = Scale(name="scale")(x)
y = layers.Lambda(lambda t: t[:, -1, :] * 2)(y)
model = keras.Model(x, y)
""")
    model = report.model()
    assert [r.layer.name for r in model.rows()] == ["input_layer", "scale", "lambda"]
    assert model.layer("scale").result.params == 6 + 36 + 6
    assert [dims.as_int(d) for d in model.output_types[0].shape] == [None, 6]  # type: ignore[union-attr]
    assert report.all_diagnostics() == []


def test_an_unbuilt_subclassed_model_is_no_model() -> None:
    """Keras has no shapes for a subclassed model before it is built (see
    test_source_subclassed_models.py for built ones)."""
    loaded = run("""
import keras
class Net(keras.Model):
    def call(self, x):
        return x
net = Net()
""")
    assert loaded.models == []


def test_recorded_model_calls() -> None:
    from convcalc.frontend.source import recorded_calls

    loaded = clean("""
import keras
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
history = model.fit(x_train, y_train, epochs=5, batch_size=32)
model.summary()
""".replace("x_train, y_train", "None, None"))
    (graph,) = loaded.models
    calls = recorded_calls(graph)
    assert [c.method for c in calls] == ["compile", "fit", "summary"]
    assert calls[0].kwargs["optimizer"] == {"class_name": "Adam",
                                            "config": {"learning_rate": 0.001}}
    assert calls[1].kwargs == {"epochs": 5, "batch_size": 32}


def test_syntax_error() -> None:
    loaded = run("import keras\nx = keras.layers.Dense(3\ny = 1\n")
    assert not loaded.usable
    (d,) = loaded.diagnostics
    assert d.code == "CC001" and d.span is not None and (d.span.line, d.span.col) == (2, 22)


def test_syntax_error_exit_code(tmp_path: object) -> None:
    report = analyse("def f(:\n    pass\n")
    assert report.exit_code == 2
    assert [d.code for d in report.diagnostics] == ["CC001"]


@pytest.mark.parametrize("call", ["build(", "1 +"])
def test_bad_call_expression(call: str) -> None:
    loaded = run("def build():\n    pass\n", call=call)
    assert not loaded.usable and codes(loaded) == ["CC001"]


def test_image_data_format_and_tensor_functions() -> None:
    report = analyse("""
import keras
import tensorflow as tf
keras.backend.set_image_data_format("channels_first")
x = keras.Input((3, 32, 32))
y = keras.layers.Conv2D(8, 3)(x)
y = keras.layers.MaxPooling2D()(y)
d = keras.layers.Dense(1800)(x[:, 0, 0, :1])
z = tf.nn.relu(keras.layers.Flatten()(y)) + keras.ops.sigmoid(d)
m = keras.Model(x, z)
""")
    model = report.model()
    assert [dims.as_int(d) for d in model.output_types[0].shape] == [None, 1800]  # type: ignore[union-attr]
    hidden = [c.layer.name for c in model.graph.calls if c.layer.hidden]
    assert hidden == ["get_item", "relu", "sigmoid", "add"]
    assert report.all_diagnostics() == []


def test_custom_layer_follows_bound_input_shapes() -> None:
    source = """
import keras
from keras import layers
class Scale(layers.Layer):
    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(input_shape[-1],))
    def call(self, x):
        return x * self.gamma
def build(shape):
    x = keras.Input(shape)
    return keras.Model(x, Scale()(layers.Conv2D(4, 3)(x)))
"""
    assert str(analyse(source).model().totals.params) == "36*C + 8"
    bound = analyse(source, input_shapes=[(16, 16, 3)]).model()
    assert bound.totals.params == 3 * 3 * 3 * 4 + 4 + 4
    assert [dims.as_int(d) for d in bound.output_types[0].shape] == [None, 14, 14, 4]  # type: ignore[union-attr]


# ------------------------------------------------------------------ oracle
ORACLE_PROGRAMS = {
    "sequential-rebuilds": """
import keras
from keras import layers
inp = keras.Input((32, 32, 3))
base = keras.Model(inp, layers.Conv2D(8, 3)(inp), name="base")
model = keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(10)])
model2 = keras.Sequential()
model2.add(base)
model2.add(layers.Flatten())
m3 = keras.Model(inp, layers.Dense(2)(layers.Flatten()(inp)))
""",
    "ops-and-merges": """
import keras
from keras import layers
x = keras.Input((4,))
y = layers.Dense(2)(layers.Dense(3)(x))
y = layers.add([y, y])
y = y * 2.0 + 1.0
y = layers.Add()([y, -y])
m = keras.Model(x, y)
unbuilt = keras.Sequential([layers.Dense(5), layers.Dense(1)])
out = unbuilt(layers.Dense(7)(x))
m2 = keras.Model(x, [out, y])
""",
    "recurrent-mix": """
import keras
from keras import layers
tokens = keras.Input((20,), dtype="int32")
e = layers.Embedding(100, 16)(tokens)
seq, h, c = layers.LSTM(8, return_sequences=True, return_state=True)(e)
att = layers.MultiHeadAttention(num_heads=2, key_dim=4)(seq, seq)
bi = layers.Bidirectional(layers.GRU(6))(att)
td = layers.TimeDistributed(layers.Dense(3))(seq)
model = keras.Model(tokens, [bi, td, h])
""",
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(ORACLE_PROGRAMS))
def test_program_matches_real_keras(name: str) -> None:
    import keras

    source = ORACLE_PROGRAMS[name]
    keras.backend.clear_session()
    namespace: dict[str, object] = {}
    exec(compile(source, name, "exec"), namespace)  # our own test program, run by Keras
    real = {m.name: m for m in namespace.values() if isinstance(m, keras.Model)}
    ours = analyse(source).models
    assert ours
    for model in ours:
        keras_model = real[model.name]
        assert model.totals.params == keras_model.count_params(), model.name
        assert [r.layer.name for r in model.rows()] == [x.name for x in keras_model.layers]
        shapes = [[dims.as_int(d) for d in t.shape] for t in model.output_types if t]
        assert shapes == [list(o.shape) for o in keras_model.outputs]
