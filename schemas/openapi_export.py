"""Mockoon environment → OpenAPI 3.0 document, as ``mockoon-cli export`` 9.9 writes it.

Pure: an ``Environment`` in, the document (JSON-ready, in JavaScript's key order) out. Like
Mockoon: routes in folder order, CRUD routes expanded to their nine operations, WebSocket routes
left out, a response's inline body is its example when it parses as JSON, headers other than
Content-Type become documented response headers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

from .environment import Environment
from .js_json import js_order, js_stringify

_PATH_PARAM = re.compile(r":([a-zA-Z0-9_]+)")
_SLASHES = re.compile(r"/{2,}")
# (method, suffix, default status, documentation) of the operations a CRUD route stands for
CRUD_OPERATIONS = (
    ("get", "", 200, "Get all items"),
    ("get", "/:id", 200, "Get item by ID"),
    ("post", "", 201, "Create a new item"),
    ("put", "", 200, "Update all items"),
    ("put", "/:id", 200, "Update item by ID"),
    ("patch", "", 200, "Partially update all items"),
    ("patch", "/:id", 200, "Partially update item by ID"),
    ("delete", "", 200, "Delete all items"),
    ("delete", "/:id", 200, "Delete item by ID"),
)


def routes_in_folder_order(env: dict[str, Any]) -> list[dict[str, Any]]:
    """Mockoon's ``routesFromFolder``: routes as ``rootChildren`` and folders list them, depth first."""
    routes = {route["uuid"]: route for route in reversed(env["routes"])}  # the first of a uuid wins
    folders = {folder["uuid"]: folder for folder in reversed(env["folders"])}
    out: list[dict[str, Any]] = []
    stack: list[tuple[list[dict[str, Any]], int, frozenset[str]]] = [(env["rootChildren"], 0, frozenset())]
    while stack:
        children, index, inside = stack.pop()
        if index >= len(children):
            continue
        stack.append((children, index + 1, inside))
        child = children[index]
        if child["type"] == "route":
            if child["uuid"] in routes:
                out.append(routes[child["uuid"]])
        elif child["uuid"] in folders and child["uuid"] not in inside:
            stack.append((folders[child["uuid"]]["children"], 0, inside | {child["uuid"]}))
    return out


def _content_type(headers: list[dict[str, Any]]) -> str:
    for header in headers:
        if header["key"].lower() == "content-type":
            return str(header["value"])
    return ""


def _parses_as_json(text: str) -> bool:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return False
    return True


def _operations(route: dict[str, Any]) -> list[dict[str, Any]]:
    if route["type"] == "http":
        return [route]
    if route["type"] != "crud":
        return []
    first = route["responses"][0] if route["responses"] else {"headers": [], "bodyType": "INLINE", "body": "", "label": ""}
    return [{**route, "method": method, "endpoint": _SLASHES.sub("/", route["endpoint"] + suffix),
             "documentation": docs, "responses": [{**first, "statusCode": status}]}
            for method, suffix, status, docs in CRUD_OPERATIONS]


def export_openapi(env: Environment) -> dict[str, Any]:
    """The OpenAPI 3.0.0 document Mockoon exports for ``env``."""
    data: dict[str, Any] = msgspec.to_builtins(env)
    paths: dict[str, Any] = {}
    for route in routes_in_folder_order(data):
        for operation in _operations(route):
            parameters = _PATH_PARAM.findall(operation["endpoint"])
            endpoint = "/" + _PATH_PARAM.sub(r"{\1}", operation["endpoint"])
            responses: dict[str, Any] = {}
            for response in operation["responses"]:
                content_type = _content_type(response["headers"]) or _content_type(data["headers"])
                example: Any = {}
                if response["bodyType"] == "INLINE" and response["body"] and _parses_as_json(response["body"]):
                    example = response["body"]
                headers: dict[str, Any] = {}
                for header in [*data["headers"], *response["headers"]]:
                    if header["key"].lower() != "content-type":
                        headers[header["key"]] = {"schema": {"type": "string"}, "example": header["value"]}
                responses[str(response["statusCode"])] = {
                    "description": response["label"],
                    "content": {content_type or "*/*": {"example": example}},
                    "headers": headers,
                }
            entry: dict[str, Any] = {"description": operation["documentation"], "responses": responses}
            if parameters:
                entry["parameters"] = [{"name": name, "in": "path", "schema": {"type": "string"}, "required": True}
                                       for name in parameters]
            paths.setdefault(endpoint, {})[operation["method"]] = entry
    scheme = "https" if data["tlsOptions"]["enabled"] else "http"
    return js_order({
        "openapi": "3.0.0",
        "info": {"title": data["name"], "version": "1.0.0"},
        "servers": [{"url": f"{scheme}://localhost:{data['port']}/{data['endpointPrefix']}"}],
        "paths": paths,
    })


def dump_openapi(document: dict[str, Any], fmt: str, prettify: bool = False) -> str:
    """JSON (compact unless ``prettify``, like Mockoon) or YAML text of an exported document."""
    if fmt == "json":
        return str(js_stringify(document, 2 if prettify else 0))
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=2**31))
