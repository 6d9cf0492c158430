"""Shape rules of tensor operations (``keras.ops``, ``tf.*``, ``keras.backend``), as pure
functions of shapes.

A shape is a tuple of dims (ints, symbols, :data:`dims.BATCH` for Keras's None batch).
Each rule returns the output shape(s) or raises :class:`ShapeError` when Keras would
reject the operands; a dim it cannot know stays symbolic rather than failing. The
``*_macs`` functions count multiply-accumulates per sample (the batch counts as 1).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from convcalc import dims, formulas
from convcalc.dims import Dim
from convcalc.layers.base import ShapeError
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Shape, format_shape

Axis = int | tuple[int, ...] | None


def _fail(message: str) -> ShapeError:
    return ShapeError(INCOMPATIBLE_INPUT, message)


def canonical_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as an index into a shape of ``rank`` dims."""
    if not -rank <= axis < rank:
        raise _fail(f"axis {axis} is out of range for a {rank}-D tensor")
    return axis % rank


def _axes(axis: Axis, rank: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int):
        return (canonical_axis(axis, rank),)
    return tuple(sorted({canonical_axis(a, rank) for a in axis}))


def _equal(a: Dim, b: Dim) -> bool | None:
    """Whether two dims are equal: None when symbols leave it open."""
    if a == b:
        return True
    if dims.is_int(a) and dims.is_int(b):
        return False
    return None


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting, right-aligned: equal dims, or 1 against anything."""
    out: list[Dim] = []
    rank = max((len(s) for s in shapes), default=0)
    for i in range(rank):
        merged: Dim = 1
        for s in shapes:
            j = len(s) - rank + i
            if j < 0:
                continue
            d = s[j]
            if d == 1 or d == merged:
                continue
            if merged == 1 or merged == dims.BATCH:
                merged = d
            elif d == dims.BATCH:
                continue
            elif _equal(merged, d) is False:
                raise _fail("cannot broadcast shapes "
                            + " and ".join(format_shape(x) for x in shapes))
        out.append(merged)
    return tuple(out)


def reshape(shape: Shape, target: Sequence[Dim]) -> Shape:
    """The target shape with one -1 filled in: size(input) / size(other target dims).

    A leading batch kept as the batch reshapes the rest; otherwise, as in Keras, a -1 is
    the unknown batch when the input has one."""
    fill = [i for i, d in enumerate(target) if d == -1]
    if len(fill) > 1:
        raise _fail("reshape: only one dimension can be -1")
    if target and target[0] == dims.BATCH and shape and shape[0] == dims.BATCH:
        # the batch kept in place (``(ops.shape(x)[0], -1)``): the rest reshapes
        return (dims.BATCH, *reshape(shape[1:], target[1:]))
    if dims.BATCH in shape or dims.BATCH in target:
        return tuple(dims.BATCH if d == -1 else d for d in target)
    size = dims.prod(shape)
    if not fill:
        rest = dims.prod(target)
        if _equal(size, rest) is False:
            raise _fail(f"cannot reshape {format_shape(shape)} ({size} values) into "
                        f"{format_shape(tuple(target))}")
        return tuple(target)
    rest = dims.prod(d for d in target if d != -1)
    if dims.is_int(rest) and rest != 0:
        n = dims.as_int(size)
        if n is not None and n % rest:  # type: ignore[operator]
            raise _fail(f"cannot reshape {format_shape(shape)} ({n} values) into "
                        f"{format_shape(tuple(target))}")
        filled: Dim = dims.floordiv(size, rest)  # type: ignore[arg-type]
    else:
        filled = dims.normalize(dims.to_expr(size) / dims.to_expr(rest))
    return tuple(filled if d == -1 else d for d in target)


def transpose(shape: Shape, axes: Sequence[int] | None = None) -> Shape:
    """The dims permuted by ``axes`` (reversed when None)."""
    rank = len(shape)
    if axes is None:
        return tuple(reversed(shape))
    order = [canonical_axis(a, rank) for a in axes]
    if sorted(order) != list(range(rank)):
        raise _fail(f"transpose: axes {tuple(axes)} are not a permutation of {rank} axes")
    return tuple(shape[a] for a in order)


def expand_dims(shape: Shape, axis: int | Sequence[int]) -> Shape:
    """Size-1 axes inserted at ``axis`` (positions in the output)."""
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    rank = len(shape) + len(axes)
    where = {canonical_axis(a, rank) for a in axes}
    rest = iter(shape)
    return tuple(1 if i in where else next(rest) for i in range(rank))


def squeeze(shape: Shape, axis: Axis = None) -> Shape:
    """The size-1 axes removed (all of them when ``axis`` is None)."""
    if axis is None:
        return tuple(d for d in shape if d != 1)
    drop = _axes(axis, len(shape))
    for a in drop:
        if _equal(shape[a], 1) is False:
            raise _fail(f"squeeze: axis {a} of {format_shape(shape)} is not of size 1")
    return tuple(d for i, d in enumerate(shape) if i not in drop)


def concatenate(shapes: Sequence[Shape], axis: int = 0) -> Shape:
    """Sizes along ``axis`` summed; every other axis must match."""
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise _fail("concatenate: tensors of different ranks "
                    + ", ".join(format_shape(s) for s in shapes))
    a = canonical_axis(axis, rank)
    out = list(shapes[0])
    for s in shapes[1:]:
        for i, d in enumerate(s):
            if i != a and _equal(out[i], d) is False:
                raise _fail("concatenate: shapes " + ", ".join(format_shape(x) for x in shapes)
                            + f" differ on axis {i}")
            if i != a and out[i] == dims.BATCH:
                out[i] = d
    out[a] = dims.total(s[a] for s in shapes) if all(s[a] != dims.BATCH for s in shapes) \
        else dims.BATCH
    return tuple(out)


def stack(shapes: Sequence[Shape], axis: int = 0) -> Shape:
    """A new axis of size len(shapes) at ``axis``; the shapes must be equal."""
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(_equal(x, y) is False for x, y in zip(s, first,
                                                                            strict=True)):
            raise _fail("stack: shapes " + ", ".join(format_shape(x) for x in shapes)
                        + " differ")
    return _insert(first, canonical_axis(axis, len(first) + 1), len(shapes))


def _insert(shape: Shape, at: int, size: Dim) -> Shape:
    return (*shape[:at], size, *shape[at:])


def split(shape: Shape, sections: int | Sequence[int], axis: int = 0) -> tuple[Shape, ...]:
    """Equal sections (``sections`` an int) or pieces cut at the given indices."""
    a = canonical_axis(axis, len(shape))
    d = shape[a]
    if isinstance(sections, int):
        n = dims.as_int(d)
        if n is not None and n % sections:
            raise _fail(f"split: axis {a} of size {n} does not divide into {sections} parts")
        piece = dims.floordiv(d, sections)
        return tuple((*shape[:a], piece, *shape[a + 1:]) for _ in range(sections))
    cuts = [0, *sections, d]
    return tuple((*shape[:a], dims.sub(hi, lo), *shape[a + 1:])
                 for lo, hi in itertools.pairwise(cuts))


def matmul(a: Shape, b: Shape) -> Shape:
    """NumPy matmul: (..., n, k) @ (..., k, m) -> (..., n, m), leading dims broadcast;
    a 1-D operand is a row (left) or column (right) vector, dropped in the output."""
    if not a or not b:
        raise _fail("matmul: operands must not be scalars")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if _equal(a2[-1], b2[-2]) is False:
        raise _fail(f"matmul: inner dims differ: {format_shape(a)} @ {format_shape(b)}")
    lead = broadcast_shapes(a2[:-2], b2[:-2])
    out = (*lead, a2[-2], b2[-1])
    if len(a) == 1:
        out = (*out[:-2], out[-1])
    if len(b) == 1:
        out = out[:-1]
    return out


def _per_sample(d: Dim) -> Dim:
    return 1 if d == dims.BATCH else d


def matmul_macs(a: Shape, b: Shape) -> Dim:
    """prod(out) * k, the batch counted once."""
    out = matmul(a, b)
    return formulas.evaluate(formulas.named("prod(out)", *(_per_sample(d) for d in out))
                             * formulas.named("k", _per_sample(a[-1])))


def _einsum_parse(subscripts: str, shapes: Sequence[Shape]) -> tuple[list[str], str,
                                                                      dict[str, Dim]]:
    spec = subscripts.replace(" ", "")
    lhs, _, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise _fail(f"einsum {subscripts!r}: {len(terms)} operands expected, got {len(shapes)}")
    sizes: dict[str, Dim] = {}
    expanded: list[str] = []
    ell: Shape = ()
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            before, _, after = term.partition("...")
            n = len(shape) - len(before) - len(after)
            if n < 0:
                raise _fail(f"einsum {subscripts!r}: term {term!r} does not fit "
                            f"{format_shape(shape)}")
            ell = broadcast_shapes(ell, shape[len(before):len(before) + n])
            term = before + after
            shape = (*shape[:len(before)], *shape[len(before) + n:])
        if len(term) != len(shape):
            raise _fail(f"einsum {subscripts!r}: term {term!r} does not fit "
                        f"{format_shape(shape)}")
        for ch, d in zip(term, shape, strict=True):
            known = sizes.get(ch)
            if known is None or known == 1 or known == dims.BATCH:
                sizes[ch] = d
            elif d != 1 and d != dims.BATCH and _equal(known, d) is False:
                raise _fail(f"einsum {subscripts!r}: index {ch!r} is {known} and {d}")
        expanded.append(term)
    if not rhs and "->" not in spec:
        counts = "".join(expanded)
        rhs = "".join(sorted(c for c in set(counts) if counts.count(c) == 1))
        if ell:
            rhs = "..." + rhs
    for i, d in enumerate(ell):
        sizes[f"#{i}"] = d
    return expanded, rhs, sizes


def einsum(subscripts: str, shapes: Sequence[Shape]) -> Shape:
    """The output subscripts' sizes (implicit output: the indices used once, sorted)."""
    _, rhs, sizes = _einsum_parse(subscripts, shapes)
    out: list[Dim] = []
    if rhs.startswith("..."):
        out.extend(sizes[k] for k in sorted((k for k in sizes if k.startswith("#")),
                                            key=lambda k: int(k[1:])))
        rhs = rhs[3:]
    for ch in rhs:
        if ch not in sizes:
            raise _fail(f"einsum {subscripts!r}: output index {ch!r} is not an input index")
        out.append(sizes[ch])
    return tuple(out)


