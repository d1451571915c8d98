"""Which upgrades the edge passes on (a well-formed WebSocket handshake only) and the tunnel cap."""

from __future__ import annotations

import pytest

from edge.request_head import parse_request_head
from edge.upgrade import TunnelSlots, UpgradeDecision, decide_upgrade

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example key


def decide(raw: bytes) -> UpgradeDecision:
    head = parse_request_head(raw, max_headers=100, max_target=8192)
    assert head.upgrade
    return decide_upgrade(head.method, head.version, head.headers)


def websocket(method: bytes = b"GET", version: bytes = b"1.1", upgrade: bytes = b"websocket",
              ws_version: bytes | None = b"13", key: bytes | None = KEY, extra: bytes = b"") -> bytes:
    raw = method + b" /ws HTTP/" + version + b"\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: " + upgrade
    if ws_version is not None:
        raw += b"\r\nSec-WebSocket-Version: " + ws_version
    if key is not None:
        raw += b"\r\nSec-WebSocket-Key: " + key
    return raw + extra


def test_a_websocket_handshake_passes() -> None:
    assert decide(websocket()) == UpgradeDecision(True)
    assert decide(websocket(upgrade=b"WebSocket")).websocket
    assert decide(websocket(key=b"AAAAAAAAAAAAAAAAAAAAAA==")).websocket


@pytest.mark.parametrize("raw,reason", [
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA",
     "not-websocket"),
    (websocket(upgrade=b"h2c"), "not-websocket"),
    (websocket(upgrade=b"websocket, h2c"), "not-websocket"),
    (websocket(extra=b"\r\nUpgrade: h2c"), "not-websocket"),
    (websocket(upgrade=b"TLS/1.2"), "not-websocket"),
    (websocket(method=b"POST"), "websocket-method"),
    (websocket(version=b"1.0"), "websocket-method"),
    (websocket(ws_version=None), "websocket-version"),
    (websocket(ws_version=b"8"), "websocket-version"),
    (websocket(extra=b"\r\nSec-WebSocket-Version: 13"), "websocket-version"),
    (websocket(key=None), "websocket-key"),
    (websocket(key=b"short=="), "websocket-key"),
    (websocket(key=KEY[:-2]), "websocket-key"),
    (websocket(key=b"dGhlIHNhbXBsZSBub25jZR=="), "websocket-key"),  # decodes to 16 bytes plus stray bits
    (websocket(key=b"dGhlIHNhbXBsZSBub25jZQ==dGhl"), "websocket-key"),
    (websocket(extra=b"\r\nSec-WebSocket-Key: " + KEY), "websocket-key"),
])
def test_every_other_upgrade_is_dropped(raw: bytes, reason: str) -> None:
    assert decide(raw) == UpgradeDecision(False, reason)


def test_tunnel_slots_cap_each_deployment_apart() -> None:
    slots = TunnelSlots(cap=2)
    assert slots.acquire("a") and slots.acquire("a")
    assert not slots.acquire("a")
    assert slots.acquire("b")
    slots.release("a")
    assert slots.acquire("a") and not slots.acquire("a")
    for _ in range(2):
        slots.release("a")
    slots.release("b")
    assert slots.open == {}
