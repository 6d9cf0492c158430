"""The Keras config reader on small hand-written configs: every form, every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from conftest import FIXTURES, ROOT

from convcalc import dims
from convcalc.frontend import Loaded
from convcalc.frontend.config import load_config, load_config_text
from convcalc.graph import Layer, LayerGraph, TensorRef
from convcalc.layers.core import InputLayer
from convcalc.layers.model import ModelSpec
from convcalc.propagate import Analysis, propagate

POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
          "registered_name": None}


# ------------------------------------------------------------------ config builders
def k3_tensor(layer: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None, "dtype": "float32", "keras_history": [layer, node, index]}}


def k3_input(name: str, shape: list[Any], dtype: str = "float32") -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": shape, "dtype": dtype, "sparse": False, "ragged": False,
                       "name": name, "optional": False},
            "registered_name": None, "name": name, "inbound_nodes": []}


def k3_layer(cls: str, name: str, config: dict[str, Any], *calls: tuple[list[Any], dict[str, Any]]
             ) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": cls,
            "config": {"name": name, "trainable": True, "dtype": POLICY, **config},
            "registered_name": None, "name": name,
            "inbound_nodes": [{"args": args, "kwargs": kwargs} for args, kwargs in calls]}


def k3_call(*args: Any, **kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    return list(args), kwargs


def k3_model(name: str, layers: list[Any], inputs: Any, outputs: Any) -> dict[str, Any]:
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": layers,
                       "input_layers": inputs, "output_layers": outputs},
            "registered_name": "Functional", "build_config": {"input_shape": None},
            "compile_config": {}}


def k2_input(name: str, shape: list[Any]) -> dict[str, Any]:
    return {"class_name": "InputLayer",
            "config": {"batch_input_shape": shape, "dtype": "float32", "sparse": False,
                       "ragged": False, "name": name},
            "name": name, "inbound_nodes": []}


def k2_layer(cls: str, name: str, config: dict[str, Any], *nodes: list[Any]) -> dict[str, Any]:
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32",
                                          **config},
            "name": name, "inbound_nodes": list(nodes)}


def k2_model(name: str, layers: list[Any], inputs: Any, outputs: Any,
             class_name: str = "Functional") -> dict[str, Any]:
    return {"class_name": class_name,
            "config": {"name": name, "trainable": True, "layers": layers,
                       "input_layers": inputs, "output_layers": outputs},
            "keras_version": "2.21.0", "backend": "tensorflow"}


def sequential(layers: list[Any], name: str = "seq", **extra: Any) -> dict[str, Any]:
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers, **extra}}


def seq_layer(cls: str, name: str, **config: Any) -> dict[str, Any]:
    return {"class_name": cls, "config": {"name": name, "trainable": True, **config}}


def dense(name: str, units: int, *calls: tuple[list[Any], dict[str, Any]],
          **config: Any) -> dict[str, Any]:
    return k3_layer("Dense", name, {"units": units, **config}, *calls)


# ---------------------------------------------------------------------------- helpers
def read(obj: Any, pretty: bool = False) -> Loaded:
    return load_config_text(json.dumps(obj, indent=2 if pretty else None), "m.json")


def analyse(obj: Any) -> tuple[LayerGraph, Analysis, list[str]]:
    loaded = read(obj)
    assert loaded.usable, [str(d) for d in loaded.diagnostics]
    (graph,) = loaded.models
    analysis = propagate(graph)
    return graph, analysis, [d.code for d in loaded.diagnostics + analysis.diagnostics]


def layer(graph: LayerGraph, name: str) -> Layer:
    (found,) = [x for x in graph.layers if x.name == name]
    return found


def out_shapes(graph: LayerGraph, analysis: Analysis, name: str) -> list[list[Any]]:
    """Per call, the output shapes as Keras prints them (None for symbolic dims)."""
    return [
        [None if t is None else [d if dims.is_int(d) else None for d in t.shape]
         for t in analysis.calls[c.id].outputs]
        for c in graph.calls_of(layer(graph, name))
    ]


def params(analysis: Analysis, graph: LayerGraph, name: str) -> tuple[Any, Any, Any]:
    r = analysis.result(layer(graph, name))
    return r.params, r.trainable_params, r.non_trainable_params


def codes(loaded: Loaded) -> list[str]:
    return [d.code for d in loaded.diagnostics]


def visible(graph: LayerGraph) -> list[str]:
    return [x.name for x in graph.layers if not x.hidden]


# -------------------------------------------------------------------- functional forms
def keras3_mlp() -> dict[str, Any]:
    return k3_model("mlp", [
        k3_input("x", [None, 8]),
        dense("hidden", 16, k3_call(k3_tensor("x")), activation="relu"),
        dense("out", 2, k3_call(k3_tensor("hidden"))),
    ], ["x", 0, 0], ["out", 0, 0])


def test_keras3_functional_with_flattened_single_input_and_output() -> None:
    graph, analysis, found = analyse(keras3_mlp())
    assert found == []
    assert graph.kind == "Functional" and graph.name == "mlp"
    assert visible(graph) == ["x", "hidden", "out"]
    assert out_shapes(graph, analysis, "out") == [[[None, 2]]]
    assert params(analysis, graph, "hidden") == (144, 144, 0)
    assert [str(t) for t in analysis.output_types] == ["(None, 2)"]


@pytest.mark.parametrize("class_name", ["Functional", "Model"])
def test_keras2_functional_with_list_nodes(class_name: str) -> None:
    model = k2_model("mlp", [
        k2_input("x", [None, 8]),
        k2_layer("Dense", "hidden", {"units": 16}, [["x", 0, 0, {}]]),
        k2_layer("Dense", "out", {"units": 2}, [["hidden", 0, 0, {}]]),
    ], [["x", 0, 0]], [["out", 0, 0]], class_name)
    graph, analysis, found = analyse(model)
    assert found == []
    assert out_shapes(graph, analysis, "out") == [[[None, 2]]]
    assert params(analysis, graph, "out") == (34, 34, 0)


def test_get_config_form_without_class_name() -> None:
    cfg = keras3_mlp()["config"]
    graph, analysis, found = analyse(cfg)
    assert found == [] and graph.kind == "Functional"
    seq = sequential([k3_input("in", [None, 3]), seq_layer("Dense", "d", units=2)])["config"]
    graph, analysis, found = analyse(seq)
    assert found == [] and graph.kind == "Sequential"
    assert out_shapes(graph, analysis, "d") == [[[None, 2]]]


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
def test_multi_input_layer(dialect: str) -> None:
    if dialect == "keras3":
        model = k3_model("m", [
            k3_input("a", [None, 4]), k3_input("b", [None, 6]),
            k3_layer("Concatenate", "cat", {"axis": -1},
                     k3_call([k3_tensor("a"), k3_tensor("b")])),
        ], [["a", 0, 0], ["b", 0, 0]], ["cat", 0, 0])
    else:
        model = k2_model("m", [
            k2_input("a", [None, 4]), k2_input("b", [None, 6]),
            k2_layer("Concatenate", "cat", {"axis": -1}, [["a", 0, 0, {}], ["b", 0, 0, {}]]),
        ], [["a", 0, 0], ["b", 0, 0]], [["cat", 0, 0]])
    graph, analysis, found = analyse(model)
    assert found == []
    assert out_shapes(graph, analysis, "cat") == [[[None, 10]]]
    (call,) = graph.calls_of(layer(graph, "cat"))
    assert len(call.inputs) == 2


def shared_model(dialect: str) -> dict[str, Any]:
    """``shared`` is called on ``a`` then on ``b``; ``sub`` reads call 1 then call 0."""
    if dialect == "keras3":
        return k3_model("m", [
            k3_input("a", [None, 4]), k3_input("b", [None, 4]),
            dense("shared", 3, k3_call(k3_tensor("a")), k3_call(k3_tensor("b"))),
            k3_layer("Subtract", "sub", {},
                     k3_call([k3_tensor("shared", 1), k3_tensor("shared", 0)])),
        ], [["a", 0, 0], ["b", 0, 0]], ["sub", 0, 0])
    return k2_model("m", [
        k2_input("a", [None, 4]), k2_input("b", [None, 4]),
        k2_layer("Dense", "shared", {"units": 3}, [["a", 0, 0, {}]], [["b", 0, 0, {}]]),
        k2_layer("Subtract", "sub", {}, [["shared", 1, 0, {}], ["shared", 0, 0, {}]]),
    ], [["a", 0, 0], ["b", 0, 0]], [["sub", 0, 0]])


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
def test_shared_layer_has_one_call_per_node(dialect: str) -> None:
    graph, analysis, found = analyse(shared_model(dialect))
    assert found == []
    shared = layer(graph, "shared")
    first, second = graph.calls_of(shared)
    assert (first.call_index, second.call_index) == (0, 1)
    assert graph.calls[first.inputs[0].node].layer.name == "a"
    assert graph.calls[second.inputs[0].node].layer.name == "b"
    (sub,) = graph.calls_of(layer(graph, "sub"))
    assert sub.inputs == (TensorRef(second.id), TensorRef(first.id))
    assert params(analysis, graph, "shared") == (15, 15, 0)
    assert out_shapes(graph, analysis, "shared") == [[[None, 3]], [[None, 3]]]


def test_shared_layer_called_on_a_later_layer() -> None:
    """A(B(A(x))): the second call of A reads B, which comes after A in the list."""
    model = k3_model("m", [
        k3_input("x", [None, 4]),
        dense("a", 4, k3_call(k3_tensor("x")), k3_call(k3_tensor("b"))),
        dense("b", 4, k3_call(k3_tensor("a", 0))),
    ], ["x", 0, 0], ["a", 1, 0])
    graph, analysis, found = analyse(model)
    assert found == []
    order = [c.layer.name for c in graph.ordered_calls()]
    assert order == ["x", "a", "b", "a"]
    assert out_shapes(graph, analysis, "a") == [[[None, 4]], [[None, 4]]]
    assert [str(t) for t in analysis.output_types] == ["(None, 4)"]


def test_multiple_outputs_and_dict_inputs_in_sorted_key_order() -> None:
    model = k3_model("m", [
        k3_input("b_in", [None, 2]), k3_input("a_in", [None, 5]),
        dense("p", 1, k3_call(k3_tensor("a_in"))),
        dense("q", 3, k3_call(k3_tensor("b_in"))),
    ], {"zeta": ["b_in", 0, 0], "alpha": ["a_in", 0, 0]}, [["q", 0, 0], ["p", 0, 0]])
    graph, analysis, found = analyse(model)
    assert found == []
    assert [graph.calls[r.node].layer.name for r in graph.inputs] == ["a_in", "b_in"]
    assert [str(t) for t in analysis.output_types] == ["(None, 3)", "(None, 1)"]


# --------------------------------------------------------------------- nested models
def inner_sequential() -> dict[str, Any]:
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": "block", "trainable": True, "dtype": POLICY,
                       "layers": [
                           {"module": "keras.layers", "class_name": "InputLayer",
                            "config": {"batch_shape": [None, 4], "dtype": "float32",
                                       "name": "block_in"}, "registered_name": None},
                           {"module": "keras.layers", "class_name": "Dense",
                            "config": {"name": "block_dense", "units": 6}},
                       ], "build_input_shape": [None, 4]},
            "registered_name": None, "name": "block"}


def test_nested_sequential_in_functional() -> None:
    block = inner_sequential()
    block["inbound_nodes"] = [{"args": [k3_tensor("x")], "kwargs": {"mask": None}}]
    model = k3_model("outer", [
        k3_input("x", [None, 4]), block, dense("head", 1, k3_call(k3_tensor("block"))),
    ], ["x", 0, 0], ["head", 0, 0])
    graph, analysis, found = analyse(model)
    assert found == []
    nested = layer(graph, "block")
    assert isinstance(nested.spec, ModelSpec)
    assert nested.spec.graph.kind == "Sequential"
    assert visible(nested.spec.graph) == ["block_dense"]
    assert params(analysis, graph, "block") == (30, 30, 0)
    assert out_shapes(graph, analysis, "head") == [[[None, 1]]]
    (call,) = graph.calls_of(nested)
    assert call.kwargs == {"mask": None}


def inner_functional() -> dict[str, Any]:
    inner = k3_model("inner", [
        k3_input("ii", [None, 4]), dense("d_in", 3, k3_call(k3_tensor("ii"))),
    ], ["ii", 0, 0], ["d_in", 0, 0])
    inner["name"] = "inner"
    return inner


def test_nested_functional_called_twice_keras3() -> None:
    """Keras 3 counts the nested model's own node in output_layers only."""
    inner = inner_functional()
    inner["inbound_nodes"] = [{"args": [k3_tensor("x")], "kwargs": {}},
                              {"args": [k3_tensor("pre")], "kwargs": {}}]
    model = k3_model("outer", [
        k3_input("x", [None, 4]),
        dense("pre", 4, k3_call(k3_tensor("x"))),
        inner,
        dense("post", 7, k3_call(k3_tensor("inner", 1))),
    ], ["x", 0, 0], [["post", 0, 0], ["inner", 1, 0]])
    graph, analysis, found = analyse(model)
    assert found == []
    first, second = graph.calls_of(layer(graph, "inner"))
    (post,) = graph.calls_of(layer(graph, "post"))
    assert post.inputs == (TensorRef(second.id),)
    assert graph.outputs[1] == TensorRef(first.id)
    assert params(analysis, graph, "inner") == (15, 15, 0)
    assert out_shapes(graph, analysis, "inner") == [[[None, 3]], [[None, 3]]]


