"""CRUD routes over a data bucket, with Mockoon's list query (search, sort, order, page, limit)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from .jsvalues import (
    UNDEFINED,
    is_nan,
    is_nullish,
    js_object_assign,
    parse_float,
    parse_int,
    to_number,
    to_string,
)
from .routing import PathMatcher, compile_route_path
from .state import Bucket
from .templating.helpers.paths import object_path_get, object_path_set, split_object_path
from .templating.regex_guard import safe_regex

# (operation, method, has id) in Mockoon's order
CRUD_OPERATIONS = (
    ("get", "get", False), ("getbyId", "get", True), ("create", "post", False),
    ("update", "put", False), ("updateById", "put", True), ("updateMerge", "patch", False),
    ("updateMergeById", "patch", True), ("delete", "delete", False), ("deleteById", "delete", True),
)  # fmt: skip


def crud_matchers(prefix: str, endpoint: str) -> list[tuple[str, str, PathMatcher]]:
    out = []
    for op, method, with_id in CRUD_OPERATIONS:
        out.append((op, method, compile_route_path(prefix, f"{endpoint}/:id" if with_id else endpoint)))
    return out


def _find_index(items: list[Any], item_id: str, key: str) -> int:
    for index, value in enumerate(items):
        if isinstance(value, dict):
            found = object_path_get(value, key)
            if is_nullish(found) or found is UNDEFINED:
                continue
            if to_string(found) == item_id:
                return index
        else:
            wanted = parse_int(item_id)
            if (0 if not isinstance(wanted, int) else wanted) == index:
                return index
    return -1


def _search(value: Any, query: str) -> bool:
    if isinstance(value, dict):
        return any(_search(v, query) for v in value.values())
    if isinstance(value, list):
        return any(_search(v, query) for v in value)
    return query.lower() in to_string(value).lower()


def _sort_key(value: Any, field: str) -> Any:
    prop = value.get(field, UNDEFINED) if isinstance(value, dict) else value
    return prop.lower() if isinstance(prop, str) else prop


def _is_num(value: Any) -> bool:
    """``!isNaN(parseFloat(value))``."""
    return not is_nan(parse_float(to_string(value)))


def _js_relation(a: Any, b: Any) -> tuple[Any, Any] | None:
    """The operands JavaScript's ``<``/``>`` compare (two strings, or two numbers), None for NaN."""
    if isinstance(a, (dict, list)):
        a = to_string(a)
    if isinstance(b, (dict, list)):
        b = to_string(b)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    x, y = to_number(a), to_number(b)
    return None if is_nan(x) or is_nan(y) else (x, y)


def _filter_ok(item: Any, field: str, op: str, wanted: Any) -> bool:
    """Mockoon's CRUD list filters: ``String()``/``Number()`` equality, JavaScript comparisons,
    and ``like``/``start``/``end`` as case-insensitive regular expressions on ``String(value)``."""
    value = object_path_get(item, field)
    if op in ("eq", "ne"):
        equal = to_string(value) == wanted or (_is_num(value) and _is_num(wanted)
                                               and to_number(value) == to_number(wanted))
        return equal if op == "eq" else not equal
    if op in ("like", "start", "end"):
        query = to_string(wanted)
        pattern = safe_regex(f"^{query}" if op == "start" else f"{query}$" if op == "end" else query, ignore_case=True)
        return pattern is not None and pattern.search(to_string(value))
    pair = _js_relation(value, wanted)
    if pair is None:
        return False
    x, y = pair
    return {"gt": x > y, "gte": x >= y, "lt": x < y, "lte": x <= y}.get(op, False)


_FILTER_KEY = re.compile(r"^(.+)_(eq|ne|gt|gte|lt|lte|like|start|end)$")


class CrudResult:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int | None, body: Any, headers: list[tuple[str, str]]):
        self.status = status
        self.body = body
        self.headers = headers


