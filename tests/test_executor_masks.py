"""Keras masks through the executor (Embedding(mask_zero), Masking, and the layers that
read, pass on, combine or drop them), against real Keras 3.

Keras attaches a mask to each tensor as its functional model runs, so the oracle here
is that run itself: Keras's own graph walk (``Function._run_through_graph``), each layer
called through ``Layer.__call__``, recording every call's outputs, the masks they carry
and the masks its inputs carried when it read them; the masks the model's build
attached (which Keras saves in some calls' arguments) come from the symbolic tensors.
Each convcalc call is first run on Keras's inputs and input masks for that call (so
every layer's mask rule and mask-aware forward is checked on its own); then the
executor runs the whole graph on its own arrays and masks, and every call's outputs
and masks are compared again, and the model outputs with ``model.predict``. The
integer inputs end in padding zeros (and have zeros inside), float inputs have
all-zero steps for ``Masking``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import pytest
from keras import layers
from keras_bridge import (
    assert_close,
    convcalc_graph,
    randomize_constant_weights,
    transfer_weights,
)

from convcalc import api
from convcalc.executor import OK, CallRun, Executor, InputMasks, execute
from convcalc.fusion import plan
from convcalc.graph import LayerCall
from convcalc.propagate import propagate

Array = np.ndarray[Any, np.dtype[Any]]
Masks = list[Array | None]
Key = tuple[str, int]

pytestmark = pytest.mark.oracle


@dataclass
class Record:
    """One Keras layer call: its outputs, the masks they carry when the model runs,
    the masks the model's build gave them, and the masks its (positional) inputs
    carried when it ran."""

    values: list[Array]
    masks: Masks
    built: Masks = field(default_factory=list)
    read: Masks = field(default_factory=list)


def _ids(batch: int, steps: int, lengths: list[int], vocab: int = 30, seed: int = 0) -> Array:
    """Token ids in 1..vocab-1 with the tails past ``lengths`` set to 0 (padding), and
    one more zero inside the first row."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, (batch, steps)).astype("int32")
    for row, n in enumerate(lengths):
        ids[row, n:] = 0
    ids[0, 1] = 0
    return ids


def keras_calls(model: Any, inputs: list[Array]) -> dict[Key, Record]:
    """Every layer call's outputs and their masks, keyed by (layer name, node index).

    The outputs and the masks they carry come from the walk Keras's functional model
    makes when it runs (ops that are not layers, such as the ``not_equal`` computing a
    mask, run but are not recorded); the build's masks, which Keras stores in the
    arguments of some calls, from a model whose outputs are those symbolic masks.
    """
    from keras.src import backend, tree

    tensors = {id(x): keras.ops.convert_to_tensor(v)
               for x, v in zip(model.inputs, inputs, strict=True)}
    out: dict[Key, Record] = {}
    symbolic: list[tuple[Key, int, Any]] = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            op = node.operation
            if op is None or node.is_input:
                continue
            args, kwargs = node.arguments.fill_in(tensors)
            read = [backend.get_keras_mask(x) for x in tree.flatten(args)]
            produced = tree.flatten(op(*args, **kwargs))
            for x, y in zip(node.outputs, produced, strict=True):
                tensors[id(x)] = y
            if isinstance(op, keras.layers.Layer):
                key = op.name, op._inbound_nodes.index(node)
                masks = [backend.get_keras_mask(y) for y in produced]
                out[key] = Record([np.asarray(y) for y in produced], _arrays(masks),
                                  [None] * len(produced), _arrays(read))
                symbolic += [(key, i, backend.get_keras_mask(x))
                             for i, x in enumerate(node.outputs)
                             if backend.get_keras_mask(x) is not None]
    if symbolic:
        probe = keras.Model(model.inputs, [m for _, _, m in symbolic])
        values = probe(list(inputs))
        values = values if isinstance(values, (list, tuple)) else [values]
        for (key, i, _), v in zip(symbolic, values, strict=True):
            out[key].built[i] = np.asarray(v)
    return out


def _arrays(masks: list[Any]) -> Masks:
    return [None if m is None else np.asarray(m) for m in masks]


def _key(call: LayerCall) -> Key:
    return call.layer.name, call.call_index


