"""A custom layer's code, interpreted: what its ``build`` and ``call`` do for given
input types (a trace), and the layer spec built on its traces.

Interpreting ``call`` on symbolic tensors records every layer and tensor operation it
calls, and where each of their inputs comes from (an input of the layer, an earlier
call, one of its own weights, a constant), so the spec can give its shapes, weights
and costs, list its sub-layers, and replay it on arrays (its NumPy forward) without
ever running the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.formulas import evaluate, summed
from convcalc.frontend.building import (
    flatten_tensors,
    restructure,
)
from convcalc.frontend.objects import KerasError, snake_case
from convcalc.frontend.op_forwards import constant_array
from convcalc.frontend.scopes import BudgetExceeded, UserException
from convcalc.frontend.tensor_ops import Constant
from convcalc.frontend.values import (
    Instance,
    Kwargs,
    Tensor,
    Unknown,
    make_int,
)
from convcalc.graph import Layer
from convcalc.layers.base import InferContext, LayerSpec, ShapeError
from convcalc.layers.model import ModelSpec
from convcalc.rules import SHAPE_UNKNOWN
from convcalc.types import TensorType, WeightSpec

if TYPE_CHECKING:
    from convcalc.frontend.interpreter import Interpreter
    from convcalc.layers.base import Array



@dataclass(frozen=True, slots=True)
class CallOutput:
    """Output ``index`` of the trace's call number ``call``."""

    call: int
    index: int


@dataclass(frozen=True, slots=True)
class LayerInput:
    """Input ``index`` of the custom layer."""

    index: int


@dataclass(frozen=True, slots=True)
class OwnWeight:
    """The custom layer's own weight number ``index`` (``add_weight``)."""

    index: int


Source = CallOutput | LayerInput | OwnWeight | Constant
"""Where a tensor in a custom layer's ``call`` comes from."""


@dataclass(frozen=True, slots=True)
class SubCall:
    """One call of a layer (or, with ``op``, of a tensor operation) inside a custom
    layer's ``call``; ``weights`` on a layer's first call. ``sources`` tells, per input,
    where it comes from (None: a value convcalc cannot follow); ``kwargs`` are the
    call's plain arguments."""

    layer: Layer
    inputs: tuple[TensorType, ...]
    outputs: tuple[TensorType, ...]
    weights: tuple[WeightSpec, ...] | None
    macs: Dim | None
    flops: Dim | None
    sources: tuple[Source | None, ...] = ()
    op: bool = False
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Trace:
    """What one interpretation of a custom layer's build + call produced."""

    outputs: tuple[TensorType | None, ...]
    weights: list[WeightSpec]
    macs: list[Dim]
    flops: list[Dim]
    error: str | None = None
    calls: list[SubCall] = field(default_factory=list)
    output_sources: tuple[Source | None, ...] = ()


BUILT = "__built__"
"""The key marking, in a custom layer's attributes, that its ``build`` has run."""


