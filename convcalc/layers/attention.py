"""Attention layers: MultiHeadAttention, Attention (dot-product) and AdditiveAttention.

MultiHeadAttention is called as ``mha(query, value, key=None)`` (``call_args``; the
key defaults to the value; masks carry no shape and are not inputs). Attention and
AdditiveAttention take one list, ``[query, value]`` or ``[query, value, key]``. The
call option ``return_attention_scores=True`` adds the attention weights as a second
output.

Where Keras's symbolic shape differs from what the layer computes, convcalc follows the
computation: MultiHeadAttention's scores are (batch, heads, T, S) for a query of length
T and a key of length S (Keras's symbolic build reports (batch, heads, T, T)), and the
dims that the products contract must agree although Keras only checks them when the
model runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import Named, evaluate, named, total
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
from convcalc.layers.common import expect_min_rank
from convcalc.layers.core import GLOROT_UNIFORM, ONES, ZEROS
from convcalc.rules import INCOMPATIBLE_INPUT, INVALID_ARGUMENT, WRONG_RANK
from convcalc.types import Initializer, Shape, TensorType, WeightSpec, format_shape

if TYPE_CHECKING:
    from convcalc.layers.numeric import Array

SOFTMAX_FLOPS = 3
"""FLOPs per element of a softmax: exp, sum, divide."""


def _projection_shape(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int, ...] | None:
    """None (also for 0 or an empty sequence, as Keras), an int or a sequence of ints."""
    if not v:
        return None
    if isinstance(v, (list, tuple)):
        return tuple(arg.positive_int(x) for x in v)
    return (arg.positive_int(v),)


def _scores_requested(call_kwargs: Mapping[str, Any] | None) -> bool:
    return call_kwargs is not None and call_kwargs.get("return_attention_scores") is True


def _qvk(inputs: Sequence[TensorType], class_name: str) -> tuple[TensorType, ...]:
    """(query, value, key), the key defaulting to the value."""
    if len(inputs) not in (2, 3):
        raise ShapeError(
            INCOMPATIBLE_INPUT,
            f"{class_name} takes a query, a value and optionally a key, got "
            f"{len(inputs)} tensor{'s' if len(inputs) != 1 else ''}",
        )
    q, v = inputs[0], inputs[1]
    return q, v, inputs[2] if len(inputs) == 3 else v


@register
class MultiHeadAttention(LayerSpec):
    """Scaled dot-product attention over ``num_heads`` learned projections.

    Weights in Keras order: query/kernel (dq, H, Kd), key/kernel (dk, H, Kd), gate/kernel
    (dq, H, Vd) with use_gate, value/kernel (dv, H, Vd), attention_output/kernel (H, Vd,
    *out), each followed by its bias. MACs per sample, with Nq, Nk, Nv the query, key
    and value positions and S the score elements (heads included): Nq*dq*H*Kd +
    Nk*dk*H*Kd + Nv*dv*H*Vd (+ Nq*dq*H*Vd gate) + S*Kd (QK^T) + S*Vd (AV) +
    Nq*H*Vd*prod(out). FLOPs = 2 * MACs + the bias adds + Nq*H*Kd for the query scaling
    + 3 per score for the softmax (+ 2*Nq*H*Vd for the gate's sigmoid and product).
    """

    class_name = "MultiHeadAttention"
    family = "attention"
    positional = ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape",
                  "attention_axes", "sliding_window", "flash_attention", "kernel_initializer",
                  "bias_initializer", "kernel_regularizer", "bias_regularizer",
                  "activity_regularizer", "kernel_constraint", "bias_constraint", "use_gate",
                  "seed")
    call_args = ("query", "value", "key")
    supports_masking = True
    clears_input_masks = True

    num_heads: int = option(convert=arg.positive_int)
    key_dim: int = option(convert=arg.positive_int)
    value_dim: int | None = option(default=None, convert=arg.optional(arg.positive_int))
    dropout: float = option(default=0.0, convert=arg.to_float)
    use_bias: bool = option(default=True, convert=arg.to_bool)
    output_shape: tuple[int, ...] | None = option(default=None, convert=_projection_shape)
    attention_axes: tuple[int, ...] | None = option(default=None, convert=arg.optional(arg.axes))
    sliding_window: int | None = option(default=None, convert=arg.optional(arg.positive_int))
    flash_attention: bool | None = option(default=None, convert=arg.optional(arg.to_bool))
    use_gate: bool = option(default=False, convert=arg.to_bool)
    kernel_initializer: Initializer | None = option(default=GLOROT_UNIFORM, convert=arg.initializer)
    bias_initializer: Initializer | None = option(default=ZEROS, convert=arg.initializer)

    examples = (
        Example({"num_heads": 2, "key_dim": 8}, ((None, 5, 6), (None, 7, 3))),
        Example({"num_heads": 2, "key_dim": 8}, ((None, 5, 6), (None, 7, 3), (None, 7, 4))),
        # dropout (the identity at inference) keeps Keras 3.15 off its fused JAX
        # attention, which cannot run with value_dim != key_dim
        Example({"num_heads": 3, "key_dim": 4, "value_dim": 5, "use_bias": False,
                 "output_shape": (2, 3), "dropout": 0.1}, ((None, None, 6), (None, None, 3))),
        Example({"num_heads": 2, "key_dim": 4, "use_gate": True, "value_dim": 3,
                 "output_shape": 7, "dropout": 0.1}, ((None, 5, 6), (None, 7, 3))),
        Example({"num_heads": 2, "key_dim": 4}, ((None, 5, 6), (None, 5, 6)),
                call={"return_attention_scores": True}),
        Example({"num_heads": 2, "key_dim": 4, "attention_axes": (1, 2)},
                ((None, 3, 4, 6), (None, 5, 2, 6))),
        Example({"num_heads": 2, "key_dim": 3, "attention_axes": 2},
                ((None, 3, 4, 6), (None, 3, 5, 6))),
        Example({"num_heads": 2, "key_dim": 3, "attention_axes": (1, 3)},
                ((None, 2, 3, 4, 5), (None, 3, 3, 2, 5))),
        Example({"num_heads": 2, "key_dim": 4}, ((None, 5, 6), (None, 5, 6)),
                call={"use_causal_mask": True}),
        Example({"num_heads": 2, "key_dim": 4, "sliding_window": 2},
                ((None, 5, 6), (None, 5, 6)), call={"return_attention_scores": True}),
        Example({"num_heads": 2, "key_dim": 4}, ((None, 5, 6), (None, 7, 3), (None, 8, 3)),
                fails=True),
        Example({"num_heads": 0, "key_dim": 4}, ((None, 5, 6), (None, 7, 3)), fails=True),
        Example({"num_heads": 2, "key_dim": 4, "value_dim": 0},
                ((None, 5, 6), (None, 7, 3)), fails=True),
        Example({"num_heads": 2, "key_dim": 4, "dropout": 0.1, "flash_attention": True},
                ((None, 5, 6), (None, 7, 3)), fails=True),
    )

    def validate(self) -> None:
        if self.flash_attention and self.dropout > 0:
            raise ConfigError(
                "MultiHeadAttention: dropout is not supported with flash_attention=True",
                "dropout")

    @property
    def value_width(self) -> int:
        return self.value_dim or self.key_dim

    def _axes(self, rank: int) -> tuple[int, ...]:
        """Attention axes of a query of this rank, as non-negative indices."""
        if self.attention_axes is None:
            return tuple(range(1, rank - 1))
        out = tuple(a + rank if a < 0 else a for a in self.attention_axes)
        if any(not 1 <= a <= rank - 2 for a in out):
            raise ShapeError(
                INVALID_ARGUMENT,
                f"MultiHeadAttention: attention_axes={self.attention_axes} must name axes "
                f"between 1 and {rank - 2} of a {rank}-D query (not the batch or the "
                f"features)",
            )
        return out

    def _out_dims(self, q: TensorType) -> Shape:
        return self.output_shape or (q.shape[-1],)

    def _scores(self, q: TensorType, k: TensorType) -> Shape:
        """(batch, non-attention dims, heads, query attention dims, key attention dims)"""
        axes = self._axes(q.rank)
        rest = [q.shape[i] for i in range(1, q.rank - 1) if i not in axes]
        return (q.batch, *rest, self.num_heads, *(q.shape[a] for a in axes),
                *(k.shape[a] for a in axes))

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        return 2 if _scores_requested(call_kwargs) else 1

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """query (B, ..., dq) -> (B, ..., *output_shape or dq); scores (B, non-attention
        dims, heads, query attention dims, key attention dims)"""
        q, v, k = _qvk(inputs, self.class_name)
        expect_min_rank(q, 3, self.class_name)
        for t, what in ((v, "value"), (k, "key")):
            if t.rank != q.rank:
                raise ShapeError(
                    WRONG_RANK,
                    f"MultiHeadAttention: the {what} {format_shape(t.shape)} must have the "
                    f"rank of the query {format_shape(q.shape)}",
                )
        message = (f"MultiHeadAttention: the value {format_shape(v.shape)} and the key "
                   f"{format_shape(k.shape)} must agree on every axis but the last")
        for a, b in zip(v.shape[1:-1], k.shape[1:-1], strict=True):
            ctx.require_equal(a, b, INCOMPATIBLE_INPUT, message)
        axes = self._axes(q.rank)
        message = (f"MultiHeadAttention: the query {format_shape(q.shape)} and the key "
                   f"{format_shape(k.shape)} must agree on the axes outside "
                   f"attention_axes={axes}")
        for i in range(1, q.rank - 1):
            if i not in axes:
                ctx.require_equal(q.shape[i], k.shape[i], INCOMPATIBLE_INPUT, message)
        out = TensorType((*q.shape[:-1], *self._out_dims(q)))
        if not _scores_requested(ctx.call_kwargs):
            return (out,)
        if self.flash_attention:
            ctx.error(INVALID_ARGUMENT,
                      "MultiHeadAttention: return_attention_scores is not supported with "
                      "flash_attention=True")
        return out, TensorType(self._scores(q, k))

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        q, v, k = _qvk(inputs, self.class_name)
        heads, vd = self.num_heads, self.value_width
        out = self._out_dims(q)
        parts = [("query", q.shape[-1], self.key_dim), ("key", k.shape[-1], self.key_dim)]
        if self.use_gate:
            parts.append(("gate", q.shape[-1], vd))
        parts.append(("value", v.shape[-1], vd))
        weights: list[WeightSpec] = []
        for name, d, width in parts:
            weights.append(WeightSpec(f"{name}/kernel", (d, heads, width),
                                      initializer=self.kernel_initializer))
            if self.use_bias:
                weights.append(WeightSpec(f"{name}/bias", (heads, width),
                                          initializer=self.bias_initializer))
        weights.append(WeightSpec("attention_output/kernel", (heads, vd, *out),
                                  initializer=self.kernel_initializer))
        if self.use_bias:
            weights.append(WeightSpec("attention_output/bias", out,
                                      initializer=self.bias_initializer))
        return tuple(weights)

    def _counts(self, inputs: Sequence[TensorType]) -> tuple[Dim, Dim, Dim, Dim, Dim]:
        """Positions of query, key and value, score elements, output width."""
        q, v, k = _qvk(inputs, self.class_name)
        return (dims.prod(q.shape[1:-1]), dims.prod(k.shape[1:-1]), dims.prod(v.shape[1:-1]),
                dims.prod(self._scores(q, k)[1:]), dims.prod(self._out_dims(q)))

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """Nq*dq*H*Kd + Nk*dk*H*Kd + Nv*dv*H*Vd (+ Nq*dq*H*Vd gate) + S*(Kd + Vd)
        + Nq*H*Vd*prod(out)"""
        q, v, k = _qvk(inputs, self.class_name)
        nq, dq = named("Nq", *q.shape[1:-1]), named("dq", q.shape[-1])
        heads, kd, vd = (named("H", self.num_heads), named("Kd", self.key_dim),
                         named("Vd", self.value_width))
        terms = [nq * dq * heads * kd,
                 named("Nk", *k.shape[1:-1]) * named("dk", k.shape[-1]) * heads * kd,
                 named("Nv", *v.shape[1:-1]) * named("dv", v.shape[-1]) * heads * vd]
        if self.use_gate:
            terms.append(nq * dq * heads * vd)
        terms += [named("S", *self._scores(q, k)[1:]) * (kd + vd),
                  nq * heads * vd * named("prod(out)", *self._out_dims(q))]
        return evaluate(total(terms))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs + bias adds + Nq*H*Kd (query scaling) + 3 per score (softmax)
        (+ 2*Nq*H*Vd gate sigmoid and product)"""
        nq, nk, nv, scores, width = self._counts(inputs)
        hk, hv = self.num_heads * self.key_dim, self.num_heads * self.value_width
        gate = dims.mul(nq, hv) if self.use_gate else 0
        bias = dims.total((dims.mul(nq, hk), dims.mul(nk, hk), dims.mul(nv, hv), gate,
                           dims.mul(nq, width))) if self.use_bias else 0
        return dims.total((
            dims.mul(2, self.macs(inputs, outputs)),
            bias,
            dims.mul(nq, hk),
            dims.mul(SOFTMAX_FLOPS, scores),
            dims.mul(2, gate),
        ))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """softmax((q W_q + b) (k W_k + b)^T / sqrt(key_dim)) (v W_v + b) per head, over
        the attention axes jointly (optionally gated by sigmoid(q W_g + b)), projected
        back by the output kernel; then the scores if requested."""
        import numpy as np

        from convcalc.layers import numeric

        q, v, k = (numeric.as_float(t) for t in _qvk_arrays(inputs))
        ws = iter(weights)

        def project(x: Array) -> Array:
            y = np.tensordot(x, next(ws), axes=([-1], [0]))
            return y + next(ws) if self.use_bias else y

        pq, pk = project(q), project(k)
        gate = numeric.sigmoid(project(q)) if self.use_gate else None
        pv = project(v)
        rank = q.ndim
        axes = self._axes(rank)
        rest = [i for i in range(1, rank - 1) if i not in axes]
        # (B, *rest, heads, positions on the attention axes, width)
        order = [0, *rest, rank - 1, *axes, rank]

        def grouped(x: Array) -> Array:
            t = x.transpose(order)
            return t.reshape(*t.shape[:len(rest) + 2], -1, t.shape[-1])

        scores = grouped(pq) * np.asarray(1 / np.sqrt(self.key_dim), pq.dtype)
        scores = scores @ np.swapaxes(grouped(pk), -1, -2)
        mask = self._mask(q.shape, k.shape, call_kwargs)
        # Keras's fused path (rank-3 query, no dropout, no scores returned) leaves a
        # fully masked row uniform; its softmax-layer path zeroes the masked weights
        fused = not (self.dropout > 0 or _scores_requested(call_kwargs) or rank != 3)
        if mask is not None:
            masked = -0.7 * np.finfo(np.float32).max if fused else -1e9
            scores = np.where(mask, scores, np.asarray(masked, scores.dtype))
        probs = numeric.softmax(scores, -1)
        if mask is not None and not fused:
            probs = np.where(mask, probs, np.zeros((), probs.dtype))
        attended = probs @ grouped(pv)
        shape_q = [pq.shape[i] for i in order]
        attended = attended.reshape(*shape_q[:-1], attended.shape[-1])
        attended = attended.transpose(np.argsort(order))
        if gate is not None:
            attended = attended * gate
        out_kernel = next(ws)
        out = np.tensordot(attended, out_kernel, axes=([-2, -1], [0, 1]))
        if self.use_bias:
            out = out + next(ws)
        if not _scores_requested(call_kwargs):
            return (out.astype(q.dtype),)
        key_positions = [k.shape[a] for a in axes]
        probs = probs.reshape(*shape_q[:-1], *key_positions)
        return out.astype(q.dtype), probs

    def _mask(self, q_shape: tuple[int, ...], k_shape: tuple[int, ...],
              call_kwargs: Mapping[str, Any]) -> Array | None:
        """Where a query position may attend to a key position, (B or 1, T, S): the
        attention_mask, value_mask and key_mask arrays of ``call_kwargs``, its
        query_mask (the Keras mask the query tensor carries: Keras ignores a query_mask
        argument), the causal and the sliding-window masks, all combined (rank-3
        queries only)."""
        import numpy as np

        from convcalc.layers import numeric

        causal = call_kwargs.get("use_causal_mask") is True
        given = {k: m for k in ("attention_mask", "query_mask", "value_mask", "key_mask")
                 if (m := numeric.mask_array(call_kwargs.get(k), k)) is not None}
        if not causal and self.sliding_window is None and not given:
            return None
        if len(q_shape) != 3:
            raise NotImplementedError(
                "MultiHeadAttention: attention masks are modelled for rank-3 queries only")
        rows = np.arange(q_shape[1])[:, None]
        cols = np.arange(k_shape[1])[None, :]
        mask = np.ones((1, q_shape[1], k_shape[1]), bool)
        if "attention_mask" in given:
            mask = mask & given["attention_mask"]
        if "query_mask" in given:
            mask = mask & given["query_mask"][:, :, None]
        for name in ("value_mask", "key_mask"):
            if name in given:
                mask = mask & given[name][:, None, :]
        if causal:
            mask = mask & (rows >= cols)
        if self.sliding_window is not None:
            mask = mask & (np.abs(rows - cols) < self.sliding_window)
        return mask[:, None]  # the heads axis

    def mask_arguments(self, masks: Sequence[Array | None]) -> dict[str, Any]:
        """query_mask, value_mask and key_mask: the masks of those inputs (Keras fills
        in ``<argument>_mask`` for each tensor argument of a call with several); the
        output keeps the query's mask."""
        names = ("query_mask", "value_mask", "key_mask")
        return {n: m for n, m in zip(names, masks, strict=False) if m is not None}

    def summary(self) -> str:
        return f"{self.num_heads} heads, key_dim {self.key_dim}"


def _qvk_arrays(inputs: Sequence[Array]) -> tuple[Array, Array, Array]:
    """(query, value, key) arrays, the key defaulting to the value."""
    return inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else inputs[1]


def _broadcastable(a: Dim, b: Dim) -> bool:
    return not (dims.is_int(a) and dims.is_int(b)) or a == b or 1 in (a, b)


class _ScoreAttention(LayerSpec):
    """Attention of a query over a key/value sequence, without projections.

    Inputs query (B, ..., Tq, d), value (B, ..., Tv, dv), key (B, ..., Tv, d) (the value
    by default). Output (B, ..., Tq, dv); scores (B, ..., Tq, Tv).
    """

    family = "attention"
    supports_masking = True
    mask_in_call = True

    use_scale: bool = option(default=False, convert=arg.to_bool)
    dropout: float = option(default=0.0, convert=arg.to_float)

    def _additive(self) -> bool:
        raise NotImplementedError

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """The query's mask, on the output (not on the scores)."""
        return self.previous_masks(masks, call_kwargs)[:1]

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        return 2 if _scores_requested(call_kwargs) else 1

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """(B, ..., Tq, d), (B, ..., Tv, dv) -> (B, ..., Tq, dv); scores (B, ..., Tq, Tv)"""
        q, v, k = _qvk(inputs, self.class_name)
        for t in (q, v, k):
            expect_min_rank(t, 2, self.class_name)
        features = (f"{self.class_name}: the query {format_shape(q.shape)} and the key "
                    f"{format_shape(k.shape)} need the same feature size")
        if self._additive():
            if not _broadcastable(q.shape[-1], k.shape[-1]):
                ctx.error(INCOMPATIBLE_INPUT, features)
            elif not (q.shape[-1] == 1 or k.shape[-1] == 1):
                ctx.require_equal(q.shape[-1], k.shape[-1], INCOMPATIBLE_INPUT, features)
        else:
            ctx.require_equal(q.shape[-1], k.shape[-1], INCOMPATIBLE_INPUT, features)
        ctx.require_equal(
            k.shape[-2], v.shape[-2], INCOMPATIBLE_INPUT,
            f"{self.class_name}: the key {format_shape(k.shape)} and the value "
            f"{format_shape(v.shape)} need the same sequence length",
        )
        out = TensorType((*q.shape[:-1], v.shape[-1]))
        if not _scores_requested(ctx.call_kwargs):
            return (out,)
        return out, TensorType((*q.shape[:-1], k.shape[-2]))

    def scores(self, q: Array, k: Array, weights: Sequence[Array]) -> Array:
        """Scores (B, ..., Tq, Tv) of every query position against every key."""
        raise NotImplementedError

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """softmax(scores) @ value; keys masked by use_causal_mask and the value mask,
        masked query rows zeroed (``call_kwargs["mask"]`` = [query_mask, value_mask]
        arrays, as Keras passes them); then the softmax weights if requested."""
        import numpy as np

        from convcalc.layers import numeric

        q, v, k = (numeric.as_float(t) for t in _qvk_arrays(inputs))
        scores = self.scores(q, k, weights)
        masks = call_kwargs.get("mask")
        if masks is not None and not isinstance(masks, (list, tuple)):
            raise NotImplementedError(f"{self.class_name}: the mask must be a list of arrays")
        q_mask, v_mask = (numeric.mask_array(m, f"{self.class_name} mask")
                          for m in (*(masks or ()), None, None)[:2])
        allowed = None if v_mask is None else v_mask[..., None, :]
        if call_kwargs.get("use_causal_mask") is True:
            rows, cols = scores.shape[-2:]
            causal = np.arange(rows)[:, None] >= np.arange(cols)[None, :]
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:
            scores = np.where(allowed, scores, scores - np.asarray(1e9, scores.dtype))
        probs = numeric.softmax(scores, -1)
        out = (probs @ v).astype(q.dtype)
        if q_mask is not None:
            out = np.where(q_mask[..., None], out, 0).astype(q.dtype)
        return (out, probs) if _scores_requested(call_kwargs) else (out,)

    def _pairs(self, inputs: Sequence[TensorType]) -> tuple[Dim, Dim, Dim]:
        """Query-key pairs, feature size d and value size dv."""
        q, v, k = _qvk(inputs, self.class_name)
        d = q.shape[-1] if q.shape[-1] != 1 else k.shape[-1]
        return dims.mul(dims.prod(q.shape[1:-1]), k.shape[-2]), d, v.shape[-1]

    def _pair_factors(self, inputs: Sequence[TensorType]) -> tuple[Named, Named, Named]:
        """:meth:`_pairs` as named factors: P (its query positions and Tv), d and dv."""
        q, _, k = _qvk(inputs, self.class_name)
        _, d, dv = self._pairs(inputs)
        return named("P", *q.shape[1:-1], k.shape[-2]), named("d", d), named("dv", dv)


@register
class Attention(_ScoreAttention):
    """Luong dot-product attention (score_mode 'dot') or tanh-sum scores ('concat').

    Weights: scale () with use_scale, concat_score_weight () with 'concat'. MACs per
    sample with P = Tq * Tv query-key pairs (all leading dims included): dot P*d + P*dv;
    concat P*dv. FLOPs = 2 * MACs + 3P (softmax) + P with use_scale ('dot'), or
    P*d*(3 + use_scale) + P ('concat': add, tanh, sum, scale; the score weight).
    """

    class_name = "Attention"
    positional = ("use_scale", "score_mode", "dropout", "seed")

    score_mode: str = option(default="dot", convert=arg.to_str)

    examples = (
        Example({}, ((None, 5, 6), (None, 7, 4), (None, 7, 6))),
        Example({"use_scale": True}, ((None, 5, 6), (None, 7, 6))),
        Example({"score_mode": "concat", "use_scale": True}, ((None, 5, 6), (None, 7, 6)),
                call={"return_attention_scores": True}),
        Example({}, ((None, None, 6), (None, None, 6)), call={"return_attention_scores": True}),
        Example({}, ((None, 2, 5, 6), (None, 2, 7, 6))),
        Example({"score_mode": "concat"}, ((None, 5, 6), (None, 5, 6)),
                call={"use_causal_mask": True}),
        Example({"score_mode": "general"}, ((None, 5, 6), (None, 7, 6)), fails=True),
        Example({}, ((None, 5, 6),), fails=True),
    )

    def validate(self) -> None:
        if self.score_mode not in ("dot", "concat"):
            raise ConfigError(
                f"Attention: score_mode must be 'dot' or 'concat', got {self.score_mode!r}",
                "score_mode")

    def _additive(self) -> bool:
        return self.score_mode == "concat"

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        out = []
        if self.use_scale:
            out.append(WeightSpec("scale", (), initializer=ONES))
        if self.score_mode == "concat":
            out.append(WeightSpec("concat_score_weight", (), initializer=ONES))
        return tuple(out)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """dot: P*d + P*dv; concat: P*dv (P = query positions * Tv)"""
        pairs, d, dv = self._pair_factors(inputs)
        weighted = pairs * dv
        return evaluate(weighted if self.score_mode == "concat" else pairs * d + weighted)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs + 3P + (P with use_scale | P*d*(3 + use_scale) + P for 'concat')"""
        pairs, d, _ = self._pairs(inputs)
        if self.score_mode == "concat":
            extra = dims.add(dims.mul(pairs, dims.mul(d, 3 + self.use_scale)), pairs)
        else:
            extra = pairs if self.use_scale else 0
        return dims.total((dims.mul(2, self.macs(inputs, outputs)),
                           dims.mul(SOFTMAX_FLOPS, pairs), extra))

    def scores(self, q: Array, k: Array, weights: Sequence[Array]) -> Array:
        """dot: q k^T (* scale); concat: weight * sum(tanh(scale * (q + k)))"""
        import numpy as np

        scale = weights[0] if self.use_scale else None
        if self.score_mode == "dot":
            out = q @ np.swapaxes(k, -1, -2)
            return out if scale is None else out * scale
        pairs = q[..., :, None, :] + k[..., None, :, :]
        if scale is not None:
            pairs = pairs * scale
        return np.asarray(weights[-1] * np.tanh(pairs).sum(axis=-1))

    def summary(self) -> str:
        return self.score_mode + (", scaled" if self.use_scale else "")


@register
class AdditiveAttention(_ScoreAttention):
    """Bahdanau attention: scores sum(scale * tanh(query + key)) over the features.

    Weights: scale (d,) with use_scale. MACs per sample with P = Tq * Tv pairs: P*dv
    (AV) + P*d with use_scale (the scale-weighted sum). FLOPs = 2 * MACs + 2*P*d (add,
    tanh) + P*d without use_scale (the sum) + 3P (softmax).
    """

    class_name = "AdditiveAttention"
    positional = ("use_scale", "dropout")

    use_scale: bool = option(default=True, convert=arg.to_bool)

    examples = (
        Example({}, ((None, 5, 6), (None, 7, 6))),
        Example({"use_scale": False}, ((None, 5, 6), (None, 7, 4), (None, 7, 6)),
                call={"return_attention_scores": True}),
        Example({}, ((None, None, 3), (None, None, 3))),
        Example({}, ((None, 4, 3), (None, 6, 2), (None, 6, 1)),
                call={"return_attention_scores": True}),
        Example({}, ((None, 5, 6), (None, 7, 6), (None, 7, 6), (None, 7, 6)), fails=True),
    )

    def _additive(self) -> bool:
        return True

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        if not self.use_scale:
            return ()
        return (WeightSpec("scale", (inputs[0].shape[-1],), initializer=GLOROT_UNIFORM),)

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """P*dv + P*d with use_scale (P = query positions * Tv)"""
        pairs, d, dv = self._pair_factors(inputs)
        weighted = pairs * dv
        return evaluate(weighted + pairs * d if self.use_scale else weighted)

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """2 * MACs + 2*P*d + P*d without use_scale + 3P"""
        pairs, d, _ = self._pairs(inputs)
        terms = 2 if self.use_scale else 3
        return dims.total((dims.mul(2, self.macs(inputs, outputs)),
                           dims.mul(terms, dims.mul(pairs, d)),
                           dims.mul(SOFTMAX_FLOPS, pairs)))

    def scores(self, q: Array, k: Array, weights: Sequence[Array]) -> Array:
        """sum(scale * tanh(q + k)) over the features"""
        import numpy as np

        terms = np.tanh(q[..., :, None, :] + k[..., None, :, :])
        if self.use_scale:
            terms = terms * weights[0]
        return np.asarray(terms.sum(axis=-1))

    def summary(self) -> str:
        return "scaled" if self.use_scale else ""
