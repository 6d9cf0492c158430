"""Core layers: InputLayer, Dense and Masking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import evaluate, named
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    ConfigError,
    Example,
    InferContext,
    LayerSpec,
    option,
    register,
)
from convcalc.layers.common import activation_flops, elements, expect_min_rank, one_input
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

GLOROT_UNIFORM = Initializer("GlorotUniform")
ZEROS = Initializer("Zeros")
ONES = Initializer("Ones")

_FREE_DIM_NAMES = {1: ("T",), 2: ("T", "F"), 3: ("H", "W", "C"), 4: ("D", "H", "W", "C")}


def free_dim_names(rank: int) -> tuple[str, ...]:
    """Default symbol names for the non-batch dims of an input of this rank."""
    return _FREE_DIM_NAMES.get(rank, tuple(f"d{i}" for i in range(1, rank + 1)))


def _input_dims(shape: Sequence[Any]) -> tuple[Dim, ...]:
    """A batch shape with None as free symbols: the batch, then names by position."""
    names = free_dim_names(len(shape) - 1)
    out: list[Dim] = []
    for i, d in enumerate(shape):
        if d is None:
            out.append(dims.BATCH if i == 0 else dims.Sym(names[i - 1]))
        elif isinstance(d, dims.Sym) or type(d).__module__.startswith("sympy"):
            out.append(dims.normalize(d))
        else:
            out.append(arg.to_int(d))
    return tuple(out)


@register
class InputLayer(LayerSpec):
    """A model input: a tensor of the declared batch shape."""

    class_name = "InputLayer"
    aliases = ("Input",)
    family = "core"
    positional = ("shape", "batch_size", "dtype", "sparse", "ragged", "batch_shape")
    call_args = ()

    batch_shape: tuple[Dim, ...]
    dtype: str = "float32"

    examples = (Example({"batch_shape": (None, 8, 3)}, ()),)

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        cfg = dict(config)
        for old in ("batch_input_shape",):
            if old in cfg:
                cfg.setdefault("batch_shape", cfg.pop(old))
        shape = cfg.pop("shape", None)
        if shape is None:
            shape = cfg.pop("input_shape", None)
        batch_size = cfg.pop("batch_size", None)
        if shape is not None:
            if cfg.get("batch_shape") is not None:
                raise ConfigError("cannot pass both shape and batch_shape", "shape")
            if isinstance(shape, (int, str)) or not isinstance(shape, Sequence):
                shape = (shape,)
            cfg["batch_shape"] = (batch_size, *shape)
        elif cfg.get("batch_shape") is None:
            raise ConfigError("needs a shape (shape= or batch_shape=)", "shape")
        if cfg.get("dtype") is None:
            cfg["dtype"] = "float32"
        return cfg

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        cfg = cls.upgrade_config(config)
        raw = cfg["batch_shape"]
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            raise ConfigError(f"InputLayer: invalid batch_shape {raw!r}", "batch_shape")
        dtype = cfg["dtype"]
        if isinstance(dtype, Mapping):  # a DTypePolicy object
            dtype = dtype.get("config", {}).get("name", "float32")
        try:
            shape = _input_dims(raw)
        except ConfigError as e:
            raise ConfigError(f"InputLayer: invalid batch_shape {list(raw)!r} ({e})",
                              "batch_shape") from None
        return cls(batch_shape=shape, dtype=str(dtype))

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """The declared type."""
        return (TensorType(self.batch_shape, self.dtype),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The array fed to this input (its one input), in the declared dtype."""
        import numpy as np

        if len(inputs) != 1:
            raise ValueError(f"InputLayer is fed one array, got {len(inputs)}")
        x = np.asarray(inputs[0])
        return (x if x.dtype == self.dtype else x.astype(self.dtype),)

    def summary(self) -> str:
        return format_shape(self.batch_shape)


@register
class Dense(LayerSpec):
    """A fully connected layer on the last axis (any input rank >= 2)."""

    class_name = "Dense"
    family = "core"
    supports_masking = True
    positional = ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer")
    renamed = {"output_dim": "units", "init": "kernel_initializer", "bias": "use_bias"}

    units: Dim = option(convert=arg.positive_dim)
    activation: str = option(default="linear", convert=arg.activation)
    use_bias: bool = option(default=True, convert=arg.to_bool)
    kernel_initializer: Initializer | None = option(default=GLOROT_UNIFORM, convert=arg.initializer)
    bias_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)

    examples = (
        Example({"units": 4}, ((None, 3),)),
        Example({"units": 4, "activation": "relu", "use_bias": False}, ((None, 5, 6, 3),)),
        Example({"units": 2}, ((None,),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(..., d) -> (..., units)"""
        x = one_input(inputs, self.class_name)
        expect_min_rank(x, 2, self.class_name)
        return (TensorType((*x.shape[:-1], self.units)),)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        d = inputs[0].shape[-1]
        kernel = WeightSpec("kernel", (d, self.units), initializer=self.kernel_initializer)
        if not self.use_bias:
            return (kernel,)
        return kernel, WeightSpec("bias", (self.units,), initializer=self.bias_initializer)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """prod(leading dims) * d * units"""
        x = inputs[0]
        return evaluate(named("prod(leading dims)", *x.shape[1:-1]) * named("d", x.shape[-1])
                        * named("units", self.units))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs + output elements for the bias + activation cost"""
        out = elements(outputs[0])
        return dims.total((
            dims.mul(2, self.macs(inputs, outputs)),
            out if self.use_bias else 0,
            activation_flops(self.activation, out),
        ))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """activation(x @ kernel + bias) on the last axis."""
        from convcalc.layers.activations import apply_activation
        from convcalc.layers.numeric import as_float

        x = as_float(inputs[0])
        y = x @ weights[0]
        if self.use_bias:
            y += weights[1]
        return (apply_activation(self.activation, y),)

    def summary(self) -> str:
        act = "" if self.activation == "linear" else f", {self.activation}"
        return f"{self.units}{act}"


@register
class Masking(LayerSpec):
    """Mask the positions whose features (last axis) all equal ``mask_value``: their
    outputs become 0 and the output mask is any(x != mask_value) over the last axis."""

    class_name = "Masking"
    family = "core"
    positional = ("mask_value",)
    supports_masking = True

    mask_value: float = option(default=0.0, convert=arg.to_float)

    examples = (
        Example({}, ((None, 5, 3),)),
        Example({"mask_value": -1.0}, ((None, 4, 3, 2),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Same shape as the input."""
        return (one_input(inputs, self.class_name),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """input elements (one comparison each)"""
        return elements(inputs[0])

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x where any feature differs from mask_value, else 0."""
        import numpy as np

        x = np.asarray(inputs[0])
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)
        return (np.where(keep, x, np.zeros((), x.dtype)),)

    def makes_mask(self) -> bool:
        return True

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """any(x != mask_value) over the last axis (any incoming mask is replaced)."""
        import numpy as np

        return (np.any(np.asarray(inputs[0]) != self.mask_value, axis=-1),)

    def summary(self) -> str:
        return "" if self.mask_value == 0.0 else f"mask {self.mask_value:g}"