def einsum_macs(subscripts: str, shapes: Sequence[Shape]) -> Dim:
    """prod(sizes of every distinct index), the batch counted once."""
    _, _, sizes = _einsum_parse(subscripts, shapes)
    return formulas.evaluate(formulas.product(
        formulas.named(index, _per_sample(d)) for index, d in sizes.items()))


def reduce(shape: Shape, axis: Axis = None, keepdims: bool = False) -> Shape:
    """The reduced axes dropped (kept as 1 with ``keepdims``)."""
    drop = _axes(axis, len(shape))
    if keepdims:
        return tuple(1 if i in drop else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in drop)


def arange_length(start: Dim, stop: Dim, step: int = 1) -> Dim:
    """ceil((stop - start) / step), at least 0."""
    n = dims.ceildiv(dims.sub(stop, start), step)
    k = dims.as_int(n)
    return n if k is None else max(k, 0)


def _window(length: Dim, size: int, stride: int, padding: str) -> Dim:
    if length == dims.BATCH:
        return length
    if padding == "same":
        return dims.ceildiv(length, stride)
    return dims.add(dims.floordiv(dims.sub(length, size), stride), 1)


def extract_patches(shape: Shape, size: int | Sequence[int], strides: Sequence[int] | None,
                    padding: str = "valid", channels_last: bool = True) -> Shape:
    """(B, H, W, C) -> (B, out_h, out_w, ph*pw*C); out = floor((L - p)/s) + 1 (valid),
    ceil(L/s) (same); strides default to the patch size."""
    if len(shape) != 4:
        raise _fail(f"extract_patches: a 4-D image batch expected, got {format_shape(shape)}")
    ph, pw = (size, size) if isinstance(size, int) else tuple(size)
    sh, sw = (ph, pw) if strides is None else tuple(strides)
    if channels_last:
        b, h, w, c = shape
        return (b, _window(h, ph, sh, padding), _window(w, pw, sw, padding), dims.mul(
            ph * pw, c))
    b, c, h, w = shape
    return (b, dims.mul(ph * pw, c), _window(h, ph, sh, padding), _window(w, pw, sw, padding))


