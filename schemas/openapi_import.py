"""OpenAPI 3.x / Swagger 2.0 → Mockoon environment, as ``mockoon-cli import`` 9.9 builds it.

Pure: a parsed document in, the environment as JSON-ready data plus warnings out. The result is
what Mockoon writes (same fields, order, bodies and templating), uuids aside. Where Mockoon's
importer stops on a malformed document with a JavaScript TypeError (an operation without
``responses``, a null path item…), this one skips the part and says so in a warning.
"""

from __future__ import annotations

import re
import uuid as _uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .environment import HIGHEST_MIGRATION
from .js_json import UNDEFINED, js_order, js_string, js_stringify, js_truthy, parse_int
from .openapi_parse import SpecError, spec_kind
from .openapi_refs import dereference
from .openapi_url import url_pathname

METHODS = ("all", "get", "post", "put", "patch", "delete", "head", "options", "propfind", "proppatch",
           "move", "copy", "mkcol", "lock", "unlock")
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Origin, Accept, Authorization, Content-Length, X-Requested-With"),
)
_JSON_TYPE = re.compile(r"application/.*\+json", re.I)
_PATH_PARAM = re.compile(r"\{([-A-Za-z0-9_]+)\}")
_SERVER_VARIABLE = re.compile(r"\{([A-Za-z0-9_]+)\}")
_NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
_LITERAL = rf"(?:{_NUMBER}|true|false|null)"
# generated helpers that stand for numbers or booleans lose their quotes in the body
_PRIMITIVE_HELPER = re.compile(
    r'"(\{\{(?:faker \'(?:number\.int|number\.float|datatype\.boolean)\'(?: max=99999)?'
    rf"|oneOf {_LITERAL}(?: {_LITERAL})*?)\}}\}})\""
)
_FACTORIES: dict[str, Any] = {
    "integer": "{{faker 'number.int' max=99999}}",
    "number": "{{faker 'number.int' max=99999}}",
    "number_float": "{{faker 'number.float'}}",
    "number_double": "{{faker 'number.float'}}",
    "string": "",
    "string_date": "{{date '2019' (now) 'yyyy-MM-dd'}}",
    "string_date-time": "{{faker 'date.recent' 365}}",
    "string_email": "{{faker 'internet.email'}}",
    "string_uuid": "{{faker 'string.uuid'}}",
    "boolean": "{{faker 'datatype.boolean'}}",
    "array": None,
    "object": None,
}


@dataclass
class ImportResult:
    environment: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def _keys(value: Any) -> list[str]:
    """``Object.keys`` of a JSON value."""
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, (list, str)):
        return [str(i) for i in range(len(value))]
    return []


def _get(value: Any, key: str) -> Any:
    """``value[key]`` of a JSON value, UNDEFINED where JavaScript reads undefined."""
    if isinstance(value, dict):
        return value.get(key, UNDEFINED)
    if isinstance(value, (list, str)) and key.isdigit() and int(key) < len(value):
        return value[int(key)]
    return UNDEFINED


def _assign(*sources: Any) -> dict[str, Any]:
    """``Object.assign({}, ...sources)`` for JSON values."""
    out: dict[str, Any] = {}
    for source in sources:
        if isinstance(source, (dict, list, str)):
            for key in _keys(source):
                out[key] = _get(source, key)
    ordered: dict[str, Any] = js_order({k: None for k in out})
    return {k: out[k] for k in ordered}


def _same_value_key(value: Any) -> tuple[Any, ...]:
    if value is None or isinstance(value, bool):
        return ("p", value)
    if isinstance(value, (int, float)):
        return ("n", "nan" if value != value else float(value))
    if isinstance(value, str):
        return ("s", value)
    return ("o", id(value))


