"""Tensor functions called on symbolic tensors: ``keras.ops.*``, ``tf.*`` and
``keras.backend.*`` spellings of one set of operations.

Each spelling binds its arguments by its own parameter names and maps onto one
canonical operation, whose shape rule lives in :mod:`convcalc.ops`. An operation on
tensors of the model graph becomes a hidden node named like the Keras operation class
(``ops.mean`` -> ``mean``; they share name counters with layers, as in Keras); inside a
custom layer's ``call`` only its output type is computed. A value the rule cannot size
(an unknown argument, a tensor of unknown shape) gives an unknown tensor, never an error
of the analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc import ops as rules_
from convcalc.dims import Dim
from convcalc.frontend.building import tensor_op_outputs
from convcalc.frontend.op_spellings import Signature
from convcalc.frontend.tensor_ops import (
    Constant,
    Constants,
    ElementwiseOp,
    OpSpec,
    clip_dtype,
    dtype_kind,
    filled,
    literal,
    merge_operands,
    opaque,
    result_dtype,
    split_operands,
    static_value,
)
from convcalc.frontend.values import (
    Args,
    Builtin,
    KerasRef,
    Kwargs,
    SymInt,
    SyntaxNode,
    Tensor,
    Unknown,
    Variable,
)
from convcalc.layers.base import InferContext, ShapeError
from convcalc.layers.common import elements
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Shape, TensorType

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter
    from convcalc.layers.base import Array

Params = tuple[tuple[str, Any], ...]


# ------------------------------------------------------------------ the graph op
def _shape_of(rule: str, shapes: list[Shape], p: dict[str, Any]) -> tuple[Shape, ...]:
    """The output shapes of canonical operation ``rule``."""
    x = shapes[0] if shapes else ()
    if rule == "reshape":
        return (rules_.reshape(x, p["shape"]),)
    if rule == "transpose":
        return (rules_.transpose(x, p.get("axes")),)
    if rule == "expand_dims":
        return (rules_.expand_dims(x, p["axis"]),)
    if rule == "squeeze":
        return (rules_.squeeze(x, p.get("axis")),)
    if rule == "concatenate":
        return (rules_.concatenate(shapes, p.get("axis", 0)),)
    if rule == "stack":
        return (rules_.stack(shapes, p.get("axis", 0)),)
    if rule == "split":
        return rules_.split(x, p["sections"], p.get("axis", 0))
    if rule == "matmul":
        return (rules_.matmul(shapes[0], shapes[1]),)
    if rule == "einsum":
        return (rules_.einsum(p["subscripts"], shapes),)
    if rule == "reduce":
        return (rules_.reduce(x, p.get("axis"), p.get("keepdims", False)),)
    if rule == "extract_patches":
        return (rules_.extract_patches(x, p["size"], p.get("strides"), p.get("padding", "valid"),
                                       p.get("channels_last", True)),)
    if rule == "resize":
        return (rules_.resize(x, p["size"], p.get("channels_last", True)),)
    if rule == "pad":
        return (rules_.pad(x, p["pad_width"]),)
    if rule == "tile":
        return (rules_.tile(x, p["repeats"]),)
    if rule == "repeat":
        return (rules_.repeat(x, p["repeats"], p.get("axis")),)
    if rule == "where":
        return (rules_.broadcast_shapes(*shapes),)
    if rule == "one_hot":
        return (rules_.one_hot(x, p["num_classes"], p.get("axis", -1)),)
    if rule == "top_k":
        return rules_.top_k(x, p["k"])
    if rule == "take":
        return (rules_.take(x, shapes[1], p.get("axis")),)
    if rule == "take_along_axis":
        return (rules_.take_along_axis(x, shapes[1], p.get("axis")),)
    if rule == "cumulative":
        return (rules_.cumulative(x, p.get("axis")),)
    if rule == "broadcast_to":
        return (rules_.broadcast_to(x, p["shape"]),)
    if rule == "same":
        return (x,)
    if rule == "flattened":
        return ((dims.prod(x),),)
    if rule == "constant":
        return (tuple(p["shape"]),)
    raise ShapeError(INCOMPATIBLE_INPUT, f"no shape rule for {rule}")


_INT_RESULTS = frozenset({"argmax", "argmin", "arange", "shape"})
_FLOAT_REDUCTIONS = frozenset({"mean", "std", "var", "variance", "logsumexp"})
_PROMOTING = frozenset({"concatenate", "stack", "matmul", "einsum"})


class TensorFunction(OpSpec):
    """One call of a tensor function; its shape rule is in :mod:`convcalc.ops`."""

    class_name = "TensorFunction"

    rule: str
    function: str
    """The Keras operation's name (``mean``), which names its graph node."""
    params: Params = ()
    dtype: str | None = None
    """The result dtype the call asks for (``cast``, ``one_hot(dtype=...)``)."""
    constants: Constants = ()
    """Operands that are not graph tensors (``ops.ones(...)``, a Python number), by
    position."""

    @property
    def op_class(self) -> str:
        return "".join(p.capitalize() for p in self.function.split("_"))

    def result_dtypes(self, operands: Sequence[tuple[str, bool]]) -> list[str]:
        """The output dtypes for ``(dtype, weak)`` operands, as Keras gives them."""
        n = self.num_outputs()
        base = operands[0][0] if operands else "float32"
        f = self.function
        if self.dtype is not None:
            out = self.dtype
        elif f in _INT_RESULTS:
            out = "int32"
        elif f in ("any", "all"):
            out = "bool"
        elif f in _FLOAT_REDUCTIONS or f in ("softmax", "log_softmax"):
            out = "float32" if dtype_kind(base) < 2 else base
        elif f in ("sum", "prod", "cumsum", "cumprod"):
            out = "int32" if base == "bool" else base
        elif f == "clip":
            p = dict(self.params)
            out = clip_dtype(base, (p.get("x_min"), p.get("x_max")))
        elif self.rule in _PROMOTING:
            out = result_dtype(operands)
        elif self.rule == "where":
            out = result_dtype(operands[1:]) if len(operands) == 3 else base
        else:
            out = base
        return [out, "int32"] if self.rule == "top_k" else [out] * n

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        p = dict(self.params)
        if self.rule == "top_k":
            return 2
        if self.rule == "split":
            s = p.get("sections")
            return s if isinstance(s, int) else len(s or ()) + 1
        return 1

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """The shape rule of the operation (see :mod:`convcalc.ops`)."""
        operands = merge_operands(inputs, self.constants)
        outs = _shape_of(self.rule, [t.shape for t in operands], dict(self.params))
        dtypes = self.result_dtypes([
            (t.dtype, isinstance(t, Constant) and t.weak) for t in operands])
        return tuple(TensorType(s, d) for s, d in zip(outs, dtypes, strict=True))

    def forward(self, inputs: Sequence[Array], weights: Sequence[Array],
                call_kwargs: Mapping[str, Any]) -> tuple[Array, ...]:
        """The NumPy function of the operation (see :mod:`.op_forwards`), its outputs in
        the dtypes :meth:`result_dtypes` gives."""
        from convcalc.frontend.op_forwards import info, tensor_function

        operands = merge_operands(inputs, self.constants)
        outs = tensor_function(self.rule, self.function, dict(self.params), operands)
        dtypes = self.result_dtypes([info(o) for o in operands])
        return tuple(o.astype(d, copy=False) for o, d in zip(outs, dtypes, strict=True))

    def operand_types(self, inputs: Sequence[TensorType]) -> list[TensorType]:
        """The types of all operands: the inputs with the constants in place."""
        return [t.type if isinstance(t, Constant) else t
                for t in merge_operands(inputs, self.constants)]

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """matmul: prod(out) * k; einsum: prod(every index size); else 0"""
        inputs = self.operand_types(inputs)
        if self.rule == "matmul":
            return rules_.matmul_macs(inputs[0].shape, inputs[1].shape)
        if self.rule == "einsum":
            return rules_.einsum_macs(dict(self.params)["subscripts"], [t.shape for t in inputs])
        return 0

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs for matmul/einsum; one per input element for reductions"""
        if self.rule in ("matmul", "einsum"):
            return dims.mul(2, self.macs(inputs, outputs))
        if self.rule == "reduce" and inputs:
            return elements(inputs[0])
        return 0

    def summary(self) -> str:
        return self.function


# ------------------------------------------------------------ argument values
class _NoValue(Exception):
    """An argument convcalc cannot turn into a static value."""


def as_tensor(v: Any) -> Tensor | None:
    """A tensor operand: a Keras tensor, a custom layer's weight, or a nested list of
    numbers (a constant tensor); None for a Python scalar."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, Variable):
        return v.tensor
    if isinstance(v, (list, tuple)) and v:
        c = literal(v)
        if c is not None:
            return Tensor(c.type, None, constant=c)
    return None


