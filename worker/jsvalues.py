"""JavaScript value semantics that Mockoon's helpers rely on.

Templates are written against Handlebars.js and helpers written in JavaScript, so
their outputs depend on JS coercion: ``String(2.0)`` is ``"2"``, ``String([1,[2]])`` is
``"1,2"``, ``null`` is distinct from ``undefined``. Values here are plain Python data:
``None`` is ``null``, ``UNDEFINED`` is ``undefined``, ``SafeString`` marks text that must
not be HTML-escaped.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()


class SafeString(str):
    """Text a helper vouches for: emitted as-is, never escaped (Handlebars.SafeString)."""

    __slots__ = ()


def is_nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


def unsafe(value: Any) -> Any:
    """Mockoon's ``fromSafeString``: a SafeString becomes a plain string, others pass."""
    return str.__str__(value) if isinstance(value, SafeString) else value


def format_number(value: float | int) -> str:
    """``Number.prototype.toString()`` for finite and special numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if -2**53 <= value <= 2**53:
            return str(value)
        value = float(value)  # a JavaScript number has 53 bits of precision
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(_js_integer(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        exp = int(exponent)
        if 1e-7 <= abs(value) < 1e21:
            return format(Decimal(text), "f")
        return f"{mantissa}e{'+' if exp > 0 else '-'}{abs(exp)}"
    return text


def _js_integer(value: float) -> int:
    """An integral float as JavaScript prints it: past 2^53 only its shortest digits are
    significant, the rest are zeros (1.2345678901234568e20 is 123456789012345680000)."""
    return int(value) if -2**53 <= value <= 2**53 else int(Decimal(repr(value)))


def to_string(value: Any) -> str:
    """``String(value)``."""
    if isinstance(value, str):
        return str.__str__(value)
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, list):
        return ",".join("" if is_nullish(v) else to_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    if callable(value):
        return "function () { [native code] }"
    return str(value)


def to_output(value: Any) -> str:
    """What a mustache prints before escaping: null and undefined print nothing."""
    if isinstance(value, str):
        return value
    if value is None or value is UNDEFINED:
        return ""
    return to_string(value)


def truthy(value: Any) -> bool:
    """JavaScript truthiness (empty arrays and objects are truthy, NaN is not)."""
    if value is True:
        return True
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, (int, float)):
        return value == value and value != 0
    return True


_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Infinity)$")


def to_number(value: Any) -> float | int:
    """``Number(value)``; NaN as ``float('nan')``."""
    if value.__class__ is int or value.__class__ is float:
        return value  # type: ignore[no-any-return]
    value = unsafe(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if value is None:
        return 0
    if value is UNDEFINED:
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
            return int(text, 16)
        if re.fullmatch(r"0[oO][0-7]+", text):
            return int(text[2:], 8)
        if re.fullmatch(r"0[bB][01]+", text):
            return int(text[2:], 2)
        if _NUMBER_RE.match(text):
            number = float(text.replace("Infinity", "inf"))
            return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() and abs(number) < 2**53 else number
        return math.nan
    if isinstance(value, list):
        if not value:
            return 0
        if len(value) == 1:
            return to_number(to_string(value))
        return math.nan
    return math.nan


_PARSE_FLOAT_RE = re.compile(r"^\s*([+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|Infinity))")
_PARSE_INT_RE = re.compile(r"^\s*([+-]?\d+)")


def parse_float(value: Any) -> float | int:
    """``parseFloat(value)``."""
    match = _PARSE_FLOAT_RE.match(to_string(unsafe(value)))
    if not match:
        return math.nan
    number = float(match.group(1).replace("Infinity", "inf"))
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def parse_int(value: Any, radix: int = 10) -> float | int:
    """``parseInt(value, 10)``."""
    value = unsafe(value)
    if isinstance(value, float) and not math.isnan(value) and not math.isinf(value):
        return int(value)
    match = _PARSE_INT_RE.match(to_string(value))
    return int(match.group(1)) if match else math.nan


def normalise_number(value: float | int) -> float | int:
    """Keep integral results as ints so they print and compare like JS numbers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _json_default(value: Any) -> Any:
    if value is UNDEFINED:
        return None
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _clean_for_json(value: Any) -> Any:
    """``JSON.stringify`` drops undefined in objects and writes null in arrays; NaN is null."""
    if isinstance(value, dict):
        return {str(k): _clean_for_json(v) for k, v in value.items() if v is not UNDEFINED and not callable(v)}
    if isinstance(value, list):
        return [None if (v is UNDEFINED or callable(v)) else _clean_for_json(v) for v in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return _js_integer(value)
    if value.__class__ is int and not -2**53 <= value <= 2**53:
        return _clean_for_json(float(value))  # as JSON.parse would have read it
    return value


class CircularStructureError(TypeError):
    """``JSON.stringify`` met an object inside itself (an XML body with unclosed elements)."""


def _constructor(value: Any) -> str:
    return "Array" if isinstance(value, list) else "Object"


def _step(key: str | int) -> str:
    return f"index {key}" if isinstance(key, int) else f"property '{key}'"


def circular_message(value: Any) -> str | None:
    """V8's message for the first cycle ``JSON.stringify`` walks into, or None if there is none."""
    stack: list[Any] = []
    keys: list[str | int] = []
    on_stack: set[int] = set()

    def visit(node: Any) -> str | None:
        stack.append(node)
        on_stack.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if not isinstance(child, (dict, list)):
                continue
            if id(child) in on_stack:
                start = next(i for i, item in enumerate(stack) if item is child)
                chain = [f"{_step(k)} -> object with constructor '{_constructor(stack[i + 1])}'"
                         for i, k in enumerate(keys[start:], start)]
                if len(chain) > 3:
                    chain = [*chain[:2], "...", chain[-1]]
                lines = [f"    --> starting at object with constructor '{_constructor(child)}'",
                         *(f"    |     {line}" for line in chain), f"    --- {_step(key)} closes the circle"]
                return "Converting circular structure to JSON\n" + "\n".join(lines)
            keys.append(key)
            found = visit(child)
            keys.pop()
            if found:
                return found
        stack.pop()
        on_stack.discard(id(node))
        return None

    if not isinstance(value, (dict, list)):
        return None
    try:
        return visit(value)
    except RecursionError:
        return None


def json_stringify(value: Any, indent: int | None = None) -> str | Any:
    """``JSON.stringify(value[, null, indent])``; returns UNDEFINED for undefined input."""
    if value is UNDEFINED or callable(value):
        return UNDEFINED
    value = unsafe(value) if isinstance(value, SafeString) else value
    try:
        cleaned = _clean_for_json(value)
    except RecursionError:
        raise CircularStructureError(circular_message(value) or "Maximum call stack size exceeded") from None
    if indent:
        return json.dumps(cleaned, ensure_ascii=False, indent=indent, default=_json_default)
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def js_equals_strict(a: Any, b: Any) -> bool:
    """``===`` on plain data (numbers compare across int/float, bools are not numbers)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(unsafe(a)) is not type(unsafe(b)):
        if isinstance(a, str) and isinstance(b, str):
            return str.__eq__(a, b)
        return False
    if isinstance(a, (list, dict)):
        return a is b
    return bool(a == b)


# --- objects as JavaScript orders them ---------------------------------------------------------

_INDEX_KEY = re.compile(r"0|[1-9][0-9]{0,9}")
_MAYBE_INDEX_KEY = re.compile(r'"[0-9]+"\s*:')


def _is_index_key(key: str) -> bool:
    return bool(_INDEX_KEY.fullmatch(key)) and int(key) < 4294967295


def js_key_order(obj: dict[str, Any]) -> dict[str, Any]:
    """A JavaScript object's own keys come in this order: array indices ascending, then the other
    keys as inserted. ``JSON.parse('{"b":1,"0":2}')`` is ``{"0":2,"b":1}``."""
    indices = [key for key in obj if _is_index_key(key)]
    if not indices:
        return obj
    ordered = {key: obj[key] for key in sorted(indices, key=int)}
    ordered.update((key, value) for key, value in obj.items() if not _is_index_key(key))
    return ordered


def js_json_parse(text: str | bytes) -> Any:
    """``JSON.parse``: ``json.loads`` with JavaScript's key order (checked for only when a key
    looks like a number, so ordinary documents parse at C speed)."""
    probe = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if _MAYBE_INDEX_KEY.search(probe):
        return json.loads(text, object_hook=js_key_order)
    return json.loads(text)


def js_object_assign(*sources: Any) -> dict[str, Any]:
    """``Object.assign({}, ...sources)``: arrays give their indices as keys, non-objects nothing."""
    merged: dict[str, Any] = {}
    for source in sources:
        if isinstance(source, dict):
            merged.update(source)
        elif isinstance(source, list):
            merged.update((str(i), item) for i, item in enumerate(source))
        elif isinstance(source, str):
            merged.update((str(i), ch) for i, ch in enumerate(source))
    return js_key_order(merged)

