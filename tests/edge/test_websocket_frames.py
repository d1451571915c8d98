"""The edge's RFC 6455 frame scanner, without sockets: frames built here by hand and by wsproto
(a real WebSocket implementation), fed whole, split at every byte, and broken in every way a
receiver must refuse."""

from __future__ import annotations

import os

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Request, TextMessage
from wsproto.frame_protocol import FrameProtocol, Opcode

from edge.websocket_frames import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    TEXT,
    FrameHead,
    FrameScanner,
    close_frame,
)


def frame(opcode: int, payload: bytes = b"", fin: bool = True, masked: bool = True, rsv: int = 0,
          length_bytes: int | None = None) -> bytes:
    """One frame by hand; ``length_bytes`` forces an encoding of the length (0, 2 or 8 extra bytes)."""
    n = len(payload)
    extra = length_bytes if length_bytes is not None else (0 if n < 126 else 2 if n <= 0xFFFF else 8)
    out = bytearray([(0x80 if fin else 0) | rsv | opcode])
    flag = 0x80 if masked else 0
    if extra == 0:
        out.append(flag | n)
    elif extra == 2:
        out += bytes([flag | 126]) + n.to_bytes(2, "big")
    else:
        out += bytes([flag | 127]) + n.to_bytes(8, "big")
    if masked:
        mask = os.urandom(4)
        out += mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    else:
        out += payload
    return bytes(out)


def scan_all(scanner: FrameScanner, pieces: list[bytes]) -> tuple[bytes, list[FrameHead]]:
    """Feed ``pieces``; what was forwarded and every head, offsets made absolute."""
    forwarded = b""
    heads: list[FrameHead] = []
    for piece in pieces:
        scanned = scanner.feed(piece)
        assert scanned.violation is None, scanned.violation
        heads += [FrameHead(h.offset + len(forwarded), h.opcode, h.fin, h.length, h.message_bytes,
                            h.starts_message) for h in scanned.heads]
        forwarded += scanned.data
    return forwarded, heads


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
@pytest.mark.parametrize("masked", [True, False])
def test_lengths_in_7_16_and_64_bits(size: int, masked: bool) -> None:
    data = frame(BINARY, b"x" * size, masked=masked) + frame(TEXT, b"next", masked=masked)
    forwarded, heads = scan_all(FrameScanner(masked), [data])
    assert forwarded == data
    header = 2 + (0 if size < 126 else 2 if size <= 0xFFFF else 8) + (4 if masked else 0)
    assert heads == [FrameHead(0, BINARY, True, size, size, True),
                     FrameHead(header + size, TEXT, True, 4, 4, True)]


def _stream() -> bytes:
    """A fragmented text message with a ping between its fragments, a 16-bit and a 64-bit binary
    message, an empty one, and a close: every kind of header."""
    return (frame(TEXT, b"hel", fin=False) + frame(PING, b"?") + frame(CONTINUATION, b"lo", fin=False)
            + frame(CONTINUATION, b"!") + frame(BINARY, b"b" * 300) + frame(BINARY, b"B" * 70_000)
            + frame(TEXT, b"") + frame(CLOSE, (1000).to_bytes(2, "big") + b"bye"))


def test_split_at_every_byte_finds_the_same_frames_and_forwards_every_byte() -> None:
    data = _stream()
    whole, expected = scan_all(FrameScanner(True), [data])
    assert whole == data
    assert [(h.opcode, h.fin, h.length, h.message_bytes, h.starts_message) for h in expected] == [
        (TEXT, False, 3, 3, True), (PING, True, 1, 0, False), (CONTINUATION, False, 2, 5, False),
        (CONTINUATION, True, 1, 6, False), (BINARY, True, 300, 300, True), (BINARY, True, 70_000, 70_000, True),
        (TEXT, True, 0, 0, True), (CLOSE, True, 5, 0, False)]
    starts = [h.offset for h in expected]
    near_a_header = {cut for start in starts for cut in range(start - 3, start + 16)}
    for cut in range(1, len(data)):  # every byte around headers, payload bytes sampled
        if cut not in near_a_header and cut % 97:
            continue
        forwarded, heads = scan_all(FrameScanner(True), [data[:cut], data[cut:]])
        assert forwarded == data and heads == expected, cut
    # and one byte at a time: never more than a header's bytes held back
    forwarded, heads = scan_all(FrameScanner(True), [data[i:i + 1] for i in range(len(data))])
    assert forwarded == data and heads == expected


def test_a_header_split_across_reads_is_held_back_until_whole() -> None:
    data = frame(TEXT, b"a" * 200)  # 2 + 2 + 4 header bytes
    scanner = FrameScanner(True)
    first = scanner.feed(data[:5])
    assert first.data == b"" and first.heads == [] and scanner.at_boundary
    second = scanner.feed(data[5:])
    assert second.data == data and second.heads[0].offset == 0 and second.heads[0].length == 200
    assert scanner.at_boundary  # the payload was all there


def test_mid_payload_is_not_a_boundary() -> None:
    scanner = FrameScanner(False)
    data = frame(TEXT, b"z" * 1000, masked=False)
    scanner.feed(data[:500])
    assert not scanner.at_boundary and scanner.remaining == 1000 - (500 - 4)
    scanner.feed(data[500:])
    assert scanner.at_boundary


