"""Route path patterns as Mockoon 9 matches them.

Mockoon writes endpoints in Express 4 syntax (``users/:id?``, ``files/*``, ``a(b)?c``),
rewrites them to path-to-regexp v8 syntax and matches with ``match(path)``: case
insensitive, an optional trailing slash, ``:name`` for one segment, ``*name`` for one or
more, ``{...}`` for optional parts. ``compile_route_path`` does the same two steps and
returns a ``PathMatcher``; an invalid pattern raises ``InvalidRoutePath`` and the route
is skipped, as Mockoon skips it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from urllib.parse import unquote

ParamValue = str | list[str]


class InvalidRoutePath(ValueError):
    """The endpoint does not compile; Mockoon logs "Invalid route path" and skips the route."""


def dedup_slashes(text: str) -> str:
    return re.sub(r"/{2,}", "/", text)


def prepare_path(prefix: str, endpoint: str) -> str:
    """``/<prefix>/<endpoint>`` with duplicate slashes removed and spaces as %20."""
    return dedup_slashes(f"/{prefix}/{endpoint.replace(' ', '%20')}")


def express4_to_v8(path: str) -> str:
    """Rewrite Express 4 pattern syntax into path-to-regexp v8 syntax (same rules as Mockoon)."""
    counter = itertools.count()
    path = re.sub(r"(^|/)\*(?![A-Za-z0-9_\"])", lambda m: f"{m.group(1)}*wildcard{next(counter)}", path)
    path = re.sub(r"(?<!\\)\(([^)]+)\)\?", r"{\1}", path)
    path = re.sub(r"(?<!\\)\(([^)]+)\)", r"{\1}", path)
    path = re.sub(r"([/.~-]):([A-Za-z_$][A-Za-z0-9_$]*)\?", r"{\1:\2}", path)
    path = re.sub(r":([A-Za-z_$][A-Za-z0-9_$]*)\+", r"*\1", path)
    path = re.sub(r"/:([A-Za-z_$][A-Za-z0-9_$]*)\*", r"{/*\1}", path)
    path = re.sub(r"(?<!\\)([a-zA-Z0-9_])\?", r"{\1}", path)
    path = re.sub(r"(?<!\\)([a-zA-Z0-9_])\+", r"\1{\1}", path)
    return path


# --- path-to-regexp v8 ----------------------------------------------------------------------

_ID_START = re.compile(r"[$_A-Za-z\u00c0-\uffff]")
_ID_CONTINUE = re.compile(r"[$_A-Za-z0-9\u00c0-\uffff\u200c\u200d]")
_RESERVED = set("()[]?+!")


@dataclass(slots=True)
class _Token:
    kind: str  # text | param | wildcard | group
    value: str = ""
    children: list[_Token] | None = None


def _lex_name(path: str, i: int) -> tuple[str, int]:
    if i < len(path) and path[i] == '"':
        j = i + 1
        name = ""
        while j < len(path) and path[j] != '"':
            if path[j] == "\\":
                j += 1
            name += path[j]
            j += 1
        if j >= len(path):
            raise InvalidRoutePath(f"Unterminated quote at index {i}")
        return name, j + 1
    if i >= len(path) or not _ID_START.match(path[i]):
        raise InvalidRoutePath(f"Missing parameter name at index {i}")
    j = i + 1
    while j < len(path) and _ID_CONTINUE.match(path[j]):
        j += 1
    return path[i:j], j


def _parse(path: str, i: int = 0, in_group: bool = False) -> tuple[list[_Token], int]:
    tokens: list[_Token] = []
    text = ""

    def flush() -> None:
        nonlocal text
        if text:
            tokens.append(_Token("text", text))
            text = ""

    while i < len(path):
        char = path[i]
        if char == "\\":
            text += path[i + 1] if i + 1 < len(path) else ""
            i += 2
        elif char in ":*":
            flush()
            name, i = _lex_name(path, i + 1)
            tokens.append(_Token("param" if char == ":" else "wildcard", name))
        elif char == "{":
            flush()
            children, i = _parse(path, i + 1, in_group=True)
            tokens.append(_Token("group", children=children))
        elif char == "}":
            if not in_group:
                raise InvalidRoutePath(f"Unexpected }} at index {i}")
            flush()
            return tokens, i + 1
        elif char in _RESERVED:
            raise InvalidRoutePath(f"Unexpected {char} at index {i}, expected END")
        else:
            text += char
            i += 1
    if in_group:
        raise InvalidRoutePath("Unexpected END, expected }")
    flush()
    return tokens, i


def _flatten(tokens: list[_Token]) -> list[list[_Token]]:
    """Expand optional groups into every alternative, longest first (as v8 orders them)."""
    results: list[list[_Token]] = [[]]
    for token in tokens:
        if token.kind == "group":
            inner = _flatten(token.children or [])
            results = [r + alt for r in results for alt in inner] + [list(r) for r in results]
        else:
            results = [r + [token] for r in results]
    return results


def _negate(delimiter: str, backtrack: str) -> str:
    if len(backtrack) < 2:
        return f"[^{re.escape(delimiter + backtrack)}]"
    return f"(?:(?!{re.escape(backtrack)})[^{re.escape(delimiter)}])"


def _to_regex(tokens: list[_Token], keys: list[_Token]) -> str:
    result = ""
    backtrack = ""
    safe_segment = True
    for token in tokens:
        if token.kind == "text":
            result += re.escape(token.value)
            backtrack += token.value
            safe_segment = safe_segment or "/" in token.value
            continue
        if not safe_segment and not backtrack:
            raise InvalidRoutePath(f'Missing text before "{token.value}" {token.kind}')
        if token.kind == "param":
            result += f"({_negate('/', '' if safe_segment else backtrack)}+)"
        else:
            result += r"([\s\S]+)"
        keys.append(token)
        backtrack = ""
        safe_segment = False
    return result


class PathMatcher:
    """A compiled route path; ``match`` returns decoded params or None."""

    __slots__ = ("pattern", "regex", "keys", "static")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        tokens, _ = _parse(pattern)
        alternatives = _flatten(tokens)
        sources: list[str] = []
        self.keys: list[_Token] = []
        for alt in alternatives:
            keys: list[_Token] = []
            sources.append(_to_regex(alt, keys))
            self.keys.extend(keys)
        source = "^(?:" + "|".join(sources) + r")(?:/$)?$"
        self.regex = re.compile(source, re.I)

    def match(self, path: str) -> dict[str, ParamValue] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        params: dict[str, ParamValue] = {}
        for key, value in zip(self.keys, found.groups(), strict=False):
            if value is None or key.value in params:
                continue
            if key.kind == "wildcard":
                params[key.value] = [_decode(part) for part in value.split("/")]
            else:
                params[key.value] = _decode(value)
        return params


def _decode(value: str) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return value


def compile_route_path(prefix: str, endpoint: str) -> PathMatcher:
    return PathMatcher(express4_to_v8(prepare_path(prefix, endpoint)))
