"""Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax, ThresholdedReLU.

All keep the input shape. FLOPs follow :data:`convcalc.layers.common.ACTIVATION_FLOPS`:
one per element for an element-wise non-linearity, three for a softmax.
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
from convcalc.layers.common import activation_flops, elements, one_input
from convcalc.layers.normalization import checked_axes
from convcalc.rules import WRONG_RANK
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

ZEROS = Initializer("Zeros")

KERAS_ACTIVATIONS = frozenset({
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink", "threshold",
})
"""Names ``keras.activations.get`` resolves in Keras 3 (case-sensitive)."""

KERAS2_ACTIVATION_LAYERS = frozenset(
    {"ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"}
)
"""Layer classes Keras 2 also accepts by name, as ``Activation('LeakyReLU')``: the
name builds a default instance of the layer (Keras 3 rejects these names)."""


def activation_name(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """A known activation name (Keras 3, or a Keras 2 activation-layer name) or a
    serialized custom function, which is accepted under its own name."""
    if isinstance(v, str):
        if v in KERAS_ACTIVATIONS or v in KERAS2_ACTIVATION_LAYERS:
            return v
        raise ConfigError(f"unknown activation {v!r}")
    return arg.activation(v, cls)


def apply_activation(activation: str, x: Array) -> Array:
    """``activation`` (a name as specs store it, any case) applied to ``x`` as Keras does.

    Raises NotImplementedError for a name NumPy cannot evaluate (a custom function, or
    ``PReLU``, whose weights only the Activation layer holds).
    """
    from convcalc.layers import numeric

    fn = numeric.ACTIVATIONS.get(activation.lower())
    if fn is None:
        raise NotImplementedError(f"activation {activation!r} has no NumPy forward")
    return fn(numeric.as_float(x))


def _non_negative(name: str, value: float | None) -> None:
    if value is None or value < 0:
        raise ConfigError(f"{name} must be a number >= 0, got {value!r}")


def _same(inputs: Sequence[TensorType], class_name: str) -> tuple[TensorType, ...]:
    return (one_input(inputs, class_name),)


@register
class Activation(LayerSpec):
    """Apply an activation function by name."""

    class_name = "Activation"
    family = "activation"
    supports_masking = True
    positional = ("activation",)

    activation: str = option(convert=activation_name)

    examples = (
        Example({"activation": "relu"}, ((None, 3),)),
        Example({"activation": "softmax"}, ((None, None, 5),)),
        Example({"activation": "swish"}, ((None, 4, 4, 2),)),
        Example({"activation": "gelu"}, ((None, 6),)),
        Example({"activation": "log_softmax"}, ((None, 2, 5),)),
        Example({"activation": "sparsemax"}, ((None, 7),)),
        Example({"activation": "relux"}, ((None, 3),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return _same(inputs, self.class_name)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        """None, except a Keras 2 ``Activation('PReLU')``, which owns a PReLU's alpha."""
        if self.activation == "PReLU":
            return PReLU().weights(inputs)
        return ()

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """activation cost per element: 0 linear, 3 (log-)softmax, 1 otherwise"""
        return activation_flops(self.activation.lower(), elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The named activation; a Keras 2 ``Activation('PReLU')`` uses its alpha."""
        if self.activation == "PReLU":
            return PReLU().forward(inputs, weights, call_kwargs)
        return (apply_activation(self.activation, inputs[0]),)

    def summary(self) -> str:
        return self.activation


@register
class ReLU(LayerSpec):
    """Rectified linear unit with optional cap, leak and threshold."""

    class_name = "ReLU"
    family = "activation"
    supports_masking = True
    positional = ("max_value", "negative_slope", "threshold")

    max_value: float | None = option(default=None, convert=arg.optional(arg.to_float))
    negative_slope: float = option(default=0.0, convert=arg.optional(arg.to_float))
    threshold: float = option(default=0.0, convert=arg.optional(arg.to_float))

    examples = (
        Example({}, ((None, 3),)),
        Example({"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}, ((None, 4, 2),)),
        Example({"threshold": 0.5}, ((None, 8),)),
        Example({"max_value": 0.7}, ((None, 8),)),
        Example({"negative_slope": 0.2}, ((None, 8),)),
        Example({"max_value": -1.0}, ((None, 3),), fails=True),
        Example({"negative_slope": -0.1}, ((None, 3),), fails=True),
        Example({"threshold": -1.0}, ((None, 3),), fails=True),
    )

    def validate(self) -> None:
        if self.max_value is not None:
            _non_negative("ReLU: max_value", self.max_value)
        _non_negative("ReLU: negative_slope", self.negative_slope)
        _non_negative("ReLU: threshold", self.threshold)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return _same(inputs, self.class_name)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """1 per element"""
        return elements(outputs[0])

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x above threshold (capped at max_value), else negative_slope * (x - threshold)"""
        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        return (numeric.relu(x, self.negative_slope, self.max_value, self.threshold),)

    def summary(self) -> str:
        return "" if self.max_value is None else f"max {self.max_value:g}"


@register
class LeakyReLU(LayerSpec):
    """Leaky ReLU: ``x`` for x >= 0, ``negative_slope * x`` otherwise."""

    class_name = "LeakyReLU"
    family = "activation"
    supports_masking = True
    positional = ("negative_slope",)
    renamed = {"alpha": "negative_slope"}

    negative_slope: float = option(default=0.3, convert=arg.optional(arg.to_float))

    examples = (
        Example({}, ((None, 3),)),
        Example({"negative_slope": 0.1}, ((None, None, 8),)),
        Example({"negative_slope": -0.5}, ((None, 3),), fails=True),
    )

    def validate(self) -> None:
        _non_negative("LeakyReLU: negative_slope", self.negative_slope)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return _same(inputs, self.class_name)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """1 per element"""
        return elements(outputs[0])

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x for x >= 0, negative_slope * x otherwise"""
        from convcalc.layers import numeric

        return (numeric.leaky_relu(numeric.as_float(inputs[0]), self.negative_slope),)

    def summary(self) -> str:
        return f"{self.negative_slope:g}"


def _shared_axes(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int, ...] | None:
    """None, one axis or a list of axes (1-based, the batch being axis 0)."""
    return None if v is None else arg.axes(v)


@register
class PReLU(LayerSpec):
    """Parametric ReLU: a learned slope per element, shared along ``shared_axes``."""

    class_name = "PReLU"
    family = "activation"
    supports_masking = True
    positional = ("alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes")
    renamed = {"init": "alpha_initializer"}

    alpha_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)
    shared_axes: tuple[int, ...] | None = option(default=None, convert=_shared_axes)

    examples = (
        Example({}, ((None, 4, 5, 3),)),
        Example({"shared_axes": [1, 2]}, ((None, 4, 5, 3),)),
        Example({"shared_axes": 1}, ((None, None, 3),)),
        Example({"shared_axes": -1}, ((None, 4, 3),)),
        Example({"alpha_initializer": "ones"}, ((None, 6),)),
        Example({}, ((None,),)),
    )

    def _alpha_shape(self, x: TensorType) -> tuple[Dim, ...]:
        """The input's non-batch shape with 1 on each shared axis (Python indexing of
        ``axis - 1``, as Keras does)."""
        shape = list(x.shape[1:])
        for axis in self.shared_axes or ():
            if not -len(shape) <= axis - 1 < len(shape):
                raise ShapeError(
                    WRONG_RANK,
                    f"PReLU: shared axis {axis} is out of range for input "
                    f"{format_shape(x.shape)}",
                )
            shape[axis - 1] = 1
        return tuple(shape)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        x = one_input(inputs, self.class_name)
        self._alpha_shape(x)
        return (x,)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        return (WeightSpec("alpha", self._alpha_shape(inputs[0]),
                           initializer=self.alpha_initializer),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 per element (select, multiply by alpha)"""
        return dims.mul(2, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """max(x, 0) - alpha * max(-x, 0), alpha broadcast over the shared axes"""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        pos = np.maximum(x, 0)
        return ((pos - weights[0] * np.maximum(-x, 0)).astype(x.dtype),)

    def summary(self) -> str:
        if not self.shared_axes:
            return ""
        return "shared " + ",".join(str(a) for a in self.shared_axes)


@register
class ELU(LayerSpec):
    """Exponential linear unit: ``alpha * (exp(x) - 1)`` for x < 0."""

    class_name = "ELU"
    family = "activation"
    supports_masking = True
    positional = ("alpha",)

    alpha: float = option(default=1.0, convert=arg.to_float)

    examples = (
        Example({}, ((None, 3),)),
        Example({"alpha": 0.5}, ((None, 4, None),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return _same(inputs, self.class_name)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """1 per element"""
        return elements(outputs[0])

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x for x > 0, alpha * (exp(x) - 1) otherwise"""
        from convcalc.layers import numeric

        return (numeric.elu(numeric.as_float(inputs[0]), self.alpha),)

    def summary(self) -> str:
        return f"{self.alpha:g}"


@register
class Softmax(LayerSpec):
    """Softmax over one axis or several."""

    class_name = "Softmax"
    family = "activation"
    supports_masking = True
    mask_in_call = True
    positional = ("axis",)

    axis: tuple[int, ...] = option(default=(-1,), convert=arg.axes)

    examples = (
        Example({}, ((None, 5),)),
        Example({"axis": 1}, ((None, 4, 5),)),
        Example({"axis": [1, 2]}, ((None, None, 5),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input; every axis must exist (Keras fails when run)."""
        x = one_input(inputs, self.class_name)
        checked_axes(self.axis, x, self.class_name)
        return (x,)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """3 per element (exp, sum, divide)"""
        return activation_flops("softmax", elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """exp(x - logsumexp(x)) over the axes; with ``call_kwargs["mask"]`` (an array
        broadcasting to x, true or > 0.5 where kept) masked entries get weight 0."""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        axis = self.axis[0] if len(self.axis) == 1 else self.axis
        keep = numeric.mask_array(call_kwargs.get("mask"), "Softmax mask")
        if keep is None:
            return (numeric.softmax(x, axis),)
        y = numeric.softmax(np.where(keep, x, np.asarray(-1e9, x.dtype)), axis)
        return (np.where(keep, y, np.zeros((), y.dtype)),)

    def summary(self) -> str:
        return "" if self.axis == (-1,) else "axis " + ",".join(str(a) for a in self.axis)


@register
class ThresholdedReLU(LayerSpec):
    """Keras 1/2 thresholded ReLU: ``x`` for x > theta, else 0 (gone in Keras 3).

    Keras 3 has no such class, so no example runs against it; our own tests cover it.
    """

    class_name = "ThresholdedReLU"
    in_keras3 = False
    family = "activation"
    supports_masking = True  # as in Keras 2
    positional = ("theta",)

    theta: float = option(default=1.0, convert=arg.optional(arg.to_float))

    def validate(self) -> None:
        _non_negative("ThresholdedReLU: theta", self.theta)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return _same(inputs, self.class_name)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """1 per element"""
        return elements(outputs[0])

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x for x > theta, else 0"""
        import numpy as np

        from convcalc.layers import numeric

        x = numeric.as_float(inputs[0])
        return (np.where(x > self.theta, x, 0).astype(x.dtype),)

    def summary(self) -> str:
        return f"theta {self.theta:g}"

