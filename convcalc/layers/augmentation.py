"""Geometric image augmentations (RandomFlip, RandomRotation, RandomZoom, RandomCrop,
...) and what all image augmentation layers share.

They act only while training; at inference they return their input. Each takes a 4-D
batch of images and keeps its shape, except RandomCrop, whose output is height x width.
Argument checks follow each layer's Keras constructor. The augmentations of pixel
values are in :mod:`convcalc.layers.color_augmentation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc.dims import Dim
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    LayerSpec,
    option,
    register,
)
from convcalc.layers.preprocessing import ImageSizeLayer, images
from convcalc.types import TensorType

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

Factor = float | tuple[float, ...]
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def factor_value(v: Any, cls: type[LayerSpec] | None = None) -> Factor:
    """A number, or a sequence of numbers (a range; its length is checked later)."""
    if isinstance(v, (list, tuple)):
        return tuple(arg.to_float(x) for x in v)
    return arg.to_float(v)


def optional_factor(v: Any, cls: type[LayerSpec] | None = None) -> Factor | None:
    """None, or a factor."""
    return None if v is None else factor_value(v)


def check_range(name: str, f: Factor, low: float, high: float) -> None:
    """The common Keras factor check: a number in [low, high], or a pair (lo, hi) with
    lo <= high and hi >= low."""
    ok = (low <= f <= high) if isinstance(f, float) else (
        len(f) == 2 and f[0] <= high and f[1] >= low)
    if not ok:
        raise ConfigError(f"{name} must be a number or a pair of numbers in "
                          f"[{low:g}, {high:g}], got {show_factor(f)}")


def check_each(name: str, f: Factor, low: float, high: float, open_low: bool = False) -> None:
    """A number or a pair, every value in [low, high] ((low, high] if open_low)."""
    values = (f,) if isinstance(f, float) else f
    if isinstance(f, tuple) and len(f) != 2:
        raise ConfigError(f"{name} must be a number or a pair of numbers, got {show_factor(f)}")
    for v in values:
        if v > high or v < low or (open_low and v == low):
            bracket = "(" if open_low else "["
            raise ConfigError(f"{name} values must be in {bracket}{low:g}, {high:g}], "
                              f"got {show_factor(f)}")


def check_value_range(value_range: Factor) -> None:
    """``value_range`` is a pair of numbers."""
    if not isinstance(value_range, tuple) or len(value_range) != 2:
        raise ConfigError(f"value_range must be a pair of numbers, got {show_factor(value_range)}")


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}")


def required(name: str, value: Factor | None) -> Factor:
    """The value of a required argument (None stands for missing)."""
    if value is None:
        raise ConfigError(f"missing required argument {name!r}")
    return value


def show_factor(f: Factor) -> str:
    """A factor as written in messages: ``0.2`` or ``[0.1, 0.3]``."""
    return f"{f:g}" if isinstance(f, float) else str(list(f))


class Augmentation(LayerSpec):
    """An image augmentation: the identity at inference, on a 4-D batch of images."""

    family = "augmentation"

    data_format: str = option(default="channels_last", convert=arg.data_format)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input, a 4-D batch of images."""
        return (images(inputs, self.class_name),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> int:
        """0 (the identity at inference)"""
        return 0

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The input, unchanged (Keras augments only while training)."""
        from convcalc.layers import numeric

        return (numeric.as_float(inputs[0]),)


IMAGES = ((None, 8, 8, 3),)
"""The input of most examples: one batch of 8x8 RGB images."""


@register
class RandomCrop(ImageSizeLayer):
    """Crop a random height x width window while training.

    Keras' static output shape is height x width; at inference Keras 3.15 actually
    returns the input unchanged (Keras 2 centre-cropped), so the static shape is used.
    """

    class_name = "RandomCrop"
    family = "augmentation"
    positional = ("height", "width", "seed", "data_format", "name")

    examples = (
        Example({"height": 2, "width": 3}, ((None, 4, 4, 3),)),
        Example({"height": 8, "width": 3}, ((None, 4, 4, 3),)),
        Example({"height": 2, "width": 3}, ((None, None, None, 3),)),
        Example({"height": 2, "width": 3, "data_format": "channels_first"},
                ((None, 3, 4, 4),)),
    )

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """0 (a slice)"""
        return 0

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The input, unchanged: what Keras 3.15 returns at inference, even where that
        contradicts the height x width of its (and convcalc's) static shape."""
        from convcalc.layers import numeric

        return (numeric.as_float(inputs[0]),)


@register
class RandomFlip(Augmentation):
    """Flip images horizontally and/or vertically."""

    class_name = "RandomFlip"
    positional = ("mode", "seed", "data_format")

    mode: str = option(default="horizontal_and_vertical", convert=arg.to_str)

    examples = (
        Example({}, IMAGES),
        Example({"mode": "horizontal"}, ((None, None, None, 1),)),
        Example({"mode": "vertical", "data_format": "channels_first"}, ((None, 3, 8, 8),)),
    )

    def summary(self) -> str:
        return self.mode


class AffineAugmentation(Augmentation):
    """An augmentation that resamples the image (fill_mode, interpolation)."""

    fill_mode: str = option(default="reflect", convert=arg.to_str)
    interpolation: str = option(default="bilinear", convert=arg.to_str)
    fill_value: float = option(default=0.0, convert=arg.to_float)

    def validate(self) -> None:
        check_choice("fill_mode", self.fill_mode, FILL_MODES)
        check_choice("interpolation", self.interpolation, INTERPOLATIONS)


@register
class RandomRotation(AffineAugmentation):
    """Rotate images by a random fraction of 2 pi in [-factor, factor]."""

    class_name = "RandomRotation"
    positional = ("factor", "fill_mode", "interpolation", "seed", "fill_value",
                  "data_format")

    factor: Factor | None = option(default=None, convert=optional_factor)

    examples = (
        Example({"factor": 0.2}, IMAGES),
        Example({"factor": (-0.1, 0.3), "fill_mode": "constant"}, ((None, None, None, 3),)),
        Example({"factor": 1.5}, IMAGES, fails=True),
        Example({}, IMAGES, fails=True),
    )

    def validate(self) -> None:
        check_range("RandomRotation: factor", required("factor", self.factor), -1, 1)
        AffineAugmentation.validate(self)


@register
class RandomZoom(AffineAugmentation):
    """Zoom images in or out by random fractions of their height and width."""

    class_name = "RandomZoom"
    positional = ("height_factor", "width_factor", "fill_mode", "interpolation", "seed",
                  "fill_value", "data_format")

    height_factor: Factor | None = option(default=None, convert=optional_factor)
    width_factor: Factor | None = option(default=None, convert=optional_factor)

    examples = (
        Example({"height_factor": 0.2}, IMAGES),
        Example({"height_factor": (-0.3, 0.1), "width_factor": 0.5}, ((None, 3, 8, 8),)),
        Example({"height_factor": -1.0}, IMAGES, fails=True),
        Example({"height_factor": 0.2, "width_factor": (0.1, 0.2, 0.3)}, IMAGES, fails=True),
    )

    def validate(self) -> None:
        height = required("height_factor", self.height_factor)
        check_each("RandomZoom: height_factor", height, -1, 1, open_low=True)
        if self.width_factor is not None:
            check_each("RandomZoom: width_factor", self.width_factor, -1, 1, open_low=True)
        AffineAugmentation.validate(self)


@register
class RandomTranslation(AffineAugmentation):
    """Shift images by random fractions of their height and width."""

    class_name = "RandomTranslation"
    positional = ("height_factor", "width_factor", "fill_mode", "interpolation", "seed",
                  "fill_value", "data_format")

    height_factor: Factor | None = option(default=None, convert=optional_factor)
    width_factor: Factor | None = option(default=None, convert=optional_factor)

    examples = (
        Example({"height_factor": 0.2, "width_factor": 0.1}, IMAGES),
        Example({"height_factor": (-0.2, 0.3), "width_factor": 0.0,
                 "fill_mode": "nearest"}, ((None, None, 8, 1),)),
        Example({"height_factor": 1.2, "width_factor": 0.1}, IMAGES, fails=True),
        Example({"height_factor": 0.2}, IMAGES, fails=True),
    )

    def validate(self) -> None:
        height = required("height_factor", self.height_factor)
        width = required("width_factor", self.width_factor)
        check_each("RandomTranslation: height_factor", height, -1, 1)
        check_each("RandomTranslation: width_factor", width, -1, 1)
        AffineAugmentation.validate(self)


@register
class RandomShear(AffineAugmentation):
    """Shear images by random fractions along x and y."""

    class_name = "RandomShear"
    positional = ("x_factor", "y_factor", "interpolation", "fill_mode", "fill_value",
                  "data_format", "seed")

    x_factor: Factor = option(default=0.0, convert=factor_value)
    y_factor: Factor = option(default=0.0, convert=factor_value)

    examples = (
        Example({"x_factor": 0.2}, IMAGES),
        Example({"x_factor": (0.1, 0.3), "y_factor": 0.2}, ((None, 3, 8, 8),)),
        Example({"y_factor": 1.5}, IMAGES, fails=True),
    )

    def validate(self) -> None:
        check_each("RandomShear: x_factor", self.x_factor, 0, 1)
        check_each("RandomShear: y_factor", self.y_factor, 0, 1)
        AffineAugmentation.validate(self)


class FactorAugmentation(Augmentation):
    """An augmentation with a ``factor`` in [low, high] and a pixel ``value_range``."""

    bounds: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    checks_value_range: ClassVar[bool] = False

    factor: Factor | None = option(default=None, convert=optional_factor)
    value_range: Factor = option(default=(0.0, 255.0), convert=factor_value)

    def validate(self) -> None:
        factor = required("factor", self.factor)
        check_range(f"{self.class_name}: factor", factor, *self.bounds)
        if self.checks_value_range:
            check_value_range(self.value_range)

    def summary(self) -> str:
        return "" if self.factor is None else show_factor(self.factor)


@register
class RandomElasticTransform(FactorAugmentation):
    """Warp images with a random displacement field."""

    class_name = "RandomElasticTransform"
    positional = ("factor", "scale", "interpolation", "fill_mode", "fill_value",
                  "value_range", "seed", "data_format")
    bounds = (0.0, 1.0)

    factor: Factor = option(default=1.0, convert=factor_value)
    scale: Factor = option(default=1.0, convert=factor_value)
    interpolation: str = option(default="bilinear", convert=arg.to_str)
    fill_mode: str = option(default="reflect", convert=arg.to_str)

    examples = (
        Example({}, IMAGES),
        Example({"factor": 0.5, "scale": 0.2, "fill_mode": "mirror"}, ((None, 3, 8, 8),)),
        Example({"scale": 1.5}, IMAGES, fails=True),
    )

    def validate(self) -> None:
        FactorAugmentation.validate(self)
        check_range("RandomElasticTransform: scale", self.scale, 0, 1)
        check_choice("interpolation", self.interpolation, INTERPOLATIONS)
        check_choice("fill_mode", self.fill_mode, (*FILL_MODES, "mirror"))


@register
class RandomPerspective(FactorAugmentation):
    """Apply a random perspective warp."""

    class_name = "RandomPerspective"
    positional = ("factor", "scale", "interpolation", "fill_value", "seed", "data_format")
    bounds = (0.0, 1.0)

    factor: Factor = option(default=1.0, convert=factor_value)
    scale: float = option(default=1.0, convert=arg.to_float)
    interpolation: str = option(default="bilinear", convert=arg.to_str)

    examples = (
        Example({}, IMAGES),
        Example({"factor": 0.5, "scale": 0.3}, ((None, None, None, 3),)),
        Example({"scale": 1.5}, IMAGES, fails=True),
    )

    def validate(self) -> None:
        FactorAugmentation.validate(self)
        if not 0 <= self.scale <= 1:
            raise ConfigError(f"RandomPerspective: scale must be in [0, 1], got {self.scale}")
        check_choice("interpolation", self.interpolation, INTERPOLATIONS)
