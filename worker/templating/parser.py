"""Parse Handlebars template text into a small AST, with Handlebars.js 4's whitespace rules.

Statements: ``Content``, ``Mustache``, ``Block``, ``Comment``. Expressions: ``Path``,
``Literal``, ``SubExpr``. After parsing, ``_strip_whitespace`` applies the ``~`` markers
and the "standalone line" rule exactly as Handlebars' WhitespaceControl visitor does, so
block tags on their own lines leave no blank lines behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import TemplateSyntaxError


@dataclass(slots=True)
class Path:
    parts: list[str]
    original: str
    data: bool = False  # @-prefixed
    depth: int = 0  # number of ../
    this: bool = False  # starts with this or .

    @property
    def simple(self) -> bool:
        """A bare identifier that may name a helper."""
        return not self.data and not self.this and self.depth == 0 and len(self.parts) == 1


@dataclass(slots=True)
class Literal:
    value: Any
    original: str


@dataclass(slots=True)
class SubExpr:
    path: Path | Literal
    params: list[Any]
    hash: dict[str, Any]
    line: int = 1


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


# --- lexing ------------------------------------------------------------------------------

_ID = r"[^\s!\"#%-,\.\/;->@\[-\^`\{-~]+"
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<open_sexpr>\()
  | (?P<close_sexpr>\))
  | (?P<pipe>\|)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<number>-?[0-9]+(?:\.[0-9]+)?(?=[=~}\s\/.)|]|$))
  | (?P<hashkey>(?:"""
    + _ID
    + r""")(?==))
  | (?P<equals>=)
  | (?P<path>@?(?:\.\.\/|\.\/|\.(?=[\s)}~=|]|$))*(?:\[[^\]]*\]|"""
    + _ID
    + r"""|\.\.|\.)(?:[\./](?:\[[^\]]*\]|"""
    + _ID
    + r"""))*)
    """,
    re.X,
)


