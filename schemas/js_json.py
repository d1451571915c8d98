"""JavaScript's view of JSON values, for converters whose output must match Mockoon's byte for byte.

Mockoon builds environments and OpenAPI documents as JavaScript objects: keys that are array
indices come first in ascending order, numbers print as ``Number.prototype.toString`` does and
``JSON.stringify`` drops ``undefined`` members. ``worker.jsvalues`` has the worker's richer set;
``schemas`` imports nothing of ours, so the few pieces the converters need live here.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any


class _Undefined:
    """JavaScript's ``undefined``: a member with this value is not written by ``js_stringify``."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Any = _Undefined()

_INDEX_KEY = re.compile(r"0|[1-9][0-9]{0,9}")
_LEADING_INT = re.compile(r"\s*([+-]?[0-9]+)")
MAX_SAFE = 2**53


def is_index_key(key: str) -> bool:
    return bool(_INDEX_KEY.fullmatch(key)) and int(key) < 4294967295


def js_key(key: Any) -> str:
    """The property name JavaScript makes of a parsed YAML key (``200`` → ``"200"``)."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    return js_string(key)


def js_order(value: Any) -> Any:
    """Every object of a parsed document in JavaScript's key order (index keys first, ascending),
    keys as strings; lists and scalars keep their order. Walks with its own stack: any depth."""
    if not isinstance(value, (dict, list)):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    seen: dict[int, Any] = {}
    while stack:
        node, parent, slot = stack.pop()
        if id(node) in seen:  # a YAML alias: keep sharing one object, as the yaml package does
            parent[slot] = seen[id(node)]
            continue
        if isinstance(node, dict):
            keys = [(js_key(k), v) for k, v in node.items()]
            ordered = sorted((kv for kv in keys if is_index_key(kv[0])), key=lambda kv: int(kv[0]))
            ordered += [kv for kv in keys if not is_index_key(kv[0])]
            out: Any = {}
            for key, _child in ordered:
                out[key] = None
            seen[id(node)] = out
            parent[slot] = out
            for key, child in ordered:
                if isinstance(child, (dict, list)):
                    stack.append((child, out, key))
                else:
                    out[key] = child
        elif isinstance(node, list):
            out = [None] * len(node)
            seen[id(node)] = out
            parent[slot] = out
            for index, child in enumerate(node):
                if isinstance(child, (dict, list)):
                    stack.append((child, out, index))
                else:
                    out[index] = child
        else:
            parent[slot] = node
    return root[0]


def format_number(value: float | int) -> str:
    """``Number.prototype.toString()``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if -MAX_SAFE <= value <= MAX_SAFE:
            return str(value)
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value)) if abs(value) <= MAX_SAFE else str(int(Decimal(repr(value))))
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(text), "f")
    exp = int(exponent)
    return f"{mantissa.removesuffix('.0')}e{'+' if exp > 0 else '-'}{abs(exp)}"


def js_string(value: Any) -> str:
    """``String(value)`` for JSON values."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, list):
        return ",".join("" if item is None or item is UNDEFINED else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def js_truthy(value: Any) -> bool:
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def parse_int(text: Any) -> int | None:
    """``parseInt(String(text), 10)``; None for NaN."""
    match = _LEADING_INT.match(js_string(text))
    return int(match.group(1)) if match else None


def _scalar(value: Any) -> str:
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return "null"
        return format_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def js_stringify(value: Any, indent: int = 0) -> str | Any:
    """``JSON.stringify(value, null, indent)``: UNDEFINED in, UNDEFINED out; undefined members are
    left out of objects and written as null in arrays. Iterative, so depth is no limit."""
    if value is UNDEFINED:
        return UNDEFINED
    parts: list[str] = []
    colon = ": " if indent else ":"
    # work items: ("v", value, depth) writes a value; ("s", text) writes text
    work: list[tuple[Any, ...]] = [("v", value, 0)]
    while work:
        item = work.pop()
        if item[0] == "s":
            parts.append(item[1])
            continue
        node, depth = item[1], item[2]
        if isinstance(node, dict):
            members = [(k, v) for k, v in node.items() if v is not UNDEFINED]
            if not members:
                parts.append("{}")
                continue
            inner = "\n" + " " * (indent * (depth + 1)) if indent else ""
            outer = "\n" + " " * (indent * depth) if indent else ""
            pending: list[tuple[Any, ...]] = [("s", "{")]
            for i, (key, child) in enumerate(members):
                pending.append(("s", ("," if i else "") + inner + json.dumps(str(key), ensure_ascii=False) + colon))
                pending.append(("v", child, depth + 1))
            pending.append(("s", outer + "}"))
            work.extend(reversed(pending))
        elif isinstance(node, list):
            if not node:
                parts.append("[]")
                continue
            inner = "\n" + " " * (indent * (depth + 1)) if indent else ""
            outer = "\n" + " " * (indent * depth) if indent else ""
            pending = [("s", "[")]
            for i, child in enumerate(node):
                pending.append(("s", ("," if i else "") + inner))
                pending.append(("v", None if child is UNDEFINED else child, depth + 1))
            pending.append(("s", outer + "]"))
            work.extend(reversed(pending))
        else:
            parts.append(_scalar(node))
    return "".join(parts)


def js_json_parse(text: str) -> Any:
    """``JSON.parse``: strict JSON (no NaN or Infinity), objects in JavaScript's key order."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"Unexpected token {constant[0]}")

    return js_order(json.loads(text, parse_constant=refuse))
