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


def more_cases() -> list[dict[str, Any]]:
    def r(target: str, operator: str = "equals", modifier: str = "", value: str = "", invert: bool = False) -> dict[str, Any]:
        return rule(target=target, operator=operator, modifier=modifier, value=value, invert=invert)

    json_headers = {"Content-Type": "application/json"}
    rule_routes = [
        route("all", "r/body", response("body-eq", rules=[r("body", modifier="a.b", value="1")]),
              response("body-raw-regex", rules=[r("body", "regex", value="^x+$")]),
              response("body-array-includes", rules=[r("body", "array_includes", modifier="list", value="2")]),
              response("body-empty-array", rules=[r("body", "empty_array", modifier="empty")]),
              response("body-null", rules=[r("body", "null", modifier="missing")]),
              response("default", default=True)),
        route("all", "r/header", response("hdr-regex-i", rules=[r("header", "regex_i", modifier="X-Mode", value="^FAST")]),
              response("hdr-null", rules=[r("header", "null", modifier="X-Absent")]), response("default", default=True)),
        route("all", "r/cookie", response("cookie", rules=[r("cookie", modifier="sid", value="abc")]),
              response("default", default=True)),
        route("all", "r/number", response("first", rules=[r("request_number", value="1")]),
              response("third-or-more", rules=[r("request_number", "regex", value="^[3-9]$")]),
              response("default", default=True)),
        route("all", "r/global", response("set{{setGlobalVar 'mode' 'on'}}", rules=[r("query", modifier="set", value="1")]),
              response("global-on", rules=[r("global_var", modifier="mode", value="on")]),
              response("default", default=True)),
        route("all", "r/bucket", response("bucket", rules=[r("data_bucket", modifier="cfg.enabled", value="true")]),
              response("default", default=True)),
        route("all", "r/tpl", response("tpl", rules=[r("templating", modifier="{{queryParam 'x'}}", value="{{queryParam 'y'}}")]),
              response("default", default=True)),
        route("all", "r/query-obj", response("query-array", rules=[r("query", "array_includes", modifier="tags", value="b")]),
              response("query-whole", rules=[r("query", "regex", value="x")]),
              response("default", default=True)),
        route("all", "r/fallback", response("only-a", rules=[r("query", modifier="a", value="1")]), responseMode="FALLBACK"),
        route("all", "r/fallback", response("second route")),
        route("all", "r/sequential", response("s1"), response("s2"), response("s3"), responseMode="SEQUENTIAL"),
        route("all", "r/disabled-rules", response("ruled", rules=[r("query", modifier="a", value="1")]),
              response("the default", default=True), responseMode="DISABLE_RULES"),
    ]
    rule_requests = [
        request("/r/body", "POST", body={"a": {"b": 1}}), request("/r/body", "POST", body="xxx", headers={"Content-Type": "text/plain"}),
        request("/r/body", "POST", body={"list": [1, 2, 3]}), request("/r/body", "POST", body={"empty": []}),
        request("/r/body", "POST", body={"other": 1}), request("/r/body", "POST", body="a=1&list[]=2", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        request("/r/header", headers={"X-Mode": "fast-lane"}), request("/r/header"),
        request("/r/cookie", headers={"Cookie": "sid=abc; other=1"}), request("/r/cookie", headers={"Cookie": "sid=nope"}),
        request("/r/number"), request("/r/number"), request("/r/number"),
        request("/r/global"), request("/r/global?set=1"), request("/r/global"),
        request("/r/bucket"), request("/r/tpl?x=1&y=1"), request("/r/tpl?x=1&y=2"),
        request("/r/query-obj?tags=a&tags=b"), request("/r/query-obj?tags[]=b"), request("/r/query-obj?q=xyz"),
        request("/r/fallback?a=1"), request("/r/fallback?a=2"),
        request("/r/sequential"), request("/r/sequential"), request("/r/sequential"), request("/r/sequential"),
        request("/r/disabled-rules?a=1"),
    ]
    crud_routes = [
        route("", "users", response("", bodyType="DATABUCKET", databucketID="users"), type="crud"),
        route("", "keyed", response("", bodyType="DATABUCKET", databucketID="keyed", crudKey="uid"), type="crud"),
    ]
    crud_requests = [
        request("/users/1"), request("/users/99"), request("/users", "POST", body={"id": 5, "name": "eve"}),
        request("/users", "POST", body={"name": "no id"}), request("/users/5", "PUT", body={"name": "eve2"}),
        request("/users/1", "PATCH", body={"age": 41}), request("/users/2", "DELETE"), request("/users/2"),
        request("/users?search=eve"), request("/users?sort=name&order=desc"), request("/users?page=1&limit=2"),
        request("/users?name_like=e"), request("/users?age_gte=30"), request("/users/5", "PATCH", body=[1, 2]),
        request("/keyed/k1"), request("/keyed", "POST", body={"v": 1}), request("/keyed/k1", "PUT", body={"v": 2}),
        request("/keyed/k1", "DELETE"), request("/keyed"),
    ]
    bucket_data = [
        {"uuid": "b1", "id": "users", "name": "Users", "value": '[{"id":1,"name":"ann","age":40},{"id":2,"name":"bob","age":25},{"id":3,"name":"cid","age":33}]'},
        {"uuid": "b2", "id": "keyed", "name": "Keyed", "value": '[{"uid":"k1","v":0}]'},
        {"uuid": "b3", "id": "cfg", "name": "Config", "value": '{"enabled": true, "name": "{{faker \'person.firstName\'}}"}'},
        {"uuid": "b4", "id": "broken", "name": "Broken json", "value": '{not json'},
        {"uuid": "b5", "id": "tplerr", "name": "Template error", "value": "{{faker 'nope.nope'}}"},
        {"uuid": "b6", "id": "nested", "name": "Nested", "value": "{\"inner\": {{{data 'users' '0'}}}}"},
    ]
    bucket_routes = [
        route("get", "b/broken", response("{{data 'broken'}}|{{dataRaw 'broken'}}")),
        route("get", "b/tplerr", response("{{data 'tplerr'}}")),
        route("get", "b/nested", response("{{{stringify (dataRaw 'nested')}}}")),
        route("get", "b/by-name", response("{{data 'Config' 'enabled'}}|{{data 'onfi' 'enabled'}}|{{data 'nope'}}")),
        route("get", "b/set", response("{{setData 'push' 'users' '' (object id=9)}}{{len (dataRaw 'users')}}")),
        route("get", "b/serve-broken", response("", bodyType="DATABUCKET", databucketID="broken")),
        route("get", "b/serve-missing", response("x", bodyType="DATABUCKET", databucketID="zzz")),
        route("get", "b/serve-users", response("", bodyType="DATABUCKET", databucketID="users")),
    ]
    bucket_requests = [request("/b/broken"), request("/b/tplerr"), request("/b/nested"), request("/b/by-name"),
                       request("/b/set"), request("/b/set"), request("/b/serve-broken"), request("/b/serve-missing"),
                       request("/b/serve-users")]
    cors_routes = [route("get", "c", response("c", headers=[{"key": "Access-Control-Allow-Origin", "value": "https://x"}])),
                   route("options", "o", response("custom options", 204))]
    cors_requests = [request("/c", "OPTIONS", headers={"Origin": "https://a", "Access-Control-Request-Method": "PUT"}),
                     request("/o", "OPTIONS"), request("/nope", "OPTIONS"), request("/c")]
    body_routes = [route("post", "echo", response("{{body}}|{{bodyRaw}}|{{len (bodyRaw)}}|{{body 'a'}}|{{body 'a.0'}}|{{{stringify (bodyRaw 'a')}}}"))]
    body_requests = [
        request("/echo", "POST", body='{"a":[1,2]}', headers=json_headers),
        request("/echo", "POST", body='{"a":', headers=json_headers),
        request("/echo", "POST", body="a=1&a=2&b[c]=3", headers={"Content-Type": "application/x-www-form-urlencoded"}),
        request("/echo", "POST", body="plain text", headers={"Content-Type": "text/plain"}),
        request("/echo", "POST", body='{"a":"vnd"}', headers={"Content-Type": "application/vnd.api+json"}),
        request("/echo", "POST", body='{"a":"no type"}'),
        request("/echo", "POST", body="", headers=json_headers),
        request("/echo", "POST", body='[1,2]', headers=json_headers),
        request("/echo", "POST", body='"str"', headers=json_headers),
    ]
    return [
        {"name": "x-rules-operators-targets", "area": "rules", "description": "Every rule target and operator, invert, response modes.",
         "environment": environment(rule_routes, data=[bucket_data[2]]), "requests": rule_requests},
        {"name": "x-crud-by-id", "area": "crud", "description": "CRUD operations by id, custom keys, list queries.",
         "environment": environment(crud_routes, data=bucket_data[:2], headers=[]), "requests": crud_requests},
        {"name": "x-buckets", "area": "buckets", "description": "Broken and erroring buckets, lookup by name, setData, serving buckets.",
         "environment": environment(bucket_routes, data=bucket_data), "requests": bucket_requests},
        {"name": "x-cors", "area": "cors", "description": "Preflights with custom headers and OPTIONS routes.",
         "environment": environment(cors_routes), "requests": cors_requests},
        {"name": "x-request-bodies", "area": "bodies", "description": "Request bodies of every kind through body/bodyRaw/len.",
         "environment": environment(body_routes), "requests": body_requests},
    ]


def main(folder: str) -> None:
    for case in cases() + more_cases():
        Path(folder, f"{case['name']}.json").write_text(json.dumps(case, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