def _unique(values: list[Any]) -> list[Any]:
    """``[...new Set(values)]``."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for value in values:
        key = _same_value_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _spread(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return list(value)
    raise SpecError(f"enum must be an array, got {js_string(value)[:40]!r}")


def _merge_all_of(schemas: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for sub in schemas:
        if not isinstance(sub, dict):
            continue
        if js_truthy(sub.get("properties")):
            merged["properties"] = _assign(merged["properties"], sub["properties"])
        if js_truthy(sub.get("required")) and isinstance(sub["required"], list):
            merged["required"] = _unique([*merged["required"], *sub["required"]])
        if js_truthy(sub.get("example")):
            merged["example"] = _assign(merged.get("example") or {}, sub["example"])
        if "default" in sub and "default" not in merged:
            merged["default"] = sub["default"]
        if js_truthy(sub.get("enum")):
            enum = _spread(sub["enum"])
            merged["enum"] = _unique([*merged["enum"], *enum]) if "enum" in merged else enum
    if not merged["required"]:
        del merged["required"]
    return merged


def generate_from_schema(schema: Any) -> Any:
    """A body for ``schema`` as Mockoon writes it: examples and defaults as they are, templating
    helpers for typed values, ``''`` for what it cannot type; UNDEFINED for a non-object schema."""
    if not isinstance(schema, (dict, list)):
        return UNDEFINED
    if isinstance(schema, list):
        return ""
    kind = schema.get("type", UNDEFINED)
    if isinstance(kind, list) and kind:
        kind = kind[0]
    enum = schema.get("enum", UNDEFINED)
    if js_truthy(enum):
        values = " ".join(f"'{value}'" if isinstance(value, str) else js_string(value) for value in _spread(enum))
        return f"{{{{oneOf {values}}}}}"
    if "example" in schema:
        return schema["example"]
    if "default" in schema:
        return schema["default"]
    for keyword in ("allOf", "oneOf", "anyOf"):
        options = schema.get(keyword)
        if isinstance(options, list) and options:
            return generate_from_schema(_merge_all_of(options) if keyword == "allOf" else options[0])
    if not js_truthy(kind) and isinstance(schema.get("properties"), (dict, list)):
        kind = "object"
    name = js_string(kind)
    factory = f"{name}_{js_string(schema.get('format', UNDEFINED))}"
    if factory not in _FACTORIES:
        factory = name
    if factory not in _FACTORIES:
        return ""
    if factory == "array":
        item = generate_from_schema(schema.get("items", UNDEFINED))
        return item if schema.get("collectionFormat") == "csv" else [item]
    if factory == "object":
        properties = schema.get("properties")
        if not js_truthy(properties):
            return {}
        return {key: generate_from_schema(_get(properties, key)) for key in _keys(properties)}
    return _FACTORIES[factory]


def _body(value: Any) -> str:
    text = js_stringify(value, 2)
    return "" if text is UNDEFINED else _PRIMITIVE_HELPER.sub(r"\1", text)


def _is_json_type(content_type: str) -> bool:
    lowered = content_type.lower()
    return "application/json" in lowered or _JSON_TYPE.search(lowered) is not None


class _Builder:
    def __init__(self, doc: dict[str, Any], version: str, new_uuid: Callable[[], str]) -> None:
        self.doc = doc
        self.version = version
        self.new_uuid = new_uuid
        self.warnings: list[str] = []

    def header(self, key: Any, value: Any = "") -> dict[str, Any]:
        return {"key": key, "value": "" if value is UNDEFINED else value}

    def response(self, body: Any, label: Any, status: int, headers: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "uuid": self.new_uuid(), "body": "" if body is UNDEFINED else _body(body), "latency": 0,
            "statusCode": status, "label": label, "headers": headers, "bodyType": "INLINE", "filePath": "",
            "databucketID": "", "sendFileAsBody": False, "rules": [], "rulesOperator": "OR",
            "disableTemplating": False, "fallbackTo404": False, "default": False, "crudKey": "id", "callbacks": [],
        }

    def response_headers(self, content_types: list[Any], headers: Any) -> list[dict[str, Any]]:
        content_type: Any = "application/json"
        if content_types and "application/json" not in content_types:
            content_type = content_types[0]
        out = [self.header("Content-Type", content_type)]
        if headers is None or headers is UNDEFINED:
            return out
        for name in _keys(headers):
            spec = _get(headers, name)
            value: Any = ""
            if isinstance(spec, dict):
                if spec.get("example") is not None:
                    value = spec["example"]
                elif spec.get("examples") is not None:
                    examples = spec["examples"]
                    first = _keys(examples)[:1]
                    value = _get(_get(examples, first[0]), "value") if first else UNDEFINED
                elif spec.get("schema") is not None:
                    value = generate_from_schema(spec["schema"])
            out.append(self.header(name, value))
        return out

    def content_types(self, operation: dict[str, Any], response: Any) -> list[Any]:
        if self.version == "swagger":
            for owner, key in ((operation, "produces"), (operation, "consumes"), (self.doc, "produces"),
                               (self.doc, "consumes")):
                value = owner.get(key)
                if value is not None:
                    return value if isinstance(value, list) else []
            return []
        content = _get(response, "content")
        return _keys(content) if js_truthy(content) else []

    def route_responses(self, where: str, operation: dict[str, Any]) -> list[dict[str, Any]]:
        responses = operation.get("responses", UNDEFINED)
        if not isinstance(responses, dict):
            self.warnings.append(f"{where}: no responses object (Mockoon's importer stops here); "
                                 "the route answers 200 with an empty body")
            responses = {}
        out: list[dict[str, Any]] = []
        for status_text in responses:
            status = parse_int(status_text)
            if not ((status is not None and 100 <= status <= 999) or status_text == "default"):
                self.warnings.append(f"{where}: response {status_text!r} skipped (Mockoon imports 100-999 and default)")
                continue
            code = 200 if status_text == "default" else int(status or 200)
            response = responses[status_text]
            if not isinstance(response, dict):
                self.warnings.append(f"{where}: response {status_text} is not an object; imported empty")
                response = {}
            types = self.content_types(operation, response)
            json_type = next((t for t in types if isinstance(t, str) and _is_json_type(t)), None)
            schema: Any = UNDEFINED
            examples: Any = UNDEFINED
            if json_type is not None:
                if self.version == "swagger":
                    schema, examples = response.get("schema", UNDEFINED), response.get("examples", UNDEFINED)
                else:
                    media = _get(response.get("content"), json_type)
                    schema, examples = _get(media, "schema"), _get(media, "examples")
            headers = self.response_headers(types, response.get("headers", UNDEFINED))
            label = response.get("description") if js_truthy(response.get("description")) else ""
            body = generate_from_schema(schema) if js_truthy(schema) else UNDEFINED
            out.append(self.response(body, label, code, headers))
            if js_truthy(examples):
                for name in _keys(examples):
                    example = _get(examples, name)
                    if self.version != "swagger":
                        example = _get(example, "value") if isinstance(example, (dict, list, str)) else UNDEFINED
                    out.append(self.response(example, name, code, headers))
        if not out:
            out.append({**self.response(UNDEFINED, "", 200, [self.header("Content-Type", "application/json")])})
        out[0]["default"] = True
        return out

    def routes(self) -> list[dict[str, Any]]:
        paths = self.doc.get("paths")
        if not isinstance(paths, dict):
            self.warnings.append("no paths object: the environment has no routes")
            return []
        routes = []
        for path in paths:
            item = paths[path]
            if not isinstance(item, dict):
                self.warnings.append(f"path {path}: not an object, skipped")
                continue
            for method in item:
                if method not in METHODS:
                    if method not in ("parameters", "summary", "description", "servers", "$ref") \
                            and not method.startswith("x-"):
                        self.warnings.append(f"{method.upper()} {path}: Mockoon serves no {method!r} routes, skipped")
                    continue
                operation = item[method]
                where = f"{method.upper()} {path}"
                if not isinstance(operation, dict):
                    self.warnings.append(f"{where}: the operation is not an object, skipped")
                    continue
                documentation = next((operation[k] for k in ("summary", "description")
                                      if js_truthy(operation.get(k))), "")
                endpoint = _PATH_PARAM.sub(lambda m: ":" + m.group(1).replace("-", ""), path)
                routes.append({
                    "uuid": self.new_uuid(), "type": "http", "documentation": documentation, "method": method,
                    "endpoint": endpoint.removeprefix("/"), "responses": self.route_responses(where, operation),
                    "responseMode": None, "streamingMode": None, "streamingInterval": 0,
                })
        return routes

    def prefix_and_port(self, port: int) -> tuple[str, int]:
        if self.version == "swagger":
            host = self.doc.get("host")
            if js_truthy(host) and isinstance(host, str):
                parts = host.split(":")
                parsed = parse_int(parts[1]) if len(parts) > 1 else None
                port = parsed or port
            base = self.doc.get("basePath")
            return (base.removeprefix("/") if isinstance(base, str) and base else ""), port
        servers = self.doc.get("servers")
        first = servers[0] if isinstance(servers, list) and servers else None
        url = first.get("url") if isinstance(first, dict) else None
        if not js_truthy(url) or not isinstance(url, str):
            return "", port
        variables = first.get("variables") if isinstance(first, dict) else None

        def variable(match: re.Match[str]) -> str:
            if not js_truthy(variables):
                return ""
            return js_string(_get(_get(variables, match.group(1)), "default"))

        url = _SERVER_VARIABLE.sub(variable, url)
        if url.startswith("/"):
            return url[1:], port
        pathname = url_pathname(url)
        return (pathname.removeprefix("/") if pathname is not None else ""), port


def import_openapi(doc: Any, *, port: int | None = None,
                   new_uuid: Callable[[], str] = lambda: str(_uuid.uuid4())) -> ImportResult:
    """The environment ``mockoon-cli import`` makes of ``doc`` (a parsed spec), with warnings.

    ``SpecError`` when ``doc`` is no Swagger 2.0 or OpenAPI 3 document."""
    kind = spec_kind(doc)
    if kind is None:
        raise SpecError("Not a valid Swagger/OpenAPI specification")
    if kind == "openapi" and not (isinstance(doc["openapi"], str) and doc["openapi"].startswith("3.")):
        raise SpecError(f"Not a valid Swagger/OpenAPI specification: openapi version {js_string(doc['openapi'])!r} "
                        "(a string starting with '3.' is expected)")
    try:
        resolved, refs = dereference(js_order(doc))
        builder = _Builder(resolved, kind, new_uuid)
        if refs.unresolved:
            builder.warnings.append(f"{len(refs.unresolved)} $ref(s) not resolved (only #/ references inside "
                                    f"the document are): {', '.join(refs.unresolved[:5])}")
        if refs.circular:
            builder.warnings.append(f"{len(refs.circular)} circular $ref(s) generate empty values, as in Mockoon: "
                                    f"{', '.join(refs.circular[:5])}")
        prefix, env_port = builder.prefix_and_port(3000 if port is None else port)
        info = resolved.get("info")
        if not isinstance(info, dict):
            builder.warnings.append("no info object: the environment gets the default name")
            info = {}
        title = info.get("title")
        name = title if js_truthy(title) else ("Swagger import" if kind == "swagger" else "OpenAPI import")
        routes = builder.routes()
    except RecursionError:
        raise SpecError("the document nests too deeply to import") from None
    environment = {
        "uuid": new_uuid(), "lastMigration": HIGHEST_MIGRATION, "name": name, "endpointPrefix": prefix,
        "latency": 0, "port": env_port, "hostname": "", "folders": [], "routes": routes,
        "rootChildren": [{"type": "route", "uuid": route["uuid"]} for route in routes],
        "proxyMode": False, "proxyHost": "", "proxyRemovePrefix": False,
        "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "",
                       "caPath": "", "passphrase": ""},
        "cors": True, "headers": [{"key": k, "value": v} for k, v in CORS_HEADERS],
        "proxyReqHeaders": [{"key": "", "value": ""}], "proxyResHeaders": [{"key": "", "value": ""}],
        "data": [], "callbacks": [],
    }
    return ImportResult(environment=environment, warnings=builder.warnings)
