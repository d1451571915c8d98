"""Protocol upgrades through the real edge: only WebSocket tunnels, and those are bounded.

The attack of issue 13: ``Connection: Upgrade, HTTP2-Settings`` / ``Upgrade: h2c`` got ``101``
from hypercorn through the edge, then an HTTP/2 tunnel to the worker that no rate limit, quota
or head-size limit saw. Now the edge forwards it as a plain request (the worker sees no
upgrade fields) and WebSocket tunnels are capped per deployment, closed when idle or too old,
and counted as requests."""

from __future__ import annotations

import json
import socket
import ssl
import sys
import time
from collections.abc import Iterator

import pytest

from supervisor.registry import PlanRow, Registry, Runtime
from tests.conftest import ROOT, Platform, deploy_body, running_platform
from tests.e2e.test_platform import env
from tests.ws_client import client_frame

IDLE, TOTAL, CAP = 1.0, 4.0, 2
HANDSHAKE = ("GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "upgrades", "--tunnel-idle-timeout", str(IDLE),
                                "--tunnel-max-seconds", str(TOTAL), "--max-tunnels-per-deployment", str(CAP))


def _account(platform: Platform, quota: int = 100_000, rate: int = 1000) -> str:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    try:
        name = f"P{time.monotonic_ns()}"
        registry.set_plan(PlanRow(name=name, deployments_quota=3, monthly_requests_quota=quota,
                                  requests_per_second=rate, trial=False))
        return registry.create_account(name.lower(), name)[1]
    finally:
        registry.close()


def _deploy(platform: Platform, token: str, name: str, body: str = '{"hello": "world"}', fake: bool = False) -> str:
    """Deploy and return the host; ``fake``: on the test runtime that echoes WebSocket frames."""
    registry = Registry(platform.data_dir / "registry.sqlite3")
    try:
        if fake:
            registry.add_runtime(Runtime(name=f"fake-{name}", max_schema=33,
                                         command=[sys.executable, str(ROOT / "tests" / "fake_runtime.py")]))
        status, answer = platform.api("POST", "/deployments", deploy_body(env(name, body)), token=token)
        assert status == 200, answer
    finally:
        if fake:
            registry.add_runtime(Runtime(name=f"builtin-after-{name}", command=[sys.executable, "-m", "worker"],
                                         max_schema=33))
        registry.close()
    return platform.host(answer["subdomain"])


def _open(platform: Platform, host: str) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", platform.port), timeout=10)
    return platform.ssl_context().wrap_socket(raw, server_hostname=host)


def _head(sock: ssl.SSLSocket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        if not data:
            break
        head += data
    return head


def _with_body(sock: ssl.SSLSocket, head: bytes) -> bytes:
    """``head`` (what ``_head`` read) completed with its Content-Length body."""
    length = int(next(line.split(b":")[1] for line in head.lower().split(b"\r\n")
                      if line.startswith(b"content-length")))
    while len(head.split(b"\r\n\r\n", 1)[1]) < length:
        head += sock.recv(65536)
    return head


def _websocket(platform: Platform, host: str) -> tuple[ssl.SSLSocket, bytes]:
    sock = _open(platform, host)
    sock.sendall(HANDSHAKE.format(host=host).encode())
    return sock, _head(sock)


def _closed_within(sock: ssl.SSLSocket, seconds: float) -> float:
    """Seconds until the edge closed the tunnel (reading whatever comes), or fail after ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    while sock.recv(65536):
        pass
    return time.monotonic() - started


def test_h2c_upgrade_through_the_edge_is_served_as_plain_http11(edge: Platform) -> None:
    echo = "{{header 'Upgrade'}}|{{header 'HTTP2-Settings'}}|{{header 'Connection'}}"
    host = _deploy(edge, _account(edge), "h2c", body=echo)
    sock = _open(edge, host)
    sock.sendall(f"GET /hello HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                 "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n".encode())
    answer = _with_body(sock, _head(sock))
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert answer.split(b"\r\n\r\n", 1)[1] == b"||"  # the worker saw neither the upgrade nor its settings
    # the connection stays an HTTP/1.1 connection
    sock.sendall(f"GET /hello HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert _head(sock).startswith(b"HTTP/1.1 200")
    sock.close()
    # HTTP/2 with prior knowledge never gets past the edge's parser either
    sock = _open(edge, host)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert _head(sock).startswith(b"HTTP/1.1 505")
    sock.close()


def test_websocket_tunnels_are_capped_per_deployment(edge: Platform) -> None:
    host = _deploy(edge, _account(edge), "capped", fake=True)
    opened = [_websocket(edge, host) for _ in range(CAP)]
    assert all(head.startswith(b"HTTP/1.1 101") for _, head in opened)
    sock, head = _websocket(edge, host)
    assert head.startswith(b"HTTP/1.1 429"), head
    assert b"already has 2 open WebSocket connections" in _with_body(sock, head)
    sock.close()
    opened[0][0].close()
    deadline = time.monotonic() + 5
    while True:  # the edge frees the slot once it sees the close
        sock, head = _websocket(edge, host)
        if head.startswith(b"HTTP/1.1 101") or time.monotonic() > deadline:
            break
        sock.close()
        time.sleep(0.1)
    assert head.startswith(b"HTTP/1.1 101"), head
    for other in (sock, opened[1][0]):
        other.close()


def test_websocket_tunnels_end_when_idle_and_when_too_old(edge: Platform) -> None:
    host = _deploy(edge, _account(edge), "timed", fake=True)
    quiet, head = _websocket(edge, host)
    assert head.startswith(b"HTTP/1.1 101")
    assert _closed_within(quiet, IDLE + 3) < IDLE + 2
    busy, head = _websocket(edge, host)
    assert head.startswith(b"HTTP/1.1 101")
    started = time.monotonic()
    busy.settimeout(TOTAL + 3)
    ended = False
    while time.monotonic() - started < TOTAL + 3:  # traffic every 0.3 s: never idle
        try:
            busy.sendall(client_frame(b"hi"))
            if not busy.recv(65536):
                ended = True
                break
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            ended = True
            break
        time.sleep(0.3)
    assert ended and TOTAL - 0.5 < time.monotonic() - started < TOTAL + 2


def test_websocket_upgrades_count_in_the_monthly_quota_and_rate_limit(edge: Platform) -> None:
    host = _deploy(edge, _account(edge, quota=3), "quota-ws", fake=True)
    for _ in range(3):
        sock, head = _websocket(edge, host)
        assert head.startswith(b"HTTP/1.1 101")
        sock.close()
    sock, head = _websocket(edge, host)
    assert head.startswith(b"HTTP/1.1 429") and b"monthly requests quota of 3" in _with_body(sock, head)
    sock.close()
    host = _deploy(edge, _account(edge, rate=2), "rate-ws", fake=True)
    heads = []
    for _ in range(4):
        sock, head = _websocket(edge, host)
        heads.append(head[:12])
        sock.close()
    assert heads[:2] == [b"HTTP/1.1 101"] * 2 and b"HTTP/1.1 429" in heads[2:]


def test_access_log_says_how_a_tunnel_ended(edge: Platform) -> None:
    time.sleep(1.5)  # the access log is flushed every second
    lines = [json.loads(line) for line in edge.log.read_text().splitlines() if line.startswith("{")]
    decisions = {line.get("decision") for line in lines}
    assert {"tunnel-idle", "tunnel-total", "tunnel-closed", "forwarded-without-upgrade"} <= decisions, decisions