def _unescape_string(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace("\\" + quote, quote)


@dataclass(slots=True)
class _Where:
    """Where a tag's inside sits in the template, for Handlebars-style error messages."""

    source: str
    offset: int  # of the tag's inside
    closer: str  # the token that ends it: CLOSE, CLOSE_UNESCAPED, or EOF when unclosed
    closer_at: int


_HEAD = "'ID', 'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA'"
_VALUE = "'OPEN_SEXPR', " + _HEAD
_IN_SEXPR = "'OPEN_SEXPR', 'CLOSE_SEXPR', " + _HEAD
_ANY_IN_TAG = ("'CLOSE_RAW_BLOCK', 'CLOSE', 'CLOSE_UNESCAPED', 'OPEN_SEXPR', 'CLOSE_SEXPR', 'ID', 'OPEN_BLOCK_PARAMS', "
               "'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA', 'SEP'")
_JISON_NAMES = {"open_sexpr": "OPEN_SEXPR", "close_sexpr": "CLOSE_SEXPR", "string": "STRING", "number": "NUMBER",
                "hashkey": "ID", "equals": "EQUALS", "pipe": "CLOSE_BLOCK_PARAMS", "invalid": "INVALID"}
_LITERAL_NAMES = {"true": "BOOLEAN", "false": "BOOLEAN", "null": "NULL", "undefined": "UNDEFINED"}


def _jison_name(kind: str, text: str) -> str:
    if kind == "path":
        return "DATA" if text.startswith("@") else _LITERAL_NAMES.get(text, "ID")
    return _JISON_NAMES.get(kind, kind.upper())


class _ExprParser:
    """Parses the inside of one tag: ``path param... key=value... [as |a b|]``."""

    def __init__(self, text: str, line: int, where: _Where | None = None) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        self.line = line
        self.where = where
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                # what Handlebars' lexer cannot read is an INVALID token where it stands
                self.tokens.append(("invalid", text[pos:pos + 10], pos))
                break
            kind = match.lastgroup or ""
            if kind != "ws":
                self.tokens.append((kind, match.group(), pos))
            pos = match.end()
        if where is not None and where.closer == "EOF" and self.tokens and self.tokens[-1][0] in ("path", "number"):
            kind, token_text, start = self.tokens[-1]
            if start + len(token_text) == len(text):  # an ID needs a character after it to end
                self.tokens[-1] = ("invalid", token_text, start)
        self.index = 0
        self.anything = _ANY_IN_TAG  # what the lexer accepts inside a tag, for INVALID tokens

    def error(self, expected: str, fallback: str, token: tuple[str, str, int] | None = None) -> TemplateSyntaxError:
        """Handlebars.js's message where the tag's position is known, ours otherwise."""
        where = self.where
        if where is None:
            return TemplateSyntaxError(f"Parse error on line {self.line}: {fallback}")
        if token is None:
            return _jison_error(where.source, where.closer_at, where.closer_at + (0 if where.closer == "EOF" else 2),
                                expected, where.closer)
        kind, text, start = token
        at = where.offset + start
        return _jison_error(where.source, at, at + len(text), expected, _jison_name(kind, text))

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str = _VALUE) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise self.error(expected, "unexpected end of expression")
        if token[0] == "invalid":
            if token[1] == "@" and self.index == len(self.tokens) - 1:  # '@' must be followed by a name
                raise self.error("'ID'", "unexpected '@'")
            raise self.error(expected if self.index == 0 else self.anything, f"unexpected {token[1]!r}", token)
        self.index += 1
        return token

    def call(self, allow_block_params: bool = False, nested: bool = False) -> tuple[SubExpr, list[str]]:
        if allow_block_params:
            self.anything = _ANY_IN_TAG.replace("'ID', ", "'ID', 'EQUALS', ")
        head = self.value(head=True)
        params: list[Any] = []
        hash_: dict[str, Any] = {}
        block_params: list[str] = []
        while (token := self.peek()) is not None:
            kind, text, _ = token
            if kind == "close_sexpr":
                if not nested:
                    raise self.error(_close_list(self.where, hash_, allow_block_params), "unexpected ')'", token)
                break
            if kind in ("invalid", "equals"):
                raise self.error(self.anything, f"unexpected {text!r}", token)
            if kind == "hashkey":
                self.take()
                self.take()
                value = self.value()
                # Handlebars assigns hash pairs last to first: a repeated key keeps its first
                # value, at the place of its last occurrence
                hash_[text] = hash_.pop(text) if text in hash_ else value
            elif kind == "path" and text == "as" and allow_block_params and self._block_params_follow():
                self.take()
                self.take()
                while (tok := self.take("'ID', 'CLOSE_BLOCK_PARAMS'"))[0] != "pipe":
                    block_params.append(tok[1])
            else:
                if hash_:
                    # Handlebars reads a name after hash arguments as the next key: '=' must follow
                    self.index += 1
                    raise self.error("'EQUALS'", f"positional {text!r} after hash arguments", self.peek())
                params.append(self.value())
        return SubExpr(head, params, hash_, self.line), block_params

    def _block_params_follow(self) -> bool:
        nxt = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        return nxt is not None and nxt[0] == "pipe"

    def value(self, head: bool = False) -> Any:
        token = self.take(_HEAD if head else _VALUE)
        kind, text, _ = token
        if kind == "open_sexpr" and not head:
            sub, _ = self.call(nested=True)
            self.take(_IN_SEXPR)
            return sub
        if kind == "string":
            return Literal(_unescape_string(text), text)
        if kind == "number":
            number: int | float = float(text) if "." in text else int(text)
            if number.__class__ is int and not -2**53 <= number <= 2**53:
                number = float(number)  # a JavaScript number: integers past 2^53 are rounded
            return Literal(number, text)
        if kind == "path":
            if text in ("true", "false"):
                return Literal(text == "true", text)
            if text == "null":
                return Literal(None, text)
            if text == "undefined":
                from .jsvalues import UNDEFINED

                return Literal(UNDEFINED, text)
            return parse_path(text, self.line)
        raise self.error(_HEAD if head else _VALUE, f"unexpected {text!r}", token)