def test_frames_of_a_real_client_and_server() -> None:
    """wsproto's own frames, both directions: a fragmented message, a ping, a close."""
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request(host="a", target="/")))
    assert any(isinstance(e, Request) for e in server.events())
    client.receive_data(server.send(AcceptConnection()))
    assert any(isinstance(e, AcceptConnection) for e in client.events())
    up = (client.send(Message(data="part one ", message_finished=False)) + client.send(Ping(b"p"))
          + client.send(Message(data="and two", message_finished=True)) + client.send(CloseConnection(1000)))
    down = server.send(TextMessage("x" * 130)) + server.send(Message(data=b"\x00" * 70_000))
    _, heads = scan_all(FrameScanner(True), [up[i:i + 7] for i in range(0, len(up), 7)])
    assert [(h.opcode, h.message_bytes) for h in heads] == [(TEXT, 9), (PING, 0), (CONTINUATION, 16), (CLOSE, 0)]
    _, heads = scan_all(FrameScanner(False), [down])
    assert [(h.opcode, h.length) for h in heads] == [(TEXT, 130), (BINARY, 70_000)]


@pytest.mark.parametrize(("masked", "bad", "reason"), [
    (True, frame(TEXT, b"x", masked=False), "client frames must be masked"),
    (False, frame(TEXT, b"x", masked=True), "server frames must not be masked"),
    (True, frame(TEXT, b"x", rsv=0x40), "reserved bits set without a negotiated extension"),
    (True, frame(TEXT, b"x", rsv=0x20), "reserved bits set without a negotiated extension"),
    (True, frame(PING, b"x", rsv=0x40), "reserved bits set on a control frame"),
    (True, frame(0x3, b"x"), "unknown opcode 0x3"),
    (True, frame(0xB, b"x"), "unknown opcode 0xb"),
    (True, frame(PING, b"x", fin=False), "fragmented control frame"),
    (True, frame(PING, b"x" * 126), "control frame over 125 bytes"),
    (True, frame(CONTINUATION, b"x"), "continuation frame outside a fragmented message"),
    (True, frame(TEXT, b"x", length_bytes=2), "length not minimally encoded"),
    (True, frame(TEXT, b"x" * 300, length_bytes=8), "length not minimally encoded"),
    (True, bytes([0x82, 0xFF]) + (1 << 63).to_bytes(8, "big") + b"mask", "64-bit length with its most significant bit set"),
    (True, frame(CLOSE, b"\x03"), "close frame with a one-byte payload"),
])
def test_protocol_violations_stop_before_the_bad_frame(masked: bool, bad: bytes, reason: str) -> None:
    good = frame(TEXT, b"fine", masked=masked) + frame(PING, b"", masked=masked)
    scanner = FrameScanner(masked)
    scanned = scanner.feed(good + bad + frame(TEXT, b"never read", masked=masked))
    assert scanned.violation is not None
    assert scanned.violation.reason == reason
    assert scanned.violation.offset == len(good)  # the relay forwards the good frames only
    assert [h.opcode for h in scanned.heads] == [TEXT, PING]
    assert not scanner.at_boundary
    assert scanner.feed(b"more").violation == scanned.violation  # nothing more is read


def test_data_frames_may_not_interrupt_a_fragmented_message() -> None:
    scanned = FrameScanner(True).feed(frame(TEXT, b"a", fin=False) + frame(BINARY, b"b"))
    assert scanned.violation is not None and scanned.violation.reason == "data frame inside a fragmented message"


def test_nothing_may_follow_a_close_frame() -> None:
    scanner = FrameScanner(False)
    assert not scanner.feed(frame(CLOSE, b"\x03\xe8", masked=False)).violation
    assert scanner.closed
    scanned = scanner.feed(frame(TEXT, b"late", masked=False))
    assert scanned.violation is not None and scanned.violation.reason == "frame after a close frame"


def test_permessage_deflate_allows_rsv1_on_a_message_first_frame_only() -> None:
    scanner = FrameScanner(True, deflate=True)
    scanned = scanner.feed(frame(TEXT, b"z", fin=False, rsv=0x40) + frame(CONTINUATION, b"z"))
    assert scanned.violation is None and len(scanned.heads) == 2
    scanned = FrameScanner(True, deflate=True).feed(frame(TEXT, b"z", fin=False) + frame(CONTINUATION, b"z", rsv=0x40))
    assert scanned.violation is not None


@pytest.mark.parametrize("masked", [True, False])
def test_close_frames_the_edge_sends_are_read_by_wsproto(masked: bool) -> None:
    """Unmasked to the client, masked to the worker: each peer's WebSocket library reads the code."""
    protocol = FrameProtocol(client=not masked, extensions=[])
    protocol.receive_bytes(close_frame(1009, "message too big é" + "x" * 200, os.urandom(4) if masked else None))
    (received,) = list(protocol.received_frames())
    assert received.opcode is Opcode.CLOSE
    code, reason = received.payload
    assert code == 1009 and reason.startswith("message too big é") and len(reason.encode()) <= 123
