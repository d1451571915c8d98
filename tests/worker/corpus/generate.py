"""Write the environments and requests of our own conformance cases (no expectations).

The expectations in ``x-*.json`` were recorded from Mockoon CLI 9.9.0, never written by hand:

    python -m tests.worker.corpus.generate /tmp/cases
    python ../shared/conformance/run.py --record --cases /tmp/cases --target-cmd \\
        '.bench/node/node_modules/.bin/mockoon-cli start --data {env} --port {port} --disable-log-to-file'

then copy the recorded files here. They cover behaviours the public corpus does not.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any


def response(body: str = "", status: int = 200, headers: list[dict[str, str]] | None = None,
             rules: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "body": body, "latency": 0, "statusCode": status, "label": "",
            "headers": headers or [], "bodyType": "INLINE", "filePath": "", "databucketID": "", "sendFileAsBody": False,
            "rules": rules or [], "rulesOperator": "OR", "disableTemplating": False, "fallbackTo404": False,
            "default": False, "crudKey": "id", "callbacks": [], **fields}


def route(method: str, endpoint: str, *responses: dict[str, Any], **fields: Any) -> dict[str, Any]:
    answers = list(responses) or [response()]
    if not any(r["default"] for r in answers):
        answers[0]["default"] = True
    return {"uuid": str(uuid.uuid4()), "type": "http", "documentation": "", "method": method, "endpoint": endpoint,
            "responses": answers, "responseMode": None, "streamingMode": None, "streamingInterval": 0, **fields}


def environment(routes: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "lastMigration": 33, "name": "corpus", "endpointPrefix": "", "latency": 0,
            "port": 3000, "hostname": "", "folders": [], "routes": routes,
            "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes], "proxyMode": False,
            "proxyHost": "", "proxyRemovePrefix": False,
            "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "", "caPath": "",
                           "passphrase": ""},
            "cors": True, "headers": [{"key": "Content-Type", "value": "text/plain"}], "proxyReqHeaders": [],
            "proxyResHeaders": [], "data": [], "callbacks": [], **fields}


def request(path: str, method: str = "GET", **fields: Any) -> dict[str, Any]:
    return {"method": method, "path": path, **fields}


def rule(**fields: Any) -> dict[str, Any]:
    return {"target": "body", "modifier": "", "value": "", "invert": False, "operator": "equals", **fields}


def cases() -> list[dict[str, Any]]:
    content_types = ["application/json; version=2", "Application/JSON", "application/vnd.api+json",
                     "application/json;charset=UTF-8", "text/html", "TEXT/PLAIN; Foo=Bar", "application/json ",
                     " text/plain", 'text/plain;charset="utf-8"', "image/png", "application/javascript",
                     "application/x-json", 'text/plain; a="x y"']
    return [
        {"name": "x-routing-edges", "area": "routing",
         "description": "Trailing slashes, case, encoded segments, wildcards, regex-like endpoints, dots and dashes.",
         "environment": environment([
             route("get", "users/:id", response("u{{urlParam 'id'}}")),
             route("get", "files/*", response("w{{urlParam '0'}}")),
             route("get", "Case/Sensitive", response("cs")),
             route("get", "a/:x-:y", response("{{urlParam 'x'}}|{{urlParam 'y'}}")),
             route("get", "d/:file.:ext", response("{{urlParam 'file'}}|{{urlParam 'ext'}}")),
             route("get", "opt/:p?", response("opt[{{urlParam 'p'}}]")),
             route("get", "", response("root")),
             route("post", "users/:id", response("post{{urlParam 'id'}}")),
             route("get", "sp ace", response("space")),
             route("get", "q(s)?", response("regexish"))]),
         "requests": [
             request("/users/42"), request("/users/42/"), request("/users/a%20b"), request("/users/%E2%82%AC"),
             request("/USERS/1"), request("/case/sensitive"), request("/Case/Sensitive"), request("/files/a/b/c"),
             request("/files/"), request("/a/1-2"), request("/d/report.pdf"), request("/opt"), request("/opt/"),
             request("/opt/v"), request("/"), request("//users//7"),
             request("/users/1", "POST", body="x", headers={"Content-Type": "text/plain"}),
             request("/users/1", "PUT", body="x", headers={"Content-Type": "text/plain"}),
             request("/sp%20ace"), request("/q"), request("/qs"), request("/users/1?x=1#frag"),
             request("/users/1;p=1"), request("/%2e%2e/users/1"), request("/users/%zz")]},
        {"name": "x-status-bodies", "area": "responses",
         "description": "Unusual status codes, empty bodies, HEAD, content types, repeated and empty headers.",
         "environment": environment([
             route("get", "s/204", response("ignored", 204)), route("get", "s/304", response("x", 304)),
             route("get", "s/418", response("tea", 418)), route("get", "s/599", response("x", 599)),
             route("get", "s/999", response("x", 999)), route("get", "s/1000", response("x", 1000)),
             route("get", "s/99", response("x", 99)), route("get", "s/201e", response("", 201)),
             route("get", "ct/json", response('{"a":1}', headers=[{"key": "Content-Type", "value": "application/json"}])),
             route("get", "ct/none", response("x", headers=[{"key": "Content-Type", "value": ""}])),
             route("get", "ct/weird", response("x", headers=[{"key": "Content-Type", "value": "weird"}])),
             route("get", "ct/xml", response("<a/>", headers=[{"key": "content-type", "value": "application/xml"}])),
             route("get", "ct/bin", response("x", headers=[{"key": "Content-Type", "value": "application/octet-stream"}])),
             route("get", "h/dup", response("x", headers=[
                 {"key": "X-A", "value": "1"}, {"key": "X-A", "value": "2"},
                 {"key": "Set-Cookie", "value": "a=1"}, {"key": "Set-Cookie", "value": "b=2"}])),
             route("get", "h/empty", response("x", headers=[{"key": "X-Empty", "value": ""}, {"key": "", "value": "v"}])),
             route("get", "h/len", response("abc", headers=[{"key": "Content-Length", "value": "10"}]))], headers=[]),
         "requests": [
             request("/s/204"), request("/s/304"), request("/s/418"), request("/s/599"), request("/s/999"),
             request("/s/1000"), request("/s/99"), request("/s/201e"), request("/ct/json"), request("/ct/none"),
             request("/ct/weird"), request("/ct/xml"), request("/ct/bin"), request("/h/dup", check_headers=["x-a"]),
             request("/h/empty"), request("/s/418", "HEAD"), request("/nope", "HEAD")]},
        {"name": "x-rules-jsonpath-errors", "area": "rules",
         "description": "A JSONPath that throws inside a rule, invalid status codes, unreadable Content-Types, "
                        "paths decodeURIComponent refuses.",
         "environment": environment([
             route("post", "r", response("matched", rules=[rule(modifier="$.[?(@property.match(/a/))]", value="1")]),
                   response("default", default=True)),
             route("get", "s/1000", response("x", 1000)), route("get", "s/99", response("x", 99)),
             route("get", "s/bad", response("{{status 1000}}x", 201)),
             route("get", "ct/weird", response("x", headers=[{"key": "Content-Type", "value": "weird"}])),
             route("get", "ct/weird2", response("x", headers=[{"key": "Content-Type", "value": "text/plain; charset"}])),
             route("get", "ct/weird3", response("", headers=[{"key": "Content-Type", "value": "a/b c"}])),
             route("get", "users/:id", response("u{{urlParam 'id'}}"))]),
         "requests": [
             request("/r", "POST", body={"a": 1, "b": [1]}), request("/r", "POST", body={"a": 1}),
             request("/s/1000"), request("/s/99"), request("/s/bad"), request("/ct/weird"), request("/ct/weird2"),
             request("/ct/weird3"), request("/users/%zz"), request("/nope/%zz"), request("/users/%zz?x=%zz"),
             request("/users/ok?x=%zz"), request("/%zz")]},
        {"name": "x-content-types", "area": "responses",
         "description": "Route Content-Type values as Express and Mockoon format them.",
         "environment": environment([route("get", f"c{i}", response("x", headers=[{"key": "Content-Type", "value": ct}]))
                                     for i, ct in enumerate(content_types)], headers=[]),
         "requests": [request(f"/c{i}") for i in range(len(content_types))]},
        {"name": "x-env-json-header", "area": "responses",
         "description": "An environment-level JSON content type with parameters.",
         "environment": environment([route("get", "a", response("{}")),
                                     route("get", "b", response("x", headers=[{"key": "Content-Type", "value": "text/plain"}]))],
                                    headers=[{"key": "Content-Type", "value": "application/json; v=1"}]),
         "requests": [request("/a"), request("/b")]},
    ]


def main(folder: str) -> None:
    for case in cases():
        Path(folder, f"{case['name']}.json").write_text(json.dumps(case, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
