"""The NumPy reference executor: runs a layer graph on arrays with the specs' forwards.

Calls run in topological order; each intermediate activation is dropped as soon as
its last consumer has run, so peak memory is the widest cut of the graph, not its sum.
A shared layer uses one weight set on every call; a nested model runs its own graph
with its own layers' weights. A layer without a NumPy forward (or whose forward
fails) yields no outputs, and every call downstream of it is skipped, not raised.

Keras masks travel with the arrays as they do in a Keras 3 functional model: each
output carries the mask its layer's spec computes (:meth:`LayerSpec.compute_mask`), a
layer that reads masks gets them in ``call_kwargs``, and a nested model runs its graph
on the masks of its inputs, its outputs keeping the masks its inner layers gave them.
A tensor of a Keras 3 functional model has two masks, and so it has here: the one the
model's build attached to it, which Keras saves in the arguments of a call taking
``mask`` and that one tensor alone, and the one it carries when the model runs, which
every other call reads. They differ once a layer has removed its inputs' masks
(MultiHeadAttention does, for the layers reading those tensors after it, here in the
executor's call order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from convcalc import dims
from convcalc.fusion import Plan, Step, apply_in_place
from convcalc.graph import Layer, LayerCall, LayerGraph, TensorRef
from convcalc.initializers import initialize
from convcalc.layers.base import LayerSpec
from convcalc.layers.model import ModelSpec
from convcalc.propagate import Analysis, declared_inputs, propagate
from convcalc.types import TensorType, WeightSpec

Array = np.ndarray[Any, np.dtype[Any]]
Masks = tuple[Array | None, ...]
"""The Keras masks of a call's inputs or outputs, None where a tensor carries none."""


class InputMasks(NamedTuple):
    """The masks of a call's inputs: those they carry when it runs, and those the
    model's build gave them."""

    runtime: Masks
    built: Masks


Weights = dict[Layer, list[Array]]
"""A weight set per layer object (a shared layer has one), in its spec's order."""

OK, NO_FORWARD, FAILED, SKIPPED = "ok", "no-forward", "failed", "skipped"
"""What happened to one call: ran; its layer has no forward; its forward raised; an
input was missing (upstream of it something did not run)."""


@dataclass(slots=True)
class CallRun:
    """One executed (or skipped) call, as passed to an observer."""

    call: LayerCall
    status: str
    outputs: tuple[Array, ...] | None
    """The arrays it produced (None unless it ran); valid only during the callback
    unless the executor keeps them."""
    static: tuple[TensorType | None, ...]
    """The output types shape propagation predicted for this call."""
    path: tuple[str, ...] = ()
    """Names of the nested models this call sits in, outermost first."""
    error: str = ""
    seconds: float = 0.0
    masks: Masks | None = None
    """The Keras masks of its outputs (None when none carries one); kept like
    ``outputs``."""
    built_masks: Masks | None = None
    """The masks the model's build gave its outputs (``masks`` itself when the same)."""

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...] | None:
        return None if self.outputs is None else tuple(a.shape for a in self.outputs)


Observer = Callable[[CallRun], None]


@dataclass(slots=True)
class Execution:
    """The outputs of a graph run (None where they could not be computed)."""

    outputs: list[Array | None]
    calls: list[CallRun] = field(default_factory=list)
    seconds: float = 0.0
    peak_bytes: int = 0
    """The largest total size of the activations held at once between calls (a
    forward's own temporaries, such as im2col buffers, are not seen)."""


def concrete_shape(shape: Sequence[dims.Dim], values: Mapping[str, int]) -> tuple[int, ...]:
    """A shape with its symbols replaced by ``values`` (ValueError if one stays free)."""
    out = []
    for d in shape:
        v = d if dims.is_int(d) else dims.substitute(d, values)
        if not dims.is_int(v):
            raise ValueError(f"dimension {d} has no value (bound: {dict(values)})")
        out.append(int(v))  # type: ignore[arg-type]
    return tuple(out)


def iter_layer_weights(analysis: Analysis) -> Iterator[tuple[Layer, tuple[WeightSpec, ...]]]:
    """Every layer with its weight specs, nested models' layers included (their first
    call's analysis), in ``graph.layers`` order."""
    for layer in analysis.graph.layers:
        lr = analysis.result(layer)
        if isinstance(layer.spec, ModelSpec):
            if lr.inner is not None:
                yield from iter_layer_weights(lr.inner)
        elif lr.weights:
            yield layer, lr.weights


