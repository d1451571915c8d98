"""The OpenAPI converters as pure functions: the Mockoon behaviours the differential test may not
meet in its specs, pinned one by one (each checked against mockoon-cli 9.9.0 import/export)."""

from __future__ import annotations

import json
from itertools import count

import pytest

from schemas import decode_environment
from schemas.environment_source import read_environment_source
from schemas.errors import SchemaError
from schemas.js_json import format_number, js_stringify
from schemas.openapi_export import export_openapi
from schemas.openapi_import import generate_from_schema, import_openapi
from schemas.openapi_parse import SpecError, parse_spec_text, validation_findings
from schemas.openapi_url import url_pathname


def ids() -> object:
    numbers = count()
    return lambda: f"u{next(numbers)}"


def spec(paths: dict, **top: object) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths, **top}


def only_route(doc: dict) -> dict:
    routes = import_openapi(doc, new_uuid=ids()).environment["routes"]  # type: ignore[arg-type]
    assert len(routes) == 1
    return routes[0]


def test_yaml_is_read_with_yaml_1_2_core_types_and_javascript_key_order() -> None:
    doc = parse_spec_text("b: yes\nd: 2001-01-01\no: 0o17\nl: 017\nf: 1.0\n404: x\n200: y\n<<: m\nt: True\n")
    assert doc == {"200": "y", "404": "x", "b": "yes", "d": "2001-01-01", "o": 15, "l": 17, "f": 1.0, "<<": "m",
                   "t": True}
    assert list(doc)[:2] == ["200", "404"]
    with pytest.raises(SpecError, match="Invalid JSON or YAML"):
        parse_spec_text("a: [1,\n")


def test_numbers_print_as_javascript_does() -> None:
    assert [format_number(v) for v in (1.0, 1e21, 1e-7, 1e-6, 0.1, 2**60, -0.0)] == \
        ["1", "1e+21", "1e-7", "0.000001", "0.1", "1152921504606847000", "0"]
    assert js_stringify({"a": [1.0, float("inf")], "b": None}, 2) == '{\n  "a": [\n    1,\n    null\n  ],\n  "b": null\n}'


def test_schema_bodies_follow_mockoons_precedence() -> None:
    assert generate_from_schema({"enum": ["a", 1, None], "example": "ignored"}) == "{{oneOf 'a' 1 null}}"
    assert generate_from_schema({"type": "string", "format": "uuid"}) == "{{faker 'string.uuid'}}"
    assert generate_from_schema({"type": ["integer", "null"]}) == "{{faker 'number.int' max=99999}}"
    assert generate_from_schema({"properties": {"n": {"type": "number", "format": "float"}}}) == \
        {"n": "{{faker 'number.float'}}"}
    merged = generate_from_schema({"allOf": [{"properties": {"a": {"type": "boolean"}}},
                                             {"properties": {"b": {"default": 3}}}]})
    assert merged == {"a": "{{faker 'datatype.boolean'}}", "b": 3}
    assert generate_from_schema({"allOf": [{"example": {"x": 1}}, {"example": {"y": 2}}]}) == {"x": 1, "y": 2}
    assert generate_from_schema({"oneOf": [{"type": "integer"}, {"type": "string"}]}) == \
        "{{faker 'number.int' max=99999}}"
    assert generate_from_schema({"type": "array", "items": {"type": "string", "format": "date"}}) == \
        ["{{date '2019' (now) 'yyyy-MM-dd'}}"]


def test_bodies_unquote_number_and_boolean_helpers() -> None:
    route = only_route(spec({"/a": {"get": {"responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"type": "object", "properties": {
            "n": {"type": "integer"}, "s": {"type": "string", "format": "email"}, "e": {"enum": [1, 2]}}}}}}}}}}))
    assert route["responses"][0]["body"] == ('{\n  "n": {{faker \'number.int\' max=99999}},\n'
                                             '  "s": "{{faker \'internet.email\'}}",\n  "e": {{oneOf 1 2}}\n}')


def test_statuses_methods_and_paths_as_mockoon_imports_them() -> None:
    doc = spec({"/users/{user-id}/x": {
        "parameters": [], "trace": {"responses": {}},
        "get": {"summary": "S", "responses": {"default": {"description": "d"}, "4XX": {"description": "r"},
                                               "404": {"description": "nf", "content": {"text/plain": {}}},
                                               "201": {"description": "c", "headers": {"X-A": {"example": 5}}}}}}})
    result = import_openapi(doc, new_uuid=ids())
    (route,) = result.environment["routes"]
    assert (route["method"], route["endpoint"], route["documentation"]) == ("get", "users/:userid/x", "S")
    assert [(r["statusCode"], r["label"], r["default"]) for r in route["responses"]] == \
        [(201, "c", True), (404, "nf", False), (200, "d", False)]  # JavaScript puts numeric keys first
    assert route["responses"][0]["headers"] == [{"key": "Content-Type", "value": "application/json"},
                                                {"key": "X-A", "value": 5}]
    assert route["responses"][1]["headers"] == [{"key": "Content-Type", "value": "text/plain"}]
    assert any("'4XX' skipped" in w for w in result.warnings)
    assert any("TRACE" in w for w in result.warnings)


