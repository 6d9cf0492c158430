"""The rule catalogue: every diagnostic code convcalc emits, with its documentation.

Codes are stable. ``CC0xx``: unusable input; ``CC1xx``: shape and graph errors found
by propagation; ``CC2xx``: lint rules; ``CC3xx``: found by running the model with
NumPy (``convcalc check``).
"""

from __future__ import annotations

from dataclasses import dataclass

from convcalc.diagnostics import Diagnostic, Severity
from convcalc.types import Span


@dataclass(frozen=True, slots=True)
class Rule:
    """A diagnostic kind: stable code, kebab-case name, default severity and docs."""

    code: str
    name: str
    severity: Severity
    summary: str
    why: str
    hint: str
    bad: str = ""
    good: str = ""

    def diagnostic(
        self,
        message: str,
        *,
        span: Span | None = None,
        layer: str | None = None,
        hint: str | None = None,
        related: tuple[Span, ...] = (),
        severity: Severity | None = None,
    ) -> Diagnostic:
        """A finding of this rule; the hint defaults to the rule's own."""
        return Diagnostic(
            self.code,
            self.severity if severity is None else severity,
            message,
            span,
            layer,
            self.hint if hint is None else hint,
            related,
        )


RULES: dict[str, Rule] = {}


def define_rule(
    code: str,
    name: str,
    severity: Severity,
    summary: str,
    why: str,
    hint: str,
    bad: str = "",
    good: str = "",
) -> Rule:
    """A rule, added to the catalogue (``convcalc rule CODE`` shows it)."""
    r = Rule(code, name, severity, summary, why, hint, bad.strip("\n"), good.strip("\n"))
    if code in RULES and RULES[code] != r:
        raise ValueError(f"rule code {code} defined twice")
    RULES[code] = r
    return r


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

