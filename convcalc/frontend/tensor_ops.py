"""Tensor operations written as Python arithmetic on Keras tensors (``x + 3.0``).

Keras 3 records them as operations of the functional graph (named like the op class:
``add``, ``multiply``, ``true_divide``) that are not layers: they have no weights and
``model.layers`` leaves them out, so their graph layers are hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers.base import InferContext, LayerSpec, ShapeError
from convcalc.layers.common import elements
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Shape, TensorType, format_shape

OP_CLASSES = {
    "+": "Add", "-": "Subtract", "*": "Multiply", "/": "TrueDivide", "//": "FloorDivide",
    "%": "Mod", "**": "Power", "neg": "Negative", "pos": "Positive", "abs": "Absolute",
    "swish": "Silu", "hard_swish": "HardSilu", "hard_silu": "HardSilu",
}
"""Keras operation classes (they name the graph nodes); others are the CamelCase name."""

UNARY_FUNCTIONS = frozenset({
    "relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "silu", "swish",
    "elu", "selu", "softplus", "softsign", "exp", "log", "sqrt", "square", "abs", "negative",
    "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish", "mish", "erf", "sign", "floor",
    "ceil", "round", "rsqrt", "reciprocal", "sin", "cos", "log1p", "expm1",
})
"""Element-wise functions of ``keras.ops`` / ``keras.activations`` / ``tf.nn`` / ``tf.math``
that keep the shape of the tensor they are applied to."""


def broadcast(shapes: Sequence[Shape], ctx: InferContext) -> Shape:
    """NumPy broadcasting of whole shapes (batch included), right-aligned.

    Equal dims or 1 against anything; a symbol against another dim must be equal (a
    requirement); concrete dims that differ are an error.
    """
    out: list[Dim] = list(shapes[0])
    for shape in shapes[1:]:
        a, b = out, list(shape)
        if len(a) < len(b):
            a, b = b, a
        lead = len(a) - len(b)
        merged = a[:lead]
        for x, y in zip(a[lead:], b, strict=True):
            if x == y or y == 1:
                merged.append(x)
            elif x == 1:
                merged.append(y)
            elif dims.is_int(x) and dims.is_int(y):
                raise ShapeError(
                    INCOMPATIBLE_INPUT,
                    f"cannot broadcast shapes {format_shape(tuple(shapes[0]))} and "
                    f"{format_shape(tuple(shape))}",
                )
            else:
                ctx.require_equal(x, y, INCOMPATIBLE_INPUT,
                                  f"broadcast of {format_shape(tuple(shapes[0]))} and "
                                  f"{format_shape(tuple(shape))}")
                merged.append(x if x != dims.BATCH else y)
        out = merged
    return tuple(out)


class OpSpec(LayerSpec):
    """A Keras operation that is not a layer (no weights)."""

    family = "ops"
    call_args: ClassVar[tuple[str, ...]] = ("inputs",)

    @property
    def op_class(self) -> str:
        return "Operation"


class ElementwiseOp(OpSpec):
    """An element-wise operation on tensors (and Python numbers), with broadcasting."""

    class_name = "ElementwiseOp"

    op: str

    @property
    def op_class(self) -> str:
        return OP_CLASSES.get(self.op) or "".join(p.capitalize() for p in self.op.split("_"))

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """The broadcast of the tensor operands' shapes."""
        if not inputs:
            raise ShapeError(INCOMPATIBLE_INPUT, "an operation without tensor operands")
        return (inputs[0].with_shape(broadcast([t.shape for t in inputs], ctx)),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """One per output element"""
        return elements(outputs[0])

    def summary(self) -> str:
        return self.op


IndexPart = tuple[Any, ...]


def index_key(index: Any) -> tuple[IndexPart, ...] | None:
    """A tensor subscript in a hashable form: ints, slices of ints, ``...`` and None;
    None when it holds anything else (a tensor, an unknown)."""
    parts = index if isinstance(index, tuple) else (index,)
    out: list[IndexPart] = []
    for p in parts:
        if p is Ellipsis:
            out.append(("...",))
        elif p is None:
            out.append(("new",))
        elif type(p) is int:
            out.append(("int", p))
        elif type(p) is slice and all(x is None or type(x) is int
                                      for x in (p.start, p.stop, p.step)):
            out.append(("slice", p.start, p.stop, p.step))
        else:
            return None
    return tuple(out)


def _slice_length(d: Dim, start: int | None, stop: int | None, step: int | None) -> Dim:
    """len(range(d)[start:stop:step]) for a concrete or symbolic d."""
    if start is None and stop is None and step in (None, 1):
        return d
    n = dims.as_int(d)
    if n is not None:
        return len(range(n)[start:stop:step])
    step = step or 1
    if step > 0 and (start is None or start >= 0) and (stop is None or stop < 0):
        a = start or 0
        end = dims.add(d, stop) if stop is not None else d
        return dims.ceildiv(dims.sub(end, a), step)
    if step > 0 and (start is None or start >= 0) and stop is not None and stop >= 0:
        return len(range(stop)[start:stop:step])
    if step > 0 and start is not None and start < 0 and stop is None:
        return len(range(-start)[::step])
    raise ShapeError(INCOMPATIBLE_INPUT, "a slice of a symbolic axis convcalc cannot size")


class GetItem(OpSpec):
    """Indexing a tensor with ints, slices, ``...`` and None (``x[:, 0]``)."""

    class_name = "GetItem"

    key: tuple[IndexPart, ...]

    @property
    def op_class(self) -> str:
        return "GetItem"

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Ints drop an axis, slices resize it, None adds one of size 1."""
        x = inputs[0]
        key = list(self.key)
        used = sum(1 for p in key if p[0] in ("int", "slice"))
        if sum(1 for p in key if p[0] == "...") > 1 or used > x.rank:
            raise ShapeError(INCOMPATIBLE_INPUT,
                             f"too many indices for a {x.rank}-D tensor {format_shape(x.shape)}")
        if not any(p[0] == "..." for p in key):
            key.append(("...",))
        out: list[Dim] = []
        axis = 0
        for p in key:
            if p[0] == "...":
                n = x.rank - used
                out.extend(x.shape[axis:axis + n])
                axis += n
            elif p[0] == "new":
                out.append(1)
            elif p[0] == "int":
                d = x.shape[axis]
                if dims.is_int(d) and not -d <= p[1] < d:  # type: ignore[operator]
                    raise ShapeError(INCOMPATIBLE_INPUT, f"index {p[1]} is out of range for "
                                     f"axis {axis} of size {d}")
                axis += 1
            else:
                out.append(_slice_length(x.shape[axis], p[1], p[2], p[3]))
                axis += 1
        return (x.with_shape(tuple(out)),)
