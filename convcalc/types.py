"""Value types shared by every part of convcalc: spans, tensor types, weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from convcalc import dims
from convcalc.dims import Dim

Shape = tuple[Dim, ...]


class Span(NamedTuple):
    """A place in an analysed file (1-based line, 0-based column, as Python's ast)."""

    file: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"


class TensorType(NamedTuple):
    """The static type of a tensor: its full shape (batch first) and dtype.

    An immutable record (a named tuple: several are made per layer call, and a tuple
    is built four times faster than a frozen dataclass).
    """

    shape: Shape
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def batch(self) -> Dim:
        return self.shape[0]

    def with_shape(self, shape: Shape) -> TensorType:
        return TensorType(shape, self.dtype)

    def __str__(self) -> str:
        return format_shape(self.shape)


def format_shape(shape: Shape) -> str:
    """Keras-summary form: ``(None, 32, 32, 3)``."""
    inner = ", ".join(dims.format_dim(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def shape_to_json(shape: Shape) -> list[int | str | None]:
    """JSON form of a shape: the batch as null, symbolic dims as strings."""
    return [dims.to_json(d) for d in shape]


@dataclass(frozen=True, slots=True)
class Initializer:
    """A Keras initializer, by class name and config (used by the executor)."""

    name: str
    config: tuple[tuple[str, Any], ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.config).get(key, default)


class WeightSpec(NamedTuple):
    """One weight variable of a layer; params are derived from these shapes.

    An immutable record (a named tuple, like TensorType, for the same reason).
    """

    name: str
    shape: Shape
    trainable: bool = True
    initializer: Initializer | None = None
    dtype: str = "float32"

    @property
    def size(self) -> Dim:
        return dims.prod(self.shape)