def parse_path(text: str, line: int = 1) -> Path:
    original = text
    data = text.startswith("@")
    if data:
        text = text[1:]
    # separators are '.' or '/'; '..' is a parent step only at the start
    parts: list[str] = []
    depth = 0
    this = False
    raw = re.split(r"(\[[^\]]*\])|[./]", text) if "[" in text else None
    if raw is not None:
        segments = [s for s in raw if s]
    else:
        segments = []
        for piece in re.split(r"(?<=\.\.)/|/", text):
            if piece == "..":
                segments.append("..")
            else:
                segments.extend(p for p in re.split(r"\.(?!\.)", piece) if p != "")
    for segment in segments:
        if segment.startswith("[") and segment.endswith("]"):
            parts.append(segment[1:-1])
        elif segment == "..":
            if parts:
                raise TemplateSyntaxError(f"Invalid path: {original} - {line}:0")
            depth += 1
        elif segment in (".", "this"):
            if parts:
                raise TemplateSyntaxError(f"Invalid path: {original} - {line}:0")
            this = True
        else:
            parts.append(segment)
    return Path(parts, original, data, depth, this)


# --- statement parsing ---------------------------------------------------------------------

_TAG = re.compile(r"(?<!\\)\{\{")


@dataclass(slots=True)
class _Frame:
    call: SubExpr | None
    open_strip: Strip
    program: Program
    inverse: Program | None = None
    inverse_strip: Strip = field(default_factory=Strip)
    inverted: bool = False
    block_params: list[str] = field(default_factory=list)
    chained_parent: _Frame | None = None  # an {{else if}} frame closes with its parent
    name: str = ""


# Handlebars.js parses with a Jison LALR parser; a broken template's message lists the
# tokens that parser state accepts. These are the lists of the states users hit.
_STATEMENTS = ("'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', {chain}'OPEN_ENDBLOCK', "
               "'OPEN', 'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK'")
_IN_PROGRAM = _STATEMENTS.format(chain="'OPEN_INVERSE_CHAIN', 'INVERSE', ")
_IN_INVERTED = _STATEMENTS.format(chain="'INVERSE', ")
_IN_INVERSE = _STATEMENTS.format(chain="")
_TOP_LEVEL = ("'EOF', 'COMMENT', 'CONTENT', 'OPEN_RAW_BLOCK', 'OPEN_BLOCK', 'OPEN_INVERSE', 'OPEN', "
              "'OPEN_UNESCAPED', 'OPEN_PARTIAL', 'OPEN_PARTIAL_BLOCK'")
_PARAMS = "'OPEN_SEXPR', 'ID', {block}'STRING', 'NUMBER', 'BOOLEAN', 'UNDEFINED', 'NULL', 'DATA'"


def _jison_error(source: str, token_start: int, token_end: int, expected: str, got: str) -> TemplateSyntaxError:
    """The message Handlebars.js (Jison) gives: line, the text around the token with a caret
    under it, the accepted tokens, and the token found."""
    past = source[:token_start]
    shown_past = ("..." if len(past) > 20 else "") + past[-20:].replace("\n", "")
    upcoming = source[token_start:token_end]
    if len(upcoming) < 20:
        upcoming += source[token_end:token_end + 20 - len(upcoming)]
    shown_next = (upcoming[:20] + ("..." if len(upcoming) > 20 else "")).replace("\n", "")
    line = source.count("\n", 0, token_end) + 1
    return TemplateSyntaxError(f"Parse error on line {line}:\n{shown_past}{shown_next}\n{'-' * len(shown_past)}^\n"
                               f"Expecting {expected}, got '{got}'")