def test_nested_functional_called_twice_keras2() -> None:
    """Keras 2 counts the nested model's own node everywhere."""
    inner = k2_model("inner", [
        k2_input("ii", [None, 4]),
        k2_layer("Dense", "d_in", {"units": 3}, [["ii", 0, 0, {}]]),
    ], [["ii", 0, 0]], [["d_in", 0, 0]])
    inner["name"] = "inner"
    inner["inbound_nodes"] = [[["x", 0, 0, {}]], [["pre", 0, 0, {}]]]
    model = k2_model("outer", [
        k2_input("x", [None, 4]),
        k2_layer("Dense", "pre", {"units": 4}, [["x", 0, 0, {}]]),
        inner,
        k2_layer("Dense", "post", {"units": 7}, [["inner", 2, 0, {}]]),
    ], [["x", 0, 0]], [["post", 0, 0], ["inner", 1, 0]])
    graph, analysis, found = analyse(model)
    assert found == []
    first, second = graph.calls_of(layer(graph, "inner"))
    (post,) = graph.calls_of(layer(graph, "post"))
    assert post.inputs == (TensorRef(second.id),)
    assert graph.outputs[1] == TensorRef(first.id)
    assert out_shapes(graph, analysis, "post") == [[[None, 7]]]


def test_nested_sequential_without_input_takes_the_call_shape() -> None:
    block = {"class_name": "Sequential", "name": "block",
             "config": {"name": "block", "layers": [seq_layer("Dense", "bd", units=5)]},
             "inbound_nodes": [[["x", 0, 0, {}]]]}
    model = k2_model("outer", [k2_input("x", [None, 9]), block], [["x", 0, 0]],
                     [["block", 0, 0]])
    graph, analysis, found = analyse(model)
    assert found == []
    assert out_shapes(graph, analysis, "block") == [[[None, 5]]]
    assert params(analysis, graph, "block") == (50, 50, 0)


