"""Symbolic input sizes: requirements that never hold, and the sizes that work."""

from __future__ import annotations

import keras
import pytest

from convcalc import api, dims
from convcalc.constraints import LIMIT, SizeSet
from convcalc.diagnostics import Severity


def sizes(symbol: str, ok: object) -> SizeSet:
    return SizeSet(symbol, tuple(bool(ok(h)) for h in range(1, LIMIT + 1)))  # type: ignore[operator]


@pytest.mark.parametrize(
    ("predicate", "text"),
    [
        (lambda h: h % 8 == 0, "H a multiple of 8"),
        (lambda h: h >= 5, "H >= 5"),
        (lambda h: h % 4 == 0 and h >= 16, "H a multiple of 4, H >= 16"),
        (lambda h: h % 4 in (0, 1), "H mod 4 in {0, 1}"),
        (lambda h: h in (3, 7, 9), "H in {3, 7, 9}"),
        (lambda h: False, "no value of H"),
    ],
)
def test_size_sets_are_described(predicate: object, text: str) -> None:
    assert sizes("H", predicate).describe() == text


def unet(skip_level_bug: bool) -> str:
    """A 3-level U-Net on an input of unknown size, exported by real Keras."""
    inp = keras.Input((None, None, 3), name="image")
    x = inp
    skips = []
    for f in (8, 16, 32):
        x = keras.layers.Conv2D(f, 3, padding="same", name=f"enc{f}")(x)
        skips.append(x)
        x = keras.layers.MaxPooling2D(name=f"pool{f}")(x)
    if skip_level_bug:
        skips = [skips[0], skips[0], skips[1]]  # each skip one level too high
    for f, skip in zip((32, 16, 8), reversed(skips), strict=True):
        x = keras.layers.Conv2DTranspose(f, 2, strides=2, padding="same", name=f"up{f}")(x)
        x = keras.layers.Concatenate(name=f"merge{f}")([x, skip])
    out = keras.layers.Conv2D(1, 1, name="mask")(x)
    return keras.Model(inp, out, name="unet").to_json()


@pytest.mark.oracle
def test_correct_unet_builds_for_multiples_of_eight() -> None:
    report = api.analyze(unet(skip_level_bug=False))
    model = report.model()
    assert model.errors == []
    infos = sorted(d.message for d in model.diagnostics if d.code == "CC107")
    assert infos == ["model unet builds only for H a multiple of 8",
                     "model unet builds only for W a multiple of 8"]
    assert report.exit_code == 0
    (out,) = model.output_types
    assert out is not None and str(out.shape[1]) == "8*floor(H/8)"  # = H where it builds


@pytest.mark.oracle
def test_skips_at_the_wrong_level_fail_for_every_size() -> None:
    report = api.analyze(unet(skip_level_bug=True))
    model = report.model()
    bad = [d for d in model.errors if d.code == "CC101"]
    assert {d.layer for d in bad} == {"merge32", "merge16"}
    assert all("for every input size" in d.message for d in bad)
    first = next(d for d in bad if d.layer == "merge32")
    assert "(2*floor(H/8) vs floor(H/2))" in first.message
    assert report.exit_code == 1


@pytest.mark.oracle
def test_binding_the_size_gives_concrete_errors() -> None:
    report = api.analyze(unet(skip_level_bug=True), input_shapes=[(128, 128, 3)])
    bad = [d for d in report.model().errors if d.code == "CC101"]
    assert {d.layer for d in bad} == {"merge32", "merge16"}
    assert "32" in bad[0].message and "64" in bad[0].message


@pytest.mark.oracle
def test_a_size_that_does_not_divide_is_an_error_once_bound() -> None:
    report = api.analyze(unet(skip_level_bug=False), input_shapes=[(100, 128, 3)])
    model = report.model()
    # 100 -> 50 -> 25 -> 12: every merge is off by one or two once 25 is floored; each
    # is reported (the decoder's size carries on past an error).
    assert {d.layer for d in model.errors} == {"merge32", "merge16", "merge8"}
    assert "(24 vs 25)" in next(d.message for d in model.errors if d.layer == "merge32")
    assert all(d.severity is not Severity.INFO for d in model.diagnostics)


def test_evaluator_is_exact() -> None:
    h, w = dims.Sym("H"), dims.Sym("W")
    exprs = [
        dims.floordiv(dims.floordiv(h, 2), 3),
        dims.ceildiv(dims.sub(h, 1), 3),
        dims.mul(2, dims.floordiv(dims.add(h, 5), 7)),
        dims.prod([dims.floordiv(h, 2), dims.floordiv(w, 4), 3]),
        dims.maximum(dims.sub(h, 4), 2),
    ]
    for e in exprs:
        f = dims.evaluator(e)
        for hv in range(1, 40):
            for wv in (1, 5, 8):
                n, d = f({"H": hv, "W": wv})
                assert n == dims.evaluate(e, {"H": hv, "W": wv}) * d, (e, hv, wv)
