"""JSONPath as Mockoon CLI 9.9 evaluates it.

Mockoon calls jsonpath-plus 10.4 as ``JSONPath({json, path, wrap: false})`` (its "safe"
script evaluator for filters), and only when its own ``isSafeJSONPath`` check lets the
path through. This module answers the same: the same path normalisation (so ``$.[?(…)]``
is a recursive descent, and ``['a','b']`` looks for the keys ``a'`` and ``'b``), the same
traversal quirks (literal-key priority, ``^`` resolved one frame up, ``wrap: false``
unwrapping), filter scripts in the safe evaluator's subset of JavaScript with JavaScript
value semantics, and the same error messages. Errors surface as :class:`JSONPathError`,
which Mockoon shows as ``Error while serving the content: <message>``.

Pure: no I/O. Compiled paths and filter scripts are cached; evaluation has a step budget.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, NoReturn

from .jsvalues import (
    UNDEFINED,
    is_nan,
    js_equals_strict,
    normalise_number,
    to_number,
    to_string,
    truthy,
)
from .templating.errors import TemplateBudgetExceeded, TemplateError
from .templating.regex_guard import bounded_pattern

MAX_PATH_LENGTH = 1000
MAX_STEPS = 500_000


class JSONPathError(TemplateError):
    """What jsonpath-plus throws, with its message (Mockoon shows it for the whole template)."""


class _JSThrow(Exception):
    """A JavaScript exception inside a filter script; jsonpath-plus wraps its message."""


# JavaScript's ``.`` (no ``s`` flag) stops at every line terminator, not only ``\n``.
_ANY = r"[^\n\r\u2028\u2029]"


# --------------------------------------------------------------------------------------------
# Mockoon's isSafeJSONPath gate
# --------------------------------------------------------------------------------------------

_GATE_FILTER = re.compile(
    r"[(]*"
    r"(@?\.?[_a-zA-Z0-9\-\[\].]*|@?\['[_a-zA-Z0-9\s]*'\]|@[a-zA-Z0-9_\s'\-\[\].]*" + _ANY + r"match\(" + _ANY + r"*\))"
    r"\s*(==|!=|===|!==|<|<=|>|>=)?\s*"
    r"(\"[^\"]*\"|'[^']*'|[0-9.]+|@?\$?[.a-zA-Z0-9_\[\]\s']*|true|false|undefined)?"
    r"[)]*"
)
_GATE_PARENS = re.compile(r"\((" + _ANY + r"*)\)")
_GATE_GROUPS = re.compile(r"\s*&&\s*|\s*\|\|\s*")


def is_safe_json_path(path: str) -> bool:
    """Mockoon's ``isSafeJSONPath``: filters limited to simple comparisons, 1000 chars at most."""
    if len(path) > MAX_PATH_LENGTH:
        return False
    found = _GATE_PARENS.search(path)
    inner = found.group(1) if found else ""
    if not inner:
        return True
    return all(_GATE_FILTER.fullmatch(part.strip()) for part in _GATE_GROUPS.split(inner))


# --------------------------------------------------------------------------------------------
# Path normalisation: the path string becomes a list of location strings
# --------------------------------------------------------------------------------------------

_TYPE_SELECTOR = re.compile(
    r"@(?:null|boolean|number|string|integer|undefined|nonFinite|scalar|array|object|function|other)\(\)"
)
_SCRIPT_IN_BRACKETS = re.compile(r"[\['](\??\(" + _ANY + r"*?\))[\]'](?!" + _ANY + r"\])")
_QUOTED_KEY = re.compile(r"\[['\"]([^'\]]*)['\"]\]")
_BOUNDARY = re.compile(r"['\"]?\.['\"]?(?![^\[]*\])|\[['\"]?")
_CARETS = re.compile(r";?(\^+);?")
_DESCENT = re.compile(r";;;|;;")
_TRAILER = re.compile(r";\Z|'?\]|'\Z")
_PLACEHOLDER = re.compile(r"#([0-9]+)")
_SLICE = re.compile(r"(-?[0-9]*):(-?[0-9]*):?([0-9]*)")
_INDEX_KEY = re.compile(r"0|[1-9][0-9]*")

# Markers for dots and tildes inside quoted keys while the path is cut into pieces; the
# library uses these very sequences, so a path that spells them out gets them rewritten too.
_DOT_MARK = "%@%"
_TILDE_MARK = "%%@@%%"


@lru_cache(maxsize=1024)
def path_locations(path: str) -> tuple[Any, ...]:
    """The location list jsonpath-plus walks for ``path`` (``$`` first, as it keeps it)."""
    scripts: list[str] = []

    def stash(found: re.Match[str]) -> str:
        scripts.append(found.group(1))
        return f"[#{len(scripts) - 1}]"

    def protect(found: re.Match[str]) -> str:
        return "['" + found.group(1).replace(".", _DOT_MARK).replace("~", _TILDE_MARK) + "']"

    text = _TYPE_SELECTOR.sub(lambda m: ";" + m.group(0) + ";", path)
    text = _SCRIPT_IN_BRACKETS.sub(stash, text)
    text = _QUOTED_KEY.sub(protect, text)
    text = text.replace("~", ";~;")
    text = _BOUNDARY.sub(";", text)
    text = text.replace(_DOT_MARK, ".").replace(_TILDE_MARK, "~")
    text = _CARETS.sub(lambda m: ";" + ";".join(m.group(1)) + ";", text)
    text = _DESCENT.sub(";..;", text)
    text = _TRAILER.sub("", text)
    locations: list[Any] = []
    for piece in text.split(";"):
        ref = _PLACEHOLDER.search(piece)
        if ref is None:
            locations.append(piece)
        else:
            index = ref.group(1)
            fits = _INDEX_KEY.fullmatch(index) and int(index) < len(scripts)
            locations.append(scripts[int(index)] if fits else UNDEFINED)
    return tuple(locations)


_NOT_IN_PATH_STRING = re.compile(r"~|\^|@" + _ANY + r"*?\(\)")
_BARE_IN_PATH_STRING = re.compile(r"[0-9*]+")


def to_path_string(path: tuple[Any, ...]) -> str:
    """``JSONPath.toPathString`` (what ``@path`` sees in filters)."""
    out = ["$"]
    for item in path[1:]:
        text = _key(item)
        if _NOT_IN_PATH_STRING.fullmatch(text):
            continue
        out.append(f"[{text}]" if _BARE_IN_PATH_STRING.fullmatch(text) else f"['{text}']")
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Traversal
# --------------------------------------------------------------------------------------------

_TYPE_NAMES = frozenset(
    ["null", "boolean", "number", "string", "integer", "undefined", "nonFinite", "scalar",
     "array", "object", "function", "other"]
)


class _Hit:
    __slots__ = ("value", "wrapped")

    def __init__(self, value: Any, wrapped: bool) -> None:
        self.value = value
        self.wrapped = wrapped


class _Up:
    """A ``^`` waiting for the frame above to continue from its own value."""

    __slots__ = ("path", "rest")

    def __init__(self, path: tuple[Any, ...], rest: tuple[Any, ...]) -> None:
        self.path = path
        self.rest = rest