def _dim(v: Any, none: Dim = dims.BATCH) -> Dim:
    if type(v) is int:
        return v
    if isinstance(v, SymInt):
        return v.dim
    if v is None:
        return none
    raise _NoValue


def _dims(v: Any, none: Dim = dims.BATCH) -> tuple[Dim, ...]:
    if isinstance(v, (int, SymInt)):
        return (_dim(v, none),)
    if isinstance(v, (list, tuple)):
        return tuple(_dim(x, none) for x in v)
    raise _NoValue


def _int(v: Any) -> int:
    if type(v) is int:
        return v
    raise _NoValue


def _axis(v: Any) -> int | tuple[int, ...] | None:
    if v is None or type(v) is int:
        return v
    if isinstance(v, (list, tuple)) and all(type(a) is int for a in v):
        return tuple(v)
    raise _NoValue


def _ints(v: Any) -> tuple[int, ...]:
    if type(v) is int:
        return (v,)
    if isinstance(v, (list, tuple)) and all(type(a) is int for a in v):
        return tuple(v)
    raise _NoValue


def tensor_function(sig: Signature, spelling: str) -> Builtin:
    """The callable value of one spelling."""
    def impl(it: Interpreter, args: Args, kwargs: Kwargs, node: SyntaxNode) -> Any:
        result = bind_operation(sig, spelling, args, kwargs, it.session.data_format)
        if result is None:
            return Unknown(f"{spelling}(...)")
        return emit(it, result, node) if isinstance(result, OpCall) else result

    return Builtin(f"ops.{spelling}", impl)


