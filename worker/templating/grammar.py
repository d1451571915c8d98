"""Handlebars' grammar (``src/handlebars.yy`` of Handlebars.js 4.7) with our semantic actions.

The rules are written as in the ``.yy`` file, EBNF included (``x*``, ``x+``, ``x?``); they are
expanded the way Jison's ``%ebnf`` mode does it (a fresh left-recursive nonterminal per
occurrence, ``<rule>_repetition<n>``, ``<rule>_repetition_plus<n>``, ``<rule>_option<n>``,
appended after the written rules) and their symbols are numbered in order of first
appearance, as Jison numbers them: an error message lists the expected terminals in that
order. ``lalr.py`` builds the parse tables from the expansion.

Each action receives the values of its right-hand side and the location of the whole match
(Jison's ``@$``: first line and column of its first symbol) and builds ``syntax_tree`` nodes
as Handlebars' ``compiler/helpers.js`` builds its AST, including the errors raised there
(``doesn't match``, ``Invalid path``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..jsvalues import UNDEFINED, format_number
from .errors import TemplateSyntaxError
from .lalr import Tables, build_tables
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

Loc = tuple[int, int]  # first line and column of the match (Jison's @$.first_line, @$.first_column)
Action = Callable[[list[Any], Loc], Any]


# --- the pieces of an open tag, before they become nodes --------------------------------------

@dataclass(slots=True)
class _Open:
    open: str
    path: Any
    params: list[Any]
    hash: dict[str, Any] | None
    block_params: list[str] | None
    strip: Strip


@dataclass(slots=True)
class _Inverse:
    strip: Strip
    program: Program
    chain: bool = False


@dataclass(slots=True)
class _Close:
    path: Any
    strip: Strip


def strip_flags(open_text: str, close_text: str) -> Strip:
    return Strip(open_text[2:3] == "~", close_text[-3:-2] == "~" if len(close_text) >= 3 else False)


def _id(token: str) -> str:
    """Handlebars' ``id()``: ``[x]`` loses its brackets (when no line break is inside)."""
    if _BRACKETED.match(token):
        return token[1:-1]
    return token


_BRACKETED = re.compile(r"\[[^\n\r\u2028\u2029]*\]\Z")
_SCOPED = re.compile(r"^\.|this\b", re.ASCII)


def _js_original(node: Any) -> tuple[str, Any, str]:
    """A helper name's ``original`` as Handlebars compares it (``!==``) and prints it."""
    if isinstance(node, Path):
        return ("string", node.original, node.original)
    value = node.value
    if value is UNDEFINED:
        return ("undefined", None, "undefined")
    if value is None:
        return ("null", None, "null")
    if isinstance(value, bool):
        return ("boolean", value, "true" if value else "false")
    if isinstance(value, (int, float)):
        return ("number", float(value), format_number(value))
    return ("string", value, value)


def _validate_close(open_path: Any, close: Any) -> None:
    kind, value, text = _js_original(open_path)
    if isinstance(close, str):
        close_kind, close_value, close_text = "string", close, close
    else:
        close_kind, close_value, close_text = _js_original(close)
    if (kind, value) != (close_kind, close_value):
        line, column = open_path.line, open_path.column
        raise TemplateSyntaxError(f"{text} doesn't match {close_text} - {line}:{column}")


def _call(open_: _Open | Any, loc: Loc) -> SubExpr:
    return SubExpr(open_.path, open_.params, open_.hash or {}, loc[0], loc[1])


# --- actions ------------------------------------------------------------------------------

def first(v: list[Any], at: Loc) -> Any:
    return v[0]


def _root(v: list[Any], at: Loc) -> Any:
    return v[0]


def _program(v: list[Any], at: Loc) -> Program:
    return Program(v[0])


def _comment(v: list[Any], at: Loc) -> Comment:
    text = v[0]
    value = re.sub(r"-?-?~?\}\}\Z", "", re.sub(r"^\{\{~?!-?-?", "", text))
    return Comment(strip_flags(text, text), value)


