"""Pieces of the Keras serialization format: call sites, tensor references, name spans.

A serialized call site comes in two dialects. Keras 3 writes ``{"args": [...],
"kwargs": {...}}`` whose tensors are ``__keras_tensor__`` objects with a
``keras_history`` of ``[layer, node_index, tensor_index]``. Keras 2 writes the first
call argument as a structure of ``[layer, node_index, tensor_index, kwargs]`` entries,
with the other call arguments in ``kwargs`` (tensors there as ``[layer, node, tensor]``).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convcalc.layers.base import LayerSpec
from convcalc.types import Span


@dataclass(frozen=True, slots=True)
class TensorName:
    """A serialized tensor: output ``tensor`` of call ``node`` of layer ``layer``.

    The fields are raw JSON values, checked when the reference is resolved.
    ``keras3`` tells the dialect, which decides how nested models count their calls.
    """

    layer: Any
    node: Any
    tensor: Any
    keras3: bool

    def __str__(self) -> str:
        return json.dumps([self.layer, self.node, self.tensor], default=str)


CallSite = tuple[list[Any], dict[str, Any]]
"""Positional arguments and keyword arguments, with tensors as :class:`TensorName`."""


def _revive_k3(value: Any) -> Any:
    if type(value) is list:
        return [_revive_k3(v) for v in value]
    if type(value) is not dict:
        return value
    kind = value.get("class_name")
    cfg = value.get("config")
    if kind == "__keras_tensor__" and type(cfg) is dict:
        history = cfg.get("keras_history")
        if type(history) is list and len(history) == 3:
            return TensorName(history[0], history[1], history[2], keras3=True)
        return TensorName(history, None, None, keras3=True)
    if kind == "__tuple__" and type(cfg) is dict and type(cfg.get("value")) is list:
        return tuple(_revive_k3(v) for v in cfg["value"])
    return {k: _revive_k3(v) for k, v in value.items()}


def _is_k2_entry(value: Any) -> bool:
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


def _revive_k2(value: Any) -> Any:
    if _is_k2_entry(value):
        return TensorName(value[0], value[1], value[2], keras3=False)
    if isinstance(value, list):
        return [_revive_k2(v) for v in value]
    if isinstance(value, dict):
        return {k: _revive_k2(v) for k, v in value.items()}
    return value


_CONSTANT = "_CONSTANT_VALUE"
"""Keras 2's marker for a constant (non-tensor) first argument."""


def _parse_k2(node: Any) -> CallSite:
    kwargs: dict[str, Any] | None = None

    def first_arg(x: Any) -> Any:
        nonlocal kwargs
        if _is_k2_entry(x):
            if kwargs is None and len(x) == 4 and isinstance(x[3], dict):
                kwargs = {k: _revive_k2(v) for k, v in x[3].items()}
            if x[0] == _CONSTANT:
                return x[2]
            return TensorName(x[0], x[1], x[2], keras3=False)
        if isinstance(x, list):
            return [first_arg(v) for v in x]
        if isinstance(x, dict):  # tf.nest order: sorted keys
            return [first_arg(x[k]) for k in sorted(x)]
        raise ValueError(f"unexpected inbound entry {json.dumps(x)[:80]}")

    arg = first_arg(node)
    if isinstance(arg, list) and len(arg) == 1:
        arg = arg[0]
    return [arg], kwargs or {}


def parse_call_site(node: Any) -> CallSite:
    """One serialized call site, either dialect; ValueError if it is neither."""
    if isinstance(node, dict) and ("args" in node or "kwargs" in node):
        args = _revive_k3(node.get("args", []))
        kwargs = _revive_k3(node.get("kwargs", {}))
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
            raise ValueError("a call site needs an 'args' list and a 'kwargs' object")
        return list(args), kwargs
    if isinstance(node, (list, dict)):
        return _parse_k2(node)
    raise ValueError(f"unexpected inbound node {json.dumps(node)[:80]}")


def tensor_names(value: Any, out: list[TensorName] | None = None) -> list[TensorName]:
    """The tensors in a call argument, in order (appended to ``out`` if given)."""
    if out is None:
        out = []
    if type(value) is TensorName:
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            tensor_names(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            tensor_names(v, out)
    return out


def bind_call(
    spec: LayerSpec | None, args: list[Any], kwargs: Mapping[str, Any]
) -> tuple[list[TensorName], dict[str, Any]]:
    """Split a call into tensor inputs, in the spec's ``call_args`` order, and kwargs.

    Keyword arguments named in ``call_args`` (MultiHeadAttention ``value``, RNN
    ``initial_state``) are inputs, flattened in place; the others stay keyword
    arguments, tensors included (a ``mask``). Positional arguments past ``call_args``
    add their tensors at the end. For an unknown layer every tensor is an input.
    """
    inputs: list[TensorName] = []
    plain: dict[str, Any] = {}
    if spec is None:
        tensor_names(args, inputs)
        for k, v in kwargs.items():
            before = len(inputs)
            if len(tensor_names(v, inputs)) == before:
                plain[k] = v
        return inputs, plain
    names = type(spec).call_args
    bound: dict[str, Any] = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k in names:
            bound[k] = v
        else:
            plain[k] = v
    for n in names:
        if n in bound:
            tensor_names(bound[n], inputs)
    tensor_names(args[len(names):], inputs)
    return inputs, plain


def flatten_tensor_list(value: Any) -> list[list[Any]] | None:
    """``input_layers`` / ``output_layers`` entries in Keras's flattening order.

    One ``[name, node, tensor]`` (Keras 3 writes a single one unnested), or lists and
    dicts of them (dicts in sorted key order); None if malformed.
    """
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [value]
    if isinstance(value, list):
        out: list[list[Any]] = []
        for v in value:
            sub = flatten_tensor_list(v)
            if sub is None:
                return None
            out.extend(sub)
        return out
    if isinstance(value, dict):
        return flatten_tensor_list([value[k] for k in sorted(value)])
    return None


_NAME_KEY = re.compile(r'"name"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)"')


class NameSpans:
    """Where each ``"name": "..."`` is in a JSON text, looked up in document order.

    The reader meets layers in the order they appear in the text, so each lookup takes
    the first occurrence of the name after the one found last. Lines are counted
    forward from the previous lookup, so a whole pass over the layers reads the text
    once.
    """

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self._text = text
        self._cursor = -1
        self._positions: dict[str, list[int]] = {}
        self._line_at = (0, 1, 0)
        """A position, its line and where that line starts, to count newlines from."""
        positions = self._positions
        for m in _NAME_KEY.finditer(text):
            name = m.group(1)
            if "\\" in name:
                name = _unescape(name)
            found = positions.get(name)
            if found is None:
                positions[name] = [m.start()]
            else:
                found.append(m.start())

    def next(self, name: str) -> Span | None:
        """The span of the next ``"name": "<name>"``; None if the text has none."""
        positions = self._positions.get(name)
        if positions is None:
            return None
        i = bisect.bisect_right(positions, self._cursor)
        if i == len(positions):  # keys in an unusual order: fall back to the first
            i = 0
        else:
            self._cursor = positions[i]
        return self._span(positions[i])

    def _span(self, pos: int) -> Span:
        start, line, line_start = self._line_at
        if pos < start:
            start, line, line_start = 0, 1, 0
        newlines = self._text.count("\n", start, pos)
        if newlines:
            line += newlines
            line_start = self._text.rfind("\n", start, pos) + 1
        self._line_at = (pos, line, line_start)
        return Span(self.file, line, pos - line_start)


def _unescape(raw: str) -> str:
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw
