"""Tensor operations in a serialized Keras 3 functional model.

``to_json()`` writes the operations between layers (``x * 2``, ``ops.mean(x)``,
``x[:, 0]``) like layers, with ``"module": "keras.src.ops.numpy"`` (``.nn``, ``.math``,
``.image``, ``.core``; ``keras.src.activations`` for ``keras.activations.relu``): the
static arguments in ``config``, the operands (tensors, Python numbers, constant arrays
as ``__tensor__``) in the call site. Each is read into the spec the source frontend
makes for the same ``keras.ops`` call, through the same argument binding, so the shape
rule and the NumPy forward are shared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from convcalc.frontend.serialized import TensorName, parse_call_site
from convcalc.layers.base import ConfigError, LayerSpec

if TYPE_CHECKING:
    from convcalc.frontend.tensor_ops import GetItem
    from convcalc.frontend.values import Tensor

_MODULES = ("keras.src.ops.", "keras.src.activations.")
_RENAMED = {"absolute": "abs", "re_lu": "relu"}
"""Operation classes whose ``keras.ops`` function has another name."""
_STATIC_KEYS = ("name", "trainable")


def is_operation(entry: Mapping[str, Any]) -> bool:
    """Whether a serialized layer entry is a Keras 3 operation rather than a layer."""
    module = entry.get("module")
    return isinstance(module, str) and module.startswith(_MODULES)


def operation_spec(class_name: str, config: Mapping[str, Any],
                   entry: Mapping[str, Any]) -> LayerSpec | None:
    """The spec of a serialized operation; None for an operation convcalc does not
    model; ConfigError when its call cannot be read."""
    # imported here: reading a model of layers only does not load the source frontend
    from convcalc.frontend.objects import snake_case
    from convcalc.frontend.op_spellings import KERAS_OPS
    from convcalc.frontend.tensor_functions import OpCall, bind_operation
    from convcalc.frontend.tensor_ops import UNARY_FUNCTIONS, unary_op

    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, list) or not nodes:
        raise ConfigError(f"operation {class_name} has no call site")
    try:
        raw_args, raw_kwargs = parse_call_site(nodes[0])
    except ValueError as e:
        raise ConfigError(str(e)) from None
    placeholders: list[Tensor] = []
    args = [_revive(a, placeholders) for a in raw_args]
    kwargs = {k: _revive(v, placeholders) for k, v in raw_kwargs.items()}
    name = _RENAMED.get(snake_case(class_name), snake_case(class_name))
    if class_name == "GetItem":
        return _get_item(args)
    static = {k: v for k, v in config.items() if k not in _STATIC_KEYS}
    sig = KERAS_OPS.get(name)
    if sig is None:
        if name not in UNARY_FUNCTIONS or len(args) != 1:
            return None
        family = "activations" if entry.get("module", "").startswith(_MODULES[1]) else "ops"
        return unary_op(("keras", family, name), args, {**static, **kwargs})
    if sig.op == "einsum":
        args = [static.pop("subscripts", None), *args]
    call = bind_operation(sig, name, args, {**static, **kwargs}, "channels_last")
    if not isinstance(call, OpCall):
        raise ConfigError(f"operation {class_name}: arguments convcalc cannot read")
    if [id(t) for t in call.tensors] != [id(t) for t in placeholders]:
        raise ConfigError(f"operation {class_name}: operands in an order convcalc does not "
                          "follow")
    return call.spec


def _revive(value: Any, placeholders: list[Tensor]) -> Any:
    """A call argument as the source frontend sees it: a tensor for each serialized
    tensor (collected in order), a constant tensor for a ``__tensor__``."""
    from convcalc.frontend.tensor_ops import literal
    from convcalc.frontend.values import Tensor

    if isinstance(value, TensorName):
        t = Tensor(None, None)
        placeholders.append(t)
        return t
    if isinstance(value, list):
        return [_revive(v, placeholders) for v in value]
    if isinstance(value, tuple):
        return tuple(_revive(v, placeholders) for v in value)
    if isinstance(value, dict) and value.get("class_name") == "__tensor__":
        cfg = value.get("config")
        c = literal(cfg.get("value")) if isinstance(cfg, dict) else None
        if c is None or not isinstance(cfg, dict):
            raise ConfigError("a constant tensor convcalc cannot read")
        if isinstance(cfg.get("dtype"), str):
            c = replace(c, dtype=cfg["dtype"])
        return Tensor(c.type, None, constant=c)
    return value


def _get_item(args: Sequence[Any]) -> GetItem:
    from convcalc.frontend.tensor_ops import GetItem, index_key

    if len(args) != 2:
        raise ConfigError("GetItem: a tensor and a key expected")
    parts = args[1] if isinstance(args[1], list) else [args[1]]
    key = index_key(tuple(_index_part(p) for p in parts))
    if key is None:
        raise ConfigError("GetItem: a key convcalc cannot read")
    return GetItem(key=key)


def _index_part(p: Any) -> Any:
    if isinstance(p, dict) and p.get("class_name") == "__ellipsis__":
        return Ellipsis
    if isinstance(p, dict) and p.get("class_name") == "__slice__":
        cfg = p.get("config")
        if not isinstance(cfg, dict):
            raise ConfigError("GetItem: a malformed slice")
        return slice(cfg.get("start"), cfg.get("stop"), cfg.get("step"))
    return p