def _content(v: list[Any], at: Loc) -> Content:
    return Content(v[0], v[0])


def _raw_block(v: list[Any], at: Loc) -> Block:
    open_, contents, close = v
    _validate_close(open_.path, close)
    return Block(_call(open_, at), Program(contents), None, Strip(), Strip(), Strip(), raw=True)


def _open_raw_block(v: list[Any], at: Loc) -> _Open:
    return _Open(v[0], v[1], v[2], v[3], None, Strip())


def _prepare_block(open_: _Open, program: Program, inverse_and_program: _Inverse | None, close: _Close | _Inverse | None,
                   inverted: bool, at: Loc) -> Block | DecoratorBlock:
    if isinstance(close, _Close):
        _validate_close(open_.path, close.path)
    decorator = "*" in open_.open
    program.block_params = open_.block_params or []
    inverse: Program | None = None
    inverse_strip = Strip()
    if inverse_and_program is not None:
        if decorator:
            raise TemplateSyntaxError("Unexpected inverse block on decorator")
        if inverse_and_program.chain:
            chained = inverse_and_program.program.body[0]
            chained.close_strip = close.strip if close is not None else Strip()
        inverse_strip = inverse_and_program.strip
        inverse = inverse_and_program.program
    close_strip = close.strip if close is not None else Strip()
    call = SubExpr(open_.path, open_.params, open_.hash or {}, at[0], at[1])
    if decorator:
        return DecoratorBlock(call, program, open_.strip, close_strip)
    if inverted:
        return Block(call, inverse, program, open_.strip, close_strip, inverse_strip, inverted=True)
    return Block(call, program, inverse, open_.strip, close_strip, inverse_strip)


def _block(v: list[Any], at: Loc) -> Block | DecoratorBlock:
    return _prepare_block(v[0], v[1], v[2], v[3], False, at)


def _inverted_block(v: list[Any], at: Loc) -> Block | DecoratorBlock:
    return _prepare_block(v[0], v[1], v[2], v[3], True, at)


def _open_block(v: list[Any], at: Loc) -> _Open:
    return _Open(v[0], v[1], v[2], v[3], v[4], strip_flags(v[0], v[5]))


def _inverse_and_program(v: list[Any], at: Loc) -> _Inverse:
    return _Inverse(strip_flags(v[0], v[0]), v[1])


def _inverse_chain(v: list[Any], at: Loc) -> _Inverse:
    open_, program, rest = v
    inverse = _prepare_block(open_, program, rest, rest, False, at)
    return _Inverse(open_.strip, Program([inverse], chained=True), chain=True)


def _close_block(v: list[Any], at: Loc) -> _Close:
    return _Close(v[1], strip_flags(v[0], v[2]))


def _mustache(v: list[Any], at: Loc) -> Mustache | Decorator:
    open_text = v[0]
    flag = open_text[3:4] or open_text[2:3]
    call = SubExpr(v[1], v[2], v[3] or {}, at[0], at[1])
    strip = strip_flags(open_text, v[4])
    if "*" in open_text:
        return Decorator(call, strip)
    return Mustache(call, flag not in ("{", "&"), strip)


def _partial(v: list[Any], at: Loc) -> Partial:
    return Partial(v[1], v[2], v[3] or {}, strip_flags(v[0], v[4]), at[0], at[1])


def _partial_block(v: list[Any], at: Loc) -> PartialBlock:
    open_, program, close = v
    _validate_close(open_.path, close.path)
    return PartialBlock(open_.path, open_.params, open_.hash or {}, program, open_.strip, close.strip, at[0], at[1])


def _open_partial_block(v: list[Any], at: Loc) -> _Open:
    return _Open(v[0], v[1], v[2], v[3], None, strip_flags(v[0], v[4]))


def _sexpr(v: list[Any], at: Loc) -> SubExpr:
    return SubExpr(v[1], v[2], v[3] or {}, at[0], at[1])


