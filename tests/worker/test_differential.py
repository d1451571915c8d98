"""Differential check against Mockoon CLI 9.9.0 itself: HEAD and OPTIONS, with CORS on and off.

Runs where `just bench worker` (or `npm install --prefix .bench/node @mockoon/cli@9.9.0`) has put
the reference in .bench/node; skipped elsewhere.
"""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from tests.bench.common import NODE_DIR, free_port, start_mockoon, start_worker, stop, write_json

pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / ".bin" / "mockoon-cli").exists(),
                                reason="Mockoon CLI not installed in .bench/node")
IGNORED = {"date", "connection", "keep-alive", "server", "x-powered-by", "etag"}


def _env(cors: bool) -> dict:
    def route(uuid: str, method: str, endpoint: str, body: str) -> dict:
        return {"uuid": uuid, "type": "http", "method": method, "endpoint": endpoint,
                "responses": [{"uuid": uuid + "r", "body": body, "statusCode": 201, "default": True,
                               "headers": [{"key": "X-Route", "value": "1"}]}]}

    routes = [route("a", "get", "a", '{"a":1}'), route("b", "options", "b", "opt"),
              route("c", "head", "c", "headbody"), route("d", "all", "d", "all")]
    return {"uuid": "e", "lastMigration": 33, "name": "x", "port": 3000, "endpointPrefix": "", "latency": 0,
            "routes": routes, "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "headers": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Env", "value": "e"}],
            "cors": cors, "proxyMode": False, "data": [], "folders": [], "callbacks": []}


def _request(port: int, method: str, path: str, headers: dict[str, str]) -> tuple:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        kept = sorted((k.lower(), v) for k, v in response.getheaders() if k.lower() not in IGNORED)
        return response.status, kept, body
    finally:
        conn.close()


@pytest.mark.parametrize("cors", [False, True])
def test_head_and_options_match_mockoon(cors: bool, tmp_path: Path) -> None:
    env_file = write_json(tmp_path / "env.json", _env(cors))
    ours_port, theirs_port = free_port(), free_port()
    ours = start_worker(env_file, ours_port)
    theirs = start_mockoon(env_file, theirs_port)
    try:
        for method, path in [("HEAD", "/a"), ("OPTIONS", "/a"), ("OPTIONS", "/b"), ("HEAD", "/c"), ("GET", "/c"),
                             ("OPTIONS", "/nope"), ("HEAD", "/nope"), ("HEAD", "/d"), ("OPTIONS", "/d")]:
            for headers in ({}, {"Origin": "http://x", "Access-Control-Request-Method": "PUT"}):
                assert _request(ours_port, method, path, headers) == _request(theirs_port, method, path, headers), \
                    (method, path, headers)
    finally:
        stop(ours)
        stop(theirs)
