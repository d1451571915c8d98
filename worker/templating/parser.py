"""Parse Handlebars template text into a ``syntax_tree.Program``, as Handlebars.js 4.7 does.

``lexer.py`` reads tokens as Handlebars' Jison lexer does; the LALR(1) tables built from
``grammar.py`` drive a shift/reduce loop that behaves as Jison's generated parser (default
reductions included); ``whitespace.py`` then applies ``~`` and the standalone-line rule.

A template that does not parse raises ``TemplateSyntaxError`` with Handlebars' own message:
Jison's ``Parse error on line N:`` with the excerpt, the terminals the parser state accepts
(in Jison's symbol order) and the token found; the lexer's ``Lexical error``; or the errors
of Handlebars' AST helpers (``x doesn't match y - line:column``, ``Invalid path: ...``).
"""

from __future__ import annotations

from typing import Any

from .errors import TemplateSyntaxError
from .grammar import GRAMMAR
from .lalr import ACCEPT, REDUCE, SHIFT
from .lexer import Lexer, Token
from .syntax_tree import (
    Block,
    Comment,
    Content,
    Decorator,
    DecoratorBlock,
    Literal,
    Mustache,
    Partial,
    PartialBlock,
    Path,
    Program,
    Strip,
    SubExpr,
)
from .whitespace import strip_whitespace

__all__ = [
    "Block", "Comment", "Content", "Decorator", "DecoratorBlock", "Literal", "Mustache", "Partial", "PartialBlock",
    "Path", "Program", "Strip", "SubExpr", "parse", "parse_without_whitespace",
]

_NUMBERS = GRAMMAR.numbers
_NAMES = GRAMMAR.names
_ACTIONS = GRAMMAR.tables.actions
_GOTOS = GRAMMAR.tables.gotos
_DEFAULTS = GRAMMAR.tables.defaults
_PRODUCTIONS = GRAMMAR.productions
_SEMANTICS = GRAMMAR.actions
_TERMINALS = set(GRAMMAR.terminals)
_EXPECTED = [", ".join(f"'{_NAMES[t]}'" for t in sorted(row) if t in _TERMINALS) for row in _ACTIONS]


def parse(source: str) -> Program:
    """The template's syntax tree, whitespace control applied (Handlebars' ``parse``)."""
    program = parse_without_whitespace(source)
    strip_whitespace(program)
    return program


def parse_without_whitespace(source: str) -> Program:
    """Handlebars' ``parseWithoutProcessing``."""
    lexer = Lexer(source)
    states = [0]
    values: list[Any] = [None]
    locs: list[tuple[int, int, int, int]] = [(1, 0, 1, 0)]
    lookahead: Token | None = None
    symbol = 0
    line = 0  # Jison's parser-side yylineno: the lexer's line count at the last shift
    while True:
        state = states[-1]
        production = _DEFAULTS.get(state)
        if production is not None:
            action = (REDUCE, production)
        else:
            if lookahead is None:
                lookahead = lexer.next()
                symbol = _NUMBERS.get(lookahead.kind, -1) if lookahead.kind != "1" else 1
            found = _ACTIONS[state].get(symbol)
            if found is None:
                raise TemplateSyntaxError(f"Parse error on line {line + 1}:\n{lexer.show_position()}\n"
                                          f"Expecting {_EXPECTED[state]}, got '{_got(lookahead, symbol)}'")
            action = found
        kind, argument = action
        if kind == SHIFT:
            assert lookahead is not None
            states.append(argument)
            values.append(lookahead.text)
            locs.append((lookahead.first_line, lookahead.first_column, lookahead.last_line, lookahead.last_column))
            line = lookahead.line_after
            lookahead = None
        elif kind == REDUCE:
            lhs, rhs = _PRODUCTIONS[argument]
            size = len(rhs)
            first = locs[-size] if size else locs[-1]
            at = (first[0], first[1], locs[-1][2], locs[-1][3])
            semantic = _SEMANTICS[argument]
            assert semantic is not None
            value = semantic(values[-size:] if size else [], at)
            if argument == 1:  # root: program EOF returns the program
                return value  # type: ignore[no-any-return]
            if size:
                del states[-size:], values[-size:], locs[-size:]
            states.append(_GOTOS[states[-1]][lhs])
            values.append(value)
            locs.append(at)
        elif kind == ACCEPT:  # pragma: no cover - production 1 returns first
            return values[-1]  # type: ignore[no-any-return]


def _got(token: Token, symbol: int) -> str:
    if symbol in _TERMINALS:
        return _NAMES[symbol]
    return token.kind  # Jison prints the unknown token itself: INVALID, or 1 for its own EOF
