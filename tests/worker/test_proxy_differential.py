"""Proxy mode and callbacks side by side with Mockoon CLI 9.9.0, against the same loopback upstream.

Both servers proxy to one upstream that echoes what it received (headers sorted; ``connection``
left out: Mockoon's http-proxy sends ``close``, we keep the upstream connection alive). Statuses,
headers and bodies must match, as must what the callbacks deliver. Skipped without the reference.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bench.common import NODE_DIR, free_port, start_mockoon, start_worker, stop, write_json
from tests.upstream_server import UpstreamServer

pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / ".bin" / "mockoon-cli").exists(),
                                reason="Mockoon CLI not installed in .bench/node")
IGNORED = {"date", "connection", "keep-alive", "server", "x-powered-by", "etag", "transfer-encoding"}
CALLBACK = "00000000-0000-4000-8000-0000000000c1"


def _env(upstream: str, prefix: str = "api", remove_prefix: bool = True) -> dict[str, Any]:
    routes = [{"uuid": "00000000-0000-4000-8000-0000000000a1", "type": "http", "method": "post", "endpoint": "orders/:id",
               "responses": [{"uuid": "00000000-0000-4000-8000-0000000000b1", "statusCode": 202, "default": True,
                              "body": '{"order": "{{urlParam \'id\'}}"}', "headers": [], "latency": 0,
                              "callbacks": [{"uuid": CALLBACK, "latency": 0}]}]}]
    callbacks = [{"uuid": CALLBACK, "id": "cb", "name": "notify", "documentation": "", "method": "put",
                  "uri": upstream + "/notify/{{urlParam 'id'}}?src=mock",
                  "headers": [{"key": "Content-Type", "value": "application/json"},
                              {"key": "X-Order", "value": "{{body 'ref'}}"}],
                  "body": '{"id": "{{urlParam \'id\'}}", "ref": "{{body \'ref\'}}"}', "bodyType": "INLINE",
                  "databucketID": "", "filePath": "", "sendFileAsBody": True}]
    return {"uuid": "e", "lastMigration": 33, "name": "x", "port": 3000, "endpointPrefix": prefix, "latency": 0,
            "routes": routes, "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "headers": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Env", "value": "e"}],
            "cors": True, "proxyMode": True, "proxyHost": upstream, "proxyRemovePrefix": remove_prefix,
            "proxyReqHeaders": [{"key": "X-Proxy-Req", "value": "{{method}} {{queryParam 'q'}}"}],
            "proxyResHeaders": [{"key": "X-Proxy-Res", "value": "yes"}, {"key": "Set-Cookie", "value": "added=1; Secure"}],
            "data": [], "folders": [], "callbacks": callbacks}


def _request(port: int, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[Any, ...]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        kept = sorted((k.lower(), v) for k, v in response.getheaders() if k.lower() not in IGNORED)
        return response.status, kept, data
    finally:
        conn.close()


CASES: list[tuple[str, str, bytes | None, dict[str, str]]] = [
    ("GET", "/api/users?q=1&q=2", None, {}),
    ("GET", "/api//users//7", None, {"X-Client": "c", "Accept": "application/json"}),
    ("POST", "/api/users", b'{"name": "a"}', {"Content-Type": "application/json"}),
    ("PUT", "/api/users/1?q=x", b"plain text", {"Content-Type": "text/plain"}),
    ("PATCH", "/api/users/1", b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("DELETE", "/api/users/1", None, {"Authorization": "Bearer x", "Cookie": "a=b"}),
    ("HEAD", "/api/users", None, {}),
    ("GET", "/other/path", None, {}),
    ("GET", "/api/status/404", None, {}),
    ("GET", "/api/status/500", None, {}),
    ("GET", "/api/redirect?to=http://127.0.0.1:9/elsewhere", None, {}),
    ("OPTIONS", "/api/users", None, {"Origin": "http://x"}),
    ("POST", "/api/orders/9", b'{"ref": "R-1"}', {"Content-Type": "application/json"}),
]


@pytest.mark.parametrize("remove_prefix", [True, False])
def test_proxied_answers_match_mockoon(remove_prefix: bool, tmp_path: Path) -> None:
    with UpstreamServer(echo_ignores=frozenset({"connection"})) as upstream:
        env_file = write_json(tmp_path / "env.json", _env(upstream.url, remove_prefix=remove_prefix))
        ours_port, theirs_port = free_port(), free_port()
        ours = start_worker(env_file, ours_port)
        theirs = start_mockoon(env_file, theirs_port)
        try:
            for method, path, body, headers in CASES:
                assert _request(ours_port, method, path, body, headers) == \
                    _request(theirs_port, method, path, body, headers), (method, path)
        finally:
            stop(ours)
            stop(theirs)


def test_unreachable_upstream_answers_as_mockoon(tmp_path: Path) -> None:
    env_file = write_json(tmp_path / "env.json", _env("http://127.0.0.1:9/base"))
    ours_port, theirs_port = free_port(), free_port()
    ours = start_worker(env_file, ours_port)
    theirs = start_mockoon(env_file, theirs_port)
    try:
        for method, path in [("GET", "/api/x?y=1"), ("POST", "/api/x"), ("GET", "/nope")]:
            assert _request(ours_port, method, path) == _request(theirs_port, method, path), (method, path)
    finally:
        stop(ours)
        stop(theirs)


def test_callbacks_deliver_what_mockoon_delivers(tmp_path: Path) -> None:
    ignored = frozenset({"connection", "host"})
    delivered: list[list[dict[str, Any]]] = []
    for start in (start_worker, start_mockoon):
        with UpstreamServer(echo_ignores=ignored) as upstream:
            env_file = write_json(tmp_path / f"env-{start.__name__}.json", _env(upstream.url))
            port = free_port()
            server = start(env_file, port)
            try:
                answer = _request(port, "POST", "/api/orders/9", b'{"ref": "R-1"}',
                                  {"Content-Type": "application/json", "X-Mockoon-Callback-Depth": "3"})
                assert answer[0] == 202
                delivered.append(upstream.wait_for(1))
                time.sleep(0.2)  # nothing more arrives
                assert len(upstream.received) == 1
            finally:
                stop(server)
    ours, theirs = delivered
    assert ours == theirs, json.dumps([ours, theirs], indent=1)
    assert ours[0]["method"] == "PUT" and ours[0]["path"] == "/notify/9?src=mock"
    assert json.loads(ours[0]["body"]) == {"id": "9", "ref": "R-1"}
    assert ["x-mockoon-callback-depth", "4"] in ours[0]["headers"] and ["x-order", "R-1"] in ours[0]["headers"]