def _key(loc: Any) -> str:
    return loc if isinstance(loc, str) else to_string(loc)


def _own(value: Any, loc: Any) -> bool:
    """``value && Object.hasOwn(value, loc)`` on JSON data."""
    if isinstance(value, dict):
        return _key(loc) in value if value else False
    if isinstance(value, (list, str)):
        if value == "":
            return False
        if isinstance(loc, int) and not isinstance(loc, bool):
            return 0 <= loc < len(value)
        key = _key(loc)
        if key == "length":
            return True
        return bool(_INDEX_KEY.fullmatch(key)) and int(key) < len(value)
    return False


def _child(value: Any, loc: Any) -> Any:
    if isinstance(value, dict):
        return value[_key(loc)]
    key = loc if isinstance(loc, int) and not isinstance(loc, bool) else _key(loc)
    if key == "length":
        return len(value)
    return value[int(key)]


def _object_keys(value: dict[str, Any]) -> list[str]:
    """``Object.keys`` order: array-index keys ascending first, then the rest as inserted."""
    keys = list(value)
    if not any(k[:1].isdigit() for k in keys):
        return keys
    indexes = [k for k in keys if _INDEX_KEY.fullmatch(k) and int(k) < 4294967295]
    if not indexes:
        return keys
    rest = [k for k in keys if not (_INDEX_KEY.fullmatch(k) and int(k) < 4294967295)]
    return sorted(indexes, key=int) + rest


def _slice_bound(text: str) -> int:
    """``(text && parseInt(text)) || …``: empty, ``-`` and zero all fall back."""
    return int(text) if text not in ("", "-") else 0


def _children(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(range(len(value)))
    if isinstance(value, dict):
        return _object_keys(value)
    return []


def _type_matches(kind: str, value: Any) -> bool:
    if kind == "scalar":
        return not truthy(value) or not isinstance(value, (dict, list))
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "undefined":
        return value is UNDEFINED
    if kind == "function":
        return False
    if kind in ("integer", "number", "nonFinite"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        finite = not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))
        if kind == "nonFinite":
            return not finite
        return finite and (kind == "number" or float(value).is_integer())
    if kind == "object":
        return isinstance(value, (dict, list))
    if kind == "array":
        return isinstance(value, list)
    if kind == "null":
        return value is None
    # "other": Mockoon gives no otherTypeCallback
    raise JSONPathError("You must supply an otherTypeCallback callback option with the @other() operator.")


_NESTED_FILTER = re.compile(r"@" + _ANY + r"?([^?]*)[\['](\??\(" + _ANY + r"*?\))(?!" + _ANY + r"\)\])[\]']")
_FILTER_BODY = re.compile(r"\?\((" + _ANY + r"*?)\)")


class _Run:
    """One evaluation: the root, the ``@path`` sandbox slot and the step budget."""

    __slots__ = ("root", "steps", "saw_up", "sandbox_path")

    def __init__(self, root: Any) -> None:
        self.root = root
        self.steps = 0
        self.saw_up = False
        self.sandbox_path: Any = None

    def trace(self, expr: tuple[Any, ...], val: Any, path: tuple[Any, ...], parent: Any,
              parent_prop: Any, wrapped: bool, literal_first: bool = False) -> list[Any]:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateBudgetExceeded("JSONPath evaluation is over its step budget")
        if not expr:
            return [_Hit(val, wrapped)]
        loc, rest = expr[0], expr[1:]
        out: list[Any] = []
        is_text = isinstance(loc, str)
        if (not is_text or literal_first) and _own(val, loc):
            out += self.trace(rest, _child(val, loc), path + (loc,), val, loc, wrapped)
        elif loc == "*":
            for name in _children(val):
                out += self.trace(rest, _child(val, name), path + (name,), val, name, True, True)
        elif loc == "..":
            out += self.trace(rest, val, path, parent, parent_prop, wrapped)
            for name in _children(val):
                item = _child(val, name)
                if item is None or isinstance(item, (dict, list)):
                    out += self.trace(expr, item, path + (name,), val, name, True)
        elif loc == "^":
            self.saw_up = True
            return [_Up(path[:-1], rest)]
        elif loc == "~":
            return [_Hit(parent_prop, False)]
        elif loc == "$":
            out += self.trace(rest, val, path, None, None, wrapped)
        elif not is_text:
            out += self._odd_location(loc, rest, val, path, parent, parent_prop, literal_first)
        elif _SLICE.fullmatch(loc):
            out += self._slice(loc, rest, val, path, parent, parent_prop)
        elif loc.startswith("?("):
            out += self._filter(loc, rest, val, path, parent, parent_prop)
        elif loc.startswith("("):
            picked = self._script(loc, val, path[-1], path[:-1], parent, parent_prop)
            out += self.trace((picked,) + rest, val, path, parent, parent_prop, wrapped)
        elif loc.startswith("@"):
            kind = loc[1:-2]
            if kind not in _TYPE_NAMES:
                raise JSONPathError(f"Unknown value type {kind}")
            if _type_matches(kind, val):
                return [_Hit(val, False)]
        elif loc.startswith("`") and _own(val, loc[1:]):
            name = loc[1:]
            out += self.trace(rest, _child(val, name), path + (name,), val, name, wrapped, True)
        elif "," in loc:
            for part in loc.split(","):
                out += self.trace((part,) + rest, val, path, parent, parent_prop, True)
        elif not literal_first and _own(val, loc):
            out += self.trace(rest, _child(val, loc), path + (loc,), val, loc, wrapped, True)
        if self.saw_up and any(isinstance(item, _Up) for item in out):
            resolved: list[Any] = []
            for item in out:
                if isinstance(item, _Up):
                    resolved += self.trace(item.rest, val, item.path, parent, parent_prop, wrapped)
                else:
                    resolved.append(item)
            out = resolved
        return out

    def _odd_location(self, loc: Any, rest: tuple[Any, ...], val: Any, path: tuple[Any, ...],
                      parent: Any, parent_prop: Any, literal_first: bool) -> list[Any]:
        """A script picked a non-string location that is not a key here: what JS then does."""
        if loc is UNDEFINED or loc is None:
            raise JSONPathError(f"Cannot read properties of {to_string(loc)} (reading 'indexOf')")
        if isinstance(loc, list):
            return []
        raise JSONPathError("loc.indexOf is not a function")

    def _slice(self, loc: str, rest: tuple[Any, ...], val: Any, path: tuple[Any, ...],
               parent: Any, parent_prop: Any) -> list[Any]:
        if not isinstance(val, list):
            return []
        size = len(val)
        parts = loc.split(":") + ["", ""]
        step = _slice_bound(parts[2]) or 1
        start = _slice_bound(parts[0]) or 0
        end = _slice_bound(parts[1]) or size
        start = max(0, start + size) if start < 0 else min(size, start)
        end = max(0, end + size) if end < 0 else min(size, end)
        out: list[Any] = []
        for index in range(start, end, step):
            out += self.trace((index,) + rest, val, path, parent, parent_prop, True)
        return out

    def _filter(self, loc: str, rest: tuple[Any, ...], val: Any, path: tuple[Any, ...],
                parent: Any, parent_prop: Any) -> list[Any]:
        body = _FILTER_BODY.fullmatch(loc)
        code = body.group(1) if body else loc
        nested = _NESTED_FILTER.search(code)
        out: list[Any] = []
        for name in _children(val):
            item = _child(val, name)
            if nested:
                inner = item
                if nested.group(1):
                    if inner is None or inner is UNDEFINED:
                        raise JSONPathError(
                            f"Cannot read properties of {to_string(inner)} (reading '{nested.group(1)}')"
                        )
                    inner = _js_get(inner, nested.group(1))
                keep = bool(self.trace((nested.group(2),), inner, path, parent, parent_prop, True))
            else:
                keep = truthy(self._script(code, item, name, path, parent, parent_prop))
            if keep:
                out += self.trace(rest, item, path + (name,), val, name, True)
        return out

    def _script(self, code: str, value: Any, name: Any, path: tuple[Any, ...], parent: Any,
                parent_prop: Any) -> Any:
        program = _compile_script(code)
        if "@path" in code:
            self.sandbox_path = to_path_string(path + (name,))
        subs = {
            "_$_parentProperty": parent_prop,
            "_$_parent": parent,
            "_$_property": name,
            "_$_root": self.root,
            "_$_v": value,
        }
        if self.sandbox_path is not None:
            subs["_$_path"] = self.sandbox_path
        try:
            return _evaluate(program, subs)
        except _JSThrow as error:
            raise JSONPathError(f"jsonPath: {error}: {code}") from None
        except RecursionError:
            raise JSONPathError(f"jsonPath: Maximum call stack size exceeded: {code}") from None