def _hash(v: list[Any], at: Loc) -> dict[str, Any]:
    # Handlebars assigns hash pairs last to first: a repeated key keeps its first value, at the
    # place of its last occurrence
    pairs: dict[str, Any] = {}
    for key, value in v[0]:
        pairs[key] = pairs.pop(key) if key in pairs else value
    return pairs


def _hash_segment(v: list[Any], at: Loc) -> tuple[str, Any]:
    return (_id(v[0]), v[2])


def _block_params(v: list[Any], at: Loc) -> list[str]:
    # Handlebars hands the ID list to id(), which leaves an array untouched
    return list(v[1])


def _literal(make: Callable[[str], Any]) -> Action:
    def action(v: list[Any], at: Loc) -> Literal:
        return Literal(make(v[0]), v[0], at[0], at[1])
    return action


def _number(text: str) -> int | float:
    number: int | float = float(text) if "." in text else int(text)
    if number.__class__ is int and not -2**53 <= number <= 2**53:
        number = float(number)  # a JavaScript number: integers past 2^53 are rounded
    return number


def _path(data: bool) -> Action:
    def action(v: list[Any], at: Loc) -> Path:
        segments = v[-1]
        original = "@" if data else ""
        parts: list[str] = []
        depth = 0
        for part, raw, separator in segments:
            original += separator + part
            if raw == part and part in ("..", ".", "this"):
                if parts:
                    raise TemplateSyntaxError(f"Invalid path: {original} - {at[0]}:{at[1]}")
                if part == "..":
                    depth += 1
            else:
                parts.append(part)
        return Path(parts, original, data, depth, _SCOPED.search(original) is not None, at[0], at[1])
    return action


def _segments_more(v: list[Any], at: Loc) -> list[tuple[str, str, str]]:
    v[0].append((_id(v[2]), v[2], v[1]))
    return v[0]


def _segments_one(v: list[Any], at: Loc) -> list[tuple[str, str, str]]:
    return [(_id(v[0]), v[0], "")]


# --- the rules ------------------------------------------------------------------------------

RULES: list[tuple[str, list[tuple[str, Action]]]] = [
    ("root", [("program EOF", _root)]),
    ("program", [("statement*", _program)]),
    ("statement", [("mustache", first), ("block", first), ("rawBlock", first), ("partial", first),
                   ("partialBlock", first), ("content", first), ("COMMENT", _comment)]),
    ("content", [("CONTENT", _content)]),
    ("rawBlock", [("openRawBlock content* END_RAW_BLOCK", _raw_block)]),
    ("openRawBlock", [("OPEN_RAW_BLOCK helperName param* hash? CLOSE_RAW_BLOCK", _open_raw_block)]),
    ("block", [("openBlock program inverseChain? closeBlock", _block),
               ("openInverse program inverseAndProgram? closeBlock", _inverted_block)]),
    ("openBlock", [("OPEN_BLOCK helperName param* hash? blockParams? CLOSE", _open_block)]),
    ("openInverse", [("OPEN_INVERSE helperName param* hash? blockParams? CLOSE", _open_block)]),
    ("openInverseChain", [("OPEN_INVERSE_CHAIN helperName param* hash? blockParams? CLOSE", _open_block)]),
    ("inverseAndProgram", [("INVERSE program", _inverse_and_program)]),
    ("inverseChain", [("openInverseChain program inverseChain?", _inverse_chain), ("inverseAndProgram", first)]),
    ("closeBlock", [("OPEN_ENDBLOCK helperName CLOSE", _close_block)]),
    ("mustache", [("OPEN helperName param* hash? CLOSE", _mustache),
                  ("OPEN_UNESCAPED helperName param* hash? CLOSE_UNESCAPED", _mustache)]),
    ("partial", [("OPEN_PARTIAL partialName param* hash? CLOSE", _partial)]),
    ("partialBlock", [("openPartialBlock program closeBlock", _partial_block)]),
    ("openPartialBlock", [("OPEN_PARTIAL_BLOCK partialName param* hash? CLOSE", _open_partial_block)]),
    ("param", [("helperName", first), ("sexpr", first)]),
    ("sexpr", [("OPEN_SEXPR helperName param* hash? CLOSE_SEXPR", _sexpr)]),
    ("hash", [("hashSegment+", _hash)]),
    ("hashSegment", [("ID EQUALS param", _hash_segment)]),
    ("blockParams", [("OPEN_BLOCK_PARAMS ID+ CLOSE_BLOCK_PARAMS", _block_params)]),
    ("helperName", [("path", first), ("dataName", first),
                    ("STRING", _literal(lambda text: text)), ("NUMBER", _literal(_number)),
                    ("BOOLEAN", _literal(lambda text: text == "true")), ("UNDEFINED", _literal(lambda text: UNDEFINED)),
                    ("NULL", _literal(lambda text: None))]),
    ("partialName", [("helperName", first), ("sexpr", first)]),
    ("dataName", [("DATA pathSegments", _path(True))]),
    ("path", [("pathSegments", _path(False))]),
    ("pathSegments", [("pathSegments SEP ID", _segments_more), ("ID", _segments_one)]),
]


