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
from .grammar import GRAMMAR, Action, first
from .lalr import ACCEPT, SHIFT
from .lexer import JISON_EOF, Lexer, Token
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

_NAMES = GRAMMAR.names
_TERMINALS = set(GRAMMAR.terminals)
_SYMBOLS = {name: GRAMMAR.numbers[name] for name in map(GRAMMAR.names.__getitem__, GRAMMAR.terminals)}
_SYMBOLS[JISON_EOF] = 1
# actions as one int per entry: a shift is the next state (> 0: state 0 is only ever the start),
# a reduce is minus the production; production 1 (root) returns before $end is ever accepted
_TABLE = [{t: (code if kind == SHIFT else -code) for t, (kind, code) in row.items() if kind != ACCEPT}
          for row in GRAMMAR.tables.actions]
_GOTOS = GRAMMAR.tables.gotos
_DEFAULTS: list[int | None] = [-GRAMMAR.tables.defaults[s] if s in GRAMMAR.tables.defaults else None
                               for s in range(len(_TABLE))]
_PRODUCTIONS: list[tuple[int, int, Action, bool]] = [
    (lhs, len(rhs), GRAMMAR.actions[p] or first, GRAMMAR.actions[p] is first and len(rhs) == 1)
    for p, (lhs, rhs) in enumerate(GRAMMAR.productions)]
_EXPECTED = [", ".join(f"'{_NAMES[t]}'" for t in sorted(row) if t in _TERMINALS) for row in GRAMMAR.tables.actions]


def parse(source: str) -> Program:
    """The template's syntax tree, whitespace control applied (Handlebars' ``parse``)."""
    program = parse_without_whitespace(source)
    strip_whitespace(program)
    return program


def parse_without_whitespace(source: str) -> Program:
    """Handlebars' ``parseWithoutProcessing``."""
    lexer = Lexer(source)
    read = lexer.next
    states = [0]
    values: list[Any] = [None]
    locs: list[tuple[int, int]] = [(1, 0)]  # first line and column of each stacked symbol
    table, gotos, defaults, productions, symbols = _TABLE, _GOTOS, _DEFAULTS, _PRODUCTIONS, _SYMBOLS
    token: Token | None = None
    symbol = 0
    line = 0  # Jison's parser-side yylineno: the lexer's line count at the last shift
    while True:
        state = states[-1]
        code = defaults[state]
        if code is None:
            if token is None:
                token = read()
                symbol = symbols.get(token.kind, -1)
            code = table[state].get(symbol)
            if code is None:
                raise TemplateSyntaxError(f"Parse error on line {line + 1}:\n{lexer.show_position()}\n"
                                          f"Expecting {_EXPECTED[state]}, got '{token.kind}'")
            if code > 0:
                states.append(code)
                values.append(token.text)
                locs.append((token.first_line, token.first_column))
                line = token.line_after
                token = None
                continue
        lhs, size, semantic, passthrough = productions[-code]
        if passthrough:  # X: Y with X's value Y's, at Y's place
            states[-1] = gotos[states[-2]][lhs]
            continue
        if size:
            at = locs[-size]
            value = semantic(values[-size:], at)
            del states[-size:], values[-size:], locs[-size:]
        else:
            at = locs[-1]
            value = semantic([], at)
        if code == -1:  # root: program EOF
            return value  # type: ignore[no-any-return]
        states.append(gotos[states[-1]][lhs])
        values.append(value)
        locs.append(at)
