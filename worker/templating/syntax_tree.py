"""The template's syntax tree, as the parser builds it and ``compiler.py`` compiles it.

Statements: ``Content``, ``Mustache``, ``Block``, ``Comment`` (and ``Partial``,
``PartialBlock``, ``Decorator``, ``DecoratorBlock``, which Handlebars parses but Mockoon's
templates cannot use: no partials or decorators are registered). Expressions: ``Path``,
``Literal``, ``SubExpr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Path:
    parts: list[str]
    original: str  # as Handlebars rebuilds it: '@' if data, then the segments ([x] without brackets) and separators
    data: bool = False  # @-prefixed
    depth: int = 0  # number of ../
    this: bool = False  # scoped: starts with '.' or mentions 'this' (Handlebars' scopedId)
    line: int = 1
    column: int = 0

    @property
    def simple(self) -> bool:
        """A bare identifier that may name a helper."""
        return not self.data and not self.this and self.depth == 0 and len(self.parts) == 1


@dataclass(slots=True)
class Literal:
    value: Any  # str, int/float, bool, None, or UNDEFINED
    original: str  # the token as written
    line: int = 1
    column: int = 0


@dataclass(slots=True)
class SubExpr:
    path: Path | Literal
    params: list[Any]
    hash: dict[str, Any]
    line: int = 1
    column: int = 0


@dataclass(slots=True)
class Content:
    value: str
    original: str
    right_stripped: bool = False
    left_stripped: bool = False


@dataclass(slots=True)
class Strip:
    open: bool = False
    close: bool = False


@dataclass(slots=True)
class Mustache:
    call: SubExpr
    escaped: bool
    strip: Strip


@dataclass(slots=True)
class Comment:
    strip: Strip
    value: str = ""


@dataclass(slots=True)
class Program:
    body: list[Any]
    block_params: list[str] = field(default_factory=list)
    chained: bool = False


@dataclass(slots=True)
class Block:
    call: SubExpr
    program: Program | None
    inverse: Program | None
    open_strip: Strip
    close_strip: Strip
    inverse_strip: Strip
    inverted: bool = False  # {{^x}} ... {{/x}}
    raw: bool = False


@dataclass(slots=True)
class Partial:
    """``{{> name params hash}}``; ``name`` is a Path, a Literal or (dynamic) a SubExpr."""

    name: Path | Literal | SubExpr
    params: list[Any]
    hash: dict[str, Any]
    strip: Strip
    line: int = 1
    column: int = 0
    indent: str = ""


@dataclass(slots=True)
class PartialBlock:
    """``{{#> name}}default{{/name}}``: the default content renders when the partial is missing."""

    name: Path | Literal | SubExpr
    params: list[Any]
    hash: dict[str, Any]
    program: Program
    open_strip: Strip
    close_strip: Strip
    line: int = 1
    column: int = 0


@dataclass(slots=True)
class Decorator:
    """``{{* name}}``."""

    call: SubExpr
    strip: Strip


@dataclass(slots=True)
class DecoratorBlock:
    """``{{#* name}}...{{/name}}``."""

    call: SubExpr
    program: Program
    open_strip: Strip
    close_strip: Strip
