"""Preprocessing layers: Rescaling, Normalization, Resizing, CenterCrop.

The random image augmentations (RandomFlip, RandomCrop, ...) are in
:mod:`convcalc.layers.augmentation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    LayerSpec,
    ShapeError,
    option,
    register,
)
from convcalc.layers.common import elements, one_input
from convcalc.layers.normalization import checked_axes
from convcalc.rules import INCOMPATIBLE_INPUT, WRONG_RANK
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array


def images(inputs: Sequence[TensorType], class_name: str) -> TensorType:
    """The single input of an image layer: a 4-D batch of images (CC103 otherwise).

    Keras takes a 3-D tensor for one unbatched image, which in a model means the batch
    axis is read as the image height; any other rank fails when the layer runs.
    """
    x = one_input(inputs, class_name)
    if x.rank != 4:
        raise ShapeError(
            WRONG_RANK,
            f"{class_name} expects a 4-D batch of images, got {x.rank}-D "
            f"{format_shape(x.shape)}",
            "Give the images a channel axis (e.g. Reshape((h, w, 1))); a 3-D tensor "
            "would be taken for one image whose height is the batch.",
        )
    return x


def concrete(d: Dim) -> int:
    """A size the NumPy forward needs as a number."""
    if not isinstance(d, int):
        raise NotImplementedError(f"a symbolic size ({d}) has no NumPy forward")
    return d


def with_image_size(x: TensorType, height: Dim, width: Dim, data_format: str) -> TensorType:
    """``x`` with its height and width axes set."""
    shape = list(x.shape)
    h = 1 if data_format == "channels_last" else 2
    shape[h], shape[h + 1] = height, width
    return x.with_shape(tuple(shape))


def _constant(v: Any, cls: type[LayerSpec] | None = None) -> Any:
    """A number or a nested sequence of numbers (lists become tuples)."""
    if isinstance(v, (list, tuple)):
        return tuple(_constant(x) for x in v)
    if isinstance(v, Mapping):
        return tuple(sorted((str(k), _constant(x)) for k, x in v.items()))
    return v


def _number(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


@register
class Rescaling(LayerSpec):
    """``x * scale + offset``."""

    class_name = "Rescaling"
    family = "preprocessing"
    supports_masking = True
    positional = ("scale", "offset")

    scale: Any = option(convert=_constant)
    offset: Any = option(default=0.0, convert=_constant)

    examples = (
        Example({"scale": 1 / 255}, ((None, 4, 4, 3),)),
        Example({"scale": 2.0, "offset": -1.0}, ((None, None),)),
        Example({"scale": [1.0, 2.0, 3.0]}, ((None, 4, 4, 3),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input, float32."""
        x = one_input(inputs, self.class_name)
        return (TensorType(x.shape, "float32"),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 per element (multiply, add)"""
        return dims.mul(2, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x * scale + offset (a per-channel scale on axis 1 for channels_first data)"""
        import numpy as np


        x = np.asarray(inputs[0]).astype(np.float32)
        scale = np.asarray(self.scale, np.float32)
        # Keras reads the global image_data_format here, which is channels_last unless
        # the analysed program changes it; convcalc assumes the default
        return ((x * scale + np.asarray(self.offset, np.float32)).astype(np.float32),)

    def summary(self) -> str:
        offset = f" + {_number(self.offset)}" if self.offset else ""
        return f"x{_number(self.scale)}{offset}"


def _norm_axis(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int, ...]:
    """None (normalize with one scalar mean), one axis or several: the axes kept."""
    return () if v is None else arg.axes(v)


def _array_shape(v: Any) -> tuple[int, ...]:
    """Shape of a number or a nested sequence, as numpy would read it."""
    if isinstance(v, tuple):
        return (len(v), *(_array_shape(v[0]) if v else ()))
    return ()


@register
class Normalization(LayerSpec):
    """``(x - mean) / sqrt(variance)`` with per-feature statistics along ``axis``.

    Given ``mean`` and ``variance`` it has no weights; otherwise (to be adapted) it
    holds non-trainable ``mean`` and ``variance`` of the kept dims and a scalar
    ``count``.
    """

    class_name = "Normalization"
    family = "preprocessing"
    supports_masking = True
    positional = ("axis", "mean", "variance", "invert")

    axis: tuple[int, ...] = option(default=(-1,), convert=_norm_axis)
    mean: Any = option(default=None, convert=_constant)
    variance: Any = option(default=None, convert=_constant)
    invert: bool = option(default=False, convert=arg.to_bool)

    examples = (
        Example({}, ((None, 4, 4, 3),)),
        Example({"axis": None}, ((None, 4, 4, 3),)),
        Example({"axis": (1, 2)}, ((None, 4, 5, 3),)),
        Example({"axis": (-1, 1)}, ((None, 4, 5, 3),)),
        Example({"invert": True}, ((None, None, 3),)),
        Example({"mean": 1.0, "variance": 2.0}, ((None, 4, 4, 3),)),
        Example({"mean": [1.0, 2.0, 3.0], "variance": [2.0, 1.0, 1.0]}, ((None, 4, 4, 3),)),
        Example({"mean": [1.0, 2.0], "variance": [2.0, 1.0]}, ((None, 4, 4, 3),), fails=True),
        Example({"mean": 1.0}, ((None, 4, 4, 3),), fails=True),
        Example({"mean": [1.0], "variance": [1.0, 2.0]}, ((None, 3),), fails=True),
        Example({"axis": 5}, ((None, 4, 4, 3),), fails=True),
    )

    def validate(self) -> None:
        if (self.mean is None) != (self.variance is None):
            raise ConfigError("Normalization: give both mean and variance, or neither")
        if self.mean is None:
            return
        shape = _array_shape(self.mean)
        if shape != _array_shape(self.variance):
            raise ConfigError("Normalization: mean and variance must have the same shape")
        if len(shape) > len(self.axis):
            raise ConfigError(
                f"Normalization: mean of rank {len(shape)} needs at least as many axes, "
                f"got axis={list(self.axis)}"
            )

    def _kept(self, x: TensorType) -> tuple[int, ...]:
        return tuple(sorted(checked_axes(self.axis, x, self.class_name)))

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; a given mean must broadcast to the kept dims,
        aligned on the right."""
        x = one_input(inputs, self.class_name)
        kept = self._kept(x)
        if self.mean is not None:
            shape = _array_shape(self.mean)
            for axis, n in zip(reversed(kept), reversed(shape), strict=False):
                if n != 1:
                    ctx.require_equal(
                        n, x.shape[axis], INCOMPATIBLE_INPUT,
                        f"Normalization: mean of shape {shape} does not fit axis {axis} "
                        f"of {format_shape(x.shape)}",
                    )
        return (TensorType(x.shape, "float32"),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        if self.mean is not None:
            return ()
        x = inputs[0]
        shape = tuple(x.shape[a] for a in self._kept(x))
        return (
            WeightSpec("mean", shape, False, Initializer("Zeros")),
            WeightSpec("variance", shape, False, Initializer("Ones")),
            WeightSpec("count", (), False, Initializer("Zeros"), "int32"),
        )

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 per element (subtract, divide)"""
        return dims.mul(2, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """(x - mean) / max(sqrt(variance), 1e-7), or x * max(...) + mean with invert;
        statistics on the kept axes, broadcast over the others"""
        import numpy as np

        x = np.asarray(inputs[0]).astype(np.float32)
        kept = sorted(a % x.ndim for a in self.axis)
        shape = [x.shape[d] if d in kept else 1 for d in range(x.ndim)]
        if self.mean is None:
            mean = np.asarray(weights[0], np.float32).reshape(shape)
            variance = np.asarray(weights[1], np.float32).reshape(shape)
        else:
            mean, variance = (self._given(v, kept, shape) for v in (self.mean, self.variance))
        std = np.maximum(np.sqrt(variance), np.float32(1e-7))
        out = mean + x * std if self.invert else (x - mean) / std
        return (out.astype(np.float32),)

    @staticmethod
    def _given(value: Any, kept: list[int], shape: list[int]) -> Array:
        """A given mean or variance aligned on the kept axes from the right."""
        import numpy as np

        v = np.asarray(value, np.float32)
        expanded = [1] * len(shape)
        for i in range(1, v.ndim + 1):
            expanded[kept[-i]] = v.shape[-i]
        return np.broadcast_to(v.reshape(expanded), shape)

    def summary(self) -> str:
        given = "" if self.mean is None else "given"
        axes = "" if self.axis == (-1,) else "axis " + ",".join(str(a) for a in self.axis)
        return ", ".join(s for s in (axes, given) if s)


RESIZE_TAPS = {"nearest": 0, "bilinear": 4, "area": 4, "bicubic": 16, "mitchellcubic": 16,
               "gaussian": 16, "lanczos3": 36, "lanczos5": 100}
"""Input values weighed per output value by each interpolation (area is counted as
bilinear; gaussian and mitchellcubic are Keras 2 / TensorFlow only)."""


def _interpolation(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """A resize interpolation name."""
    if not isinstance(v, str) or v not in RESIZE_TAPS:
        raise ConfigError(f"interpolation must be one of {sorted(RESIZE_TAPS)}, got {v!r}")
    return v


class ImageSizeLayer(LayerSpec):
    """An image layer whose output has a fixed height and width."""

    family = "preprocessing"

    height: Dim = option(convert=arg.positive_dim)
    width: Dim = option(convert=arg.positive_dim)
    data_format: str = option(default="channels_last", convert=arg.data_format)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, H, W, C) -> (batch, height, width, C) (channels_first alike)"""
        x = images(inputs, self.class_name)
        return (with_image_size(x, self.height, self.width, self.data_format),)

    def summary(self) -> str:
        return f"{self.height}x{self.width}"


@register
class Resizing(ImageSizeLayer):
    """Resize images to height x width (optionally cropping or padding to keep the
    aspect ratio)."""

    class_name = "Resizing"
    positional = ("height", "width", "interpolation", "crop_to_aspect_ratio",
                  "pad_to_aspect_ratio", "fill_mode", "fill_value", "antialias",
                  "data_format")

    interpolation: str = option(default="bilinear", convert=_interpolation)
    crop_to_aspect_ratio: bool = option(default=False, convert=arg.to_bool)
    pad_to_aspect_ratio: bool = option(default=False, convert=arg.to_bool)
    fill_mode: str = option(default="constant", convert=arg.to_str)
    fill_value: float = option(default=0.0, convert=arg.to_float)
    antialias: bool = option(default=False, convert=arg.to_bool)

    examples = (
        Example({"height": 8, "width": 6}, ((None, 4, 4, 3),)),
        Example({"height": 8, "width": 6, "data_format": "channels_first"}, ((None, 3, 4, 4),)),
        Example({"height": 224, "width": 224, "interpolation": "nearest"},
                ((None, None, None, 3),)),
        Example({"height": 5, "width": 5, "crop_to_aspect_ratio": True}, ((None, 9, 7, 1),)),
        Example({"height": 5, "width": 5, "pad_to_aspect_ratio": True,
                 "interpolation": "bicubic"}, ((None, 9, 7, 2),)),
        Example({"height": 3, "width": 7, "pad_to_aspect_ratio": True, "fill_value": 2.0},
                ((None, 6, 5, 2),)),
        Example({"height": 3, "width": 4, "interpolation": "nearest"}, ((None, 7, 9, 2),)),
        Example({"height": 4, "width": 11, "interpolation": "lanczos3"}, ((None, 9, 5, 1),)),
        Example({"height": 12, "width": 3, "interpolation": "lanczos5", "antialias": True},
                ((None, 5, 10, 2),)),
        Example({"height": 3, "width": 4, "antialias": True}, ((None, 10, 9, 2),)),
        Example({"height": 4, "width": 4, "crop_to_aspect_ratio": True,
                 "data_format": "channels_first", "interpolation": "bicubic"},
                ((None, 2, 9, 6),)),
    )

    def validate(self) -> None:
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ConfigError("Resizing: only one of crop_to_aspect_ratio and "
                              "pad_to_aspect_ratio can be True")
        if self.fill_mode != "constant":
            raise ConfigError(f"Resizing: fill_mode must be 'constant', got {self.fill_mode!r}")

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * taps per output element (nearest 0, bilinear 4, bicubic 16, lanczos3 36)"""
        return dims.mul(2 * RESIZE_TAPS[self.interpolation], elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Crop or pad to the target aspect ratio if asked, then resize as
        ``jax.image.resize`` does (Keras's JAX backend; 'area' is TensorFlow-only)."""
        import numpy as np

        from convcalc import kernels
        from convcalc.layers import numeric

        x = kernels.channels_last(np.asarray(inputs[0]).astype(np.float32), self.data_format)
        height, width = concrete(self.height), concrete(self.width)
        if self.crop_to_aspect_ratio:
            x = numeric.crop_to_aspect(x, height, width)
        elif self.pad_to_aspect_ratio:
            x = numeric.pad_to_aspect(x, height, width, self.fill_value)
        y = numeric.resize(x, height, width, self.interpolation, self.antialias)
        return (kernels.from_channels_last(y, self.data_format),)

    def summary(self) -> str:
        return f"{self.height}x{self.width}, {self.interpolation}"


@register
class CenterCrop(ImageSizeLayer):
    """Crop the central height x width window (resizing images smaller than it)."""

    class_name = "CenterCrop"
    positional = ("height", "width", "data_format")

    examples = (
        Example({"height": 2, "width": 3}, ((None, 4, 4, 3),)),
        Example({"height": 8, "width": 3}, ((None, 4, 4, 3),)),
        Example({"height": 2, "width": 3, "data_format": "channels_first"},
                ((None, 3, 4, 4),)),
        Example({"height": 2, "width": 3}, ((None, None, None, 3),)),
        Example({"height": 2, "width": 3}, ((None, 4, 4, 4, 3),), fails=True),
    )

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """0 (a slice)"""
        return 0

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The central height x width window; an image smaller than that on either
        axis is cropped to the aspect ratio and resized (bilinear) instead."""
        import numpy as np

        from convcalc import kernels
        from convcalc.layers import numeric

        x = kernels.channels_last(np.asarray(inputs[0]).astype(np.float32), self.data_format)
        height, width = concrete(self.height), concrete(self.width)
        h, w = x.shape[1:3]
        if h >= height and w >= width:
            top, left = (h - height) // 2, (w - width) // 2
            y = x[:, top:top + height, left:left + width]
        else:
            y = numeric.resize(numeric.crop_to_aspect(x, height, width), height, width,
                               "bilinear")
        return (kernels.from_channels_last(y, self.data_format),)
