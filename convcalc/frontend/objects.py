"""The keras objects of an analysed program: layers, models, and the signals their
building raises (a rank decision, an error Keras itself would raise)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from convcalc.frontend.values import Instance, Node, Tensor, Unknown
from convcalc.graph import Layer, LayerGraph
from convcalc.layers.base import LayerSpec
from convcalc.types import Span


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: Conv2D -> conv2d, ReLU -> re_lu, InputLayer -> input_layer."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class RankChoice(Exception):
    """A model input of unknown rank met its first decisive consumer: start again with
    that input's rank fixed."""

    def __init__(self, key: int, rank: int, names: tuple[str, ...] | None = None) -> None:
        super().__init__(f"input #{key} has rank {rank}")
        self.key = key
        self.rank = rank
        self.names = names
        """Symbol names for the input's sizes (default: by rank, ``H, W, C``...)."""


class KerasError(Exception):
    """Keras itself would raise here (ValueError / TypeError); the interpreter turns it
    into an exception of the analysed program."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(eq=False)
class LayerObj:
    """A keras layer object of the analysed program."""

    layer: Layer
    declared_input: tuple[Any, ...] | Unknown | None = None
    """A batch shape declared by ``input_shape=``-style keywords (values), if any."""
    nodes: list[Node] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    instance: Instance | None = None

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def spec(self) -> LayerSpec | None:
        return self.layer.spec

    def __repr__(self) -> str:
        return f"<layer {self.layer.name}>"


@dataclass(slots=True)
class RecordedCall:
    """A model method call that convcalc records instead of running (compile, fit...)."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    span: Span | None


@dataclass(eq=False)
class ModelObj:
    """A keras model of the analysed program: Functional or Sequential."""

    kind: str
    name: str
    span: Span | None
    scope: tuple[str, ...] = ()
    trainable: bool = True
    inputs: Any = None
    outputs: Any = None
    graph: LayerGraph | None = None
    items: list[LayerObj | ModelObj] = field(default_factory=list)
    """A Sequential's layers (without its InputLayer)."""
    input_layer: LayerObj | None = None
    chain: list[Tensor] = field(default_factory=list)
    """A built Sequential: its input tensor, then each layer's output."""
    layer: Layer | None = None
    """The model as a layer of another model (made on first use)."""
    recorded: list[RecordedCall] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    nested: bool = False
    """Used as a layer of another model (called on tensors or added to a Sequential)."""

    @property
    def built(self) -> bool:
        return self.kind != "Sequential" or bool(self.chain)

    def __repr__(self) -> str:
        return f"<model {self.name}>"