def _close_expected(call: SubExpr | None, closer: str, block: bool) -> str:
    if call is not None and call.hash:
        return f"'{closer}', 'OPEN_BLOCK_PARAMS'" if block else f"'{closer}'"
    return f"'{closer}', " + _PARAMS.format(block="'OPEN_BLOCK_PARAMS', " if block else "")


def parse(source: str) -> Program:
    root = Program([])
    stack: list[_Frame] = [_Frame(None, Strip(), root)]
    pos = 0
    length = len(source)

    def current_body() -> list[Any]:
        frame = stack[-1]
        return (frame.inverse or frame.program).body

    def add_content(text: str) -> None:
        if text:
            current_body().append(Content(text, text))

    while pos < length:
        start = source.find("{{", pos)
        if start < 0:
            add_content(source[pos:])
            break
        if start > 0 and source[start - 1] == "\\":
            # \{{ escapes a mustache: emit it literally up to the next tag
            if start > 1 and source[start - 2] == "\\":
                add_content(source[pos:start - 1])
            else:
                add_content(source[pos:start - 1])
                nxt = source.find("{{", start + 2)
                end = length if nxt < 0 else nxt
                add_content(source[start:end])
                pos = end
                continue
        else:
            add_content(source[pos:start])
        line = source.count("\n", 0, start) + 1

        if source.startswith("{{{{", start):
            pos = _parse_raw_block(source, start, line, current_body())
            continue
        if source.startswith("{{!--", start) or source.startswith("{{~!--", start):
            end = source.find("--", source.find("{{", start) + 5)
            while end >= 0 and not re.match(r"--~?\}\}", source[end:]):
                end = source.find("--", end + 1)
            if end < 0:
                raise TemplateSyntaxError(f"Parse error on line {line}: unclosed comment")
            close = source.find("}}", end) + 2
            current_body().append(Comment(Strip(source[start + 2] == "~", source[close - 3] == "~")))
            pos = close
            continue
        triple = source.startswith("{{{", start) or source.startswith("{{~{", start)
        close_token = "}}}" if triple else "}}"
        end = source.find("}}", start + 2)
        if end < 0:
            rest = source[start + 2:].lstrip("~").lstrip()
            rest = rest[1:].lstrip() if rest[:1] in ("#", "^", "/", "&", "{") else rest
            if not rest.strip():
                raise _jison_error(source, length, length, _HEAD, "EOF")
            _parse_call(rest, line, where=_where(source, start + 2, rest, "EOF", length))
        # the closing token is the longest run Handlebars' lexer takes: }}}} or }}} or }}
        run = 4 if source.startswith("}}}}", end) else 3 if source.startswith("}}}", end) else 2
        got = {4: "CLOSE_RAW_BLOCK", 3: "CLOSE_UNESCAPED", 2: "CLOSE"}[run]
        tilde = source[end - 1] == "~"
        mismatched = (run != 3) if triple else (run > 2 and not tilde)
        inner = source[start + 2:end + (1 if triple and run == 3 else 0)]
        pos = end + len(close_token)
        body = inner[1:] if triple else inner.strip("~ \t\r\n")
        is_inverse = not triple and (body in ("else", "^") or (body.startswith("^") and not body[1:].strip()))
        if mismatched and not is_inverse and not inner.lstrip("{~").lstrip().startswith("!"):
            chain = not triple and re.match(r"else\s", body) is not None
            if chain:
                body = "#" + body[4:].strip()
            kind = body[:1] if body[:1] in "#^/&" else ""
            try:
                call: SubExpr | None = _parse_call(body[1:] if kind else body, line,
                                                   allow_block_params=kind in "#^" and kind != "")[0]
            except TemplateSyntaxError:
                call = None
            closer = "CLOSE_UNESCAPED" if triple else "CLOSE"
            expected = f"'{closer}'" if kind == "/" or (call is not None and kind in "#^" and kind and "as |" in body) \
                else _close_expected(call, closer, block=kind in ("#", "^"))
            raise _jison_error(source, end, end + run, expected, got)
        strip = Strip(inner.startswith("~"), inner.endswith("~"))
        if strip.open:
            inner = inner[1:]
        if strip.close:
            inner = inner[:-1]
        if triple:
            inner = inner[1:]
            if inner.endswith("}"):
                inner = inner[:-1]
            call, _ = _parse_call(inner, line, where=_where(source, start, inner.strip(), "CLOSE_UNESCAPED", end))
            current_body().append(Mustache(call, False, strip))
            continue
        inner_stripped = inner.strip()
        sigil = inner_stripped[:1]
        if sigil == "!":
            current_body().append(Comment(strip))
        elif sigil == "#" and inner_stripped[1:2] in (">", "*"):
            raise TemplateSyntaxError(f"Parse error on line {line}: partial blocks and decorators are not supported")
        elif sigil == "#" and not inner_stripped[1:].strip():
            raise _jison_error(source, end, end + 2, _HEAD, "CLOSE")
        elif sigil in ("#", "^") and inner_stripped[1:].strip():
            call, block_params = _parse_call(inner_stripped[1:], line, allow_block_params=True,
                                             where=_where(source, start, inner_stripped[1:].strip(), "CLOSE", end))
            frame = _Frame(call, strip, Program([], block_params), inverted=sigil == "^",
                           block_params=block_params, name=_call_name(call))
            stack.append(frame)
        elif sigil == "/":
            name = inner_stripped[1:].strip()
            while True:
                frame = stack.pop()
                if len(stack) == 0 or frame.call is None:
                    raise _jison_error(source, start, start + 3, "'EOF'" if frame.program.body else _TOP_LEVEL,
                                       "OPEN_ENDBLOCK")
                block = _finish_block(frame, strip)
                if frame.chained_parent is not None:
                    stack[-1].inverse.body.append(block)  # type: ignore[union-attr]
                    continue
                if frame.name != name:
                    raise TemplateSyntaxError(f"{frame.name} doesn't match {name} - {line}:{start}")
                current_body().append(block)
                break
        elif inner_stripped == "else" or sigil == "^" or re.match(r"else\s", inner_stripped):
            frame = stack[-1]
            if frame.call is None or frame.inverse is not None:
                token = "INVERSE" if inner_stripped == "else" or sigil == "^" and not inner_stripped[1:].strip() \
                    else "OPEN_INVERSE_CHAIN"
                if current_body():
                    expected = "'EOF'" if frame.call is None else "'OPEN_ENDBLOCK'"
                else:
                    expected = _TOP_LEVEL if frame.call is None else _IN_INVERSE
                raise _jison_error(source, start, pos, expected, token)
            frame.inverse_strip = strip
            rest = inner_stripped[4:].strip() if inner_stripped.startswith("else") else ""
            if rest:
                frame.inverse = Program([], chained=True)
                call, block_params = _parse_call(rest, line, allow_block_params=True,
                                                 where=_where(source, start + 6, rest, "CLOSE", end))
                stack.append(_Frame(call, strip, Program([], block_params), block_params=block_params,
                                    chained_parent=frame, name=frame.name))
            else:
                frame.inverse = Program([])
        elif sigil == ">":
            raise TemplateSyntaxError(f"The partial {inner_stripped[1:].strip()} could not be found")
        else:
            if sigil == "&":
                inner_stripped = inner_stripped[1:]
            if not inner_stripped.strip():
                raise _jison_error(source, end, end + 2, _HEAD, "CLOSE")
            call, _ = _parse_call(inner_stripped, line, where=_where(source, start, inner_stripped.strip(), "CLOSE", end))
            current_body().append(Mustache(call, sigil != "&", strip))

    if len(stack) > 1:
        frame = stack[-1]
        if current_body():  # after statements the parser state accepts only what ends the block
            expected = ("'OPEN_ENDBLOCK'" if frame.inverse is not None
                        else "'INVERSE', 'OPEN_ENDBLOCK'" if frame.inverted
                        else "'OPEN_INVERSE_CHAIN', 'INVERSE', 'OPEN_ENDBLOCK'")
        else:
            expected = _IN_INVERSE if frame.inverse is not None else _IN_INVERTED if frame.inverted else _IN_PROGRAM
        raise _jison_error(source, length, length, expected, "EOF")
    _strip_program(root, is_root=True)
    return root


