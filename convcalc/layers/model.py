"""A whole model (Sequential or Functional) used as a layer of another model.

Propagation treats it as a subgraph: its weights are its layers' weights and its
MACs the sum of its calls'. Frontends build it; it has no config of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from convcalc.layers.base import InferContext, LayerSpec, ShapeError
from convcalc.rules import SHAPE_UNKNOWN
from convcalc.types import TensorType

if TYPE_CHECKING:
    from convcalc.graph import LayerGraph
    from convcalc.layers.numeric import Array


class ModelSpec(LayerSpec):
    """A nested model; its shape rule is propagation through its own graph."""

    class_name = "Functional"
    aliases = ("Model", "Sequential")
    family = "model"

    graph: LayerGraph

    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        return len(self.graph.outputs)

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Outputs of the nested graph for these inputs."""
        from convcalc.propagate import propagate

        analysis = propagate(self.graph, dict(zip(self.graph.inputs, inputs, strict=True)))
        outs = analysis.output_types
        if any(t is None for t in outs):
            raise ShapeError(SHAPE_UNKNOWN, f"model {self.graph.name} has unknown outputs")
        return tuple(t for t in outs if t is not None)

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """The nested graph run by the executor; ``weights`` are its layers' weights in
        ``graph.layers`` order."""
        from convcalc.executor import forward_model

        return forward_model(self, inputs, weights)
