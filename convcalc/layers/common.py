"""Helpers shared by layer specs: rank checks, element counts, activation costs."""

from __future__ import annotations

from collections.abc import Sequence

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers.base import ShapeError
from convcalc.rules import INCOMPATIBLE_INPUT, WRONG_RANK
from convcalc.types import TensorType, format_shape

ACTIVATION_FLOPS: dict[str, int] = {"linear": 0, "softmax": 3, "log_softmax": 3}
"""FLOPs per element of a fused activation: 0 for linear, 3 for (log-)softmax (exp,
sum, divide), 1 for any other element-wise non-linearity."""


def activation_flops(name: str, elements: Dim) -> Dim:
    """FLOPs of applying activation ``name`` to ``elements`` values."""
    return dims.mul(ACTIVATION_FLOPS.get(name, 1), elements)


def elements(t: TensorType) -> Dim:
    """Elements of one sample of ``t`` (all dims but the batch)."""
    return dims.prod(t.shape[1:])


def one_input(inputs: Sequence[TensorType], class_name: str) -> TensorType:
    """The single input of a one-input layer."""
    if len(inputs) != 1:
        raise ShapeError(
            INCOMPATIBLE_INPUT, f"{class_name} takes one input tensor, got {len(inputs)}"
        )
    return inputs[0]


def expect_rank(
    t: TensorType, rank: int | Sequence[int], class_name: str, what: str = ""
) -> None:
    """Raise CC103 unless ``t`` has (one of) the expected rank(s), batch included."""
    ranks = (rank,) if isinstance(rank, int) else tuple(rank)
    if t.rank in ranks:
        return
    want = " or ".join(str(r) for r in ranks)
    detail = f" ({what})" if what else ""
    raise ShapeError(
        WRONG_RANK,
        f"{class_name} expects a {want}-D input{detail}, got {t.rank}-D "
        f"{format_shape(t.shape)}",
    )


def expect_min_rank(t: TensorType, rank: int, class_name: str) -> None:
    """Raise CC103 unless ``t`` has at least ``rank`` dims, batch included."""
    if t.rank < rank:
        raise ShapeError(
            WRONG_RANK,
            f"{class_name} expects an input of rank >= {rank}, got {t.rank}-D "
            f"{format_shape(t.shape)}",
        )