def resize(shape: Shape, size: Sequence[Dim], channels_last: bool = True) -> Shape:
    """The spatial dims of an image batch (or single image) replaced by ``size``."""
    if len(shape) not in (3, 4):
        raise _fail(f"resize: a 3-D or 4-D image expected, got {format_shape(shape)}")
    h, w = size
    if channels_last:
        return (*shape[:-3], h, w, shape[-1])
    return (*shape[:-2], h, w)


def pad(shape: Shape, pad_width: Sequence[Sequence[int]] | int) -> Shape:
    """Each axis grows by its before + after padding."""
    widths = ([(pad_width, pad_width)] * len(shape) if isinstance(pad_width, int)
              else [tuple(p) for p in pad_width])
    if len(widths) == 1 and len(shape) > 1:
        widths = widths * len(shape)
    if len(widths) != len(shape):
        raise _fail(f"pad: {len(widths)} paddings for a {len(shape)}-D tensor")
    return tuple(d if d == dims.BATCH else dims.add(d, sum(p))
                 for d, p in zip(shape, widths, strict=True))


def tile(shape: Shape, repeats: Sequence[Dim]) -> Shape:
    """Each axis times its repeat count (the shorter one padded with leading 1s)."""
    rank = max(len(shape), len(repeats))
    s = (1,) * (rank - len(shape)) + tuple(shape)
    r = (1,) * (rank - len(repeats)) + tuple(repeats)
    return tuple(d if n == 1 else (dims.BATCH if d == dims.BATCH else dims.mul(d, n))
                 for d, n in zip(s, r, strict=True))


