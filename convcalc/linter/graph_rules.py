"""Graph rules: how layers are wired (flattening, recurrent stacks, inputs, dead layers)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from convcalc import dims
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.graph import Layer, LayerCall, LayerGraph, TensorRef
from convcalc.layers.base import InferContext
from convcalc.linter.registry import PASS_THROUGH, ModelView, check
from convcalc.rules import WRONG_RANK, define_rule
from convcalc.types import Span, TensorType, format_shape

E, W = Severity.ERROR, Severity.WARNING

MISSING_FLATTEN = define_rule(
    "CC201", "missing-flatten", W,
    "A Dense classifier head is applied to a feature map (rank 4 or more) without a "
    "Flatten or global pooling, so the model outputs a map of predictions.",
    "Dense acts on the last axis only: on a (batch, h, w, c) map it makes one "
    "prediction per position. The model's output then has a smaller spatial size than "
    "its input and a rank the labels do not have; fit fails or trains the wrong thing.",
    "Add Flatten() or GlobalAveragePooling2D() before the first Dense of the head.",
    bad="""
x = layers.MaxPooling2D()(layers.Conv2D(32, 3)(inputs))
outputs = layers.Dense(10, activation="softmax")(x)
""",
    good="""
x = layers.MaxPooling2D()(layers.Conv2D(32, 3)(inputs))
x = layers.Flatten()(x)
outputs = layers.Dense(10, activation="softmax")(x)
""",
)
RNN_SEQUENCES = define_rule(
    "CC202", "rnn-missing-return-sequences", E,
    "A recurrent layer is fed by another recurrent layer that returns only its last "
    "step (return_sequences=False), so it receives a 2-D tensor.",
    "Keras raises: the second RNN expects (batch, timesteps, features). Every RNN of a "
    "stack but the last must return the whole sequence.",
    "Pass return_sequences=True to every recurrent layer that feeds another one.",
    bad="""
model = keras.Sequential([layers.Input((20, 8)), layers.LSTM(64), layers.LSTM(32)])
""",
    good="""
model = keras.Sequential([layers.Input((20, 8)),
                          layers.LSTM(64, return_sequences=True), layers.LSTM(32)])