@pytest.mark.oracle
def test_nested_shared_and_tensor_kwargs_against_keras() -> None:
    """Real Keras 3 writes the JSON; every layer's shapes and params must match it."""
    import keras
    from keras import layers as kl

    i = keras.Input((4,), name="ii")
    inner = keras.Model(i, kl.Dense(3, name="d_in")(i), name="inner")
    seq = keras.Sequential([keras.Input((3,)), kl.Dense(2, name="sd")], name="seq")
    x = keras.Input((4,), name="x")
    q = keras.Input((5, 6), name="q")
    v = keras.Input((7, 3), name="v")
    a, b = inner(x), inner(kl.Dense(4, name="pre")(x))
    att = kl.MultiHeadAttention(2, 4, name="mha")(q, v, key=v)
    h = kl.Dense(8, name="h")(kl.Flatten(name="flat")(q))
    lstm = kl.LSTM(8, name="lstm")(att, initial_state=[h, h])
    outs = [kl.Add(name="add")([a, b]), seq(a), b, lstm]
    model = keras.Model([x, q, v], outs, name="outer")
    graph, analysis, found = analyse(json.loads(model.to_json()))
    assert found == []
    for kl_layer in model.layers:
        ours = layer(graph, kl_layer.name)
        result = analysis.result(ours)
        assert result.params == kl_layer.count_params(), kl_layer.name
        for node, call in zip(kl_layer._inbound_nodes, graph.calls_of(ours), strict=False):
            want = [list(t.shape) for t in node.output_tensors]
            assert out_shapes(graph, analysis, kl_layer.name)[call.call_index] == want
    assert [[d if dims.is_int(d) else None for d in t.shape]  # type: ignore[union-attr]
            for t in analysis.output_types] == [list(t.shape) for t in model.outputs]