def evaluate(data: Any, path: str) -> Any:
    """``JSONPath({json: data, path, wrap: false})``; UNDEFINED when nothing matches."""
    if not truthy(data):
        return UNDEFINED
    locations = path_locations(path)
    if locations[0] == "$" and len(locations) > 1:
        locations = locations[1:]
    run = _Run(data)
    first = locations[0]
    try:
        if first in ("^", "~") or (
            isinstance(first, str) and first.startswith("@") and first[1:-2] in _TYPE_NAMES
            and first[1:-2] != "other" and _type_matches(first[1:-2], data)
        ):
            # the library's top frame then returns a single object, not a list
            raise JSONPathError("this._trace(...).filter is not a function")
        found = [item for item in run.trace(locations, data, ("$",), None, None, False)
                 if isinstance(item, _Hit)]
    except RecursionError:
        raise JSONPathError("Maximum call stack size exceeded") from None
    if not found:
        return UNDEFINED
    if len(found) == 1 and not found[0].wrapped:
        return found[0].value
    return [item.value for item in found]


def query(data: Any, path: str) -> Any:
    """What Mockoon's ``getValueFromPath`` gets for a ``$`` path: the gate, then the library."""
    if not is_safe_json_path(path):
        return UNDEFINED
    return evaluate(data, path)


# --------------------------------------------------------------------------------------------
# Filter scripts: jsep (with its regex and assignment plugins) as jsonpath-plus configures it
# --------------------------------------------------------------------------------------------

_BINARY_PRECEDENCE: dict[str, float] = {
    "||": 1, "??": 1, "&&": 2, "|": 3, "^": 4, "&": 5,
    "==": 6, "!=": 6, "===": 6, "!==": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
    "<<": 8, ">>": 8, ">>>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10, "**": 11,
}
_ASSIGNMENT_OPS = ("=", "*=", "**=", "/=", "%=", "+=", "-=", "<<=", ">>=", ">>>=", "&=", "^=",
                   "|=", "||=", "&&=", "??=")
for _op in _ASSIGNMENT_OPS:
    _BINARY_PRECEDENCE[_op] = 0.9
_RIGHT_ASSOCIATIVE = frozenset(("**", *_ASSIGNMENT_OPS))
_UNARY_OPS = ("typeof", "void", "-", "!", "~", "+")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None, "undefined": UNDEFINED}


def _ident_start(ch: str) -> bool:
    if not ch:
        return False
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch in "$_" or (ord(ch) >= 128 and ch not in _BINARY_PRECEDENCE)


def _ident_part(ch: str) -> bool:
    return _ident_start(ch) or ("0" <= ch <= "9" if ch else False)


class _ParseError(Exception):
    pass


