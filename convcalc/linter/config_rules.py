"""Config rules: layer arguments that are legal but almost always a mistake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from convcalc import dims
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.graph import LayerCall
from convcalc.linter.registry import (
    ACTIVATION_LAYERS,
    ModelView,
    activation_of,
    check,
)
from convcalc.rules import define_rule
from convcalc.types import format_shape

W = Severity.WARNING

MISSING_NONLINEARITY = define_rule(
    "CC210", "missing-nonlinearity", W,
    "Two Dense layers follow each other with no activation on the first.",
    "A linear layer followed by a linear map is itself one linear map: the first layer "
    "adds weights and no expressive power. Usually activation='relu' was forgotten.",
    "Give the first layer an activation (activation='relu'), or merge the two layers.",
    bad="x = layers.Dense(128)(x)\nx = layers.Dense(64, activation='relu')(x)",
    good="x = layers.Dense(128, activation='relu')(x)\nx = layers.Dense(64, activation='relu')(x)",
)
DOUBLE_ACTIVATION = define_rule(
    "CC211", "double-activation", W,
    "An activation layer is applied to the output of a layer that already has a "
    "non-linear activation.",
    "softmax(softmax(x)) or sigmoid(sigmoid(x)) squashes the outputs into a narrow "
    "band and stalls training; relu after relu is redundant work.",
    "Keep one activation: drop the layer's activation= or the Activation layer after it.",
    bad="x = layers.Dense(10, activation='softmax')(x)\nx = layers.Activation('softmax')(x)",
    good="x = layers.Dense(10)(x)\nx = layers.Activation('softmax')(x)",
)
HIGH_DROPOUT = define_rule(
    "CC212", "dropout-rate-too-high", W,
    "A Dropout rate of 0.8 or more (1.0 drops everything).",
    "Keras's rate is the fraction of units dropped, not kept (TensorFlow 1's keep_prob "
    "was the opposite). At 0.8 most of the signal is discarded while training.",
    "Use the fraction to drop: Dropout(0.2) keeps 80% of the units.",
    bad="x = layers.Dropout(0.9)(x)",
    good="x = layers.Dropout(0.1)(x)",
)
EVEN_KERNEL_SAME = define_rule(
    "CC213", "even-kernel-same-padding", W,
    "A stride-1 convolution with an even kernel size and padding='same'.",
    "An even kernel has no centre: 'same' pads one pixel more on one side, so every such "
    "layer shifts the feature map by half a pixel and skip connections misalign.",
    "Use an odd kernel size (3, 5, 7) with padding='same'.",
    bad="x = layers.Conv2D(32, 4, padding='same')(x)",
    good="x = layers.Conv2D(32, 3, padding='same')(x)",
)
STRIDE_OVER_KERNEL = define_rule(
    "CC214", "stride-exceeds-kernel", W,
    "A convolution or pooling window moves by more than its own size, so some input "
    "pixels are never read.",
    "With strides larger than the (dilated) window, rows and columns between windows "
    "are skipped: information is lost without any cost saving that pooling would not "
    "give.",
    "Use strides no larger than the kernel (or pool) size, or a larger window.",
    bad="x = layers.Conv2D(32, 3, strides=4)(x)",
    good="x = layers.Conv2D(32, 3, strides=2)(x)",
)
WINDOW_TOO_LARGE = define_rule(
    "CC215", "window-larger-than-input", W,
    "A convolution kernel or pooling window with padding='same' is larger than the "
    "feature map it slides over.",
    "Most of the window then covers zero padding: the layer is an expensive way to "
    "compute something close to a global operation. Usually the map was down-sampled "
    "more often than intended.",
    "Use a smaller window, fewer down-sampling steps, or global pooling.",
    bad="x = layers.MaxPooling2D(pool_size=4, padding='same')(layers.Input((2, 2, 8)))",
    good="x = layers.GlobalMaxPooling2D()(layers.Input((2, 2, 8)))",
)

_CONVS = frozenset({"Conv1D", "Conv2D", "Conv3D"})
_DROPOUTS = frozenset({"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                       "AlphaDropout", "GaussianDropout"})


@check(MISSING_NONLINEARITY)
def missing_nonlinearity(view: ModelView) -> Iterator[Diagnostic]:
    for call in view.calls():
        # only Dense: stacked linear convolutions are a deliberate factorisation often
        # enough (dilated stacks, separable kernels) that flagging them is noise
        kind = call.layer.class_name
        if kind != "Dense":
            continue
        if activation_of(call.layer) != "linear":
            continue
        nxt = view.sole_consumer(call)
        if nxt is None or nxt.layer.class_name != kind or call.layer is nxt.layer:
            continue
        yield MISSING_NONLINEARITY.diagnostic(
            f"{call.layer.name}: {kind} without an activation feeds the {kind} "
            f"{nxt.layer.name}; the two make one linear map",
            span=view.span_of(call), layer=call.layer.name,
            related=tuple(s for s in (view.span_of(nxt),) if s is not None))


@check(DOUBLE_ACTIVATION)
def double_activation(view: ModelView) -> Iterator[Diagnostic]:
    for call in view.calls():
        if call.layer.class_name not in ACTIVATION_LAYERS or len(call.inputs) != 1:
            continue
        second = activation_of(call.layer)
        if second in (None, "linear"):
            continue
        prev = view.producer(call.inputs[0])
        first = activation_of(prev.layer)
        if first in (None, "linear") or view.sole_consumer(prev) is not call:
            continue
        yield DOUBLE_ACTIVATION.diagnostic(
            f"{call.layer.name}: {second} applied to the output of {prev.layer.name}, "
            f"which already applies {first}",
            span=view.span_of(call), layer=call.layer.name,
            related=tuple(s for s in (view.span_of(prev),) if s is not None))


@check(HIGH_DROPOUT)
def high_dropout(view: ModelView) -> Iterator[Diagnostic]:
    for layer in view.graph.layers:
        rate = getattr(layer.spec, "rate", None)
        if layer.class_name not in _DROPOUTS or not isinstance(rate, (int, float)):
            continue
        if rate < 0.8:
            continue
        what = "drops every unit" if rate >= 1 else f"drops {rate:.0%} of the units"
        yield HIGH_DROPOUT.diagnostic(f"{layer.name}: {layer.class_name}({rate:g}) {what}",
                                      span=layer.span, layer=layer.name)


def _window(spec: Any) -> tuple[tuple[int, ...], tuple[int, ...], str] | None:
    """(effective window, strides, padding) of a conv or pooling spec."""
    kernel = getattr(spec, "kernel_size", None) or getattr(spec, "pool_size", None)
    strides = getattr(spec, "strides", None)
    padding = getattr(spec, "padding", None)
    if not (isinstance(kernel, tuple) and isinstance(strides, tuple)
            and isinstance(padding, str)) or len(kernel) != len(strides):
        return None
    dilation = getattr(spec, "dilation_rate", None) or (1,) * len(kernel)
    if not all(isinstance(k, int) for k in (*kernel, *strides, *dilation)):
        return None
    effective = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True))
    return effective, strides, padding


def _is_transposed(call: LayerCall) -> bool:
    return "Transpose" in call.layer.class_name or "Deconv" in call.layer.class_name


@check(EVEN_KERNEL_SAME)
def even_kernel_same(view: ModelView) -> Iterator[Diagnostic]:
    for layer in view.graph.layers:
        spec: Any = layer.spec
        if layer.class_name not in _CONVS and layer.class_name not in (
                "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D"):
            continue
        w = _window(spec)
        if w is None or w[2] != "same" or max(w[1]) != 1:
            continue
        if not any(k % 2 == 0 for k in w[0]):
            continue
        yield EVEN_KERNEL_SAME.diagnostic(
            f"{layer.name}: kernel {'x'.join(map(str, spec.kernel_size))} with "
            "padding='same' pads unevenly and shifts the feature map by half a pixel",
            span=layer.span, layer=layer.name)


@check(STRIDE_OVER_KERNEL, WINDOW_TOO_LARGE)
def window_checks(view: ModelView) -> Iterator[Diagnostic]:
    from convcalc.linter.graph_rules import channels_order

    # with the channels on the wrong axis, tiny "spatial" sizes are a consequence
    transposed_input = any(True for _ in channels_order(view))
    for call in view.calls():
        if _is_transposed(call):
            continue
        w = _window(call.layer.spec)
        if w is None:
            continue
        window, strides, padding = w
        skipped = [i for i, (k, s) in enumerate(zip(window, strides, strict=True))
                   if k > 1 and s > k]
        if skipped and call.call_index == 0:
            yield STRIDE_OVER_KERNEL.diagnostic(
                f"{call.layer.name}: strides {strides} exceed the window {window}; "
                f"{strides[skipped[0]] - window[skipped[0]]} of every {strides[skipped[0]]} "
                "input positions are never read along that axis",
                span=view.span_of(call), layer=call.layer.name)
        if padding != "same" or transposed_input:
            continue
        x = view.input_type(call)
        spec: Any = call.layer.spec
        if x is None or x.rank != len(window) + 2:
            continue
        spatial = x.shape[1:-1] if getattr(spec, "data_format", "channels_last") == (
            "channels_last") else x.shape[2:]
        sizes = [dims.as_int(d) for d in spatial]
        over = [i for i, (n, k) in enumerate(zip(sizes, window, strict=True))
                if n is not None and k > n]
        if over:
            yield WINDOW_TOO_LARGE.diagnostic(
                f"{call.layer.name}: the {'x'.join(map(str, window))} window is larger than "
                f"its input {format_shape(x.shape)} along axis {over[0] + 1}",
                span=view.span_of(call), layer=call.layer.name)


BATCHNORM_AXIS = define_rule(
    "CC216", "batchnorm-axis-mismatch", W,
    "BatchNormalization normalises an axis other than the channels of the feature map it "
    "receives (axis=1 in a channels-last model, or the reverse).",
    "BatchNormalization keeps one mean and variance per index of its axis: on a spatial "
    "axis it learns per-row statistics, which breaks when the input size changes and does "
    "not normalise the channels. axis=1 is the Theano / channels-first habit of old Keras "
    "examples.",
    "Use axis=-1 for channels-last data (the default), axis=1 only for channels-first.",
    bad="x = layers.Conv2D(32, 3)(inputs)\nx = layers.BatchNormalization(axis=1)(x)",
    good="x = layers.Conv2D(32, 3)(inputs)\nx = layers.BatchNormalization()(x)",
)
BATCH_AXIS_CONCAT = define_rule(
    "CC217", "concatenate-on-batch-axis", W,
    "Concatenate joins tensors along axis 0, the batch axis.",
    "Stacking samples of two branches doubles the batch instead of joining features: "
    "the model builds, but its outputs no longer line up with its labels.",
    "Join features along the last axis (the default, axis=-1).",
    bad="x = layers.Concatenate(axis=0)([a, b])",
    good="x = layers.Concatenate()([a, b])",
)


def _data_format_upstream(view: ModelView, call: LayerCall, steps: int = 12) -> str | None:
    """The data_format of the nearest layer before ``call`` that declares one."""
    c = call
    for _ in range(steps):
        if len(c.inputs) != 1:
            return None
        c = view.producer(c.inputs[0])
        fmt = getattr(c.layer.spec, "data_format", None)
        if fmt in ("channels_last", "channels_first"):
            return str(fmt)
    return None


@check(BATCHNORM_AXIS)
def batchnorm_axis(view: ModelView) -> Iterator[Diagnostic]:
    for call in view.calls():
        if call.layer.class_name != "BatchNormalization" or call.call_index != 0:
            continue
        x = view.input_type(call)
        axes = getattr(call.layer.spec, "axis", None)
        if x is None or x.rank not in (4, 5) or not isinstance(axes, tuple) or not axes:
            continue
        fmt = _data_format_upstream(view, call)
        if fmt is None:
            continue
        channels = x.rank - 1 if fmt == "channels_last" else 1
        normalised = {a % x.rank for a in axes if isinstance(a, int)}
        if channels in normalised:
            continue
        yield BATCHNORM_AXIS.diagnostic(
            f"{call.layer.name}: BatchNormalization(axis={axes[0] if len(axes) == 1 else axes})"
            f" on {format_shape(x.shape)} from a {fmt} layer, whose channels are axis "
            f"{channels}", span=view.span_of(call), layer=call.layer.name)


@check(BATCH_AXIS_CONCAT)
def concatenate_batch_axis(view: ModelView) -> Iterator[Diagnostic]:
    for call in view.calls():
        if call.layer.class_name != "Concatenate":
            continue
        axis = getattr(call.layer.spec, "axis", -1)
        x = view.input_type(call)
        if x is None or not isinstance(axis, int) or axis % x.rank != 0:
            continue
        yield BATCH_AXIS_CONCAT.diagnostic(
            f"{call.layer.name}: Concatenate(axis={axis}) stacks the inputs along the batch "
            "axis", span=view.span_of(call), layer=call.layer.name)
