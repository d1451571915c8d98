"""WebSocket routes served by a real ``mockfleet serve`` to a real WebSocket client (wsproto)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import start_worker
from tests.worker.ws_envs import response, uid, ws_environment, ws_route
from tests.ws_client import Closed, Dropped, WsClient

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def _connect(port: int, path: str, **headers: str) -> WsClient:
    return WsClient("127.0.0.1", port, path, headers)


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def _upgrade(path: str, *extra: bytes, method: bytes = b"GET", key: bytes = KEY, version: bytes = b"13") -> bytes:
    return (method + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: " + version + b"\r\n" + b"".join(extra)
            + (b"Content-Length: 0\r\n" if method != b"GET" else b"") + b"\r\n")


@pytest.fixture
def ws_worker(worker_factory: Any) -> Any:
    return worker_factory(ws_environment())


def test_one_to_one_messages_are_matched_by_rules_and_templated(ws_worker: Any) -> None:
    with _connect(ws_worker.port, "/chat/lobby?user=ann", **{"X-Client": "cli-1"}) as ws:
        ws.send("ping")
        assert ws.recv(5) == "pong lobby"
        ws.send("hello")
        # the default response; request helpers read the upgrade, by lower-case name only as in Mockoon
        assert ws.recv(5) == "echo hello h=/cli-1"
        ws.send("store this")
        assert ws.recv(5) == "stored"
        ws.send("recall")
        assert ws.recv(5) == "last=store this"  # global variables live across messages
        ws.send("bucket")
        assert ws.recv(5) == "first thing"
        ws.send("silent")  # an empty body sends nothing: the next answer is the next message's
        ws.send(b"\x00binary")  # binary messages are ignored, as Mockoon does
        ws.send("ping")
        assert ws.recv(5) == "pong lobby"


def test_message_rules_read_json_when_the_upgrade_says_json(ws_worker: Any) -> None:
    with _connect(ws_worker.port, "/chat/x?user=bob", **{"Content-Type": "application/json"}) as ws:
        ws.send(json.dumps({"kind": "order"}))
        assert ws.recv(5) == "json order of bob"


def test_latency_delays_the_answer(ws_worker: Any) -> None:
    with _connect(ws_worker.port, "/chat/a") as ws:
        started = time.monotonic()
        ws.send("slow")
        ws.send("ping")
        assert ws.recv(5) == "pong a"  # not held behind the slow one
        assert ws.recv(5) == "slow slow"
        assert time.monotonic() - started >= 0.28


def test_fallback_mode_answers_only_matching_messages(ws_worker: Any) -> None:
    with _connect(ws_worker.port, "/fallback") as ws:
        ws.send("no")
        ws.send("yes")
        assert ws.recv(5) == "only yes"


def test_unicast_streams_each_client_its_own_sequence(ws_worker: Any) -> None:
    with _connect(ws_worker.port, "/ticker?id=1") as first:
        assert [first.recv(5) for _ in range(4)] == ["tick A 1", "tick B", "tick C", "tick A 1"]
        with _connect(ws_worker.port, "/ticker?id=2") as second:
            assert [second.recv(5) for _ in range(2)] == ["tick A 2", "tick B"]


def test_streaming_interval_never_goes_below_ten_ms(ws_worker: Any) -> None:
    with _connect(ws_worker.port, "/fast") as ws:
        started = time.monotonic()
        for _ in range(20):
            assert ws.recv(5) == "f"
        assert time.monotonic() - started >= 0.18  # 20 ticks of at least 10 ms


def test_broadcast_sends_one_stream_to_every_client(ws_worker: Any) -> None:
    clients = [_connect(ws_worker.port, "/feed") for _ in range(3)]
    try:
        first = [clients[0].recv(5) for _ in range(2)]
        assert first in (["news 1", "news 2"], ["news 2", "news 1"])
        # the other clients joined before the first tick: they see the same messages in the same order
        for client in clients[1:]:
            assert [client.recv(5) for _ in range(2)] == first
    finally:
        for client in clients:
            client.abort()


def test_bad_upgrades_are_answered_as_mockoon_does(ws_worker: Any) -> None:
    port = ws_worker.port
    no_route = _raw(port, _upgrade("/nope"))
    assert no_route.startswith(b"HTTP/1.1 404 ") and no_route.endswith(b"\r\n\r\nNo WebSocket route found for this path")
    assert b"Content-Type: text/html\r\n" in no_route
    rest = _raw(port, _upgrade("/rest"))  # an HTTP route's path is no ws route
    assert rest.startswith(b"HTTP/1.1 404 ") and rest.endswith(b"No WebSocket route found for this path")
    bad_key = _raw(port, _upgrade("/chat/a", key=b"short"))
    assert bad_key.startswith(b"HTTP/1.1 400 ") and bad_key.endswith(b"\r\n\r\nMissing or invalid Sec-WebSocket-Key header")
    bad_version = _raw(port, _upgrade("/chat/a", version=b"12"))
    assert b"Sec-WebSocket-Version: 13, 8\r\n" in bad_version
    assert bad_version.endswith(b"Missing or invalid Sec-WebSocket-Version header")
    post = _raw(port, _upgrade("/chat/a", method=b"POST"))
    assert post.startswith(b"HTTP/1.1 405 ") and post.endswith(b"Invalid HTTP method")
    bad_protocol = _raw(port, _upgrade("/chat/a", b"Sec-WebSocket-Protocol: a, a\r\n"))
    assert bad_protocol.startswith(b"HTTP/1.1 400 ") and bad_protocol.endswith(b"Invalid Sec-WebSocket-Protocol header")
    status, _, body = ws_worker.request("GET", "/chat/a")  # no upgrade: plain HTTP, where no route matches
    assert status == 404 and b"Cannot GET /chat/a" in body


def test_first_subprotocol_is_accepted_and_nothing_is_compressed(ws_worker: Any) -> None:
    answer = _raw_head(ws_worker.port, _upgrade("/chat/a", b"Sec-WebSocket-Protocol: one, two\r\n",
                                                b"Sec-WebSocket-Extensions: permessage-deflate\r\n"))
    assert answer.startswith(b"HTTP/1.1 101")
    lowered = answer.lower()
    assert b"sec-websocket-protocol: one\r\n" in lowered and b"sec-websocket-extensions" not in lowered


def _raw_head(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def test_client_close_code_is_echoed(ws_worker: Any) -> None:
    ws = _connect(ws_worker.port, "/chat/a")
    assert ws.close(code=4001, reason="bye") == 4001


def test_live_update_drops_the_connections_of_a_removed_route(worker_factory: Any) -> None:
    env = ws_environment()
    worker = worker_factory(env, "--admin-api-token", "T")
    kept = _connect(worker.port, "/chat/a")
    removed = _connect(worker.port, "/feed")
    assert removed.recv(5).startswith("news")
    updated = dict(env)
    updated["routes"] = [r for r in env["routes"] if r["uuid"] != uid(3)]
    updated["rootChildren"] = [c for c in env["rootChildren"] if c["uuid"] != uid(3)]
    status, _, _ = worker.request("PUT", "/mockoon-admin/environment", json.dumps(updated),
                                  {"Authorization": "Bearer T", "Content-Type": "application/json"})
    assert status == 200
    with pytest.raises(Dropped):  # terminated: no close frame, as Mockoon's client.terminate()
        while True:
            removed.recv(5)
    kept.send("ping")
    assert kept.recv(5) == "pong a"  # unchanged routes keep their connections
    kept.close()
    no_route = _raw(worker.port, _upgrade("/feed"))
    assert no_route.startswith(b"HTTP/1.1 404 ")


def test_live_update_adds_a_ws_route(worker_factory: Any) -> None:
    env = ws_environment()
    worker = worker_factory(env, "--admin-api-token", "T")
    added = ws_route(uid(7), "added", [response(uid(701), "new {{body}}", default=True)])
    updated = {**env, "routes": [*env["routes"], added],
               "rootChildren": [*env["rootChildren"], {"type": "route", "uuid": uid(7)}]}
    status, _, _ = worker.request("PUT", "/mockoon-admin/environment", json.dumps(updated),
                                  {"Authorization": "Bearer T", "Content-Type": "application/json"})
    assert status == 200
    with _connect(worker.port, "/added") as ws:
        ws.send("x")
        assert ws.recv(5) == "new x"


def test_events_stream_reports_connections_and_messages(worker_factory: Any) -> None:
    worker = worker_factory(ws_environment(), "--admin-api-token", "T")
    conn = worker.connection()
    conn.request("GET", "/mockoon-admin/events", headers={"Authorization": "Bearer T"})
    stream = conn.getresponse()
    assert stream.status == 200
    with _connect(worker.port, "/chat/a") as ws:
        ws.send("ping")
        assert ws.recv(5) == "pong a"
        assert ws.close() == 1000
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(e.get("event") == "ws-closed" for e in events):
        line = stream.fp.readline()
        if line.startswith(b"data: "):
            events.append(json.loads(line[6:]))
    kinds = [e["event"] for e in events]
    assert kinds == ["ws-new-connection", "ws-message-received", "ws-message-sent", "ws-closed"]
    assert events[1]["messageData"] == "ping" and events[2]["messageData"] == "pong a"
    assert events[3]["code"] == 1000
    conn.close()


def test_a_stopping_worker_serves_open_websockets_then_closes_them_with_1001(tmp_path: Path) -> None:
    worker = start_worker(ws_environment(), tmp_path, "--websocket-drain-seconds", "1.5")  # this test stops it
    try:
        ws = _connect(worker.port, "/chat/a")
        os.kill(worker.proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        ws.send("ping")
        assert ws.recv(5) == "pong a"  # still served while draining
        started = time.monotonic()
        with pytest.raises(Closed) as closed:
            ws.recv(10)
        assert closed.value.code == 1001
        assert time.monotonic() - started < 5
        assert worker.proc.wait(10) == 0
    finally:
        if worker.proc.poll() is None:
            worker.proc.kill()


def test_message_limits_close_with_their_codes(worker_factory: Any) -> None:
    worker = worker_factory(ws_environment(), "--websocket-max-message-size", "100",
                            "--websocket-messages-per-second", "5", "--websocket-idle-seconds", "0.5")
    big = _connect(worker.port, "/chat/a")
    big.send("x" * 101)
    with pytest.raises(Closed) as closed:
        big.recv(5)
    assert closed.value.code == 1009
    chatty = _connect(worker.port, "/chat/a")
    for _ in range(8):
        chatty.send("silent")
    with pytest.raises(Closed) as closed:
        chatty.recv(5)
    assert closed.value.code == 1008
    idle = _connect(worker.port, "/chat/a")
    started = time.monotonic()
    with pytest.raises(Closed) as closed:
        idle.recv(5)
    assert closed.value.code == 1001 and time.monotonic() - started >= 0.4
