"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
and Keras 1's ``Merge(mode=...)``.

A concrete mismatch between inputs is an error naming both shapes; a mismatch that
depends on free symbols becomes a requirement on the input sizes. The output is
computed best-effort either way, so the analysis carries on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import evaluate, named
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
from convcalc.layers.common import elements
from convcalc.rules import INCOMPATIBLE_INPUT, MERGE_MISMATCH, SHAPE_UNKNOWN, WRONG_RANK
from convcalc.types import Shape, TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array


def _at_least_two(inputs: Sequence[TensorType], class_name: str) -> None:
    if len(inputs) < 2:
        raise ShapeError(
            INCOMPATIBLE_INPUT,
            f"{class_name} must be called on a list of at least 2 tensors, got {len(inputs)}",
            "Pass the tensors to merge as a list: layer([a, b]).",
        )


def _exactly_two(inputs: Sequence[TensorType], class_name: str) -> None:
    if len(inputs) != 2:
        raise ShapeError(
            INCOMPATIBLE_INPUT,
            f"{class_name} must be called on exactly 2 tensors, got {len(inputs)}",
        )


def _describe(inputs: Sequence[TensorType]) -> str:
    return ", ".join(format_shape(t.shape) for t in inputs)


def merged_batch(inputs: Sequence[TensorType], ctx: InferContext, class_name: str) -> Dim:
    """The batch dim of merged inputs: the concrete one if any; differing concrete
    batch sizes are an error."""
    sizes = sorted({b for t in inputs if isinstance(b := t.batch, int)})
    if len(sizes) > 1:
        ctx.error(
            MERGE_MISMATCH,
            f"{class_name}: cannot merge tensors with different batch sizes: "
            f"{_describe(inputs)}",
        )
    return sizes[0] if sizes else inputs[0].batch


def _broadcast_dim(a: Dim, b: Dim, ctx: InferContext, message: str, axis: int) -> Dim:
    """One axis of a Keras 3 element-wise merge: equal dims, or 1 against anything.

    When a symbol meets another dim they must be equal (a requirement); the result is
    the symbolic one, as Keras reports that axis as unknown. Two different concrete
    dims are an error; the first one is kept.
    """
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    ctx.require_equal(a, b, MERGE_MISMATCH, message, detail=f"axis {axis}")
    return b if dims.is_int(a) and not dims.is_int(b) else a


def broadcast_shapes(
    inputs: Sequence[TensorType], ctx: InferContext, class_name: str
) -> Shape:
    """Output shape of an element-wise merge (Keras 3 rules).

    Non-batch shapes are aligned on the right, the longer one keeps its leading dims;
    aligned dims must be equal unless one of them is 1.
    """
    batch = merged_batch(inputs, ctx, class_name)
    message = (f"{class_name}: inputs have incompatible shapes {_describe(inputs)}, whose "
               f"aligned dims must be equal or 1")
    primary = ctx.primary if ctx.primary < len(inputs) else 0
    out: tuple[Dim, ...] = inputs[primary].shape[1:]
    for t in (t for i, t in enumerate(inputs) if i != primary):
        other = t.shape[1:]
        long, short = (out, other) if len(out) >= len(other) else (other, out)
        lead = len(long) - len(short)
        merged = list(long[:lead])
        for k, (a, b) in enumerate(zip(long[lead:], short, strict=True)):
            merged.append(_broadcast_dim(a, b, ctx, message, 1 + lead + k))
        out = tuple(merged)
    return (batch, *out)


