"""The layer catalogue: one spec class per Keras layer kind, found by class name."""

from __future__ import annotations

from convcalc.layers import (  # noqa: F401  (each module registers its specs)
    activations,
    attention,
    augmentation,
    color_augmentation,
    conv_recurrent,
    convolution,
    convolution_transpose,
    core,
    embedding,
    lambda_layer,
    merging,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    resampling,
    reshaping,
    wrappers,
)
from convcalc.layers.base import REGISTRY, LayerSpec


def lookup(class_name: str) -> type[LayerSpec] | None:
    """The spec for a Keras class name or alias, or None if the catalogue lacks it."""
    return REGISTRY.get(class_name)


def catalogue() -> dict[str, type[LayerSpec]]:
    """Canonical class name -> spec, one entry per layer kind."""
    return {cls.class_name: cls for cls in REGISTRY.values()}