SYNTAX_ERROR = define_rule(
    "CC001", "syntax-error", E,
    "The model file cannot be parsed.",
    "convcalc reads model code with Python's own parser; a file it cannot parse has no "
    "model to analyse.",
    "Fix the syntax error at the reported line (run `python -m py_compile FILE`).",
    bad="x = Conv2D(32, (3, 3)(inputs)",
    good="x = Conv2D(32, (3, 3))(inputs)",
)
MALFORMED_CONFIG = define_rule(
    "CC002", "malformed-config", E,
    "A model config (JSON, .keras, .h5) is not a valid Keras model description.",
    "Without a well-formed config there is no layer graph to analyse.",
    "Re-export the model with `model.to_json()` or `model.save('model.keras')`.",
    bad='{"class_name": "Functional", "config": {"layers": [',
    good='{"class_name": "Functional", "config": {"layers": [...], ...}}',
)
UNKNOWN_LAYER = define_rule(
    "CC003", "unknown-layer", E,
    "A layer class that convcalc's catalogue does not know.",
    "Its output shape and weights cannot be derived, so everything downstream of it is "
    "unknown; totals leave it out rather than counting it as zero.",
    "Check the class name; custom layers are not analysed yet. `convcalc layers` lists "
    "the known ones.",
    bad="x = MyCustomBlock(64)(x)",
    good="x = Conv2D(64, 3, padding='same')(x)",
)
UNRESOLVED_INPUT = define_rule(
    "CC004", "unresolved-input", E,
    "A layer's inbound tensor names a layer or call that does not exist.",
    "The graph is disconnected at that point; the config was edited by hand or truncated.",
    "Make every `inbound_nodes` entry name an existing layer and call index.",
)
GRAPH_CYCLE = define_rule(
    "CC005", "graph-cycle", E,
    "The layer graph contains a cycle.",
    "A Keras model is a directed acyclic graph; a cycle has no evaluation order.",
    "Break the cycle: a layer cannot consume its own output.",
)
UNREADABLE_FILE = define_rule(
    "CC006", "unreadable-file", E,
    "The file cannot be read: missing, truncated, too large, unsafe or of an unknown kind.",
    "convcalc refuses inputs it cannot read safely (zip path traversal, oversize members) "
    "rather than guessing.",
    "Pass a `.py` model file, a `model.to_json()` export, a `.keras` zip or a `.h5` file.",
)
INVALID_ARGUMENT = define_rule(
    "CC007", "invalid-layer-argument", E,
    "A layer argument has a value Keras would reject.",
    "Keras raises when the layer is constructed; the layer cannot be analysed.",
    "Use a value of the documented type and range (see the layer's Keras docs).",
    bad="Conv2D(32, (3, 3), padding='full')",
    good="Conv2D(32, (3, 3), padding='same')",
)
UNKNOWN_VALUE = define_rule(
    "CC008", "unknown-value", INFO,
    "A value convcalc cannot compute statically (data, an unknown library call).",
    "It becomes an unknown value; shapes that depend on it become symbols or unknown.",
    "Bind it on the command line (`--input-shape`, `--call`) for concrete results.",
)
BUDGET_EXCEEDED = define_rule(
    "CC009", "budget-exceeded", E,
    "Interpretation stopped: too many steps, loop iterations, call depth or too large "
    "an input.",
    "convcalc never runs analysed code; it bounds its own abstract interpretation so "
    "runaway code ends in bounded time.",
    "Simplify the model-building code, or raise the limit if the model is really that "
    "large.",
)
MISSING_DEPENDENCY = define_rule(
    "CC010", "missing-dependency", E,
    "Reading this input needs an optional package that is not installed.",
    "Legacy `.h5` files need h5py.",
    "Install the extra: `pip install 'convcalc[h5]'`.",
)
NO_MODEL = define_rule(
    "CC011", "no-model", E,
    "No Keras model was found in the input.",
    "There is nothing to analyse.",
    "Build a model at module level, or in a function convcalc can call (`--call`).",
)
UNSUPPORTED = define_rule(
    "CC012", "unsupported-construct", W,
    "A construct convcalc does not model; its result is unknown.",
    "Analysis continues with an unknown value in its place.",
    "Rewrite it in a form convcalc understands, or accept the unknown.",
)
CODE_RAISES = define_rule(
    "CC013", "model-code-raises", E,
    "The model-building code raises an exception before the model is complete.",
    "Run for real, the program stops there (a ValueError from Keras or from the code's own "
    "checks, a TypeError, a missing name); the model after that point does not exist.",
    "Fix the failing call at the reported line (its arguments, or the values it is given).",
    bad="model = ResNet50(weights=None, input_shape=(16, 16, 3), include_top=False)",
    good="model = ResNet50(weights=None, input_shape=(64, 64, 3), include_top=False)",
)