def bind_operation(sig: Signature, spelling: str, args: Sequence[Any],
                   kwargs: Mapping[str, Any], data_format: str) -> Any:
    """A call of one spelling as its canonical operation: an :class:`OpCall`, a value
    (a constant tensor), or None when an argument is not a static value."""
    bound: dict[str, Any] = dict(sig.defaults)
    bound.update(zip(sig.params, args, strict=False))
    if sig.op == "einsum":
        bound["operands"] = list(args[1:])
    for k, v in kwargs.items():
        bound[sig.renamed.get(k, k)] = v
    try:
        return _HANDLERS[sig.op](bound, sig.name or spelling, data_format)
    except _NoValue:
        return None


# ----------------------------------------------------------------- handlers
@dataclass(frozen=True, slots=True)
class OpCall:
    """A call bound to its canonical operation: the spec, and the tensor operands that
    are its inputs (numbers and constant tensors are in the spec)."""

    spec: OpSpec
    tensors: list[Tensor]


Handler = Callable[[dict[str, Any], str, str], Any]
"""Bound arguments, the operation's name and the default data format -> an
:class:`OpCall`, or a value (a constant tensor); _NoValue if an argument is not static."""


def _call(rule: str, name: str, operands: Sequence[Any], dtype: str | None = None,
          **params: Any) -> OpCall:
    """The operation ``name`` with shape rule ``rule`` on its operands."""
    ts, constants = split_operands(operands)
    return OpCall(TensorFunction(rule=rule, function=name, params=tuple(params.items()),
                                 dtype=dtype, constants=constants), ts)


def emit(it: Interpreter, call: OpCall, node: SyntaxNode) -> Any:
    """The operation's node in the model graph, and its outputs (a list for ``split``,
    a tuple for ``top_k``)."""
    outs = tensor_op_outputs(it.session, call.spec, call.tensors, it.span(node),
                             tuple(it.scope))
    if isinstance(call.spec, TensorFunction) and call.spec.rule == "split":
        return list(outs)
    return outs[0] if len(outs) == 1 else tuple(outs)


def _need(v: Any) -> Tensor:
    t = as_tensor(v)
    if t is None:
        raise _NoValue
    return t


