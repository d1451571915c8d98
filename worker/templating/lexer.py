"""Handlebars' lexer (``src/handlebars.l`` of Handlebars.js 4.7) as Jison runs it.

Start conditions: INITIAL (text), ``mu`` (inside a mustache), ``emu`` (after ``\\{{``),
``com`` (a ``{{!-- --}}`` comment) and ``raw`` (inside ``{{{{raw}}}}``), kept on a stack. In
each condition the rules are tried in order and the first that matches wins (Jison without
``flex``): here each condition's rules are one regular expression whose alternatives are
the rules in that order.

Jison works on JavaScript strings, so positions, columns and the error excerpt count UTF-16
code units, and its regular expressions have JavaScript's ``\\s``, ``.`` and ``$``: the text
is lexed as UTF-16 code units (characters above U+FFFF become surrogate pairs) and the
patterns spell those classes out.

Jison quirks kept because error messages show them: ``unput`` (used when ``{{!--`` switches
to the comment condition) takes back one character of the consumed text instead of the
whole token, so the excerpt of a later error shows the ``{{!-`` twice; at the end of the
text in ``emu``, ``com`` or ``raw`` the lexer returns Jison's own EOF (symbol 1) rather than
the grammar's ``EOF`` token, which the parser reports as ``got '1'``; an unmatched character
is a lexical error, ``Lexical error on line N. Unrecognized text.`` with the excerpt.
"""

from __future__ import annotations

import re

from .errors import TemplateSyntaxError

_WS = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"  # JavaScript's \s
S = f"[{_WS}]"
NOT_LINE_END = "[^\\n\\r\\u2028\\u2029]"  # JavaScript's .
ID_CHARS = f"[^{_WS}!\"#%-,\\.\\/;->@\\[-\\^`\\{{-~]"
LOOKAHEAD = f"(?=[=~}}{_WS}\\/.)|])"
LITERAL_LOOKAHEAD = f"(?=[~}}{_WS})])"

# (token, pattern) in the order of handlebars.l; the token is a grammar terminal, or an
# action name starting with '!' for the rules whose action does more than return a token.
_RULES: dict[str, list[tuple[str, str]]] = {
    "INITIAL": [
        ("!content_before_mustache", r"[^\x00]*?(?=\{\{)"),
        ("CONTENT", r"[^\x00]+"),
        ("EOF", r"\Z"),
    ],
    "emu": [
        ("!escaped_content", r"[^\x00]{2,}?(?=\{\{|\\\{\{|\\\\\{\{|\Z)"),
    ],
    "raw": [
        ("!nested_raw", r"\{\{\{\{(?=[^/])"),
        ("!end_raw", rf"\{{\{{\{{\{{/{ID_CHARS}+(?=[=}}{_WS}/.])\}}\}}\}}\}}"),
        ("CONTENT", r"[^\x00]+?(?=\{\{\{\{)"),
    ],
    "com": [
        ("!comment_end", r"[\s\S]*?--~?\}\}"),
    ],
    "mu": [
        ("OPEN_SEXPR", r"\("),
        ("CLOSE_SEXPR", r"\)"),
        ("OPEN_RAW_BLOCK", r"\{\{\{\{"),
        ("!close_raw_block", r"\}\}\}\}"),
        ("OPEN_PARTIAL", r"\{\{~?>"),
        ("OPEN_PARTIAL_BLOCK", r"\{\{~?#>"),
        ("OPEN_BLOCK", r"\{\{~?#\*?"),
        ("OPEN_ENDBLOCK", r"\{\{~?/"),
        ("!inverse", rf"\{{\{{~?\^{S}*~?\}}\}}"),
        ("!inverse", rf"\{{\{{~?{S}*else{S}*~?\}}\}}"),
        ("OPEN_INVERSE", r"\{\{~?\^"),
        ("OPEN_INVERSE_CHAIN", rf"\{{\{{~?{S}*else(?![A-Za-z0-9_])"),
        ("OPEN_UNESCAPED", r"\{\{~?\{"),
        ("OPEN", r"\{\{~?&"),
        ("!comment_start", r"\{\{~?!--"),
        ("!comment", r"\{\{~?![\s\S]*?\}\}"),
        ("OPEN", r"\{\{~?\*?"),
        ("EQUALS", r"="),
        ("ID", r"\.\."),
        ("ID", rf"\.{LOOKAHEAD}"),
        ("SEP", r"[/.]"),
        ("!skip", rf"{S}+"),
        ("!close_unescaped", r"\}~?\}\}"),
        ("!close", r"~?\}\}"),
        ("!string", r'"(?:\\"|[^"])*"'),
        ("!string", r"'(?:\\'|[^'])*'"),
        ("DATA", r"@"),
        ("BOOLEAN", rf"true{LITERAL_LOOKAHEAD}"),
        ("BOOLEAN", rf"false{LITERAL_LOOKAHEAD}"),
        ("UNDEFINED", rf"undefined{LITERAL_LOOKAHEAD}"),
        ("NULL", rf"null{LITERAL_LOOKAHEAD}"),
        ("NUMBER", rf"-?[0-9]+(?:\.[0-9]+)?{LITERAL_LOOKAHEAD}"),
        ("OPEN_BLOCK_PARAMS", rf"as{S}+\|"),
        ("CLOSE_BLOCK_PARAMS", r"\|"),
        ("ID", rf"{ID_CHARS}+{LOOKAHEAD}"),
        ("!bracketed_id", r"\[(?:\\\]|[^\]])*\]"),
        ("INVALID", NOT_LINE_END),
        ("EOF", r"\Z"),
    ],
}