class _Parser:
    """A recursive-descent reading of jsep 1.4's grammar, with its error messages and offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    # -- helpers
    @property
    def ch(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def at(self, offset: int) -> str:
        j = self.i + offset
        return self.text[j] if 0 <= j < len(self.text) else ""

    def fail(self, message: str) -> NoReturn:
        raise _ParseError(f"{message} at character {self.i}")

    def spaces(self) -> None:
        while self.ch in (" ", "\t", "\n", "\r") and self.ch:
            self.i += 1

    # -- grammar
    def parse(self) -> Any:
        nodes = self.expressions("")
        return nodes[0] if len(nodes) == 1 else ("compound", nodes)

    def expressions(self, until: str) -> list[Any]:
        nodes: list[Any] = []
        while self.i < len(self.text):
            first = self.ch
            if first in (";", ","):
                self.i += 1
                continue
            node = self.expression()
            if node:
                nodes.append(node)
            elif self.i < len(self.text):
                if until and first == until:
                    break
                self.fail(f'Unexpected "{self.ch}"')
        return nodes

    def expression(self) -> Any:
        node = self.binary()
        self.spaces()
        if node and self.ch == "?":
            self.i += 1
            consequent = self.expression()
            if not consequent:
                self.fail("Expected expression")
            self.spaces()
            if self.ch != ":":
                self.fail("Expected :")
            self.i += 1
            alternate = self.expression()
            if not alternate:
                self.fail("Expected expression")
            conditional = ["cond", node, consequent, alternate]
            if node[0] == "binary" and _BINARY_PRECEDENCE[node[1]] <= 0.9:
                # an assignment binds looser than ?: — the ternary goes into its right side
                holder = node
                while holder[3][0] == "binary" and _BINARY_PRECEDENCE[holder[3][1]] <= 0.9:
                    holder = holder[3]
                conditional[1] = holder[3]
                holder[3] = conditional
            else:
                node = conditional
        if node:
            node = _mark_assignments(node)
        return node

    def binary_op(self) -> str | None:
        self.spaces()
        for size in (4, 3, 2, 1):
            candidate = self.text[self.i:self.i + size]
            if len(candidate) == size and candidate in _BINARY_PRECEDENCE:
                self.i += size
                return candidate
        return None

    def binary(self) -> Any:
        left = self.token()
        if not left:
            return left
        op = self.binary_op()
        if not op:
            return left
        right = self.token()
        if not right:
            self.fail(f"Expected expression after {op}")
        stack: list[Any] = [left, op, right]
        while True:
            op = self.binary_op()
            if not op:
                break
            prec = _BINARY_PRECEDENCE[op]
            while len(stack) > 2:
                prev = stack[-2]
                prev_prec = _BINARY_PRECEDENCE[prev]
                reduce = prec > prev_prec if (op in _RIGHT_ASSOCIATIVE and prev in _RIGHT_ASSOCIATIVE) else prec <= prev_prec
                if not reduce:
                    break
                r = stack.pop()
                o = stack.pop()
                lft = stack.pop()
                stack.append(["binary", o, lft, r])
            node = self.token()
            if not node:
                self.fail(f"Expected expression after {op}")
            stack += [op, node]
        node = stack[-1]
        k = len(stack) - 1
        while k > 1:
            node = ["binary", stack[k - 1], stack[k - 2], node]
            k -= 2
        return node

    def token(self) -> Any:
        self.spaces()
        ch = self.ch
        if ch == "/":
            return self.after_token(self.regex())
        if ch in ("+", "-") and self.at(1) == ch:
            self.i += 2
            operator = ch * 2
            argument = self.member_tail(self.identifier())
            if argument[0] not in ("id", "member"):
                self.fail(f"Unexpected {operator}")
            return self.after_token(("update", operator, argument))
        if ch.isdigit() and ch.isascii() or ch == ".":
            return self.number()
        node: Any = None
        if ch in ("'", '"'):
            node = self.string()
        elif ch == "[":
            self.i += 1
            node = ("array", self.arguments("]"))
        else:
            for op in _UNARY_OPS:
                if self.text.startswith(op, self.i) and (
                    not _ident_start(ch)
                    or (self.i + len(op) < len(self.text) and not _ident_part(self.text[self.i + len(op)]))
                ):
                    self.i += len(op)
                    argument = self.token()
                    if not argument:
                        self.fail("missing unaryOp argument")
                    return self.after_token(("unary", op, argument))
            if _ident_start(ch):
                node = self.identifier()
                name = node[1]
                if name in _LITERALS:
                    node = ("lit", _LITERALS[name])
                elif name == "this":
                    node = ("this",)
            elif ch == "(":
                node = self.group()
        if not node:
            return self.after_token(False)
        return self.after_token(self.member_tail(node))

    def after_token(self, node: Any) -> Any:
        if node and self.ch in ("+", "-") and self.at(1) == self.ch:
            if node[0] not in ("id", "member"):
                operator = node[1] if node[0] in ("unary", "update") else "undefined"
                self.fail(f"Unexpected {operator}")
            operator = self.ch * 2
            self.i += 2
            node = ("update", operator, node)
        return node

    def member_tail(self, node: Any) -> Any:
        self.spaces()
        ch = self.ch
        while ch in (".", "[", "(", "?") and ch:
            optional = False
            if ch == "?":
                if self.at(1) != ".":
                    break
                optional = True
                self.i += 2
                self.spaces()
                ch = self.ch
            self.i += 1
            if ch == "[":
                prop = self.expression()
                if not prop:
                    self.fail(f'Unexpected "{self.ch}"')
                self.spaces()
                if self.ch != "]":
                    self.fail("Unclosed [")
                self.i += 1
                node = ("member", node, prop, True)
            elif ch == "(":
                node = ("call", node, self.arguments(")"))
            elif ch == "." or optional:
                if optional:
                    self.i -= 1
                self.spaces()
                node = ("member", node, self.identifier()[1], False)
            self.spaces()
            ch = self.ch
        return node

    def number(self) -> Any:
        start = self.i
        while self.ch.isascii() and self.ch.isdigit():
            self.i += 1
        if self.ch == ".":
            self.i += 1
            while self.ch.isascii() and self.ch.isdigit():
                self.i += 1
        if self.ch in ("e", "E"):
            self.i += 1
            if self.ch in ("+", "-"):
                self.i += 1
            while self.ch.isascii() and self.ch.isdigit():
                self.i += 1
            if not self.text[self.i - 1].isdigit():
                self.fail(f"Expected exponent ({self.text[start:self.i]}{self.ch})")
        raw = self.text[start:self.i]
        if _ident_start(self.ch):
            self.fail(f"Variable names cannot start with a number ({raw}{self.ch})")
        elif self.ch == "." or raw == ".":
            self.fail("Unexpected period")
        return ("lit", normalise_number(_parse_float(raw)))

    def string(self) -> Any:
        quote = self.ch
        self.i += 1
        out: list[str] = []
        closed = False
        escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\x0b"}
        while self.i < len(self.text):
            ch = self.text[self.i]
            self.i += 1
            if ch == quote:
                closed = True
                break
            if ch == "\\":
                nxt = self.ch
                self.i += 1
                out.append(escapes.get(nxt, nxt))
            else:
                out.append(ch)
        if not closed:
            self.fail(f'Unclosed quote after "{"".join(out)}"')
        return ("lit", "".join(out))

    def identifier(self) -> Any:
        start = self.i
        if _ident_start(self.ch):
            self.i += 1
        else:
            self.fail(f"Unexpected {self.ch}")
        while self.i < len(self.text) and _ident_part(self.ch):
            self.i += 1
        return ("id", self.text[start:self.i])

    def arguments(self, end: str) -> list[Any]:
        args: list[Any] = []
        closed = False
        commas = 0
        while self.i < len(self.text):
            self.spaces()
            ch = self.ch
            if ch == end:
                closed = True
                self.i += 1
                if end == ")" and commas and commas >= len(args):
                    self.fail(f"Unexpected token {end}")
                break
            if ch == ",":
                self.i += 1
                commas += 1
                if commas != len(args):
                    if end == ")":
                        self.fail("Unexpected token ,")
                    while len(args) < commas:
                        args.append(None)
            elif len(args) != commas and commas != 0:
                self.fail("Expected comma")
            else:
                node = self.expression()
                if not node or node[0] == "compound":
                    self.fail("Expected comma")
                args.append(node)
        if not closed:
            self.fail(f"Expected {end}")
        return args

    def group(self) -> Any:
        self.i += 1
        nodes = self.expressions(")")
        if self.ch != ")":
            self.fail("Unclosed (")
        self.i += 1
        if len(nodes) == 1:
            return nodes[0]
        if not nodes:
            return False
        return ("sequence", nodes)

    def regex(self) -> Any:
        self.i += 1
        start = self.i
        in_class = False
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch == "/" and not in_class:
                source = self.text[start:self.i]
                flags = ""
                self.i += 1
                while self.i < len(self.text) and self.text[self.i].isascii() and self.text[self.i].isalnum():
                    flags += self.text[self.i]
                    self.i += 1
                try:
                    value = JSRegExp(source, flags)
                except _JSThrow as error:
                    self.fail(str(error))
                return self.member_tail(("lit", value))
            if ch == "[":
                in_class = True
            elif in_class and ch == "]":
                in_class = False
            self.i += 2 if ch == "\\" else 1
        self.fail("Unclosed Regex")


def _mark_assignments(node: Any) -> Any:
    if isinstance(node, list) and node[0] == "binary" and node[1] in _ASSIGNMENT_OPS:
        node[0] = "assign"
        _mark_assignments(node[2])
        _mark_assignments(node[3])
    return node


_SCRIPT_CACHE: dict[str, Any] = {}
_AT_VALUE = re.compile(r"@([.\s)\[])")


def _compile_script(code: str) -> Any:
    program = _SCRIPT_CACHE.get(code)
    if program is None:
        script = (code.replace("@parentProperty", "_$_parentProperty").replace("@parent", "_$_parent")
                  .replace("@property", "_$_property").replace("@root", "_$_root"))
        script = _AT_VALUE.sub(lambda m: "_$_v" + m.group(1), script)
        if "@path" in code:
            script = script.replace("@path", "_$_path")
        try:
            program = _Parser(script).parse()
        except _ParseError as error:
            raise JSONPathError(str(error)) from None
        if len(_SCRIPT_CACHE) >= 1024:
            _SCRIPT_CACHE.pop(next(iter(_SCRIPT_CACHE)))
        _SCRIPT_CACHE[code] = program
    return program


# --------------------------------------------------------------------------------------------
# The safe evaluator's JavaScript
# --------------------------------------------------------------------------------------------

class JSFunction:
    """A built-in method bound to its receiver."""

    __slots__ = ("impl",)

    def __init__(self, impl: Callable[..., Any]) -> None:
        self.impl = impl

    def __call__(self, *args: Any) -> Any:
        return self.impl(*args)


_BLOCKED = frozenset(["constructor", "__proto__", "__defineGetter__", "__defineSetter__",
                      "__lookupGetter__", "__lookupSetter__"])
_NOT_A_FUNCTION = "{" + "(intermediate value)" * 21 + "}[ast.operator] is not a function"


def _evaluate(node: Any, subs: dict[str, Any] | None) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "id":
        if subs is None:
            raise _JSThrow("Cannot convert undefined or null to object")
        if node[1] in subs:
            return subs[node[1]]
        raise _JSThrow(f"{node[1]} is not defined")
    if kind == "member":
        prop = to_string(_evaluate(node[2], None)) if node[3] else node[2]
        obj = _evaluate(node[1], subs)
        if obj is None or obj is UNDEFINED:
            raise _JSThrow(f"Cannot read properties of {to_string(obj)} (reading '{prop}')")
        if prop in _BLOCKED and not _own(obj, prop):
            raise _JSThrow(f"Cannot read properties of {to_string(obj)} (reading '{prop}')")
        return _js_get(obj, prop)
    if kind == "binary":
        return _binary(node[1], _evaluate(node[2], subs), node[3], subs)
    if kind == "unary":
        return _unary(node[1], _evaluate(node[2], subs))
    if kind == "call":
        args = [_evaluate(arg, subs) for arg in node[2]]
        func = _evaluate(node[1], subs)
        if not isinstance(func, JSFunction):
            raise _JSThrow("func is not a function")
        return func(*args)
    if kind == "cond":
        return _evaluate(node[2] if truthy(_evaluate(node[1], subs)) else node[3], subs)
    if kind == "array":
        out = []
        for element in node[1]:
            if element is None:
                raise _JSThrow("Cannot read properties of null (reading 'type')")
            out.append(_evaluate(element, subs))
        return out
    if kind == "compound":
        last = UNDEFINED
        body = node[1]
        k = 0
        while k < len(body):
            if (body[k][0] == "id" and body[k][1] in ("var", "let", "const") and k + 1 < len(body)
                    and body[k + 1][0] == "assign"):
                k += 1
            last = _evaluate(body[k], subs)
            k += 1
        return last
    if kind == "assign":
        if node[2][0] != "id":
            raise _JSThrow("Invalid left-hand side in assignment")
        value = _evaluate(node[3], subs)
        if subs is None:
            raise _JSThrow("Cannot set properties of undefined")
        subs[node[2][1]] = value
        return value
    raise _JSThrow("Unexpected expression")


def _binary(op: str, left: Any, right_node: Any, subs: dict[str, Any] | None) -> Any:
    if op == "||":
        return left if truthy(left) else _evaluate(right_node, subs)
    if op == "&&":
        return _evaluate(right_node, subs) if truthy(left) else left
    if op not in _OPERATORS:
        raise _JSThrow(_NOT_A_FUNCTION)
    return _OPERATORS[op](left, _evaluate(right_node, subs))


def _primitive(value: Any) -> Any:
    if isinstance(value, (dict, list, JSRegExp, JSFunction)):
        return to_string(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def loose_equals(a: Any, b: Any) -> bool:
    """JavaScript ``==``."""
    nullish_a = a is None or a is UNDEFINED
    nullish_b = b is None or b is UNDEFINED
    if nullish_a or nullish_b:
        return nullish_a and nullish_b
    objects = (dict, list, JSRegExp, JSFunction)
    if isinstance(a, objects) and isinstance(b, objects):
        return a is b
    if isinstance(a, objects):
        return loose_equals(_primitive(a), b)
    if isinstance(b, objects):
        return loose_equals(a, _primitive(b))
    if isinstance(a, str) and isinstance(b, str):
        return str.__eq__(a, b)
    if isinstance(a, bool) and isinstance(b, bool):
        return a is b
    return bool(to_number(a) == to_number(b))


def _strict(a: Any, b: Any) -> bool:
    if isinstance(a, (JSRegExp, JSFunction)) or isinstance(b, (JSRegExp, JSFunction)):
        return a is b
    if a is UNDEFINED or b is UNDEFINED or a is None or b is None:
        return a is b
    return js_equals_strict(a, b)


def _compare(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Both sides as JS ``<`` sees them; None when a NaN makes every comparison false."""
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    x, y = to_number(a), to_number(b)
    if is_nan(x) or is_nan(y):
        return None
    return x, y


