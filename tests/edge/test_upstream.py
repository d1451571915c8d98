"""The edge's own HTTP/1.1 reader for worker responses: heads, framing, chunk tracking."""

from __future__ import annotations

import random

import pytest

from edge.chunked import ChunkTracker, FramingError
from edge.upstream import BodyReader, UpstreamProtocolError, parse_head


def test_head_is_split_and_names_lowered() -> None:
    head = parse_head(b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A:  b ", False)
    assert (head.status, head.reason, head.framing, head.length, head.keep_alive) == (201, b"Created", "length", 5, True)
    # the space after the colon is framing; the value's own spaces are the mock's (Mockoon keeps them)
    assert head.headers == [(b"content-type", b"text/plain"), (b"content-length", b"5"), (b"x-a", b" b ")]


@pytest.mark.parametrize("raw,head_request,framing,keep_alive", [
    (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked", False, "chunked", True),
    (b"HTTP/1.1 200 OK", False, "close", False),
    (b"HTTP/1.1 204 No Content", False, "none", True),
    (b"HTTP/1.1 304 Not Modified\r\ncontent-length: 10", False, "none", True),
    (b"HTTP/1.1 200 OK\r\ncontent-length: 10", True, "none", True),
    (b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket", False, "none", True),
    (b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close", False, "length", False),
    (b"HTTP/1.0 200 OK\r\ncontent-length: 1", False, "length", False),
])
def test_framing(raw: bytes, head_request: bool, framing: str, keep_alive: bool) -> None:
    head = parse_head(raw, head_request)
    assert (head.framing, head.keep_alive) == (framing, keep_alive)


@pytest.mark.parametrize("raw", [
    b"HTTP/2 200 OK", b"HTTP/1.1 2000 OK", b"garbage", b"HTTP/1.1 200 OK\r\nno colon",
    b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2", b"HTTP/1.1 200 OK\r\ncontent-length: -1",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip", b"HTTP/1.1 200 OK\r\n bad: fold",
])
def test_malformed_heads_are_refused(raw: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_head(raw, False)


def _chunked(pieces: list[bytes]) -> bytes:
    return b"".join(b"%x;ext=1\r\n%b\r\n" % (len(p), p) for p in pieces) + b"0\r\nx-trailer: 1\r\n\r\n"


def test_chunk_tracker_finds_the_end_whatever_the_split() -> None:
    body = _chunked([b"hello", b"x" * 300, b"\r\n0\r\n"])
    rng = random.Random(7)
    for _ in range(200):
        tracker = ChunkTracker(decode=True)
        data = body + b"NEXT RESPONSE"
        consumed, pos, payload = 0, 0, b""
        while not tracker.done:
            step = rng.randint(1, 40)
            piece = data[pos:pos + step]
            used = tracker.feed(piece)
            consumed += used
            pos += step if used == len(piece) else used
            payload += bytes(tracker.payload or b"")
            tracker.payload.clear()  # type: ignore[union-attr]
        assert consumed == len(body)
        assert payload == b"hello" + b"x" * 300 + b"\r\n0\r\n"


@pytest.mark.parametrize("body", [b"zz\r\nab\r\n0\r\n\r\n", b"2\r\nabXY0\r\n\r\n", b"2\nab\r\n0\r\n\r\n",
                                  b"1" * 5000 + b"\r\n"])
def test_bad_chunking_is_refused(body: bytes) -> None:
    with pytest.raises(FramingError):
        ChunkTracker().feed(body)


def test_body_reader_takes_only_its_message() -> None:
    head = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 4", False)
    reader = BodyReader(head)
    buffer = bytearray(b"ab")
    assert reader.take(buffer) == b"ab" and not reader.done
    buffer += b"cdHTTP/1.1"
    assert reader.take(buffer) == b"cd" and reader.done and buffer == b"HTTP/1.1"
    chunked = BodyReader(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked", False))
    buffer = bytearray(b"3\r\nabc\r\n0\r\n\r\nrest")
    assert chunked.take(buffer) == b"3\r\nabc\r\n0\r\n\r\n" and chunked.done and buffer == b"rest"
