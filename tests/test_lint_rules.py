"""Lint rules: annotated samples, and no false alarms on correct real-world models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.diagnostics import Severity
from convcalc.frontend.loader import keras_package_dir
from convcalc.linter import load_rules
from convcalc.linter.runner import lint_file
from convcalc.linter.settings import Settings
from convcalc.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "lint"
FIXTURES = ROOT / "tests" / "fixtures"
ANNOTATION = re.compile(r"#\s*(error|warning):\s*(CC\d{3}(?:\s*,\s*CC\d{3})*)")

BAD = sorted(p for p in SAMPLES.glob("CC*.py") if not p.stem.endswith("_ok"))
GOOD = sorted(SAMPLES.glob("CC*_ok.py"))

APPLICATIONS = {
    "VGG16": "vgg16", "ResNet50": "resnet", "ResNet50V2": "resnet_v2",
    "MobileNet": "mobilenet", "MobileNetV2": "mobilenet_v2",
    "MobileNetV3Small": "mobilenet_v3", "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2", "Xception": "xception",
    "DenseNet121": "densenet", "NASNetMobile": "nasnet", "EfficientNetB0": "efficientnet",
    "EfficientNetV2B0": "efficientnet_v2", "ConvNeXtTiny": "convnext",
}
"""One builder per keras.applications family, with its module in keras/src."""


def expected(path: Path) -> set[tuple[str, int, Severity]]:
    """The (code, line, severity) annotations of a sample file."""
    out = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for m in ANNOTATION.finditer(line):
            severity = Severity.ERROR if m.group(1) == "error" else Severity.WARNING
            for code in m.group(2).split(","):
                out.add((code.strip(), number, severity))
    return out


def found(path: Path, call: str | None = None) -> set[tuple[str, int, Severity]]:
    result = lint_file(path, Settings(), call=call)
    return {(d.code, d.span.line if d.span else 0, d.severity) for d in result.diagnostics}


def test_every_lint_rule_has_a_bad_and_a_good_sample() -> None:
    load_rules()
    lint_codes = {c for c in RULES if c.startswith("CC2")}
    bad_codes = {p.name[:5] for p in BAD}
    good_codes = {p.name[:5] for p in GOOD}
    assert lint_codes == bad_codes == good_codes
    for path in BAD:
        assert path.name[:5] in {code for code, _, _ in expected(path)}, path.name


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_sample_reports_exactly_its_annotations(path: Path) -> None:
    want = expected(path)
    assert want, f"{path.name} has no annotation"
    assert found(path) == want


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_sample_is_clean(path: Path) -> None:
    assert found(path) == set()


def test_seed_unet_reports_its_two_skip_connection_errors() -> None:
    got = found(FIXTURES / "seed" / "unet_seed.py")
    assert {(c, s) for c, _, s in got} == {("CC101", Severity.ERROR)}
    assert sorted(line for _, line, _ in got) == [30, 36]


def test_corrected_unet_has_no_error() -> None:
    got = found(ROOT / "samples" / "unet.py")
    assert not [f for f in got if f[2] is Severity.ERROR]


@pytest.mark.parametrize("path", sorted((FIXTURES / "keras3" / "models").glob("*.py")),
                         ids=lambda p: p.stem)
def test_keras3_fixture_models_have_no_error(path: Path) -> None:
    got = found(path)
    assert not [f for f in got if f[2] is Severity.ERROR]


@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_keras_applications_raise_no_finding(name: str) -> None:
    root = keras_package_dir()
    assert root is not None, "keras is installed with the test extra"
    path = root / "src" / "applications" / f"{APPLICATIONS[name]}.py"
    assert found(path, call=f"{name}(weights=None)") == set()


BUGS = sorted((FIXTURES / "lint_bugs").glob("*.py"))


@pytest.mark.parametrize("path", BUGS, ids=lambda p: p.stem)
def test_buggy_program_reports_its_annotations(path: Path) -> None:
    # programs whose bug is not visible statically carry no annotation and say so
    text = path.read_text()
    assert expected(path) or "(missed" in text
    assert found(path) == expected(path)


@pytest.mark.parametrize("path", sorted((FIXTURES / "lint_clean").glob("*.py")),
                         ids=lambda p: p.stem)
def test_correct_programs_raise_no_finding(path: Path) -> None:
    # well-known correct Keras programs (keras.io examples and the like): no false alarm
    assert found(path) == set()


_LAYERS = st.sampled_from([
    "layers.Conv2D(8, 3)", "layers.Conv2D(4, 2, padding='same')", "layers.MaxPooling2D()",
    "layers.Conv2D(8, 3, strides=3, activation='relu')", "layers.Flatten()",
    "layers.Dense(16)", "layers.Dense(1, activation='softmax')", "layers.Dropout(0.9)",
    "layers.Activation('sigmoid')", "layers.BatchNormalization(axis=1)",
    "layers.LSTM(4)", "layers.Reshape((4, 4))", "layers.GlobalAveragePooling2D()",
    "layers.Conv1D(4, 3)", "layers.Dense(3, activation='sigmoid')",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=st.sampled_from(["(16, 16, 3)", "(3, 16, 16)", "(20,)", "(10, 8)"]),
       body=st.lists(_LAYERS, min_size=1, max_size=6),
       loss=st.sampled_from(["'mse'", "'categorical_crossentropy'",
                             "keras.losses.BinaryCrossentropy(from_logits=True)"]))
def test_lint_never_fails_on_random_models(tmp_path_factory: pytest.TempPathFactory,
                                            shape: str, body: list[str], loss: str) -> None:
    path = tmp_path_factory.mktemp("random") / "model.py"
    items = ",\n    ".join([f"keras.Input(shape={shape})", *body])
    path.write_text(f"import keras\nimport numpy as np\nfrom keras import layers\n\n"
                    f"model = keras.Sequential([\n    {items},\n])\n"
                    f"model.compile(optimizer='adam', loss={loss})\n"
                    f"model.fit(np.zeros((4, 5)), np.zeros((4, 3)))\n")
    result = lint_file(path, Settings())
    assert result.usable
    assert not [d for d in result.diagnostics if d.code == "CC199"]
    assert all(d.span is not None and d.span.file == str(path) for d in result.diagnostics)