def _empty_list(v: list[Any], at: Loc) -> list[Any]:
    return []


def _one_list(v: list[Any], at: Loc) -> list[Any]:
    return [v[0]]


def _append(v: list[Any], at: Loc) -> list[Any]:
    v[0].append(v[1])
    return v[0]


def _none(v: list[Any], at: Loc) -> None:
    return None


@dataclass(slots=True)
class Grammar:
    names: list[str]  # symbol number -> name
    numbers: dict[str, int]
    terminals: list[int]  # in symbol order
    productions: list[tuple[int, tuple[int, ...]]]
    actions: list[Action | None]
    tables: Tables


def expand() -> Grammar:
    """The EBNF rules as plain productions, numbered as Jison numbers them."""
    names = ["$accept", "$end", "error"]
    numbers = {name: i for i, name in enumerate(names)}

    def number(name: str) -> int:
        if name not in numbers:
            numbers[name] = len(names)
            names.append(name)
        return numbers[name]

    written: list[tuple[str, list[str], Action]] = []
    generated: list[tuple[str, list[str], Action]] = []
    for lhs, alternatives in RULES:
        number(lhs)
        counters = {"*": 0, "+": 0, "?": 0}
        for text, action in alternatives:
            rhs: list[str] = []
            for symbol in text.split():
                suffix = symbol[-1]
                if suffix in counters:
                    base = symbol[:-1]
                    kind = {"*": "repetition", "+": "repetition_plus", "?": "option"}[suffix]
                    name = f"{lhs}_{kind}{counters[suffix]}"
                    counters[suffix] += 1
                    if suffix == "*":
                        generated += [(name, [], _empty_list), (name, [name, base], _append)]
                    elif suffix == "+":
                        generated += [(name, [base], _one_list), (name, [name, base], _append)]
                    else:
                        generated += [(name, [], _none), (name, [base], first)]
                    symbol = name
                rhs.append(symbol)
                number(symbol)
            written.append((lhs, rhs, action))
    for lhs, rhs, _ in generated:
        for symbol in (lhs, *rhs):
            number(symbol)
    rules = written + generated
    productions: list[tuple[int, tuple[int, ...]]] = [(numbers["$accept"], (numbers[RULES[0][0]], numbers["$end"]))]
    actions: list[Action | None] = [None]
    for lhs, rhs, action in rules:
        productions.append((numbers[lhs], tuple(numbers[s] for s in rhs)))
        actions.append(action)
    nonterminals = {lhs for lhs, _ in productions}
    terminals = [n for n in range(len(names)) if n not in nonterminals and n > numbers["error"]]
    tables = build_tables(productions, numbers["$end"])
    if tables.conflicts:
        raise RuntimeError("the Handlebars grammar has conflicts: " + "; ".join(tables.conflicts))
    return Grammar(names, numbers, terminals, productions, actions, tables)


GRAMMAR = expand()