def _call_name(call: SubExpr) -> str:
    return call.path.original if isinstance(call.path, (Path, Literal)) else ""


def _close_list(where: _Where | None, hash_: dict[str, Any], block: bool) -> str:
    closer = where.closer if where is not None and where.closer != "EOF" else "CLOSE"
    if hash_:
        return f"'{closer}', 'OPEN_BLOCK_PARAMS'" if block else f"'{closer}'"
    return f"'{closer}', " + _PARAMS.format(block="'OPEN_BLOCK_PARAMS', " if block else "")


def _parse_call(text: str, line: int, allow_block_params: bool = False,
                where: _Where | None = None) -> tuple[SubExpr, list[str]]:
    parser = _ExprParser(text, line, where)
    call, block_params = parser.call(allow_block_params)
    if parser.peek() is not None:
        raise parser.error(parser.anything, f"unexpected {parser.peek()[1]!r}", parser.peek())  # type: ignore[index]
    if where is not None and where.closer == "EOF":
        raise parser.error(parser.anything.replace(", 'SEP'", ""), "unclosed mustache")
    return call, block_params


def _where(source: str, start: int, text: str, closer: str, closer_at: int) -> _Where:
    return _Where(source, source.find(text, start) if text else closer_at, closer, closer_at)


def _finish_block(frame: _Frame, close_strip: Strip) -> Block:
    assert frame.call is not None
    program: Program | None = frame.program
    inverse: Program | None = frame.inverse
    if frame.inverted:
        program, inverse = inverse, program
    return Block(frame.call, program, inverse, frame.open_strip, close_strip, frame.inverse_strip, frame.inverted)


