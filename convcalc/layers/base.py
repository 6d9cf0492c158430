"""The layer-spec interface and the registry of layer kinds.

A :class:`LayerSpec` subclass holds everything Keras-specific about one layer class:
its arguments (typed fields, defaults, Keras 1/2 aliases), its shape rule, its weight
shapes (params derive from them), its MACs and FLOPs. Frontends, propagation,
counting and rendering only go through this interface.

MACs and FLOPs are per sample (batch size 1).
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, dataclass_transform

from convcalc import dims
from convcalc.dims import Dim
from convcalc.rules import NON_POSITIVE_DIM, Rule
from convcalc.types import TensorType, WeightSpec

if TYPE_CHECKING:
    import numpy as np

    Array = np.ndarray[Any, np.dtype[Any]]

Converter = Callable[[Any, type["LayerSpec"]], Any]


class ConfigError(Exception):
    """A layer argument Keras would reject, or one that is missing."""

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class ShapeError(Exception):
    """A shape rule cannot produce outputs for these inputs."""

    def __init__(self, rule: Rule, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.hint = hint


@dataclasses.dataclass(frozen=True, slots=True)
class Requirement:
    """A condition on symbolic dims that must hold for the model to build.

    ``lhs == rhs`` (``kind='equal'``) or ``lhs >= 1`` (``kind='positive'``, rhs unused).
    ``detail`` names the axis when several requirements share one message.
    """

    kind: str
    lhs: Dim
    rhs: Dim
    rule: Rule
    message: str
    detail: str = ""

    def describe(self) -> str:
        """``axis 1 (2*floor(H/8) vs floor(H/2))``."""
        values = f"{self.lhs} vs {self.rhs}"
        return f"{self.detail} ({values})" if self.detail else values


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """An error found by a shape rule that still produced (best-effort) outputs."""

    rule: Rule
    message: str
    hint: str | None = None
    detail: str = ""
    """Appended to the message; problems sharing a message are reported once."""


def join_details(message: str, details: Sequence[str]) -> str:
    """One message for several failures of one check (``...: axis 1 (...), axis 2 (...)``)."""
    details = [d for d in details if d]
    return f"{message}: {', '.join(details)}" if details else message


class InferContext:
    """What a shape rule may report while computing the outputs of one call."""

    __slots__ = ("call_kwargs", "primary", "problems", "requirements")

    def __init__(self, call_kwargs: Mapping[str, Any] | None = None, primary: int = 0) -> None:
        self.call_kwargs: Mapping[str, Any] = call_kwargs or {}
        self.primary = primary
        """The input best-effort outputs follow after a mismatch: the most recently
        computed one (in an encoder/decoder, the decoder path rather than the skip)."""
        self.problems: list[Problem] = []
        self.requirements: list[Requirement] = []

    def error(self, rule: Rule, message: str, hint: str | None = None) -> None:
        """Record an error; the rule carries on with best-effort outputs."""
        self.problems.append(Problem(rule, message, hint))

    def require_equal(
        self, a: Dim, b: Dim, rule: Rule, message: str, detail: str = ""
    ) -> bool:
        """Check ``a == b``: an error if they differ, a requirement if symbolic.

        With a ``detail`` (``"axis 1"``), failures sharing the message are reported as
        one, listing each detail with its two dims. Returns False only when the dims
        are known to differ.
        """
        if a == b:
            return True
        if dims.is_int(a) and dims.is_int(b):
            req = Requirement("equal", a, b, rule, message, detail)
            self.problems.append(Problem(rule, message, None, req.describe() if detail else ""))
            return False
        if not dims.identical(a, b):
            self.requirements.append(Requirement("equal", a, b, rule, message, detail))
        return True

    def require_positive(self, shape: Sequence[Dim], message: str) -> None:
        """Raise if a concrete dim is below 1; record symbolic ones as requirements."""
        for d in shape:
            if dims.is_int(d):
                if d < 1:  # type: ignore[operator]
                    raise ShapeError(NON_POSITIVE_DIM, message)
            elif not isinstance(d, dims.Sym):
                self.requirements.append(Requirement("positive", d, 1, NON_POSITIVE_DIM, message))


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Any = _Missing()


class Option:
    """A declared layer argument: its name, default and converter."""

    __slots__ = ("convert", "default", "name", "required")

    def __init__(self, default: Any = _MISSING, convert: Converter | None = None) -> None:
        self.name = ""
        self.default = default
        self.convert = convert
        self.required = default is _MISSING

    def __repr__(self) -> str:
        return f"Option({self.name!r}, default={self.default!r})"


def option(default: Any = _MISSING, convert: Converter | None = None) -> Any:
    """A layer argument: its default and the converter that validates raw values."""
    return Option(default, convert)


@dataclasses.dataclass(frozen=True, slots=True)
class Example:
    """A sample use of a layer kind, checked against real Keras by the contract test.

    ``inputs`` are batch shapes (None for the batch or an unknown dim); ``call`` holds
    non-tensor call arguments. ``fails`` marks a case Keras rejects. ``arguments``, when
    given, names the call argument each input binds to (the first one is passed
    positionally; a name given several times collects a list, e.g. an RNN's
    ``initial_state``); by default the inputs follow ``call_args``.
    """

    config: Mapping[str, Any]
    inputs: tuple[tuple[int | None, ...], ...]
    call: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    fails: bool = False
    arguments: tuple[str, ...] = ()


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(option,))
class LayerSpec:
    """One Keras layer kind: subclasses declare its arguments as annotated fields.

    A spec is an immutable record of those arguments, built with keyword arguments and
    compared by value, like a frozen dataclass. (Its fields are collected once per class
    by ``__init_subclass__`` rather than by ``dataclasses``, whose per-class code
    generation would dominate start-up with a hundred layer kinds.)
    """

    class_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[str] = ""
    positional: ClassVar[tuple[str, ...]] = ()
    """Constructor parameters that may be passed positionally, in Keras order."""
    renamed: ClassVar[Mapping[str, str]] = {}
    """Keras 1/2 argument names mapped to the Keras 3 name."""
    call_args: ClassVar[tuple[str, ...]] = ("inputs",)
    """Names of the call arguments that carry tensors, in order."""
    examples: ClassVar[tuple[Example, ...]] = ()
    """Sample configs and input shapes for the registry-wide contract test."""
    in_keras3: ClassVar[bool] = True
    """False for Keras 1/2 layer kinds that Keras 3 no longer has (no oracle for them)."""
    pure: ClassVar[bool] = True
    """Whether the rules depend only on the arguments and inputs (so results may be
    reused); False for layers whose rules interpret the analysed program's code."""
    supports_masking: ClassVar[bool] = False
    """Keras's ``supports_masking``: the outputs keep a mask (by default the first call
    argument's); without it a mask stops here."""
    mask_in_call: ClassVar[bool] = False
    """Whether the layer reads its inputs' masks (Keras's ``call`` takes ``mask``, or
    reads them off its input tensors); the forward gets them in ``call_kwargs``."""
    clears_input_masks: ClassVar[bool] = False
    """Whether Keras's ``call`` removes the masks of its input tensors, so that layers
    reading those tensors after it see none."""
    _fields: ClassVar[tuple[Option, ...]] = ()

    # ------------------------------------------------------------------ the record
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = {f.name: f for f in cls._fields}
        for name, annotation in inspect.get_annotations(cls).items():
            if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, _MISSING)
            opt = value if isinstance(value, Option) else Option(value)
            opt.name = name
            fields[name] = opt
            if name in cls.__dict__:
                delattr(cls, name)  # instances hold every field; no class fallback
        cls._fields = tuple(fields.values())
        # the field values as one tuple, read in C (specs are compared and hashed often);
        # the first name again makes even a one-field spec give a tuple
        names = [f.name for f in cls._fields]
        getter = operator.itemgetter(*names, *names[:1]) if names else (lambda d: ())
        cls._values_of = staticmethod(getter)  # type: ignore[assignment]

    def __init__(self, **values: Any) -> None:
        own = self.__dict__
        for f in self._fields:
            if f.name in values:
                own[f.name] = values.pop(f.name)
            elif f.default is _MISSING:
                raise TypeError(f"{type(self).__name__}: missing argument {f.name!r}")
            else:
                own[f.name] = f.default
        if values:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(values)}")
        self.__post_init__()

    def __post_init__(self) -> None:
        """Normalise field values after construction (e.g. an int kernel to a tuple)."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def __getstate__(self) -> dict[str, Any]:
        # the cached hash is per process (string hashes are salted)
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @staticmethod
    def _values_of(values: Mapping[str, Any]) -> tuple[Any, ...]:
        return ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[f.name] for f in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._values_of(self.__dict__) == other._values_of(other.__dict__)

    def __hash__(self) -> int:
        h: int | None = self.__dict__.get("_hash")
        if h is None:  # computed once: specs are keys of the propagation memo
            h = self.__dict__["_hash"] = hash((type(self), self._values_of(self.__dict__)))
        return h

    def __repr__(self) -> str:
        args = ", ".join(f"{f.name}={self.__dict__[f.name]!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def replace(self, **changes: Any) -> Self:
        """A copy with some arguments changed."""
        values = {f.name: self.__dict__[f.name] for f in self._fields}
        values.update(changes)
        return type(self)(**values)

    # ----------------------------------------------------------------- construction
    @classmethod
    def _spec_fields(cls) -> tuple[Option, ...]:
        """The declared arguments, in declaration order (base classes first)."""
        return cls._fields

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> Mapping[str, Any]:
        """Map Keras 1/2 argument names and forms onto Keras 3 ones."""
        if not cls.renamed or not cls.renamed.keys() & config.keys():
            return config
        out = dict(config)
        for old, new in cls.renamed.items():
            if old in out:
                value = out.pop(old)
                out.setdefault(new, value)
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """Build the spec from a Keras config dict (unknown keys are ignored)."""
        cfg = cls.upgrade_config(config)
        spec = cls.__new__(cls)
        values = spec.__dict__
        for f in cls._fields:
            raw = cfg.get(f.name, _MISSING)
            if raw is _MISSING:
                if f.required:
                    raise ConfigError(
                        f"{cls.class_name}: missing required argument {f.name!r}", f.name)
                values[f.name] = f.default
                continue
            try:
                values[f.name] = f.convert(raw, cls) if f.convert else raw
            except ConfigError as e:
                raise ConfigError(f"{cls.class_name}: {e}", f.name) from None
            except (TypeError, ValueError) as e:
                raise ConfigError(
                    f"{cls.class_name}: invalid {f.name}={raw!r} ({e})", f.name
                ) from None
        spec.__post_init__()
        spec.validate()
        return spec

    @classmethod
    def bind_arguments(
        cls, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None = None
    ) -> dict[str, Any]:
        """Constructor call arguments as a config dict (positionals named).

        ``written_as`` is the class name used in the source (an alias such as the Keras 1
        ``Convolution2D`` may select another positional order).
        """
        if len(args) > len(cls.positional):
            raise ConfigError(
                f"{cls.class_name} takes at most {len(cls.positional)} positional "
                f"arguments, got {len(args)}"
            )
        config = dict(zip(cls.positional, args, strict=False))
        for k, v in kwargs.items():
            if k in config:
                raise ConfigError(f"{cls.class_name} got multiple values for argument {k!r}", k)
            config[k] = v
        return config

    @classmethod
    def from_call(
        cls, args: Sequence[Any], kwargs: Mapping[str, Any], written_as: str | None = None
    ) -> Self:
        """Build the spec from a constructor call as written in Python source."""
        return cls.from_config(cls.bind_arguments(args, kwargs, written_as))

    def validate(self) -> None:
        """Reject argument combinations Keras rejects (raise ConfigError)."""

    # ------------------------------------------------------------------ behaviour
    def num_outputs(self, call_kwargs: Mapping[str, Any] | None = None) -> int:
        """How many tensors one call returns (call arguments may change it)."""
        return 1

    def infer(self, inputs: Sequence[TensorType], ctx: InferContext) -> tuple[TensorType, ...]:
        """Output types of one call (raise ShapeError when there are none)."""
        raise NotImplementedError

    def weights(self, inputs: Sequence[TensorType]) -> tuple[WeightSpec, ...]:
        """Weight variables built by the first call on ``inputs``."""
        return ()

    def macs(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """Multiply-accumulates per sample: 0."""
        return 0

    def flops(self, inputs: Sequence[TensorType], outputs: Sequence[TensorType]) -> Dim:
        """FLOPs per sample: 2 * MACs."""
        return dims.mul(2, self.macs(inputs, outputs))

    def forward(
        self, inputs: Sequence[Array], weights: Sequence[Array], call_kwargs: Mapping[str, Any]
    ) -> tuple[Array, ...]:
        """Inference-time outputs of one call on NumPy arrays (batch first).

        ``weights`` come in the order of :meth:`weights`, which is Keras's own order,
        so weights loaded from a Keras file or copied from a Keras layer fit as they are.
        Training-only behaviour (dropout, noise, augmentation) is the identity.
        """
        raise NotImplementedError(f"{self.class_name} has no NumPy forward")

    # ------------------------------------------------------------------ Keras masks
    # A mask is a boolean array over the leading axes of a tensor (batch, steps for a
    # sequence): False marks padding. ``masks`` holds one per input, None where the
    # input carries none.
    def makes_mask(self) -> bool:
        """Whether the outputs may carry a mask when no input does."""
        return False

    def mask_arguments(self, masks: Sequence[Array | None]) -> dict[str, Any]:
        """The mask call arguments Keras fills in from the input masks: ``mask`` for a
        call that takes it and has one tensor argument (the input's mask, or a list for
        a list of inputs); none when several arguments carry tensors."""
        if not self.mask_in_call or (len(self.call_args) > 1 and len(masks) > 1):
            return {}
        return {"mask": masks[0] if len(masks) == 1 else list(masks)}

    def previous_masks(self, masks: Sequence[Array | None],
                       call_kwargs: Mapping[str, Any]) -> list[Array | None]:
        """Keras's ``previous_mask``, flattened: the ``mask`` argument, else the masks
        of the first call argument (every input when it is a list)."""
        given = call_kwargs.get("mask")
        if given is not None:
            return list(given) if isinstance(given, (list, tuple)) else [given]
        return list(masks) if len(self.call_args) <= 1 else list(masks[:1])

    def compute_mask(self, inputs: Sequence[Array], masks: Sequence[Array | None],
                     call_kwargs: Mapping[str, Any]) -> Sequence[Array | None]:
        """The output masks, in order (missing ones are None): with masking support the
        previous masks pass through, else none (Keras's default ``compute_mask``)."""
        return self.previous_masks(masks, call_kwargs) if self.supports_masking else ()

    def summary(self) -> str:
        """The few arguments worth showing next to the layer name."""
        return ""


REGISTRY: dict[str, type[LayerSpec]] = {}
_SpecT = TypeVar("_SpecT", bound=type[LayerSpec])


def register(cls: _SpecT) -> _SpecT:
    """Class decorator: make a spec findable by its class name and aliases."""
    for name in (cls.class_name, *cls.aliases):
        if name in REGISTRY and REGISTRY[name] is not cls:
            raise RuntimeError(f"layer name {name!r} registered twice")
        REGISTRY[name] = cls
    return cls
