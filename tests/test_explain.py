"""Explanations: the derivations are the arithmetic the analysis did, with its numbers."""

from __future__ import annotations

import sympy
from click.testing import CliRunner
from conftest import SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from convcalc import api, dims, shapes
from convcalc.cli import main
from convcalc.explain import explain_model
from convcalc.types import format_shape

SMALL_CNN = """
import keras
from keras import layers
inp = keras.Input((32, 32, 3))
x = layers.Conv2D(16, 3)(inp)
x = layers.Conv2D(8, 3, strides=2, padding="same", dilation_rate=1)(x)
x = layers.Conv2D(8, 3, dilation_rate=2)(x)
x = layers.MaxPooling2D(3, strides=2)(x)
x = layers.Conv2DTranspose(4, 3, strides=2)(x)
model = keras.Model(inp, x, name="small")
"""


def _explanations(source: str) -> dict[str, str]:
    model = api.analyze(source).model()
    return {e.layer: e.text() for e in explain_model(model)}


def test_a_valid_3x3_convolution_turns_32_into_30() -> None:
    text = _explanations(SMALL_CNN)["conv2d"]
    assert "floor((32 - 3) / 1) + 1 = 30" in text
    assert "kernel (3, 3, 3, 16): 3 * 3 * 3 * 16 = 432" in text
    assert "bias (16,): 16" in text
    assert "params = 432 + 16 = 448" in text
    assert "MACs (out_spatial * prod(k) * in_c / groups * filters) = 388,800" in text


def test_padding_stride_and_dilation_each_show_their_formula() -> None:
    ex = _explanations(SMALL_CNN)
    assert "floor((30 - 1) / 2) + 1 = 15" in ex["conv2d_1"]
    assert "floor((15 - ((3 - 1) * 2 + 1)) / 1) + 1 = 11" in ex["conv2d_2"]
    assert "floor((11 - 3) / 2) + 1 = 5" in ex["max_pooling2d"]
    assert "(5 - 1) * 2 + max(3, 2) = 11" in ex["conv2d_transpose"]


def test_symbolic_sizes_are_explained_in_their_symbols() -> None:
    ex = _explanations(str(SAMPLES / "unet_skip_bug.py"))
    pool = ex["max_pooling2d"]
    assert "floor((H - 2) / 2) + 1 = floor(H/2)" in pool
    conv = ex["conv2d"]
    assert "kernel (3, 3, C, 16): 3 * 3 * C * 16 = 144*C" in conv


def test_every_explanation_agrees_with_the_analysis() -> None:
    for source in ("unet.py", "cnn_from_data.py", "siamese.py"):
        model = api.analyze(SAMPLES / source).model()
        rows = {r.layer.name: r for r in model.rows()}
        for ex in explain_model(model):
            row = rows[ex.layer]
            outs = row.output_types[ex.call_index]
            assert ex.outputs == [format_shape(t.shape) for t in outs if t is not None]
            if ex.call_index == 0 and ex.weights:
                total = ex.params.rsplit(" = ", 1)[-1]
                params = row.result.params
                assert total == (f"{params:,}" if dims.is_int(params) else str(params))
            results = [g.filled for g in ex.steps]
            if results:  # the last step along each axis is that axis's output length
                (out,) = outs
                assert out is not None
                spatial = [dims.format_dim(d) for d in out.shape[1:-1]]
                assert [line.rsplit(" = ", 1)[1] for line in results[-1]] == spatial


def test_one_layer_by_name_from_the_command_line() -> None:
    result = CliRunner().invoke(main, ["explain", str(SAMPLES / "cnn_from_data.py"),
                                       "--layer", "conv2d_1", "--input-shape", "32,32,3"])
    assert result.exit_code == 0, result.output
    assert "conv2d_1 (Conv2D)" in result.output
    assert "conv2d (Conv2D)" not in result.output
    assert "floor((32 - 3) / 1) + 1 = 30" in result.output
    assert "3 * 3 * 32 * 32 = 9,216" in result.output
    assert "receptive field: rf 5x5, jump 1x1" in result.output
    missing = CliRunner().invoke(main, ["explain", str(SAMPLES / "cnn_from_data.py"),
                                        "--layer", "nope"])
    assert missing.exit_code == 2
    assert "no layer named 'nope'" in missing.output


H = sympy.Symbol("H", integer=True, positive=True)


@given(length=st.integers(1, 300), kernel=st.integers(1, 7), stride=st.integers(1, 4),
       dilation=st.integers(1, 3), padding=st.sampled_from(["valid", "same", "causal"]),
       symbolic=st.booleans())
def test_recorded_steps_evaluate_to_the_computed_length(
        length: int, kernel: int, stride: int, dilation: int, padding: str,
        symbolic: bool) -> None:
    """The filled-in text, read back as arithmetic, gives the value the function returned."""
    size: dims.Dim = dims.Sym("H") if symbolic else length
    with shapes.recording() as steps:
        conv = shapes.conv_output_length(size, kernel, stride, padding, dilation)
        pool = shapes.pool_output_length(size, kernel, stride, "same" if padding == "causal"
                                         else padding)
        tr = shapes.conv_transpose_output_length(size, kernel, stride, "valid", None, dilation)
    assert [s.value for s in steps] == [conv, pool, tr]
    for s in steps:
        expr = sympy.sympify(s.filled.replace("%", " % "), locals={"H": H, "floor": sympy.floor,
                                                                    "max": sympy.Max})
        got = expr.subs(H, length) if symbolic else expr
        want = dims.to_expr(s.value).subs(H, length) if symbolic else s.value
        assert int(got) == int(want), s
