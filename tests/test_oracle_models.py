"""End-to-end oracle: random conv / pool / transpose chains built with real Keras 3,
exported with ``to_json()``, analysed by convcalc, and compared layer by layer.

The JSON comes from the model built on an input of unknown height and width, and
convcalc binds the size with ``input_shapes`` (as ``--input-shape`` does). Keras then
builds the same chain on that size: where it succeeds, every layer's output shape and
params must match; where a layer raises, convcalc must report an error on that very
layer and agree on every layer before it.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from convcalc import api
from convcalc.diagnostics import Severity
from convcalc.report import ModelReport

pytestmark = pytest.mark.oracle

SETTINGS = settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _zeros(shape: tuple[int, ...], dtype: Any = None) -> Any:
    return np.zeros(shape, dtype="float32")


def _layer(class_name: str, config: dict[str, Any], name: str) -> Any:
    cls = getattr(keras.layers, class_name)
    params = inspect.signature(cls.__init__).parameters
    fast = {k: _zeros for k in params if k.endswith("_initializer")}
    return cls(**config, **fast, name=name)


kernel = st.integers(1, 4)
stride = st.integers(1, 3)
padding = st.sampled_from(["valid", "same"])

LAYERS = st.one_of(
    st.fixed_dictionaries({"filters": st.integers(1, 4), "kernel_size": kernel,
                           "strides": stride, "padding": padding,
                           "dilation_rate": st.integers(1, 2)}).map(lambda c: ("Conv2D", c)),
    st.fixed_dictionaries({"filters": st.integers(1, 4), "kernel_size": kernel,
                           "strides": stride, "padding": padding,
                           "output_padding": st.sampled_from([None, 0, 1])})
    .map(lambda c: ("Conv2DTranspose", c)),
    st.fixed_dictionaries({"kernel_size": kernel, "strides": stride, "padding": padding,
                           "depth_multiplier": st.integers(1, 2)})
    .map(lambda c: ("DepthwiseConv2D", c)),
    st.fixed_dictionaries({"filters": st.integers(1, 4), "kernel_size": kernel,
                           "strides": stride, "padding": padding})
    .map(lambda c: ("SeparableConv2D", c)),
    st.fixed_dictionaries({"pool_size": st.integers(1, 3), "strides": st.none() | stride,
                           "padding": padding}).map(lambda c: ("MaxPooling2D", c)),
    st.fixed_dictionaries({"pool_size": st.integers(1, 3), "strides": st.none() | stride,
                           "padding": padding}).map(lambda c: ("AveragePooling2D", c)),
    st.fixed_dictionaries({"padding": st.integers(0, 2)}).map(lambda c: ("ZeroPadding2D", c)),
    st.fixed_dictionaries({"cropping": st.integers(0, 3)}).map(lambda c: ("Cropping2D", c)),
    st.fixed_dictionaries({"size": st.integers(1, 2)}).map(lambda c: ("UpSampling2D", c)),
)


def _keras_run(chain: list[tuple[str, dict[str, Any]]], h: int, w: int, c: int
               ) -> tuple[list[tuple[list[int | None], int]], int | None]:
    """Per layer (output shape, params) as far as Keras gets, and the failing index."""
    x = keras.Input(batch_shape=(None, h, w, c))
    out: list[tuple[list[int | None], int]] = []
    for i, (cls, cfg) in enumerate(chain):
        layer = _layer(cls, cfg, f"l{i}")
        try:
            x = layer(x)
        except ValueError:
            return out, i
        if 0 in x.shape[1:]:  # Keras builds an empty axis where convcalc reports CC102
            return out, i
        out.append((list(x.shape), layer.count_params()))
    return out, None


def _convcalc_run(chain: list[tuple[str, dict[str, Any]]], c: int, h: int, w: int
                  ) -> ModelReport:
    inp = keras.Input(batch_shape=(None, None, None, c), name="image")
    x = inp
    for i, (cls, cfg) in enumerate(chain):
        x = _layer(cls, cfg, f"l{i}")(x)
    text = keras.Model(inp, x).to_json()
    report = api.analyze(text, input_shapes=[(h, w, c)])
    (model,) = report.models
    return model


def _constructible(chain: list[tuple[str, dict[str, Any]]]) -> bool:
    try:
        for i, (cls, cfg) in enumerate(chain):
            _layer(cls, cfg, f"l{i}")
    except (ValueError, TypeError):
        return False
    return True


@SETTINGS
@given(chain=st.lists(LAYERS, min_size=1, max_size=4), h=st.integers(1, 24),
       w=st.integers(1, 24), c=st.integers(1, 3))
def test_random_spatial_chains_match_keras(
    chain: list[tuple[str, dict[str, Any]]], h: int, w: int, c: int
) -> None:
    assume(_constructible(chain))
    expected, failing = _keras_run(chain, h, w, c)
    event("Keras rejects the chain" if failing is not None else "Keras builds the chain")
    model = _convcalc_run(chain, c, h, w)
    errors = {d.layer for d in model.diagnostics if d.severity is Severity.ERROR}
    for i, (shape, params) in enumerate(expected):
        row = model.layer(f"l{i}")
        (outs,) = row.output_types
        assert outs[0] is not None, f"l{i}: convcalc has no shape, Keras gives {shape}"
        got = [d if isinstance(d, int) else None for d in outs[0].shape]
        assert got == shape, f"l{i} ({chain[i][0]} {chain[i][1]})"
        assert row.result.params == params, f"l{i} params"
        assert f"l{i}" not in errors
    if failing is None:
        assert errors == set()
    else:
        assert f"l{failing}" in errors, (
            f"Keras rejects l{failing} ({chain[failing]}) on its input; convcalc reports "
            f"{[str(d) for d in model.diagnostics]}"
        )
