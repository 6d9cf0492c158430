"""Explanations: the derivations are the arithmetic the analysis did, with its numbers."""

from __future__ import annotations

import pytest
import sympy
from click.testing import CliRunner
from conftest import FIXTURES, SAMPLES
from hypothesis import given
from hypothesis import strategies as st

from convcalc import api, dims, formulas, shapes
from convcalc.cli import main
from convcalc.explain import explain_call, explain_model
from convcalc.render.html import node_details
from convcalc.render.layout import layout
from convcalc.report import ModelReport
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


# ------------------------------------------------------------------ MACs with numbers
def _evaluated(filled: str, like: dims.Dim) -> dims.Dim:
    """A filled-in formula read back as arithmetic, in the symbols of ``like``."""
    names = {n: sympy.Symbol(n, integer=True, positive=True) for n in dims.free_symbols(like)}
    return dims.normalize(sympy.sympify(filled, locals={**names, "floor": sympy.floor}))


def _macs_checked(model: ModelReport) -> int:
    """Check every call's filled MACs formula against the analysis; how many there were."""
    checked = 0
    for result in model.analysis.calls.values():
        spec = result.call.layer.spec
        if result.macs is None or spec is None or spec.family == "model":
            continue
        ex = explain_call(model.analysis, result)
        where = f"{model.name}/{ex.layer}"
        if not ex.macs_filled:  # every nonzero count shows its arithmetic
            assert result.macs == 0, (where, ex.text())
            continue
        assert dims.identical(_evaluated(ex.macs_filled, result.macs), result.macs), (
            where, ex.macs_filled, result.macs)
        assert ex.macs == (f"{result.macs:,}" if dims.is_int(result.macs) else str(result.macs))
        checked += 1
    return checked


def test_a_convolution_shows_its_macs_factors_and_total() -> None:
    size, k, c, filters = 32, 3, 3, 16  # the first layer of SMALL_CNN
    out = size - k + 1
    filled = f"({out}*{out}) * ({k}*{k}) * {c} / 1 * {filters}"
    total = out * out * k * k * c * filters
    text = _explanations(SMALL_CNN)["conv2d"]
    line = f"  MACs = out_spatial * prod(k) * in_c / groups * filters = {filled} = {total:,}"
    assert line in text.splitlines()


def test_symbolic_macs_are_filled_in_with_symbols() -> None:
    ex = _explanations(str(SAMPLES / "unet.py"))
    assert f"= (H*W) * (3*3) * C / 1 * 16 = {3 * 3 * 16}*C*H*W" in ex["conv2d"]
    assert f"= (H*W) * (3*3) * 16 / 1 * 16 = {3 * 3 * 16 * 16}*H*W" in ex["conv2d_1"]
    assert "= (floor(H/2)*floor(W/2)) * (3*3) * 16 / 1 * 32" in ex["conv2d_2"]


LAYER_ZOO = """
import keras
from keras import layers
seq = keras.Input((None, 8))
x = layers.LSTM(16, return_sequences=True, name="lstm")(seq)
x = layers.Bidirectional(layers.GRU(4, return_sequences=True), name="bi")(x)
x = layers.TimeDistributed(layers.Dense(6), name="td")(x)
a = layers.MultiHeadAttention(num_heads=3, key_dim=5, value_dim=7, name="mha")(x, x)
d = layers.Dot(axes=2, name="dot")([a, x])
img = keras.Input((20, 20, 4))
y = layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, name="dw")(img)
y = layers.Conv2DTranspose(5, 3, strides=2, padding="same", name="up")(y)
y = layers.SeparableConv2D(8, 3, name="sep")(y)
y = layers.Conv2D(4, 3, groups=2, name="grouped")(y)
model = keras.Model([seq, img], [a, d, y], name="zoo")
"""


