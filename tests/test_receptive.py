"""Receptive fields and jumps, checked against the input pixels a Keras model's output
really depends on (the non-zero footprint of a gradient)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from convcalc import api
from convcalc.cli import main
from convcalc.receptive import Field, receptive_fields

Layer = tuple[str, tuple[int, ...], dict[str, object]]

CHAINS: dict[str, list[Layer]] = {
    "convs": [("Conv2D", (1, 3), {}), ("Conv2D", (1, 3), {}),
              ("Conv2D", (1, 5), {"strides": 2}), ("Conv2D", (1, 3), {})],
    "pools": [("Conv2D", (1, 3), {}), ("AveragePooling2D", (2,), {}), ("Conv2D", (1, 3), {}),
              ("AveragePooling2D", (3, 2), {}), ("Conv2D", (1, 3), {"padding": "same"})],
    "dilated": [("Conv2D", (1, 3), {"dilation_rate": 2}), ("Conv2D", (1, 3), {"strides": 2}),
                ("Conv2D", (1, 3), {"dilation_rate": 3})],
    "padded": [("ZeroPadding2D", (2,), {}), ("Conv2D", (1, 5), {"strides": 2}),
               ("Cropping2D", (1,), {}), ("DepthwiseConv2D", (3,), {}),
               ("SeparableConv2D", (1, 3), {"strides": 2})],
}


def _source(layers: list[Layer]) -> str:
    calls = []
    for cls, args, kwargs in layers:
        given = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        calls.append(f"x = layers.{cls}({', '.join(given)})(x)")
    body = "\n".join(calls)
    return (f"import keras\nfrom keras import layers\ninp = keras.Input((64, 64, 1))\n"
            f"x = inp\n{body}\nmodel = keras.Model(inp, x)\n")


def _last_field(source: str) -> Field:
    model = api.analyze(source).model()
    fields = receptive_fields(model.analysis)
    last = model.graph.outputs[0]
    field = fields[last.node][last.index]
    assert field is not None
    return field


def _footprint(model: object, row: int, col: int) -> tuple[int, int, int]:
    """(first row, first col, rows) of the input pixels output (row, col) depends on."""
    import jax
    import jax.numpy as jnp

    def unit(x: jnp.ndarray) -> jnp.ndarray:
        return model(x)[0, row, col, 0]  # type: ignore[operator, no-any-return]

    x = jnp.ones((1, 64, 64, 1))
    grad = np.asarray(jax.grad(unit)(x))[0, :, :, 0]
    rows = np.nonzero(grad.any(axis=1))[0]
    cols = np.nonzero(grad.any(axis=0))[0]
    return int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1)


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_field_and_jump_match_what_keras_outputs_depend_on(name: str) -> None:
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    from keras import layers

    inp = keras.Input((64, 64, 1))
    x = inp
    for cls, args, kwargs in CHAINS[name]:
        # ones everywhere: no two paths cancel, so every pixel in the field shows up
        x = getattr(layers, cls)(*args, **kwargs, **_ones(cls))(x)
    model = keras.Model(inp, x)
    field = _last_field(_source(CHAINS[name]))
    centre = model.output.shape[1] // 2
    first, _, size = _footprint(model, centre, centre)
    nxt, _, _ = _footprint(model, centre + 1, centre)
    assert field.size == (size, size)
    assert field.jump == (nxt - first, nxt - first)


def _ones(cls: str) -> dict[str, str]:
    if cls in ("Conv2D",):
        return {"kernel_initializer": "ones"}
    if cls == "DepthwiseConv2D":
        return {"depthwise_initializer": "ones"}
    if cls == "SeparableConv2D":
        return {"depthwise_initializer": "ones", "pointwise_initializer": "ones"}
    return {}


def test_upsampling_divides_the_jump() -> None:
    field = _last_field(_source([("Conv2D", (1, 3), {"strides": 4}), ("UpSampling2D", (2,), {}),
                                 ("Conv2DTranspose", (1, 3), {"strides": 2})]))
    assert field.to_json()["jump"] == [1, 1]
    up = _last_field(_source([("Conv2D", (1, 3), {"strides": 2}), ("UpSampling2D", (4,), {})]))
    assert up.to_json()["jump"] == ["1/2", "1/2"]


def test_branches_that_disagree_are_named() -> None:
    model = api.analyze(SAMPLES / "unet.py").model()
    fields = receptive_fields(model.analysis)
    by_name = {c.layer.name: fields[c.id][0] for c in model.graph.calls}
    concat = by_name["concatenate_2"]
    assert concat is not None and concat.disagreement is not None
    assert "batch_normalization rf 5x5" in concat.disagreement
    assert "conv2d_transpose_2" in concat.disagreement
    assert by_name["conv2d_12"] is not None and by_name["conv2d_12"].disagreement is None


def test_global_pooling_sees_the_whole_input() -> None:
    field = _last_field(_source([("Conv2D", (4, 3), {}), ("GlobalAveragePooling2D", (), {}),
                                 ("Dense", (2,), {})]))
    assert field.whole and field.describe() == "whole input"


def test_json_and_the_command_line_show_the_fields() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["analyze", str(SAMPLES / "siamese.py"), "--format", "json"])
    layers = {x["name"]: x for x in json.loads(result.output)["models"][0]["layers"]}
    conv = layers["shared_conv"]["receptive_field"]
    assert len(conv) == 2  # one per call of the shared layer
    assert conv[0] == [{"size": [5, 5], "jump": [2, 2], "whole": False,
                        "branches_disagree": None}]
    assert layers["same"]["receptive_field"][0][0]["whole"] is True
    result = runner.invoke(main, ["analyze", str(SAMPLES / "siamese.py"),
                                  "--receptive-field"])
    assert "Receptive fields of \"siamese\"" in result.output
    assert "shared_conv #1" in result.output
