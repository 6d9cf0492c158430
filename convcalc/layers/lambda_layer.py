"""Lambda: an arbitrary function as a layer.

convcalc never executes, unmarshals or evaluates the wrapped function: a serialized
function in a config (Keras 3 ``{"class_name": "__lambda__", "config": {"code": ...}}``,
Keras 1/2 bytecode lists with ``function_type: "lambda"``, a registered function's
name) is only ever read as a label. The output shape is therefore known only from
``output_shape``: a shape without the batch, to which Keras prepends the batch of the
first input (Keras 3, 2 and 1 alike), or a list of such shapes for several outputs. An
``output_shape`` that is itself a function is never run either, and leaves the output
unknown. A None inside ``output_shape`` becomes a free dim ``lambda_d<axis>``.

The NumPy forward exists only for a Keras activation function serialized by name
(``{"module": "keras.activations", "config": "relu"}``) applied to one tensor; any other
function (Python code, a custom or unknown function) has none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

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
from convcalc.rules import INCOMPATIBLE_INPUT, SHAPE_UNKNOWN
from convcalc.types import Shape, TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

OutputShape: TypeAlias = "Shape | tuple[Shape, ...] | str | None"
"""A shape, several shapes, a label of a shape function (never run), or None."""

_LAMBDA = "<lambda>"


def _function_label(v: Any) -> str:
    """A printable label for a serialized or source function; nothing is decoded."""
    if isinstance(v, str):
        return v
    if isinstance(v, Mapping):
        if v.get("class_name") == "__lambda__":
            return _LAMBDA
        inner = v.get("config")
        if isinstance(inner, str):
            return inner
        name = v.get("registered_name") or v.get("class_name")
        return name if isinstance(name, str) else "<function>"
    if isinstance(v, (list, tuple)):  # Keras 1/2 bytecode dump: (code, defaults, closure)
        return _LAMBDA
    name = getattr(v, "name", None)
    return name if isinstance(name, str) else "<function>"


def _function(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """The wrapped function, as a label."""
    return _function_label(v)


def _shape(v: Sequence[Any]) -> Shape:
    out: list[Dim] = []
    for i, d in enumerate(v, start=1):
        if d is None:
            out.append(dims.Sym(f"lambda_d{i}"))
        elif isinstance(d, dims.Sym) or (type(d) is not int and type(d).__module__
                                          .startswith("sympy")):
            out.append(dims.normalize(d))
        else:
            out.append(arg.positive_int(d))
    return tuple(out)


def _is_shape_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(
        isinstance(s, (list, tuple)) for s in v)


def _output_shape(v: Any, cls: type[LayerSpec] | None = None) -> OutputShape:
    """None, a shape without the batch, a list of shapes, or a function (kept as a label)."""
    if v is None:
        return None
    if isinstance(v, Mapping) and v.get("class_name") == "__tuple__":
        inner = v.get("config")
        return _output_shape(inner.get("value") if isinstance(inner, Mapping) else None)
    if _is_shape_list(v):
        return tuple(_shape(s) for s in v)
    if isinstance(v, (list, tuple)):
        return _shape(v)
    if isinstance(v, (int, float, bool)):
        raise ConfigError(f"output_shape must be a tuple of dims (without the batch), got {v!r}")
    return _function_label(v)


@register
class Lambda(LayerSpec):
    """Wrap a function; its output shape is the given ``output_shape`` (batch prepended)."""

    class_name = "Lambda"
    family = "core"
    positional = ("function", "output_shape", "mask", "arguments")

    function: str = option(default="<function>", convert=_function)
    output_shape: OutputShape = option(default=None, convert=_output_shape)
    keras_activation: str | None = option(default=None, convert=arg.optional(arg.to_str))
    """The name of the wrapped function when it is one of ``keras.activations``."""
    mask: str | None = option(default=None, convert=arg.optional(_function))
    """The output mask (a function or a tensor, kept as a label): without one, an
    input's mask stops here."""

    examples = (
        Example({"function": {"module": "keras.activations", "class_name": "function",
                              "config": "relu", "registered_name": "relu"},
                 "output_shape": [5, 3]}, ((None, 5, 3),)),
        Example({"function": {"module": "keras.activations", "class_name": "function",
                              "config": "relu", "registered_name": "relu"},
                 "output_shape": [2, 7]}, ((None, 5, 3),)),
        Example({"function": {"module": "keras.activations", "class_name": "function",
                              "config": "relu", "registered_name": "relu"},
                 "output_shape": [None, 7]}, ((None, 5, 3),)),
        Example({"function": {"module": "keras.activations", "class_name": "function",
                              "config": "relu", "registered_name": "relu"},
                 "output_shape": [7]}, ((4, 5, 3), (4, 2))),
        Example({"function": {"module": "keras.activations", "class_name": "function",
                              "config": "gelu", "registered_name": "gelu"},
                 "output_shape": [4, 6]}, ((None, 4, 6),)),
        Example({"function": {"module": "keras.activations", "class_name": "function",
                              "config": "relu", "registered_name": "relu"},
                 "output_shape": 7}, ((None, 5, 3),), fails=True),
    )

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """Keras 1/2 ``function_type`` / ``output_shape_type``: 'raw' holds a shape, while
        'lambda' (bytecode) and 'function' (a name) hold functions, kept as labels."""
        fn = config.get("function")
        if (isinstance(fn, Mapping) and fn.get("module") == "keras.activations"
                and isinstance(fn.get("config"), str)):
            config = {**config, "keras_activation": fn["config"]}
        if "function_type" not in config and "output_shape_type" not in config:
            return config
        cfg = dict(config)
        if cfg.pop("function_type", None) == "lambda":
            cfg["function"] = _LAMBDA
        kind = cfg.pop("output_shape_type", "raw")
        if kind != "raw" and cfg.get("output_shape") is not None:
            label = cfg["output_shape"] if kind == "function" else _LAMBDA
            cfg["output_shape"] = label if isinstance(label, str) else _LAMBDA
        return cfg

    def declared_shapes(self) -> tuple[Shape, ...] | None:
        """The declared output shapes (without the batch), or None when unknown."""
        shape = self.output_shape
        if shape is None or isinstance(shape, str):
            return None
        if shape and isinstance(shape[0], tuple):
            return shape  # type: ignore[return-value]
        return (shape,)

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        shapes = self.declared_shapes()
        return 1 if shapes is None else len(shapes)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch of the first input, *output_shape) for each declared output shape"""
        if not inputs:
            raise ShapeError(INCOMPATIBLE_INPUT, "Lambda needs at least one input")
        shapes = self.declared_shapes()
        if shapes is None:
            shape = self.output_shape
            what = (f"its output_shape is a function ({shape}) and" if isinstance(shape, str)
                    else "it has no output_shape and")
            raise ShapeError(
                SHAPE_UNKNOWN,
                f"Lambda ({self.function}): the output shape is unknown: {what} convcalc "
                f"never executes the wrapped function",
                "Give the Lambda an explicit output_shape, the output shape without the batch "
                "(e.g. Lambda(f, output_shape=(32,))).",
            )
        batch = inputs[0].batch
        return tuple(TensorType((batch, *s)) for s in shapes)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The wrapped Keras activation applied to the single input (output_shape is
        declared, not enforced, as in Keras); other functions are never run."""
        from convcalc.layers.activations import KERAS_ACTIVATIONS, apply_activation

        name = self.keras_activation
        if name not in KERAS_ACTIVATIONS or len(inputs) != 1:
            raise NotImplementedError(
                f"Lambda ({self.function}): convcalc never executes the wrapped function; "
                "only a Keras activation applied to one tensor has a NumPy forward")
        return (apply_activation(name, inputs[0]),)

    def makes_mask(self) -> bool:
        return self.mask is not None

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """None without a ``mask``; a given one is never run or decoded, so the call's
        outputs are not computed (NotImplementedError)."""
        if self.mask is None:
            return ()
        raise NotImplementedError(
            f"Lambda ({self.function}): its mask ({self.mask}) is never executed, so the "
            "mask of its output is unknown")

    def summary(self) -> str:
        shapes = self.declared_shapes()
        if shapes is None:
            return self.function
        return f"{self.function} -> {', '.join(format_shape(s) for s in shapes)}"