def init_weights(analysis: Analysis, values: Mapping[str, int], seed: int = 0) -> Weights:
    """Weights drawn from the initialisers the config names, shapes bound by ``values``.

    Each weight gets its own stream of the seed (by position), so one layer's values
    do not change when another layer's shape does.
    """
    out: Weights = {}
    for i, (layer, specs) in enumerate(iter_layer_weights(analysis)):
        arrays = []
        for j, w in enumerate(specs):
            rng = np.random.default_rng(np.random.SeedSequence([seed, i, j]))
            arrays.append(initialize(w.initializer, concrete_shape(w.shape, values), rng,
                                     _float_dtype(w.dtype)))
        out[layer] = arrays
    return out


def _float_dtype(dtype: str) -> str:
    return "float32" if dtype in ("float16", "bfloat16", "mixed_float16") else dtype


class Executor:
    """Runs one graph; nested models recurse into an executor of their own graph."""

    def __init__(self, weights: Mapping[Layer, Sequence[Array]],
                 observer: Observer | None = None, keep: bool = False,
                 skip: frozenset[int] = frozenset(), plan: Plan | None = None) -> None:
        self.weights = weights
        self.plan: Plan = plan or {}
        """Rewrites of top-level calls (see :mod:`convcalc.fusion`)."""
        self.skip = skip
        """Ids of top-level calls not to run (propagation found them broken)."""
        self.observer = observer
        self.keep = keep
        self.calls: list[CallRun] = []
        self.live: dict[int, list[int]] = {}
        """Buffer id -> [arrays held that use it, its size]: a view or a passed-through
        array shares its owner's memory and is counted once."""
        self.live_bytes = 0
        self.peak_bytes = 0

    def run(self, graph: LayerGraph, inputs: Sequence[Array],
            analysis: Analysis | None = None, path: tuple[str, ...] = ()
            ) -> list[Array | None]:
        """The graph's outputs for ``inputs`` (one array per model input, in order)."""
        return self.run_masked(graph, inputs, analysis, path)[0]

    def run_masked(self, graph: LayerGraph, inputs: Sequence[Array],
                   analysis: Analysis | None = None, path: tuple[str, ...] = (),
                   masks: Masks | None = None) -> tuple[list[Array | None], Masks | None]:
        """The graph's outputs and their Keras masks for ``inputs`` carrying ``masks``
        (one per input; None: no input is masked)."""
        if len(inputs) != len(graph.inputs):
            raise ValueError(f"model {graph.name} has {len(graph.inputs)} inputs, "
                             f"got {len(inputs)} arrays")
        fed = {ref.node: x for ref, x in zip(graph.inputs, inputs, strict=True)}
        uses = _use_counts(graph)
        values: dict[int, tuple[Array, ...] | None] = {}
        table = _MaskTable()
        if masks is not None:  # set on the inputs when the model runs; its build saw none
            for ref, m in zip(graph.inputs, masks, strict=True):
                if m is not None:
                    table.runtime[ref.node] = (m,)
                    table.built[ref.node] = None
        for call in graph.ordered_calls():
            static = analysis.calls[call.id].outputs if analysis is not None else ()
            if call.id in fed:
                run = self.call(call, [fed[call.id]], static, analysis, path)
                if run.outputs is not None and call.id in table.runtime:
                    run.masks, run.built_masks = table.runtime[call.id], None
            else:
                ins = _gather(values, call.inputs)
                in_masks = table.gather(call.inputs) if table else None
                run = self.call(call, ins, static, analysis, path, in_masks)
            values[call.id] = run.outputs
            if run.outputs is not None:
                self._count(run.outputs, +1)
                if table or run.masks is not None:
                    table.store(call, run)
            if self.observer is not None:
                self.observer(run)
            if not self.keep:
                run.outputs = run.masks = run.built_masks = None
            self.calls.append(run)
            for ref in call.inputs:
                uses[ref.node] -= 1
                if uses[ref.node] == 0:
                    self._count(values.pop(ref.node, None), -1)
                    if table:
                        table.drop(ref.node)
        outs: list[Array | None] = []
        for ref in graph.outputs:
            produced = values.get(ref.node)
            outs.append(produced[ref.index] if produced is not None else None)
        for kept in values.values():  # handed to the caller, who counts what it keeps
            self._count(kept, -1)
        out_masks = table.gather(graph.outputs) if table else None
        return outs, out_masks.runtime if out_masks is not None else None

    def _count(self, arrays: tuple[Array, ...] | None, sign: int) -> None:
        if arrays is None:
            return
        for a in arrays:
            owner = a
            while isinstance(owner.base, np.ndarray):
                owner = owner.base
            entry = self.live.get(id(owner))
            if entry is None:
                if sign < 0:
                    continue
                entry = self.live[id(owner)] = [0, owner.nbytes]
                self.live_bytes += owner.nbytes
            entry[0] += sign
            if entry[0] <= 0:
                del self.live[id(owner)]
                self.live_bytes -= entry[1]
        self.peak_bytes = max(self.peak_bytes, self.live_bytes)

    def call(self, call: LayerCall, ins: list[Array] | None,
             static: tuple[TensorType | None, ...], analysis: Analysis | None,
             path: tuple[str, ...], masks: InputMasks | None = None) -> CallRun:
        """Run one call: its forward on its inputs (carrying ``masks``; None: none is
        masked) and its layer's weights."""
        spec = call.layer.spec
        if ins is None or spec is None:  # an unknown layer was reported by propagation
            return CallRun(call, SKIPPED, None, static, path)
        if not isinstance(spec, ModelSpec) and type(spec).forward is LayerSpec.forward:
            return CallRun(call, NO_FORWARD, None, static, path,
                           f"{spec.class_name} has no NumPy forward")
        if (analysis is not None and None in static) or (not path and call.id in self.skip):
            # propagation found this call broken (and said why): nothing to compare
            return CallRun(call, SKIPPED, None, static, path, "no static output type")
        step = None if path else self.plan.get(call.id)
        kwargs = call.kwargs
        out_masks = built_masks = None
        start = time.perf_counter()
        try:
            if isinstance(spec, ModelSpec):
                inner = None if masks is None else _read_masks(call, spec, masks)
                outs, out_masks = self.nested(call, spec, ins, analysis, path, inner)
            else:
                masked = masks is not None or spec.makes_mask()
                if masked:
                    kwargs, computed, built = _masking(call, spec, ins, masks)
                weights = self.layer_weights(call.layer, spec)
                if step is not None:
                    outs = _planned(step, spec, ins, weights, kwargs)
                else:
                    outs = spec.forward(ins, weights, kwargs)
                if masked:
                    out_masks = built_masks = _fitted(computed, len(outs))
                    if built is not computed:
                        built_masks = _fitted(built, len(outs))
        except _Incomplete as e:
            return CallRun(call, SKIPPED, None, static, path, str(e))
        except NotImplementedError as e:
            return CallRun(call, NO_FORWARD, None, static, path, str(e))
        except Exception as e:  # a bug in a forward must not end the run
            return CallRun(call, FAILED, None, static, path, f"{type(e).__name__}: {e}")
        return CallRun(call, OK, tuple(outs), static, path,
                       seconds=time.perf_counter() - start, masks=out_masks,
                       built_masks=built_masks)

    def layer_weights(self, layer: Layer, spec: LayerSpec) -> Sequence[Array]:
        """The layer's weight set; none for a layer absent from it (a layer with no
        weights, or one whose forward then fails for want of them)."""
        return self.weights.get(layer, ())

    def nested(self, call: LayerCall, spec: ModelSpec, ins: list[Array],
               outer: Analysis | None, path: tuple[str, ...], masks: Masks | None = None
               ) -> tuple[tuple[Array, ...], Masks | None]:
        """A model used as a layer: its own graph, with its calls observed too, on the
        masks of its inputs; its outputs keep the masks their inner layers gave them
        (Keras attaches masks to the tensors themselves, whichever layer returns them;
        the model's build gives them none)."""
        inner = _inner_analysis(call, spec, outer, ins)
        outs, out_masks = self.run_masked(spec.graph, ins, inner, (*path, call.layer.name),
                                          masks)
        if any(o is None for o in outs):
            raise _Incomplete(f"layers of model {spec.graph.name} did not run")
        return tuple(o for o in outs if o is not None), out_masks


