"""Keep-alive HTTP/1.1 connections to instance sockets, pooled per socket path.

The peer is our own worker (hypercorn, whose h11 already validated every header it sends),
so this side speaks HTTP/1.1 with a small parser of its own instead of a second h11 state
machine: the head is split once, bodies pass through as bytes (chunked framing included),
and only the framing is tracked, to know where a response ends. Anything that does not
parse is an ``UpstreamProtocolError``; the edge answers 502 and drops the connection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import trio

from .chunked import ChunkTracker
from .field_names import lower_field_name
from .socket_streams import RawSocketStream, open_unix_stream

MAX_IDLE_PER_SOCKET = 32
MAX_IDLE_SECONDS = 4.0  # workers close keep-alive connections after 5 s idle
MAX_HEAD_BYTES = 64 * 1024
READ_SIZE = 65536
NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamProtocolError(Exception):
    """The instance sent something that is not HTTP/1.1 as we expect it."""


class UpstreamClosed(UpstreamProtocolError):
    """The instance closed the connection before a whole response."""


@dataclass(slots=True)
class ResponseHead:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]  # names lower-cased, in order
    framing: str  # "length", "chunked", "close" (read until EOF) or "none"
    length: int = 0
    keep_alive: bool = True


_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})


def parse_head(raw: bytes, head_request: bool) -> ResponseHead:
    """Split a response head (without its blank line) and work out how its body is framed."""
    lines = raw.split(b"\r\n")
    breaks = len(lines) - 1
    if raw.count(b"\r") != breaks or raw.count(b"\n") != breaks:
        raise UpstreamProtocolError("bare CR or LF in response head")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise UpstreamProtocolError(f"bad status line {lines[0][:80]!r}")
    status = int(code)
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep_alive = version == b"HTTP/1.1"
    for line in lines[1:]:
        raw_name, colon, value = line.partition(b":")
        name = lower_field_name(raw_name) if colon else None
        if name is None:
            raise UpstreamProtocolError(f"bad header line {line[:80]!r}")
        # h11 writes "name: value": only that one space is framing; a value's own outer spaces are
        # the mock's (Mockoon keeps them)
        value = value[1:] if value[:1] == b" " else value
        if name in _FRAMING:
            value = value.strip(b" \t")
        if name == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise UpstreamProtocolError("bad Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.lower() == b"chunked"
            if not chunked:
                raise UpstreamProtocolError(f"unsupported Transfer-Encoding {value[:40]!r}")
        elif name == b"connection":
            tokens = {t.strip().lower() for t in value.split(b",")}
            if b"close" in tokens:
                keep_alive = False
            elif b"keep-alive" in tokens and version == b"HTTP/1.0":
                keep_alive = True
        headers.append((name, value))
    if status < 200 or status in NO_BODY_STATUSES or head_request:
        framing = "none"
    elif chunked:
        framing = "chunked"
    elif length is not None:
        framing = "length"
    else:
        framing = "close"
        keep_alive = False
    return ResponseHead(status, reason, headers, framing, length or 0, keep_alive)


class BodyReader:
    """Takes a response body off the connection buffer as bytes arrive (sans I/O): raw,
    framing included, or the decoded payload when ``decode_chunks``."""

    __slots__ = ("framing", "remaining", "tracker", "done")

    def __init__(self, head: ResponseHead, decode_chunks: bool = False) -> None:
        self.framing = head.framing
        self.remaining = head.length
        self.tracker = ChunkTracker(decode_chunks) if head.framing == "chunked" else None
        self.done = head.framing == "none" or (head.framing == "length" and not head.length)

    def take(self, buffer: bytearray) -> bytes:
        if self.framing == "length":
            count = min(self.remaining, len(buffer))
            self.remaining -= count
            self.done = not self.remaining
        elif self.tracker is not None:
            count = self.tracker.feed(buffer)
            self.done = self.tracker.done
            if self.tracker.payload is not None:
                del buffer[:count]
                piece = bytes(self.tracker.payload)
                self.tracker.payload.clear()
                return piece
        else:  # until the connection ends
            count = len(buffer)
        if count == len(buffer):
            piece = bytes(buffer)
            buffer.clear()
        else:
            piece = bytes(buffer[:count])
            del buffer[:count]
        return piece


@dataclass
class Upstream:
    path: str
    stream: RawSocketStream
    buffer: bytearray = field(default_factory=bytearray)
    reused: bool = False
    idle_since: float = 0.0
    reusable: bool = False  # set once a whole response was read and the peer keeps the connection
    received: bool = False  # anything at all came back for the current request

    async def send(self, data: bytes | bytearray) -> None:
        await self.stream.send_all(data)

    async def fill(self, timeout: float, wait_first: bool = False) -> bool:
        """Receive into the buffer (``trio.TooSlowError`` after ``timeout``); False at end of stream."""
        data = await self.stream.receive_within(timeout, wait_first=wait_first)
        if not data:
            return False
        self.received = True
        self.buffer += data
        return True

    async def read_head(self, head_request: bool, timeout: float) -> ResponseHead:
        """The next final or 101 response head; 1xx informational heads are skipped."""
        self.reusable = False
        deadline = time.monotonic() + timeout
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            while end < 0:
                if len(self.buffer) > MAX_HEAD_BYTES:
                    raise UpstreamProtocolError("response head too large")
                # nothing came back yet: the worker is still answering, so wait before reading
                if not await self.fill(deadline - time.monotonic(), wait_first=not self.received):
                    raise UpstreamClosed("the instance closed the connection")
                end = self.buffer.find(b"\r\n\r\n", max(0, len(self.buffer) - READ_SIZE - 3))
            raw = bytes(self.buffer[:end])
            del self.buffer[:end + 4]
            head = parse_head(raw, head_request)
            if 100 <= head.status < 200 and head.status != 101:
                continue  # 100-continue and friends are not relayed
            return head


class UpstreamPool:
    def __init__(self) -> None:
        self.idle: dict[str, list[Upstream]] = {}

    async def get(self, path: str, fresh: bool = False) -> Upstream:
        if not fresh:
            idle = self.idle.get(path)
            while idle:
                upstream = idle.pop()
                if time.monotonic() - upstream.idle_since < MAX_IDLE_SECONDS:
                    upstream.reused = True
                    return upstream
                await trio.aclose_forcefully(upstream.stream)
        return Upstream(path, await open_unix_stream(path))

    async def release(self, upstream: Upstream) -> None:
        if upstream.reusable:
            idle = self.idle.setdefault(upstream.path, [])
            if len(idle) < MAX_IDLE_PER_SOCKET:
                upstream.idle_since = time.monotonic()
                upstream.reusable = False
                idle.append(upstream)
                return
        await trio.aclose_forcefully(upstream.stream)

    async def discard(self, upstream: Upstream) -> None:
        await trio.aclose_forcefully(upstream.stream)

    async def drop_path(self, path: str) -> None:
        for upstream in self.idle.pop(path, []):
            await trio.aclose_forcefully(upstream.stream)
