"""What compiled templates and helpers share at run time, and what the compiler knows of both.

``Frame`` is what a running statement sees, ``Options`` the ``options`` argument a helper gets.
``HelperSpec`` describes a helper to the compiler (may it be called without options, does it
compare numbers, can it bind literal arguments at compile time); ``Traits`` records what the
compiler knows of a closure it made, for the code generator to write it inline. Helpers import
this module, never the compiler, so neither depends on the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from ..jsvalues import UNDEFINED

if TYPE_CHECKING:
    from .codegen import Spec

Helper = Callable[..., Any]


class Frame:
    """Everything a running statement can see: ``this``, parent contexts, @data, block params."""

    __slots__ = ("ctx", "depths", "data", "bparams", "scope")

    def __init__(self, ctx: Any, depths: tuple[Any, ...], data: dict[str, Any], bparams: tuple[dict[str, Any], ...], scope: Any):
        self.ctx = ctx
        self.depths = depths
        self.data = data
        self.bparams = bparams
        self.scope = scope


Renderer = Callable[[Frame], str]
Evaluator = Callable[[Frame], Any]

_MISSING: Any = object()


class Options:
    """The ``options`` argument of a helper: hash, data, and the block's programs."""

    __slots__ = ("frame", "hash", "name", "line", "_program", "_inverse", "block_param_count", "is_block", "_names",
                 "pure_body")

    def __init__(self, frame: Frame, hash_: dict[str, Any], name: str, line: int,
                 program: Renderer | None, inverse: Renderer | None, block_param_count: int, is_block: bool,
                 names: list[str] | None = None, pure_body: bool = False):
        self.frame = frame
        self.hash = hash_
        self.name = name
        self.line = line
        self._program = program
        self._inverse = inverse
        self.block_param_count = block_param_count
        self.is_block = is_block
        self._names = names
        # True when nothing in the block can observe @data or the frame: a helper may then
        # skip building per-iteration data frames (see ``fn_in_place``).
        self.pure_body = pure_body

    @property
    def context(self) -> Any:
        return self.frame.ctx

    @property
    def data(self) -> dict[str, Any]:
        return self.frame.data

    @property
    def scope(self) -> Any:
        return self.frame.scope

    def _run(self, program: Renderer | None, context: Any, data: dict[str, Any] | None,
             block_params: list[Any] | None, param_names: list[str] | None = None) -> str:
        if program is None:
            return ""
        frame = self.frame
        ctx = frame.ctx if context is _MISSING else context
        depths = frame.depths if ctx is frame.depths[0] else (ctx, *frame.depths)
        bparams = frame.bparams
        if block_params is not None and param_names:
            bparams = ({name: block_params[i] if i < len(block_params) else UNDEFINED for i, name in enumerate(param_names)}, *bparams)
        return program(Frame(ctx, depths, frame.data if data is None else data, bparams, frame.scope))

    def fn(self, context: Any = _MISSING, data: dict[str, Any] | None = None, block_params: list[Any] | None = None) -> str:
        names = self._names
        if names is None and self._program is not None:
            known = traits_of(self._program)
            names = known.block_param_names if known is not None else None
        return self._run(self._program, context, data, block_params, names)

    def fn_in_place(self) -> str:
        """``fn()`` with this frame as it is; only for ``pure_body`` blocks."""
        return self._program(self.frame) if self._program is not None else ""

    def inverse(self, context: Any = _MISSING, data: dict[str, Any] | None = None) -> str:
        return self._run(self._inverse, context, data, None)

    @property
    def has_inverse(self) -> bool:
        return self._inverse is not None


def lookup_property(obj: Any, name: Any) -> Any:
    """Own-property access as Handlebars allows it (no prototype members except length)."""
    if isinstance(obj, dict):
        value = obj.get(name if isinstance(name, str) else str(name), UNDEFINED)
        return value
    if isinstance(obj, (list, str)):
        if name == "length":
            return len(obj)
        key = name if isinstance(name, int) else (int(name) if isinstance(name, str) and name.isdigit() else None)
        if key is not None and not isinstance(key, bool) and 0 <= key < len(obj):
            return obj[key]
    return UNDEFINED


def create_frame(data: dict[str, Any]) -> dict[str, Any]:
    frame = dict(data)
    frame["_parent"] = data
    return frame


Binder = Callable[[list[Any], int], "Callable[[Any], Any] | None"]


@dataclass(frozen=True, slots=True)
class HelperSpec:
    """A helper and what the compiler may assume about it."""

    fn: Helper
    options_free: bool = False  # never reads ``options``: may be called with None (hot in loops)
    compare_op: str | None = None  # a numeric comparison generated code may write inline
    bind_literals: Binder | None = None  # given literal arguments, a function of the scope, made once


def helper_table(functions: dict[str, Helper], options_free: frozenset[str] = frozenset(),
                 compare_ops: dict[str, str] | None = None,
                 binders: dict[str, Binder] | None = None) -> dict[str, HelperSpec]:
    ops, binds = compare_ops or {}, binders or {}
    return {name: HelperSpec(fn, name in options_free, ops.get(name), binds.get(name))
            for name, fn in functions.items()}


@dataclass(slots=True)
class Traits:
    """What the compiler knows of a closure it made (the closures themselves stay plain functions)."""

    inline: Spec | None = None  # how codegen may write it inline
    parts: list[Any] = field(default_factory=list)  # a generated body: the parts it was made from
    constant: str | None = None  # a renderer that always answers this text
    block_param_names: list[str] | None = None  # a program with ``as |a b|``
    scope_fn: Callable[[Any], Any] | None = None  # an evaluator that only needs the scope


_TRAITS: WeakKeyDictionary[Callable[..., Any], Traits] = WeakKeyDictionary()


def traits_of(fn: Any) -> Traits | None:
    try:
        return _TRAITS.get(fn)
    except TypeError:  # not weak-referenceable (a str part): no traits
        return None


def mark(fn: Callable[..., Any], **known: Any) -> Traits:
    """Record ``known`` traits of ``fn`` (added to what is already known)."""
    traits = _TRAITS.get(fn)
    if traits is None:
        traits = _TRAITS[fn] = Traits()
    for name, value in known.items():
        setattr(traits, name, value)
    return traits


def inline_spec(fn: Any) -> Spec | None:
    traits = traits_of(fn)
    return traits.inline if traits is not None else None
