"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
RMSNormalization, UnitNormalization. All keep the input shape."""

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
from convcalc.rules import INCOMPATIBLE_INPUT, WRONG_RANK
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

ZEROS = Initializer("Zeros")
ONES = Initializer("Ones")


def checked_axes(axes: Sequence[int], x: TensorType, class_name: str) -> tuple[int, ...]:
    """``axes`` as non-negative indices into ``x``'s shape; CC103 if one is out of range."""
    out = []
    for a in axes:
        if not -x.rank <= a < x.rank:
            raise ShapeError(
                WRONG_RANK,
                f"{class_name}: axis {a} is out of range for {x.rank}-D input "
                f"{format_shape(x.shape)}",
            )
        out.append(a % x.rank)
    return tuple(out)


def _axes_summary(axes: tuple[int, ...], default: tuple[int, ...] = (-1,)) -> str:
    return "" if axes == default else "axis " + ",".join(str(a) for a in axes)


@register
class BatchNormalization(LayerSpec):
    """Batch normalization over the feature axis (Keras 2 also takes a list of axes).

    Keras 1's ``mode`` does not change shapes or weights and is ignored.
    """

    class_name = "BatchNormalization"
    family = "normalization"
    supports_masking = True
    mask_in_call = True  # it changes only the training statistics
    positional = (
        "axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
        "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
        "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
        "renorm", "renorm_clipping", "renorm_momentum", "synchronized",
    )
    renamed = {"beta_init": "beta_initializer", "gamma_init": "gamma_initializer"}

    axis: tuple[int, ...] = option(default=(-1,), convert=arg.axes)
    momentum: float = option(default=0.99, convert=arg.to_float)
    epsilon: float = option(default=1e-3, convert=arg.to_float)
    center: bool = option(default=True, convert=arg.to_bool)
    scale: bool = option(default=True, convert=arg.to_bool)
    beta_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)
    gamma_initializer: Initializer | None = option(default=ONES, convert=arg.initializer)
    moving_mean_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)
    moving_variance_initializer: Initializer | None = option(default=ONES, convert=arg.initializer)
    renorm: bool = option(default=False, convert=arg.to_bool)

    examples = (
        Example({}, ((None, 4, 5, 3),)),
        Example({"axis": 1}, ((None, 3, 4, 5),)),
        Example({"axis": -3, "center": False}, ((None, 6, None, 5),)),
        Example({"scale": False}, ((None, None, 7),)),
        Example({"center": False, "scale": False}, ((None, 8),)),
        Example({"renorm": True}, ((None, 2, 3),)),
        Example({"axis": 0}, ((4, 3),)),
        Example({"momentum": 0.9, "epsilon": 1e-5}, ((None, 3, 3, 3, 2),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; each axis must exist, and appear once."""
        x = one_input(inputs, self.class_name)
        axes = checked_axes(self.axis, x, self.class_name)
        if len(set(axes)) != len(axes):
            raise ShapeError(INCOMPATIBLE_INPUT,
                             f"BatchNormalization: duplicate axis in {list(self.axis)}")
        return (x,)

    def _param_shape(self, x: TensorType) -> tuple[Dim, ...]:
        """(C,) for one axis; for several (Keras 2), the input rank with 1 elsewhere."""
        axes = checked_axes(self.axis, x, self.class_name)
        if len(axes) == 1:
            return (x.shape[axes[0]],)
        return tuple(d if i in axes else 1 for i, d in enumerate(x.shape))

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        shape = self._param_shape(inputs[0])
        out = []
        if self.scale:
            out.append(WeightSpec("gamma", shape, initializer=self.gamma_initializer))
        if self.center:
            out.append(WeightSpec("beta", shape, initializer=self.beta_initializer))
        out.append(WeightSpec("moving_mean", shape, False, self.moving_mean_initializer))
        out.append(WeightSpec("moving_variance", shape, False,
                              self.moving_variance_initializer))
        if self.renorm:
            for name in ("moving_stddev", "renorm_mean", "renorm_stddev"):
                init = self.moving_mean_initializer if name == "renorm_mean" else ONES
                out.append(WeightSpec(name, shape, False, init))
        return tuple(out)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 per element (inference: statistics folded into one scale and one shift)"""
        return dims.mul(2, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """(x - moving_mean) * gamma / sqrt(moving_variance + epsilon) + beta"""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        ws = list(weights)
        gamma = ws.pop(0) if self.scale else None
        beta = ws.pop(0) if self.center else None
        mean, variance = ws[0], ws[1]
        axes = [a % x.ndim for a in self.axis]
        shape = [1] * x.ndim
        for a in axes:
            shape[a] = x.shape[a]

        def fit(w: Array) -> Array:
            return np.asarray(w, x.dtype).reshape(shape)

        inv = 1 / np.sqrt(fit(variance) + np.asarray(self.epsilon, x.dtype))
        if gamma is not None:
            inv = inv * fit(gamma)
        shift = -fit(mean) * inv
        if beta is not None:
            shift = shift + fit(beta)
        return ((x * inv + shift).astype(x.dtype),)

    def summary(self) -> str:
        return _axes_summary(self.axis)


def _feature_shape(axes: tuple[int, ...], x: TensorType, class_name: str) -> tuple[Dim, ...]:
    """Weight shape of Keras 3 layer/RMS normalization: the input dims at the axes,
    taken in sorted order of the axis values as written (so ``[2, -1]`` reads -1 first)."""
    checked_axes(axes, x, class_name)
    return tuple(x.shape[a] for a in sorted(axes))


@register
class LayerNormalization(LayerSpec):
    """Layer normalization over one or several axes of each sample."""

    class_name = "LayerNormalization"
    family = "normalization"
    supports_masking = True
    positional = (
        "axis", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
        "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
    )

    axis: tuple[int, ...] = option(default=(-1,), convert=arg.axes)
    epsilon: float = option(default=1e-3, convert=arg.to_float)
    center: bool = option(default=True, convert=arg.to_bool)
    scale: bool = option(default=True, convert=arg.to_bool)
    rms_scaling: bool = option(default=False, convert=arg.to_bool)
    beta_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)
    gamma_initializer: Initializer | None = option(default=ONES, convert=arg.initializer)

    examples = (
        Example({}, ((None, 4, 5, 3),)),
        Example({"axis": [1, 2]}, ((None, 4, 5, 3),)),
        Example({"axis": [2, -1]}, ((None, 4, 5, 3),)),
        Example({"axis": 1, "center": False}, ((None, 6, None),)),
        Example({"scale": False}, ((None, None, 7),)),
        Example({"center": False, "scale": False}, ((None, 8),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; each axis must exist."""
        x = one_input(inputs, self.class_name)
        checked_axes(self.axis, x, self.class_name)
        return (x,)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        """gamma (if scale or rms_scaling), beta (if center and not rms_scaling)."""
        shape = _feature_shape(self.axis, inputs[0], self.class_name)
        out = []
        if self.scale or self.rms_scaling:
            out.append(WeightSpec("gamma", shape, initializer=self.gamma_initializer))
        if self.center and not self.rms_scaling:
            out.append(WeightSpec("beta", shape, initializer=self.beta_initializer))
        return tuple(out)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """5 per element (mean, variance, normalize) + 1 for scale + 1 for center"""
        per = 5 + int(self.scale or self.rms_scaling) + int(self.center and not self.rms_scaling)
        return dims.mul(per, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """(x - mean) / sqrt(var + epsilon) * gamma + beta over the axes; with rms_scaling
        x / sqrt(var + epsilon) * gamma (Keras' deprecated form: no centring)."""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        axes = sorted(self.axis)
        shape = [1] * x.ndim
        for a in axes:
            shape[a] = x.shape[a]
        # Keras reshapes (not transposes) the weights to the broadcast shape, so axes
        # written out of order ([2, -1]) mix up their values; do the same
        def fit(w: Array) -> Array:
            return np.asarray(w, x.dtype).reshape(shape)

        ws = list(weights)
        gamma = fit(ws.pop(0)) if self.scale or self.rms_scaling else None
        beta = fit(ws.pop(0)) if self.center and not self.rms_scaling else None
        variance = np.var(x, axis=tuple(axes), keepdims=True)
        inv = 1 / np.sqrt(variance + np.asarray(self.epsilon, x.dtype))
        if self.rms_scaling:
            out = x * inv
            return ((out if gamma is None else out * gamma).astype(x.dtype),)
        if gamma is not None:
            inv = inv * gamma
        shift = -np.mean(x, axis=tuple(axes), keepdims=True) * inv
        if beta is not None:
            shift = shift + beta
        return ((x * inv + shift).astype(x.dtype),)

    def summary(self) -> str:
        return _axes_summary(self.axis)


@register
class RMSNormalization(LayerSpec):
    """Root-mean-square normalization with a learned scale."""

    class_name = "RMSNormalization"
    family = "normalization"
    positional = ("axis", "epsilon")

    axis: tuple[int, ...] = option(default=(-1,), convert=arg.axes)
    epsilon: float = option(default=1e-6, convert=arg.to_float)

    examples = (
        Example({}, ((None, 4, 3),)),
        Example({"axis": [1, 2]}, ((None, 4, 3),)),
        Example({"axis": 1}, ((None, 5, None),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; each axis must exist."""
        x = one_input(inputs, self.class_name)
        checked_axes(self.axis, x, self.class_name)
        return (x,)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        shape = _feature_shape(self.axis, inputs[0], self.class_name)
        return (WeightSpec("scale", shape, initializer=ONES),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """4 per element (square, mean, rsqrt-multiply, scale)"""
        return dims.mul(4, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x / sqrt(mean(x^2) + epsilon) * scale over the axes"""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        axes = tuple(sorted(self.axis))
        rms = np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + np.asarray(self.epsilon, x.dtype))
        # the scale broadcasts as it is (aligned on the right), as in Keras
        return ((x / rms * np.asarray(weights[0], x.dtype)).astype(x.dtype),)

    def summary(self) -> str:
        return _axes_summary(self.axis)


def _groups(v: object, cls: type[LayerSpec] | None = None) -> int:
    """A positive int, or -1 (one group per channel: instance normalization)."""
    n = arg.to_int(v)
    if n <= 0 and n != -1:
        raise ConfigError(f"groups must be a positive integer or -1, got {v!r}")
    return n


@register
class GroupNormalization(LayerSpec):
    """Group normalization: channels split into ``groups`` normalized separately."""

    class_name = "GroupNormalization"
    family = "normalization"
    supports_masking = True
    positional = (
        "groups", "axis", "epsilon", "center", "scale", "beta_initializer",
        "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
        "gamma_constraint",
    )

    groups: int = option(default=32, convert=_groups)
    axis: int = option(default=-1, convert=arg.to_int)
    epsilon: float = option(default=1e-3, convert=arg.to_float)
    center: bool = option(default=True, convert=arg.to_bool)
    scale: bool = option(default=True, convert=arg.to_bool)
    beta_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)
    gamma_initializer: Initializer | None = option(default=ONES, convert=arg.initializer)

    examples = (
        Example({"groups": 2}, ((None, 4, 5, 6),)),
        Example({"groups": -1}, ((None, None, 6),)),
        Example({"groups": 2, "axis": 1}, ((None, 4, 5, 6),)),
        Example({"groups": 3, "center": False}, ((None, 6),)),
        Example({"groups": 1, "scale": False}, ((None, 2, 3),)),
        Example({"groups": 4}, ((None, 4, 5, 6),), fails=True),
        Example({"groups": 8}, ((None, 4, 5, 6),), fails=True),
        Example({"groups": 0}, ((None, 6),), fails=True),
    )

    def _channels(self, x: TensorType) -> Dim:
        return x.shape[checked_axes((self.axis,), x, self.class_name)[0]]

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; the groups must divide the channels."""
        x = one_input(inputs, self.class_name)
        c = self._channels(x)
        if dims.is_int(c) and self.groups != -1:
            channels: int = c  # type: ignore[assignment]
            if channels < self.groups:
                raise ShapeError(
                    INCOMPATIBLE_INPUT,
                    f"GroupNormalization: {self.groups} groups cannot be more than the "
                    f"{channels} channels of {format_shape(x.shape)}",
                )
            if channels % self.groups:
                raise ShapeError(
                    INCOMPATIBLE_INPUT,
                    f"GroupNormalization: {self.groups} groups do not divide the "
                    f"{channels} channels of {format_shape(x.shape)}",
                )
        return (x,)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        shape = (self._channels(inputs[0]),)
        out = []
        if self.scale:
            out.append(WeightSpec("gamma", shape, initializer=self.gamma_initializer))
        if self.center:
            out.append(WeightSpec("beta", shape, initializer=self.beta_initializer))
        return tuple(out)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """5 per element (mean, variance, normalize) + 1 for scale + 1 for center"""
        return dims.mul(5 + int(self.scale) + int(self.center), elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Channels split into groups; each group of each sample normalised over its
        channels and every other non-batch axis, then * gamma + beta per channel."""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        axis = self.axis % x.ndim
        channels = x.shape[axis]
        groups = channels if self.groups == -1 else self.groups
        grouped_shape = (*x.shape[:axis], groups, channels // groups, *x.shape[axis + 1:])
        g = x.reshape(grouped_shape)
        reduce = tuple(i for i in range(1, g.ndim) if i != axis)
        mean = np.mean(g, axis=reduce, keepdims=True)
        inv = 1 / np.sqrt(np.var(g, axis=reduce, keepdims=True)
                          + np.asarray(self.epsilon, x.dtype))
        param_shape = [1] * g.ndim
        param_shape[axis], param_shape[axis + 1] = groups, channels // groups
        ws = list(weights)
        if self.scale:
            inv = inv * np.asarray(ws.pop(0), x.dtype).reshape(param_shape)
        shift = -mean * inv
        if self.center:
            shift = shift + np.asarray(ws.pop(0), x.dtype).reshape(param_shape)
        return ((g * inv + shift).reshape(x.shape).astype(x.dtype),)

    def summary(self) -> str:
        return "instance" if self.groups == -1 else f"{self.groups} groups"


@register
class UnitNormalization(LayerSpec):
    """Scale each sample to unit L2 norm along the axes."""

    class_name = "UnitNormalization"
    family = "normalization"
    supports_masking = True
    positional = ("axis",)

    axis: tuple[int, ...] = option(default=(-1,), convert=arg.axes)

    examples = (
        Example({}, ((None, 5),)),
        Example({"axis": [1, 2]}, ((None, 4, None, 6),)),
        Example({"axis": 5}, ((None, 4, 5, 6),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; each axis must exist."""
        x = one_input(inputs, self.class_name)
        checked_axes(self.axis, x, self.class_name)
        return (x,)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """3 per element (square, sum, divide)"""
        return dims.mul(3, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x / max(||x||_2, 1e-12) over the axes"""
        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        return (numeric.l2_normalize(x, tuple(a % x.ndim for a in self.axis), 1e-12),)

    def summary(self) -> str:
        return _axes_summary(self.axis)
