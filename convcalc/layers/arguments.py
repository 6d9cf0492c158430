"""Converters that validate raw layer arguments (JSON values or source values).

Each takes the raw value and the spec class (for class-level facts such as ``rank``)
and returns the typed value or raises :class:`ConfigError` / ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.layers.base import ConfigError, LayerSpec
from convcalc.types import Initializer


def _is_dim(v: Any) -> bool:
    return (type(v) is int) or isinstance(v, dims.Sym) or _is_sympy(v)


def _is_sympy(v: Any) -> bool:
    return type(v).__module__.startswith("sympy")


def to_int(v: Any, cls: type[LayerSpec] | None = None) -> int:
    """An int (integral floats accepted, as Keras does via int())."""
    if isinstance(v, bool):
        raise ConfigError(f"expected an integer, got {v!r}")
    if type(v) is int:
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ConfigError(f"expected an integer, got {v!r}")


def positive_int(v: Any, cls: type[LayerSpec] | None = None) -> int:
    """An int >= 1."""
    n = to_int(v)
    if n < 1:
        raise ConfigError(f"expected a positive integer, got {v!r}")
    return n


def non_negative_int(v: Any, cls: type[LayerSpec] | None = None) -> int:
    """An int >= 0."""
    n = to_int(v)
    if n < 0:
        raise ConfigError(f"expected a non-negative integer, got {v!r}")
    return n


def positive_dim(v: Any, cls: type[LayerSpec] | None = None) -> Dim:
    """A positive int, or a symbolic dim (from source code with unknown values)."""
    if _is_dim(v) and type(v) is not int:
        return dims.normalize(v)
    return positive_int(v)


def to_float(v: Any, cls: type[LayerSpec] | None = None) -> float:
    """A float (ints accepted)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"expected a number, got {v!r}")
    return float(v)


def to_bool(v: Any, cls: type[LayerSpec] | None = None) -> bool:
    """A bool."""
    if not isinstance(v, bool):
        raise ConfigError(f"expected True or False, got {v!r}")
    return v


def to_str(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """A string."""
    if not isinstance(v, str):
        raise ConfigError(f"expected a string, got {v!r}")
    return v


def ntuple(v: Any, cls: type[LayerSpec]) -> tuple[int, ...]:
    """An int or a sequence of ``cls.rank`` positive ints (kernel sizes, strides)."""
    rank: int = cls.rank  # type: ignore[attr-defined]
    if isinstance(v, (list, tuple)):
        if len(v) != rank:
            raise ConfigError(f"expected {rank} values, got {list(v)!r}")
        return tuple(positive_int(x) for x in v)
    return (positive_int(v),) * rank


def padding_mode(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """'valid', 'same' or 'causal' (case-insensitive; the spec restricts further)."""
    if not isinstance(v, str) or v.lower() not in ("valid", "same", "causal"):
        raise ConfigError(f"padding must be 'valid' or 'same', got {v!r}")
    return v.lower()


_DATA_FORMATS = {
    "channels_last": "channels_last", "channels_first": "channels_first",
    "tf": "channels_last", "th": "channels_first", "default": "channels_last",
}
"""Keras 3 ``data_format`` values, and Keras 1 ``dim_ordering`` ones ('default' was 'tf')."""


def data_format(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """'channels_last' (also for None, Keras' default) or 'channels_first'; Keras 1
    ``dim_ordering`` values 'tf' / 'th' are accepted (specs rename that argument)."""
    if v is None:
        return "channels_last"
    if isinstance(v, str) and v.lower() in _DATA_FORMATS:
        return _DATA_FORMATS[v.lower()]
    raise ConfigError(f"data_format must be 'channels_last' or 'channels_first', got {v!r}")


def activation(v: Any, cls: type[LayerSpec] | None = None) -> str:
    """An activation's name; None means 'linear'. Serialized functions are unwrapped."""
    if v is None:
        return "linear"
    if isinstance(v, str):
        return v.lower() if v != "" else "linear"
    if isinstance(v, Mapping):
        inner = v.get("config")
        if isinstance(inner, str):
            return inner.lower()
        if isinstance(inner, Mapping) and isinstance(inner.get("name"), str):
            return str(inner["name"]).lower()
        name = v.get("class_name")
        if isinstance(name, str):
            return name.lower()
    raise ConfigError(f"unsupported activation {v!r}")


def initializer(v: Any, cls: type[LayerSpec] | None = None) -> Initializer | None:
    """A Keras initializer from a name or a serialized ``{class_name, config}``."""
    if v is None:
        return None
    if isinstance(v, str):
        return Initializer(v)
    if isinstance(v, Mapping) and isinstance(v.get("class_name"), str):
        cfg = v.get("config")
        if isinstance(cfg, Mapping):
            items = tuple(sorted((str(k), _freeze(x)) for k, x in cfg.items()))
        else:  # a serialized function: its name
            items = () if cfg is None else (("value", _freeze(cfg)),)
        return Initializer(str(v["class_name"]), items)
    raise ConfigError(f"unsupported initializer {v!r}")


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v


def axes(v: Any, cls: type[LayerSpec] | None = None) -> tuple[int, ...]:
    """One axis or a sequence of axes, as a tuple of ints."""
    if isinstance(v, (list, tuple)):
        return tuple(to_int(x) for x in v)
    return (to_int(v),)


def optional(conv: Any) -> Any:
    """Wrap a converter so that None passes through unchanged."""

    def convert(v: Any, cls: type[LayerSpec]) -> Any:
        return None if v is None else conv(v, cls)

    convert.__doc__ = f"None, or {conv.__doc__}"
    return convert


def dim_tuple(v: Any, cls: type[LayerSpec] | None = None) -> tuple[Dim, ...]:
    """A sequence of dims (ints or symbols), e.g. a target shape."""
    if not isinstance(v, Sequence) or isinstance(v, str):
        v = (v,)
    out: list[Dim] = []
    for x in v:
        if _is_dim(x) and type(x) is not int:
            out.append(dims.normalize(x))
        else:
            out.append(to_int(x))
    return tuple(out)