def _compare(run: CallRun, want: Record) -> list[str]:
    """The differences between a call's outputs and masks and Keras's."""
    where = f"{run.call.layer.name}#{run.call.call_index} ({run.call.layer.class_name})"
    if run.status != OK or run.outputs is None:
        return [f"{where}: {run.status} {run.error}"]
    if len(run.outputs) != len(want.values):
        return [f"{where}: {len(run.outputs)} outputs, Keras {len(want.values)}"]
    problems = []
    for i, (got, expected) in enumerate(zip(run.outputs, want.values, strict=True)):
        try:
            assert_close(np.asarray(got), expected, f"{where} output {i}")
        except AssertionError as e:
            problems.append(str(e).strip().splitlines()[0])
    n = len(want.values)
    for what, ours, theirs in (("mask", run.masks, want.masks),
                               ("build's mask", run.built_masks, want.built)):
        for i, (mask, keras_mask) in enumerate(zip(ours or (None,) * n, theirs, strict=True)):
            if (mask is None) != (keras_mask is None):
                problems.append(f"{where} output {i}: {what} {mask is not None}, "
                                f"Keras {keras_mask is not None}")
            elif mask is not None and not np.array_equal(mask, np.asarray(keras_mask)):
                problems.append(f"{where} output {i}: {what} {mask.astype(int).tolist()} "
                                f"!= Keras {np.asarray(keras_mask).astype(int).tolist()}")
    return problems


def _input_masks(sources: list[Record], call: LayerCall, read: Masks) -> InputMasks | None:
    """The masks of a call's inputs: those Keras read (an earlier call may have removed
    some since they were made), and those of the build."""
    runtime = tuple(read)
    built = tuple(s.built[r.index] for s, r in zip(sources, call.inputs, strict=True))
    if all(m is None for m in runtime + built):
        return None
    same = all((a is None and b is None) or (a is not None and b is not None and
                                             np.array_equal(a, b))
               for a, b in zip(runtime, built, strict=True))
    return InputMasks(runtime, runtime if same else built)


def check_model(model: Any, inputs: list[Array]) -> None:
    """Layer by layer on Keras's inputs and masks, then the whole graph on its own;
    outputs and both masks of every call, and the model outputs, equal Keras's."""
    randomize_constant_weights(model)
    graph = convcalc_graph(model)
    weights = transfer_weights(model, graph)
    analysis = propagate(graph)
    theirs = keras_calls(model, inputs)
    theirs.update({_key(graph.calls[ref.node]): Record([x], [None], [None])
                   for ref, x in zip(graph.inputs, inputs, strict=True)})
    assert any(m is not None for r in theirs.values() for m in r.masks)
    compared = [c for c in graph.ordered_calls() if c.inputs and _key(c) in theirs]
    # every layer is compared; what is left are the mask ops Keras 3 saves as nodes
    assert {c.layer.name for c in graph.calls if c not in compared and c.inputs} == {
        layer.name for layer in model.operations if not isinstance(layer, keras.layers.Layer)}

    problems: list[str] = []
    executor = Executor(weights, keep=True)
    for call in compared:
        sources = [theirs[_key(graph.calls[r.node])] for r in call.inputs]
        ins = [s.values[r.index] for s, r in zip(sources, call.inputs, strict=True)]
        run = executor.call(call, ins, analysis.calls[call.id].outputs, analysis, (),
                            _input_masks(sources, call, theirs[_key(call)].read))
        problems += _compare(run, theirs[_key(call)])
    assert problems == [], "layer by layer:\n" + "\n".join(problems)

    runs: dict[Key, CallRun] = {}

    def observe(run: CallRun) -> None:
        if not run.path and run.call in compared:
            runs[_key(run.call)] = run

    ex = execute(graph, inputs, weights, analysis=analysis, observer=observe, keep=True)
    assert len(runs) == len(compared)
    for key, run in runs.items():
        problems += _compare(run, theirs[key])
    assert problems == [], "whole graph:\n" + "\n".join(problems)

    predicted = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    fused = execute(graph, inputs, weights, plan=plan(graph, weights))
    for got, fast, want in zip(ex.outputs, fused.outputs, predicted, strict=True):
        assert got is not None and fast is not None
        assert_close(got, np.asarray(want), f"{model.name} output")
        assert_close(fast, np.asarray(want), f"{model.name} output, fused")


def _embedding_lstm() -> tuple[Any, list[Array]]:
    ids = keras.Input((8,), dtype="int32", name="ids")
    x = layers.Embedding(30, 6, mask_zero=True, name="emb")(ids)
    x = layers.LSTM(5, return_sequences=True, name="lstm_seq")(x)
    x = layers.LSTM(4, name="lstm_last")(x)
    x = layers.Dense(3, name="head")(x)
    return keras.Model(ids, x, name="embedding_lstm"), [_ids(3, 8, [8, 5, 2])]


def _bidirectional_gru() -> tuple[Any, list[Array]]:
    ids = keras.Input((7,), dtype="int32", name="ids")
    x = layers.Embedding(30, 6, mask_zero=True, name="emb")(ids)
    x = layers.Bidirectional(layers.GRU(4, return_sequences=True), name="bi")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dense(3, name="head")(x)
    return keras.Model(ids, x, name="bidirectional_gru"), [_ids(3, 7, [7, 4, 1])]


