"""Keras weight initialisers in NumPy: the distributions Keras 3 draws from, seeded.

Values are not Keras's own random numbers (its generator differs), but each
initialiser samples the same distribution with the same parameters, so a model
initialised here behaves like a freshly built Keras model. Names are those Keras
accepts in a config: class names (``GlorotUniform``), their snake-case forms
(``glorot_uniform``) and the old aliases (``normal``, ``uniform``, ``zero``, ``one``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from convcalc.types import Initializer

Array = np.ndarray[Any, np.dtype[Any]]
Sampler = Callable[[tuple[int, ...], Mapping[str, Any], np.random.Generator], Array]

TRUNCATED_STDDEV_FACTOR = 0.87962566103423978
"""Standard deviation of a unit normal truncated to [-2, 2]: Keras divides by it so
that the truncated samples have the requested spread."""


class UnknownInitializer(ValueError):
    """An initialiser this module cannot sample (a custom class, or STFT)."""


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out): a kernel (..., in, out) counts ``prod(...) * in`` and
    ``prod(...) * out``; a vector counts its length for both."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def truncated_normal(shape: tuple[int, ...], mean: float, stddev: float,
                     rng: np.random.Generator) -> Array:
    """Normal(mean, stddev) samples redrawn until within two stddevs of the mean."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out * stddev + mean


def _variance_scaling(shape: tuple[int, ...], cfg: Mapping[str, Any],
                      rng: np.random.Generator) -> Array:
    """stddev = sqrt(scale / n) (normal) or limit = sqrt(3 * scale / n) (uniform), n the
    fan chosen by ``mode``."""
    scale = float(cfg.get("scale", 1.0))
    mode = cfg.get("mode", "fan_in")
    distribution = str(cfg.get("distribution", "truncated_normal")).lower()
    fan_in, fan_out = compute_fans(shape)
    if mode == "fan_in":
        scale /= max(1.0, fan_in)
    elif mode == "fan_out":
        scale /= max(1.0, fan_out)
    elif mode == "fan_avg":
        scale /= max(1.0, (fan_in + fan_out) / 2.0)
    else:
        raise UnknownInitializer(f"VarianceScaling: unknown mode {mode!r}")
    if distribution in ("truncated_normal", "normal"):
        return truncated_normal(shape, 0.0, math.sqrt(scale) / TRUNCATED_STDDEV_FACTOR, rng)
    if distribution == "untruncated_normal":
        return rng.normal(0.0, math.sqrt(scale), shape)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)
    raise UnknownInitializer(f"VarianceScaling: unknown distribution {distribution!r}")


def _scaled(scale: float, mode: str, distribution: str) -> Sampler:
    def sample(shape: tuple[int, ...], cfg: Mapping[str, Any],
               rng: np.random.Generator) -> Array:
        return _variance_scaling(
            shape, {"scale": scale, "mode": mode, "distribution": distribution}, rng)

    return sample


def _orthogonal(shape: tuple[int, ...], cfg: Mapping[str, Any],
                rng: np.random.Generator) -> Array:
    """gain * Q of the QR decomposition of a normal matrix (rows: prod(shape[:-1]))."""
    if len(shape) < 2:
        raise UnknownInitializer(f"Orthogonal needs a shape of rank >= 2, got {shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return float(cfg.get("gain", 1.0)) * q.reshape(shape)


def _identity(shape: tuple[int, ...], cfg: Mapping[str, Any],
              rng: np.random.Generator) -> Array:
    """gain * I (2-D shapes only, as in Keras)."""
    if len(shape) != 2:
        raise UnknownInitializer(f"Identity needs a 2-D shape, got {shape}")
    return float(cfg.get("gain", 1.0)) * np.eye(*shape)


def _constant(shape: tuple[int, ...], cfg: Mapping[str, Any],
              rng: np.random.Generator) -> Array:
    return np.full(shape, cfg.get("value", 0.0))


SAMPLERS: dict[str, Sampler] = {
    "Zeros": lambda shape, cfg, rng: np.zeros(shape),
    "Ones": lambda shape, cfg, rng: np.ones(shape),
    "Constant": _constant,
    "RandomNormal": lambda shape, cfg, rng: rng.normal(
        float(cfg.get("mean", 0.0)), float(cfg.get("stddev", 0.05)), shape),
    "RandomUniform": lambda shape, cfg, rng: rng.uniform(
        float(cfg.get("minval", -0.05)), float(cfg.get("maxval", 0.05)), shape),
    "TruncatedNormal": lambda shape, cfg, rng: truncated_normal(
        shape, float(cfg.get("mean", 0.0)), float(cfg.get("stddev", 0.05)), rng),
    "VarianceScaling": _variance_scaling,
    "GlorotUniform": _scaled(1.0, "fan_avg", "uniform"),
    "GlorotNormal": _scaled(1.0, "fan_avg", "truncated_normal"),
    "HeUniform": _scaled(2.0, "fan_in", "uniform"),
    "HeNormal": _scaled(2.0, "fan_in", "truncated_normal"),
    "LecunUniform": _scaled(1.0, "fan_in", "uniform"),
    "LecunNormal": _scaled(1.0, "fan_in", "truncated_normal"),
    "Orthogonal": _orthogonal,
    "Identity": _identity,
}
"""Keras class name -> sampler of float64 values of a shape."""

_ALIASES = {
    "normal": "RandomNormal", "uniform": "RandomUniform", "zero": "Zeros", "one": "Ones",
    "OrthogonalInitializer": "Orthogonal", "IdentityInitializer": "Identity",
}


def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_BY_NAME = {**{_snake(k): k for k in SAMPLERS}, **{k: k for k in SAMPLERS}, **_ALIASES}


def canonical_name(name: str) -> str | None:
    """The Keras class name for a config name (``he_normal`` -> ``HeNormal``), or None."""
    return _BY_NAME.get(name)


def initialize(init: Initializer | None, shape: Sequence[int], rng: np.random.Generator,
               dtype: str = "float32") -> Array:
    """A C-contiguous array of ``shape`` drawn from ``init`` (zeros when None)."""
    dims = tuple(int(d) for d in shape)
    if init is None:
        return np.zeros(dims, dtype)
    name = canonical_name(init.name)
    if name is None:
        raise UnknownInitializer(f"unknown initializer {init.name!r}")
    values = SAMPLERS[name](dims, dict(init.config), rng)
    return np.ascontiguousarray(values, dtype=dtype)