""",
)
BATCH_IN_INPUT_SHAPE = define_rule(
    "CC203", "input-shape-includes-batch", E,
    "An input shape includes the batch dimension, so every layer sees one axis too many.",
    "input_shape / Input(shape=...) describe one sample; Keras adds the batch axis "
    "itself. With the batch written in, the first layer gets a tensor of the wrong rank "
    "and Keras raises.",
    "Drop the leading batch size: Input(shape=(28, 28, 1)), not (None, 28, 28, 1).",
    bad="inputs = keras.Input(shape=(None, 28, 28, 1))\nx = layers.Conv2D(8, 3)(inputs)",
    good="inputs = keras.Input(shape=(28, 28, 1))\nx = layers.Conv2D(8, 3)(inputs)",
)
CHANNELS_ORDER = define_rule(
    "CC204", "channels-order-mismatch", W,
    "Image input laid out channels-first, e.g. (3, 224, 224), read by a layer that "
    "expects channels-last (or the reverse).",
    "The layer takes the last axis as channels: it convolves over (channels, height) "
    "and treats the width as 224 channels. The model builds, with the wrong shapes and "
    "far too many weights.",
    "Transpose the data to (h, w, c) and declare the input that way, or pass "
    "data_format='channels_first' to the layers.",
    bad="inputs = keras.Input(shape=(3, 32, 32))\nx = layers.Conv2D(16, 3)(inputs)",
    good="inputs = keras.Input(shape=(32, 32, 3))\nx = layers.Conv2D(16, 3)(inputs)",
)
UNUSED_INPUT = define_rule(
    "CC205", "unused-input", W,
    "A model input that no layer reads and that is not an output.",
    "The model still requires data for it in fit / predict; usually a branch was wired "
    "to the wrong tensor.",
    "Connect the input to the layers meant to read it, or remove it from the model's "
    "inputs.",
    bad="model = keras.Model([image, meta], layers.Dense(1)(image))",
    good="model = keras.Model([image, meta], "
         "layers.Dense(1)(layers.Concatenate()([image, meta])))",
)
UNCONNECTED_LAYER = define_rule(
    "CC206", "unconnected-layer", W,
    "A layer is called on tensors but its result reaches no model.",
    "The computation is dead: its output is overwritten or forgotten, so the layer is "
    "not part of the model (often a typo in a variable name, like x vs y).",
    "Feed the result into the model, or remove the call.",
    bad="x = layers.Dense(64)(inputs)\ny = layers.Dropout(0.5)(x)\n"
        "outputs = layers.Dense(1)(x)",
    good="x = layers.Dense(64)(inputs)\nx = layers.Dropout(0.5)(x)\n"
         "outputs = layers.Dense(1)(x)",
)

_RECURRENT = frozenset({"LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D",
                        "ConvLSTM2D", "ConvLSTM3D", "CuDNNLSTM", "CuDNNGRU"})
_SHAPE_KEEPING = PASS_THROUGH | {"BatchNormalization", "LayerNormalization", "Activation",
                                 "ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU"}


def _final_dense(view: ModelView, ref: TensorRef) -> LayerCall | None:
    """The Dense that produced a model output, looking back through layers that keep
    the shape (activations, dropout, normalisation)."""
    c = view.producer(ref)
    while c.layer.class_name in _SHAPE_KEEPING and len(c.inputs) == 1:
        c = view.producer(c.inputs[0])
    return c if c.layer.class_name == "Dense" else None


@check(MISSING_FLATTEN)
def missing_flatten(view: ModelView) -> Iterator[Diagnostic]:
    ins = [t for t in view.analysis.input_types if t is not None]
    for ref in view.graph.outputs:
        dense = _final_dense(view, ref)
        out = view.analysis.tensor(ref)
        if dense is None or out is None or out.rank < 4:
            continue
        x = view.input_type(dense)
        if x is None or x.rank < 4:
            continue
        # a same-resolution map out (a segmentation head) is deliberate; a smaller one
        # is a classifier that lost its Flatten
        spatial = out.shape[1:-1]
        if any(t.rank == out.rank and _same_dims(t.shape[1:-1], spatial) for t in ins):
            continue
        yield MISSING_FLATTEN.diagnostic(
            f"{dense.layer.name}: Dense applied to the feature map {format_shape(x.shape)}; "
            f"the model outputs {format_shape(out.shape)}, one prediction per position",
            span=view.span_of(dense), layer=dense.layer.name)


def _same_dims(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(dims.identical(x, y) for x, y in zip(a, b, strict=True))


def _wrong_rank_calls(view: ModelView) -> Iterator[tuple[LayerCall, Diagnostic]]:
    by_site = {(view.span_of(c), c.layer.name): c for c in view.calls()}
    for d in view.analysis.diagnostics:
        if d.code == WRONG_RANK.code:
            call = by_site.get((d.span, d.layer or ""))
            if call is not None and call.inputs:
                yield call, d


def _returns_sequences(spec: Any) -> bool | None:
    inner = getattr(spec, "layer", None)
    if inner is not None and hasattr(inner, "return_sequences"):
        spec = inner
    value = getattr(spec, "return_sequences", None)
    return value if isinstance(value, bool) else None


@check(RNN_SEQUENCES)
def rnn_missing_sequences(view: ModelView) -> Iterator[Diagnostic]:
    for call, diag in _wrong_rank_calls(view):
        if call.layer.class_name not in _RECURRENT:
            continue
        feeder = view.source_call(call)
        if feeder.layer.class_name not in _RECURRENT:
            continue
        if _returns_sequences(feeder.layer.spec) is not False:
            continue
        view.superseded.add((diag.code, diag.span, diag.layer))
        x = view.input_type(call)
        got = f" {format_shape(x.shape)}" if x is not None else ""
        yield RNN_SEQUENCES.diagnostic(
            f"{call.layer.name}: {call.layer.class_name} receives the 2-D output{got} of "
            f"{feeder.layer.name}, which returns only its last step (return_sequences="
            "False)", span=view.span_of(call), layer=call.layer.name,
            related=tuple(s for s in (view.span_of(feeder),) if s is not None))


def _accepts(call: LayerCall, x: TensorType) -> bool:
    spec = call.layer.spec
    if spec is None:
        return False
    ctx = InferContext(call.kwargs)
    try:
        spec.infer([x], ctx)
    except Exception:
        return False
    return not ctx.problems


@check(BATCH_IN_INPUT_SHAPE)
def batch_in_input_shape(view: ModelView) -> Iterator[Diagnostic]:
    inputs = {r.node for r in view.graph.inputs}
    for call, diag in _wrong_rank_calls(view):
        if len(call.inputs) != 1:
            continue
        src = view.source_call(call)
        x = view.input_type(call)
        if src.id not in inputs or x is None or x.rank < 3:
            continue
        lead = x.shape[1]
        if not (isinstance(lead, dims.Sym) or (dims.is_int(lead) and lead <= 512)):
            continue
        without = TensorType((x.shape[0], *x.shape[2:]), x.dtype)
        if not _accepts(call, without):
            continue
        view.superseded.add((diag.code, diag.span, diag.layer))
        span = src.layer.span or view.span_of(call)
        # a None written as the first size shows as a free symbol: print it as written
        declared = format_shape((dims.BATCH, *x.shape[2:])) if isinstance(
            lead, dims.Sym) else format_shape(x.shape[1:])
        yield BATCH_IN_INPUT_SHAPE.diagnostic(
            f"{src.layer.name}: the input shape {declared} seems to "
            f"include the batch: {call.layer.name} ({call.layer.class_name}) rejects "
            f"a {x.rank}-D input but accepts {format_shape(without.shape)}",
            span=span, layer=src.layer.name,
            related=tuple(s for s in (view.span_of(call),) if s is not None and s != span))


_IMAGE_CHANNELS = (1, 3, 4)


@check(CHANNELS_ORDER)
def channels_order(view: ModelView) -> Iterator[Diagnostic]:
    inputs = {r.node for r in view.graph.inputs}
    seen: set[int] = set()
    for call in view.calls():
        spec: Any = call.layer.spec
        fmt = getattr(spec, "data_format", None)
        # images and volumes only: a short sequence of wide features is a legal 1-D input
        if fmt not in ("channels_last", "channels_first") or getattr(spec, "rank", 0) < 2:
            continue
        if not call.inputs or _image_source(view, call).id not in inputs:
            continue
        x = view.input_type(call)
        if x is None or x.rank != spec.rank + 2 or call.inputs[0].node in seen:
            continue
        shape = [dims.as_int(d) for d in x.shape[1:]]
        if any(d is None for d in shape):
            continue
        if fmt == "channels_last":
            chans, rest, want = shape[0], shape[1:], "channels-first"
        else:
            chans, rest, want = shape[-1], shape[:-1], "channels-last"
        if chans not in _IMAGE_CHANNELS or min(d for d in rest if d is not None) < 8:
            continue
        seen.add(call.inputs[0].node)
        axis = "last" if fmt == "channels_last" else "first"
        yield CHANNELS_ORDER.diagnostic(
            f"{call.layer.name}: the input {format_shape(x.shape)} looks {want} "
            f"({chans} channels), but "
            f"{call.layer.class_name} uses data_format='{fmt}' and reads the {axis} axis "
            "as channels", span=view.span_of(call), layer=call.layer.name)


def _image_source(view: ModelView, call: LayerCall) -> LayerCall:
    """Where a layer's image comes from, looking back through value rescaling."""
    c = view.source_call(call)
    while c.layer.class_name in ("Rescaling", "Normalization") and len(c.inputs) == 1:
        c = view.source_call(c)
    return c