class _ElementwiseMerge(LayerSpec):
    """An element-wise merge of two or more tensors (broadcasting size-1 axes)."""

    family = "merging"
    supports_masking = True

    examples: ClassVar[tuple[Example, ...]] = (
        Example({}, ((None, 3, 4), (None, 3, 4))),
        Example({}, ((None, 3, 4), (None, 1, 4), (None, 3, 1))),
        Example({}, ((None, 3, 4), (None, 4))),
        Example({}, ((None, None, 4), (None, 3, 4))),
        Example({}, ((None, 3, 4), (None, None, 4))),
        Example({}, ((2, 5), (None, 5))),
        Example({}, ((None,), (None, 3))),
        Example({}, ((None, 3), (None, 5)), fails=True),
        Example({}, ((None, 3, 4), (None, 3)), fails=True),
        Example({}, ((2, 5), (4, 5)), fails=True),
        Example({}, ((None, 3),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Inputs aligned on the right; aligned dims equal, or 1 (broadcast)."""
        _at_least_two(inputs, self.class_name)
        return (inputs[0].with_shape(broadcast_shapes(inputs, ctx, self.class_name)),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """(n_inputs - 1) per output element"""
        return dims.mul(len(inputs) - 1, elements(outputs[0]))

    def combine(self, a: Array, b: Array) -> Array:
        """The element-wise operation folded over the inputs."""
        raise NotImplementedError

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The operation folded left over the inputs, broadcast as Keras does (for a
        kind that reads masks, :meth:`masked` on inputs of one rank carrying any)."""
        from convcalc.layers.numeric import mask_array

        xs = aligned_ranks(inputs)
        masks = call_kwargs.get("mask") if self.mask_in_call else None
        # Keras reshapes inputs of mixed ranks first, and the reshaped ones carry no mask
        if masks and len({x.ndim for x in inputs}) == 1:
            keep = [mask_array(m, f"{self.class_name} mask") for m in masks]
            if any(m is not None for m in keep):
                return (self.masked(xs, keep),)
        out = xs[0]
        for x in xs[1:]:
            out = self.combine(out, x)
        return (out,)

    def masked(self, xs: Sequence[Array], masks: Sequence[Array | None]) -> Array:
        """The merge of inputs some of which carry masks, as Keras's Maximum and
        Minimum fold it: a masked input takes the running result's value, a masked
        running result the input's, before they combine."""
        import numpy as np

        out, out_mask = xs[0], _widened(masks[0], xs[0])
        for x, m in zip(xs[1:], masks[1:], strict=True):
            wide = _widened(m, x)
            if wide is not None:
                x = np.where(wide, x, out)
            if out_mask is not None:
                out = np.where(out_mask, out, x)
            out_mask = None if wide is None or out_mask is None else out_mask | wide
            out = self.combine(out, x)
        return out

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """The OR of the input masks when every input carries one, else none."""
        import numpy as np

        previous = self.previous_masks(masks, call_kwargs)
        given = [m for m in previous if m is not None]
        if not given or len(given) < len(previous):
            return ()
        out = given[0]
        for m in given[1:]:
            out = np.logical_or(out, m)
        return (out,)


def _widened(mask: Array | None, x: Array) -> Array | None:
    """A mask over x's leading axes broadcast over its last one."""
    import numpy as np

    return None if mask is None else np.broadcast_to(mask[..., None], x.shape)



@register
class Add(_ElementwiseMerge):
    """Element-wise sum of the inputs."""

    class_name = "Add"

    def combine(self, a: Array, b: Array) -> Array:
        return a + b


@register
class Multiply(_ElementwiseMerge):
    """Element-wise product of the inputs."""

    class_name = "Multiply"
    mask_in_call = True  # Keras reads the masks off the input tensors

    def combine(self, a: Array, b: Array) -> Array:
        return a * b

    def masked(self, xs: Sequence[Array], masks: Sequence[Array | None]) -> Array:
        """Masked entries count as 1; when every input is masked, entries masked in
        all of them are 0."""
        import numpy as np

        out: Array | None = None
        out_mask: Array | None = None
        every = all(m is not None for m in masks)
        for x, m in zip(xs, masks, strict=True):
            wide = _widened(m, x)
            if wide is not None:
                x = np.where(wide, x, np.ones((), x.dtype))
                if every:
                    out_mask = wide if out_mask is None else out_mask | wide
            out = x if out is None else out * x
        assert out is not None
        return out if out_mask is None else np.where(out_mask, out, np.zeros((), out.dtype))


@register
class Maximum(_ElementwiseMerge):
    """Element-wise maximum of the inputs."""

    class_name = "Maximum"
    mask_in_call = True  # Keras reads the masks off the input tensors

    def combine(self, a: Array, b: Array) -> Array:
        import numpy as np

        return np.maximum(a, b)


@register
class Minimum(_ElementwiseMerge):
    """Element-wise minimum of the inputs."""

    class_name = "Minimum"
    mask_in_call = True  # Keras reads the masks off the input tensors

    def combine(self, a: Array, b: Array) -> Array:
        import numpy as np

        return np.minimum(a, b)


@register
class Average(_ElementwiseMerge):
    """Element-wise mean of the inputs."""

    class_name = "Average"

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """n_inputs per output element (n - 1 additions and a division)"""
        return dims.mul(len(inputs), elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """sum(inputs) / n"""
        xs = aligned_ranks(inputs)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return ((out / len(xs)).astype(out.dtype),)


@register
class Subtract(_ElementwiseMerge):
    """Element-wise difference of exactly two inputs."""

    class_name = "Subtract"

    def combine(self, a: Array, b: Array) -> Array:
        return a - b

    examples = (
        Example({}, ((None, 3, 4), (None, 3, 4))),
        Example({}, ((None, 3, 4), (None, 1, 4))),
        Example({}, ((None, None, 4), (None, 3, 4))),
        Example({}, ((None, 3), (None, 5)), fails=True),
        Example({}, ((None, 3), (None, 3), (None, 3)), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Two inputs aligned on the right; aligned dims equal, or 1 (broadcast)."""
        _exactly_two(inputs, self.class_name)
        return (inputs[0].with_shape(broadcast_shapes(inputs, ctx, self.class_name)),)


def aligned_ranks(inputs: Sequence[Array]) -> list[Array]:
    """Inputs of lower rank get size-1 axes after the batch, as Keras inserts them
    before broadcasting (a (B, 4) tensor merges with a (B, 3, 4) one as (B, 1, 4))."""
    from convcalc.layers import numeric

    xs = [numeric.as_float(x) for x in inputs]
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def batch_dot(x: Array, y: Array, axes: tuple[int, int]) -> Array:
    """Batched dot product contracting x's axis axes[0] with y's axes[1]; the output
    is x's other axes then y's other non-batch axes, (batch, 1) if none are left."""
    import numpy as np

    xt = np.moveaxis(x, axes[0], -1)
    yt = np.moveaxis(y, axes[1], 1)
    batch, n = xt.shape[0], xt.shape[-1]
    out = np.matmul(xt.reshape(batch, -1, n), yt.reshape(batch, n, -1))
    shape = xt.shape[:-1] + yt.shape[2:]
    return np.asarray(out.reshape(shape if len(shape) > 1 else (batch, 1)))


def concatenated(
    inputs: Sequence[TensorType], axis: int, ctx: InferContext, class_name: str
) -> Shape:
    """Output shape of a concatenation along ``axis``.

    All inputs must have the same rank and equal dims off the axis; the output takes
    their dims there (the primary input's after a mismatch) and the sum of the inputs'
    dims on the axis.
    """
    first = inputs[0]
    if not -first.rank <= axis < first.rank:
        raise ShapeError(
            WRONG_RANK,
            f"{class_name}: axis {axis} is out of range for {first.rank}-D inputs "
            f"{_describe(inputs)}",
        )
    k = axis % first.rank
    along: list[Dim] = [first.shape[k]]
    for t in inputs[1:]:
        if t.rank != first.rank:
            ctx.error(
                MERGE_MISMATCH,
                f"{class_name}: cannot concatenate tensors of different ranks: "
                f"{format_shape(first.shape)} and {format_shape(t.shape)}",
            )
            continue
        for i, (a, b) in enumerate(zip(first.shape, t.shape, strict=True)):
            if i != k:
                ctx.require_equal(
                    a, b, MERGE_MISMATCH,
                    f"{class_name}(axis={axis}): cannot join {format_shape(first.shape)} "
                    f"and {format_shape(t.shape)}, whose dims must match except along the "
                    f"axis", detail=f"axis {i}",
                )
        along.append(t.shape[k])
    ref = inputs[ctx.primary] if ctx.primary < len(inputs) else first
    out = list(ref.shape if ref.rank == first.rank else first.shape)
    out[k] = dims.total(along)
    return tuple(out)


@register
class Concatenate(LayerSpec):
    """Join tensors along one axis."""

    class_name = "Concatenate"
    family = "merging"
    positional = ("axis",)
    supports_masking = True

    axis: int = option(default=-1, convert=arg.to_int)

    examples = (
        Example({}, ((None, 3, 4), (None, 3, 5))),
        Example({"axis": 1}, ((None, 3, 4), (None, 5, 4), (None, 1, 4))),
        Example({}, ((None, None, 4), (None, 5, 5))),
        Example({"axis": -2}, ((None, 3, 4), (None, None, 4))),
        Example({"axis": 1}, ((None, 3, 8, 8), (None, 5, 8, 8))),
        Example({"axis": 0}, ((None, 3, 4), (None, 3, 4))),
        Example({}, ((None, 3, 4), (None, 5, 5)), fails=True),
        Example({"axis": 1}, ((None, 3, 4), (None, 5, 5)), fails=True),
        Example({}, ((None, 3, 4), (None, 5)), fails=True),
        Example({}, ((None, 1, 4), (None, 3, 4)), fails=True),
        Example({}, ((2, 3, 4), (3, 3, 4)), fails=True),
        Example({}, ((None, 3, 4),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Sum of the inputs' dims on the axis; all other dims must match."""
        _at_least_two(inputs, self.class_name)
        return (inputs[0].with_shape(concatenated(inputs, self.axis, ctx, self.class_name)),)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """0 (a copy)"""
        return 0

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The inputs joined along the axis."""
        import numpy as np

        return (np.concatenate(inputs, axis=self.axis),)

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """If any input carries a mask: the masks widened to their inputs (all true for
        an unmasked input) joined along the axis, then any() over the last axis."""
        import numpy as np

        previous = self.previous_masks(masks, call_kwargs)
        if all(m is None for m in previous):
            return ()
        parts = []
        for x, m in zip(inputs, previous, strict=True):
            if m is None:
                parts.append(np.ones(x.shape, bool))
            elif m.ndim < x.ndim:
                parts.append(np.logical_or(m[..., None], np.zeros(x.shape, bool)))
            else:
                parts.append(m)
        return (np.asarray(np.concatenate(parts, axis=self.axis).any(axis=-1)),)

    def summary(self) -> str:
        return "" if self.axis == -1 else f"axis {self.axis}"


def _dot_axes(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int, ...]:
    """One axis for both inputs, or a pair (axis of the first, axis of the second)."""
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ConfigError(f"axes must be an int or a pair of ints, got {list(v)!r}")
        if not all(type(a) is int for a in v):
            raise ConfigError(f"axes must be integers, got {list(v)!r}")
        return (v[0], v[1])
    if type(v) is not int:
        raise ConfigError(f"axes must be an int or a pair of ints, got {v!r}")
    return (v,)


def batch_dot_shape(
    x: TensorType, y: TensorType, axes: tuple[int, ...], ctx: InferContext, class_name: str
) -> tuple[Shape, Dim]:
    """Output shape of a batched dot product and the contracted length.

    x without its axis, then y without its axis and batch; (batch, 1) if nothing else
    is left. The contracted dims must be equal; the batch axis cannot be contracted.
    """
    pair = axes * 2 if len(axes) == 1 else axes
    canonical = []
    for t, a in zip((x, y), pair, strict=True):
        if t.rank < 2:
            raise ShapeError(WRONG_RANK, f"{class_name} needs inputs of rank >= 2, got "
                                         f"{format_shape(t.shape)}")
        if not -t.rank <= a < t.rank:
            raise ShapeError(WRONG_RANK, f"{class_name}: axis {a} is out of range for "
                                         f"{format_shape(t.shape)}")
        canonical.append(a % t.rank)
    a0, a1 = canonical
    if a0 == 0 or a1 == 0:
        raise ShapeError(INCOMPATIBLE_INPUT,
                         f"{class_name} cannot contract over the batch axis (axes={list(pair)})")
    d0, d1 = x.shape[a0], y.shape[a1]
    ctx.require_equal(
        d0, d1, MERGE_MISMATCH,
        f"{class_name}(axes={list(pair)}): axis {a0} of {format_shape(x.shape)} is {d0} "
        f"but axis {a1} of {format_shape(y.shape)} is {d1}; the contracted dims must match",
    )
    batch = merged_batch((x, y), ctx, class_name)
    rest = [d for i, d in enumerate(x.shape) if i != a0][1:]
    rest += [d for i, d in enumerate(y.shape) if i not in (0, a1)]
    return (batch, *(rest or [1])), d0


@register
class Dot(LayerSpec):
    """Batched dot product of two tensors along the given axes."""

    class_name = "Dot"
    family = "merging"
    positional = ("axes", "normalize")

    axes: tuple[int, ...] = option(convert=_dot_axes)
    normalize: bool = option(default=False, convert=arg.to_bool)

    examples = (
        Example({"axes": 1}, ((None, 5), (None, 5))),
        Example({"axes": -1}, ((None, 3, 5), (None, 4, 5))),
        Example({"axes": (2, 1)}, ((None, 3, 5), (None, 5, 4))),
        Example({"axes": [2, 1]}, ((None, 3, 5), (None, 5))),
        Example({"axes": (1, 2)}, ((None, 2, 3, 5), (None, 4, 2))),
        Example({"axes": 1, "normalize": True}, ((None, None), (None, None))),
        Example({"axes": 1}, ((None, 5), (None, 6)), fails=True),
        Example({"axes": [1, 2, 3]}, ((None, 5), (None, 5)), fails=True),
        Example({"axes": 1}, ((None, 5), (None, 5), (None, 5)), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """x without its axis, then y without its axis and batch; (batch, 1) if empty"""
        _exactly_two(inputs, self.class_name)
        shape, _ = batch_dot_shape(inputs[0], inputs[1], self.axes, ctx, self.class_name)
        return (inputs[0].with_shape(shape),)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """output elements * contracted length"""
        _, d = batch_dot_shape(inputs[0], inputs[1], self.axes, InferContext(), "Dot")
        return evaluate(named("output elements", *outputs[0].shape[1:])
                        * named("contracted length", d))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs, + 3 per input element to L2-normalize both inputs if normalize"""
        out = dims.mul(2, self.macs(inputs, outputs))
        if not self.normalize:
            return out
        return dims.total((out, dims.mul(3, dims.add(elements(inputs[0]),
                                                     elements(inputs[1])))))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Batched dot product over the axes; inputs L2-normalised there first if
        normalize."""
        from convcalc.layers import numeric

        x, y = (numeric.as_float(t) for t in inputs)
        pair = self.axes * 2 if len(self.axes) == 1 else self.axes
        a0, a1 = pair[0] % x.ndim, pair[1] % y.ndim
        if self.normalize:
            x, y = numeric.l2_normalize(x, a0), numeric.l2_normalize(y, a1)
        return (batch_dot(x, y, (a0, a1)),)

    def summary(self) -> str:
        axes = ",".join(str(a) for a in self.axes)
        return f"axes {axes}" + (", normalized" if self.normalize else "")


MERGE_MODES = ("sum", "mul", "concat", "ave", "cos", "dot", "max")
CALLABLE_MODE = "<function>"


def _merge_mode(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """A Keras 1 merge mode name; anything else is a Python function."""
    if isinstance(v, str):
        if v not in MERGE_MODES:
            raise ConfigError(f"invalid merge mode {v!r} (expected one of {MERGE_MODES})")
        return v
    return CALLABLE_MODE


def _output_shape(v: Any, cls: type[LayerSpec] | None = None) -> tuple[Dim, ...] | None:
    """A shape tuple without the batch; a function (not modelled) reads as None."""
    if isinstance(v, (list, tuple)):
        return arg.dim_tuple(v)
    return None


@register
class Merge(LayerSpec):
    """Keras 1's merge layer: ``mode`` is sum, mul, ave, max, concat, dot, cos or a
    function (whose output shape comes from ``output_shape``).

    Keras 3 has no such class, so no example runs against it; our own tests cover it.
    """

    class_name = "Merge"
    in_keras3 = False
    family = "merging"
    positional = (
        "layers", "mode", "concat_axis", "dot_axes", "output_shape", "output_mask",
        "arguments", "node_indices", "tensor_indices", "name",
    )

    mode: str = option(default="sum", convert=_merge_mode)
    concat_axis: int = option(default=-1, convert=arg.to_int)
    dot_axes: tuple[int, ...] = option(default=(-1,), convert=_dot_axes)
    output_shape: tuple[Dim, ...] | None = option(default=None, convert=_output_shape)

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """A serialized function (``mode_type``/``output_shape_type`` lambda or function)
        stands for that function, not for its name or code."""
        out = dict(config)
        if out.get("mode_type") in ("lambda", "function"):
            out["mode"] = None
        if out.get("output_shape_type") in ("lambda", "function"):
            out.pop("output_shape", None)
        return out

    def _same_shapes(self, inputs: Sequence[TensorType], ctx: InferContext) -> None:
        first = inputs[0]
        for t in inputs[1:]:
            message = (f"Merge(mode={self.mode!r}) needs inputs of the same shape, got "
                       f"{format_shape(first.shape)} and {format_shape(t.shape)}")
            if t.rank != first.rank:
                ctx.error(MERGE_MISMATCH, message)
                continue
            for a, b in zip(first.shape, t.shape, strict=True):
                ctx.require_equal(a, b, MERGE_MISMATCH, message)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """sum/mul/ave/max: the common input shape; concat, dot, cos: as Concatenate, Dot;
        a function: (batch, *output_shape)"""
        _at_least_two(inputs, "Merge")
        first = inputs[0]
        if self.mode == CALLABLE_MODE:
            if self.output_shape is None:
                raise ShapeError(SHAPE_UNKNOWN,
                                 "Merge with a function mode needs a tuple output_shape")
            return (first.with_shape((first.batch, *self.output_shape)),)
        if self.mode == "concat":
            shape = concatenated(inputs, self.concat_axis, ctx, "Merge(mode='concat')")
            return (first.with_shape(shape),)
        if self.mode in ("dot", "cos"):
            _exactly_two(inputs, f"Merge(mode={self.mode!r})")
            if self.mode == "cos":
                self._same_shapes(inputs, ctx)
            shape, _ = batch_dot_shape(first, inputs[1], self.dot_axes, ctx,
                                       f"Merge(mode={self.mode!r})")
            return (first.with_shape(shape),)
        self._same_shapes(inputs, ctx)
        return (first,)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """dot: output elements * contracted length; cos: that + 1 per input element"""
        if self.mode not in ("dot", "cos"):
            return 0
        _, d = batch_dot_shape(inputs[0], inputs[1], self.dot_axes, InferContext(), "Merge")
        dot = named("output elements", *outputs[0].shape[1:]) * named("contracted length", d)
        if self.mode == "dot":
            return evaluate(dot)
        return evaluate(dot + named("x elements", *inputs[0].shape[1:])
                        + named("y elements", *inputs[1].shape[1:]))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """dot, cos: 2 * MACs; sum, mul, max: (n - 1) per output element; ave: n"""
        if self.mode in ("dot", "cos"):
            return dims.mul(2, self.macs(inputs, outputs))
        per = {"sum": len(inputs) - 1, "mul": len(inputs) - 1, "max": len(inputs) - 1,
               "ave": len(inputs)}.get(self.mode, 0)
        return dims.mul(per, elements(outputs[0]))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """sum, mul, ave, max element-wise; concat along concat_axis; dot as Dot.
        (cos and function modes are not modelled.)"""
        import numpy as np

        from convcalc.layers import numeric

        xs = [numeric.as_float(x) for x in inputs]
        if self.mode == "concat":
            return (np.concatenate(xs, axis=self.concat_axis),)
        if self.mode == "dot":
            x, y = xs
            pair = self.dot_axes * 2 if len(self.dot_axes) == 1 else self.dot_axes
            return (batch_dot(x, y, (pair[0] % x.ndim, pair[1] % y.ndim)),)
        folds = {"sum": np.add, "mul": np.multiply, "ave": np.add, "max": np.maximum}
        if self.mode not in folds:
            raise NotImplementedError(f"Merge(mode={self.mode!r}) has no NumPy forward")
        out = xs[0]
        for x in xs[1:]:
            out = folds[self.mode](out, x)
        return ((out / len(xs)).astype(out.dtype) if self.mode == "ave" else out,)

    def summary(self) -> str:
        return "function" if self.mode == CALLABLE_MODE else self.mode
