"""Embedding: a lookup table from integer ids to dense vectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc.dims import Dim
from convcalc.layers import arguments as arg
from convcalc.layers.base import (
    Example,
    InferContext,
    LayerSpec,
    ShapeError,
    option,
    register,
)
from convcalc.layers.common import one_input
from convcalc.rules import INCOMPATIBLE_INPUT
from convcalc.types import Initializer, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

UNIFORM = Initializer("RandomUniform", (("maxval", 0.05), ("minval", -0.05)))
"""Keras's ``'uniform'`` embedding initializer."""
HE_UNIFORM = Initializer("HeUniform")
ZEROS = Initializer("Zeros")


def _input_length(v: Any, cls: type[LayerSpec] | None = None) -> tuple[Dim | None, ...] | None:
    """Keras 2's input_length: None, a length, or one length (or None) per input axis."""
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return tuple(None if d is None else arg.positive_dim(d) for d in v)
    return (arg.positive_dim(v),)


@register
class Embedding(LayerSpec):
    """Map integer ids of any shape to vectors: (..., ) -> (..., output_dim).

    Keras 2's ``input_length`` is kept: it must agree with the input's non-batch dims,
    and fills those the input leaves unknown (Keras 3 ignores it).
    """

    class_name = "Embedding"
    family = "embedding"
    positional = (
        "input_dim", "output_dim", "embeddings_initializer", "embeddings_regularizer",
        "embeddings_constraint", "mask_zero", "weights", "lora_rank", "lora_alpha",
    )
    renamed = {
        "init": "embeddings_initializer",
        "W_regularizer": "embeddings_regularizer",
        "W_constraint": "embeddings_constraint",
    }

    input_dim: Dim = option(convert=arg.positive_dim)
    output_dim: Dim = option(convert=arg.positive_dim)
    embeddings_initializer: Initializer | None = option(default=UNIFORM, convert=arg.initializer)
    mask_zero: bool = option(default=False, convert=arg.to_bool)
    input_length: tuple[Dim | None, ...] | None = option(default=None, convert=_input_length)
    lora_rank: int | None = option(default=None, convert=arg.optional(arg.positive_int))

    examples = (
        Example({"input_dim": 100, "output_dim": 8}, ((None, 5),)),
        Example({"input_dim": 100, "output_dim": 8}, ((None,),)),
        Example({"input_dim": 1000, "output_dim": 16, "mask_zero": True}, ((None, None),)),
        Example({"input_dim": 10, "output_dim": 3}, ((None, None, 3),)),
        Example({"input_dim": 100, "output_dim": 8, "lora_rank": 4}, ((None, 5),)),
        Example({"input_dim": 20, "output_dim": 8, "lora_rank": 4, "lora_alpha": 2.0},
                ((None, 5),)),
        Example({"input_dim": 100, "output_dim": 0}, ((None, 5),), fails=True),
        Example({"input_dim": 0, "output_dim": 8}, ((None, 5),), fails=True),
    )

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(batch, *ids) -> (batch, *ids, output_dim), float32"""
        x = one_input(inputs, self.class_name)
        ids = x.shape[1:]
        if self.input_length is not None:
            ids = self._with_input_length(x, ctx)
        return (TensorType((x.batch, *ids, self.output_dim), "float32"),)

    def _with_input_length(self, x: TensorType, ctx: InferContext) -> tuple[Dim, ...]:
        """Keras 2: input_length has one entry per non-batch axis; a known entry must
        match a known input dim and stands in for an unknown one."""
        lengths = self.input_length or ()
        message = (f"Embedding: input_length {list(lengths)} does not match input "
                   f"{format_shape(x.shape)}")
        if len(lengths) != x.rank - 1:
            raise ShapeError(INCOMPATIBLE_INPUT, message)
        out = []
        for want, have in zip(lengths, x.shape[1:], strict=True):
            if want is None:
                out.append(have)
                continue
            ctx.require_equal(have, want, INCOMPATIBLE_INPUT, message)
            out.append(want)
        return tuple(out)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        """embeddings (input_dim, output_dim); with LoRA it is frozen and two trainable
        factors (input_dim, r) and (r, output_dim) are added."""
        table = (self.input_dim, self.output_dim)
        if self.lora_rank is None:
            return (WeightSpec("embeddings", table, initializer=self.embeddings_initializer),)
        r = self.lora_rank
        return (
            WeightSpec("embeddings", table, False, self.embeddings_initializer),
            WeightSpec("lora_embeddings_a", (self.input_dim, r), initializer=HE_UNIFORM),
            WeightSpec("lora_embeddings_b", (r, self.output_dim), initializer=ZEROS),
        )

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """0 (a gather; LoRA's merge of the table is per call, not per sample)"""
        return 0

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """embeddings[ids]; with LoRA the table is embeddings + A @ B"""
        import numpy as np

        table = np.asarray(weights[0], np.float32)
        if self.lora_rank is not None:
            # Keras scales A @ B by lora_alpha / rank, but its build() enables LoRA
            # without passing lora_alpha on, which resets it to the rank: scale 1
            table = table + weights[1] @ weights[2]
        ids = np.asarray(inputs[0]).astype(np.int64)
        return (np.take(table, ids, axis=0).astype(np.float32),)

    def makes_mask(self) -> bool:
        return self.mask_zero

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """With mask_zero, ids != 0 (any incoming mask is replaced); else none."""
        import numpy as np

        return (np.asarray(inputs[0]) != 0,) if self.mask_zero else ()

    def summary(self) -> str:
        return f"{self.input_dim} -> {self.output_dim}" + (", mask 0" if self.mask_zero else "")