MERGE_MISMATCH = define_rule(
    "CC101", "merge-shape-mismatch", E,
    "The inputs of a merge layer (Concatenate, Add, Multiply, ...) have shapes that "
    "cannot be merged.",
    "Keras raises when the model is built. In encoder/decoder models this is usually a "
    "skip connection taken at the wrong resolution.",
    "Merge tensors of the same resolution: check which encoder level each decoder level "
    "is joined to, and the number of up/down-sampling steps between them.",
    bad="merge = concatenate([conv4, up1])  # 1/2 vs 1/4 resolution",
    good="merge = concatenate([conv6, up1])  # both 1/4 resolution",
)
NON_POSITIVE_DIM = define_rule(
    "CC102", "non-positive-dim", E,
    "A layer shrinks a dimension to zero or below (valid conv, pool or crop on a map "
    "too small).",
    "Keras raises 'Computed output size would be zero or negative'.",
    "Use padding='same', a smaller kernel or stride, fewer down-sampling steps, or a "
    "larger input.",
    bad="Conv2D(8, 5)(Input((4, 4, 1)))",
    good="Conv2D(8, 5, padding='same')(Input((4, 4, 1)))",
)
WRONG_RANK = define_rule(
    "CC103", "wrong-input-rank", E,
    "A layer received a tensor of a rank it does not accept (Conv2D on 3-D, LSTM on 2-D).",
    "Keras checks the input rank when the layer is called and raises.",
    "Reshape, add or remove a batch/channel axis, or use the layer of the right "
    "dimensionality (Conv1D for sequences, Conv2D for images).",
    bad="Conv2D(8, 3)(Input((28, 28)))",
    good="Conv2D(8, 3)(Input((28, 28, 1)))",
)
RESHAPE_MISMATCH = define_rule(
    "CC104", "reshape-size-mismatch", E,
    "A Reshape target does not hold the same number of elements as its input.",
    "Keras raises: the total size of the new shape must equal the old one.",
    "Make the product of the target shape equal the input's, or use -1 for one axis.",
    bad="Reshape((7, 7, 32))(Input((784,)))",
    good="Reshape((7, 7, 16))(Input((784,)))",
)
INCOMPATIBLE_INPUT = define_rule(
    "CC105", "incompatible-input", E,
    "A layer cannot accept its input: wrong axis size, wrong number of inputs, or a "
    "shared layer called on a shape its weights do not fit.",
    "Keras raises when the layer is called.",
    "Check the layer's expected input against the tensor it receives.",
)
TENSOR_TOO_LARGE = define_rule(
    "CC106", "tensor-too-large", E,
    "A tensor or weight would hold more elements than any device can store.",
    "Such a shape is almost always a typo (an extra zero, a missing pool).",
    "Check the input shape and the layer arguments that produce this size.",
)
INPUT_SIZE_CONSTRAINT = define_rule(
    "CC107", "input-size-constraint", INFO,
    "The model only works for some input sizes (e.g. multiples of 8).",
    "Merges of up- and down-sampled paths match only when each pooling divides evenly.",
    "Feed inputs of a size that satisfies the constraint, or pad/crop to one.",
)
INVALID_DIM = define_rule(
    "CC108", "invalid-input-dim", E,
    "An input shape has a zero or negative dimension.",
    "Keras tensors cannot have empty or negative axes.",
    "Give positive sizes, or None for a size known only at run time.",
)
SHAPE_UNKNOWN = define_rule(
    "CC109", "unknown-output-shape", W,
    "A layer's output shape cannot be derived statically (Lambda without "
    "output_shape, a model input of unknown rank).",
    "Everything downstream of it is unknown.",
    "Give the Lambda an `output_shape`, or the model an input shape.",
)
SHAPE_DISAGREES = define_rule(
    "CC301", "static-shape-disagrees", E,
    "A layer's output, computed with NumPy, has a shape other than the one convcalc's "
    "static analysis predicts.",
    "The static shape rule and the executed forward implement the same Keras layer; "
    "when they disagree one of them is wrong, so every shape, param and MAC count "
    "downstream of that layer is in doubt. This is a bug in convcalc, not in the model.",
    "Please report it with the model file and the sizes the message names; meanwhile, "
    "trust the shape Keras's own `model.summary()` prints for that layer.",
    bad="# static rule: floor((H - 3) / 2) + 1, forward returns ceil(H / 2) for 'valid'",
    good="# both: floor((H - 3) / 2) + 1",
)
NO_FORWARD = define_rule(
    "CC302", "layer-without-forward", W,
    "A layer kind has no NumPy forward, so `convcalc check` cannot run it.",
    "The layers that depend on its output are not run either, and their static shapes "
    "go unchecked; the rest of the model is still run and checked.",
    "Nothing to fix in the model; shapes downstream of this layer rest on the static "
    "analysis alone. A Lambda or custom layer read from source is run as the layer and "
    "tensor calls its code makes; one loaded from a saved model (its code is bytecode) "
    "or whose code convcalc cannot follow is not.",
    bad="x = layers.Lambda(lambda t: tf.py_function(sort, [t], tf.float32))(x)  # opaque",
    good="x = layers.Lambda(lambda t: ops.softmax(t) * 2)(x)  # tensor calls it replays",
)
ANALYSIS_BUG = define_rule(
    "CC199", "internal-error", E,
    "convcalc failed on this layer; this is a bug in convcalc, not in the model.",
    "The layer is treated as unknown and analysis continues.",
    "Please report it with the model file.",
)