def _masking_rnn() -> tuple[Any, list[Array]]:
    seq = keras.Input((6, 3), name="seq")
    x = layers.Masking(name="masking")(seq)
    x = layers.SimpleRNN(4, return_sequences=True, name="rnn")(x)
    x = layers.SimpleRNN(3, name="rnn_last")(x)
    data = np.random.default_rng(1).standard_normal((3, 6, 3)).astype("float32")
    data[0, 4:] = 0.0
    data[1, 2] = 0.0
    data[2, 1:] = 0.0
    return keras.Model(seq, x, name="masking_rnn"), [data]


def _self_attention() -> tuple[Any, list[Array]]:
    ids = keras.Input((6,), dtype="int32", name="ids")
    x = layers.Embedding(30, 8, mask_zero=True, name="emb")(ids)
    a = layers.MultiHeadAttention(2, 4, name="mha")(x, x)
    y = layers.Add(name="residual")([x, a])
    y = layers.LayerNormalization(name="norm")(y)
    y = layers.GlobalAveragePooling1D(name="pool")(y)
    return keras.Model(ids, y, name="self_attention"), [_ids(3, 6, [6, 3, 2])]


def _attention_blocks() -> tuple[Any, list[Array]]:
    """Keras's MultiHeadAttention removes the masks of the tensors it reads, so a second
    block reading the residual sum runs unmasked, while a BatchNormalization, whose call
    takes the build's mask, gives its output that mask again."""
    ids = keras.Input((6,), dtype="int32", name="ids")
    x = layers.Embedding(30, 8, mask_zero=True, name="emb")(ids)
    a = layers.MultiHeadAttention(2, 4, name="mha1")(x, x)
    y = layers.LayerNormalization(name="norm")(layers.Add(name="add1")([x, a]))
    z = layers.Add(name="add2")([y, layers.Dense(8, name="ff")(y)])
    b = layers.MultiHeadAttention(2, 4, name="mha2")(z, z)
    zn = layers.BatchNormalization(name="bn")(z)
    c = layers.MultiHeadAttention(2, 4, name="mha3")(zn, zn)
    outs = [layers.GlobalAveragePooling1D(name="pool_b")(b),
            layers.GlobalAveragePooling1D(name="pool_c")(c)]
    return keras.Model(ids, outs, name="attention_blocks"), [_ids(3, 6, [6, 3, 4])]


def _dot_attention() -> tuple[Any, list[Array]]:
    q_ids = keras.Input((5,), dtype="int32", name="q_ids")
    v_ids = keras.Input((7,), dtype="int32", name="v_ids")
    q = layers.Embedding(30, 6, mask_zero=True, name="q_emb")(q_ids)
    v = layers.Embedding(30, 6, mask_zero=True, name="v_emb")(v_ids)
    a = layers.Attention(name="attention")([q, v])
    s = layers.AdditiveAttention(name="additive")([q, v])
    y = layers.Concatenate(name="joined")([a, s])
    y = layers.GlobalAveragePooling1D(name="pool")(y)
    model = keras.Model([q_ids, v_ids], y, name="dot_attention")
    return model, [_ids(3, 5, [5, 3, 2], seed=1), _ids(3, 7, [4, 7, 3], seed=2)]


def _merged_branches() -> tuple[Any, list[Array]]:
    a_ids = keras.Input((6,), dtype="int32", name="a_ids")
    b_ids = keras.Input((6,), dtype="int32", name="b_ids")
    a = layers.Embedding(30, 4, mask_zero=True, name="a_emb")(a_ids)
    a = layers.Dense(4, activation="relu", name="a_dense")(a)
    b = layers.Embedding(30, 4, mask_zero=True, name="b_emb")(b_ids)
    plain = layers.Embedding(30, 4, name="plain_emb")(b_ids)
    steps = layers.Concatenate(axis=1, name="steps")([a, b])
    features = layers.Concatenate(name="features")([a, b])
    with_plain = layers.Concatenate(name="with_plain")([a, plain])
    outs = [
        layers.LSTM(3, name="over_steps")(steps),
        layers.GlobalAveragePooling1D(name="pool_features")(features),
        layers.GlobalAveragePooling1D(name="pool_with_plain")(with_plain),
        layers.GlobalAveragePooling1D(name="pool_max")(layers.Maximum(name="max")([a, b])),
        layers.GlobalAveragePooling1D(name="pool_min")(layers.Minimum(name="min")([a, plain])),
        layers.GlobalAveragePooling1D(name="pool_mul")(layers.Multiply(name="mul")([a, b])),
        layers.GlobalAveragePooling1D(name="pool_mul_plain")(
            layers.Multiply(name="mul_plain")([plain, b])),
        layers.GlobalAveragePooling1D(name="pool_avg")(layers.Average(name="avg")([a, b])),
    ]
    model = keras.Model([a_ids, b_ids], outs, name="merged_branches")
    return model, [_ids(3, 6, [6, 4, 2], seed=3), _ids(3, 6, [3, 6, 5], seed=4)]


