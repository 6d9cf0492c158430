"""How ``keras.ops``, ``tf.*`` and ``keras.backend`` spell one set of tensor functions:
per spelling, the canonical operation, its parameter names in order, renamed keywords
and the defaults that differ (``tf.reduce_mean(input_tensor, axis, keepdims)`` is
``keras.ops.mean(x, axis, keepdims)``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Signature:
    """A spelling of an operation: its parameter names in order, renamed keywords and
    defaults that differ between spellings."""

    op: str
    params: tuple[str, ...]
    renamed: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    """The Keras operation class name when it differs from the spelling."""


def _sig(op: str, *params: str, renamed: Mapping[str, str] | None = None,
         name: str | None = None, **defaults: Any) -> Signature:
    return Signature(op, params, renamed or {}, defaults, name)


_REDUCTIONS = ("mean", "sum", "max", "min", "prod", "std", "var", "logsumexp", "any", "all",
               "amax", "amin", "argmax", "argmin")

KERAS_OPS: dict[str, Signature] = {
    "reshape": _sig("reshape", "x", "newshape", renamed={"shape": "newshape"}),
    "transpose": _sig("transpose", "x", "axes"),
    "expand_dims": _sig("expand_dims", "x", "axis"),
    "squeeze": _sig("squeeze", "x", "axis"),
    "concatenate": _sig("concatenate", "xs", "axis", axis=0),
    "stack": _sig("stack", "x", "axis", axis=0),
    "split": _sig("split", "x", "indices_or_sections", "axis", axis=0),
    "matmul": _sig("matmul", "x1", "x2"),
    "dot": _sig("dot", "x1", "x2"),
    "einsum": _sig("einsum", "subscripts"),
    "softmax": _sig("same", "x", "axis"),
    "log_softmax": _sig("same", "x", "axis"),
    "flip": _sig("same", "x", "axis"),
    "roll": _sig("same", "x", "shift", "axis"),
    "sort": _sig("same", "x", "axis", axis=-1),
    "tril": _sig("same", "x", "k", k=0),
    "triu": _sig("same", "x", "k", k=0),
    "cast": _sig("cast", "x", "dtype"),
    "convert_to_tensor": _sig("convert", "x", "dtype"),
    "arange": _sig("arange", "start", "stop", "step", "dtype"),
    "extract_patches": _sig("extract_patches", "images", "size", "strides", "dilation_rate",
                            "padding", "data_format", padding="valid"),
    "resize": _sig("resize", "images", "size", "interpolation", "antialias",
                   "crop_to_aspect_ratio", "pad_to_aspect_ratio", "fill_mode", "fill_value",
                   "data_format"),
    "pad": _sig("pad", "x", "pad_width", "mode", "constant_values"),
    "tile": _sig("tile", "x", "repeats"),
    "repeat": _sig("repeat", "x", "repeats", "axis"),
    "where": _sig("where", "condition", "x1", "x2"),
    "one_hot": _sig("one_hot", "x", "num_classes", "axis", "dtype", axis=-1),
    "top_k": _sig("top_k", "x", "k", "sorted", k=5),
    "take": _sig("take", "x", "indices", "axis"),
    "take_along_axis": _sig("take", "x", "indices", "axis"),
    "cumsum": _sig("cumulative", "x", "axis"),
    "cumprod": _sig("cumulative", "x", "axis"),
    "clip": _sig("same", "x", "x_min", "x_max"),
    "broadcast_to": _sig("broadcast_to", "x", "shape"),
    "zeros": _sig("constant", "shape", "dtype"),
    "ones": _sig("constant", "shape", "dtype"),
    "full": _sig("constant", "shape", "fill_value", "dtype"),
    "zeros_like": _sig("same", "x", "dtype"),
    "ones_like": _sig("same", "x", "dtype"),
    "full_like": _sig("same", "x", "fill_value", "dtype"),
    "stop_gradient": _sig("same", "variable"),
    "normal": _sig("constant", "shape", "mean", "stddev", "dtype", "seed"),
    "uniform": _sig("constant", "shape", "minval", "maxval", "dtype", "seed"),
    "truncated_normal": _sig("constant", "shape", "mean", "stddev", "dtype", "seed"),
    **{r: _sig("reduce", "x", "axis", "keepdims", keepdims=False) for r in _REDUCTIONS},
    "argmax": _sig("reduce", "x", "axis", "keepdims", keepdims=False),
    "argmin": _sig("reduce", "x", "axis", "keepdims", keepdims=False),
    **{b: _sig("binary", "x1", "x2") for b in (
        "add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum",
        "power", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
        "logical_and", "logical_or", "logical_xor", "floor_divide", "mod")},
}
"""``keras.ops`` (and ``keras.ops.image``, ``keras.ops.nn``, ``keras.random``)."""

TENSORFLOW: dict[str, Signature] = {
    "reshape": _sig("reshape", "x", "newshape", renamed={"shape": "newshape", "tensor": "x"}),
    "transpose": _sig("transpose", "x", "axes", renamed={"perm": "axes", "a": "x"}),
    "expand_dims": _sig("expand_dims", "x", "axis", renamed={"input": "x"}),
    "squeeze": _sig("squeeze", "x", "axis", renamed={"input": "x"}),
    "concat": _sig("concatenate", "xs", "axis", renamed={"values": "xs"}, name="concatenate"),
    "stack": _sig("stack", "x", "axis", renamed={"values": "x"}, axis=0),
    "split": _sig("split", "x", "indices_or_sections", "axis", axis=0, sizes=True,
                  renamed={"value": "x", "num_or_size_splits": "indices_or_sections"}),
    "matmul": _sig("matmul", "x1", "x2", "transpose_a", "transpose_b", "adjoint_a",
                   "adjoint_b", renamed={"a": "x1", "b": "x2"}),
    "einsum": _sig("einsum", "subscripts", renamed={"equation": "subscripts"}),
    "softmax": _sig("same", "x", "axis", renamed={"logits": "x"}),
    "log_softmax": _sig("same", "x", "axis", renamed={"logits": "x"}),
    "l2_normalize": _sig("same", "x", "axis", renamed={"dim": "axis"}),
    "reverse": _sig("same", "x", "axis", renamed={"tensor": "x"}, name="flip"),
    "roll": _sig("same", "x", "shift", "axis", renamed={"input": "x"}),
    "fill": _sig("constant", "shape", "fill_value", renamed={"dims": "shape",
                                                              "value": "fill_value"}),
    "cast": _sig("cast", "x", "dtype"),
    "convert_to_tensor": _sig("convert", "x", "dtype", renamed={"value": "x"}),
    "range": _sig("arange", "start", "stop", "step", "dtype", renamed={"limit": "stop",
                                                                       "delta": "step"}),
    "extract_patches": _sig("tf_patches", "images", "sizes", "strides", "rates", "padding"),
    "resize": _sig("resize", "images", "size"),
    "pad": _sig("pad", "x", "pad_width", renamed={"tensor": "x", "paddings": "pad_width"}),
    "tile": _sig("tile", "x", "repeats", renamed={"input": "x", "multiples": "repeats"}),
    "repeat": _sig("repeat", "x", "repeats", "axis", renamed={"input": "x"}),
    "where": _sig("where", "condition", "x1", "x2", renamed={"x": "x1", "y": "x2"}),
    "one_hot": _sig("one_hot", "x", "num_classes", "on_value", "off_value", "axis", "dtype",
                    renamed={"indices": "x", "depth": "num_classes"}, axis=-1),
    "top_k": _sig("top_k", "x", "k", renamed={"input": "x"}, k=1),
    "gather": _sig("take", "x", "indices", "validate_indices", "axis", axis=0,
                   renamed={"params": "x"}, name="take"),
    "cumsum": _sig("cumulative", "x", "axis", axis=0),
    "clip_by_value": _sig("same", "x", "x_min", "x_max", name="clip", renamed={
        "t": "x", "clip_value_min": "x_min", "clip_value_max": "x_max"}),
    "broadcast_to": _sig("broadcast_to", "x", "shape", renamed={"input": "x"}),
    "zeros": _sig("constant", "shape", "dtype"),
    "ones": _sig("constant", "shape", "dtype"),
    "zeros_like": _sig("same", "x", renamed={"input": "x"}),
    "ones_like": _sig("same", "x", renamed={"input": "x"}),
    "stop_gradient": _sig("same", "x", renamed={"input": "x"}),
    "identity": _sig("same", "x", renamed={"input": "x"}),
    "normal": _sig("constant", "shape"),
    "uniform": _sig("constant", "shape"),
    **{f"reduce_{r}": _sig("reduce", "x", "axis", "keepdims", keepdims=False,
                           renamed={"input_tensor": "x"}, name=r)
       for r in ("mean", "sum", "max", "min", "prod", "std", "variance", "logsumexp", "any",
                 "all")},
    "argmax": _sig("reduce", "x", "axis", axis=0, renamed={"input": "x"}),
    "argmin": _sig("reduce", "x", "axis", axis=0, renamed={"input": "x"}),
    **{b: _sig("binary", "x1", "x2", renamed={"x": "x1", "y": "x2"}) for b in (
        "add", "subtract", "multiply", "divide", "truediv", "maximum", "minimum", "pow",
        "equal", "not_equal", "greater", "greater_equal", "less", "less_equal")},
}
"""``tf.*``, ``tf.math.*``, ``tf.nn.*``, ``tf.image.*``, ``tf.linalg.*``, ``tf.random.*``."""

BACKEND: dict[str, Signature] = {
    "reshape": _sig("reshape", "x", "newshape", renamed={"shape": "newshape"}),
    "permute_dimensions": _sig("transpose", "x", "axes", renamed={"pattern": "axes"},
                               name="transpose"),
    "transpose": _sig("transpose", "x", "axes"),
    "expand_dims": _sig("expand_dims", "x", "axis", axis=-1),
    "squeeze": _sig("squeeze", "x", "axis"),
    "concatenate": _sig("concatenate", "xs", "axis", renamed={"tensors": "xs"}, axis=-1),
    "stack": _sig("stack", "x", "axis", axis=0),
    "dot": _sig("dot", "x1", "x2", renamed={"x": "x1", "y": "x2"}),
    "batch_dot": _sig("batch_dot", "x1", "x2", "axes", renamed={"x": "x1", "y": "x2"}),
    "softmax": _sig("same", "x", "axis"),
    "l2_normalize": _sig("same", "x", "axis"),
    "reverse": _sig("same", "x", "axis", renamed={"axes": "axis"}, name="flip"),
    "batch_flatten": _sig("reshape", "x", newshape=(None, -1)),
    "flatten": _sig("reshape", "x", newshape=(-1,)),
    "random_normal": _sig("constant", "shape"),
    "random_uniform": _sig("constant", "shape"),
    "cast": _sig("cast", "x", "dtype"),
    "arange": _sig("arange", "start", "stop", "step", "dtype"),
    "tile": _sig("tile", "x", "repeats", renamed={"n": "repeats"}),
    "repeat_elements": _sig("repeat", "x", "repeats", "axis", renamed={"rep": "repeats"},
                            name="repeat"),
    "repeat": _sig("repeat_vector", "x", "n"),
    "one_hot": _sig("one_hot", "x", "num_classes", renamed={"indices": "x"}),
    "gather": _sig("take", "x", "indices", axis=0, renamed={"reference": "x"}, name="take"),
    "cumsum": _sig("cumulative", "x", "axis", axis=0),
    "clip": _sig("same", "x", "x_min", "x_max", renamed={"min_value": "x_min",
                                                          "max_value": "x_max"}),
    "zeros_like": _sig("same", "x"),
    "ones_like": _sig("same", "x"),
    "stop_gradient": _sig("same", "variables"),
    **{r: _sig("reduce", "x", "axis", "keepdims", keepdims=False)
       for r in ("mean", "sum", "max", "min", "prod", "std", "var", "logsumexp", "any", "all")},
    "argmax": _sig("reduce", "x", "axis", axis=-1),
    "argmin": _sig("reduce", "x", "axis", axis=-1),
    **{b: _sig("binary", "x1", "x2", renamed={"x": "x1", "y": "x2"}) for b in (
        "maximum", "minimum", "pow", "equal", "not_equal", "greater", "greater_equal",
        "less", "less_equal")},
}
"""``keras.backend.*`` (Keras 2's ``K.*``)."""


def signature(path: tuple[str, ...]) -> Signature | None:
    """The spelling a canonical keras / tensorflow path names, if it is a tensor
    function (``("keras", "ops", "mean")``, ``("tensorflow", "reduce_mean")``)."""
    if len(path) < 2:
        return None
    last = path[-1]
    if path[0] == "tensorflow":
        return TENSORFLOW.get(last)
    if path[0] != "keras":
        return None
    if path[1] in ("ops", "random"):
        return KERAS_OPS.get(last)
    if path[1] == "backend":
        return BACKEND.get(last) or KERAS_OPS.get(last)
    return None