# what a rule does beyond returning its token
_PLAIN, _CONTENT_BEFORE_MUSTACHE, _ESCAPED_CONTENT, _NESTED_RAW, _END_RAW, _COMMENT_END, _CLOSE_RAW_BLOCK, _POP, \
    _STRING, _BRACKETED_ID, _COMMENT_START, _SKIP = range(12)
_ACTION_CODES = {
    "content_before_mustache": (_CONTENT_BEFORE_MUSTACHE, "CONTENT"), "escaped_content": (_ESCAPED_CONTENT, "CONTENT"),
    "nested_raw": (_NESTED_RAW, "CONTENT"), "end_raw": (_END_RAW, "END_RAW_BLOCK"), "comment_end": (_POP, "COMMENT"),
    "comment": (_POP, "COMMENT"), "close_raw_block": (_CLOSE_RAW_BLOCK, "CLOSE_RAW_BLOCK"),
    "inverse": (_POP, "INVERSE"), "close_unescaped": (_POP, "CLOSE_UNESCAPED"), "close": (_POP, "CLOSE"),
    "string": (_STRING, "STRING"), "bracketed_id": (_BRACKETED_ID, "ID"), "comment_start": (_COMMENT_START, ""),
    "skip": (_SKIP, ""),
}


def _compile(rules: list[tuple[str, str]]) -> tuple[re.Pattern[str], list[tuple[int, str]]]:
    actions = [_ACTION_CODES[token[1:]] if token[0] == "!" else (_PLAIN, token) for token, _ in rules]
    pattern = "|".join(f"(?P<r{i}>{body})" for i, (_, body) in enumerate(rules))
    return re.compile(pattern), actions


_STATES = {state: _compile(rules) for state, rules in _RULES.items()}
_LINES = re.compile(r"(?:\r\n?|\n)[^\n\r\u2028\u2029]*")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_BRACKET_ESCAPE = re.compile(r"\\([\\\]])")

JISON_EOF = "1"  # what Jison's lexer returns at the end of the text where no rule matches it


def to_code_units(text: str) -> str:
    """``text`` with each character above U+FFFF as its UTF-16 surrogate pair."""
    if _ASTRAL.search(text) is None:
        return text
    return _ASTRAL.sub(lambda m: _surrogates(ord(m.group())), text)


