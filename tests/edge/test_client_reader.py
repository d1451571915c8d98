"""The edge's reader of client connections: heads and bodies read the same whatever the
pieces the bytes arrive in (pipelining, chunked bodies, blank lines between requests)."""

from __future__ import annotations

import socket

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.downstream import Client, Refused, RequestBody
from edge.request_head import BadRequest
from edge.socket_streams import RawSocketStream

REQUESTS = [
    (b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n", b"GET", b"/a", b""),
    (b"\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", b"POST", b"/b", b"hello"),
    (b"PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n10\r\n" + b"d" * 16
     + b"\r\n0\r\nTrailer: t\r\n\r\n", b"PUT", b"/c", b"abc" + b"d" * 16),
    (b"DELETE /d?x=1 HTTP/1.1\nHost: h\n\n", b"DELETE", b"/d?x=1", b""),
]


async def _read_all(data: bytes, cuts: list[int]) -> list[tuple[bytes, bytes, bytes]]:
    left, right = socket.socketpair()
    client = Client(RawSocketStream(left), 16 * 1024, 100, 8 * 1024)
    sender = RawSocketStream(right)
    seen: list[tuple[bytes, bytes, bytes]] = []

    async def send() -> None:
        start = 0
        for cut in [*sorted(set(cuts)), len(data)]:
            if cut > start:
                await sender.send_all(data[start:cut])
                await trio.sleep(0.001)
                start = cut
        await sender.send_eof()

    refused: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send)
        try:
            while (head := await client.read_head(5, 5)) is not None:
                body = RequestBody(client, head)
                payload = b""
                while piece := await body.read(5):
                    payload += piece
                seen.append((head.method, head.target, payload))
        except (Refused, BadRequest) as error:
            refused = error
            nursery.cancel_scope.cancel()
    await sender.aclose()
    await client.stream.aclose()
    if refused is not None:
        raise refused
    return seen


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, sum(len(r[0]) for r in REQUESTS)), max_size=12))
def test_pipelined_requests_read_the_same_whatever_the_pieces(cuts: list[int]) -> None:
    data = b"".join(raw for raw, *_ in REQUESTS)
    assert trio.run(_read_all, data, cuts) == [tuple(rest) for _, *rest in REQUESTS]


@pytest.mark.parametrize("data,error", [
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", Refused),
    (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", Refused),
    (b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 20000 + b"\r\n\r\n", BadRequest),
])
def test_bad_framing_is_refused_by_the_reader(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        trio.run(_read_all, data, [7, 40])
