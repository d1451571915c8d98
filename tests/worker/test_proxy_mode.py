"""Proxy mode and callbacks in a real worker (``mockfleet serve``) against a loopback upstream."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import make_env
from tests.upstream_server import UpstreamServer
from worker.proxy_mode import downstream_headers, proxied_path, upstream_headers, upstream_url

ROUTE = "00000000-0000-4000-8000-0000000000a1"
RESPONSE = "00000000-0000-4000-8000-0000000000b1"
CALLBACK = "00000000-0000-4000-8000-0000000000c1"
FAILING = "00000000-0000-4000-8000-0000000000c2"
TOKEN = "admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


# --- the pure parts ------------------------------------------------------------------------------

def test_paths_join_as_http_proxy_does() -> None:
    assert upstream_url("http://h:1", "/users?x=1") == "http://h:1/users?x=1"
    assert upstream_url("http://h:1/", "/users") == "http://h:1/users"
    assert upstream_url("https://h/api/", "//users//1?a=b?c") == "https://h/api/users/1?a=b?c"
    assert upstream_url("http://h/base", "/") == "http://h/base/"
    assert proxied_path("/api/users?x", "api", True) == "/users?x"
    assert proxied_path("/api/users", "api", False) == "/api/users"
    assert proxied_path("/other", "api", True) == "/other"


def test_hop_by_hop_headers_are_dropped_and_extras_replace() -> None:
    out = upstream_headers([("host", "mock"), ("connection", "keep-alive, x-drop"), ("x-drop", "1"),
                            ("transfer-encoding", "chunked"), ("expect", "100-continue"), ("x-keep", "a"),
                            ("content-length", "3"), ("te", "trailers")], [("X-Keep", "b"), ("Host", "evil")])
    assert out == [("X-Keep", "b")]
    merged = downstream_headers([("Content-Type", "application/json; charset=utf-8"), ("X-Env", "e")],
                                [("Content-Type", "text/plain"), ("Connection", "close"), ("Date", "x"),
                                 ("Set-Cookie", "a=1; Domain=up.test; Secure; Path=/")],
                                [("X-Res", "r"), ("set-cookie", "b=2; secure")])
    assert merged == [("X-Env", "e"), ("content-type", "text/plain"), ("x-res", "r"),
                      ("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2")]
    # Mockoon keeps the header's spelling as a second key of the upstream's headers object, and
    # Node's setHeader of that key replaces every cookie the upstream set
    replaced = downstream_headers([], [("Set-Cookie", "a=1")], [("Set-Cookie", "b=2")])
    assert replaced == [("set-cookie", "b=2")]


# --- a real worker ----------------------------------------------------------------------------------

def _env(upstream: str, **fields: Any) -> dict[str, Any]:
    callbacks = [
        {"uuid": CALLBACK, "id": "hook", "name": "hook", "method": "post",
         "uri": upstream + "/hook/{{urlParam 'id'}}", "headers": [{"key": "X-Cb", "value": "{{header 'X-Trace'}}"}],
         "body": '{"id": "{{urlParam \'id\'}}", "q": "{{queryParam \'q\'}}"}'},
        {"uuid": FAILING, "id": "down", "name": "down", "method": "get", "uri": "http://127.0.0.1:9/never"},
    ]
    route = {"uuid": ROUTE, "type": "http", "method": "get", "endpoint": "local/:id",
             "responses": [{"uuid": RESPONSE, "body": "local {{urlParam 'id'}}", "statusCode": 200, "default": True,
                            "latency": 0, "callbacks": [{"uuid": CALLBACK, "latency": 300},
                                                        {"uuid": FAILING, "latency": 0}]}]}
    env = make_env([route], endpointPrefix="api", proxyMode=True, proxyHost=upstream + "/base",
                   proxyRemovePrefix=True, proxyReqHeaders=[{"key": "X-Proxy-Req", "value": "{{method}}"}],
                   proxyResHeaders=[{"key": "X-Proxy-Res", "value": "yes"}], callbacks=callbacks,
                   headers=[{"key": "Content-Type", "value": "application/json"}, {"key": "X-Env", "value": "e"}])
    env.update(fields)
    return env


@pytest.fixture
def upstream() -> Any:
    with UpstreamServer() as server:
        yield server


def test_unmatched_requests_are_proxied_with_method_query_body_and_headers(worker_factory: Any,
                                                                            upstream: UpstreamServer) -> None:
    worker = worker_factory(_env(upstream.url), "--admin-api-token", TOKEN)
    status, headers, body = worker.request("PATCH", "/api/users/7?x=1&y=%20", body=b'{"a":1}',
                                           headers={"Content-Type": "application/json", "X-Client": "c",
                                                    "Connection": "keep-alive"})
    assert status == 201
    seen = json.loads(body)
    assert seen["method"] == "PATCH" and seen["path"] == "/base/users/7?x=1&y=%20" and seen["body"] == '{"a":1}'
    sent = dict((k, v) for k, v in seen["headers"])
    assert sent["host"] == f"127.0.0.1:{upstream.port}" and sent["x-client"] == "c"
    assert sent["x-proxy-req"] == "PATCH" and sent["content-length"] == "7" and "connection" not in sent
    assert headers["x-upstream"] == "yes" and headers["x-proxy-res"] == "yes" and headers["x-env"] == "e"
    assert headers["content-type"] == "application/json"  # the upstream's wins over the environment's
    assert headers["set-cookie"] == "session=abc; Path=/; HttpOnly"  # Domain and Secure dropped (plain HTTP)
    # routes still answer; the admin logs mark the proxied transaction
    assert worker.request("GET", "/api/local/5")[2] == b"local 5"
    logs = json.loads(worker.request("GET", "/mockoon-admin/logs", headers=ADMIN)[2])
    proxied = [t for t in logs if t["proxied"]]
    assert len(proxied) == 1 and proxied[0]["request"]["urlPath"] == "/api/users/7"
    assert proxied[0]["response"]["statusCode"] == 201 and '"method": "PATCH"' in proxied[0]["response"]["body"]


def test_large_answers_stream_through(worker_factory: Any, upstream: UpstreamServer) -> None:
    worker = worker_factory(_env(upstream.url, proxyHost=upstream.url, proxyRemovePrefix=True))
    status, headers, body = worker.request("GET", "/api/big?bytes=5000000")
    assert status == 200 and len(body) == 5_000_000 and headers.get("transfer-encoding") == "chunked"
    assert worker.request("HEAD", "/api/x")[0] == 201


def test_unreachable_upstream_answers_mockoons_504(worker_factory: Any) -> None:
    worker = worker_factory(_env("http://127.0.0.1:9"))
    status, headers, body = worker.request("GET", "/api/nothing?q=1")
    assert status == 504 and headers["content-type"] == "text/plain; charset=utf-8" and headers["x-env"] == "e"
    assert body == (b"An error occurred while trying to proxy to http://127.0.0.1:9/base /nothing?q=1: "
                    b"Error: connect ECONNREFUSED 127.0.0.1:9")


def test_cloud_policy_refuses_and_says_so(worker_factory: Any, upstream: UpstreamServer) -> None:
    worker = worker_factory(_env(upstream.url), "--outbound-policy", "cloud", "--admin-api-token", TOKEN)
    status, _, body = worker.request("GET", "/api/users")
    assert status == 504 and upstream.received == []
    assert body.decode() == (f"An error occurred while trying to proxy to {upstream.url}/base /users: Error: refused "
                             f"by the outbound policy: 127.0.0.1:{upstream.port} is not a public address: loopback")
    logs = json.loads(worker.request("GET", "/mockoon-admin/logs", headers=ADMIN)[2])
    assert "refused by the outbound policy" in logs[-1]["response"]["body"]
    counts = json.loads(worker.request("GET", "/mockoon-admin/outbound", headers=ADMIN)[2])
    assert counts["refused"] == 1 and counts["requests"] == 1


def test_cloud_policy_with_the_upstream_opened(worker_factory: Any, upstream: UpstreamServer) -> None:
    worker = worker_factory(_env(upstream.url), "--outbound-policy", "cloud",
                            "--outbound-allow", f"127.0.0.1:{upstream.port}")
    assert worker.request("GET", "/api/users")[0] == 201


def test_slow_upstream_is_cut_at_the_timeout(worker_factory: Any, upstream: UpstreamServer) -> None:
    worker = worker_factory(_env(upstream.url, proxyHost=upstream.url), "--outbound-timeout", "1")
    started = time.monotonic()
    status, _, body = worker.request("GET", "/api/slow?seconds=8")
    assert status == 504 and b"outbound total timeout" in body and time.monotonic() - started < 6
    assert worker.request("GET", "/api/local/1")[0] == 200


def test_callbacks_fire_after_the_answer_and_are_logged(worker_factory: Any, upstream: UpstreamServer) -> None:
    worker = worker_factory(_env(upstream.url), "--admin-api-token", TOKEN)
    started = time.monotonic()
    status, _, body = worker.request("GET", "/api/local/42?q=search", headers={"X-Trace": "t-1"})
    assert status == 200 and body == b"local 42"
    assert time.monotonic() - started < 0.3 + 1  # the answer does not wait for the callbacks
    hook = upstream.wait_for(1)[0]
    assert time.monotonic() - started >= 0.3  # each callback waits its latency
    assert hook["method"] == "POST" and hook["path"] == "/hook/42"
    assert json.loads(hook["body"]) == {"id": "42", "q": "search"}
    sent = dict((k, v) for k, v in hook["headers"])
    assert sent["x-cb"] == "t-1" and sent["x-mockoon-callback-depth"] == "1"
    assert sent["content-type"] == "text/plain;charset=UTF-8" and sent["user-agent"] == "node"
    deadline = time.monotonic() + 10
    records: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(records) < 2:
        records = json.loads(worker.request("GET", "/mockoon-admin/callbacks", headers=ADMIN)[2])
        time.sleep(0.05)
    by_name = {r["name"]: r for r in records}
    assert by_name["hook"]["status"] == 201 and by_name["hook"]["url"] == f"{upstream.url}/hook/42"
    assert "ECONNREFUSED 127.0.0.1:9" in by_name["down"]["error"] and by_name["down"]["refused"] is False


def test_callbacks_from_a_data_bucket_and_redirects_rechecked(worker_factory: Any, upstream: UpstreamServer) -> None:
    env = _env(upstream.url)
    env["data"] = [{"uuid": "00000000-0000-4000-8000-0000000000d1", "id": "bkt", "name": "bucket",
                    "value": '{"from": "bucket"}'}]
    env["callbacks"][0].update({"bodyType": "DATABUCKET", "databucketID": "bkt"})
    env["callbacks"][1]["uri"] = f"{upstream.url}/redirect?to=http://127.0.0.1:9/x"
    worker = worker_factory(env, "--outbound-policy", "cloud", "--outbound-allow", f"127.0.0.1:{upstream.port}",
                            "--admin-api-token", TOKEN)
    assert worker.request("GET", "/api/local/1")[0] == 200
    hook = next(r for r in upstream.wait_for(2) if r["path"].startswith("/hook"))
    assert json.loads(hook["body"]) == {"from": "bucket"}
    deadline = time.monotonic() + 10
    records: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(records) < 2:
        records = json.loads(worker.request("GET", "/mockoon-admin/callbacks", headers=ADMIN)[2])
        time.sleep(0.05)
    down = next(r for r in records if r["name"] == "down")
    assert down["refused"] is True and "127.0.0.1:9 is not a public address: loopback" in down["error"]


def test_live_update_applies_proxy_and_callback_changes(worker_factory: Any, upstream: UpstreamServer) -> None:
    worker = worker_factory(_env("http://127.0.0.1:9"), "--admin-api-token", TOKEN)
    assert worker.request("GET", "/api/users")[0] == 504
    status, _, _ = worker.request("PUT", "/mockoon-admin/environment", body=json.dumps(_env(upstream.url)),
                                  headers={**ADMIN, "Content-Type": "application/json"})
    assert status == 200
    assert worker.request("GET", "/api/users")[0] == 201
    assert worker.request("GET", "/api/local/3")[0] == 200
    assert any(r["path"] == "/hook/3" for r in upstream.wait_for(2))
    off = _env(upstream.url, proxyMode=False)
    worker.request("PUT", "/mockoon-admin/environment", body=json.dumps(off),
                   headers={**ADMIN, "Content-Type": "application/json"})
    assert worker.request("GET", "/api/users")[0] == 404