def _surrogates(code: int) -> str:
    code -= 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def from_code_units(text: str) -> str:
    """Surrogate pairs back to characters (a lone surrogate becomes U+FFFD, as it would in UTF-8 output)."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class Token:
    """One token: ``kind`` is a grammar terminal's name (or INVALID, or JISON_EOF), ``text``
    Jison's yytext (what the parser's actions see), then where it starts, and the lexer's line
    count once it is read (Jison's parser reports that line)."""

    __slots__ = ("kind", "text", "first_line", "first_column", "line_after")

    def __init__(self, kind: str, text: str, first_line: int, first_column: int, line_after: int) -> None:
        self.kind = kind
        self.text = text
        self.first_line = first_line
        self.first_column = first_column
        self.line_after = line_after


class Lexer:
    """Tokens on demand (the parser reads one token ahead, and a lexical error surfaces only
    when the parser asks for the token that cannot be read)."""

    def __init__(self, source: str) -> None:
        self.text = to_code_units(source)
        self.astral = len(self.text) != len(source)  # surrogate pairs to join again in token texts
        self.pos = 0
        self.states = ["INITIAL"]
        self.line = 0  # Jison's yylineno
        self.last_line = 1  # Jison's yylloc.last_line / last_column: where the next match starts
        self.last_column = 0
        self.done = False
        self.match_start = 0  # the current match (Jison's `match`), for error excerpts
        self.echoes: list[tuple[int, str]] = []  # text unput left in Jison's `matched` twice

    def next(self) -> Token:
        while True:
            token = self._next()
            if token is not None:
                return token

    def _next(self) -> Token | None:
        text = self.text
        if self.done:
            return Token(JISON_EOF, "", self.last_line, self.last_column, self.line)
        pos = self.pos
        if pos >= len(text):
            self.done = True
        pattern, actions = _STATES[self.states[-1]]
        m = pattern.match(text, pos)
        if m is None:
            self.match_start = pos
            if pos >= len(text):
                return Token(JISON_EOF, "", self.last_line, self.last_column, self.line)
            raise TemplateSyntaxError(f"Lexical error on line {self.line + 1}. Unrecognized text.\n"
                                      + self.show_position())
        end = m.end()
        matched = m.group()
        action, kind = actions[int(str(m.lastgroup)[1:])]
        # locations, as Jison keeps them
        first_line, first_column = self.last_line, self.last_column
        if "\n" in matched or "\r" in matched:
            lines = _LINES.findall(matched)
            self.line += len(lines)
            last = lines[-1]
            self.last_column = len(last) - (2 if last.startswith("\r\n") else 1)
        else:
            self.last_column = first_column + len(matched)
        self.last_line = self.line + 1
        self.match_start = pos
        self.pos = end
        if end < len(text):
            self.done = False
        value = matched
        if action:
            if action == _SKIP:
                return None
            if action == _POP:
                self.states.pop()
            elif action == _STRING:
                quote = matched[0]
                value = matched[1:-1].replace("\\" + quote, quote)
            elif action == _CONTENT_BEFORE_MUSTACHE:
                if matched.endswith("\\\\"):
                    value = matched[:-1]
                    self.states.append("mu")
                elif matched.endswith("\\"):
                    value = matched[:-1]
                    self.states.append("emu")
                else:
                    self.states.append("mu")
                if not value:
                    return None
            elif action == _ESCAPED_CONTENT:
                self.states.pop()
            elif action == _NESTED_RAW:
                self.states.append("raw")
            elif action == _END_RAW:
                self.states.pop()
                if self.states[-1] == "raw":
                    kind = "CONTENT"
                else:
                    value = matched[5:-4]
            elif action == _CLOSE_RAW_BLOCK:
                self.states[-1] = "raw"
            elif action == _BRACKETED_ID:
                value = _BRACKET_ESCAPE.sub(r"\1", matched)
            else:  # comment start: Jison's unput gives the text back, but only one character leaves `matched`
                self.echoes.append((pos, matched[:-1]))
                self.pos = pos
                self.last_line, self.last_column = first_line, first_column
                self.states[-1] = "com"
                return None
        if self.astral:
            value = from_code_units(value)
        return Token(kind, value, first_line, first_column, self.line)

    def show_position(self) -> str:
        """Jison's excerpt: up to 20 units before the current match ('...' when more), the
        match and what follows up to 20 units, then a caret under the match's start."""
        past = self._matched_before(self.match_start)
        shown_past = ("..." if len(past) > 20 else "") + past[-20:].replace("\n", "")
        upcoming = self.text[self.match_start:self.pos]
        if len(upcoming) < 20:
            upcoming += self.text[self.pos:self.pos + 20 - len(upcoming)]
        shown_next = (upcoming[:20] + ("..." if len(upcoming) > 20 else "")).replace("\n", "")
        return from_code_units(f"{shown_past}{shown_next}\n{'-' * len(shown_past)}^")

    def _matched_before(self, position: int) -> str:
        if not self.echoes:
            return self.text[:position]
        pieces = []
        at = 0
        for where, echo in self.echoes:
            if where > position:
                break
            pieces.append(self.text[at:where])
            pieces.append(echo)
            at = where
        pieces.append(self.text[at:position])
        return "".join(pieces)