def _parse_raw_block(source: str, start: int, line: int, body: list[Any]) -> int:
    end = source.find("}}}}", start)
    if end < 0:
        raise TemplateSyntaxError(f"Parse error on line {line}: unclosed raw block")
    call, _ = _parse_call(source[start + 4:end], line)
    name = _call_name(call)
    close = re.compile(r"\{\{\{\{/" + re.escape(name) + r"\}\}\}\}")
    match = close.search(source, end + 4)
    if not match:
        raise TemplateSyntaxError(f"Parse error on line {line}: raw block {name} is not closed")
    text = source[end + 4:match.start()]
    program = Program([Content(text, text)] if text else [])
    body.append(Block(call, program, None, Strip(), Strip(), Strip(), raw=True))
    return match.end()


# --- whitespace control (Handlebars' WhitespaceControl visitor) ------------------------------

_PREV_WS_NESTED = re.compile(r"\r?\n\s*?$")
_PREV_WS_ROOT = re.compile(r"(^|\r?\n)\s*?$")
_NEXT_WS_NESTED = re.compile(r"^\s*?\r?\n")
_NEXT_WS_ROOT = re.compile(r"^\s*?(\r?\n|$)")


def _is_prev_ws(body: list[Any], i: int | None, is_root: bool) -> bool:
    if i is None:
        i = len(body)
    prev = body[i - 1] if i - 1 >= 0 else None
    sibling = body[i - 2] if i - 2 >= 0 else None
    if prev is None:
        return is_root
    if isinstance(prev, Content):
        pattern = _PREV_WS_NESTED if (sibling is not None or not is_root) else _PREV_WS_ROOT
        return pattern.search(prev.original) is not None
    return False


