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
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc import ops as rules_
from convcalc.dims import Dim
from convcalc.frontend.building import tensor_op_outputs
from convcalc.frontend.op_spellings import Signature
from convcalc.frontend.tensor_ops import ElementwiseOp, OpSpec
from convcalc.frontend.values import (
    Args,
    Builtin,
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
    if rule == "cumulative":
        return (rules_.cumulative(x, p.get("axis")),)
    if rule == "broadcast_to":
        return (rules_.broadcast_to(x, p["shape"]),)
    if rule == "same":
        return (x,)
    if rule == "constant":
        return (tuple(p["shape"]),)
    raise ShapeError(INCOMPATIBLE_INPUT, f"no shape rule for {rule}")


_INT_RESULTS = frozenset({"argmax", "argmin", "arange", "shape"})


class TensorFunction(OpSpec):
    """One call of a tensor function; its shape rule is in :mod:`convcalc.ops`."""

    class_name = "TensorFunction"

    rule: str
    function: str
    """The Keras operation's name (``mean``), which names its graph node."""
    params: Params = ()
    dtype: str | None = None

    @property
    def op_class(self) -> str:
        return "".join(p.capitalize() for p in self.function.split("_"))

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
        shapes = [t.shape for t in inputs]
        outs = _shape_of(self.rule, shapes, dict(self.params))
        base = inputs[0].dtype if inputs else "float32"
        dtype = self.dtype or ("int32" if self.function in _INT_RESULTS else base)
        types = [TensorType(s, dtype) for s in outs]
        if self.rule == "top_k":
            types[1] = TensorType(outs[1], "int32")
        return tuple(types)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """matmul: prod(out) * k; einsum: prod(every index size); else 0"""
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
    numbers (a constant); None for a Python scalar."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, Variable):
        return Tensor(TensorType(v.shape), None)
    if isinstance(v, (list, tuple)) and v:
        shape: list[Dim] = []
        x: Any = v
        while isinstance(x, (list, tuple)):
            shape.append(len(x))
            x = x[0] if x else 0
        if isinstance(x, (int, float, bool)):
            return Tensor(TensorType(tuple(shape), "int32" if type(x) is int else "float32"),
                          None)
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
        bound: dict[str, Any] = dict(sig.defaults)
        bound.update(zip(sig.params, args, strict=False))
        if sig.op == "einsum":
            bound["operands"] = list(args[1:])
        for k, v in kwargs.items():
            bound[sig.renamed.get(k, k)] = v
        name = sig.name or spelling
        try:
            return _HANDLERS[sig.op](it, bound, name, node)
        except _NoValue:
            return Unknown(f"{spelling}(...)")

    return Builtin(f"ops.{spelling}", impl)


# ----------------------------------------------------------------- handlers
Handler = Callable[["Interpreter", dict[str, Any], str, SyntaxNode], Any]


def _emit(it: Interpreter, rule: str, name: str, tensors: Sequence[Tensor | None],
          node: SyntaxNode, dtype: str | None = None, **params: Any) -> Any:
    ts = [t for t in tensors if t is not None]
    spec = TensorFunction(rule=rule, function=name, params=tuple(params.items()), dtype=dtype)
    outs = tensor_op_outputs(it.session, spec, ts, it.span(node), tuple(it.scope))
    if rule in ("split", "top_k"):
        return list(outs) if rule == "split" else tuple(outs)
    return outs[0]


def _need(v: Any) -> Tensor:
    t = as_tensor(v)
    if t is None:
        raise _NoValue
    return t


def _h_reshape(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    x = _need(b.get("x"))
    target = _dims(b.get("newshape"))
    return _emit(it, "reshape", name, [x], node, shape=target)


def _h_transpose(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    axes = b.get("axes")
    return _emit(it, "transpose", name, [_need(b.get("x"))], node,
                 axes=None if axes is None else _ints(axes))


def _h_axis(rule: str) -> Handler:
    def impl(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
        axis = b.get("axis")
        return _emit(it, rule, name, [_need(b.get("x"))], node, axis=_axis(axis))
    return impl


def _h_concatenate(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    xs = b.get("xs")
    if not isinstance(xs, (list, tuple)) or not xs:
        raise _NoValue
    return _emit(it, "concatenate", name, [_need(x) for x in xs], node, axis=_int(b["axis"]))


def _h_stack(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    xs = b.get("x")
    if not isinstance(xs, (list, tuple)) or not xs:
        raise _NoValue
    return _emit(it, "stack", name, [_need(x) for x in xs], node, axis=_int(b["axis"]))


def _h_split(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    s = b.get("indices_or_sections")
    sections: int | tuple[int, ...] = s if type(s) is int else _ints(s)
    if b.get("sizes") and not isinstance(sections, int):
        sections = _cut_indices(sections)
    return _emit(it, "split", name, [_need(b.get("x"))], node, sections=sections,
                 axis=_int(b["axis"]))


def _cut_indices(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Piece sizes (``tf.split``) as the cut indices ``keras.ops.split`` takes."""
    out, at = [], 0
    for n in sizes[:-1]:
        at += n
        out.append(at)
    return tuple(out)


def _h_matmul(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    return _emit(it, "matmul", "matmul", [_need(b.get("x1")), _need(b.get("x2"))], node)


def _h_einsum(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    eq = b.get("subscripts")
    operands = b.get("operands") or []
    if not isinstance(eq, str) or not operands:
        raise _NoValue
    return _emit(it, "einsum", "einsum", [_need(x) for x in operands], node, subscripts=eq)


def _h_reduce(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    keepdims = b.get("keepdims", False)
    if not isinstance(keepdims, bool):
        raise _NoValue
    return _emit(it, "reduce", name, [_need(b.get("x"))], node, axis=_axis(b.get("axis")),
                 keepdims=keepdims)


def _h_same(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    x = b.get("x", b.get("variable", b.get("variables")))
    t = _need(x)
    return _emit(it, "same", name, [t], node)


def _h_cast(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    dtype = b.get("dtype")
    dt = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    return _emit(it, "same", "cast", [_need(b.get("x"))], node,
                 dtype=dt if isinstance(dt, str) else None)


def _h_convert(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    return _need(b.get("x"))


def _h_arange(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    start, stop, step = b.get("start"), b.get("stop"), b.get("step")
    if stop is None:
        start, stop = 0, start
    length = rules_.arange_length(_dim(start if start is not None else 0), _dim(stop),
                                  _int(step if step is not None else 1))
    return Tensor(TensorType((length,), "int32"), None)


def _h_constant(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    shape = _dims(b.get("shape"))
    return Tensor(TensorType(shape, "float32"), None)


def _channels_last(it: Interpreter, data_format: Any) -> bool:
    fmt = data_format if isinstance(data_format, str) else it.session.data_format
    return fmt != "channels_first"


def _h_extract_patches(it: Interpreter, b: dict[str, Any], name: str,
                       node: SyntaxNode) -> Any:
    size = _ints(b.get("size"))
    strides = b.get("strides")
    padding = b.get("padding") or "valid"
    if not isinstance(padding, str):
        raise _NoValue
    return _emit(it, "extract_patches", "extract_patches", [_need(b.get("images"))], node,
                 size=size[0] if len(size) == 1 else size,
                 strides=None if strides is None else (_ints(strides) * 2)[:2],
                 padding=padding.lower(), channels_last=_channels_last(it, b.get("data_format")))


def _h_tf_patches(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    sizes, strides = _ints(b.get("sizes")), _ints(b.get("strides"))
    padding = b.get("padding") or "VALID"
    if len(sizes) != 4 or len(strides) != 4 or not isinstance(padding, str):
        raise _NoValue
    return _emit(it, "extract_patches", "extract_patches", [_need(b.get("images"))], node,
                 size=sizes[1:3], strides=strides[1:3], padding=padding.lower(),
                 channels_last=True)


def _h_resize(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    size = _dims(b.get("size"))
    return _emit(it, "resize", "resize", [_need(b.get("images"))], node, size=size,
                 channels_last=_channels_last(it, b.get("data_format")))


def _h_pad(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    w = b.get("pad_width")
    widths: int | tuple[tuple[int, ...], ...] = (
        w if type(w) is int else tuple(_ints(p) for p in w) if isinstance(w, (list, tuple))
        else _int(w))
    return _emit(it, "pad", "pad", [_need(b.get("x"))], node, pad_width=widths)


def _h_tile(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    return _emit(it, "tile", "tile", [_need(b.get("x"))], node,
                 repeats=_dims(b.get("repeats")))


def _h_repeat(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    axis = b.get("axis")
    return _emit(it, "repeat", "repeat", [_need(b.get("x"))], node,
                 repeats=_int(b.get("repeats")), axis=None if axis is None else _int(axis))


def _h_where(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    ts = [as_tensor(b.get(k)) for k in ("condition", "x1", "x2")]
    if ts[0] is None:
        raise _NoValue
    return _emit(it, "where", "where", ts, node)


def _h_one_hot(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    return _emit(it, "one_hot", "one_hot", [_need(b.get("x"))], node, dtype="float32",
                 num_classes=_dim(b.get("num_classes")), axis=_int(b.get("axis", -1)))


def _h_top_k(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    return _emit(it, "top_k", "top_k", [_need(b.get("x"))], node, k=_int(b.get("k")))


def _h_take(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    axis = b.get("axis")
    idx = b.get("indices")
    x = _need(b.get("x"))
    indices = as_tensor(idx) if not isinstance(idx, int) else Tensor(TensorType((), "int32"),
                                                                     None)
    if indices is None:
        raise _NoValue
    return _emit(it, "take", name, [x, indices], node,
                 axis=None if axis is None else _int(axis))


def _h_cumulative(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    axis = b.get("axis")
    return _emit(it, "cumulative", name, [_need(b.get("x"))], node,
                 axis=None if axis is None else _int(axis))


def _h_broadcast_to(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    return _emit(it, "broadcast_to", name, [_need(b.get("x"))], node,
                 shape=_dims(b.get("shape")))


def _h_binary(it: Interpreter, b: dict[str, Any], name: str, node: SyntaxNode) -> Any:
    operands = [b.get("x1"), b.get("x2")]
    ts = [as_tensor(v) for v in operands]
    for v, t in zip(operands, ts, strict=True):
        if t is None and not isinstance(v, (int, float, bool, SymInt)):
            raise _NoValue
    from convcalc.frontend.building import tensor_op_node

    real = [t for t in ts if t is not None]
    if not real:
        raise _NoValue
    return tensor_op_node(it.session, ElementwiseOp(op=name), real, it.span(node),
                          tuple(it.scope))


_HANDLERS: dict[str, Handler] = {
    "reshape": _h_reshape, "transpose": _h_transpose, "expand_dims": _h_axis("expand_dims"),
    "squeeze": _h_axis("squeeze"), "concatenate": _h_concatenate, "stack": _h_stack,
    "split": _h_split, "matmul": _h_matmul, "einsum": _h_einsum, "reduce": _h_reduce,
    "same": _h_same, "cast": _h_cast, "convert": _h_convert, "arange": _h_arange,
    "constant": _h_constant, "extract_patches": _h_extract_patches,
    "tf_patches": _h_tf_patches, "resize": _h_resize, "pad": _h_pad, "tile": _h_tile,
    "repeat": _h_repeat, "where": _h_where, "one_hot": _h_one_hot, "top_k": _h_top_k,
    "take": _h_take, "cumulative": _h_cumulative, "broadcast_to": _h_broadcast_to,
    "binary": _h_binary,
}


def matmul_operator(it: Interpreter, a: Any, b: Any, node: SyntaxNode) -> Any:
    """``a @ b`` on tensors."""
    ta, tb = as_tensor(a), as_tensor(b)
    if ta is None or tb is None:
        return Unknown("a @ b")
    return _emit(it, "matmul", "matmul", [ta, tb], node)