class _Incomplete(Exception):
    """A nested model's outputs are missing (its own calls say why)."""


def _planned(step: Step, spec: LayerSpec, ins: list[Array], weights: Sequence[Array],
             kwargs: Mapping[str, Any]) -> tuple[Array, ...]:
    if step.alias:
        outs: tuple[Array, ...] = (ins[0],)
    else:
        outs = (step.spec or spec).forward(
            ins, weights if step.weights is None else step.weights, kwargs)
    if step.post is not None:
        x = outs[0]
        if x.base is None and x.flags.writeable and x.dtype.kind == "f":
            apply_in_place(step.post, x)
        else:  # not an array of its own after all: leave the original untouched
            from convcalc.layers.activations import apply_activation

            outs = (apply_activation(step.post, x), *outs[1:])
    return outs


def _inner_analysis(call: LayerCall, spec: ModelSpec, outer: Analysis | None,
                    ins: Sequence[Array]) -> Analysis | None:
    """The propagation of the nested graph matching this call: the stored one for the
    first call, a fresh one (on the outer call's input types) for a later call."""
    if outer is None:
        return None
    lr = outer.result(call.layer)
    if lr.inner is not None and call.call_index == 0:
        return lr.inner
    types = outer.calls[call.id].inputs
    if any(t is None for t in types):
        return None
    declared = declared_inputs(spec.graph)
    given = {ref: t for ref, t in zip(spec.graph.inputs, types, strict=True)
             if t is not None and declared.get(ref) is not None}
    return propagate(spec.graph, given)