def test_examples_become_extra_responses() -> None:
    route = only_route(spec({"/e": {"get": {"responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"type": "string"}, "examples": {"one": {"value": {"a": 1}},
                                                                        "two": {"externalValue": "x"}}}}}}}}}))
    assert [(r["label"], r["body"]) for r in route["responses"]] == [("ok", '""'), ("one", '{\n  "a": 1\n}'),
                                                                     ("two", "")]


def test_references_expand_once_and_cycles_become_empty() -> None:
    node = {"type": "object", "properties": {"child": {"$ref": "#/components/schemas/Node"},
                                             "id": {"type": "integer"}}}
    doc = spec({"/n": {"get": {"responses": {"200": {"$ref": "#/components/responses/R"}}}}},
               components={"schemas": {"Node": node},
                           "responses": {"R": {"description": "node", "content": {
                               "application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}})
    result = import_openapi(doc, new_uuid=ids())
    body = json.loads(result.environment["routes"][0]["responses"][0]["body"].replace(
        "{{faker 'number.int' max=99999}}", "0"))
    assert body == {"child": "", "id": 0}  # Node inside Node's own expansion
    assert any("circular" in w for w in result.warnings)


def test_environment_fields_prefix_and_port() -> None:
    swagger = {"swagger": "2.0", "info": {"title": ""}, "host": "api.example.com:8080", "basePath": "/v2/",
               "paths": {}}
    env = import_openapi(swagger, new_uuid=ids()).environment
    assert (env["name"], env["port"], env["endpointPrefix"]) == ("Swagger import", 8080, "v2/")
    assert [h["key"] for h in env["headers"]][0] == "Access-Control-Allow-Origin"
    assert env["proxyReqHeaders"] == [{"key": "", "value": ""}] and env["lastMigration"] == 33
    v3 = spec({}, servers=[{"url": "{scheme}://x.example/{base}/api",
                            "variables": {"scheme": {"default": "https"}, "base": {"default": "b"}}}])
    assert import_openapi(v3).environment["endpointPrefix"] == "b/api"
    assert url_pathname("localhost:8080/v1") == "8080/v1"  # new URL reads "localhost" as the scheme
    with pytest.raises(SpecError):
        import_openapi({"openapi": 3.0, "paths": {}})


def test_export_writes_mockoons_document() -> None:
    env, _ = decode_environment(json.dumps({
        "uuid": "e", "lastMigration": 33, "name": "Shop", "port": 4000, "endpointPrefix": "api",
        "headers": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Env", "value": "1"}],
        "routes": [
            {"uuid": "r1", "type": "http", "method": "get", "endpoint": "items/:id", "documentation": "One",
             "responses": [{"uuid": "s1", "statusCode": 404, "label": "nf", "body": "{{x}}"},
                           {"uuid": "s2", "statusCode": 200, "label": "ok", "body": "{\"a\": 1}"}]},
            {"uuid": "r2", "type": "crud", "method": "", "endpoint": "users", "responses": [{"uuid": "s3"}]},
            {"uuid": "r3", "type": "ws", "method": "get", "endpoint": "ws", "responses": [{"uuid": "s4"}]}],
        "rootChildren": [{"type": "route", "uuid": u} for u in ("r1", "r2", "r3")]}))
    doc = export_openapi(env)
    assert doc["servers"] == [{"url": "http://localhost:4000/api"}]
    get = doc["paths"]["/items/{id}"]["get"]
    assert list(get["responses"]) == ["200", "404"]
    assert get["responses"]["200"]["content"] == {"application/json": {"example": "{\"a\": 1}"}}
    assert get["responses"]["404"]["content"] == {"application/json": {"example": {}}}
    assert get["responses"]["200"]["headers"] == {"X-Env": {"schema": {"type": "string"}, "example": "1"}}
    assert get["parameters"] == [{"name": "id", "in": "path", "schema": {"type": "string"}, "required": True}]
    assert list(doc["paths"]) == ["/items/{id}", "/users", "/users/{id}"]
    assert list(doc["paths"]["/users"]) == ["get", "post", "put", "patch", "delete"]
    assert doc["paths"]["/users"]["post"]["responses"].keys() == {"201"}


def test_serve_and_deploy_sources() -> None:
    plain = read_environment_source(b'{"uuid": "x", "routes": []}')
    assert not plain.from_spec and plain.environment == {"uuid": "x", "routes": []}
    yaml_spec = b"openapi: '3.0.0'\ninfo: {title: Y, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {}\n"
    converted = read_environment_source(yaml_spec, spec_uuid="fixed")
    assert converted.from_spec and converted.environment["uuid"] == "fixed"
    assert converted.environment["routes"][0]["endpoint"] == "a"
    with pytest.raises(SchemaError, match="neither"):
        read_environment_source(b"just: yaml\n")
    assert validation_findings({"openapi": "3.0.0", "info": {"title": "x", "version": "1"},
                                "paths": {"/a": {"get": {}}}}) == \
        ["'responses' is a required property (at /paths//a/get)"]