# --------------------------------------------------------------------- Sequential forms
def check_sequential(model: dict[str, Any], input_name: str, batch_shape: list[Any],
                     names: list[str]) -> tuple[LayerGraph, Analysis]:
    graph, analysis, found = analyse(model)
    assert found == []
    assert graph.kind == "Sequential"
    auto = graph.layers[0]
    assert auto.hidden and auto.class_name == "InputLayer" and auto.name == input_name
    (input_type,) = analysis.input_types
    assert input_type is not None
    assert [d if dims.is_int(d) else None for d in input_type.shape] == batch_shape
    assert visible(graph) == names
    return graph, analysis


def test_sequential_keras3() -> None:
    model = {"module": "keras", "class_name": "Sequential",
             "config": {"name": "s", "trainable": True, "dtype": POLICY, "layers": [
                 {"module": "keras.layers", "class_name": "InputLayer",
                  "config": {"batch_shape": [None, 5], "dtype": "float32",
                             "name": "input_layer"}, "registered_name": None},
                 {"module": "keras.layers", "class_name": "Dense",
                  "config": {"name": "d", "units": 3, "dtype": POLICY},
                  "registered_name": None, "build_config": {"input_shape": [None, 5]}},
             ], "build_input_shape": [None, 5]},
             "registered_name": None, "build_config": {"input_shape": [None, 5]}}
    graph, analysis = check_sequential(model, "input_layer", [None, 5], ["d"])
    assert out_shapes(graph, analysis, "d") == [[[None, 3]]]


def test_sequential_keras2_with_synthesized_input_and_batch_input_shape() -> None:
    model = sequential([
        {"class_name": "InputLayer", "config": {"batch_input_shape": [4, 6], "dtype": "float32",
                                                "name": "d_input"}},
        seq_layer("Dense", "d", units=3, batch_input_shape=[4, 6]),
        seq_layer("Dense", "e", units=2),
    ])
    graph, analysis = check_sequential(model, "d_input", [4, 6], ["d", "e"])
    assert out_shapes(graph, analysis, "e") == [[[4, 2]]]


def test_sequential_keras_2_2_bare_layer_list() -> None:
    model = {"class_name": "Sequential", "config": [
        seq_layer("Dense", "d", units=3, batch_input_shape=[None, 6]),
        seq_layer("Dense", "e", units=2),
    ], "keras_version": "2.2.4"}
    graph, analysis = check_sequential(model, "d_input", [None, 6], ["d", "e"])
    assert params(analysis, graph, "d") == (21, 21, 0)


def test_sequential_deferred_with_build_input_shape() -> None:
    model = sequential([seq_layer("Dense", "d", units=3)], build_input_shape=[None, 7])
    graph, analysis = check_sequential(model, "input_layer", [None, 7], ["d"])
    assert params(analysis, graph, "d") == (24, 24, 0)


def test_sequential_deferred_with_top_level_build_config() -> None:
    model = sequential([seq_layer("Dense", "d", units=3)])
    model["build_config"] = {"input_shape": [None, 2]}
    check_sequential(model, "input_layer", [None, 2], ["d"])


def test_sequential_first_layer_input_dim() -> None:
    model = sequential([seq_layer("Dense", "d", units=3, input_dim=20)])
    graph, analysis = check_sequential(model, "d_input", [None, 20], ["d"])
    assert params(analysis, graph, "d") == (63, 63, 0)


def test_sequential_first_layer_input_shape_and_batch_size() -> None:
    model = sequential([seq_layer("Conv1D", "c", filters=2, kernel_size=3,
                                  input_shape=[None, 5], batch_size=8)])
    graph, analysis = check_sequential(model, "c_input", [8, None, 5], ["c"])
    assert out_shapes(graph, analysis, "c") == [[[8, None, 2]]]