def repeat(shape: Shape, repeats: int, axis: int | None = None) -> Shape:
    """Each element repeated along ``axis`` (on the flattened tensor when None)."""
    if axis is None:
        return (dims.mul(dims.prod(shape), repeats),)
    a = canonical_axis(axis, len(shape))
    d = shape[a]
    return (*shape[:a], d if d == dims.BATCH else dims.mul(d, repeats), *shape[a + 1:])


def one_hot(shape: Shape, num_classes: Dim, axis: int = -1) -> Shape:
    """A new axis of ``num_classes`` at ``axis`` (last by default)."""
    rank = len(shape) + 1
    return _insert(shape, canonical_axis(axis, rank), num_classes)


def top_k(shape: Shape, k: int) -> tuple[Shape, Shape]:
    """Values and indices: the last axis cut to k."""
    if not shape:
        raise _fail("top_k: a scalar has no last axis")
    last = dims.as_int(shape[-1])
    if last is not None and k > last:
        raise _fail(f"top_k: k={k} is larger than the last axis ({last})")
    out = (*shape[:-1], k)
    return out, out


def take(shape: Shape, indices: Shape, axis: int | None = None) -> Shape:
    """Gathering along ``axis``: that axis replaced by the indices' shape (on the
    flattened tensor when None)."""
    if axis is None:
        return tuple(indices)
    a = canonical_axis(axis, len(shape))
    return (*shape[:a], *indices, *shape[a + 1:])


def take_along_axis(shape: Shape, indices: Shape, axis: int | None = None) -> Shape:
    """Gathering along ``axis`` by indices of the same rank: the indices' size on that
    axis, the other axes broadcast (the flattened tensor and 1-D indices when None)."""
    if axis is None:
        if len(indices) != 1:
            raise _fail(f"take_along_axis: 1-D indices expected, got {format_shape(indices)}")
        return tuple(indices)
    if len(indices) != len(shape):
        raise _fail(f"take_along_axis: indices {format_shape(indices)} and tensor "
                    f"{format_shape(shape)} differ in rank")
    a = canonical_axis(axis, len(shape))
    return tuple(i if k == a else broadcast_shapes((d,), (i,))[0]
                 for k, (d, i) in enumerate(zip(shape, indices, strict=True)))


def cumulative(shape: Shape, axis: int | None = None) -> Shape:
    """cumsum / cumprod: the same shape, or the flattened size when ``axis`` is None."""
    if axis is None:
        return (dims.prod(shape),)
    canonical_axis(axis, len(shape))
    return tuple(shape)


def broadcast_to(shape: Shape, target: Sequence[Dim]) -> Shape:
    """``target``, which ``shape`` must broadcast to."""
    out = broadcast_shapes(shape, tuple(target))
    if len(out) != len(target):
        raise _fail(f"cannot broadcast {format_shape(shape)} to {format_shape(tuple(target))}")
    return tuple(target)
