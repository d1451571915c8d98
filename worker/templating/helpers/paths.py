"""Path lookups into request bodies, data buckets and variables: object-path, JSONPath, JMESPath.

Mirrors Mockoon's ``getValueFromPath``: a path starting with ``$`` is JSONPath, anything
else is an object-path (dots, with ``\\.`` escaping a literal dot).
"""

from __future__ import annotations

import re
from typing import Any

import jmespath

from ... import jsonpath
from ...jsvalues import UNDEFINED


def split_object_path(path: str) -> list[str]:
    if "\\." in path:
        return [part.replace("%#%", ".") for part in path.replace("\\.", "%#%").split(".")]
    return path.split(".")


def object_path_get(data: Any, path: str | list[str]) -> Any:
    parts = split_object_path(path) if isinstance(path, str) else path
    value = data
    for part in parts:
        if isinstance(value, dict):
            if part not in value:
                return UNDEFINED
            value = value[part]
        elif isinstance(value, (list, str)):
            # object-path reads own properties: indices, and an array's or a string's length
            if part == "length":
                value = len(value)
            elif not re.fullmatch(r"\d+", part) or int(part) >= len(value):
                return UNDEFINED
            else:
                value = value[int(part)]
        else:
            return UNDEFINED
    return value


def object_path_set(data: Any, path: str | list[str], new_value: Any) -> None:
    parts = split_object_path(path) if isinstance(path, str) else path
    target = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        key: Any = int(part) if isinstance(target, list) and part.isdigit() else part
        if last:
            if isinstance(target, list) and isinstance(key, int):
                while len(target) <= key:
                    target.append(UNDEFINED)
                target[key] = new_value
            elif isinstance(target, dict):
                target[key] = new_value
            return
        if isinstance(target, dict):
            if not isinstance(target.get(key), (dict, list)):
                target[key] = [] if parts[i + 1].isdigit() else {}
            target = target[key]
        elif isinstance(target, list) and isinstance(key, int):
            while len(target) <= key:
                target.append(UNDEFINED)
            if not isinstance(target[key], (dict, list)):
                target[key] = [] if parts[i + 1].isdigit() else {}
            target = target[key]
        else:
            return


def object_path_del(data: Any, path: str | list[str]) -> None:
    parts = split_object_path(path) if isinstance(path, str) else path
    parent = object_path_get(data, parts[:-1]) if len(parts) > 1 else data
    last = parts[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]


def json_path(data: Any, path: str) -> Any:
    """JSONPath as Mockoon runs it (isSafeJSONPath, then jsonpath-plus with ``wrap: false``).

    Raises ``JSONPathError`` where jsonpath-plus throws; no match is undefined.
    """
    return jsonpath.query(data, path)


def jmes_path(data: Any, path: str) -> Any:
    try:
        return jmespath.search(path, data)
    except Exception:  # noqa: BLE001 - invalid expressions find nothing, as in Mockoon
        return None


def get_value_from_path(data: Any, path: Any, default: Any) -> Any:
    if isinstance(data, (dict, list)) and isinstance(path, str) and path != "":
        found = json_path(data, path) if path.startswith("$") else object_path_get(data, path)
        return default if found is UNDEFINED else found
    return data
