"""Training-setup rules: output activation, loss, and the labels given to ``fit``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from convcalc import dims
from convcalc.diagnostics import Diagnostic, Severity
from convcalc.graph import LayerCall
from convcalc.linter import labels
from convcalc.linter.registry import PASS_THROUGH, ModelView, activation_of, check
from convcalc.rules import define_rule
from convcalc.types import Span, format_shape

E, W = Severity.ERROR, Severity.WARNING

SOFTMAX_ONE_UNIT = define_rule(
    "CC220", "softmax-on-one-unit", E,
    "softmax over an axis of size 1: the output is the constant 1.0.",
    "softmax normalises across the units; with a single unit every output is exactly 1, "
    "so the loss never changes and the model learns nothing. A binary classifier wants "
    "one sigmoid unit (or two softmax units).",
    "Use Dense(1, activation='sigmoid') with binary_crossentropy, or Dense(2, "
    "activation='softmax') with (sparse_)categorical_crossentropy.",
    bad="outputs = layers.Dense(1, activation='softmax')(x)",
    good="outputs = layers.Dense(1, activation='sigmoid')(x)",
)
ACTIVATION_LOSS = define_rule(
    "CC221", "activation-loss-mismatch", W,
    "The output activation does not suit the loss: sigmoid with categorical "
    "crossentropy, softmax with binary crossentropy over several units, or a "
    "softmax/sigmoid output with from_logits=True.",
    "Categorical crossentropy expects one distribution over classes (softmax); binary "
    "crossentropy scores each unit on its own (sigmoid); from_logits=True applies the "
    "squashing again, so the model trains on doubly squashed outputs.",
    "Pair softmax with categorical_crossentropy, sigmoid with binary_crossentropy, and "
    "use from_logits=True only with a linear output.",
    bad="outputs = layers.Dense(10, activation='sigmoid')(x)\n"
        "model.compile(loss='categorical_crossentropy')",
    good="outputs = layers.Dense(10, activation='softmax')(x)\n"
         "model.compile(loss='categorical_crossentropy')",
)
LOSS_ON_LOGITS = define_rule(
    "CC222", "probability-loss-on-logits", W,
    "A crossentropy loss expecting probabilities (from_logits=False, the default) "
    "is given an output without softmax or sigmoid.",
    "The loss clips the raw outputs into (0, 1) and takes their logarithm: gradients "
    "vanish or explode and accuracy stays at chance.",
    "Add activation='softmax' (or 'sigmoid') to the output layer, or pass "
    "from_logits=True to the loss.",
    bad="outputs = layers.Dense(10)(x)\nmodel.compile(loss='sparse_categorical_crossentropy')",
    good="outputs = layers.Dense(10)(x)\nmodel.compile(loss=keras.losses."
         "SparseCategoricalCrossentropy(from_logits=True))",
)
LABEL_ENCODING = define_rule(
    "CC223", "label-encoding-mismatch", E,
    "The labels given to fit are encoded differently from what the loss expects: "
    "integer class ids with categorical_crossentropy, or one-hot rows with "
    "sparse_categorical_crossentropy.",
    "categorical_crossentropy compares one-hot rows with the output; sparse_categorical_"
    "crossentropy takes one class id per sample. With the other encoding the shapes "
    "differ and fit raises.",
    "Use sparse_categorical_crossentropy for integer labels (or one-hot encode them "
    "with keras.utils.to_categorical), categorical_crossentropy for one-hot labels.",
    bad="y = np.random.randint(0, 10, size=(100,))\n"
        "model.compile(loss='categorical_crossentropy')\nmodel.fit(x, y)",
    good="y = np.random.randint(0, 10, size=(100,))\n"
         "model.compile(loss='sparse_categorical_crossentropy')\nmodel.fit(x, y)",
)
LABEL_SHAPE = define_rule(
    "CC224", "label-shape-mismatch", E,
    "The label array given to fit does not have the model output's shape.",
    "The loss compares labels with outputs element by element; Keras raises on the "
    "mismatch, or worse, broadcasts (N, 1) labels against (N, k) outputs and trains on "
    "nonsense.",
    "Make the output layer match the labels (units, rank), or reshape the labels.",
    bad="y = np.zeros((100, 5))\noutputs = layers.Dense(3, activation='softmax')(x)",
    good="y = np.zeros((100, 3))\noutputs = layers.Dense(3, activation='softmax')(x)",
)

INPUT_DATA_SHAPE = define_rule(
    "CC225", "input-data-shape-mismatch", E,
    "The input array given to fit does not have the shape of the model's input.",
    "Keras checks the data against the input layer and raises (\"expected shape (None, "
    "28, 28, 1), found (None, 784)\"): the data was flattened, or not reshaped to "
    "carry a channel axis, or the model was declared for other data.",
    "Reshape the data to the model's input shape (x.reshape(-1, 28, 28, 1)), or declare "
    "the Input with the data's shape.",
    bad="x = np.zeros((100, 784))\nmodel = keras.Sequential([keras.Input((28, 28, 1)), ...])"
        "\nmodel.fit(x, y)",
    good="x = np.zeros((100, 28, 28, 1))\nmodel = keras.Sequential([keras.Input((28, 28, 1)), "
         "...])\nmodel.fit(x, y)",
)
SAMPLE_COUNT = define_rule(
    "CC226", "sample-count-mismatch", E,
    "The inputs and labels given to fit hold different numbers of samples.",
    "Keras raises 'Data cardinality is ambiguous': every sample needs one label. Usually "
    "the training inputs are paired with the test labels, or one array was sliced.",
    "Pass arrays with the same first dimension (x_train with y_train).",
    bad="model.fit(x_train, y_test)",
    good="model.fit(x_train, y_train)",
)
ACCURACY_ON_REGRESSION = define_rule(
    "CC227", "accuracy-on-regression", W,
    "The accuracy metric on a model compiled with a regression loss (mse, mae...).",
    "Accuracy counts exact matches of classes; on continuous targets it stays near 0 "
    "whatever the model learns, and reads as a training failure.",
    "Track a regression metric instead: metrics=['mae'] or "
    "[keras.metrics.RootMeanSquaredError()].",
    bad="model.compile(optimizer='adam', loss='mse', metrics=['accuracy'])",
    good="model.compile(optimizer='adam', loss='mse', metrics=['mae'])",
)

_REGRESSION = frozenset({"mean_squared_error", "mean_absolute_error",
                         "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
                         "huber", "log_cosh", "huber_loss", "logcosh"})
_PROBABILITY = frozenset({"softmax", "sigmoid", "hard_sigmoid"})
_NOT_PROBABILITY = frozenset({"linear", "relu", "tanh", "elu", "selu", "leaky_relu", "gelu",
                              "swish", "silu", "relu6", "softplus", "exponential",
                              "softsign", "mish"})
_CROSSENTROPY = frozenset({"categorical_crossentropy", "sparse_categorical_crossentropy",
                           "binary_crossentropy"})
_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
            "bce": "binary_crossentropy", "cce": "categorical_crossentropy"}


@dataclass(frozen=True, slots=True)
class Loss:
    """A compiled loss: its canonical snake-case name and from_logits."""

    name: str
    from_logits: bool


def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def parse_loss(value: Any) -> Loss | None:
    """The loss of a compile call from its recorded value (a name or a loss object)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        name = value if value.islower() else _snake(value)
        return Loss(_ALIASES.get(name, name), False)
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        config = value.get("config")
        logits = config.get("from_logits", False) if isinstance(config, dict) else False
        if not isinstance(logits, bool):
            return None
        name = _snake(value["class_name"])
        return Loss(_ALIASES.get(name, name), logits)
    return None