def _dense_lstm() -> tuple[Any, list[Array]]:
    ids = keras.Input((7,), dtype="int32", name="ids")
    x = layers.Embedding(30, 6, mask_zero=True, name="emb")(ids)
    x = layers.Dense(5, activation="tanh", name="dense")(x)
    x = layers.LayerNormalization(name="norm")(x)
    x = layers.Dropout(0.3, name="drop")(x)
    x = layers.TimeDistributed(layers.Dense(4), name="per_step")(x)
    x = layers.LSTM(3, name="lstm")(x)
    return keras.Model(ids, x, name="dense_lstm"), [_ids(3, 7, [7, 3, 5])]


def _nested_model() -> tuple[Any, list[Array]]:
    steps = keras.Input((7, 6), name="steps")
    h = layers.Dense(5, name="inner_dense")(steps)
    h = layers.GRU(4, return_sequences=True, name="inner_gru")(h)
    inner = keras.Model(steps, h, name="encoder")
    ids = keras.Input((7,), dtype="int32", name="ids")
    x = layers.Embedding(30, 6, mask_zero=True, name="emb")(ids)
    x = inner(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dense(2, name="head")(x)
    return keras.Model(ids, x, name="nested"), [_ids(3, 7, [7, 2, 4])]


MODELS: dict[str, Callable[[], tuple[Any, list[Array]]]] = {
    "embedding_lstm": _embedding_lstm,
    "bidirectional_gru": _bidirectional_gru,
    "masking_rnn": _masking_rnn,
    "self_attention": _self_attention,
    "attention_blocks": _attention_blocks,
    "dot_attention": _dot_attention,
    "merged_branches": _merged_branches,
    "dense_lstm": _dense_lstm,
    "nested_model": _nested_model,
}


# Keras warns that a nested model "destroys" its input's mask, yet the mask stays on the
# tensors its inner layers return, and the layers after it use it
NESTED_WARNING = "ignore:Layer 'encoder' .* does not support masking:UserWarning"


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.filterwarnings(NESTED_WARNING))
    if name == "nested_model" else name for name in sorted(MODELS)])
def test_masked_model_matches_keras(name: str) -> None:
    model, inputs = MODELS[name]()
    check_model(model, inputs)


ATTENTION_SOURCE = """
import keras
from keras import layers
ids = keras.Input((6,), dtype="int32", name="ids")
x = layers.Embedding(30, 8, mask_zero=True, name="emb")(ids)
a = layers.MultiHeadAttention(2, 4, name="mha1")(x, x)
y = layers.Add(name="add1")([x, a])
b = layers.MultiHeadAttention(2, 4, name="mha2")(y, y)
h = layers.LSTM(3, return_sequences=True, name="lstm")(y)
outs = [layers.GlobalAveragePooling1D(name="pool_b")(b),
        layers.GlobalAveragePooling1D(name="pool_h")(h)]
model = keras.Model(ids, outs, name="from_source")
"""


def test_source_model_masks_match_keras() -> None:
    """A model read from Python source (whose calls record no mask arguments) runs as
    the Keras model that source builds."""
    namespace: dict[str, Any] = {}
    exec(compile(ATTENTION_SOURCE, "from_source.py", "exec"), namespace)  # our own test source
    model = namespace["model"]
    randomize_constant_weights(model)
    _, loaded = api.load(ATTENTION_SOURCE)
    (graph,) = loaded.models
    inputs = [_ids(3, 6, [6, 2, 4])]
    ex = execute(graph, inputs, transfer_weights(model, graph))
    predicted = model.predict(inputs[0], verbose=0)
    for got, want in zip(ex.outputs, predicted, strict=True):
        assert got is not None
        assert_close(got, np.asarray(want), "from_source output")


def test_masks_are_dropped_with_their_arrays() -> None:
    """Without ``keep`` an observer still sees each call's masks, which are then let go."""
    model, inputs = _embedding_lstm()
    graph = convcalc_graph(model)
    seen: dict[str, bool] = {}

    layer_names = {layer.name for layer in model.layers}  # not the mask op saved as a node

    def observe(run: CallRun) -> None:
        if run.call.layer.name in layer_names:
            seen[run.call.layer.name] = run.masks is not None

    ex = execute(graph, inputs, transfer_weights(model, graph), observer=observe)
    assert seen == {"ids": False, "emb": True, "lstm_seq": True, "lstm_last": False,
                    "head": False}
    assert all(r.masks is None and r.outputs is None for r in ex.calls)