def test_sequential_first_layer_nested_model_gives_the_input() -> None:
    block = inner_sequential()
    model = sequential([block, seq_layer("Dense", "head", units=1)])
    graph, analysis = check_sequential(model, "input_layer", [None, 4], ["block", "head"])
    assert out_shapes(graph, analysis, "head") == [[[None, 1]]]


def test_sequential_without_input_shape_cannot_be_analysed() -> None:
    loaded = read(sequential([seq_layer("Dense", "d", units=3)]))
    assert codes(loaded) == ["CC109"]
    (graph,) = loaded.models
    analysis = propagate(graph)
    assert analysis.diagnostics == []
    assert analysis.output_types == [None]


def test_functional_inputs_are_listed_but_sequential_input_is_hidden() -> None:
    graph, _, _ = analyse(keras3_mlp())
    assert not layer(graph, "x").hidden
    graph, _, _ = analyse(sequential([k3_input("in", [None, 3]),
                                      seq_layer("Dense", "d", units=2)]))
    assert layer(graph, "in").hidden


def test_keras2_embedding_batch_input_shape_is_not_an_input() -> None:
    model = k2_model("m", [
        k2_input("tokens", [None, 10]),
        k2_layer("Embedding", "embed", {"input_dim": 100, "output_dim": 8,
                                        "batch_input_shape": [None, None],
                                        "input_length": None}, [["tokens", 0, 0, {}]]),
    ], [["tokens", 0, 0]], [["embed", 0, 0]])
    graph, analysis, found = analyse(model)
    assert found == []
    assert len(graph.inputs) == 1
    assert out_shapes(graph, analysis, "embed") == [[[None, 10, 8]]]


def test_keras2_sequential_starting_with_embedding_uses_its_shape() -> None:
    model = {"class_name": "Sequential", "config": [
        seq_layer("Embedding", "embed", input_dim=100, output_dim=8, input_length=12,
                  batch_input_shape=[None, 12]),
    ]}
    graph, analysis = check_sequential(model, "embed_input", [None, 12], ["embed"])
    assert out_shapes(graph, analysis, "embed") == [[[None, 12, 8]]]


# ------------------------------------------------------------- trainable and dtype
def test_non_trainable_layer_weights_count_as_non_trainable() -> None:
    model = keras3_mlp()
    model["config"]["layers"][1]["config"]["trainable"] = False
    graph, analysis, _ = analyse(model)
    assert layer(graph, "hidden").trainable is False
    assert params(analysis, graph, "hidden") == (144, 0, 144)
    assert params(analysis, graph, "out") == (34, 34, 0)


def test_non_trainable_model_makes_every_layer_non_trainable() -> None:
    model = keras3_mlp()
    model["config"]["trainable"] = False
    graph, analysis, _ = analyse(model)
    assert params(analysis, graph, "out") == (34, 0, 34)


