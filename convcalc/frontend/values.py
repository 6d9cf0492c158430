"""The abstract values of the source interpreter.

Python constants and containers are represented by themselves (``int``, ``str``,
``tuple``, ``list``, ``dict``, ``range``...), their elements being abstract values in
turn. Everything else is one of the small closed set of classes below. ``Unknown``
stands for anything that cannot be computed (data, an unmodelled library call) and
absorbs attribute access, calls, subscripts and arithmetic.

Every class compares by identity, so Python containers holding them never call back
into user-defined equality.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from convcalc import dims
from convcalc.dims import Dim
from convcalc.types import Span, TensorType

if TYPE_CHECKING:
    from convcalc.frontend.objects import LayerObj, ModelObj
    from convcalc.frontend.tensor_ops import Constant
    from convcalc.graph import Layer, Site

Args = list[Any]
"""Positional arguments of an abstract call."""
Kwargs = dict[str, Any]
"""Keyword arguments of an abstract call."""
SyntaxNode = ast.AST | None
"""The syntax node a value or call comes from, for spans."""


@dataclass(eq=False, slots=True)
class Unknown:
    """A value that cannot be computed statically.

    ``origin`` is the expression it came from (for messages); ``name`` is the symbol
    name to use when it turns out to be a size (a parameter's name, an attribute).
    """

    origin: str
    name: str | None = None
    node: ast.AST | None = None

    def __repr__(self) -> str:
        return f"<unknown {self.origin}>"


@dataclass(eq=False, slots=True)
class SymInt:
    """A symbolic integer: a dim that is not a concrete int (``H``, ``floor(H/2)``).

    ``none`` marks a size read from a tensor shape, which Keras itself shows as None:
    ``d is None`` holds for it, so code takes the branch it takes under Keras.
    """

    dim: Dim
    none: bool = False

    def __repr__(self) -> str:
        return str(self.dim)


def make_int(d: Dim) -> int | SymInt:
    """A dim as a value: a Python int when concrete."""
    n = dims.as_int(d)
    return n if n is not None else SymInt(d)


def as_dim(v: Any) -> Dim | None:
    """The dim of an int-like value (int or SymInt), else None."""
    if type(v) is int:
        return v
    if type(v) is SymInt:
        return v.dim
    return None


@dataclass(eq=False, slots=True)
class Node:
    """One call of a layer (or tensor operation) on tensors, as recorded while building."""

    layer: Layer
    inputs: tuple[Tensor, ...]
    span: Span | None
    kwargs: dict[str, Any]
    seq: int
    outputs: tuple[Tensor, ...] = ()
    sites: tuple[Site, ...] = ()

    @property
    def is_input(self) -> bool:
        return not self.inputs and self.layer.class_name == "InputLayer"


@dataclass(eq=False, slots=True)
class Tensor:
    """A symbolic Keras tensor: output ``index`` of ``node``.

    ``type`` is None when it cannot be derived. ``pending`` marks a model input whose
    rank is not decided yet (its shape came from an unknown value). ``constant`` marks
    an array known when the model is built (``ops.ones``): it has no node, and an
    operation records it as a value rather than as an input.
    """

    type: TensorType | None
    node: Node | None
    index: int = 0
    pending: int | None = None
    constant: Constant | None = None

    def __repr__(self) -> str:
        return f"<tensor {self.type}>"


@dataclass(eq=False, slots=True)
class Variable:
    """A weight created by ``add_weight`` in a custom layer: a tensor without batch,
    read in operations as ``tensor``."""

    shape: tuple[Dim, ...]
    name: str
    trainable: bool
    tensor: Tensor


@dataclass(eq=False)
class ModuleObj:
    """A Python module read from source (the user's own, or keras's own files)."""

    name: str
    file: str
    namespace: dict[str, Any]
    package: str
    lazy: dict[str, ast.stmt] | None = None
    """For an import-only module: name -> the import statement that binds it."""

    def __repr__(self) -> str:
        return f"<module {self.name}>"


@dataclass(eq=False, slots=True)
class PyModule:
    """A modelled library module (math, numpy...): known members, the rest unknown."""

    name: str
    members: dict[str, Any]

    def __repr__(self) -> str:
        return f"<module {self.name}>"


@dataclass(eq=False, slots=True)
class KerasRef:
    """A keras (or tensorflow) name not resolved to anything more specific yet: a module,
    or a function / class convcalc does not model."""

    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def __repr__(self) -> str:
        return f"<keras {self.dotted}>"


@dataclass(eq=False, slots=True)
class LayerClass:
    """A keras layer class: known to the catalogue (``spec`` set) or not."""

    class_name: str
    spec: Any
    """The LayerSpec subclass, or None for a class the catalogue lacks."""

    def __repr__(self) -> str:
        return f"<layer class {self.class_name}>"


@dataclass(eq=False, slots=True)
class KerasObject:
    """An instance of a keras class convcalc does not model (optimizer, initializer,
    regularizer, callback...), kept with its arguments."""

    class_name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def __repr__(self) -> str:
        return f"<keras object {self.class_name}>"


@dataclass(eq=False, slots=True)
class Builtin:
    """A callable implemented by the interpreter (a Python builtin, a keras function)."""

    name: str
    fn: Callable[..., Any]
    receiver: Any = None
    bound: bool = False

    def bind(self, receiver: Any) -> Builtin:
        return Builtin(self.name, self.fn, receiver, True)

    def __repr__(self) -> str:
        return f"<builtin {self.name}>"


@dataclass(eq=False, slots=True)
class BuiltinType:
    """A Python builtin type used as a value (``int``, ``list``, ``ValueError``...)."""

    name: str
    py: type | None
    call: Callable[..., Any] | None = None
    base: BuiltinType | None = None

    def is_subclass_of(self, other: BuiltinType) -> bool:
        t: BuiltinType | None = self
        while t is not None:
            if t is other:
                return True
            t = t.base
        return False

    def __repr__(self) -> str:
        return f"<type {self.name}>"


@dataclass(eq=False, slots=True)
class ExceptionInst:
    """An exception object raised by analysed code."""

    cls: BuiltinType | ClassObj
    args: tuple[Any, ...]

    @property
    def class_name(self) -> str:
        return self.cls.name

    def message(self) -> str:
        return " ".join(str(a) for a in self.args if isinstance(a, (str, int, float)))


@dataclass(eq=False)
class FunctionInfo:
    """Facts about a function body gathered once: its local names and kind."""

    locals: frozenset[str]
    globals: frozenset[str]
    nonlocals: frozenset[str]
    generator: bool


@dataclass(eq=False)
class Function:
    """A user function (``def`` or ``lambda``) with its closure and defaults."""

    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    module: ModuleObj
    closure: tuple[dict[str, Any], ...]
    defaults: list[Any]
    kw_defaults: dict[str, Any]
    info: FunctionInfo
    owner: ClassObj | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    kind: str = "function"
    """'function', 'staticmethod', 'classmethod' or 'property'."""

    def __repr__(self) -> str:
        return f"<function {self.name}>"


@dataclass(eq=False, slots=True)
class BoundMethod:
    """A user function bound to its receiver (an instance, or a class for classmethods)."""

    function: Function
    receiver: Any


@dataclass(eq=False)
class ClassObj:
    """A class defined in analysed code."""

    name: str
    bases: tuple[Any, ...]
    namespace: dict[str, Any]
    module: ModuleObj
    keras_base: str | None = None
    """'Layer' or 'Model' when it derives from that keras class (directly or not)."""

    def mro(self) -> list[ClassObj]:
        out: list[ClassObj] = [self]
        for b in self.bases:
            if isinstance(b, ClassObj):
                for c in b.mro():
                    if c not in out:
                        out.append(c)
        return out

    def lookup(self, name: str) -> tuple[bool, Any]:
        for c in self.mro():
            if name in c.namespace:
                return True, c.namespace[name]
        return False, None

    def __repr__(self) -> str:
        return f"<class {self.name}>"


@dataclass(eq=False)
class Instance:
    """An instance of a class defined in analysed code."""

    cls: ClassObj
    attrs: dict[str, Any] = field(default_factory=dict)
    layer: LayerObj | None = None
    """For a custom keras layer: the layer it stands for."""

    def __repr__(self) -> str:
        return f"<{self.cls.name} instance>"


@dataclass(eq=False, slots=True)
class SuperProxy:
    """``super()`` inside a method: attribute lookup starts after ``cls`` in the MRO."""

    cls: ClassObj
    receiver: Any


@dataclass(eq=False, slots=True)
class Iterator:
    """An iterator over a materialised sequence (``iter()``, generators)."""

    items: list[Any]
    pos: int = 0


@dataclass(eq=False, slots=True)
class ContextValue:
    """A context manager convcalc models as doing nothing (``name_scope``...)."""

    name: str


def models_in(value: Any, depth: int = 0) -> list[ModelObj]:
    """The models found in a value (a model, or containers holding models)."""
    from convcalc.frontend.objects import ModelObj

    if isinstance(value, ModelObj):
        return [value]
    if depth > 3:
        return []
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in models_in(v, depth + 1)]
    if isinstance(value, dict):
        return [m for v in value.values() for m in models_in(v, depth + 1)]
    return []
