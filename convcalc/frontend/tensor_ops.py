"""Tensor operations written as Python arithmetic on Keras tensors (``x + 3.0``).

Keras 3 records them as operations of the functional graph (named like the op class:
``add``, ``multiply``, ``true_divide``) that are not layers: they have no weights and
``model.layers`` leaves them out, so their graph layers are hidden. Operands that are not
graph tensors (``2`` in ``2 * x``, ``ops.ones(...)``) are recorded in the spec as
:class:`Constant` values, so the NumPy forward (:mod:`convcalc.frontend.op_forwards`)
computes exactly what Keras computes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers.base import InferContext, LayerSpec, ShapeError
from convcalc.layers.common import elements
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Shape, TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.layers.base import Array

OP_CLASSES = {
    "+": "Add", "-": "Subtract", "*": "Multiply", "/": "TrueDivide", "//": "FloorDivide",
    "%": "Mod", "**": "Power", "neg": "Negative", "pos": "Positive", "abs": "Absolute",
    "&": "LogicalAnd", "|": "LogicalOr", "^": "LogicalXor",
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

BINARY_FUNCTIONS = {
    "+": "add", "-": "subtract", "*": "multiply", "/": "divide", "//": "floor_divide",
    "%": "mod", "**": "power", "&": "logical_and", "|": "logical_or", "^": "logical_xor",
    "true_divide": "divide", "truediv": "divide", "pow": "power",
}
"""Operators and other spellings of binary functions, by their ``keras.ops`` name."""

BOOLEAN_RESULTS = frozenset({
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and",
    "logical_or", "logical_xor",
})
FLOAT_RESULTS = frozenset({
    "divide", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "silu", "swish", "elu",
    "selu", "softplus", "softsign", "exp", "log", "sqrt", "leaky_relu", "hard_sigmoid",
    "hard_silu", "hard_swish", "mish", "erf", "floor", "ceil", "rsqrt", "reciprocal", "sin",
    "cos", "log1p", "expm1",
})
"""Functions whose result is float32 on integer or boolean tensors (``divide`` too)."""


def canonical_op(op: str) -> str:
    """The ``keras.ops`` name of an operator or spelling (``/`` -> ``divide``)."""
    return BINARY_FUNCTIONS.get(op, op)


# ------------------------------------------------------------------ constants
ConstantKind = Literal["scalar", "values", "full", "arange", "opaque"]


@dataclass(frozen=True, slots=True)
class Constant:
    """An operand known when the model is built rather than a tensor of the graph.

    ``data`` depends on ``kind``: ``scalar``, a Python number (weakly typed, as Keras
    treats Python numbers: ``x * 2`` keeps the dtype of ``x``); ``values``, the flat
    values of a nested list; ``full``, the fill value; ``arange``, (start, step);
    ``opaque``, a description of a value convcalc does not know (a random draw).
    """

    kind: ConstantKind
    shape: tuple[Dim, ...]
    dtype: str
    data: Any

    @property
    def weak(self) -> bool:
        return self.kind == "scalar"

    @property
    def type(self) -> TensorType:
        return TensorType(self.shape, self.dtype)


Constants = tuple[tuple[int, Constant], ...]
"""Constant operands by their position among all operands."""


def scalar(v: bool | int | float | Dim) -> Constant:
    """A Python number as an operand (an int-like dim counts as an int)."""
    dtype = "bool" if type(v) is bool else "float32" if type(v) is float else "int32"
    return Constant("scalar", (), dtype, v)


def literal(v: Any) -> Constant | None:
    """A nested list of numbers as ``convert_to_tensor`` makes it: bool, int32 when
    every number is an int, else float32; None if it is not a rectangular list of
    numbers."""
    shape: list[int] = []
    x = v
    while isinstance(x, (list, tuple)):
        if not x:
            return None
        shape.append(len(x))
        x = x[0]
    flat: list[Any] = []

    def walk(y: Any, depth: int) -> bool:
        if depth == len(shape):
            if type(y) not in (bool, int, float):
                return False
            flat.append(y)
            return True
        return isinstance(y, (list, tuple)) and len(y) == shape[depth] and all(
            walk(z, depth + 1) for z in y)

    if not walk(v, 0):
        return None
    kinds = {type(y) for y in flat}
    dtype = "bool" if kinds == {bool} else "float32" if float in kinds else "int32"
    return Constant("values", tuple(shape), dtype, tuple(flat))


def filled(shape: Sequence[Dim], fill: bool | int | float, dtype: str) -> Constant:
    """An array of one value (``ops.zeros``, ``ops.full``)."""
    return Constant("full", tuple(shape), dtype, fill)


def opaque(shape: Sequence[Dim], dtype: str, what: str) -> Constant:
    """An array whose values convcalc does not know (``what`` says what it is)."""
    return Constant("opaque", tuple(shape), dtype, what)


_T = TypeVar("_T")


def merge_operands(inputs: Sequence[_T], constants: Constants) -> list[_T | Constant]:
    """All operands in order: the constants at their positions, the inputs between."""
    at = dict(constants)
    rest = iter(inputs)
    out: list[_T | Constant] = []
    for i in range(len(inputs) + len(at)):
        c = at.get(i)
        if c is not None:
            out.append(c)
            continue
        nxt = next(rest, None)
        if nxt is None:
            raise ShapeError(INCOMPATIBLE_INPUT, "constant operands out of place")
        out.append(nxt)
    return out


def split_operands(operands: Sequence[Any]) -> tuple[list[Any], Constants]:
    """Graph tensors (the operation's inputs) apart from constant operands (numbers,
    nested lists, constant tensors), which are kept by position."""
    from convcalc.frontend.values import SymInt, Tensor

    tensors: list[Any] = []
    constants: list[tuple[int, Constant]] = []
    for i, v in enumerate(operands):
        if isinstance(v, Constant):
            constants.append((i, v))
        elif isinstance(v, Tensor):
            if v.constant is not None:
                constants.append((i, v.constant))
            else:
                tensors.append(v)
        elif type(v) in (bool, int, float):
            constants.append((i, scalar(v)))
        elif isinstance(v, SymInt):
            constants.append((i, scalar(v.dim)))
        else:
            constants.append((i, literal(v) or opaque((), "float32", type(v).__name__)))
    return tensors, tuple(constants)


_FOLD_LIMIT = 4096
"""The most values of a constant worth keeping when an operation on constants is
computed at analysis time (larger results keep only their type)."""


def constant_outputs(spec: LayerSpec, inputs: Sequence[Any] = ()) -> tuple[Any, ...]:
    """The outputs of an operation on constants only (``inputs`` being constant
    tensors, if any), which Keras computes when the model is built: constants, not
    graph tensors. Their values are computed with the operation's NumPy forward when
    that is small and possible; otherwise only their type is known."""
    from convcalc.frontend.values import Tensor

    types: Sequence[TensorType | None] = (None,) * spec.num_outputs()
    if all(t.type is not None for t in inputs):
        with contextlib.suppress(Exception):  # a rejected operand: the outputs stay unknown
            types = spec.infer([t.type for t in inputs], InferContext())
    what = f"the result of {spec.summary() or spec.class_name} on constants"
    consts = _folded(spec, [t.constant for t in inputs], types) or [
        opaque(t.shape if t else (), t.dtype if t else "float32", what) for t in types]
    return tuple(Tensor(t and c.type, None, i, constant=c)
                 for i, (t, c) in enumerate(zip(types, consts, strict=True)))


def _folded(spec: LayerSpec, inputs: Sequence[Constant],
            types: Sequence[TensorType | None]) -> list[Constant] | None:
    """The outputs' values when they are few and computable, else None."""
    for t in types:
        size = None if t is None else dims.as_int(dims.prod(t.shape))
        if size is None or size > _FOLD_LIMIT:
            return None
    from convcalc.frontend.op_forwards import constant_array

    try:
        outs = spec.forward([constant_array(c) for c in inputs], (), {})
    except Exception:  # not computable (an opaque operand): the type is enough
        return None
    return [Constant("values", tuple(o.shape), str(o.dtype), tuple(o.ravel().tolist()))
            for o in outs]