def _less(a: Any, b: Any) -> bool:
    pair = _compare(a, b)
    return pair is not None and pair[0] < pair[1]


def _less_equal(a: Any, b: Any) -> bool:
    pair = _compare(a, b)
    return pair is not None and pair[0] <= pair[1]


def _int32(value: Any) -> int:
    number = to_number(value)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        return 0
    n = int(number) & 0xFFFFFFFF
    return n - (1 << 32) if n & 0x80000000 else n


def _add(a: Any, b: Any) -> Any:
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) or isinstance(b, str):
        return to_string(a) + to_string(b)
    return _number_result(to_number(a) + to_number(b))


def _number_result(value: float | int) -> float | int:
    """Integral floats as ints (as our JS values print), but -0 stays a float so 1/-0 is -Infinity."""
    if isinstance(value, float) and not (value == 0 and math.copysign(1.0, value) < 0):
        return normalise_number(value)
    return value


def _negative(number: float | int) -> bool:
    return math.copysign(1.0, number) < 0 if isinstance(number, float) else number < 0


def _divide(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0:
        if is_nan(x) or x == 0:
            return math.nan
        negative = (x < 0) != (math.copysign(1.0, float(y)) < 0)
        return -math.inf if negative else math.inf
    return _number_result(x / y)


def _modulo(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0 or is_nan(x) or is_nan(y) or (isinstance(x, float) and math.isinf(x)):
        return math.nan
    if isinstance(y, float) and math.isinf(y):
        return x
    if isinstance(x, int) and isinstance(y, int):
        result = abs(x) % abs(y)
        return (-result or -0.0) if x < 0 else result
    return _number_result(math.fmod(x, y))


def _multiply(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    try:
        product = x * y
    except (OverflowError, ValueError):
        return math.nan
    if product == 0 and _negative(x) != _negative(y):
        return -0.0
    return _number_result(product)


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "|": lambda a, b: _int32(a) | _int32(b),
    "^": lambda a, b: _int32(a) ^ _int32(b),
    "&": lambda a, b: _int32(a) & _int32(b),
    "==": loose_equals,
    "!=": lambda a, b: not loose_equals(a, b),
    "===": _strict,
    "!==": lambda a, b: not _strict(a, b),
    "<": _less,
    ">": lambda a, b: _less(b, a),
    "<=": _less_equal,
    ">=": lambda a, b: _less_equal(b, a),
    "<<": lambda a, b: _int32(_int32(a) << (_int32(b) & 31)),
    ">>": lambda a, b: _int32(a) >> (_int32(b) & 31),
    ">>>": lambda a, b: (_int32(a) & 0xFFFFFFFF) >> (_int32(b) & 31),
    "+": _add,
    "-": lambda a, b: _number_result(to_number(a) - to_number(b)),
    "*": _multiply,
    "/": _divide,
    "%": _modulo,
}


def _typeof(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, JSFunction):
        return "function"
    return "object"


def _unary(op: str, value: Any) -> Any:
    if op == "-":
        number = to_number(value)
        return -number if number != 0 or isinstance(number, float) else -0.0
    if op == "+":
        return to_number(value)
    if op == "!":
        return not truthy(value)
    if op == "~":
        return ~_int32(value)
    if op == "typeof":
        return _typeof(value)
    return UNDEFINED  # void


# ---- regular expressions ------------------------------------------------------------------

_VALID_FLAGS = frozenset("dgimsuvy")
_LINE_END = "\n\r\u2028\u2029"


def _translate(source: str, flags: str) -> str:
    """A JavaScript pattern as Python ``re`` reads it the same way (the common constructs)."""
    out: list[str] = []
    in_class = False
    i = 0
    multiline = "m" in flags
    dotall = "s" in flags
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source):
            nxt = source[i + 1]
            i += 2
            if nxt == "d":
                out.append("0-9" if in_class else "[0-9]")
            elif nxt == "D":
                out.append(r"\D" if in_class else "[^0-9]")
            elif nxt == "w":
                out.append("A-Za-z0-9_" if in_class else "[A-Za-z0-9_]")
            elif nxt == "W":
                out.append(r"\W" if in_class else "[^A-Za-z0-9_]")
            elif nxt == "k" and source.startswith("<", i):
                end = source.find(">", i)
                out.append(f"(?P={source[i + 1:end]})" if end > 0 else "k")
                i = end + 1 if end > 0 else i
            elif nxt == "/":
                out.append("/")
            elif nxt.isascii() and nxt.isalpha() and nxt not in "bBsSnrtfvuxc" or nxt == "c":
                out.append(re.escape(nxt))
            elif nxt == "0" and not source[i:i + 1].isdigit():
                out.append(r"\x00")
            else:
                out.append("\\" + nxt)
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch in "[&~|":
                out.append("\\" + ch)
                i += 1
                continue
            out.append(ch)
        elif ch == "[":
            if source.startswith("[^]", i):
                out.append(r"[\s\S]")
                i += 3
                continue
            if source.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            in_class = True
            out.append(ch)
        elif ch == ".":
            out.append(r"[\s\S]" if dotall else f"[^{_LINE_END}]")
        elif ch == "$":
            out.append(f"(?=[{_LINE_END}]|\\Z)" if multiline else r"\Z")
        elif ch == "^" and multiline:
            out.append(f"(?<![^{_LINE_END}])")
        elif ch == "(" and source.startswith("(?<", i) and not source.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_PY_REASONS = (
    ("missing ), unterminated subpattern", "Unterminated group"),
    ("unbalanced parenthesis", "Unmatched ')'"),
    ("nothing to repeat", "Nothing to repeat"),
    ("multiple repeat", "Nothing to repeat"),
    ("unterminated character set", "Unterminated character class"),
    ("bad character range", "Range out of order in character class"),
    ("min repeat greater than max repeat", "numbers out of order in {} quantifier"),
)


class JSRegExp:
    """A regex literal from a filter, run by Python ``re`` behind the project's backtracking guard."""

    __slots__ = ("source", "flags", "pattern", "last_index")

    def __init__(self, source: str, flags: str) -> None:
        if any(f not in _VALID_FLAGS for f in flags) or len(set(flags)) != len(flags) or (
            "u" in flags and "v" in flags
        ):
            raise _JSThrow(f"Invalid flags supplied to RegExp constructor '{flags}'")
        self.source = source
        self.flags = "".join(sorted(flags, key="dgimsuvy".index))
        self.last_index = 0
        translated = _translate(source, flags)
        try:
            re.compile(translated)
        except re.error as error:
            reason = next((js for py, js in _PY_REASONS if str(error).startswith(py)), "Invalid regular expression")
            raise _JSThrow(f"Invalid regular expression: /{source}/{flags}: {reason}") from None
        except (OverflowError, RecursionError):
            raise _JSThrow(f"Invalid regular expression: /{source}/{flags}: Invalid pattern") from None
        # None when the guard refuses a pattern that could backtrack for ever: it then matches nothing
        self.pattern = bounded_pattern(translated, "i" in flags)

    def __str__(self) -> str:
        return f"/{self.source or '(?:)'}/{self.flags}"

    def exec(self, text: Any) -> Any:
        subject = to_string(text)
        sticky = "g" in self.flags or "y" in self.flags
        start = self.last_index if sticky else 0
        if self.pattern is None or start > len(subject):
            self.last_index = 0
            return None
        found = (self.pattern.match(subject, start) if "y" in self.flags
                 else self.pattern.search(subject, start))
        if found is None:
            if sticky:
                self.last_index = 0
            return None
        if sticky:
            self.last_index = found.end()
        return [found.group(0)] + [UNDEFINED if g is None else g for g in found.groups()]

    def test(self, text: Any = UNDEFINED) -> bool:
        return self.exec(text) is not None

    def match_all(self, text: str) -> Any:
        if self.pattern is None:
            return None
        self.last_index = 0
        found = [m.group(0) for m in self.pattern.finditer(text)]
        return found or None


def _as_regexp(value: Any) -> JSRegExp:
    if isinstance(value, JSRegExp):
        return value
    return JSRegExp("(?:)" if value is UNDEFINED else to_string(value), "")


# ---- properties and built-in methods ------------------------------------------------------

def _int_arg(value: Any, default: int) -> int:
    if value is UNDEFINED:
        return default
    number = to_number(value)
    if is_nan(number):
        return 0
    if isinstance(number, float) and math.isinf(number):
        return 10**12 if number > 0 else -(10**12)
    return int(number)


def _rel_index(value: Any, size: int, default: int) -> int:
    index = _int_arg(value, default)
    return max(0, size + index) if index < 0 else min(index, size)


def _str_match(text: str, pattern: Any = UNDEFINED) -> Any:
    regexp = _as_regexp(pattern)
    return regexp.match_all(text) if "g" in regexp.flags else regexp.exec(text)


def _str_index_of(text: str, search: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    return text.find(to_string(search), max(0, min(_int_arg(start, 0), len(text))))


def _str_last_index_of(text: str, search: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    end = len(text) if start is UNDEFINED or is_nan(to_number(start)) else _int_arg(start, len(text))
    needle = to_string(search)
    return text.rfind(needle, 0, max(0, min(end, len(text))) + len(needle))


def _str_includes(text: str, search: Any = UNDEFINED, start: Any = UNDEFINED) -> bool:
    if isinstance(search, JSRegExp):
        raise _JSThrow("First argument to String.prototype.includes must not be a regular expression")
    return to_string(search) in text[max(0, _int_arg(start, 0)):]


def _str_starts_with(text: str, search: Any = UNDEFINED, start: Any = UNDEFINED) -> bool:
    if isinstance(search, JSRegExp):
        raise _JSThrow("First argument to String.prototype.startsWith must not be a regular expression")
    return text.startswith(to_string(search), max(0, min(_int_arg(start, 0), len(text))))


def _str_ends_with(text: str, search: Any = UNDEFINED, end: Any = UNDEFINED) -> bool:
    if isinstance(search, JSRegExp):
        raise _JSThrow("First argument to String.prototype.endsWith must not be a regular expression")
    stop = max(0, min(_int_arg(end, len(text)), len(text)))
    return text[:stop].endswith(to_string(search))


def _str_slice(text: str, start: Any = UNDEFINED, end: Any = UNDEFINED) -> str:
    size = len(text)
    return text[_rel_index(start, size, 0):_rel_index(end, size, size)]


def _str_substring(text: str, start: Any = UNDEFINED, end: Any = UNDEFINED) -> str:
    size = len(text)
    a = max(0, min(_int_arg(start, 0), size))
    b = max(0, min(_int_arg(end, size), size))
    return text[min(a, b):max(a, b)]


def _str_substr(text: str, start: Any = UNDEFINED, length: Any = UNDEFINED) -> str:
    size = len(text)
    a = _rel_index(start, size, 0)
    count = size - a if length is UNDEFINED else max(0, _int_arg(length, 0))
    return text[a:a + count]


def _str_char_at(text: str, index: Any = UNDEFINED) -> str:
    i = _int_arg(index, 0)
    return text[i] if 0 <= i < len(text) else ""


def _str_char_code_at(text: str, index: Any = UNDEFINED) -> Any:
    i = _int_arg(index, 0)
    return ord(text[i]) if 0 <= i < len(text) else math.nan


def _str_at(text: str, index: Any = UNDEFINED) -> Any:
    i = _int_arg(index, 0)
    i = i + len(text) if i < 0 else i
    return text[i] if 0 <= i < len(text) else UNDEFINED


def _str_split(text: str, separator: Any = UNDEFINED, limit: Any = UNDEFINED) -> list[Any]:
    cap = 2**32 - 1 if limit is UNDEFINED else _int_arg(limit, 0) & 0xFFFFFFFF
    if separator is UNDEFINED:
        parts: list[Any] = [text]
    elif isinstance(separator, JSRegExp):
        if separator.pattern is None:
            parts = [text]
        elif not text:
            parts = [] if separator.pattern.fullmatch("") else [""]
        else:
            parts = [UNDEFINED if p is None else p for p in separator.pattern.split(text)]
    else:
        sep = to_string(separator)
        parts = list(text) if sep == "" else text.split(sep)
    return parts[:cap]


def _str_replace(text: str, pattern: Any = UNDEFINED, replacement: Any = UNDEFINED, every: bool = False) -> str:
    def expand(found: str, groups: list[Any], at: int) -> str:
        if isinstance(replacement, JSFunction):
            return to_string(replacement(found, *groups, at, text))
        template = to_string(replacement)

        def sub(m: re.Match[str]) -> str:
            token = m.group(0)
            if token == "$$":
                return "$"
            if token == "$&":
                return found
            if token == "$`":
                return text[:at]
            if token == "$'":
                return text[at + len(found):]
            index = int(token[1:])
            if 1 <= index <= len(groups):
                value = groups[index - 1]
                return "" if value is UNDEFINED else to_string(value)
            return token

        return re.sub(r"\$(?:\$|&|`|'|[0-9]{1,2})", sub, template)

    if isinstance(pattern, JSRegExp):
        if pattern.pattern is None:
            return text
        matches = list(pattern.pattern.finditer(text)) if ("g" in pattern.flags or every) else [
            m for m in [pattern.pattern.search(text)] if m
        ]
        out, last = [], 0
        for m in matches:
            out.append(text[last:m.start()])
            out.append(expand(m.group(0), [UNDEFINED if g is None else g for g in m.groups()], m.start()))
            last = m.end()
        out.append(text[last:])
        return "".join(out)
    needle = to_string(pattern)
    if every:
        spots, at = [], text.find(needle)
        while at >= 0:
            spots.append(at)
            at = text.find(needle, at + max(1, len(needle)))
    else:
        at = text.find(needle)
        spots = [at] if at >= 0 else []
    out, last = [], 0
    for at in spots:
        out.append(text[last:at])
        out.append(expand(needle, [], at))
        last = at + len(needle)
    out.append(text[last:])
    return "".join(out)


def _str_pad(text: str, length: Any, filler: Any, at_start: bool) -> str:
    target = _int_arg(length, 0)
    pad = " " if filler is UNDEFINED else to_string(filler)
    if target <= len(text) or not pad:
        return text
    need = target - len(text)
    padding = (pad * (need // len(pad) + 1))[:need]
    return padding + text if at_start else text + padding


def _str_repeat(text: str, count: Any = UNDEFINED) -> str:
    times = _int_arg(count, 0)
    if times < 0 or (isinstance(to_number(count), float) and math.isinf(to_number(count))):
        raise _JSThrow(f"Invalid count value: {to_string(count)}")
    if len(text) * times > 10_000_000:
        raise _JSThrow("Invalid string length")
    return text * times


def _str_search(text: str, pattern: Any = UNDEFINED) -> int:
    regexp = _as_regexp(pattern)
    if regexp.pattern is None:
        return -1
    found = regexp.pattern.search(text)
    return found.start() if found else -1


_JS_SPACE = ("\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
             "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "match": _str_match,
    "includes": _str_includes,
    "startsWith": _str_starts_with,
    "endsWith": _str_ends_with,
    "indexOf": _str_index_of,
    "lastIndexOf": _str_last_index_of,
    "search": _str_search,
    "toLowerCase": lambda s, *a: s.lower(),
    "toUpperCase": lambda s, *a: s.upper(),
    "toLocaleLowerCase": lambda s, *a: s.lower(),
    "toLocaleUpperCase": lambda s, *a: s.upper(),
    "trim": lambda s, *a: s.strip(_JS_SPACE),
    "trimStart": lambda s, *a: s.lstrip(_JS_SPACE),
    "trimEnd": lambda s, *a: s.rstrip(_JS_SPACE),
    "slice": _str_slice,
    "substring": _str_substring,
    "substr": _str_substr,
    "charAt": _str_char_at,
    "charCodeAt": _str_char_code_at,
    "at": _str_at,
    "split": _str_split,
    "replace": lambda s, p=UNDEFINED, r=UNDEFINED, *a: _str_replace(s, p, r),
    "replaceAll": lambda s, p=UNDEFINED, r=UNDEFINED, *a: _str_replace(s, p, r, True),
    "padStart": lambda s, n=UNDEFINED, f=UNDEFINED, *a: _str_pad(s, n, f, True),
    "padEnd": lambda s, n=UNDEFINED, f=UNDEFINED, *a: _str_pad(s, n, f, False),
    "repeat": _str_repeat,
    "concat": lambda s, *a: s + "".join(to_string(x) for x in a),
    "toString": lambda s, *a: s,
    "valueOf": lambda s, *a: s,
}


def _same_value_zero(a: Any, b: Any) -> bool:
    if is_nan(a) and is_nan(b):
        return True
    return _strict(a, b)


def _array_index_of(items: list[Any], search: Any = UNDEFINED, start: Any = UNDEFINED) -> int:
    for k in range(_rel_index(start, len(items), 0), len(items)):
        if _strict(items[k], search):
            return k
    return -1


def _array_last_index_of(items: list[Any], search: Any = UNDEFINED, *rest: Any) -> int:
    for k in range(len(items) - 1, -1, -1):
        if _strict(items[k], search):
            return k
    return -1


def _array_at(items: list[Any], index: Any = UNDEFINED) -> Any:
    i = _int_arg(index, 0)
    i = i + len(items) if i < 0 else i
    return items[i] if 0 <= i < len(items) else UNDEFINED


def _array_join(items: list[Any], separator: Any = UNDEFINED) -> str:
    sep = "," if separator is UNDEFINED else to_string(separator)
    return sep.join("" if v is None or v is UNDEFINED else to_string(v) for v in items)


def _array_concat(items: list[Any], *more: Any) -> list[Any]:
    out = list(items)
    for extra in more:
        if isinstance(extra, list):
            out += extra
        else:
            out.append(extra)
    return out


_ARRAY_METHODS: dict[str, Callable[..., Any]] = {
    "includes": lambda a, v=UNDEFINED, s=UNDEFINED, *r: any(
        _same_value_zero(x, v) for x in a[_rel_index(s, len(a), 0):]),
    "indexOf": _array_index_of,
    "lastIndexOf": _array_last_index_of,
    "join": _array_join,
    "toString": lambda a, *r: _array_join(a),
    "slice": lambda a, s=UNDEFINED, e=UNDEFINED, *r: a[_rel_index(s, len(a), 0):_rel_index(e, len(a), len(a))],
    "at": _array_at,
    "concat": _array_concat,
}


def _number_to_fixed(number: Any, digits: Any = UNDEFINED) -> str:
    places = _int_arg(digits, 0)
    if not 0 <= places <= 100:
        raise _JSThrow("toFixed() digits argument must be between 0 and 100")
    value = float(number)
    if math.isnan(value) or math.isinf(value) or abs(value) >= 1e21:
        return to_string(number)
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _number_to_string(number: Any, radix: Any = UNDEFINED) -> str:
    base = 10 if radix is UNDEFINED else _int_arg(radix, 10)
    if not 2 <= base <= 36:
        raise _JSThrow("toString() radix must be between 2 and 36")
    if base == 10 or not float(number).is_integer():
        return to_string(number)
    n = int(number)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    value = abs(n)
    while True:
        out = digits[value % base] + out
        value //= base
        if not value:
            break
    return "-" + out if n < 0 else out


_NUMBER_METHODS: dict[str, Callable[..., Any]] = {
    "toFixed": _number_to_fixed,
    "toString": _number_to_string,
    "valueOf": lambda n, *a: n,
    "toLocaleString": lambda n, *a: to_string(n),
}

_BOOLEAN_METHODS: dict[str, Callable[..., Any]] = {
    "toString": lambda b, *a: "true" if b else "false",
    "valueOf": lambda b, *a: b,
}

_REGEXP_METHODS: dict[str, Callable[..., Any]] = {
    "test": lambda r, t=UNDEFINED, *a: r.test(t),
    "exec": lambda r, t=UNDEFINED, *a: r.exec(t),
    "toString": lambda r, *a: str(r),
}


def _has_own_property(obj: Any, key: Any = UNDEFINED) -> bool:
    return _own(obj, _key(key)) or (isinstance(obj, dict) and _key(key) in obj)


_OBJECT_METHODS: dict[str, Callable[..., Any]] = {
    "hasOwnProperty": _has_own_property,
    "propertyIsEnumerable": lambda o, k=UNDEFINED, *a: _has_own_property(o, k) and not (
        isinstance(o, (list, str)) and _key(k) == "length"),
    "isPrototypeOf": lambda o, *a: False,
    "toString": lambda o, *a: "[object Object]",
    "toLocaleString": lambda o, *a: to_string(o),
    "valueOf": lambda o, *a: o,
}


def _bound(obj: Any, impl: Callable[..., Any]) -> JSFunction:
    return JSFunction(lambda *args: impl(obj, *args))


def _js_get(obj: Any, prop: str) -> Any:
    """``obj[prop]`` for the values a filter meets (JSON data, strings, numbers, regexes)."""
    table: dict[str, Callable[..., Any]] | None = None
    if isinstance(obj, dict):
        if prop in obj:
            return obj[prop]
    elif isinstance(obj, (list, str)):
        if prop == "length":
            return len(obj)
        if _INDEX_KEY.fullmatch(prop) and int(prop) < len(obj):
            return obj[int(prop)]
        table = _ARRAY_METHODS if isinstance(obj, list) else _STRING_METHODS
    elif isinstance(obj, bool):
        table = _BOOLEAN_METHODS
    elif isinstance(obj, (int, float)):
        table = _NUMBER_METHODS
    elif isinstance(obj, JSRegExp):
        simple = {
            "source": obj.source or "(?:)", "flags": obj.flags, "lastIndex": obj.last_index,
            "global": "g" in obj.flags, "ignoreCase": "i" in obj.flags, "multiline": "m" in obj.flags,
            "sticky": "y" in obj.flags, "unicode": "u" in obj.flags, "dotAll": "s" in obj.flags,
            "hasIndices": "d" in obj.flags, "unicodeSets": "v" in obj.flags,
        }
        if prop in simple:
            return simple[prop]
        table = _REGEXP_METHODS
    elif isinstance(obj, JSFunction):
        return UNDEFINED
    if table is not None and prop in table:
        return _bound(obj, table[prop])
    if prop in _OBJECT_METHODS:
        return _bound(obj, _OBJECT_METHODS[prop])
    return UNDEFINED


def _parse_float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return math.nan


__all__ = [
    "JSONPathError",
    "JSRegExp",
    "evaluate",
    "is_safe_json_path",
    "loose_equals",
    "path_locations",
    "query",
    "to_path_string",
]
