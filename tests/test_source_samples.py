"""The samples and the users' seed models, read from source: the findings users need.

Where real Keras can build a sample (TensorFlow-style imports are served by Keras 3),
the oracle test compares model names, layer names and params with it.
"""

from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from convcalc import api, dims
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.frontend.source import recorded_calls
from convcalc.report import Report

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SEED = ROOT / "tests" / "fixtures" / "seed"


def errors(report: Report) -> list[Diagnostic]:
    return [d for d in report.all_diagnostics() if d.severity is Severity.ERROR]


def lines(diags: list[Diagnostic], code: str) -> list[int]:
    return sorted({d.span.line for d in diags if d.code == code and d.span is not None})


def shape(t: Any) -> list[int | str | None]:
    return [dims.to_json(d) for d in t.shape]


# ------------------------------------------------------------------ U-Nets
def test_unet_skip_bug_symbolic() -> None:
    report = api.analyze(SAMPLES / "unet_skip_bug.py")
    diags = errors(report)
    assert lines(diags, "CC101") == [29, 32]
    assert {d.code for d in diags} == {"CC101"}
    first = [d.message for d in diags if d.span is not None and d.span.line == 29]
    assert any("2*floor(H/8)" in m and "floor(H/2)" in m for m in first)
    second = [d.message for d in diags if d.span is not None and d.span.line == 32]
    assert any("4*floor(H/8)" in m and "(None, H, W, 16)" in m for m in second)
    assert all(d.hint for d in diags)
    assert shape(report.model().input_types[0]) == [None, "H", "W", "C"]


def test_unet_skip_bug_concrete_call() -> None:
    report = api.analyze(SAMPLES / "unet_skip_bug.py", call="build_unet((128, 128, 3))")
    diags = errors(report)
    assert lines(diags, "CC101") == [29, 32]
    messages = " ".join(d.message for d in diags)
    assert "(None, 32, 32, 64) and (None, 64, 64, 32)" in messages
    assert "(None, 64, 64, 32) and (None, 128, 128, 16)" in messages
    assert "floor" not in messages


def test_corrected_unet_needs_multiples_of_8() -> None:
    report = api.analyze(SAMPLES / "unet.py")
    assert errors(report) == []
    infos = [d for d in report.all_diagnostics() if d.code == "CC107"]
    assert infos and all(d.severity is Severity.INFO for d in infos)
    assert {d.message.split(" builds only for ")[1] for d in infos} == {
        "H a multiple of 8", "W a multiple of 8"}
    concrete = api.analyze(SAMPLES / "unet.py", call="build_unet((128, 128, 3))")
    assert errors(concrete) == [] and concrete.model().totals.complete


def test_seed_unet_symbolic_first_skip() -> None:
    report = api.analyze(SEED / "unet_seed.py")
    diags = errors(report)
    assert 30 in lines(diags, "CC101")
    msg = next(d.message for d in diags if d.span is not None and d.span.line == 30)
    assert "floor(H/2)" in msg and "2*floor(H/8)" in msg


def test_seed_unet_concrete_first_skip() -> None:
    report = api.analyze(SEED / "unet_seed.py", call="build_model((128,128,3))")
    diags = errors(report)
    assert 30 in lines(diags, "CC101")
    msg = next(d.message for d in diags if d.span is not None and d.span.line == 30)
    assert "(None, 64, 64, 64) and (None, 32, 32, 64)" in msg


@pytest.mark.parametrize(
    ("call", "second"),
    [(None, "(H vs 4*floor(H/8))"), ("build_model((128,128,3))", "(128 vs 64)")],
)
def test_seed_unet_both_skips(call: str | None, second: str) -> None:
    # After the first bad merge, analysis follows the decoder path (the most recent
    # input), so the second skip is checked against what the decoder really produces.
    report = api.analyze(SEED / "unet_seed.py", call=call)
    diags = errors(report)
    assert lines(diags, "CC101") == [30, 36]
    msg = next(d.message for d in diags if d.span is not None and d.span.line == 36)
    assert second in msg