class _MaskTable:
    """The masks of the held outputs of one graph run, for calls that made any: those
    they carry (``runtime``) and, where different, those of the build (``built``)."""

    __slots__ = ("built", "runtime")

    def __init__(self) -> None:
        self.runtime: dict[int, Masks] = {}
        self.built: dict[int, Masks | None] = {}

    def __bool__(self) -> bool:
        return bool(self.runtime) or bool(self.built)

    def gather(self, refs: Sequence[TensorRef]) -> InputMasks | None:
        """The masks of the tensors ``refs`` names; None if none carries any."""
        runtime = tuple(_mask_of(self.runtime.get(r.node), r.index) for r in refs)
        built = runtime
        if self.built and any(r.node in self.built for r in refs):
            built = tuple(_mask_of(self.built[r.node], r.index) if r.node in self.built
                          else m for r, m in zip(refs, runtime, strict=True))
        if all(m is None for m in runtime) and all(m is None for m in built):
            return None
        return InputMasks(runtime, built)

    def store(self, call: LayerCall, run: CallRun) -> None:
        """Record a call's output masks; a layer that removes its inputs' masks (Keras's
        MultiHeadAttention) leaves them to its inputs' build only."""
        if run.masks is not None:
            self.runtime[call.id] = run.masks
        if run.built_masks is not run.masks:
            self.built[call.id] = run.built_masks
        spec = call.layer.spec
        if spec is None or not spec.clears_input_masks:
            return
        for ref in call.inputs:
            held = self.runtime.get(ref.node)
            if held is None or held[ref.index] is None:
                continue
            self.built.setdefault(ref.node, held)
            cleared = tuple(None if i == ref.index else m for i, m in enumerate(held))
            if any(m is not None for m in cleared):
                self.runtime[ref.node] = cleared
            else:
                del self.runtime[ref.node]

    def drop(self, node: int) -> None:
        self.runtime.pop(node, None)
        self.built.pop(node, None)


def _mask_of(masks: Masks | None, index: int) -> Array | None:
    return masks[index] if masks is not None and index < len(masks) else None


def _read_masks(call: LayerCall, spec: LayerSpec, masks: InputMasks) -> Masks:
    """The masks a call reads: those its inputs carry, but for a call that takes
    ``mask`` and its one tensor alone, the build's (Keras stores them in such a call's
    arguments) unless the build had none."""
    if masks.built is masks.runtime or len(call.inputs) != 1:
        return masks.runtime
    if not (isinstance(spec, ModelSpec) or spec.mask_in_call):
        return masks.runtime
    if call.kwargs and "mask" not in call.kwargs:  # other arguments: Keras stored none
        return masks.runtime
    return tuple(b if b is not None else r
                 for b, r in zip(masks.built, masks.runtime, strict=True))


def _masking(call: LayerCall, spec: LayerSpec, ins: Sequence[Array],
             masks: InputMasks | None) -> tuple[Mapping[str, Any], Masks, Masks]:
    """The call's kwargs with the mask arguments Keras fills in, and its output masks
    (those it carries, and those of the build, the same object when equal)."""
    read = (None,) * len(ins) if masks is None else _read_masks(call, spec, masks)
    kwargs = _with_mask_arguments(spec, read, call.kwargs)
    computed = tuple(spec.compute_mask(ins, read, kwargs))
    if masks is None or masks.built is masks.runtime:
        return kwargs, computed, computed
    built = _with_mask_arguments(spec, masks.built, call.kwargs)
    return kwargs, computed, tuple(spec.compute_mask(ins, masks.built, built))