def _h_reshape(b: dict[str, Any], name: str, data_format: str) -> Any:
    x = _need(b.get("x"))
    target = _dims(b.get("newshape"))
    return _call("reshape", name, [x], shape=target)


def _h_transpose(b: dict[str, Any], name: str, data_format: str) -> Any:
    axes = b.get("axes")
    return _call("transpose", name, [_need(b.get("x"))],
                 axes=None if axes is None else _ints(axes))


def _h_axis(rule: str) -> Handler:
    def impl(b: dict[str, Any], name: str, data_format: str) -> Any:
        axis = b.get("axis")
        return _call(rule, name, [_need(b.get("x"))], axis=_axis(axis))
    return impl


def _h_concatenate(b: dict[str, Any], name: str, data_format: str) -> Any:
    xs = b.get("xs")
    if not isinstance(xs, (list, tuple)) or not xs:
        raise _NoValue
    return _call("concatenate", name, [_need(x) for x in xs], axis=_int(b["axis"]))


def _h_stack(b: dict[str, Any], name: str, data_format: str) -> Any:
    xs = b.get("x")
    if not isinstance(xs, (list, tuple)) or not xs:
        raise _NoValue
    return _call("stack", name, [_need(x) for x in xs], axis=_int(b["axis"]))


def _h_split(b: dict[str, Any], name: str, data_format: str) -> Any:
    s = b.get("indices_or_sections")
    sections: int | tuple[int, ...] = s if type(s) is int else _ints(s)
    if b.get("sizes") and not isinstance(sections, int):
        sections = _cut_indices(sections)
    return _call("split", name, [_need(b.get("x"))], sections=sections,
                 axis=_int(b["axis"]))


