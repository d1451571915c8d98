"""RFC 6455 frame headers in one direction of a WebSocket tunnel, read as the bytes pass (sans I/O).

The edge relays a tunnel's bytes as they come and still has to count and size its messages. A
``FrameScanner`` reads only frame headers: a payload is skipped by arithmetic, never copied or
unmasked, so the relay keeps forwarding the chunks it receives. The only bytes held back are
those of a header split across reads (at most 13), so that the relay can always stop cleanly
*before* a frame it refuses: every ``FrameHead`` says where its header starts in the bytes
``feed`` returns for forwarding.

Checked as RFC 6455 section 5 requires of a receiver: masking by direction (client frames
masked, server frames not), reserved bits (none without a negotiated extension; RSV1 with
permessage-deflate), known opcodes, control frames whole and at most 125 bytes, continuation
frames only inside a fragmented message and data frames only outside one, minimal length
encodings, nothing after a close frame. A violation is a ``ProtocolViolation`` (close code 1002).
"""

from __future__ import annotations

from dataclasses import dataclass

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_KNOWN = frozenset({CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG})
RSV1 = 0x40
MAX_CONTROL_PAYLOAD = 125


@dataclass(slots=True)  # not frozen: built for every frame, and a frozen one costs twice as much
class FrameHead:
    """One frame's header. ``offset``: where the header starts in the forwardable bytes of the
    ``feed`` that found it; ``message_bytes``: payload of the data message so far, this frame
    included (0 for control frames); ``starts_message``: the first frame of a text/binary message."""

    offset: int
    opcode: int
    fin: bool
    length: int
    message_bytes: int
    starts_message: bool


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """Why the frame whose header starts at ``offset`` breaks RFC 6455 (close code 1002)."""

    offset: int
    reason: str


@dataclass(slots=True)
class Scanned:
    """What one ``feed`` found: ``data`` to forward (the chunk, with held-back header bytes
    moved between feeds), the frame headers that start in it, and a violation, if any, after
    which nothing more is read (forward only ``data[:violation.offset]``)."""

    data: bytes | bytearray
    heads: list[FrameHead]
    violation: ProtocolViolation | None = None


class FrameScanner:
    """The frames of one direction. ``masked``: frames must carry a mask (client to server);
    ``deflate``: permessage-deflate was negotiated (RSV1 allowed on a message's first frame)."""

    def __init__(self, masked: bool, deflate: bool = False) -> None:
        self.masked = masked
        self.deflate = deflate
        self.remaining = 0  # payload bytes of the current frame not yet seen
        self.held: bytes | bytearray = b""  # the start of a header split across reads
        self.fragmented = False  # a text/binary message whose last frame has not come yet
        self.message_bytes = 0
        self.closed = False  # a close frame passed: nothing may follow it
        self.failed: ProtocolViolation | None = None

    @property
    def at_boundary(self) -> bool:
        """Everything fed so far and forwarded ends between frames: a frame of the edge's own
        (a close) may go next."""
        return self.remaining == 0 and self.failed is None

    def feed(self, chunk: bytes | bytearray) -> Scanned:
        if self.failed is not None:
            return Scanned(b"", [], self.failed)
        data = self.held + chunk if self.held else chunk
        self.held = b""
        size = len(data)
        heads: list[FrameHead] = []
        position = 0
        while True:
            remaining = self.remaining
            if remaining:
                if size - position <= remaining:
                    self.remaining = remaining - (size - position)
                    return Scanned(data, heads)
                position += remaining
                self.remaining = 0
            if position >= size:
                return Scanned(data, heads)
            found = self._header(data, position, size)
            if found is None:  # incomplete header: held for the next feed
                self.held = data[position:]
                return Scanned(data[:position], heads)
            if isinstance(found, ProtocolViolation):
                self.failed = found
                return Scanned(data, heads, found)
            heads.append(found[0])
            position += found[1]
            self.remaining = found[0].length

    def _header(self, data: bytes | bytearray, at: int, size: int) -> tuple[FrameHead, int] | ProtocolViolation | None:
        """The header at ``at`` and its size, a violation, or None when it is not all there."""
        if size - at < 2:
            return None
        first, second = data[at], data[at + 1]
        length = second & 0x7F
        header = 2 + (2 if length == 126 else 8 if length == 127 else 0) + (4 if second & 0x80 else 0)
        if size - at < header:
            return None
        if self.closed:
            return ProtocolViolation(at, "frame after a close frame")
        if bool(second & 0x80) != self.masked:
            return ProtocolViolation(at, "client frames must be masked" if self.masked
                                     else "server frames must not be masked")
        if length == 126:
            length = int.from_bytes(data[at + 2:at + 4], "big")
            if length < 126:
                return ProtocolViolation(at, "length not minimally encoded")
        elif length == 127:
            length = int.from_bytes(data[at + 2:at + 10], "big")
            if length >> 63:
                return ProtocolViolation(at, "64-bit length with its most significant bit set")
            if length <= 0xFFFF:
                return ProtocolViolation(at, "length not minimally encoded")
        fin = bool(first & 0x80)
        opcode = first & 0x0F
        rsv = first & 0x70
        if opcode not in _KNOWN:
            return ProtocolViolation(at, f"unknown opcode {opcode:#x}")
        if opcode >= CLOSE:
            if rsv:
                return ProtocolViolation(at, "reserved bits set on a control frame")
            if not fin:
                return ProtocolViolation(at, "fragmented control frame")
            if length > MAX_CONTROL_PAYLOAD:
                return ProtocolViolation(at, "control frame over 125 bytes")
            if opcode == CLOSE:
                if length == 1:
                    return ProtocolViolation(at, "close frame with a one-byte payload")
                self.closed = True
            return FrameHead(at, opcode, fin, length, 0, False), header
        starts = opcode != CONTINUATION
        if rsv and not (self.deflate and rsv == RSV1 and starts):
            return ProtocolViolation(at, "reserved bits set without a negotiated extension")
        if starts == self.fragmented:
            return ProtocolViolation(at, "data frame inside a fragmented message" if starts
                                     else "continuation frame outside a fragmented message")
        self.message_bytes = (0 if starts else self.message_bytes) + length
        self.fragmented = not fin
        return FrameHead(at, opcode, fin, length, self.message_bytes, starts), header


def close_frame(code: int, reason: str, mask: bytes | None = None) -> bytes:
    """A close frame with ``code`` and ``reason`` (cut to fit 125 bytes); masked with ``mask``
    (4 bytes) for a server, unmasked for a client."""
    text = reason.encode()[:MAX_CONTROL_PAYLOAD - 2].decode("utf-8", "ignore").encode()  # whole characters
    payload = code.to_bytes(2, "big") + text
    if mask is None:
        return bytes((0x80 | CLOSE, len(payload))) + payload
    masked = bytes(byte ^ mask[index & 3] for index, byte in enumerate(payload))
    return bytes((0x80 | CLOSE, 0x80 | len(payload))) + mask + masked