def test_each_layer_kind_fills_in_a_formula_worth_its_macs() -> None:
    model = api.analyze(LAYER_ZOO).model()
    assert _macs_checked(model) == 9
    ex = {e.layer: e for e in explain_model(model)}
    # LSTM: T steps of 4 gates of u units over d inputs and u recurrent units
    assert ex["lstm"].macs_formula == "T * g * u * (d + u)"
    assert ex["lstm"].macs_filled == "T * 4 * 16 * (8 + 16)"
    assert ex["lstm"].macs == f"{4 * 16 * (8 + 16)}*T"
    # a wrapper shows the wrapped layer's formula, filled in for one step (or direction)
    assert ex["td"].macs_filled == "T * 1 * 8 * 6"
    assert ex["bi"].macs_filled == "T * 3 * 4 * (16 + 4) + T * 3 * 4 * (16 + 4)"
    # depthwise: out 9x9 (valid, stride 2), each of the 4 * 2 outputs a 3x3 window
    assert ex["dw"].macs_filled == "(9*9) * (3*3) * 4 * 2"
    assert ex["dw"].macs == f"{9 * 9 * 3 * 3 * 4 * 2:,}"
    # transposed: every input pixel scatters a 3x3 kernel per input and output channel
    assert ex["up"].macs_filled == "(9*9) * (3*3) * 8 * 5"
    assert ex["grouped"].macs_filled == "(14*14) * (3*3) * 8 / 2 * 4"
    mha = ex["mha"]
    assert mha.macs_formula.startswith("Nq * dq * H * Kd + Nk * dk * H * Kd + ")
    lines = mha.lines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  MACs ="))
    block = lines[start:start + 4]
    assert all(len(line) <= 100 for line in block), block
    assert block[-1].endswith(f"= {mha.macs}")


def test_macs_derivations_of_a_resnet50_config_agree_with_the_analysis() -> None:
    model = api.analyze(FIXTURES / "keras3" / "truth" / "ResNet50.model.json").model()
    assert _macs_checked(model) == 54  # 53 convolutions and the classifier


@pytest.mark.parametrize("source", sorted(
    str(p.relative_to(SAMPLES)) for p in [*SAMPLES.glob("*.py"), *SAMPLES.glob("modern/*.py")]))
def test_macs_derivations_of_the_samples_agree_with_the_analysis(source: str) -> None:
    for model in api.analyze(SAMPLES / source).models:
        _macs_checked(model)


def test_the_filled_formula_is_in_the_json_and_the_html_details() -> None:
    model = api.analyze(SMALL_CNN).model()
    (conv,) = [e for e in explain_model(model, "conv2d")]
    data = conv.to_json()
    assert data["macs_formula"] == "out_spatial * prod(k) * in_c / groups * filters"
    assert data["macs_filled"] == "(30*30) * (3*3) * 3 / 1 * 16"
    assert data["macs"] == "388,800"
    details = node_details(model, layout(model))
    (node,) = [n for n in details.values() if n["name"] == "conv2d"]
    assert "= (30*30) * (3*3) * 3 / 1 * 16 = 388,800" in node["explanation"]


_SIZES = st.one_of(st.integers(1, 40), st.sampled_from([dims.Sym("H"), dims.Sym("W")]))
_LEAVES = st.builds(lambda name, sizes: formulas.named(name, *sizes),
                    st.sampled_from(["a", "b", "c"]), st.lists(_SIZES, max_size=3))
_FORMULAS = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.builds(lambda x, y: x * y, inner, inner), st.builds(lambda x, y: x + y, inner, inner),
    st.builds(lambda x, n: n * x, inner, st.integers(1, 5))), max_leaves=8)


@given(_FORMULAS)
def test_a_recorded_formula_reads_back_as_its_value(formula: formulas.Expr) -> None:
    """Recording changes no value, and the filled-in text is the same arithmetic."""
    plain = formulas.evaluate(formula)
    with formulas.recording() as found:
        recorded = formulas.evaluate(formula)
    assert recorded == plain and [d.value for d in found] == [plain]
    assert dims.identical(_evaluated(found[0].filled, plain), plain)


def test_a_quotient_divides_by_a_named_positive_int() -> None:
    in_c, groups = formulas.named("in_c", 12), formulas.named("groups", 3)
    with formulas.recording() as found:
        assert formulas.evaluate(formulas.named("k", 2, 2) * (in_c / groups)) == 16
    assert found == [formulas.Derivation("k * in_c / groups", "(2*2) * 12 / 3", 16)]
    with pytest.raises(ValueError, match="groups must be a positive int"):
        in_c / formulas.named("groups", dims.Sym("G"))