# ------------------------------------------------------------------- dtypes
_DTYPE_ORDER = ("bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64",
                "int64", "float16", "bfloat16", "float32", "float64")


def dtype_kind(dtype: str) -> int:
    """0 for bool, 1 for integers, 2 for floats (-1 for anything else)."""
    if dtype == "bool":
        return 0
    if "int" in dtype:
        return 1
    return 2 if "float" in dtype else -1


def result_dtype(operands: Sequence[tuple[str, bool]]) -> str:
    """The dtype of an operation on ``(dtype, weak)`` operands, promoted as Keras does:
    tensors by kind (bool < int < float) and width; a weak Python number only raises
    the kind (``int32 * 2.5`` is float32, ``float16 * 2.0`` stays float16)."""
    strong = [d for d, weak in operands if not weak]
    out = max(strong, key=lambda d: _DTYPE_ORDER.index(d) if d in _DTYPE_ORDER else -1,
              default=None)
    for d, weak in operands:
        if weak and (out is None or dtype_kind(d) > dtype_kind(out)):
            out = d
    return out or "float32"


def clip_dtype(dtype: str, bounds: Sequence[Any]) -> str:
    """The dtype of ``clip`` of a ``dtype`` tensor between Python numbers: bool counts
    as int32, a float bound lifts an int tensor to float32."""
    return result_dtype([("int32" if dtype == "bool" else dtype, False)] + [
        ("float32" if type(v) is float else "int32", True) for v in bounds if v is not None])


def elementwise_dtype(op: str, operands: Sequence[tuple[str, bool]]) -> str:
    """The result dtype of element-wise ``op`` (see :func:`result_dtype`)."""
    name = canonical_op(op)
    if name in BOOLEAN_RESULTS:
        return "bool"
    dtype = result_dtype(operands)
    if name in FLOAT_RESULTS and dtype_kind(dtype) < 2:
        return "float32"
    return dtype


