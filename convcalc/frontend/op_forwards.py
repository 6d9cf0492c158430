"""NumPy forwards of the tensor operations between layers (``2 * x``, ``x[:, 0]``,
``ops.mean(x, axis=1)``), computing what Keras's JAX backend computes: the same
functions on float32 arrays, int32 indices, and dtypes promoted as Keras promotes them
(:func:`convcalc.frontend.tensor_ops.result_dtype`). The callers cast the results to
the dtypes their specs derive, so the static and the executed dtypes are one rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from convcalc import dims
from convcalc.frontend.tensor_ops import (
    FLOAT_RESULTS,
    Constant,
    canonical_op,
    clip_dtype,
    dtype_kind,
    elementwise_dtype,
    result_dtype,
)
from convcalc.layers import numeric

Array = np.ndarray[Any, np.dtype[Any]]
Operand = Array | Constant
"""An array of the graph, or a constant operand recorded in the spec."""


# ------------------------------------------------------------------ operands
def constant_array(c: Constant) -> Array:
    """The values of a constant operand; NotImplementedError if convcalc does not know
    them (a random draw, a symbolic size)."""
    if c.kind == "opaque":
        raise NotImplementedError(f"{c.data}: its value is not known without running "
                                  "the program")
    shape = concrete(c.shape, "a constant's shape")
    if c.kind == "scalar":
        if type(c.data) not in (bool, int, float):
            raise NotImplementedError(f"the size {c.data} is not known statically")
        return np.asarray(c.data, c.dtype)
    if c.kind == "values":
        return np.asarray(c.data, c.dtype).reshape(shape)
    if c.kind == "full":
        return np.full(shape, c.data, c.dtype)
    start, step = c.data
    return np.asarray(start + step * np.arange(shape[0]), c.dtype)


def concrete(shape: Sequence[dims.Dim], what: str) -> tuple[int, ...]:
    """A shape of ints (NotImplementedError if a dim is symbolic)."""
    out = []
    for d in shape:
        n = dims.as_int(d)
        if n is None:
            raise NotImplementedError(f"{what} has the symbolic dim {d}")
        out.append(n)
    return tuple(out)


def info(o: Operand) -> tuple[str, bool]:
    """(dtype, weak) of an operand: Python numbers are weakly typed."""
    if isinstance(o, Constant):
        return o.dtype, o.weak
    return str(o.dtype), False


def as_array(o: Operand, dtype: str | None = None) -> Array:
    """An operand as an array, cast to ``dtype`` if given."""
    a = constant_array(o) if isinstance(o, Constant) else o
    return a if dtype is None or str(a.dtype) == dtype else a.astype(dtype)


def promoted(operands: Sequence[Operand]) -> list[Array]:
    """The operands as arrays of their common dtype."""
    dtype = result_dtype([info(o) for o in operands])
    return [as_array(o, dtype) for o in operands]


def _check_params(params: Mapping[str, Any]) -> None:
    for k, v in params.items():
        if isinstance(v, Constant):
            raise NotImplementedError(f"{v.data if v.kind == 'opaque' else k} is not a "
                                      "static value")


# ------------------------------------------------------------- element-wise
_BINARY: dict[str, Callable[[Array, Array], Any]] = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
    "divide": np.true_divide, "floor_divide": np.floor_divide, "mod": np.mod,
    "power": np.power, "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal,
    "not_equal": np.not_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "less": np.less, "less_equal": np.less_equal, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "logical_xor": np.logical_xor,
}

Unary = Callable[[Array, Mapping[str, Any]], Any]


def _relu(x: Array, p: Mapping[str, Any]) -> Array:
    slope, cap, threshold = (p.get("negative_slope", 0.0), p.get("max_value"),
                             p.get("threshold", 0.0))
    if not slope and cap is None and not threshold:
        return np.maximum(x, np.zeros((), x.dtype))
    return numeric.relu(numeric.as_float(x), slope, cap, threshold)


def _softmax(fn: Callable[..., Array]) -> Unary:
    def impl(x: Array, p: Mapping[str, Any]) -> Array:
        axis = p.get("axis", -1)
        return fn(x, tuple(range(x.ndim)) if axis is None else axis)
    return impl


def _activation(name: str) -> Unary:
    fn = numeric.ACTIVATIONS[name]
    return lambda x, p: fn(x)


def _silu(x: Array, p: Mapping[str, Any]) -> Array:
    beta = p.get("beta", 1.0)
    return np.asarray(x * numeric.sigmoid(x if beta == 1.0 else x * np.asarray(beta, x.dtype)))


_UNARY: dict[str, Unary] = {
    "neg": lambda x, p: np.negative(x), "negative": lambda x, p: np.negative(x),
    "pos": lambda x, p: x, "abs": lambda x, p: np.abs(x), "square": lambda x, p: np.square(x),
    "sign": lambda x, p: np.sign(x), "round": lambda x, p: np.round(x, p.get("decimals", 0)),
    "relu": _relu, "relu6": lambda x, p: np.clip(x, 0, 6),
    "exp": lambda x, p: np.exp(x), "log": lambda x, p: np.log(x),
    "sqrt": lambda x, p: np.sqrt(x), "sin": lambda x, p: np.sin(x),
    "cos": lambda x, p: np.cos(x), "log1p": lambda x, p: np.log1p(x),
    "expm1": lambda x, p: np.expm1(x), "tanh": lambda x, p: np.tanh(x),
    "floor": lambda x, p: np.floor(x), "ceil": lambda x, p: np.ceil(x),
    "rsqrt": lambda x, p: 1 / np.sqrt(x), "reciprocal": lambda x, p: 1 / x,
    "erf": lambda x, p: numeric.erf(x), "sigmoid": lambda x, p: numeric.sigmoid(x),
    "softmax": _softmax(numeric.softmax), "log_softmax": _softmax(numeric.log_softmax),
    "gelu": lambda x, p: numeric.gelu(x, bool(p.get("approximate", True))),
    "elu": lambda x, p: numeric.elu(x, p.get("alpha", 1.0)),
    "leaky_relu": lambda x, p: numeric.leaky_relu(x, p.get("negative_slope", 0.2)),
    "silu": _silu, "swish": _silu,
    **{n: _activation(n) for n in ("selu", "softplus", "softsign", "mish", "hard_sigmoid",
                                   "hard_silu", "hard_swish")},
}
"""Element-wise functions of one tensor with their static parameters."""


def elementwise(op: str, operands: Sequence[Operand], params: Mapping[str, Any]) -> Array:
    """``op`` (an operator or a function name) on its operands, as Keras computes it:
    operands promoted to one dtype (true division and float functions lift ints to
    float32), the result in the dtype Keras gives (bool for comparisons)."""
    _check_params(params)
    name = canonical_op(op)
    infos = [info(o) for o in operands]
    common = result_dtype(infos)
    if name in FLOAT_RESULTS and dtype_kind(common) < 2:
        common = "float32"
    with np.errstate(all="ignore"):  # inf and nan as Keras gives them, not warnings
        if len(operands) == 2 and name in _BINARY:
            a, b = (as_array(o, common) for o in operands)
            out = _BINARY[name](a, b)
        elif len(operands) == 1 and name in _UNARY:
            out = _UNARY[name](as_array(operands[0], common), params)
        else:
            raise NotImplementedError(f"{op} of {len(operands)} operands has no NumPy "
                                      "forward")
    return np.asarray(out).astype(elementwise_dtype(op, infos), copy=False)


# --------------------------------------------------------------- functions
Forward = Callable[[str, Mapping[str, Any], Sequence[Operand]], tuple[Array, ...]]


def tensor_function(rule: str, function: str, params: Mapping[str, Any],
                    operands: Sequence[Operand]) -> tuple[Array, ...]:
    """The outputs of ``function`` (a ``keras.ops`` name) whose shape rule is ``rule``;
    ``params`` are the canonical static arguments."""
    _check_params(params)
    impl = _FUNCTIONS.get(rule)
    if impl is None:
        raise NotImplementedError(f"{function} has no NumPy forward")
    with np.errstate(all="ignore"):
        return impl(function, params, operands)


def _one(fn: Callable[[Array, Mapping[str, Any]], Any]) -> Forward:
    """A function of its first operand only."""
    return lambda f, p, ops: (np.asarray(fn(as_array(ops[0]), p)),)


def _target_shape(x: Array, target: Sequence[dims.Dim]) -> list[int]:
    """A reshape target with the batch filled in from ``x``; a single other symbolic
    dim becomes the -1 NumPy infers (so ``(-1, H * W, C)`` needs H and W bound)."""
    out: list[Any] = [x.shape[0] if d == dims.BATCH else d for d in target]
    free = [i for i, d in enumerate(out) if dims.as_int(d) is None]
    if len(free) == 1 and -1 not in out:
        out[free[0]] = -1
    elif free:
        raise NotImplementedError(f"reshape to {tuple(target)}: symbolic sizes")
    return [int(d) for d in out]


def _reshape(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    x = as_array(ops[0])
    return (np.reshape(x, _target_shape(x, p["shape"])),)


def _split(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    sections = p["sections"]
    return tuple(np.split(as_array(ops[0]), sections if isinstance(sections, int)
                          else list(sections), axis=p.get("axis", 0)))


def _reduce(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    x = as_array(ops[0])
    axis, keepdims = p.get("axis"), bool(p.get("keepdims", False))
    if f in ("mean", "std", "var", "variance", "logsumexp") and dtype_kind(str(x.dtype)) < 2:
        x = x.astype(np.float32)
    if f in ("argmax", "argmin"):
        if x.dtype.kind == "f":  # Keras ranks -0.0 below 0.0 (it flushes to -tiny)
            x = np.where((x == 0) & np.signbit(x), -np.finfo(x.dtype).tiny, x)
        arg = np.argmax if f == "argmax" else np.argmin
        return (np.asarray(arg(x, axis=axis, keepdims=keepdims)),)
    if f == "logsumexp":
        top = np.max(x, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
        return (out if keepdims else np.squeeze(out, axis=axis),)
    fn = _REDUCTIONS.get(f)
    if fn is None:
        raise NotImplementedError(f"the reduction {f} has no NumPy forward")
    return (np.asarray(fn(x, axis=axis, keepdims=keepdims)),)


_REDUCTIONS: dict[str, Callable[..., Any]] = {
    "mean": np.mean, "sum": np.sum, "prod": np.prod, "max": np.max, "amax": np.max,
    "min": np.min, "amin": np.min, "std": np.std, "var": np.var, "variance": np.var,
    "any": np.any, "all": np.all,
}


def _patches(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    """Each (ph, pw) window flattened in (row, column, channel) order, as the identity
    convolution Keras uses lays it out; 'same' pads as TensorFlow does (the extra
    row or column after)."""
    x = as_array(ops[0])
    size = p["size"]
    ph, pw = (size, size) if isinstance(size, int) else size
    sh, sw = p.get("strides") or (ph, pw)
    channels_last = p.get("channels_last", True)
    if not channels_last:
        x = np.moveaxis(x, -3, -1)
    h, w, c = x.shape[1:]
    if p.get("padding", "valid") == "same":
        extra_h = max((math.ceil(h / sh) - 1) * sh + ph - h, 0)
        extra_w = max((math.ceil(w / sw) - 1) * sw + pw - w, 0)
        x = np.pad(x, ((0, 0), (extra_h // 2, extra_h - extra_h // 2),
                       (extra_w // 2, extra_w - extra_w // 2), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(1, 2))[
        :, ::sh, ::sw]  # (n, out_h, out_w, c, ph, pw)
    out = windows.transpose(0, 1, 2, 4, 5, 3).reshape(*windows.shape[:3], ph * pw * c)
    return (np.moveaxis(out, -1, -3) if not channels_last else out,)


def _resize(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    x = numeric.as_float(as_array(ops[0]))
    height, width = concrete(p["size"], "the resize size")
    channels_last = p.get("channels_last", True)
    if not channels_last:
        x = np.moveaxis(x, -3, -1)
    single = x.ndim == 3
    if single:
        x = x[None]
    if p.get("crop_to_aspect_ratio"):
        x = numeric.crop_to_aspect(x, height, width)
    elif p.get("pad_to_aspect_ratio"):
        x = numeric.pad_to_aspect(x, height, width, p.get("fill_value", 0.0))
    y = numeric.resize(x, height, width, p.get("interpolation", "bilinear"),
                       bool(p.get("antialias", False)))
    if single:
        y = y[0]
    return (np.moveaxis(y, -1, -3) if not channels_last else y,)


def _pad(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    mode = p.get("mode", "constant")
    value = p.get("constant_values")
    extra = {"constant_values": value} if mode == "constant" and value is not None else {}
    return (np.pad(as_array(ops[0]), p["pad_width"], mode=mode, **extra),)


def _fill_value(dtype: np.dtype[Any]) -> Any:
    """What JAX gathers for an index out of range: NaN, the lowest signed or highest
    unsigned int, or True."""
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "i":
        return np.iinfo(dtype).min
    if dtype.kind == "u":
        return np.iinfo(dtype).max
    return True


def _gather_checked(x: Array, indices: Array, axis: int, along: bool) -> Array:
    """``take`` (``along``: ``take_along_axis``) with negative indices counted from the
    end and indices out of range filled as JAX fills them."""
    n = x.shape[axis]
    idx = indices.astype(np.int64)
    inside = (idx >= -n) & (idx < n)
    safe = np.where(inside, idx % max(n, 1), 0)
    if along:
        out, mask = np.take_along_axis(x, safe, axis=axis), inside
    else:
        out = np.take(x, safe, axis=axis)
        mask = inside.reshape((1,) * axis + idx.shape + (1,) * (x.ndim - axis - 1))
    if inside.all():
        return np.asarray(out)
    return np.where(mask, out, _fill_value(x.dtype)).astype(x.dtype)


def _take(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    x, indices = as_array(ops[0]), as_array(ops[1])
    axis = p.get("axis")
    if f == "take_along_axis":
        return (_take_along_axis(x, indices, axis),)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.ndim
    return (_gather_checked(x, indices, axis, along=False),)


def _take_along_axis(x: Array, indices: Array, axis: int | None) -> Array:
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.ndim
    rest = np.broadcast_shapes(
        tuple(1 if i == axis else d for i, d in enumerate(x.shape)),
        tuple(1 if i == axis else d for i, d in enumerate(indices.shape)))
    x = np.broadcast_to(x, (*rest[:axis], x.shape[axis], *rest[axis + 1:]))
    indices = np.broadcast_to(indices, (*rest[:axis], indices.shape[axis], *rest[axis + 1:]))
    return _gather_checked(x, indices, axis, along=True)


def _where(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    if len(ops) != 3:
        raise NotImplementedError("where without both x1 and x2 has no NumPy forward")
    a, b = promoted(ops[1:])
    return (np.where(as_array(ops[0]).astype(bool), a, b),)


def _one_hot(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    """1 where the index is the class, 0 elsewhere (negative or too large indices give
    a row of zeros), the class axis at ``axis``."""
    x = as_array(ops[0])
    n = concrete((p["num_classes"],), "num_classes")[0]
    hot = x[..., None] == np.arange(n)
    out = np.where(hot, p.get("on_value", 1), p.get("off_value", 0)).astype(np.float32)
    axis = p.get("axis", -1)
    return (out if axis == -1 else np.moveaxis(out, -1, axis),)


def _top_k(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    """The k largest along the last axis, largest first, ties by lower index."""
    x = as_array(ops[0])
    order = np.argsort(np.negative(x) if x.dtype.kind != "b" else ~x, axis=-1,
                       kind="stable")[..., :p["k"]]
    return np.take_along_axis(x, order, axis=-1), order.astype(np.int32)


def _broadcast_to(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    x = as_array(ops[0])
    target = list(p["shape"])
    lead = len(target) - x.ndim
    for i, d in enumerate(target):
        if d == dims.BATCH and i >= lead:
            target[i] = x.shape[i - lead]
    return (np.broadcast_to(x, concrete(target, "the broadcast shape")),)


def _cumulative(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    fn = np.cumprod if f == "cumprod" else np.cumsum
    return (np.asarray(fn(as_array(ops[0]), axis=p.get("axis"))),)


def _same(f: str, p: Mapping[str, Any], ops: Sequence[Operand]) -> tuple[Array, ...]:
    """Functions keeping the shape: softmax, clip, casts, the ``*_like`` fills,
    flip, roll, sort and the triangles."""
    if f in ("softmax", "log_softmax"):
        dtype = result_dtype([info(ops[0])])
        x = as_array(ops[0], "float32" if dtype_kind(dtype) < 2 else dtype)
        return (np.asarray(_UNARY[f](x, p)),)
    x = as_array(ops[0])
    if f == "clip":
        lo, hi = p.get("x_min"), p.get("x_max")
        return (np.clip(x.astype(clip_dtype(str(x.dtype), (lo, hi))), lo, hi),)
    if f in ("zeros_like", "ones_like", "full_like"):
        fill = {"zeros_like": 0, "ones_like": 1}.get(f, p.get("fill_value"))
        return (np.full(x.shape, fill, p.get("dtype") or x.dtype),)
    if f == "cast":
        return (x,)  # the caller casts to the spec's dtype
    if f in ("stop_gradient", "identity"):
        return (x,)
    axis = p.get("axis")
    if isinstance(axis, list):
        axis = tuple(axis)
    if f == "flip":
        return (np.flip(x, axis),)
    if f == "roll":
        shift = p.get("shift", 0)
        return (np.roll(x, tuple(shift) if isinstance(shift, tuple) else int(shift), axis),)
    if f == "sort":
        return (np.sort(x, axis=int(p.get("axis", -1))),)
    if f in ("tril", "triu"):
        return ((np.tril if f == "tril" else np.triu)(x, p.get("k") or 0),)
    raise NotImplementedError(f"{f} has no NumPy forward")


_FUNCTIONS: dict[str, Forward] = {
    "reshape": _reshape,
    "transpose": _one(lambda x, p: np.transpose(x, p.get("axes"))),
    "expand_dims": _one(lambda x, p: np.expand_dims(x, p["axis"])),
    "squeeze": _one(lambda x, p: np.squeeze(x, p.get("axis"))),
    "concatenate": lambda f, p, ops: (np.concatenate(promoted(ops), axis=p.get("axis", 0)),),
    "stack": lambda f, p, ops: (np.stack(promoted(ops), axis=p.get("axis", 0)),),
    "split": _split,
    "matmul": lambda f, p, ops: (np.asarray(np.matmul(*promoted(ops))),),
    "einsum": lambda f, p, ops: (np.asarray(np.einsum(p["subscripts"], *promoted(ops),
                                                      optimize=True)),),
    "reduce": _reduce,
    "extract_patches": _patches,
    "resize": _resize,
    "pad": _pad,
    "tile": _one(lambda x, p: np.tile(x, concrete(p["repeats"], "tile repeats"))),
    "repeat": _one(lambda x, p: np.repeat(x, p["repeats"], axis=p.get("axis"))),
    "where": _where,
    "one_hot": _one_hot,
    "top_k": _top_k,
    "take": _take,
    "take_along_axis": _take,
    "cumulative": _cumulative,
    "broadcast_to": _broadcast_to,
    "same": _same,
    "flattened": lambda f, p, ops: (np.sort(as_array(ops[0]), axis=None),),
}
"""Forward of each shape rule of :mod:`convcalc.frontend.tensor_functions`."""