def _with_mask_arguments(spec: LayerSpec, masks: Masks,
                         kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``kwargs`` with the mask arguments Keras fills in from ``masks``.

    An argument given explicitly stays, unless it names a tensor of the graph: Keras 3
    saves the masks it filled in among a call's arguments, as references to the ops
    that computed them, so such a reference stands for the mask the input carries.
    (With no mask on the input it stays, and a forward that reads it refuses it.)
    """
    extra = spec.mask_arguments(masks)
    if not extra:
        return kwargs
    return {**kwargs, **{k: m for k, m in extra.items() if kwargs.get(k) is None
                         or (m is not None and _names_tensor(kwargs[k]))}}


def _names_tensor(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_names_tensor(v) for v in value)
    return isinstance(value, TensorRef)


def _fitted(masks: Masks, n: int) -> Masks | None:
    """One mask per output (None past those computed; a mask that is no array, such as
    an explicit mask argument read from a config, is not known); None if none is."""
    out = tuple(m if isinstance(m, np.ndarray) else None for m in masks[:n])
    if all(m is None for m in out):
        return None
    return out + (None,) * (n - len(out))


def _gather(values: Mapping[int, tuple[Array, ...] | None],
            refs: Sequence[TensorRef]) -> list[Array] | None:
    out = []
    for ref in refs:
        produced = values.get(ref.node)
        if produced is None or ref.index >= len(produced):
            return None
        out.append(produced[ref.index])
    return out


def _use_counts(graph: LayerGraph) -> dict[int, int]:
    """How many reads each call's outputs still have ahead (model outputs count once,
    so they are never dropped)."""
    uses: dict[int, int] = {}
    for c in graph.calls:
        for ref in c.inputs:
            uses[ref.node] = uses.get(ref.node, 0) + 1
    for ref in graph.outputs:
        uses[ref.node] = uses.get(ref.node, 0) + 1
    return uses


def execute(graph: LayerGraph, inputs: Sequence[Array], weights: Mapping[Layer, Sequence[Array]],
            *, analysis: Analysis | None = None, observer: Observer | None = None,
            keep: bool = False, skip: frozenset[int] = frozenset(),
            plan: Plan | None = None, blas_threads: int | None = 1) -> Execution:
    """Run ``graph`` on ``inputs`` (batch first, one per model input) with ``weights``.

    ``observer`` sees every call as it completes (its outputs are dropped afterwards
    unless ``keep``); ``analysis`` supplies each call's static types to it; calls
    whose ids are in ``skip`` are not run, nor anything depending on them. ``plan``
    (from :func:`convcalc.fusion.plan`) folds and fuses layers for speed: the model's
    outputs stay the same, the folded layers' own outputs are not computed.
    ``blas_threads`` caps the BLAS threads while running (None: the library's own).
    """
    ex = Executor(weights, observer, keep, skip, plan)
    start = time.perf_counter()
    with _blas_threads(blas_threads):
        outs = ex.run(graph, inputs, analysis)
    return Execution(outs, ex.calls, time.perf_counter() - start, ex.peak_bytes)


@contextmanager
def _blas_threads(limit: int | None) -> Iterator[None]:
    """At most ``limit`` BLAS threads inside the block.

    A batch-1 forward is a chain of small matmuls: extra BLAS threads mostly wait for
    each other, and when the cores are busy they make a run many times slower
    (ResNet50 here: 0.13 s on one thread, 1.6 s on two with the machine loaded).
    """
    if limit is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit, user_api="blas"):
        yield


def forward_model(spec: ModelSpec, inputs: Sequence[Array],
                  weights: Sequence[Array]) -> tuple[Array, ...]:
    """A nested model's outputs from its flat weight list (inner layers' weights in
    ``graph.layers`` order, as propagation lists them)."""
    types = {ref: TensorType(tuple(x.shape), str(x.dtype))
             for ref, x in zip(spec.graph.inputs, inputs, strict=True)}
    analysis = propagate(spec.graph, types)
    table: Weights = {}
    pos = 0
    for layer, specs in iter_layer_weights(analysis):
        table[layer] = list(weights[pos:pos + len(specs)])
        pos += len(specs)
    if pos != len(weights):
        raise ValueError(f"model {spec.graph.name} has {pos} weights, got {len(weights)}")
    outs = Executor(table).run(spec.graph, inputs, analysis)
    if any(o is None for o in outs):
        raise NotImplementedError(f"model {spec.graph.name} has layers without a forward")
    return tuple(o for o in outs if o is not None)