def _recorded(view: ModelView, method: str) -> list[Any]:
    return [r for r in view.recorded if getattr(r, "method", None) == method]


def compiled_loss(view: ModelView) -> tuple[Loss, Span | None] | None:
    """The loss of the last compile call, with that call's span."""
    calls = _recorded(view, "compile")
    if not calls:
        return None
    last = calls[-1]
    value = last.kwargs.get("loss", last.args[1] if len(last.args) > 1 else None)
    loss = parse_loss(value)
    return None if loss is None else (loss, last.span)


def output_layer(view: ModelView) -> tuple[LayerCall, str] | None:
    """The call making the model's single output, with its activation."""
    if len(view.graph.outputs) != 1:
        return None
    call = view.producer(view.graph.outputs[0])
    while call.layer.class_name in PASS_THROUGH and len(call.inputs) == 1:
        call = view.producer(call.inputs[0])
    act = activation_of(call.layer)
    if act is None:
        return None
    return call, act


@check(SOFTMAX_ONE_UNIT)
def softmax_one_unit(view: ModelView) -> Iterator[Diagnostic]:
    for call in view.calls():
        if activation_of(call.layer) != "softmax":
            continue
        axis = getattr(call.layer.spec, "axis", (-1,))
        out = view.output_type(call)
        if out is None or axis not in ((-1,), -1, (out.rank - 1,)):
            continue
        if out.shape[-1] == 1:
            yield SOFTMAX_ONE_UNIT.diagnostic(
                f"{call.layer.name}: softmax over a single unit {format_shape(out.shape)} "
                "always outputs 1.0", span=view.span_of(call), layer=call.layer.name)


