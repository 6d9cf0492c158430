"""The executor's mechanics: order, freeing, shared layers, nested models, skipped
layers, and the shape check (CC301, CC302) it drives.

Models here are small Dense networks (whose forward is part of the executor's own
module set); numerics are compared with real Keras.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest
from keras_bridge import (
    assert_close,
    compare_layer_by_layer,
    convcalc_graph,
    transfer_weights,
    weight_values,
)

from convcalc import api, dims
from convcalc.checking import check, check_graph, sample_sizes
from convcalc.executor import NO_FORWARD, OK, SKIPPED, execute, init_weights
from convcalc.graph import LayerGraph
from convcalc.layers.base import Requirement
from convcalc.layers.core import Dense
from convcalc.propagate import PendingRequirement, propagate
from convcalc.rules import NON_POSITIVE_DIM

CHAIN = """
import keras
from keras import layers
x0 = keras.Input((8,), name="x")
x1 = layers.Dense(16, name="d1")(x0)
x2 = layers.Dense(16, name="d2")(x1)
x3 = layers.Dense(4, name="d3")(x2)
model = keras.Model(x0, x3, name="chain")
"""


def _graph(source: str) -> LayerGraph:
    _, loaded = api.load(source)
    (graph,) = loaded.models
    return graph


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_intermediates_are_freed_after_their_last_reader() -> None:
    graph = _graph(CHAIN)
    analysis = propagate(graph)
    weights = init_weights(analysis, {"batch": 4})
    x = _rng().standard_normal((4, 8), dtype=np.float32)
    live: list[int] = []
    ex = execute(graph, [x], weights, observer=lambda r: live.append(r.call.id))
    # float32 activations, batch 4: input 128 B, d1 256, d2 256, d3 64. Holding at most
    # a layer's input and output: the peak is d1 + d2 = 512 (all of them: 704).
    assert ex.peak_bytes == 512
    assert [graph.calls[i].layer.name for i in live] == ["x", "d1", "d2", "d3"]
    (out,) = ex.outputs
    assert out is not None and out.dtype == np.float32 and out.shape == (4, 4)
    k = [weights[graph.layers[i]] for i in (1, 2, 3)]
    want = ((x @ k[0][0] + k[0][1]) @ k[1][0] + k[1][1]) @ k[2][0] + k[2][1]
    np.testing.assert_allclose(out, want, rtol=1e-5)


def test_kept_outputs_are_returned_per_call() -> None:
    graph = _graph(CHAIN)
    weights = init_weights(propagate(graph), {"batch": 1})
    x = _rng().standard_normal((1, 8), dtype=np.float32)
    ex = execute(graph, [x], weights, keep=True)
    shapes = [r.shapes for r in ex.calls]
    assert shapes == [((1, 8),), ((1, 16),), ((1, 16),), ((1, 4),)]
    assert ex.calls[0].outputs is not None and ex.calls[0].outputs[0] is x


def test_init_weights_follow_the_config_initialisers() -> None:
    graph = _graph(CHAIN.replace('name="d2"', 'name="d2", kernel_initializer="ones", '
                                              'bias_initializer="ones"'))
    weights = init_weights(propagate(graph), {"batch": 1}, seed=3)
    d1, d2, _ = (weights[graph.layers[i]] for i in (1, 2, 3))
    limit = np.sqrt(6 / (8 + 16))  # glorot_uniform on (8, 16)
    assert np.abs(d1[0]).max() <= limit and d1[0].std() > limit / 4
    assert not d1[1].any()  # zeros bias
    assert (d2[0] == 1).all() and (d2[1] == 1).all()
    again = init_weights(propagate(graph), {"batch": 1}, seed=3)
    assert np.array_equal(again[graph.layers[1]][0], d1[0])


SIAMESE_DENSE = """
import keras
from keras import layers
a = keras.Input((6,), name="a")
b = keras.Input((6,), name="b")
shared = layers.Dense(5, activation="relu", name="shared")
d = layers.Subtract(name="diff")([shared(a), shared(b)])
out = layers.Dense(1, name="out")(d)
model = keras.Model([a, b], out, name="siamese_dense")
"""


def test_shared_layer_uses_one_weight_set_on_each_call() -> None:
    graph = _graph(SIAMESE_DENSE)
    analysis = propagate(graph)
    weights = init_weights(analysis, {"batch": 3})
    shared = next(layer for layer in graph.layers if layer.name == "shared")
    k, bias = weights[shared]
    rng = _rng()
    a, b = (rng.standard_normal((3, 6), dtype=np.float32) for _ in range(2))
    ex = execute(graph, [a, b], weights, keep=True)
    runs = [r for r in ex.calls if r.call.layer is shared]
    assert len(runs) == 2 and all(r.outputs is not None for r in runs)
    np.testing.assert_allclose(runs[0].outputs[0], np.maximum(a @ k + bias, 0), rtol=1e-6)
    np.testing.assert_allclose(runs[1].outputs[0], np.maximum(b @ k + bias, 0), rtol=1e-6)


def _keras_siamese() -> Any:
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    shared = keras.layers.Dense(5, activation="tanh", name="shared")
    d = keras.layers.Subtract(name="diff")([shared(a), shared(b)])
    out = keras.layers.Dense(2, activation="softmax", name="out")(d)
    return keras.Model([a, b], out, name="siamese_dense")


def _keras_nested() -> Any:
    inner = keras.Sequential([keras.Input((7,)), keras.layers.Dense(9, activation="relu",
                                                                   name="inner_a"),
                              keras.layers.Dense(3, name="inner_b")], name="encoder")
    x = keras.Input((7,), name="x")
    y = keras.Input((7,), name="y")
    joined = keras.layers.Concatenate(name="join")([inner(x), inner(y)])
    out = keras.layers.Dense(4, activation="sigmoid", name="head")(joined)
    return keras.Model([x, y], out, name="outer")


@pytest.mark.oracle
@pytest.mark.parametrize("build", [_keras_siamese, _keras_nested], ids=["shared", "nested"])
def test_multi_input_models_match_keras(build: Any) -> None:
    model = build()
    rng = _rng()
    inputs = [rng.standard_normal((3, *m.shape[1:]), dtype=np.float32) for m in model.inputs]
    problems = compare_layer_by_layer(model, inputs)
    assert problems == []
    graph = convcalc_graph(model)
    ex = execute(graph, inputs, transfer_weights(model, graph))
    (out,) = ex.outputs
    assert out is not None
    assert_close(out, np.asarray(model.predict(inputs, verbose=0)), "model output")


@pytest.mark.oracle
def test_nested_model_forward_takes_its_flat_weights() -> None:
    model = _keras_nested()
    graph = convcalc_graph(model)
    encoder = next(layer for layer in graph.layers if layer.name == "encoder")
    x = _rng().standard_normal((2, 7), dtype=np.float32)
    flat = weight_values(model.get_layer("encoder"))
    assert encoder.spec is not None
    (got,) = encoder.spec.forward([x], flat, {})
    assert_close(got, np.asarray(model.get_layer("encoder")(x)), "encoder")


BRANCHES = """
import keras
from keras import layers
x = keras.Input((4,), name="x")
a = layers.Dense(3, name="kept")(x)
b = layers.Lambda(lambda t: t * keras.random.uniform((4,)), name="opaque")(x)  # random
c = layers.Dense(2, name="after_opaque")(b)
model = keras.Model(x, [a, c], name="branches")
"""


def test_layer_without_forward_skips_only_its_downstream() -> None:
    graph = _graph(BRANCHES)
    weights = init_weights(propagate(graph), {"batch": 2})
    x = _rng().standard_normal((2, 4), dtype=np.float32)
    ex = execute(graph, [x], weights)
    status = {r.call.layer.name: r.status for r in ex.calls}
    assert status == {"x": OK, "kept": OK, "opaque": NO_FORWARD, "after_opaque": SKIPPED}
    kept, skipped = ex.outputs
    assert kept is not None and kept.shape == (2, 3) and skipped is None


def test_check_reports_cc302_once_and_runs_the_rest() -> None:
    result = check(BRANCHES, samples=3)
    (m,) = result.models
    assert [d.code for d in m.diagnostics] == ["CC302"]
    assert m.diagnostics[0].layer == "opaque"
    assert len(m.runs) == 1  # no unknown sizes: one run
    assert m.runs[0].executed == 2 and m.runs[0].shapes_checked == 2
    assert result.exit_code == 1


def test_check_finds_a_forward_that_disagrees_with_the_shape_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def wrong(self: Dense, inputs: Any, weights: Any, kwargs: Any) -> tuple[Any, ...]:
        x = inputs[0]
        return (np.zeros((*x.shape[:-1], self.units + 1), np.float32),)

    monkeypatch.setattr(Dense, "forward", wrong)
    result = check(CHAIN)
    codes = [(d.code, d.layer) for d in result.models[0].diagnostics]
    assert codes == [("CC301", "d1"), ("CC301", "d2"), ("CC301", "d3")]
    assert "(2, 17)" in result.models[0].diagnostics[0].message
    assert result.exit_code == 1


def test_check_of_a_clean_model_exits_0() -> None:
    result = check(CHAIN, batch=3)
    (m,) = result.models
    assert m.diagnostics == [] and result.exit_code == 0
    (run,) = m.runs
    assert run.batch == 3 and run.executed == 4
    assert [x.shapes for x in run.layers] == [((3, 8),), ((3, 16),), ((3, 16),), ((3, 4),)]
    assert [x.static for x in run.layers] == [("(3, 8)",), ("(3, 16)",), ("(3, 16)",),
                                              ("(3, 4)",)]


SYMBOLIC = """
import keras
from keras import layers
x = keras.Input((None, 5), name="seq")
y = layers.Dense(3, name="proj")(x)
model = keras.Model(x, y, name="symbolic")
"""


def test_unknown_sizes_are_bound_to_several_values() -> None:
    result = check(SYMBOLIC, samples=3, keep_outputs=True)
    (m,) = result.models
    assert [r.sizes for r in m.runs] == [{"T": 7}, {"T": 32}, {"T": 19}]
    assert [r.layers[-1].shapes for r in m.runs] == [((2, 7, 3),), ((2, 32, 3),),
                                                     ((2, 19, 3),)]
    outs = m.runs[0].layers[-1].outputs
    assert outs is not None and outs[0].shape == (2, 7, 3)
    assert m.diagnostics == []


def _require(kind: str, lhs: Any, rhs: Any = 1) -> PendingRequirement:
    graph = _graph(CHAIN)
    req = Requirement(kind, lhs, rhs, NON_POSITIVE_DIM, "test")
    return PendingRequirement(req, graph.calls[1])


def test_sample_sizes_satisfy_the_requirements() -> None:
    h, w = dims.Sym("H"), dims.Sym("W")
    # H a multiple of 8 (8*floor(H/8) == H); H >= 20 (floor((H - 12)/2) - 3 >= 1);
    # W == H + 1. Targets 7, 32, 19, 50 give 24, 32, 24 (again, dropped), 56.
    multiple = _require("equal", dims.mul(8, dims.floordiv(h, 8)), h)
    large = _require("positive", dims.sub(dims.floordiv(dims.sub(h, 12), 2), 3))
    tied = _require("equal", w, dims.add(h, 1))
    got = sample_sizes(["H", "W"], [multiple, large, tied], {"batch": 2}, 3)
    assert got == [{"H": 24, "W": 25}, {"H": 32, "W": 33}, {"H": 56, "W": 57}]
    assert sample_sizes(["H"], [_require("equal", h, dims.add(h, 1))], {}, 2) == []


def test_check_graph_with_given_input_shape() -> None:
    graph = _graph(SYMBOLIC)
    m = check_graph(graph, input_shapes=[(11, 5)], batch=1)
    assert [r.sizes for r in m.runs] == [{}]
    assert m.runs[0].layers[-1].shapes == ((1, 11, 3),)


FLAT = """
import keras
from keras import layers
x = keras.Input((None, 5), name="seq")
y = layers.Dense(3, name="head")(layers.Reshape((-1,), name="flat")(x))
model = keras.Model(x, y, name="flat")
"""


def test_given_weights_fix_the_sizes_they_depend_on() -> None:
    graph = _graph(FLAT)
    head = next(layer for layer in graph.layers if layer.name == "head")
    weights = {head: [np.ones((30, 3), np.float32), np.zeros(3, np.float32)]}
    m = check_graph(graph, weights=weights, weights_from="test", samples=2)
    assert [r.sizes for r in m.runs] == [{"T": 6}]  # 6 * 5 == 30 rows of the kernel
    assert m.runs[0].layers[-1].shapes == ((2, 3),)


BROKEN = """
import keras
from keras import layers
x = keras.Input((4,), name="x")
a = layers.Dense(3, name="a")(x)
b = layers.Dense(5, name="b")(x)
m = layers.Add(name="bad_add")([a, b])
out = layers.Dense(2, name="out")(m)
model = keras.Model(x, [out, a], name="broken")
"""


def test_calls_propagation_found_broken_are_not_run() -> None:
    result = check(BROKEN)
    (m,) = result.models
    assert [d.code for d in m.report.diagnostics] == ["CC101"]
    assert m.diagnostics == []  # no forward failure (CC199) for the broken Add
    status = {x.layer: x.status for x in m.runs[0].layers}
    assert status == {"x": OK, "a": OK, "b": OK, "bad_add": SKIPPED, "out": SKIPPED}
    assert result.exit_code == 1


FOLDABLE = """
import keras
from keras import layers
x = keras.Input((6,), name="x")
a = layers.Dense(8, name="fc1")(x)
a = layers.BatchNormalization(name="bn1")(a)
a = layers.Activation("relu", name="act1")(a)
b = layers.Dense(8, activation="relu", name="fc2")(a)
c = layers.Dense(5, use_bias=False, name="fc3")(b)
c = layers.BatchNormalization(name="bn3", center=False)(c)
d = layers.ReLU(6.0, name="relu6")(c)
e = layers.Add(name="add")([d, layers.Dense(5, name="side")(b)])
f = layers.Activation("relu", name="act_out")(e)
model = keras.Model(x, [f, c], name="foldable")
"""


def test_fused_plan_gives_the_same_outputs() -> None:
    from convcalc.fusion import plan

    graph = _graph(FOLDABLE)
    weights = init_weights(propagate(graph), {"batch": 4}, seed=1)
    rng = _rng()
    for layer in graph.layers:  # BatchNorm statistics away from 0 and 1
        if layer.class_name == "BatchNormalization":
            weights[layer] = [rng.uniform(0.5, 1.5, w.shape).astype(np.float32)
                              for w in weights[layer]]
    steps = plan(graph, weights)
    names = {graph.calls[i].layer.name: s for i, s in steps.items()}
    # bn3 folds into fc3 (its output, a model output, is then fc3's); relu6 reads that
    # model output, so it must not overwrite it in place
    assert sorted(names) == ["act1", "act_out", "bn1", "bn3", "fc1", "fc2", "fc3"]
    assert names["bn1"].alias and names["fc1"].weights is not None
    assert names["bn3"].alias and names["fc3"].weights is not None
    assert names["fc2"].post == "relu" and names["act_out"].post == "relu"
    x = rng.standard_normal((4, 6), dtype=np.float32)
    plain = execute(graph, [x], weights).outputs
    fused = execute(graph, [x], weights, plan=steps).outputs
    for got, want in zip(fused, plain, strict=True):
        assert got is not None and want is not None
        assert_close(got, want, "fused")
    assert (plain[0] >= 0).all() and (plain[1] < 0).any()  # the relus did something


NESTED_OPAQUE = """
import keras
from keras import layers
inner = keras.Sequential([
    keras.Input((4,)),
    layers.Dense(3, name="inner_dense"),
    layers.Lambda(lambda t: t + keras.random.normal((3,)), name="inner_opaque"),
], name="inner")
x = keras.Input((4,), name="x")
model = keras.Model(x, [inner(x), layers.Dense(2, name="side")(x)], name="outer")
"""


def test_nested_model_with_an_opaque_layer_reports_that_layer_only() -> None:
    result = check(NESTED_OPAQUE)
    (m,) = result.models
    assert [(d.code, d.layer) for d in m.diagnostics] == [("CC302", "inner_opaque")]
    assert "(in inner)" in m.diagnostics[0].message
    status = {(x.path, x.layer): x.status for x in m.runs[0].layers}
    assert status[((), "inner")] == SKIPPED and status[((), "side")] == OK
    assert status[(("inner",), "inner_dense")] == OK