def _cut_indices(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Piece sizes (``tf.split``) as the cut indices ``keras.ops.split`` takes."""
    out, at = [], 0
    for n in sizes[:-1]:
        at += n
        out.append(at)
    return tuple(out)


def _h_matmul(b: dict[str, Any], name: str, data_format: str) -> Any:
    x1, x2 = _need(b.get("x1")), _need(b.get("x2"))
    ta = b.get("transpose_a") is True or b.get("adjoint_a") is True
    tb = b.get("transpose_b") is True or b.get("adjoint_b") is True
    if ta or tb:  # tf.matmul transposing the last two axes of an operand
        eq = f"...{'ji' if ta else 'ij'},...{'kj' if tb else 'jk'}->...ik"
        return _call("einsum", "matmul", [x1, x2], subscripts=eq)
    return _call("matmul", "matmul", [x1, x2])


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _ranks(*ts: Tensor) -> list[int]:
    return [len(t.type.shape) if t.type is not None else _no_value() for t in ts]


def _no_value() -> int:
    raise _NoValue


def _h_dot(b: dict[str, Any], name: str, data_format: str) -> Any:
    """``dot(x, y)`` (``ops.dot``, ``K.dot``) as ``np.dot``: the last axis of ``x`` with
    the second-to-last of ``y`` (its only one for a vector)."""
    x, y = _need(b.get("x1")), _need(b.get("x2"))
    rx, ry = _ranks(x, y)
    if rx == 0 or ry == 0 or rx + ry > len(_LETTERS):
        raise _NoValue
    xs, other = _LETTERS[:rx], _LETTERS[rx:rx + ry - 1]
    ys = other[:-1] + xs[-1] + other[-1:] if ry > 1 else xs[-1]
    return _call("einsum", name, [x, y], subscripts=f"{xs},{ys}->{xs[:-1]}{other}")


def _h_batch_dot(b: dict[str, Any], name: str, data_format: str) -> Any:
    """``K.batch_dot(x, y, axes=None)``: per sample, axis ``axes[0]`` of ``x`` with
    ``axes[1]`` of ``y`` (default: the last of ``x`` with the second-to-last of ``y``, its
    last when it has rank 2); a result of rank 1 gets a last axis of size 1."""
    x, y = _need(b.get("x1")), _need(b.get("x2"))
    rx, ry = _ranks(x, y)
    axes = b.get("axes")
    pair = (rx - 1, ry - 1 if ry == 2 else ry - 2) if axes is None else (
        _ints(axes) * 2 if type(axes) is int else _ints(axes))
    if rx < 2 or ry < 2 or len(pair) != 2 or rx + ry > len(_LETTERS):
        raise _NoValue
    a0, a1 = pair[0] % rx, pair[1] % ry
    if 0 in (a0, a1):
        raise _NoValue
    xs = _LETTERS[:rx]
    rest = iter(_LETTERS[rx:])
    ys = "".join("a" if i == 0 else xs[a0] if i == a1 else next(rest) for i in range(ry))
    out = "a" + "".join(c for i, c in enumerate(xs) if i not in (0, a0)) + "".join(
        c for i, c in enumerate(ys) if i not in (0, a1))
    if len(out) > 1:
        return _call("einsum", name, [x, y], subscripts=f"{xs},{ys}->{out}")
    c = filled((1,), 1, "float32")  # the axis of size 1, as an operand of ones
    one = Tensor(c.type, None, constant=c)
    return _call("einsum", name, [x, y, one], subscripts=f"{xs},{ys},z->az")


def _h_repeat_vector(b: dict[str, Any], name: str, data_format: str) -> Any:
    """``K.repeat(x, n)``: a ``(batch, dim)`` tensor as ``(batch, n, dim)``, n copies
    stacked on axis 1 (as ``RepeatVector``)."""
    x = _need(b.get("x"))
    n = _int(b.get("n"))
    if _ranks(x) != [2] or n < 1:
        raise _NoValue
    return _call("stack", name, [x] * n, axis=1)


def _h_einsum(b: dict[str, Any], name: str, data_format: str) -> Any:
    eq = b.get("subscripts")
    operands = b.get("operands") or []
    if not isinstance(eq, str) or not operands:
        raise _NoValue
    return _call("einsum", "einsum", [_need(x) for x in operands], subscripts=eq)


def _h_reduce(b: dict[str, Any], name: str, data_format: str) -> Any:
    keepdims = b.get("keepdims", False)
    if not isinstance(keepdims, bool):
        raise _NoValue
    return _call("reduce", name, [_need(b.get("x"))], axis=_axis(b.get("axis")),
                 keepdims=keepdims)


def _dtype_name(v: Any) -> str | None:
    """A dtype given as a string or as ``tf.float32`` / ``np.int32``; None if absent
    or unknown."""
    if isinstance(v, str):
        return v
    if isinstance(v, KerasRef):
        return v.path[-1]
    name = getattr(v, "name", None)
    return name if isinstance(name, str) else None


_SAME_PARAMS = {"softmax": ("axis",), "log_softmax": ("axis",), "clip": ("x_min", "x_max"),
                "full_like": ("fill_value",), "flip": ("axis",), "roll": ("shift", "axis"),
                "sort": ("axis",), "tril": ("k",), "triu": ("k",), "l2_normalize": ("axis",)}
"""The static arguments of the shape-keeping functions (``dtype`` aside)."""


def _h_same(b: dict[str, Any], name: str, data_format: str) -> Any:
    x = b.get("x", b.get("variable", b.get("variables")))
    t = _need(x)
    last_axis = name in ("softmax", "log_softmax")  # their axis defaults to -1
    params = {k: static_value(b.get(k, -1 if k == "axis" and last_axis else None),
                              f"{name}'s {k}")
              for k in _SAME_PARAMS.get(name, ())}
    if any(isinstance(v, Constant) for v in params.values()):
        raise _NoValue
    if name == "sort" and params["axis"] is None:  # sorts the flattened tensor
        return _call("flattened", name, [t])
    return _call("same", name, [t], dtype=_dtype_name(b.get("dtype")), **params)


def _h_cast(b: dict[str, Any], name: str, data_format: str) -> Any:
    return _call("same", "cast", [_need(b.get("x"))],
                 dtype=_dtype_name(b.get("dtype")))


def _h_convert(b: dict[str, Any], name: str, data_format: str) -> Any:
    t = _need(b.get("x"))
    dtype = _dtype_name(b.get("dtype"))
    if t.constant is not None and dtype is not None and t.type is not None:
        c = replace(t.constant, dtype=dtype)
        return Tensor(c.type, None, constant=c)
    return t


def _h_arange(b: dict[str, Any], name: str, data_format: str) -> Any:
    start, stop, step = b.get("start"), b.get("stop"), b.get("step")
    if stop is None:
        start, stop = 0, start
    start = start if start is not None else 0
    step = _int(step if step is not None else 1)
    length = rules_.arange_length(_dim(start), _dim(stop), step)
    dtype = _dtype_name(b.get("dtype")) or "int32"
    c = (Constant("arange", (length,), dtype, (start, step)) if type(start) is int
         and dims.as_int(length) is not None else opaque((length,), dtype, f"{name}(...)"))
    return Tensor(c.type, None, constant=c)


def _h_constant(b: dict[str, Any], name: str, data_format: str) -> Any:
    shape = _dims(b.get("shape"))
    dtype = _dtype_name(b.get("dtype")) or "float32"
    fill = {"zeros": 0, "ones": 1}.get(name, b.get("fill_value"))
    c = (filled(shape, fill, dtype) if isinstance(fill, (bool, int, float))
         else opaque(shape, dtype, f"the values of {name}(...)"))
    return Tensor(c.type, None, constant=c)


def _channels_last(default: str, data_format: Any) -> bool:
    fmt = data_format if isinstance(data_format, str) else default
    return fmt != "channels_first"


def _h_extract_patches(b: dict[str, Any], name: str, data_format: str) -> Any:
    size = _ints(b.get("size"))
    strides = b.get("strides")
    padding = b.get("padding") or "valid"
    if not isinstance(padding, str) or b.get("dilation_rate") not in (None, 1, (1, 1), [1, 1]):
        raise _NoValue  # dilated patches: the shape rule does not model them
    return _call("extract_patches", "extract_patches", [_need(b.get("images"))],
                 size=size[0] if len(size) == 1 else size,
                 strides=None if strides is None else (_ints(strides) * 2)[:2],
                 padding=padding.lower(),
                 channels_last=_channels_last(data_format, b.get("data_format")))


def _h_tf_patches(b: dict[str, Any], name: str, data_format: str) -> Any:
    sizes, strides = _ints(b.get("sizes")), _ints(b.get("strides"))
    padding = b.get("padding") or "VALID"
    if len(sizes) != 4 or len(strides) != 4 or not isinstance(padding, str) or b.get(
            "rates") not in (None, [1, 1, 1, 1], (1, 1, 1, 1)):
        raise _NoValue
    return _call("extract_patches", "extract_patches", [_need(b.get("images"))],
                 size=sizes[1:3], strides=strides[1:3], padding=padding.lower(),
                 channels_last=True)


_RESIZE_OPTIONS = {"interpolation": "bilinear", "antialias": False,
                   "crop_to_aspect_ratio": False, "pad_to_aspect_ratio": False,
                   "fill_value": 0.0}


def _h_resize(b: dict[str, Any], name: str, data_format: str) -> Any:
    size = _dims(b.get("size"))
    method = b.get("method")  # tf.image.resize's name for the interpolation
    if isinstance(method, KerasRef):  # tf.image.ResizeMethod.BILINEAR
        method = method.path[-1]
    options = {k: b.get(k, default) for k, default in _RESIZE_OPTIONS.items()}
    if isinstance(method, str):
        options["interpolation"] = method.lower()
    if not all(type(v) in (str, bool, int, float) for v in options.values()):
        raise _NoValue
    return _call("resize", "resize", [_need(b.get("images"))], size=size,
                 channels_last=_channels_last(data_format, b.get("data_format")), **options)


def _h_pad(b: dict[str, Any], name: str, data_format: str) -> Any:
    w = b.get("pad_width")
    widths: int | tuple[tuple[int, ...], ...] = (
        w if type(w) is int else tuple(_ints(p) for p in w) if isinstance(w, (list, tuple))
        else _int(w))
    mode, value = b.get("mode") or "constant", b.get("constant_values")
    if not isinstance(mode, str) or not (value is None or type(value) in (int, float, bool)):
        raise _NoValue
    return _call("pad", "pad", [_need(b.get("x"))], pad_width=widths,
                 mode=mode.lower(), constant_values=value)


def _h_tile(b: dict[str, Any], name: str, data_format: str) -> Any:
    return _call("tile", "tile", [_need(b.get("x"))],
                 repeats=_dims(b.get("repeats")))


def _h_repeat(b: dict[str, Any], name: str, data_format: str) -> Any:
    axis = b.get("axis")
    return _call("repeat", "repeat", [_need(b.get("x"))],
                 repeats=_int(b.get("repeats")), axis=None if axis is None else _int(axis))


def _operand(v: Any) -> Any:
    """A tensor (graph or constant) or a Python number; _NoValue for anything else."""
    t = as_tensor(v)
    if t is not None:
        return t
    if type(v) in (bool, int, float) or isinstance(v, SymInt):
        return v
    raise _NoValue


def _h_where(b: dict[str, Any], name: str, data_format: str) -> Any:
    if b.get("x1") is None or b.get("x2") is None:
        raise _NoValue  # where(condition): the indices, of data-dependent length
    return _call("where", "where", [_need(b.get("condition")), _operand(b.get("x1")),
                                        _operand(b.get("x2"))])


def _h_one_hot(b: dict[str, Any], name: str, data_format: str) -> Any:
    values = {k: b[k] for k in ("on_value", "off_value") if b.get(k) is not None}
    if not all(type(v) in (bool, int, float) for v in values.values()):
        raise _NoValue
    return _call("one_hot", "one_hot", [_need(b.get("x"))],
                 dtype=_dtype_name(b.get("dtype")) or "float32",
                 num_classes=_dim(b.get("num_classes")), axis=_int(b.get("axis", -1)),
                 **values)


def _h_top_k(b: dict[str, Any], name: str, data_format: str) -> Any:
    return _call("top_k", "top_k", [_need(b.get("x"))], k=_int(b.get("k")))


def _h_take(b: dict[str, Any], name: str, data_format: str) -> Any:
    axis = b.get("axis")
    idx = b.get("indices")
    x = _need(b.get("x"))
    indices = idx if type(idx) is int else _need(idx)
    rule = "take_along_axis" if name == "take_along_axis" else "take"
    return _call(rule, name, [x, indices],
                 axis=None if axis is None else _int(axis))


def _h_cumulative(b: dict[str, Any], name: str, data_format: str) -> Any:
    axis = b.get("axis")
    return _call("cumulative", name, [_need(b.get("x"))],
                 axis=None if axis is None else _int(axis))


def _h_broadcast_to(b: dict[str, Any], name: str, data_format: str) -> Any:
    return _call("broadcast_to", name, [_need(b.get("x"))],
                 shape=_dims(b.get("shape")))


def _h_binary(b: dict[str, Any], name: str, data_format: str) -> Any:
    tensors, constants = split_operands([_operand(b.get("x1")), _operand(b.get("x2"))])
    if not tensors and not any(c.kind != "scalar" for _, c in constants):
        raise _NoValue  # Python numbers only: not a tensor operation
    return OpCall(ElementwiseOp(op=name, constants=constants), tensors)


_HANDLERS: dict[str, Handler] = {
    "reshape": _h_reshape, "transpose": _h_transpose, "expand_dims": _h_axis("expand_dims"),
    "squeeze": _h_axis("squeeze"), "concatenate": _h_concatenate, "stack": _h_stack,
    "split": _h_split, "matmul": _h_matmul, "einsum": _h_einsum, "reduce": _h_reduce,
    "same": _h_same, "cast": _h_cast, "convert": _h_convert, "arange": _h_arange,
    "constant": _h_constant, "extract_patches": _h_extract_patches,
    "tf_patches": _h_tf_patches, "resize": _h_resize, "pad": _h_pad, "tile": _h_tile,
    "repeat": _h_repeat, "where": _h_where, "one_hot": _h_one_hot, "top_k": _h_top_k,
    "take": _h_take, "cumulative": _h_cumulative, "broadcast_to": _h_broadcast_to,
    "binary": _h_binary, "dot": _h_dot, "batch_dot": _h_batch_dot,
    "repeat_vector": _h_repeat_vector,
}


def matmul_operator(it: Interpreter, a: Any, b: Any, node: SyntaxNode) -> Any:
    """``a @ b`` on tensors."""
    ta, tb = as_tensor(a), as_tensor(b)
    if ta is None or tb is None:
        return Unknown("a @ b")
    return emit(it, _call("matmul", "matmul", [ta, tb]), node)