class Runner:
    """Interprets one custom layer for given input types (cached per input types)."""

    def __init__(self, it: Interpreter, inst: Instance | None, fn: Any, template: Any,
                 kwargs: Kwargs, name: str) -> None:
        self.it = it
        self.inst = inst
        self.fn = fn
        self.template = template
        self.kwargs = kwargs
        self.name = name
        self.cache: dict[tuple[TensorType, ...], _Trace] = {}
        self.own: list[WeightSpec] = []
        self.subs: list[tuple[str, tuple[WeightSpec, ...]]] = []
        self.calls: list[SubCall] = []
        self.built_layers: set[int] = set()
        self.macs: list[Dim] = []
        self.flops: list[Dim] = []
        self.sources: dict[int, tuple[Tensor, Source]] = {}
        """Per tensor of the trace (by id, kept alive with it), where it comes from."""
        self.weight_names: dict[int, str] = {}

    def trace(self, types: Sequence[TensorType]) -> _Trace:
        key = tuple(types)
        if key in self.cache:
            return self.cache[key]
        result = self._run(types)
        self.cache[key] = result
        return result

    def _run(self, types: Sequence[TensorType]) -> _Trace:
        it = self.it
        session = it.session
        tensors = [Tensor(t, None) for t in types]
        inputs = restructure(self.template, tensors)
        saved = (session.detached, session.tracer)
        session.detached, session.tracer = True, self
        self.own, self.subs, self.built_layers, self.calls = [], [], set(), []
        self.macs, self.flops = [], []
        self.sources = {id(t): (t, LayerInput(i)) for i, t in enumerate(tensors)}
        error: str | None = None
        out: Any = None
        try:
            if self.inst is not None:
                self._build(inputs)
                found, call = self.inst.cls.lookup("call")
                if not found:
                    raise ShapeError(SHAPE_UNKNOWN, f"{self.name} has no call() method")
                out = it.call(it.bind(call, self.inst), [inputs], dict(self.kwargs), None)
            else:
                out = it.call(self.fn, [inputs], dict(self.kwargs), None)
        except UserException as e:
            error = f"{e.exc.class_name}: {e.exc.message()}"
        except ShapeError as e:
            error = e.message
        except BudgetExceeded as e:
            error = f"interpreting it stopped: {e.message}"
        except (KerasError, RecursionError) as e:
            error = str(e)
        finally:
            session.detached, session.tracer = saved
        flat = flatten_tensors(out, strict=False) or []
        if error is None and not flat:
            error = "its call() does not return a tensor convcalc can follow"
        outs = tuple(t.type for t in flat) if flat else (None,)
        if error is None and any(t is None for t in outs):
            error = "its call() uses operations convcalc cannot follow"
        weights = list(self.own)
        for prefix, ws in self.subs:
            weights.extend(w._replace(name=f"{prefix}/{w.name}") for w in ws)
        return _Trace(outs, weights, list(self.macs), list(self.flops), error, list(self.calls),
                      tuple(self._source(t) for t in flat))

    def _build(self, inputs: Any) -> None:
        assert self.inst is not None
        it = self.it
        found, build = self.inst.cls.lookup("build")
        if not found:
            return
        flat = flatten_tensors(inputs, strict=False) or []
        as_shapes = [shape_of_batch(t.type) for t in flat]
        shapes: Any = (as_shapes[0] if isinstance(inputs, Tensor)
                       else replace_tensors(inputs, as_shapes))
        it.call(it.bind(build, self.inst), [shapes], {}, None)
        if self.inst.layer is not None:
            self.inst.layer.attrs[BUILT] = True

    # hooks called by the session while tracing
    def _source(self, t: Tensor) -> Source | None:
        entry = self.sources.get(id(t))
        if entry is not None and entry[0] is t:
            return entry[1]
        return t.constant

    def _record(self, layer: Layer, ins: Sequence[Tensor], outs: Sequence[Tensor],
                weights: Sequence[WeightSpec] | None, macs: Dim | None, flops: Dim | None,
                op: bool = False, kwargs: Mapping[str, Any] | None = None) -> None:
        first = not op and id(layer) not in self.built_layers
        if first:  # a layer's weights are built by its first call
            self.built_layers.add(id(layer))
            self.subs.append((layer.name, tuple(weights or ())))
        if macs is not None:
            self.macs.append(macs)
        if flops is not None:
            self.flops.append(flops)
        index = len(self.calls)
        self.calls.append(SubCall(
            layer, tuple(t.type for t in ins if t.type is not None),
            tuple(t.type for t in outs if t.type is not None),
            tuple(weights or ()) if first else None, macs, flops,
            tuple(self._source(t) for t in ins), op, dict(kwargs or {})))
        for i, t in enumerate(outs):
            self.sources[id(t)] = (t, CallOutput(index, i))

    def layer_called(self, layer: Layer, ins: Sequence[Tensor], outs: Sequence[Tensor],
                     kwargs: Mapping[str, Any] | None = None) -> None:
        """A layer called in ``call``: its weights count as the custom layer's."""
        spec = layer.spec
        if spec is None:
            return
        tin = [t.type for t in ins if t.type is not None]
        tout = [t.type for t in outs if t.type is not None]
        try:
            weights = spec.weights(tin) if id(layer) not in self.built_layers else ()
            macs, flops = spec.macs(tin, tout), spec.flops(tin, tout)
        except Exception:
            return
        self._record(layer, ins, outs, weights, macs, flops, kwargs=kwargs)

    def sub_weights(self, layer: Layer, spec: LayerSpec, ins: Sequence[Tensor],
                    outs: Sequence[Tensor], kwargs: Mapping[str, Any] | None = None) -> None:
        """A layer or model called in ``call`` outside the session's layer calls."""
        tin = [t.type for t in ins if t.type is not None]
        if isinstance(spec, ModelSpec):
            self._model_call(layer, spec, ins, outs)
            return
        try:
            tout = spec.infer(tin, InferContext())
            weights = spec.weights(tin) if id(layer) not in self.built_layers else ()
            macs, flops = spec.macs(tin, tout), spec.flops(tin, tout)
        except Exception:
            return
        self._record(layer, ins, outs, weights, macs, flops, kwargs=kwargs)

    def _model_call(self, layer: Layer, spec: ModelSpec, ins: Sequence[Tensor],
                    outs: Sequence[Tensor]) -> None:
        """The weights and cost of a model called in ``call``, from its own graph."""
        from convcalc.propagate import propagate

        graph = spec.graph
        if len(ins) != len(graph.inputs):
            return
        types = [t.type for t in ins]
        inner = propagate(graph, dict(zip(graph.inputs, types, strict=True)))  # type: ignore[arg-type]
        weights: list[WeightSpec] = []
        macs: list[Dim] = []
        flops: list[Dim] = []
        for lr in inner.layers.values():
            weights.extend(w._replace(name=f"{lr.layer.name}/{w.name}",
                                      trainable=w.trainable and lr.layer.trainable)
                           for w in lr.weights or ())
            macs.extend(cr.macs for cr in lr.calls if cr.macs is not None)
            flops.extend(cr.flops for cr in lr.calls if cr.flops is not None)
        self._record(layer, ins, outs, weights, dims.total(macs), dims.total(flops))

    def op_called(self, spec: LayerSpec, ins: Sequence[Tensor],
                  outs: Sequence[Tensor]) -> None:
        """A tensor operation in ``call`` (``ops.matmul``): its MACs and FLOPs count."""
        tin = [t.type for t in ins if t.type is not None]
        tout = [t.type for t in outs if t.type is not None]
        try:
            macs, flops = spec.macs(tin, tout), spec.flops(tin, tout)
        except Exception:
            return
        kind = getattr(spec, "op_class", spec.class_name)
        name = snake_case(kind)
        self._record(Layer(name, kind, spec, {"name": name}, hidden=True), ins, outs, None,
                     macs, flops, op=True)

    def weight_name(self) -> str:
        """Keras's name for the next unnamed weight: ``variable``, ``variable_1``... from
        a session-wide counter, taken once per weight however often it is traced."""
        index = len(self.own)
        if index not in self.weight_names:
            self.weight_names[index] = self.it.session.uniquify("variable")
        return self.weight_names[index]

    def add_weight(self, w: WeightSpec, tensor: Tensor) -> None:
        """A weight of the layer's own (``add_weight``), read in ``call`` as ``tensor``."""
        self.sources[id(tensor)] = (tensor, OwnWeight(len(self.own)))
        self.own.append(w)