def _related(view: ModelView, call: LayerCall) -> tuple[Span, ...]:
    span = view.span_of(call)
    return (span,) if span is not None else ()


@check(ACTIVATION_LOSS, LOSS_ON_LOGITS, top_level_only=True)
def activation_vs_loss(view: ModelView) -> Iterator[Diagnostic]:
    compiled = compiled_loss(view)
    out = output_layer(view)
    if compiled is None or out is None:
        return
    (loss, span), (call, act) = compiled, out
    out_type = view.output_type(call)
    units = dims.as_int(out_type.shape[-1]) if out_type is not None else None
    related = _related(view, call)
    where = f"{call.layer.name} ({act} output)"
    if loss.from_logits and act in _PROBABILITY and loss.name in _CROSSENTROPY:
        yield ACTIVATION_LOSS.diagnostic(
            f"{loss.name}(from_logits=True) on {where}: the {act} is applied twice",
            span=span, related=related)
    elif (act == "sigmoid" and loss.name in ("categorical_crossentropy",
                                             "sparse_categorical_crossentropy")
          and units is not None and units > 1):
        yield ACTIVATION_LOSS.diagnostic(
            f"{loss.name} on {where} of {units} units: sigmoid outputs are not "
            "one distribution over classes; use softmax", span=span, related=related)
    elif (act == "softmax" and loss.name == "binary_crossentropy" and units is not None
          and units > 2):
        yield ACTIVATION_LOSS.diagnostic(
            f"binary_crossentropy on {where} of {units} units: softmax makes the units "
            "compete; use sigmoid for multi-label outputs or categorical_crossentropy for "
            "one class per sample", span=span, related=related)
    elif not loss.from_logits and act in _NOT_PROBABILITY and loss.name in _CROSSENTROPY:
        yield LOSS_ON_LOGITS.diagnostic(
            f"{loss.name} expects probabilities but {where} has no softmax/sigmoid",
            span=span, related=related)


@dataclass(frozen=True, slots=True)
class FitData:
    """One (inputs, labels) pair given to fit: its own or its validation_data."""

    span: Span
    what: str
    x_node: Any
    x: labels.ArrayInfo | None
    y_node: Any
    y: labels.ArrayInfo | None


def fit_data(view: ModelView) -> Iterator[FitData]:
    """The arrays of every recorded fit call whose shapes the source makes visible."""
    import ast

    if view.source is None or view.source.tree is None:
        return
    tree = view.source.tree
    for fit in _recorded(view, "fit"):
        if fit.span is None:
            continue
        node = labels.find_call(tree, fit.span.line, fit.span.col, "fit")
        if node is None:
            continue
        resolver = labels.Resolver(labels.enclosing_scope(tree, fit.span.line), fit.span.line)
        pairs = [("fit", labels.call_argument(node, 0, "x"), labels.call_argument(node, 1, "y"))]
        val = labels.call_argument(node, 7, "validation_data")
        if isinstance(val, ast.Tuple) and len(val.elts) >= 2:
            pairs.append(("fit validation_data", val.elts[0], val.elts[1]))
        for what, x_node, y_node in pairs:
            yield FitData(fit.span, what, x_node,
                          resolver.array(x_node) if x_node is not None else None,
                          y_node, resolver.array(y_node) if y_node is not None else None)


@check(LABEL_ENCODING, LABEL_SHAPE, SAMPLE_COUNT, top_level_only=True)
def labels_vs_output(view: ModelView) -> Iterator[Diagnostic]:
    compiled = compiled_loss(view)
    if len(view.graph.outputs) != 1:
        return
    out = view.analysis.tensor(view.graph.outputs[0])
    if out is None:
        return
    related = tuple(s for s in (compiled[1] if compiled else None,) if s is not None)
    for data in fit_data(view):
        x, y = data.x, data.y
        if x is not None and y is not None and x.shape and y.shape and None not in (
                x.shape[0], y.shape[0]) and x.shape[0] != y.shape[0]:
            yield SAMPLE_COUNT.diagnostic(
                f"{data.what}: {ast_text(data.x_node)} holds {x.shape[0]} samples but "
                f"{ast_text(data.y_node)} holds {y.shape[0]}", span=data.span)
        if y is None or not y.shape:
            continue
        message = _compare(y, tuple(dims.as_int(d) for d in out.shape),
                           compiled[0] if compiled else None)
        if message is None:
            continue
        rule, text = message
        yield rule.diagnostic(
            f"{data.what}: labels {ast_text(data.y_node)} of shape {_fmt(y.shape)} vs the "
            f"model output {format_shape(out.shape)}: {text}", span=data.span,
            related=related)