# ------------------------------------------------------ element-wise functions
_UNARY_ARGS: dict[str, dict[str, tuple[tuple[str, Any], ...]]] = {
    "ops": {
        "leaky_relu": (("negative_slope", 0.2),), "elu": (("alpha", 1.0),),
        "gelu": (("approximate", True),), "softmax": (("axis", -1),),
        "log_softmax": (("axis", -1),), "round": (("decimals", 0),),
    },
    "activations": {
        "relu": (("negative_slope", 0.0), ("max_value", None), ("threshold", 0.0)),
        "leaky_relu": (("negative_slope", 0.2),), "elu": (("alpha", 1.0),),
        "gelu": (("approximate", False),), "softmax": (("axis", -1),),
        "log_softmax": (("axis", -1),),
    },
    "backend": {
        "relu": (("alpha", 0.0), ("max_value", None), ("threshold", 0.0)),
        "elu": (("alpha", 1.0),), "softmax": (("axis", -1),),
    },
    "tensorflow": {
        "leaky_relu": (("alpha", 0.2),), "gelu": (("approximate", False),),
        "log_softmax": (("axis", -1),), "silu": (("beta", 1.0),), "swish": (("beta", 1.0),),
    },
}
"""The static parameters after ``x`` of each spelling's element-wise functions, in
positional order, with their defaults (``keras.ops.gelu`` approximates by default,
``keras.activations.gelu`` does not)."""


def unary_op(path: Sequence[str], args: Sequence[Any], kwargs: Mapping[str, Any]
             ) -> ElementwiseOp:
    """The element-wise function ``path`` names (``("keras", "ops", "gelu")``) called
    with ``args`` (the tensor first): its parameters bound by that spelling's names
    and defaults, under one name (``alpha`` of ``tf.nn.leaky_relu`` is
    ``negative_slope``). An argument that is not a static value is kept as unknown."""
    name = path[-1]
    family = ("tensorflow" if path[0] == "tensorflow" else
              path[1] if len(path) > 2 and path[1] in ("activations", "backend") else "ops")
    declared = _UNARY_ARGS[family].get(name, ())
    bound = dict(declared)
    bound.update(zip((k for k, _ in declared), args[1:], strict=False))
    bound.update((k, v) for k, v in kwargs.items() if k in bound)
    params = tuple(("negative_slope" if k == "alpha" and name in ("relu", "leaky_relu")
                    else k, static_value(v, f"argument {k} of {name}"))
                   for k, v in bound.items())
    return ElementwiseOp(op=name, params=params,
                         keras_class="ReLU" if (family, name) == ("activations", "relu") else "")


def static_value(v: Any, what: str) -> Any:
    """A static argument in hashable form (a list of ints as a tuple); an opaque
    constant for anything else (a tensor, an unknown), which a forward refuses."""
    if v is None or type(v) in (bool, int, float, str):
        return v
    if isinstance(v, (list, tuple)) and all(type(x) is int for x in v):
        return tuple(v)
    return opaque((), "float32", what)


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
    """An operator (``+``), or a function's name (``maximum``, ``gelu``)."""
    constants: Constants = ()
    """Operands that are not graph tensors (the ``2`` of ``2 * x``), by position."""
    params: tuple[tuple[str, Any], ...] = ()
    """A function's static arguments (``axis`` of ``softmax``), by their canonical name."""
    keras_class: str = ""
    """The Keras operation class when the spelling has its own (``keras.activations.relu``
    is a ``ReLU``, ``keras.ops.relu`` a ``Relu``); it names the graph node."""

    @property
    def op_class(self) -> str:
        return self.keras_class or OP_CLASSES.get(self.op) or "".join(
            p.capitalize() for p in self.op.split("_"))

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """The broadcast of the operands' shapes; the dtype promoted as Keras does."""
        operands = merge_operands(inputs, self.constants)
        if not operands:
            raise ShapeError(INCOMPATIBLE_INPUT, "an operation without operands")
        shape = broadcast([t.shape for t in operands], ctx)
        dtype = elementwise_dtype(self.op, [
            (t.dtype, t.weak if isinstance(t, Constant) else False) for t in operands])
        return (TensorType(shape, dtype),)

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array],
                call_kwargs: Mapping[str, Any]) -> tuple[Array, ...]:
        """The NumPy function of ``op`` on the operands (see :mod:`.op_forwards`)."""
        from convcalc.frontend.op_forwards import elementwise

        return (elementwise(self.op, merge_operands(inputs, self.constants),
                            dict(self.params)),)

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

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array],
                call_kwargs: Mapping[str, Any]) -> tuple[Array, ...]:
        """NumPy indexing with the same key."""
        return (inputs[0][python_index(self.key)],)


def python_index(key: tuple[IndexPart, ...]) -> tuple[Any, ...]:
    """The subscript a key stands for (ints, slices, ``...``, None)."""
    out: list[Any] = []
    for p in key:
        if p[0] == "...":
            out.append(Ellipsis)
        elif p[0] == "new":
            out.append(None)
        elif p[0] == "int":
            out.append(p[1])
        else:
            out.append(slice(p[1], p[2], p[3]))
    return tuple(out)