# ------------------------------------------------------------------ data-shaped inputs
def test_cnn_from_data_params_are_formulas() -> None:
    model = api.analyze(SAMPLES / "cnn_from_data.py").model()
    conv = model.layer("conv2d")
    assert str(conv.result.params) == "288*C + 32"
    assert shape(model.input_types[0]) == [None, "H", "W", "C"]
    assert not dims.is_int(model.totals.params)


def test_cnn_from_data_with_input_shape() -> None:
    report = api.analyze(SAMPLES / "cnn_from_data.py", input_shapes=[(32, 32, 3)])
    model = report.model()
    assert model.layer("conv2d").result.params == 896
    assert model.totals.params == 896 + 9248 + (15 * 15 * 32 * 128 + 128) + (128 * 10 + 10)
    assert errors(report) == []


def test_cnn_from_data_records_compile() -> None:
    model = api.analyze(SAMPLES / "cnn_from_data.py").model()
    (call,) = recorded_calls(model.graph)
    assert call.method == "compile"
    assert call.kwargs == {"optimizer": "adam", "loss": "categorical_crossentropy",
                           "metrics": ["accuracy"]}
    assert call.span is not None and call.span.line == 25


def test_seed_sequential_from_dataset() -> None:
    report = api.analyze(SEED / "sequential_seed.py")
    model = report.model()
    assert str(model.layer("conv2d").result.params) == "288*C + 32"
    assert any(d.code == "CC008" and "dataset.X_train.shape[1:]" in d.message
               for d in report.all_diagnostics())
    bound = api.analyze(SEED / "sequential_seed.py", input_shapes=[(32, 32, 3)]).model()
    assert bound.totals.params == 896 + 9248


# ------------------------------------------------------------------ shared layers
def test_siamese_counts_shared_weights_once() -> None:
    model = api.analyze(SAMPLES / "siamese.py").model()
    conv = model.layer("shared_conv")
    assert conv.result.params == 5 * 5 * 1 * 24 + 24
    assert len(conv.result.calls) == 2
    embed = model.layer("shared_embed")
    assert len(embed.result.calls) == 2
    assert model.totals.params == 624 + 24 * 64 + 64 + 65


def test_seed_siamese() -> None:
    model = api.analyze(SEED / "siamese_seed.py").model()
    rows = {r.layer.name: r for r in model.rows()}
    assert len(rows["conv2d"].result.calls) == 2 and rows["conv2d"].result.params == 320
    assert model.totals.params == 320 + (2 * 32 * 32 * 32 + 1)


def test_seed_conv2d_params() -> None:
    report = api.analyze(SEED / "conv2d_params_seed.py")
    assert [m.name for m in report.models] == ["sequential", "sequential_1"]
    first, second = report.models
    assert first.totals.params == 3 * 3 * 3 * 32 + 32
    assert shape(first.output_types[0]) == [None, 28, 28, 32]
    assert [r.layer.class_name for r in second.rows()] == ["Conv2D", "LeakyReLU"]
    assert shape(second.output_types[0]) == [None, 26, 26, 32]


# ------------------------------------------------------------------ every sample
def _samples() -> list[Path]:
    return sorted([*SAMPLES.glob("*.py"), SAMPLES / "project" / "model.py",
                   SAMPLES / "project" / "train.py"])