def ast_text(node: Any) -> str:
    import ast

    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _fmt(shape: tuple[int | None, ...]) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _differs(a: tuple[int | None, ...], b: tuple[int | None, ...]) -> bool:
    """Whether two per-sample shapes certainly differ."""
    if len(a) != len(b):
        return True
    return any(x is not None and y is not None and x != y for x, y in zip(a, b, strict=True))


def _compare(y: labels.ArrayInfo, out: tuple[int | None, ...], loss: Loss | None
             ) -> tuple[Any, str] | None:
    labels_per_sample, out_per_sample = y.shape[1:], out[1:]
    units = out_per_sample[-1] if out_per_sample else None
    name = loss.name if loss is not None else None
    if name == "sparse_categorical_crossentropy":
        want = out_per_sample[:-1]
        ok = not _differs(labels_per_sample, want) or not _differs(
            labels_per_sample, (*want, 1))
        if ok:
            return None
        if y.onehot or not _differs(labels_per_sample, out_per_sample):
            return (LABEL_ENCODING, "sparse_categorical_crossentropy takes one class id per "
                    "sample, these labels look one-hot; use categorical_crossentropy")
        return (LABEL_SHAPE, f"sparse_categorical_crossentropy expects labels of shape "
                f"{_fmt((None, *want))}")
    if not _differs(labels_per_sample, out_per_sample):
        return None
    # Keras squeezes or expands a trailing axis of size 1 on either side
    if not _differs((*labels_per_sample, 1), out_per_sample) or not _differs(
            labels_per_sample, (*out_per_sample, 1)):
        return None
    if (name == "categorical_crossentropy" and y.integer and not y.onehot
            and labels_per_sample in ((), (1,)) and units is not None and units > 1):
        return (LABEL_ENCODING, "categorical_crossentropy needs one-hot labels, these are "
                "integer class ids; use sparse_categorical_crossentropy or "
                "keras.utils.to_categorical")
    return (LABEL_SHAPE, f"the labels' per-sample shape {_fmt(labels_per_sample)} does not "
            f"match the output's {_fmt(out_per_sample)}")


@check(INPUT_DATA_SHAPE, top_level_only=True)
def data_vs_input(view: ModelView) -> Iterator[Diagnostic]:
    if len(view.graph.inputs) != 1:
        return
    declared = view.analysis.tensor(view.graph.inputs[0])
    if declared is None:
        return
    want = tuple(dims.as_int(d) for d in declared.shape[1:])
    for data in fit_data(view):
        x = data.x
        if x is None or not x.shape:
            continue
        got = x.shape[1:]
        # Keras adds or drops a trailing axis of size 1 to match the input's rank
        if not _differs(got, want) or not _differs((*got, 1), want) or not _differs(
                got, (*want, 1)):
            continue
        yield INPUT_DATA_SHAPE.diagnostic(
            f"{data.what}: {ast_text(data.x_node)} of shape {_fmt(x.shape)} vs the model "
            f"input {format_shape(declared.shape)}: the per-sample shapes {_fmt(got)} and "
            f"{_fmt(want)} differ", span=data.span)


@check(ACCURACY_ON_REGRESSION, top_level_only=True)
def accuracy_on_regression(view: ModelView) -> Iterator[Diagnostic]:
    compiled = compiled_loss(view)
    if compiled is None or compiled[0].name not in _REGRESSION:
        return
    last = _recorded(view, "compile")[-1]
    metrics = last.kwargs.get("metrics")
    if not isinstance(metrics, (list, tuple)):
        return
    named = [m for m in metrics if isinstance(m, str)]
    if any(m.lower() in ("accuracy", "acc") for m in named):
        yield ACCURACY_ON_REGRESSION.diagnostic(
            f"metrics=['accuracy'] with the regression loss {compiled[0].name}: accuracy "
            "of continuous predictions stays near 0", span=compiled[1])