@check(UNUSED_INPUT)
def unused_input(view: ModelView) -> Iterator[Diagnostic]:
    outputs = set(view.graph.outputs)
    for ref in view.graph.inputs:
        if ref in outputs or view.consumers.get(ref):
            continue
        layer = view.producer(ref).layer
        yield UNUSED_INPUT.diagnostic(
            f"model {view.graph.name}: the input {layer.name} is read by no layer",
            span=layer.span or view.graph.span, layer=layer.name)


def unconnected_layers(graphs: list[LayerGraph], path: str, tree: ast.Module | None
                       ) -> Iterator[Diagnostic]:
    """CC206 over the models one run of a file built: layers called but in none of them,
    and layers created and then dropped (a bare ``Dense(10)`` statement, or assigned to a
    name the file never reads)."""
    from convcalc.frontend.source import called_layers
    from convcalc.layers.model import ModelSpec

    runs: dict[int, tuple[list[tuple[Layer, Span | None]], list[LayerGraph]]] = {}
    for g in graphs:
        called = called_layers(g)
        runs.setdefault(id(called), (called, []))[1].append(g)
    for called, built in runs.values():
        if not called:
            continue
        used: set[int] = set()
        todo = list(built)
        while todo:
            g = todo.pop()
            for layer in g.layers:
                if id(layer) not in used:
                    used.add(id(layer))
                    if isinstance(layer.spec, ModelSpec):
                        todo.append(layer.spec.graph)
        discarded = _discarded_calls(tree) if tree is not None else set()
        for layer, span in called:
            if id(layer) in used or layer.class_name == "InputLayer":
                continue
            if span is None:
                made = layer.span
                if made is not None and made.file == path and (made.line, made.col) in (
                        discarded):
                    yield UNCONNECTED_LAYER.diagnostic(
                        f"{layer.name}: this {layer.class_name} is created, then neither "
                        "called nor added to a model", span=made, layer=layer.name)
                continue
            if span.file != path:
                continue
            yield UNCONNECTED_LAYER.diagnostic(
                f"{layer.name}: the result of this {layer.class_name} call reaches no model",
                span=span, layer=layer.name)


def _discarded_calls(tree: ast.Module) -> set[tuple[int, int]]:
    """Positions of calls whose value is dropped: a bare expression statement, or an
    assignment to a local name that the file never reads (a module-level name may be
    imported elsewhere)."""
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Load)}
    values = [n.value for n in ast.walk(tree) if isinstance(n, ast.Expr)]
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            values += [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
                       and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
                       and n.targets[0].id not in loaded]
    return {(v.lineno, v.col_offset) for v in values if isinstance(v, ast.Call)}
