"""Regularization layers: Dropout and its spatial, Gaussian and alpha variants,
GaussianNoise, ActivityRegularization.

All are the identity at inference: same shape, no weights, no cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    LayerSpec,
    option,
    register,
)
from convcalc.layers.common import expect_rank, one_input
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array


def _unit_interval(name: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")


def _noise_shape(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int | None, ...] | None:
    """None, or a sequence of positive ints and Nones (None: the input's dim)."""
    if v is None:
        return None
    if isinstance(v, str) or not isinstance(v, Sequence):
        raise ConfigError(f"noise_shape must be a sequence of ints or None, got {v!r}")
    return tuple(None if d is None else arg.positive_int(d) for d in v)


class _Identity(LayerSpec):
    """A layer that returns its input unchanged at inference."""

    family = "regularization"
    supports_masking = True

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return (one_input(inputs, self.class_name),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> int:
        """0 (the identity at inference)"""
        return 0

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The input, unchanged (training-only noise is off at inference)."""
        from convcalc.layers import numeric

        return (numeric.as_float(inputs[0]),)


@register
class Dropout(_Identity):
    """Randomly zero a fraction ``rate`` of the inputs while training."""

    class_name = "Dropout"
    positional = ("rate", "noise_shape", "seed")
    renamed = {"p": "rate"}

    rate: float = option(convert=arg.to_float)
    noise_shape: tuple[int | None, ...] | None = option(default=None, convert=_noise_shape)

    examples = (
        Example({"rate": 0.5}, ((None, 3),)),
        Example({"rate": 0.0}, ((None, None, 3),)),
        Example({"rate": 1.0}, ((None, 4, 4, 3),)),
        Example({"rate": 0.2, "noise_shape": (None, 1, 3)}, ((None, 4, 3),)),
        Example({"rate": 1.5}, ((None, 3),), fails=True),
        Example({"rate": -0.1}, ((None, 3),), fails=True),
        Example({"rate": 0.5, "noise_shape": (None, 0, 3)}, ((None, 4, 3),), fails=True),
    )

    def validate(self) -> None:
        _unit_interval("Dropout: rate", self.rate)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; a noise_shape must broadcast to it (else training
        fails)."""
        x = one_input(inputs, self.class_name)
        if self.noise_shape is not None:
            check_noise_shape(self.noise_shape, x, ctx, self.class_name)
        return (x,)

    def summary(self) -> str:
        return f"{self.rate:g}"


def check_noise_shape(
    noise: tuple[int | None, ...], x: TensorType, ctx: InferContext, class_name: str
) -> None:
    """Report a dropout noise shape that does not broadcast to the input (its None
    entries take the input's dim at the same index)."""
    message = (f"{class_name}: noise_shape {list(noise)} does not broadcast to input "
               f"{format_shape(x.shape)}; training would fail")
    if len(noise) > x.rank:
        ctx.error(INCOMPATIBLE_INPUT, message)
        return
    filled = [x.shape[i] if d is None else d for i, d in enumerate(noise)]
    for n, d in zip(reversed(filled), reversed(x.shape), strict=False):
        if n != 1:
            ctx.require_equal(n, d, INCOMPATIBLE_INPUT, message)


class _SpatialDropout(_Identity):
    """Dropout of whole feature maps (a channel at a time)."""

    rank: ClassVar[int] = 0
    positional: ClassVar[tuple[str, ...]] = ("rate", "seed", "name", "dtype")
    renamed = {"p": "rate"}

    rate: float = option(convert=arg.to_float)

    def validate(self) -> None:
        _unit_interval(f"{self.class_name}: rate", self.rate)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input, which must have the layer's rank."""
        x = one_input(inputs, self.class_name)
        expect_rank(x, self.rank + 2, self.class_name)
        return (x,)

    def summary(self) -> str:
        return f"{self.rate:g}"


@register
class SpatialDropout1D(_SpatialDropout):
    """Drop whole channels of (batch, steps, channels) sequences."""

    class_name = "SpatialDropout1D"
    rank = 1

    examples = (
        Example({"rate": 0.5}, ((None, 4, 3),)),
        Example({"rate": 0.1}, ((None, None, 8),)),
        Example({"rate": 0.5}, ((None, 4, 3, 2),), fails=True),
        Example({"rate": 1.5}, ((None, 4, 3),), fails=True),
    )


class _SpatialDropoutND(_SpatialDropout):
    positional = ("rate", "data_format", "seed", "name", "dtype")
    renamed = {"p": "rate", "dim_ordering": "data_format"}

    data_format: str = option(default="channels_last", convert=arg.data_format)


@register
class SpatialDropout2D(_SpatialDropoutND):
    """Drop whole feature maps of images."""

    class_name = "SpatialDropout2D"
    rank = 2

    examples = (
        Example({"rate": 0.5}, ((None, 4, 5, 3),)),
        Example({"rate": 0.5, "data_format": "channels_first"}, ((None, 3, None, None),)),
        Example({"rate": 0.5}, ((None, 4, 3),), fails=True),
        Example({"rate": 2.0}, ((None, 4, 5, 3),), fails=True),
    )


@register
class SpatialDropout3D(_SpatialDropoutND):
    """Drop whole feature maps of volumes."""

    class_name = "SpatialDropout3D"
    rank = 3

    examples = (
        Example({"rate": 0.5}, ((None, 4, 3, 2, 1),)),
        Example({"rate": 0.3, "data_format": "channels_first"}, ((None, 2, 4, 4, 4),)),
        Example({"rate": 0.5}, ((None, 4, 4, 3),), fails=True),
    )


@register
class GaussianNoise(_Identity):
    """Add zero-centred Gaussian noise while training."""

    class_name = "GaussianNoise"
    positional = ("stddev", "seed")
    renamed = {"sigma": "stddev"}

    stddev: float = option(convert=arg.to_float)

    examples = (
        Example({"stddev": 0.1}, ((None, 3),)),
        Example({"stddev": 1.0}, ((None, None, 4, 2),)),
        Example({"stddev": 2.0}, ((None, 3),), fails=True),
    )

    def validate(self) -> None:
        _unit_interval("GaussianNoise: stddev", self.stddev)

    def summary(self) -> str:
        return f"{self.stddev:g}"


@register
class GaussianDropout(_Identity):
    """Multiply by 1-centred Gaussian noise of variance rate / (1 - rate) while training."""

    class_name = "GaussianDropout"
    positional = ("rate", "seed")
    renamed = {"p": "rate"}

    rate: float = option(convert=arg.to_float)

    examples = (
        Example({"rate": 0.5}, ((None, 3),)),
        Example({"rate": 1.0}, ((None, 2, None),)),
        Example({"rate": 1.5}, ((None, 3),), fails=True),
    )

    def validate(self) -> None:
        _unit_interval("GaussianDropout: rate", self.rate)

    def summary(self) -> str:
        return f"{self.rate:g}"


@register
class AlphaDropout(_Identity):
    """Dropout that keeps the mean and variance of SELU activations."""

    class_name = "AlphaDropout"
    positional = ("rate", "noise_shape", "seed")

    rate: float = option(convert=arg.to_float)
    noise_shape: tuple[int | None, ...] | None = option(default=None, convert=_noise_shape)

    examples = (
        Example({"rate": 0.5}, ((None, 3),)),
        Example({"rate": 0.1, "noise_shape": (None, 1, 3)}, ((None, None, 3),)),
        Example({"rate": 1.5}, ((None, 3),), fails=True),
    )

    def validate(self) -> None:
        _unit_interval("AlphaDropout: rate", self.rate)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; a noise_shape must broadcast to it (else training
        fails)."""
        x = one_input(inputs, self.class_name)
        if self.noise_shape is not None:
            check_noise_shape(self.noise_shape, x, ctx, self.class_name)
        return (x,)

    def summary(self) -> str:
        return f"{self.rate:g}"


@register
class ActivityRegularization(_Identity):
    """Add an L1/L2 penalty on the activations to the training loss."""

    class_name = "ActivityRegularization"
    positional = ("l1", "l2")

    l1: float = option(default=0.0, convert=arg.to_float)
    l2: float = option(default=0.0, convert=arg.to_float)

    examples = (
        Example({}, ((None, 3),)),
        Example({"l1": 0.01, "l2": 0.1}, ((None, None, 5),)),
    )

    def summary(self) -> str:
        return f"l1 {self.l1:g}, l2 {self.l2:g}"