@pytest.mark.parametrize(("dtype", "expected"), [
    ({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float16"}}, "float16"),
    ({"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}},
     "float32"),
    ({"class_name": "Policy", "config": {"name": "mixed_bfloat16"}}, "float32"),
    ("float64", "float64"),
    (None, "float32"),
])
def test_dtype_policies(dtype: Any, expected: str) -> None:
    model = keras3_mlp()
    model["config"]["layers"][1]["config"]["dtype"] = dtype
    graph, _, _ = analyse(model)
    assert layer(graph, "hidden").dtype == expected


def test_input_dtype() -> None:
    model = keras3_mlp()
    model["config"]["layers"][0]["config"]["dtype"] = "int32"
    graph, analysis, _ = analyse(model)
    assert layer(graph, "x").dtype == "int32"
    assert analysis.input_types[0].dtype == "int32"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- spans
def test_spans_point_at_the_layer_name_line() -> None:
    model = shared_model("keras3")
    text = json.dumps(model, indent=2)
    loaded = load_config_text(text, "m.json")
    (graph,) = loaded.models
    lines = text.splitlines()
    for lay in graph.layers:
        assert lay.span is not None and lay.span.file == "m.json"
        line = lines[lay.span.line - 1]
        assert line[lay.span.col:].startswith(f'"name": "{lay.name}"'), lay.name
        assert all(c.span == lay.span for c in graph.calls_of(lay))
    assert graph.span is not None and lines[graph.span.line - 1].strip() == '"name": "m",'


def test_spans_in_one_line_json_have_columns() -> None:
    text = json.dumps(keras3_mlp())
    (graph,) = load_config_text(text, "m.json").models
    for lay in graph.layers:
        assert lay.span is not None and lay.span.line == 1
        assert text[lay.span.col:].startswith(f'"name": "{lay.name}"')


def test_spans_of_nested_model_layers_and_repeated_names() -> None:
    block = inner_sequential()
    block["inbound_nodes"] = [{"args": [k3_tensor("x")], "kwargs": {}}]
    model = k3_model("outer", [
        k3_input("x", [None, 4]), block, dense("block_dense_2", 1, k3_call(k3_tensor("block"))),
    ], ["x", 0, 0], ["block_dense_2", 0, 0])
    text = json.dumps(model, indent=1)
    (graph,) = load_config_text(text, "m.json").models
    lines = text.splitlines()
    inner = layer(graph, "block").spec
    assert isinstance(inner, ModelSpec)
    spans = [x.span for x in (*graph.layers, *inner.graph.layers)]
    assert all(s is not None for s in spans)
    for lay in (*graph.layers, *inner.graph.layers):
        assert f'"name": "{lay.name}"' in lines[lay.span.line - 1]  # type: ignore[union-attr]
    assert len({s.line for s in spans if s is not None}) == len(spans)


def test_no_spans_without_text() -> None:
    loaded = load_config(keras3_mlp(), "m.json")
    (graph,) = loaded.models
    assert all(x.span is None for x in graph.layers)
    assert all(c.span is None for c in graph.calls)


# ------------------------------------------------------------------- call arguments
def mha_model(dialect: str) -> dict[str, Any]:
    cfg = {"num_heads": 2, "key_dim": 4}
    if dialect == "keras3":
        mha = k3_layer("MultiHeadAttention", "mha", cfg,
                       k3_call(k3_tensor("q"), k3_tensor("v"), key=k3_tensor("k")))
        return k3_model("m", [k3_input("q", [None, 5, 6]), k3_input("v", [None, 7, 3]),
                              k3_input("k", [None, 7, 4]), mha],
                        [["q", 0, 0], ["v", 0, 0], ["k", 0, 0]], ["mha", 0, 0])
    mha = k2_layer("MultiHeadAttention", "mha", cfg,
                   [["q", 0, 0, {"value": ["v", 0, 0], "key": ["k", 0, 0]}]])
    return k2_model("m", [k2_input("q", [None, 5, 6]), k2_input("v", [None, 7, 3]),
                          k2_input("k", [None, 7, 4]), mha],
                    [["q", 0, 0], ["v", 0, 0], ["k", 0, 0]], [["mha", 0, 0]])


@pytest.mark.parametrize("dialect", ["keras3", "keras2"])
def test_tensor_kwargs_bind_in_call_args_order(dialect: str) -> None:
    graph, analysis, found = analyse(mha_model(dialect))
    assert found == []
    (call,) = graph.calls_of(layer(graph, "mha"))
    assert [graph.calls[r.node].layer.name for r in call.inputs] == ["q", "v", "k"]
    assert call.kwargs == {}
    assert out_shapes(graph, analysis, "mha") == [[[None, 5, 6]]]


def test_rnn_initial_state_tensors_are_inputs_and_training_a_kwarg() -> None:
    model = k3_model("m", [
        k3_input("x", [None, 5, 3]), k3_input("h", [None, 8]), k3_input("c", [None, 8]),
        k3_layer("LSTM", "lstm", {"units": 8},
                 k3_call(k3_tensor("x"), initial_state=[k3_tensor("h"), k3_tensor("c")],
                         training=False)),
    ], [["x", 0, 0], ["h", 0, 0], ["c", 0, 0]], ["lstm", 0, 0])
    graph, analysis, found = analyse(model)
    assert found == []
    (call,) = graph.calls_of(layer(graph, "lstm"))
    assert [graph.calls[r.node].layer.name for r in call.inputs] == ["x", "h", "c"]
    assert call.kwargs == {"training": False}
    assert out_shapes(graph, analysis, "lstm") == [[[None, 8]]]


def test_mask_tensor_stays_a_kwarg() -> None:
    model = k3_model("m", [
        k3_input("x", [None, 5, 3]), k3_input("mask", [None, 5]),
        k3_layer("LSTM", "lstm", {"units": 4},
                 k3_call(k3_tensor("x"), mask=k3_tensor("mask"))),
    ], [["x", 0, 0], ["mask", 0, 0]], ["lstm", 0, 0])
    graph, _, found = analyse(model)
    assert found == []
    (call,) = graph.calls_of(layer(graph, "lstm"))
    assert len(call.inputs) == 1
    mask_call = graph.calls_of(layer(graph, "mask"))[0]
    assert call.kwargs == {"mask": TensorRef(mask_call.id)}


def test_keras2_plain_kwargs_are_kept() -> None:
    model = k2_model("m", [
        k2_input("x", [None, 4]),
        k2_layer("Dropout", "drop", {"rate": 0.5}, [["x", 0, 0, {"training": True}]]),
    ], [["x", 0, 0]], [["drop", 0, 0]])
    graph, _, found = analyse(model)
    assert found == []
    (call,) = graph.calls_of(layer(graph, "drop"))
    assert call.kwargs == {"training": True}


# --------------------------------------------------------------------- bad layers
def test_unknown_class_is_cc003_and_analysis_continues() -> None:
    model = k3_model("m", [
        k3_input("x", [None, 4]),
        k3_layer("MyBlock", "mine", {}, k3_call(k3_tensor("x"))),
        dense("after", 2, k3_call(k3_tensor("mine"))),
        dense("side", 3, k3_call(k3_tensor("x"))),
    ], ["x", 0, 0], [["after", 0, 0], ["side", 0, 0]])
    loaded = read(model)
    assert codes(loaded) == ["CC003"]
    assert "MyBlock" in loaded.diagnostics[0].message
    assert loaded.diagnostics[0].layer == "mine"
    (graph,) = loaded.models
    assert layer(graph, "mine").spec is None
    analysis = propagate(graph)
    assert analysis.diagnostics == []
    assert out_shapes(graph, analysis, "after") == [[None]]
    assert out_shapes(graph, analysis, "side") == [[[None, 3]]]


def test_custom_registered_layer_is_cc003_even_with_a_builtin_name() -> None:
    model = keras3_mlp()
    entry = model["config"]["layers"][1]
    entry["registered_name"] = "Custom>Dense"
    entry["module"] = "my_package.layers"
    loaded = read(model)
    assert codes(loaded) == ["CC003"]
    assert "Custom>Dense" in loaded.diagnostics[0].message
    assert layer(loaded.models[0], "hidden").spec is None


def test_invalid_argument_is_cc007() -> None:
    model = keras3_mlp()
    model["config"]["layers"][1]["config"]["units"] = -3
    loaded = read(model)
    assert codes(loaded) == ["CC007"]
    (graph,) = loaded.models
    assert layer(graph, "hidden").spec is None
    assert propagate(graph).diagnostics == []


# ------------------------------------------------------------------ bad references
def mlp_with_ref(ref: list[Any]) -> dict[str, Any]:
    model = keras3_mlp()
    model["config"]["layers"][2]["inbound_nodes"] = [{"args": [k3_tensor(*ref)], "kwargs": {}}]
    return model


@pytest.mark.parametrize("ref", [["nowhere", 0, 0], ["hidden", 1, 0], ["hidden", 0, 3],
                                 ["hidden", -1, 0], ["hidden", "0", 0]])
def test_unresolved_input_is_cc004(ref: list[Any]) -> None:
    loaded = read(mlp_with_ref(ref))
    assert codes(loaded) == ["CC004"]
    assert loaded.diagnostics[0].layer == "out"
    (graph,) = loaded.models
    analysis = propagate(graph)
    assert analysis.diagnostics == []
    assert out_shapes(graph, analysis, "out") == [[None]]
    assert visible(graph) == ["x", "hidden", "out"]


def test_keras2_unresolved_input_is_cc004() -> None:
    model = k2_model("m", [
        k2_input("x", [None, 4]),
        k2_layer("Dense", "d", {"units": 2}, [["ghost", 0, 0, {}]]),
    ], [["x", 0, 0]], [["d", 0, 0]])
    assert codes(read(model)) == ["CC004"]


def test_unresolved_output_is_cc004() -> None:
    model = keras3_mlp()
    model["config"]["output_layers"] = [["out", 0, 0], ["gone", 0, 0]]
    loaded = read(model)
    assert codes(loaded) == ["CC004"]
    assert len(loaded.models[0].outputs) == 1


def test_cycle_is_cc005() -> None:
    model = k3_model("m", [
        k3_input("x", [None, 4]),
        dense("a", 4, k3_call(k3_tensor("b"))),
        dense("b", 4, k3_call(k3_tensor("a"))),
    ], ["x", 0, 0], ["b", 0, 0])
    loaded = read(model)
    assert codes(loaded) == ["CC005"]
    assert not loaded.usable and loaded.models == []


def test_cycle_in_a_nested_model_is_cc005_on_that_layer() -> None:
    inner = k3_model("inner", [
        k3_input("ii", [None, 4]),
        dense("a", 4, k3_call(k3_tensor("a"))),
    ], ["ii", 0, 0], ["a", 0, 0])
    inner["name"] = "inner"
    inner["inbound_nodes"] = [{"args": [k3_tensor("x")], "kwargs": {}}]
    model = k3_model("outer", [k3_input("x", [None, 4]), inner], ["x", 0, 0], ["inner", 1, 0])
    loaded = read(model)
    assert codes(loaded) == ["CC005"]
    (graph,) = loaded.models
    assert layer(graph, "inner").spec is None
    assert propagate(graph).diagnostics == []


def test_malformed_inbound_node_is_cc002() -> None:
    model = keras3_mlp()
    model["config"]["layers"][2]["inbound_nodes"] = ["garbage"]
    loaded = read(model)
    assert codes(loaded) == ["CC002"]
    (graph,) = loaded.models
    analysis = propagate(graph)
    assert analysis.diagnostics == []
    assert out_shapes(graph, analysis, "out") == [[None]]


def test_duplicate_layer_names_are_cc002() -> None:
    model = keras3_mlp()
    model["config"]["layers"][2]["name"] = "hidden"
    model["config"]["layers"][2]["config"]["name"] = "hidden"
    model["config"]["output_layers"] = ["hidden", 0, 0]
    assert "CC002" in codes(read(model))


# -------------------------------------------------------------- bad JSON and shapes
def test_malformed_json_is_cc002_with_line_and_column() -> None:
    text = '{\n  "class_name": "Functional",\n  "config": {"layers": [,]}\n}'
    loaded = load_config_text(text, "bad.json")
    assert codes(loaded) == ["CC002"] and not loaded.usable
    span = loaded.diagnostics[0].span
    assert span is not None and (span.file, span.line, span.col) == ("bad.json", 3, 24)
    assert "line 3, column 25" in loaded.diagnostics[0].message


@pytest.mark.parametrize("obj", [
    [1, 2], 3, "model", None, {"foo": 1},
    {"class_name": "Dense", "config": {"units": 3}},
    {"class_name": "Functional", "config": {"name": "m"}},
    {"class_name": "Sequential", "config": {"name": "s", "layers": 3}},
], ids=["list", "number", "string", "null", "object", "layer", "no-layers", "bad-layers"])
def test_valid_json_that_is_not_a_model_is_cc002(obj: Any) -> None:
    loaded = read(obj)
    assert codes(loaded) == ["CC002"]
    assert not loaded.usable


def test_deeply_nested_json_is_cc002() -> None:
    loaded = load_config_text("[" * 100_000 + "]" * 100_000, "deep.json")
    assert codes(loaded) == ["CC002"]


def deep_sequential(depth: int) -> dict[str, Any]:
    model: dict[str, Any] = sequential([seq_layer("Dense", "d", units=1)],
                                       build_input_shape=[None, 2])
    for i in range(depth):
        model = sequential([{**model, "name": f"s{i}"}], name=f"s{i + 1}")
    return model


def test_models_nested_too_deeply_are_cc002() -> None:
    loaded = load_config(deep_sequential(100), "deep.json")
    assert "CC002" in codes(loaded)
    assert "nested more than" in loaded.diagnostics[0].message


def test_models_nested_a_little_are_read() -> None:
    _, analysis, found = analyse(deep_sequential(10))
    assert found == []
    assert [str(t) for t in analysis.output_types] == ["(None, 1)"]


def test_reader_recursion_is_cc002(monkeypatch: pytest.MonkeyPatch) -> None:
    value: Any = {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}
    for _ in range(5000):
        value = [value]
    model = keras3_mlp()
    model["config"]["layers"][1]["inbound_nodes"] = [{"args": [value], "kwargs": {}}]
    loaded = load_config(model, "deep.json")
    assert codes(loaded) == ["CC002"] and not loaded.usable


def test_huge_number_is_cc002() -> None:
    text = '{"class_name": "Sequential", "config": ' + "9" * 10_000 + "}"
    assert codes(load_config_text(text, "n.json")) == ["CC002"]


def test_each_input_gets_its_own_free_dim_symbols() -> None:
    """Numbered like the source frontend: the second input with free dims gets ``2``."""
    names = ["a", "fixed", "b", "c"]
    model = k3_model("m", [
        k3_input("a", [None, None, None, 3]), k3_input("fixed", [None, 4]),
        k3_input("b", [None, None, None, 3]), k3_input("c", [None, None]),
    ], [[n, 0, 0] for n in names], [[n, 0, 0] for n in names])
    _, analysis, found = analyse(model)
    assert found == []
    shapes = [t.shape for t in analysis.input_types]  # type: ignore[union-attr]
    assert shapes == [
        (dims.BATCH, dims.Sym("H"), dims.Sym("W"), 3),
        (dims.BATCH, 4),
        (dims.BATCH, dims.Sym("H2"), dims.Sym("W2"), 3),
        (dims.BATCH, dims.Sym("T3")),
    ]


def test_single_input_keeps_plain_symbols() -> None:
    _, analysis, _ = analyse(k3_model("m", [k3_input("a", [None, None, 3])],
                                          ["a", 0, 0], ["a", 0, 0]))
    assert analysis.input_types[0].shape == (dims.BATCH, dims.Sym("T"), 3)  # type: ignore[union-attr]


@pytest.mark.parametrize("shape", [[None, 0, 3], [None, -2, 3], [0, 4]])
def test_non_positive_input_dim_is_cc108(shape: list[Any]) -> None:
    model = keras3_mlp()
    model["config"]["layers"][0]["config"]["batch_shape"] = shape
    loaded = read(model)
    assert codes(loaded) == ["CC108"]
    (graph,) = loaded.models
    assert layer(graph, "x").spec is None
    assert propagate(graph).diagnostics == []


def test_non_positive_sequential_input_dim_is_cc108() -> None:
    loaded = read(sequential([seq_layer("Dense", "d", units=3, input_dim=0)]))
    assert codes(loaded) == ["CC108"]


def test_huge_input_is_cc106_not_a_hang() -> None:
    model = keras3_mlp()
    model["config"]["layers"][0]["config"]["batch_shape"] = [None, 50_000, 50_000, 3]
    model["config"]["layers"][1]["config"]["units"] = 2
    _, _, found = analyse(model)
    assert "CC106" in found


def test_reader_imports_neither_networkx_nor_sympy() -> None:
    paths = [str(FIXTURES / "keras3" / "truth" / "unet.model.json"),
             str(FIXTURES / "keras2" / "seq_input_layer.model.json")]  # a free time axis
    code = (
        "import sys; from convcalc.frontend.config import load_config_text\n"
        f"for p in {paths!r}: assert load_config_text(open(p).read(), p).usable\n"
        "print(sorted(m for m in ('networkx', 'sympy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_input_layer_spec_is_shared_by_every_reader_path() -> None:
    """The hidden InputLayer of a Sequential is a real InputLayer spec."""
    graph, _, _ = analyse(sequential([seq_layer("Dense", "d", units=3, input_dim=4)]))
    assert isinstance(graph.layers[0].spec, InputLayer)


def test_sequential_with_unknown_first_layer_still_has_its_input() -> None:
    loaded = read(sequential([seq_layer("MyLayer", "mine", batch_input_shape=[None, 3]),
                              seq_layer("Dense", "d", units=2)]))
    assert codes(loaded) == ["CC003"]
    (graph,) = loaded.models
    assert isinstance(graph.layers[0].spec, InputLayer)