def _is_next_ws(body: list[Any], i: int | None, is_root: bool) -> bool:
    if i is None:
        i = -1
    nxt = body[i + 1] if i + 1 < len(body) else None
    sibling = body[i + 2] if i + 2 < len(body) else None
    if nxt is None:
        return is_root
    if isinstance(nxt, Content):
        pattern = _NEXT_WS_NESTED if (sibling is not None or not is_root) else _NEXT_WS_ROOT
        return pattern.search(nxt.original) is not None
    return False


def _omit_right(body: list[Any], i: int | None, multiple: bool = False) -> None:
    index = 0 if i is None else i + 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.right_stripped):
        return
    original = current.value
    current.value = re.sub(r"^\s+", "", original) if multiple else re.sub(r"^[ \t]*\r?\n?", "", original, count=1)
    current.right_stripped = current.value != original


def _omit_left(body: list[Any], i: int | None, multiple: bool = False) -> bool:
    index = len(body) - 1 if i is None else i - 1
    current = body[index] if 0 <= index < len(body) else None
    if not isinstance(current, Content) or (not multiple and current.left_stripped):
        return False
    original = current.value
    current.value = re.sub(r"\s+$", "", original) if multiple else re.sub(r"[ \t]+$", "", original)
    current.left_stripped = current.value != original
    return current.left_stripped


def _strip_program(program: Program, is_root: bool = False) -> None:
    body = program.body
    for i, node in enumerate(body):
        info = _strip_info(node)
        if info is None:
            continue
        open_, close, open_sa, close_sa, inline_sa = info
        prev_ws = _is_prev_ws(body, i, is_root)
        next_ws = _is_next_ws(body, i, is_root)
        if close:
            _omit_right(body, i, True)
        if open_:
            _omit_left(body, i, True)
        if inline_sa and prev_ws and next_ws:
            _omit_right(body, i)
            _omit_left(body, i)
        if open_sa and prev_ws:
            _omit_right((node.program or node.inverse).body, None)
            _omit_left(body, i)
        if close_sa and next_ws:
            _omit_right(body, i)
            _omit_left((node.inverse or node.program).body, None)


def _strip_info(node: Any) -> tuple[bool, bool, bool, bool, bool] | None:
    if isinstance(node, Mustache):
        return node.strip.open, node.strip.close, False, False, False
    if isinstance(node, Comment):
        return node.strip.open, node.strip.close, False, False, True
    if isinstance(node, Block):
        return _strip_block(node)
    return None


def _strip_block(block: Block) -> tuple[bool, bool, bool, bool, bool]:
    if block.program is not None:
        _strip_program(block.program)
    if block.inverse is not None:
        _strip_program(block.inverse)
    if block.raw:
        return False, False, False, False, False
    program = block.program or block.inverse
    assert program is not None
    inverse = block.inverse if block.program is not None else None
    first_inverse = last_inverse = inverse
    if inverse is not None and inverse.chained:
        first_inverse = inverse.body[0].program if inverse.body and isinstance(inverse.body[0], Block) else inverse
        last = inverse
        while last.chained and last.body and isinstance(last.body[-1], Block) and last.body[-1].program is not None:
            last = last.body[-1].program
        last_inverse = last
    result = (
        block.open_strip.open,
        block.close_strip.close,
        _is_next_ws(program.body, None, False),
        _is_prev_ws((first_inverse or program).body, None, False),
        False,
    )
    if block.open_strip.close:
        _omit_right(program.body, None, True)
    if inverse is not None and first_inverse is not None and last_inverse is not None:
        if block.inverse_strip.open:
            _omit_left(program.body, None, True)
        if block.inverse_strip.close:
            _omit_right(first_inverse.body, None, True)
        if block.close_strip.open:
            _omit_left(last_inverse.body, None, True)
        if _is_prev_ws(program.body, None, False) and _is_next_ws(first_inverse.body, None, False):
            _omit_left(program.body, None)
            _omit_right(first_inverse.body, None)
    elif block.close_strip.open:
        _omit_left(program.body, None, True)
    return result
