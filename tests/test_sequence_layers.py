"""Recurrent layers, wrappers, attention and Lambda beyond the registry contract test.

Keras 1/2 config forms, the recorded fixtures, MACs formulas, a Lambda's function never
being run, and the cases where Keras's symbolic build accepts what the layer cannot
compute (checked against Keras running on arrays).
"""

from __future__ import annotations

import base64
import builtins
import json
import marshal
import pickle
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from conftest import FIXTURES

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers import lookup
from convcalc.layers.attention import Attention, MultiHeadAttention
from convcalc.layers.base import ConfigError, InferContext, LayerSpec, ShapeError
from convcalc.layers.conv_recurrent import ConvLSTM2D
from convcalc.layers.core import Dense
from convcalc.layers.lambda_layer import Lambda
from convcalc.layers.recurrent import GRU, LSTM, SimpleRNN
from convcalc.layers.wrappers import Bidirectional, TimeDistributed, keras_auto_name
from convcalc.rules import INCOMPATIBLE_INPUT, SHAPE_UNKNOWN, WRONG_RANK
from convcalc.types import TensorType

B = dims.BATCH
T = dims.Sym("T")


def _t(*shape: Dim) -> TensorType:
    return TensorType((B, *shape))


def _shapes(outs: Any) -> list[tuple[Any, ...]]:
    return [tuple(None if d == B else d for d in t.shape) for t in outs]


def _infer(spec: LayerSpec, *inputs: TensorType, **call: Any) -> tuple[TensorType, ...]:
    ctx = InferContext(call)
    outs = spec.infer(inputs, ctx)
    assert ctx.problems == []
    return outs


# --------------------------------------------------------------- fixtures
FIXTURE_FILES = [
    FIXTURES / "keras3" / "truth" / "rnn.json",
    FIXTURES / "keras2" / "rnn.json",
    FIXTURES / "keras2" / "seq_input_layer.json",
]
FAMILIES = {"recurrent", "wrapper", "attention"}


def _fixture_layers() -> list[Any]:
    cases = []
    for path in FIXTURE_FILES:
        for layer in json.loads(path.read_text())["layers"]:
            spec = lookup(layer["class_name"])
            if spec is not None and spec.family in FAMILIES:
                cases.append(pytest.param(path, layer, id=f"{path.parent.name}-{layer['name']}"))
    return cases


@pytest.mark.parametrize(("path", "layer"), _fixture_layers())
def test_fixture_layer(path: Path, layer: dict[str, Any]) -> None:
    spec_cls = lookup(layer["class_name"])
    assert spec_cls is not None
    spec = spec_cls.from_config(layer["config"])
    for ins, outs in zip(layer["input_shapes"], layer["output_shapes"], strict=True):
        inputs = [TensorType(tuple(B if i == 0 else T if d is None else d
                                   for i, d in enumerate(s))) for s in ins]
        got = [[None if not dims.is_int(d) else d for d in t.shape]
               for t in _infer(spec, *inputs)]
        assert got == outs
        weights = spec.weights(inputs)
        assert [list(w.shape) for w in weights] == [w["shape"] for w in layer["weights"]]
        if "keras3" in str(path):  # Keras 2 names leave out TimeDistributed's inner layer
            assert [f"{layer['name']}/{w.name}" for w in weights] == [
                w["path"] for w in layer["weights"]]


# ------------------------------------------------------- Keras 1/2 forms
def test_keras1_lstm_arguments() -> None:
    spec = LSTM.from_config({
        "output_dim": 8, "init": "glorot_uniform", "inner_init": "orthogonal",
        "forget_bias_init": "zero", "inner_activation": "hard_sigmoid",
        "consume_less": "gpu", "U_regularizer": None, "dropout_W": 0.25,
    })
    assert (spec.units, spec.recurrent_activation, spec.unit_forget_bias, spec.dropout) == (
        8, "hard_sigmoid", False, 0.25)
    assert spec.recurrent_initializer is not None
    assert spec.recurrent_initializer.name == "orthogonal"


def test_gru_reset_after_default() -> None:
    x = _t(5, 4)
    keras3 = GRU.from_config({"units": 8})
    keras1 = GRU.from_config({"output_dim": 8, "inner_activation": "hard_sigmoid"})
    explicit = GRU.from_config({"output_dim": 8, "reset_after": True})
    assert keras3.weights([x])[2].shape == (2, 24)
    assert keras1.weights([x])[2].shape == (24,)
    assert explicit.weights([x])[2].shape == (2, 24)


def test_keras1_conv_lstm2d_arguments() -> None:
    spec = ConvLSTM2D.from_config({"nb_filter": 4, "nb_row": 3, "nb_col": 2,
                                   "border_mode": "same", "subsample": [2, 1],
                                   "dim_ordering": "th", "return_sequences": True})
    assert (spec.filters, spec.kernel_size, spec.padding, spec.strides, spec.data_format) == (
        4, (3, 2), "same", (2, 1), "channels_first")
    assert _shapes(_infer(spec, _t(5, 2, 8, 9))) == [(None, 5, 4, 4, 9)]


