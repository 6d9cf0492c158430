"""Keras model configs (``to_json()``, ``get_config()``, the ``.keras`` / ``.h5``
payloads) as layer graphs.

Both dialects are read: Keras 3 (``batch_shape``, DTypePolicy objects, call sites with
``__keras_tensor__`` objects, a single input or output left unnested) and Keras 2 /
tf.keras (``batch_input_shape``, list-form call sites, the legacy form without
``module`` keys, the Keras <= 2.2.4 Sequential whose config is a bare list of layers).
Nothing is executed: every layer goes through its spec in :mod:`convcalc.layers`.

Every :class:`Layer` and :class:`LayerCall` gets the span of the layer's
``"name": "<layer name>"`` in the JSON text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from convcalc import dims, rules
from convcalc.diagnostics import Diagnostic
from convcalc.frontend import Loaded
from convcalc.frontend.serialized import (
    NameSpans,
    TensorName,
    bind_call,
    flatten_tensor_list,
    parse_call_site,
)
from convcalc.frontend.serialized_ops import is_operation
from convcalc.graph import GraphCycleError, Layer, LayerCall, LayerGraph, TensorRef
from convcalc.layers import lookup
from convcalc.layers.base import ConfigError, LayerSpec
from convcalc.layers.core import InputLayer
from convcalc.layers.model import ModelSpec
from convcalc.types import Span, format_shape

MODEL_CLASSES = frozenset({"Functional", "Model", "Sequential"})
"""Class names of whole models; a layer of one of them is read as a nested model."""
MAX_MODEL_DEPTH = 64
"""Models nested deeper than this are not read (CC002)."""
_FUNCTIONAL_KEYS = ("layers", "input_layers", "output_layers")
_KERAS_PACKAGES = frozenset({"keras", "tf_keras", "tensorflow"})


def load_config_text(text: str, file: str) -> Loaded:
    """Read a model config from JSON text; malformed JSON is CC002 at the error's place."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        diag = rules.MALFORMED_CONFIG.diagnostic(
            f"invalid JSON: {e.msg} (line {e.lineno}, column {e.colno})",
            span=Span(file, e.lineno, e.colno - 1),
        )
        return Loaded([], [diag], usable=False)
    except (ValueError, RecursionError) as e:  # an over-long number, absurd nesting
        diag = rules.MALFORMED_CONFIG.diagnostic(f"unreadable JSON: {e}", span=Span(file, 1))
        return Loaded([], [diag], usable=False)
    return load_config(obj, file, text)


def load_config(obj: Any, file: str, text: str | None = None) -> Loaded:
    """Read a parsed model config; ``text``, the JSON it came from, gives the spans."""
    reader = _Reader(file, text)
    try:
        graph = reader.top_level(obj)
    except RecursionError:
        graph = None
        reader.error(rules.MALFORMED_CONFIG, "the model config is nested too deeply to read")
    return Loaded([graph] if graph is not None else [], reader.diagnostics,
                  usable=graph is not None)


def _dtype_name(value: Any) -> str:
    """A layer's variable dtype from a dtype string or a DTypePolicy object."""
    if value is None or value == "float32":
        return "float32"
    if isinstance(value, dict):
        cfg = value.get("config")
        value = cfg.get("name") if isinstance(cfg, dict) else None
    if not isinstance(value, str):
        return "float32"
    if value.startswith("mixed_"):  # mixed_float16: float32 variables, float16 compute
        return "float32"
    if "_from_" in value:  # quantized policies such as int8_from_float32
        return value.split("_from_", 1)[1]
    return value


def _custom_name(entry: Mapping[str, Any]) -> str | None:
    """The registered name of a user's class (``Custom>MyLayer``); None if built in."""
    registered = entry.get("registered_name")
    if not isinstance(registered, str):
        return None
    module = entry.get("module")
    if ">" in registered or (
        isinstance(module, str) and module.split(".")[0] not in _KERAS_PACKAGES
    ):
        return registered
    return None


def _is_functional(config: Any) -> bool:
    return isinstance(config, dict) and all(k in config for k in _FUNCTIONAL_KEYS)


def _unique(base: str, taken: Mapping[str, Any]) -> str:
    if base not in taken:
        return base
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def _auto_name(class_name: Any, taken: Mapping[str, Any]) -> str:
    """Keras's default layer name: the class name in snake case, made unique."""
    text = class_name if isinstance(class_name, str) else ""
    return _unique(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower() or "layer", taken)


