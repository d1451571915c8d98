"""WebSocket routes side by side with Mockoon CLI 9.9.0: same frames, same close codes, same HTTP
answers to bad upgrades. Runs where the reference is installed in .bench/node; skipped elsewhere."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import pytest

from tests.bench.common import NODE_DIR, free_port, start_mockoon, start_worker, stop, write_json
from tests.worker.ws_envs import ws_environment
from tests.ws_client import Closed, Dropped, WsClient

pytestmark = pytest.mark.skipif(not (NODE_DIR / "node_modules" / ".bin" / "mockoon-cli").exists(),
                                reason="Mockoon CLI not installed in .bench/node")
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    env_file = write_json(tmp_path_factory.mktemp("wsdiff") / "env.json", ws_environment())
    ours_port, theirs_port = free_port(), free_port()
    ours = start_worker(env_file, ours_port)
    theirs = start_mockoon(env_file, theirs_port)
    try:
        yield ours_port, theirs_port
    finally:
        stop(ours)
        stop(theirs)


def _conversation(port: int, path: str, messages: list[str | bytes], headers: dict[str, str] | None = None,
                  answers: int | None = None) -> list[str | bytes]:
    with WsClient("127.0.0.1", port, path, headers) as ws:
        for message in messages:
            ws.send(message)
        got = [ws.recv(5) for _ in range(answers if answers is not None else len(messages))]
        ws.close()
        return got


CONVERSATIONS = [
    ("/chat/lobby?user=ann", ["ping", "hello", "store me", "recall", "bucket", "silent", b"bin", "ping"], {}, 6),
    ("/chat/x?user=bob", [json.dumps({"kind": "order"}), json.dumps({"kind": "other"})],
     {"Content-Type": "application/json"}, 2),
    ("/chat/a", ["a", "b"], {"X-Client": "c1"}, 2),  # Mockoon finds no 'X-Client' (Node keys are lower case)
    ("/fallback", ["no", "yes", "yes"], {}, 2),
    ("/ticker?id=9", [], {}, 5),
]


@pytest.mark.parametrize(("path", "messages", "headers", "answers"), CONVERSATIONS)
def test_conversations_match_mockoon(pair: tuple[int, int], path: str, messages: list[str | bytes],
                                     headers: dict[str, str], answers: int) -> None:
    ours, theirs = pair
    assert _conversation(ours, path, messages, headers, answers) == _conversation(theirs, path, messages, headers, answers)


def test_broadcast_matches_mockoon(pair: tuple[int, int]) -> None:
    def run(port: int) -> list[list[str | bytes]]:
        clients = [WsClient("127.0.0.1", port, "/feed") for _ in range(3)]
        try:
            return [[client.recv(5) for _ in range(4)] for client in clients]
        finally:
            for client in clients:
                client.abort()

    ours, theirs = run(pair[0]), run(pair[1])
    # every client sees the shared sequence; where it starts depends on when the stream began
    for got in (ours, theirs):
        assert all(stream == got[0] for stream in got)
        assert set(got[0]) == {"news 1", "news 2"} and got[0][0] != got[0][1]


@pytest.mark.parametrize("code", [1000, 4001, 3000])
def test_close_codes_match_mockoon(pair: tuple[int, int], code: int) -> None:
    def run(port: int) -> int | None:
        ws = WsClient("127.0.0.1", port, "/chat/a")
        ws.send("ping")
        ws.recv(5)
        return ws.close(code, "bye")

    assert run(pair[0]) == run(pair[1]) == code


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    kept = {k: v for k, v in headers.items() if k in ("content-type", "content-length", "connection",
                                                      "sec-websocket-version")}
    return status, kept, body


def _upgrade(path: bytes, method: bytes = b"GET", key: bytes = KEY, version: bytes = b"13", extra: bytes = b"") -> bytes:
    return (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: " + version + b"\r\n" + extra
            + (b"Content-Length: 0\r\n" if method != b"GET" else b"") + b"\r\n")


BAD_UPGRADES = {
    "no-route": _upgrade(b"/nope"),
    "http-route": _upgrade(b"/rest"),
    "bad-key": _upgrade(b"/chat/a", key=b"abc"),
    "no-key": _upgrade(b"/chat/a", key=b""),
    "bad-version": _upgrade(b"/chat/a", version=b"12"),
    "post": _upgrade(b"/chat/a", method=b"POST"),
    "post-no-route": _upgrade(b"/nope", method=b"POST"),
    "bad-protocol": _upgrade(b"/chat/a", extra=b"Sec-WebSocket-Protocol: a, a\r\n"),
}


@pytest.mark.parametrize("name", sorted(BAD_UPGRADES))
def test_bad_upgrades_match_mockoon(pair: tuple[int, int], name: str) -> None:
    request = BAD_UPGRADES[name]
    assert _raw(pair[0], request) == _raw(pair[1], request)


def test_accept_matches_mockoon(pair: tuple[int, int]) -> None:
    def head(port: int) -> tuple[str | None, bool]:
        ws = WsClient("127.0.0.1", port, "/chat/a", {"Sec-WebSocket-Extensions": "permessage-deflate"},
                      subprotocols=["one", "two"])
        ws.abort()
        return ws.subprotocol, any(k.lower() == b"sec-websocket-extensions" for k, _ in ws.accept_headers)

    assert head(pair[0]) == head(pair[1]) == ("one", False)


def test_unknown_close_is_a_drop_on_both(pair: tuple[int, int]) -> None:
    """A client that vanishes: the other clients of a broadcast carry on, on both servers."""
    for port in pair:
        gone = WsClient("127.0.0.1", port, "/feed")
        stays = WsClient("127.0.0.1", port, "/feed")
        gone.abort()
        assert re.fullmatch(r"news \d", str(stays.recv(5)))
        with pytest.raises((Closed, Dropped, TimeoutError)):
            gone.recv(0.1)
        stays.abort()