def test_keras2_bidirectional_config_without_backward_layer() -> None:
    config = {"name": "bi", "layer": {"class_name": "LSTM", "config": {
        "name": "lstm", "units": 4, "time_major": False, "implementation": 2}},
        "merge_mode": "concat"}
    spec = Bidirectional.from_config(config)
    assert [w.name for w in spec.weights([_t(5, 3)])][::3] == [
        "forward_lstm/lstm_cell/kernel", "backward_lstm/lstm_cell/kernel"]


def test_specs_from_python_source() -> None:
    lstm = LSTM.from_call((4,), {"return_sequences": True})
    bi = Bidirectional.from_call((lstm,), {"merge_mode": "sum"})
    assert _shapes(_infer(bi, _t(7, 3))) == [(None, 7, 4)]
    assert bi.weights([_t(7, 3)])[3].name == "backward_lstm/lstm_cell/kernel"
    td = TimeDistributed.from_call((Dense.from_call((4,), {}),), {})
    assert [w.name for w in td.weights([_t(7, 3)])] == ["dense/kernel", "dense/bias"]
    assert keras_auto_name("ConvLSTM2D") == "conv_lstm2d"
    assert keras_auto_name("SimpleRNN") == "simple_rnn"


def test_unknown_wrapped_layer() -> None:
    with pytest.raises(ConfigError, match="'MyCell' is unknown"):
        TimeDistributed.from_config({"layer": {"class_name": "MyCell", "config": {}}})
    with pytest.raises(ConfigError, match="custom layer"):
        TimeDistributed.from_config({"layer": {"class_name": "Dense", "config": {"units": 2},
                                               "registered_name": "Custom>Dense"}})
    with pytest.raises(ConfigError, match="recurrent layer"):
        Bidirectional.from_config({"layer": {"class_name": "Dense", "config": {"units": 2}}})


# ------------------------------------------------------------------ MACs
@pytest.mark.parametrize(("spec", "x", "macs"), [
    (SimpleRNN.from_config({"units": 8}), _t(T, 3), dims.mul(T, 8 * (3 + 8))),
    (LSTM.from_config({"units": 8}), _t(T, 3), dims.mul(T, 4 * 8 * (3 + 8))),
    (GRU.from_config({"units": 8, "reset_after": False}), _t(10, 3), 10 * 3 * 8 * 11),
    (ConvLSTM2D.from_config({"filters": 4, "kernel_size": 3}), _t(5, 8, 9, 2),
     5 * (6 * 7) * 9 * 16 * (2 + 4)),
    (TimeDistributed.from_config({"layer": {"class_name": "Dense", "config": {"units": 4}}}),
     _t(T, 3), dims.mul(T, 12)),
    (Bidirectional.from_config({"layer": {"class_name": "LSTM", "config": {"units": 4}}}),
     _t(5, 3), 2 * 5 * 16 * 7),
])
def test_macs(spec: LayerSpec, x: TensorType, macs: Dim) -> None:
    outs = _infer(spec, x)
    assert dims.identical(spec.macs([x], outs), macs)
    extra = dims.evaluate(dims.sub(spec.flops([x], outs), dims.mul(2, macs)), {"T": 10})
    assert extra > 0


def test_multi_head_attention_macs() -> None:
    spec = MultiHeadAttention.from_config({"num_heads": 2, "key_dim": 8})
    q, v = _t(5, 6), _t(7, 3)
    projections = 5 * 6 * 16 + 7 * 3 * 16 + 7 * 3 * 16
    scores = 2 * 5 * 7
    assert spec.macs([q, v], _infer(spec, q, v)) == (
        projections + scores * (8 + 8) + 5 * 16 * 6)


# ---------------------------------------------------------------- Lambda
def _serialized(layer: Any) -> dict[str, Any]:
    return json.loads(json.dumps(layer.get_config()))  # type: ignore[no-any-return]


def test_lambda_matches_keras_from_its_serialized_config() -> None:
    for fn, output_shape in ((lambda t: t[:, :2], (2, 3)),
                             (lambda t: [t, t[:, 0]], [(5, 3), (3,)])):
        layer = keras.layers.Lambda(fn, output_shape=output_shape)
        out = layer(keras.Input((5, 3)))
        theirs = [list(o.shape) for o in (out if isinstance(out, list) else [out])]
        spec = Lambda.from_config(_serialized(layer))
        assert spec.function == "<lambda>"
        assert spec.num_outputs() == len(theirs)
        assert [list(s) for s in _shapes(_infer(spec, _t(5, 3)))] == theirs