def run_crud(op: str, bucket: Bucket, params: dict[str, Any], query: dict[str, Any], body: Any, body_text: str, key: str) -> CrudResult:
    request_body = body if body is not UNDEFINED else (body_text or {})
    headers: list[tuple[str, str]] = []
    status: int | None = None
    result: Any = {}
    item_id = to_string(params.get("id", ""))
    items = bucket.value
    key_path = split_object_path(key)
    if op == "get":
        result = items
        if isinstance(items, list):
            headers.append(("X-Total-Count", str(len(items))))
            search = query.get("search")
            if isinstance(search, str) and search:
                result = [r for r in result if _search(r, search)]
            for name, value in query.items():
                match = _FILTER_KEY.match(name)
                if match:
                    result = [r for r in result if _filter_ok(r, match.group(1), match.group(2), value)]
            headers.append(("X-Filtered-Count", str(len(result))))
            sort = query.get("sort")
            if isinstance(sort, str):
                order = query.get("order") if query.get("order") in ("asc", "desc") else "asc"
                present = [r for r in result if _sort_key(r, sort) is not UNDEFINED]
                missing = [r for r in result if _sort_key(r, sort) is UNDEFINED]
                try:
                    present.sort(key=lambda r: _sort_key(r, sort), reverse=order == "desc")
                except TypeError:
                    present.sort(key=lambda r: to_string(_sort_key(r, sort)), reverse=order == "desc")
                result = present + missing
            if "limit" in query or "page" in query:
                limit = parse_int(query.get("limit")) if isinstance(query.get("limit"), str) else 10
                page = parse_int(query.get("page")) if isinstance(query.get("page"), str) else 1
                limit = limit if isinstance(limit, int) and limit else 10
                page = page if isinstance(page, int) and page else 1
                start = max(0, (page - 1) * limit)
                result = result[start:start + limit] if page * limit > 0 else []
    elif op == "getbyId":
        if isinstance(items, list):
            index = _find_index(items, item_id, key)
            if index >= 0:
                result = items[index]
            else:
                status = 404
        else:
            result = items
    elif op == "create":
        if isinstance(items, list):
            if isinstance(request_body, dict) and object_path_get(request_body, key_path) is UNDEFINED:
                numbers = [v for v in (object_path_get(i, key_path) if isinstance(i, dict) else UNDEFINED for i in items)
                           if isinstance(v, (int, float)) and not isinstance(v, bool)]
                object_path_set(request_body, key_path, max(numbers) + 1 if numbers else str(uuid.uuid4()))
            items.append(request_body)
        else:
            bucket.value = request_body
        status, result = 201, request_body
    elif op == "update":
        bucket.value = result = request_body
        status = 200
    elif op in ("updateById", "updateMergeById"):
        if isinstance(items, list):
            index = _find_index(items, item_id, key)
            if index < 0:
                status = 404
            else:
                current = items[index]
                incoming = request_body if isinstance(request_body, dict) else {}
                if op == "updateMergeById":
                    items[index] = {**current, **incoming} if isinstance(current, dict) else request_body
                elif isinstance(current, dict):
                    replacement = dict(incoming)
                    if object_path_get(replacement, key_path) is UNDEFINED:
                        object_path_set(replacement, key_path, object_path_get(current, key_path))
                    items[index] = replacement
                else:
                    items[index] = request_body
                status, result = 200, items[index]
        else:
            bucket.value = result = _merge(items, request_body) if op == "updateMergeById" else request_body
            status = 200
    elif op == "updateMerge":
        if isinstance(items, list) and isinstance(request_body, list):
            bucket.value = result = items + request_body
        else:
            bucket.value = result = _merge(items, request_body)
        status = 200
    elif op == "delete":
        bucket.value = UNDEFINED
        status = 200
    elif op == "deleteById":
        if isinstance(items, list):
            index = _find_index(items, item_id, key)
            if index >= 0:
                del items[index]
                status = 200
            else:
                status = 404
        else:
            bucket.value = UNDEFINED
            status = 200
    return CrudResult(status, result, headers)


def _merge(current: Any, incoming: Any) -> Any:
    """``Object.assign({}, current, incoming)`` over an object bucket; anything else is replaced."""
    if isinstance(current, (dict, list)):
        return js_object_assign(current, incoming if isinstance(incoming, (dict, list)) else {})
    return incoming