def _index(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _shape_list(value: Any) -> list[Any] | None:
    if isinstance(value, (list, tuple)) and not any(isinstance(v, (list, dict)) for v in value):
        return list(value)
    return None


def _first_layer_shape(class_name: str, cfg: Mapping[str, Any]) -> list[Any] | None:
    """The batch input shape a Keras 1/2 first layer declares through its kwargs."""
    for key in ("batch_input_shape", "batch_shape"):
        shape = _shape_list(cfg.get(key))
        if shape is not None:
            return shape
    batch = cfg.get("batch_size")
    shape = _shape_list(cfg.get("input_shape"))
    if shape is not None:
        return [batch, *shape]
    if class_name == "Embedding":  # its input_dim is the vocabulary size
        return [batch, cfg["input_length"]] if "input_length" in cfg else None
    if cfg.get("input_dim") is not None:
        if "input_length" in cfg:  # Keras 1 recurrent and temporal layers
            return [batch, cfg["input_length"], cfg["input_dim"]]
        return [batch, cfg["input_dim"]]
    return None


@dataclasses.dataclass(slots=True)
class _Calls:
    """A functional layer's calls and the tensors they name, before linking."""

    layer: Layer
    calls: list[LayerCall] = dataclasses.field(default_factory=list)
    inputs: list[list[TensorName] | None] = dataclasses.field(default_factory=list)
    """Per call; None for a call site that could not be read."""
    keras3: bool = False
    """Whether its call sites are in the Keras 3 form."""


class _Reader:
    """Builds the layer graphs of one config, collecting diagnostics."""

    def __init__(self, file: str, text: str | None) -> None:
        self.file = file
        self.spans = NameSpans(text, file) if text is not None else None
        self.diagnostics: list[Diagnostic] = []
        self.depth = 0

    def span(self, name: str) -> Span | None:
        return self.spans.next(name) if self.spans is not None else None

    def error(self, rule: rules.Rule, message: str, span: Span | None = None,
              layer: str | None = None, hint: str | None = None) -> None:
        self.diagnostics.append(rule.diagnostic(
            message, span=span or Span(self.file, 1), layer=layer, hint=hint))

    # ------------------------------------------------------------------ models
    def top_level(self, obj: Any) -> LayerGraph | None:
        """The model a whole config describes; CC002 if it describes none."""
        if isinstance(obj, dict) and isinstance(obj.get("class_name"), str) and "config" in obj:
            before = len(self.diagnostics)
            graph = self.model(obj, obj["class_name"], obj["config"], None)
            if graph is None and len(self.diagnostics) == before:
                self.error(rules.MALFORMED_CONFIG,
                           f"not a Keras model config: it describes a {obj['class_name']!r}, "
                           f"not a Functional or Sequential model")
            return graph
        if isinstance(obj, dict) and isinstance(obj.get("layers"), list):  # get_config()
            kind = "Functional" if "input_layers" in obj else "Sequential"
            return self.model({}, kind, obj, None)
        got = "an object without 'class_name' and 'config'" if isinstance(obj, dict) else \
            f"a JSON {type(obj).__name__}"
        self.error(rules.MALFORMED_CONFIG,
                   f"not a Keras model config: expected an object with 'class_name' and "
                   f"'config' as model.to_json() writes, got {got}")
        return None

    def model(self, entry: Mapping[str, Any], class_name: str, config: Any,
              name: str | None) -> LayerGraph | None:
        """A Functional or Sequential model; None if it is not one or cannot be read.

        ``name`` is given for a nested model (its layer name); the top level reads its
        own. A custom class with a functional config is read as that graph.
        """
        functional = _is_functional(config)
        if _custom_name(entry) is not None and not functional:
            return None
        if class_name == "Sequential" or functional:
            if self.depth >= MAX_MODEL_DEPTH:
                self.error(rules.MALFORMED_CONFIG,
                           f"models are nested more than {MAX_MODEL_DEPTH} deep", layer=name)
                return None
            self.depth += 1
            try:
                if functional:
                    return self.functional(config, name)
                build = entry.get("build_config")
                build_shape = build.get("input_shape") if isinstance(build, dict) else None
                return self.sequential(config, name, build_shape)
            finally:
                self.depth -= 1
        if class_name in MODEL_CLASSES:
            missing = [k for k in _FUNCTIONAL_KEYS if not isinstance(config, dict)
                       or k not in config]
            self.error(rules.MALFORMED_CONFIG,
                       f"{class_name} config lacks {', '.join(missing)}", layer=name)
        return None

    def model_name(self, config: Any, name: str | None, default: str) -> tuple[str, Span | None]:
        if name is not None:  # a nested model: its span is its layer's
            return name, None
        own = config.get("name") if isinstance(config, dict) else None
        name = own if isinstance(own, str) else default
        return name, self.span(name)

    def functional(self, config: dict[str, Any], name: str | None) -> LayerGraph | None:
        """A functional model: every layer and call made first, then linked by name."""
        name, span = self.model_name(config, name, "model")
        graph = LayerGraph(name, "Functional", span)
        entries = config["layers"]
        if not isinstance(entries, list):
            self.error(rules.MALFORMED_CONFIG, f"model {name}: 'layers' must be a list", span)
            return None
        by_name: dict[str, _Calls] = {}
        all_calls: list[_Calls] = []
        for i, entry in enumerate(entries):
            layer = self.layer(entry, i, by_name)
            graph.add_layer(layer)
            calls = self.read_calls(graph, layer, entry)
            all_calls.append(calls)
            if layer.name in by_name:
                self.error(rules.MALFORMED_CONFIG,
                           f"model {name}: two layers are named {layer.name!r}; inputs that "
                           f"name it refer to the first", layer.span, layer.name)
            else:
                by_name[layer.name] = calls
        if config.get("trainable") is False:
            for layer in graph.layers:
                layer.trainable = False
        for calls in all_calls:
            for call, names in zip(calls.calls, calls.inputs, strict=True):
                if names is None:
                    call.inputs = (self.unknown_tensor(graph, "?"),)
                    continue
                call.inputs = tuple(self.resolve(graph, by_name, t, call) for t in names)
                if call.kwargs:
                    call.kwargs = self.resolve_kwargs(graph, by_name, call)
        graph.inputs = self.model_tensors(graph, by_name, config["input_layers"], "input_layers")
        graph.outputs = self.model_tensors(graph, by_name, config["output_layers"],
                                           "output_layers")
        _distinct_input_symbols(graph)
        try:
            graph.ordered_calls()
        except GraphCycleError as e:
            first = e.calls[0]
            self.error(rules.GRAPH_CYCLE, f"model {name}: {e}", first.span, first.layer.name)
            return None
        return graph

    def sequential(self, config: Any, name: str | None, build_shape: Any) -> LayerGraph | None:
        """A Sequential model in any of its forms; its automatic InputLayer is hidden."""
        nested = name is not None
        entries: Any = None
        if isinstance(config, list):  # Keras <= 2.2.4
            entries, config = config, {}
        elif isinstance(config, dict):
            entries = config.get("layers")
        name, span = self.model_name(config, name, "sequential")
        if not isinstance(entries, list):
            self.error(rules.MALFORMED_CONFIG, f"Sequential {name}: 'layers' must be a list",
                       span)
            return None
        taken: dict[str, Any] = {}
        layers: list[Layer] = []
        for i, entry in enumerate(entries):
            layer = self.layer(entry, i, taken)
            taken[layer.name] = layer
            layers.append(layer)
        if config.get("trainable") is False:
            for layer in layers:
                layer.trainable = False
        if layers and layers[0].class_name == "InputLayer":
            first = layers.pop(0)
            first.hidden = True
        else:
            first = self.automatic_input(name, span, layers, config, build_shape, taken,
                                         nested)
        graph = LayerGraph(name, "Sequential", span)
        graph.add_layer(first)
        prev = TensorRef(graph.add_call(first, (), first.span).id)
        graph.inputs = [prev]
        for layer in layers:
            graph.add_layer(layer)
            prev = TensorRef(graph.add_call(layer, (prev,), layer.span).id)
        graph.outputs = [prev]
        return graph

    def automatic_input(self, name: str, span: Span | None, layers: list[Layer],
                        config: Mapping[str, Any], build_shape: Any, taken: Mapping[str, Any],
                        nested: bool) -> Layer:
        """The InputLayer Keras makes for a Sequential without one: from the first
        layer's shape kwargs, ``build_input_shape``, or a nested first model's input.

        Without any, a spec-less input: a nested Sequential takes its input from the
        call; a top-level one cannot be analysed (CC109).
        """
        first = layers[0] if layers else None
        shape: list[Any] | None = None
        base, where = "input_layer", span
        if first is not None and _model_kind(first) is None:
            shape = _first_layer_shape(first.class_name, first.config)
            if shape is not None:
                base, where = f"{first.name}_input", first.span
        if shape is None:
            shape = _shape_list(config.get("build_input_shape")) or _shape_list(build_shape)
        if shape is not None:
            cfg: dict[str, Any] = {"batch_shape": shape, "name": _unique(base, taken)}
            dtype = first.config.get("dtype") if first is not None else None
            if isinstance(dtype, str):
                cfg["dtype"] = dtype
            layer = self.make_layer("InputLayer", cfg["name"], cfg, where, {})
            layer.hidden = True
            return layer
        if first is not None and isinstance(first.spec, ModelSpec):
            inner = first.spec.graph
            if len(inner.inputs) == 1:
                source = inner.calls[inner.inputs[0].node].layer
                if isinstance(source.spec, InputLayer):
                    return Layer(_unique(base, taken), "InputLayer", source.spec, span=where,
                                 dtype=source.dtype, hidden=True)
        if not nested:
            self.error(rules.SHAPE_UNKNOWN,
                       f"Sequential model {name} declares no input shape, so it cannot be "
                       f"analysed", span,
                       hint="Start it with keras.Input(shape=...), or pass the input shape "
                            "on the command line.")
        return Layer(_unique(base, taken), "InputLayer", None, span=where, hidden=True)

    # ------------------------------------------------------------------ layers
    def layer(self, entry: Any, index: int, taken: Mapping[str, Any]) -> Layer:
        """One layer from its serialized form; spec-less when it cannot be read."""
        if type(entry) is not dict:
            self.error(rules.MALFORMED_CONFIG, f"layer #{index} is not a JSON object")
            return Layer(_unique(f"layer_{index}", taken), "?", None)
        class_name = entry.get("class_name")
        cfg = entry.get("config")
        name = entry.get("name")
        if type(name) is not str:
            name = cfg.get("name") if type(cfg) is dict else None
            if type(name) is not str:
                name = _auto_name(class_name, taken)
        span = self.spans.next(name) if self.spans is not None else None
        if (type(cfg) is dict and type(class_name) is str and class_name not in MODEL_CLASSES
                and "input_layers" not in cfg):
            return self.make_layer(class_name, name, cfg, span, entry)
        if type(class_name) is not str or not isinstance(cfg, (dict, list)):
            self.error(rules.MALFORMED_CONFIG,
                       f"layer {name}: needs a 'class_name' string and a 'config' object",
                       span, name)
            return Layer(name, str(class_name), None, span=span)
        if class_name in MODEL_CLASSES or _is_functional(cfg):
            inner = self.model(entry, class_name, cfg, name)
            if inner is not None:
                inner.span = span
                return self.finish(Layer(name, class_name, ModelSpec(graph=inner), span=span), cfg)
            if _custom_name(entry) is None:  # a malformed model, already reported
                return self.finish(Layer(name, class_name, None, span=span), cfg)
        if type(cfg) is not dict:
            self.error(rules.MALFORMED_CONFIG, f"layer {name}: 'config' must be an object",
                       span, name)
            return Layer(name, class_name, None, span=span)
        return self.make_layer(class_name, name, cfg, span, entry)

    def make_layer(self, class_name: str, name: str, cfg: dict[str, Any], span: Span | None,
                   entry: Mapping[str, Any]) -> Layer:
        """A layer with its spec built from ``cfg``; spec-less with CC003 or CC007."""
        if is_operation(entry):
            return self.operation(class_name, name, cfg, span, entry)
        custom = _custom_name(entry) if entry.get("registered_name") is not None else None
        spec_cls = None if custom is not None else lookup(class_name)
        spec: LayerSpec | None = None
        if spec_cls is None:
            kind = f"custom layer class {custom!r}" if custom else \
                f"unknown layer class {class_name!r}"
            self.error(rules.UNKNOWN_LAYER, f"layer {name}: {kind}", span, name)
        else:
            try:
                spec = spec_cls.from_config(cfg)
            except ConfigError as e:
                self.error(rules.INVALID_ARGUMENT, f"layer {name}: {e}", span, name)
            except Exception as e:  # a bug in a spec must not end the reading
                self.error(rules.ANALYSIS_BUG,
                           f"layer {name} ({class_name}): {type(e).__name__}: {e}", span, name)
        if type(spec) is InputLayer:
            if any(dims.is_int(d) and d < 1 for d in spec.batch_shape):  # type: ignore[operator]
                self.error(rules.INVALID_DIM,
                           f"input {name} has the shape {format_shape(spec.batch_shape)}, "
                           f"with a dimension below 1", span, name)
                spec = None
            else:
                return Layer(name, class_name, spec, cfg, span, dtype=spec.dtype)
        trainable = cfg.get("trainable", True) is not False
        return Layer(name, class_name, spec, cfg, span, trainable, _dtype_name(cfg.get("dtype")))

    def operation(self, class_name: str, name: str, cfg: dict[str, Any], span: Span | None,
                  entry: Mapping[str, Any]) -> Layer:
        """A Keras 3 operation between layers (``x * 2``, ``ops.mean``): a hidden layer,
        as the source frontend makes it (see :mod:`.serialized_ops`)."""
        from convcalc.frontend.serialized_ops import operation_spec

        spec = None
        try:
            spec = operation_spec(class_name, cfg, entry)
            if spec is None:
                self.error(rules.UNKNOWN_LAYER, f"layer {name}: unknown operation "
                           f"{class_name!r}", span, name)
        except ConfigError as e:
            self.error(rules.INVALID_ARGUMENT, f"layer {name}: {e}", span, name)
        except Exception as e:  # a bug in a spec must not end the reading
            self.error(rules.ANALYSIS_BUG,
                       f"layer {name} ({class_name}): {type(e).__name__}: {e}", span, name)
        return Layer(name, class_name, spec, cfg, span, hidden=True)

    @staticmethod
    def finish(layer: Layer, cfg: Any) -> Layer:
        """Set a nested model's config, trainable flag and dtype."""
        if isinstance(cfg, dict):
            layer.config = cfg
            layer.trainable = cfg.get("trainable", True) is not False
            layer.dtype = _dtype_name(cfg.get("dtype"))
        return layer

    # ------------------------------------------------------------------- links
    def read_calls(self, graph: LayerGraph, layer: Layer, entry: Any) -> _Calls:
        """One call per serialized call site (an InputLayer has one); linked later."""
        out = _Calls(layer)
        if layer.class_name == "InputLayer":
            out.calls.append(graph.add_call(layer, (), layer.span))
            out.inputs.append([])
            return out
        nodes = entry.get("inbound_nodes", []) if isinstance(entry, dict) else []
        if not isinstance(nodes, list):
            self.error(rules.MALFORMED_CONFIG,
                       f"layer {layer.name}: 'inbound_nodes' must be a list", layer.span,
                       layer.name)
            return out
        for node in nodes:
            out.keras3 = out.keras3 or isinstance(node, dict)
            try:
                args, kwargs = parse_call_site(node)
            except ValueError as e:
                self.error(rules.MALFORMED_CONFIG, f"layer {layer.name}: {e}", layer.span,
                           layer.name)
                out.calls.append(graph.add_call(layer, (), layer.span))
                out.inputs.append(None)
                continue
            inputs, plain = bind_call(layer.spec, args, kwargs)
            out.calls.append(graph.add_call(layer, (), layer.span, plain))
            out.inputs.append(inputs)
        return out

    def unknown_tensor(self, graph: LayerGraph, label: str) -> TensorRef:
        """A tensor of unknown type standing for an input that cannot be resolved."""
        source = graph.add_layer(Layer(label, "?", None, hidden=True))
        return TensorRef(graph.add_call(source, ()).id)

    def resolve(self, graph: LayerGraph, by_name: Mapping[str, _Calls], name: TensorName,
                call: LayerCall) -> TensorRef:
        """The tensor a call site names; CC004 and an unknown tensor if there is none."""
        found = _lookup(by_name, name, io=False)
        if found is not None:
            return found
        layer = call.layer
        self.error(rules.UNRESOLVED_INPUT,
                   f"layer {layer.name}: its input {name} names no existing layer output",
                   call.span, layer.name)
        return self.unknown_tensor(graph, str(name.layer))

    def resolve_kwargs(self, graph: LayerGraph, by_name: Mapping[str, _Calls],
                       call: LayerCall) -> dict[str, Any]:
        """Call kwargs with their tensors (a ``mask``) as TensorRefs."""
        def convert(v: Any) -> Any:
            if isinstance(v, TensorName):
                return self.resolve(graph, by_name, v, call)
            if isinstance(v, list):
                return [convert(x) for x in v]
            if isinstance(v, tuple):
                return tuple(convert(x) for x in v)
            if isinstance(v, dict):
                return {k: convert(x) for k, x in v.items()}
            return v

        return {k: convert(v) for k, v in call.kwargs.items()}

    def model_tensors(self, graph: LayerGraph, by_name: Mapping[str, _Calls], value: Any,
                      key: str) -> list[TensorRef]:
        """The model inputs or outputs that ``input_layers`` / ``output_layers`` name."""
        entries = flatten_tensor_list(value)
        if entries is None:
            self.error(rules.MALFORMED_CONFIG,
                       f"model {graph.name}: malformed {key} {json.dumps(value)[:80]}",
                       graph.span)
            return []
        out = []
        for entry in entries:
            name = TensorName(entry[0], entry[1], entry[2], keras3=False)
            found = _lookup(by_name, name, io=True)
            if found is None:
                self.error(rules.UNRESOLVED_INPUT,
                           f"model {graph.name}: {key} names {name}, which is no existing "
                           f"layer output", graph.span)
            else:
                out.append(found)
        return out


def _lookup(by_name: Mapping[str, _Calls], name: TensorName, io: bool) -> TensorRef | None:
    """The tensor a serialized reference names, or None.

    An InputLayer has one call whatever the node index. Keras counts a nested model's
    own construction as its node 0: Keras 2 everywhere (for a model with inputs),
    Keras 3 only in ``input_layers`` / ``output_layers`` and only for a Functional.
    """
    producer = by_name.get(name.layer) if isinstance(name.layer, str) else None
    node, tensor = _index(name.node), _index(name.tensor)
    if producer is None or node is None or tensor is None:
        return None
    layer, spec = producer.layer, producer.layer.spec
    if layer.class_name == "InputLayer":
        node = 0
    elif spec is None or isinstance(spec, ModelSpec):
        kind = _model_kind(layer)
        if producer.keras3:
            own_node = io and kind == "Functional"
        else:
            own_node = kind is not None and (
                not isinstance(spec, ModelSpec) or _declares_input(spec.graph))
        if own_node:
            node -= 1
    if not 0 <= node < len(producer.calls):
        return None
    call = producer.calls[node]
    if spec is not None and tensor >= spec.num_outputs(call.kwargs):
        return None
    return TensorRef(call.id, tensor)


def _model_kind(layer: Layer) -> str | None:
    """'Functional' or 'Sequential' for a nested model (read or not), else None."""
    if isinstance(layer.spec, ModelSpec):
        return layer.spec.graph.kind
    if layer.class_name in MODEL_CLASSES or _is_functional(layer.config):
        return "Sequential" if layer.class_name == "Sequential" else "Functional"
    return None


def _declares_input(graph: LayerGraph) -> bool:
    return bool(graph.inputs) and all(
        graph.calls[r.node].layer.spec is not None for r in graph.inputs)


def _distinct_input_symbols(graph: LayerGraph) -> None:
    """Give each input its own free-dim symbols, as the source frontend does.

    The inputs with free (non-batch) dims are numbered in layer order; from the second
    one on, their symbols get the number as a suffix (``H``, then ``H2``, ``W2``...).
    The batch stays shared.
    """
    free = 0
    for layer in graph.layers:
        spec = layer.spec
        if not isinstance(spec, InputLayer):
            continue
        if not any(isinstance(d, dims.Sym) for d in spec.batch_shape[1:]):
            continue
        free += 1
        if free == 1:
            continue
        shape = tuple(
            dims.Sym(f"{d.name}{free}") if i > 0 and isinstance(d, dims.Sym) else d
            for i, d in enumerate(spec.batch_shape)
        )
        layer.spec = spec.replace(batch_shape=shape)