def test_lambda_function_is_never_run(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _serialized(keras.layers.Lambda(lambda t: t * 2, output_shape=lambda s: s))
    assert config["output_shape"]["class_name"] == "__lambda__"

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a serialized function was decoded")

    for owner, name in ((marshal, "loads"), (base64, "b64decode"), (pickle, "loads"),
                        (builtins, "eval"), (builtins, "exec")):
        monkeypatch.setattr(owner, name, forbidden)
    spec = Lambda.from_config(config)
    with pytest.raises(ShapeError) as err:
        spec.infer([_t(5, 3)], InferContext())
    assert err.value.rule == SHAPE_UNKNOWN
    assert "never executes" in err.value.message
    assert err.value.hint is not None and "output_shape" in err.value.hint


def test_lambda_keras2_forms() -> None:
    code = ["4wEAAAAAAAAAAAAAAAEAAAADAAAA8wYAAACXAHwAUwCpAU6pACkB2gF4cwEAAAAg", None, None]
    raw = {"function": code, "function_type": "lambda", "module": "__main__",
           "output_shape": [2, None], "output_shape_type": "raw", "arguments": {}}
    spec = Lambda.from_config(raw)
    assert spec.function == "<lambda>"
    assert _infer(spec, _t(5, 3))[0].shape == (B, 2, dims.Sym("lambda_d2"))
    for kind, shape in (("lambda", code), ("function", "my_shape_fn")):
        spec = Lambda.from_config({**raw, "output_shape": shape, "output_shape_type": kind})
        with pytest.raises(ShapeError, match="never executes"):
            spec.infer([_t(5, 3)], InferContext())
    with pytest.raises(ShapeError, match="no output_shape"):
        Lambda.from_config({"function": "my_fn"}).infer([_t(5, 3)], InferContext())


# -------------------- what Keras's symbolic build accepts but the layer cannot compute
def test_attention_scores_shape_follows_the_computation() -> None:
    layer = keras.layers.MultiHeadAttention(2, 4)
    _, scores = layer(np.zeros((1, 5, 6)), np.zeros((1, 7, 3)), return_attention_scores=True)
    spec = MultiHeadAttention.from_config({"num_heads": 2, "key_dim": 4})
    outs = _infer(spec, _t(5, 6), _t(7, 3), return_attention_scores=True)
    assert outs[1].shape[1:] == tuple(scores.shape[1:]) == (2, 5, 7)

    layer = keras.layers.MultiHeadAttention(2, 4, attention_axes=(2,))
    _, scores = layer(np.zeros((1, 3, 5, 6)), np.zeros((1, 3, 7, 6)),
                      return_attention_scores=True)
    spec = MultiHeadAttention.from_config({"num_heads": 2, "key_dim": 4, "attention_axes": 2})
    outs = _infer(spec, _t(3, 5, 6), _t(3, 7, 6), return_attention_scores=True)
    assert outs[1].shape[1:] == tuple(scores.shape[1:])


def test_bidirectional_with_a_narrower_backward_layer() -> None:
    layer = keras.layers.Bidirectional(keras.layers.LSTM(4),
                                       backward_layer=keras.layers.LSTM(2, go_backwards=True))
    out = layer(np.zeros((1, 5, 3)))
    spec = Bidirectional.from_call(
        (LSTM.from_call((4,), {}),),
        {"backward_layer": LSTM.from_call((2,), {"go_backwards": True})})
    assert _infer(spec, _t(5, 3))[0].shape[1:] == tuple(out.shape[1:]) == (6,)


def _keras_fails(call: Any) -> bool:
    try:
        call()
    except (ValueError, TypeError, IndexError):
        return True
    return False


def test_mismatches_keras_finds_only_when_running() -> None:
    a = np.zeros
    assert _keras_fails(lambda: keras.layers.Attention()([a((1, 5, 6)), a((1, 8, 4)),
                                                        a((1, 7, 6))]))
    ctx = InferContext()
    Attention.from_config({}).infer([_t(5, 6), _t(8, 4), _t(7, 6)], ctx)
    assert [p.rule for p in ctx.problems] == [INCOMPATIBLE_INPUT]

    assert _keras_fails(lambda: keras.layers.LSTM(4)(a((1, 5, 3)), initial_state=[a((1, 4))]))
    with pytest.raises(ShapeError, match="2 initial state tensors"):
        LSTM.from_config({"units": 4}).infer([_t(5, 3), _t(4)], InferContext())

    assert _keras_fails(lambda: keras.layers.MultiHeadAttention(2, 4)(a((1, 6)), a((1, 7))))
    with pytest.raises(ShapeError) as err:
        MultiHeadAttention.from_config({"num_heads": 2, "key_dim": 4}).infer(
            [_t(6), _t(7)], InferContext())
    assert err.value.rule == WRONG_RANK
