"""convcalc's NumPy initialisers against Keras 3's own: same distributions.

Random initialisers cannot give Keras's numbers (another generator), so a large
sample of each is compared with a large sample from Keras: the two-sample
Kolmogorov-Smirnov distance must be small (it is ~0.3 for a 2x variance error), and
bounded distributions must stay within Keras's bounds. Deterministic ones are equal.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from convcalc.initializers import UnknownInitializer, canonical_name, initialize
from convcalc.types import Initializer

SHAPE = (3, 3, 40, 300)
"""fan_in 360, fan_out 2700: a conv kernel whose fans differ, so mode mistakes show."""

RANDOM = [
    ("glorot_uniform", {}), ("glorot_normal", {}), ("he_uniform", {}), ("he_normal", {}),
    ("lecun_uniform", {}), ("lecun_normal", {}),
    ("RandomNormal", {"mean": 0.5, "stddev": 0.2}), ("RandomUniform", {"minval": -1.0,
                                                                      "maxval": 3.0}),
    ("TruncatedNormal", {"mean": -1.0, "stddev": 0.3}),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_out", "distribution": "uniform"}),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}),
    ("normal", {}), ("uniform", {}),
]


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """max |F_a(x) - F_b(x)| over the pooled sample."""
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / a.size
    fb = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def _keras(name: str, config: dict[str, float], shape: tuple[int, ...]) -> np.ndarray:
    init = keras.initializers.get({"class_name": name, "config": config} if config else name)
    return np.asarray(keras.ops.convert_to_numpy(init(shape)))


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "config"), RANDOM, ids=[f"{n}-{i}" for i, (n, _) in
                                                          enumerate(RANDOM)])
def test_random_initializer_matches_keras_distribution(name: str, config: dict[str, float]
                                                       ) -> None:
    theirs = _keras(name, config, SHAPE)
    init = Initializer(name, tuple(sorted(config.items())))
    ours = initialize(init, SHAPE, np.random.default_rng(0))
    assert ours.shape == SHAPE and ours.dtype == np.float32 and ours.flags.c_contiguous
    assert _ks_distance(ours, theirs) < 0.01
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.01)
    unbounded = name in ("RandomNormal", "normal") or "untruncated" in str(config)
    if not unbounded:  # uniform and truncated samples: within the same bounds
        spread = theirs.max() - theirs.min()
        assert theirs.min() - 0.01 * spread <= ours.min()
        assert ours.max() <= theirs.max() + 0.01 * spread


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 3, 8, 5)])
def test_orthogonal_has_orthonormal_columns_like_keras(shape: tuple[int, ...]) -> None:
    init = Initializer("Orthogonal", (("gain", 2.0),))
    ours = initialize(init, shape, np.random.default_rng(1)).reshape(-1, shape[-1])
    theirs = _keras("Orthogonal", {"gain": 2.0}, shape).reshape(-1, shape[-1])
    small = min(ours.shape)
    for m in (ours, theirs):
        gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "config", "shape"), [
    ("zeros", {}, (3, 4)), ("Ones", {}, (5,)), ("one", {}, (2, 2)), ("zero", {}, (2,)),
    ("Constant", {"value": 0.25}, (2, 3)), ("Identity", {"gain": 3.0}, (3, 5)),
    ("identity", {}, (4, 4)),
])
def test_deterministic_initializers_equal_keras(name: str, config: dict[str, float],
                                                shape: tuple[int, ...]) -> None:
    init = Initializer(name, tuple(sorted(config.items())))
    ours = initialize(init, shape, np.random.default_rng(0))
    np.testing.assert_array_equal(ours, _keras(name, config, shape))


def test_every_keras_initializer_name_is_known() -> None:
    from keras.src.initializers import ALL_OBJECTS_DICT

    names = [n for n, cls in ALL_OBJECTS_DICT.items()
             if cls.__name__ not in ("Initializer", "STFT")]
    assert [n for n in names if canonical_name(n) is None] == []


def test_unknown_initializer_is_an_error() -> None:
    with pytest.raises(UnknownInitializer):
        initialize(Initializer("MyInit"), (2, 2), np.random.default_rng(0))
    with pytest.raises(UnknownInitializer):
        initialize(Initializer("Identity"), (2, 2, 2), np.random.default_rng(0))


def test_none_initializer_gives_zeros_and_seed_repeats() -> None:
    assert not initialize(None, (3,), np.random.default_rng(0)).any()
    init = Initializer("GlorotUniform")
    a = initialize(init, (5, 7), np.random.default_rng(42))
    b = initialize(init, (5, 7), np.random.default_rng(42))
    c = initialize(init, (5, 7), np.random.default_rng(43))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
