"""Reshaping layers that only move elements around: Flatten, Reshape, Permute,
RepeatVector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
from convcalc.layers.common import elements, expect_rank, one_input
from convcalc.rules import RESHAPE_MISMATCH
from convcalc.types import TensorType, format_shape

if TYPE_CHECKING:
    from convcalc.kernels import Array


@register
class Flatten(LayerSpec):
    """Collapse all non-batch dims into one."""

    class_name = "Flatten"
    family = "reshaping"
    positional = ("data_format",)

    data_format: str = option(default="channels_last", convert=arg.data_format)

    examples = (
        Example({}, ((None, 4, 5, 3),)),
        Example({"data_format": "channels_first"}, ((None, 3, 4),)),
        Example({"data_format": "channels_first"}, ((None, 3, 4, 5),)),
        Example({}, ((None, None, 3),)),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, d1, ..., dn) -> (batch, d1 * ... * dn)"""
        x = one_input(inputs, self.class_name)
        return (x.with_shape((x.batch, dims.prod(x.shape[1:]))),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x.reshape(batch, -1), channels moved last first for channels_first data."""
        import numpy as np

        x = np.asarray(inputs[0])
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return (x.reshape(x.shape[0], -1),)


@register
class Reshape(LayerSpec):
    """Reshape the non-batch dims; one target dim may be -1."""

    class_name = "Reshape"
    family = "reshaping"
    positional = ("target_shape",)
    renamed = {"dims": "target_shape"}

    target_shape: tuple[Dim, ...] = option(convert=arg.dim_tuple)

    examples = (
        Example({"target_shape": (6, 2)}, ((None, 3, 4),)),
        Example({"target_shape": (-1, 4)}, ((None, 2, 6),)),
        Example({"target_shape": (2, -1, 3)}, ((None, 4, 3, 2),)),
        Example({"target_shape": (5, 5)}, ((None, 3, 4),), fails=True),
        Example({"target_shape": (-1, 5)}, ((None, 3, 4),), fails=True),
    )

    def validate(self) -> None:
        ints = [d for d in self.target_shape if dims.is_int(d)]
        if any(d < -1 for d in ints):  # type: ignore[operator]
            raise ConfigError(f"Reshape: invalid target_shape {self.target_shape}")
        if ints.count(-1) > 1:
            raise ConfigError("Reshape: at most one target dim can be -1")

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Target shape with -1 = input elements / product of the other target dims."""
        x = one_input(inputs, self.class_name)
        size = elements(x)
        target = self.target_shape
        known = dims.prod(d for d in target if d != -1)
        desc = f"cannot reshape {format_shape(x.shape)} to {format_shape((x.batch, *target))}"
        if -1 not in target:
            ctx.require_equal(size, known, RESHAPE_MISMATCH,
                              f"{desc}: {size} elements vs {known}")
            return (x.with_shape((x.batch, *target)),)
        if dims.is_int(size) and dims.is_int(known):
            if known == 0 or size % known:  # type: ignore[operator]
                raise ShapeError(
                    RESHAPE_MISMATCH,
                    f"{desc}: {size} elements are not divisible by {known}",
                )
            missing: Dim = size // known  # type: ignore[operator]
        else:
            missing = dims.normalize(dims.to_expr(size) / dims.to_expr(known))
        out = tuple(missing if d == -1 else d for d in target)
        return (x.with_shape((x.batch, *out)),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x.reshape(batch, *target_shape); a symbolic target dim is read off the array
        like -1 (one at most)."""
        import numpy as np

        x = np.asarray(inputs[0])
        target = [-1 if (n := dims.as_int(d)) is None else n for d in self.target_shape]
        return (x.reshape(x.shape[0], *target),)

    def summary(self) -> str:
        return format_shape(self.target_shape)


def _permutation(v: object, cls: type[LayerSpec] | None = None) -> tuple[int, ...]:
    """A permutation of 1..n (the non-batch axes, 1-based)."""
    out = arg.axes(v)
    if sorted(out) != list(range(1, len(out) + 1)):
        raise ConfigError(
            f"dims must be a permutation of 1..{len(out)} (the non-batch axes), got "
            f"{list(out)}"
        )
    return out


@register
class Permute(LayerSpec):
    """Reorder the non-batch axes: output axis i is input axis ``dims[i - 1]``."""

    class_name = "Permute"
    family = "reshaping"
    positional = ("dims",)

    dims: tuple[int, ...] = option(convert=_permutation)

    examples = (
        Example({"dims": (2, 1)}, ((None, 3, 4),)),
        Example({"dims": (3, 1, 2)}, ((None, None, 4, 5),)),
        Example({"dims": (1,)}, ((None, 7),)),
        Example({"dims": (2, 1)}, ((None, 3, 4, 5),), fails=True),
        Example({"dims": (1, 3)}, ((None, 3, 4),), fails=True),
        Example({"dims": (0, 1)}, ((None, 3, 4),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, d1, ..., dn) -> (batch, d[dims[0]], ..., d[dims[n-1]])"""
        x = one_input(inputs, self.class_name)
        expect_rank(x, len(self.dims) + 1, self.class_name)
        return (x.with_shape((x.batch, *(x.shape[i] for i in self.dims))),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """x.transpose(0, *dims)."""
        import numpy as np

        return (np.transpose(inputs[0], (0, *self.dims)),)

    def summary(self) -> str:
        return format_shape(self.dims)


@register
class RepeatVector(LayerSpec):
    """Repeat a (batch, features) input n times: (batch, n, features)."""

    class_name = "RepeatVector"
    family = "reshaping"
    positional = ("n",)

    n: Dim = option(convert=arg.positive_dim)

    examples = (
        Example({"n": 3}, ((None, 4),)),
        Example({"n": 1}, ((None, None),)),
        Example({"n": 3}, ((None, 4, 5),), fails=True),
        Example({"n": 0}, ((None, 4),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, d) -> (batch, n, d)"""
        x = one_input(inputs, self.class_name)
        expect_rank(x, 2, self.class_name)
        return (x.with_shape((x.batch, self.n, x.shape[1])),)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """y[:, i, :] = x for i < n."""
        import numpy as np

        n = dims.as_int(self.n)
        if n is None:
            raise NotImplementedError(f"RepeatVector: n={self.n} is not a number")
        return (np.repeat(np.asarray(inputs[0])[:, None, :], n, axis=1),)

    def summary(self) -> str:
        return str(self.n)