@pytest.mark.parametrize("path", _samples(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_sample_reads_completely(path: Path) -> None:
    report = api.analyze(path)
    assert report.usable and report.models
    for model in report.models:
        assert model.totals.complete, model.name
    bugs = [d for d in report.all_diagnostics() if d.code in ("CC199", "CC013", "CC009")]
    assert bugs == []


@pytest.mark.parametrize("path", _samples(), ids=lambda p: str(p.relative_to(SAMPLES)))
def test_sample_reads_the_same_without_keras_installed(path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """``pip install convcalc`` has no keras: only keras.applications and the like are
    read from its source, so the samples analyse to the same models without it."""
    from convcalc.frontend import loader

    with_keras = api.analyze(path)
    monkeypatch.setattr(loader, "keras_package_dir", lambda: None)
    without = api.analyze(path)
    assert [d.code for d in without.all_diagnostics() if d.code == "CC010"] == []
    assert [(m.name, m.totals.params, [str(t) for t in m.output_types])
            for m in without.models] == [
        (m.name, m.totals.params, [str(t) for t in m.output_types]) for m in with_keras.models]


def test_package_with_relative_imports() -> None:
    for path in (SAMPLES / "project" / "model.py", SAMPLES / "project" / "train.py"):
        (model,) = api.analyze(path).models
        assert model.name == "project_cnn"
        assert [r.layer.name for r in model.rows()][:5] == [
            "input_layer", "block1_conv", "block1_bn", "block1_relu", "block1_pool"]
        conv = model.layer("block1_conv").layer
        assert conv.span is not None and conv.span.file.endswith("blocks.py")
        assert conv.scope == ("build_model", "conv_block")
        assert shape(model.output_types[0]) == [None, 5]


def test_keras1_sample() -> None:
    model = api.analyze(SAMPLES / "keras1_model.py").model()
    assert [r.layer.class_name for r in model.rows()][:4] == [
        "InputLayer", "Conv2D", "Conv2D", "Merge"]
    assert model.layer("conv2d_1").result.params == 5 * 5 * 3 * 16 + 16
    assert shape(model.layer("merge").output_types[0][0]) == [None, 32, 32, 32]
    assert model.totals.params == (448 + 1216 + 16 * 16 * 32 * 64 + 64 + 650)


def test_sequential_forms() -> None:
    report = api.analyze(SAMPLES / "sequential_forms.py")
    models = {m.name: m for m in report.models}
    assert list(models) == ["with_input", "with_input_layer", "with_batch_shape",
                            "with_input_dim", "built_later"]
    assert shape(models["with_input_layer"].input_types[0]) == [None, "T", 12]
    assert shape(models["with_batch_shape"].output_types[0]) == [4, 10]
    assert models["with_input_dim"].totals.non_trainable_params == 128
    assert models["built_later"].totals.params == 7 * 32 + 32 + 66


# ------------------------------------------------------------------ oracle
ORACLE_SAMPLES = [
    ("imports_tf_keras.py", None), ("resnet_blocks.py", "build_resnet()"),
    ("nested_models.py", None), ("siamese.py", None), ("activation_layers.py", None),
    ("unet.py", "build_unet((128, 128, 3))"),
]
"""Samples real Keras 3 can run (sequential_forms.py uses Keras 2's batch_input_shape)."""


def _run_with_keras(path: Path, call: str | None) -> list[Any]:
    """Run a sample under real Keras 3 (``tensorflow.keras`` served by Keras 3)."""
    import keras

    keras.backend.clear_session()
    tf = types.ModuleType("tensorflow")
    tf.keras = keras  # type: ignore[attr-defined]
    tf.nn = types.SimpleNamespace(relu=keras.activations.relu)  # type: ignore[attr-defined]
    fake = {"tensorflow": tf, "tensorflow.keras": keras,
            "tensorflow.keras.layers": keras.layers, "tensorflow.keras.models": keras.models}
    saved = {k: sys.modules.get(k) for k in fake}
    sys.modules.update(fake)
    try:
        ns = runpy.run_path(str(path))
        if call is not None:
            return [eval(call, ns)]  # the oracle runs our own sample, for real
        return [v for v in ns.values() if isinstance(v, keras.Model)]
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "call"), ORACLE_SAMPLES)
def test_sample_matches_real_keras(name: str, call: str | None) -> None:
    path = SAMPLES / name
    real = {m.name: m for m in _run_with_keras(path, call)}
    ours = api.analyze(path, call=call).models
    assert ours
    for model in ours:
        keras_model = real[model.name]
        assert model.totals.params == keras_model.count_params(), model.name
        assert [r.layer.name for r in model.rows()] == [x.name for x in keras_model.layers]