def shape_of_batch(t: TensorType | None) -> Any:
    """A tensor type as the shape value ``build`` is given: ``(None, 32, 32, 3)``."""
    if t is None:
        return Unknown("an input shape")
    return tuple(None if d == dims.BATCH else make_int(d) for d in t.shape)


def replace_tensors(value: Any, shapes: list[Any]) -> Any:
    """``value`` with its tensors replaced, in order, by ``shapes``."""
    it_shapes = iter(shapes)

    def walk(v: Any) -> Any:
        if isinstance(v, Tensor):
            return next(it_shapes)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, tuple):
            return tuple(walk(x) for x in v)
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    return walk(value)


class InterpretedLayer(LayerSpec):
    """A layer whose shapes and weights come from interpreting its Python code."""

    class_name = "CustomLayer"
    family = "custom"
    pure = False

    runner: Runner
    n_outputs: int = 1

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        return self.n_outputs

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """The outputs of the interpreted ``call``."""
        trace = self.runner.trace(inputs)
        if trace.error is not None or any(t is None for t in trace.outputs):
            raise ShapeError(SHAPE_UNKNOWN, f"{self.runner.name}: {trace.error}",
                             "Give the layer a compute_output_shape, or use built-in layers.")
        return tuple(t for t in trace.outputs if t is not None)

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        return tuple(self.runner.trace(inputs).weights)

    def sublayer_calls(self, inputs: Sequence[TensorType]) -> list[SubCall]:
        """The calls of layers inside its ``call`` for these inputs, in order."""
        return [c for c in self.runner.trace(inputs).calls if not c.op]

    def inner_calls(self, inputs: Sequence[TensorType]
                    ) -> tuple[list[SubCall], tuple[Source | None, ...]]:
        """Every layer and operation call inside its ``call`` for these inputs, in order
        (``Source.call`` indexes this list), and where each of its outputs comes from."""
        trace = self.runner.trace(inputs)
        return list(trace.calls), trace.output_sources

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """The MACs of the layers its call() uses"""
        return evaluate(summed("sub-layer MACs", (m for m in self.runner.trace(inputs).macs
                                                  if m != 0)))

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """The FLOPs of the layers its call() uses"""
        return dims.total(self.runner.trace(inputs).flops)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Its ``call`` replayed on arrays: the layer and operation calls its code made
        when interpreted on inputs of these shapes, each by its own forward, tensors
        passed as the code passes them. ``weights`` are its own weights, then each
        sub-layer's (as :meth:`weights` lists them)."""
        types = [TensorType(tuple(x.shape), x.dtype.name) for x in inputs]
        trace = self.runner.trace(types)
        if trace.error is not None:
            raise NotImplementedError(f"{self.runner.name}: {trace.error}")
        firsts = [c for c in trace.calls if c.weights is not None]
        own = len(weights) - sum(len(c.weights or ()) for c in firsts)
        if own < 0:
            raise ValueError(f"{self.runner.name} has more weights than the "
                             f"{len(weights)} given")
        per_layer: dict[int, Sequence[Array]] = {}
        pos = own
        for c in firsts:
            per_layer[id(c.layer)] = weights[pos:pos + len(c.weights or ())]
            pos += len(c.weights or ())
        values: list[tuple[Array, ...]] = []

        def value(src: Source | None) -> Array:
            if src is None:
                raise NotImplementedError(
                    f"{self.runner.name}: its call() reads a value convcalc cannot follow")
            if isinstance(src, Constant):
                return constant_array(src)
            if isinstance(src, OwnWeight):
                return weights[src.index]
            if isinstance(src, LayerInput):
                return inputs[src.index]
            return values[src.call][src.index]

        for c in trace.calls:
            spec = c.layer.spec
            ins = [value(s) for s in c.sources]
            if spec is None:
                raise NotImplementedError(f"{c.layer.name} ({c.layer.class_name}) is unknown")
            if isinstance(spec, ModelSpec):
                from convcalc.executor import forward_model

                try:
                    outs = forward_model(spec, ins, per_layer.get(id(c.layer), ()))
                except ValueError as e:
                    raise NotImplementedError(str(e)) from None
            else:
                outs = spec.forward(ins, per_layer.get(id(c.layer), ()), c.kwargs)
            values.append(tuple(outs))
        return tuple(value(s) for s in trace.output_sources)
