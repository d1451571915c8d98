"""A worker speaks HTTP/1.1 only: neither an h2c upgrade nor HTTP/2 prior knowledge reaches HTTP/2.

hypercorn 0.17 would answer both with HTTP/2 (``101 Switching Protocols`` for ``Upgrade: h2c``),
a tunnel the edge cannot meter; these talk to a real worker's Unix socket directly."""

from __future__ import annotations

import socket
from typing import Any

from tests.conftest import make_env

ROUTE = {"uuid": "r1", "type": "http", "method": "get", "endpoint": "hello",
         "responses": [{"uuid": "s1", "body": '{"hello": "world"}', "statusCode": 200, "default": True}]}
# an HTTP/2 SETTINGS frame with no settings, base64url as HTTP2-Settings carries it: empty
H2C_UPGRADE = (b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: \r\n\r\n")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _exchange(path: Any, data: bytes) -> bytes:
    """Send ``data`` and read until the worker closes or goes quiet."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and received.endswith(b'"world"}'):
                    break
        except TimeoutError:
            pass
        return received


def test_h2c_upgrade_is_served_as_http11(worker_factory: Any) -> None:
    worker = worker_factory(make_env([ROUTE]), uds=True)
    answer = _exchange(worker.uds, H2C_UPGRADE)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"101" not in answer.split(b"\r\n", 1)[0]
    assert answer.endswith(b'{"hello": "world"}')


def test_http2_prior_knowledge_is_refused(worker_factory: Any) -> None:
    worker = worker_factory(make_env([ROUTE]), uds=True)
    answer = _exchange(worker.uds, PREFACE)
    # Node (Mockoon CLI 9.9) answers the preface with a bare 400, as it does any method it does
    # not serve; the worker's request line check (http1_compat) gives the same answer
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    # the worker keeps serving HTTP/1.1 on new connections
    assert worker.request("GET", "/hello")[0] == 200
