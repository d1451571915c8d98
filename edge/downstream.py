"""The client side of a connection: request heads and bodies read off a (TLS) stream within
their deadlines, and the answers the edge gives itself written back.

Bodies stream; only request heads are held in memory. Anything ambiguous about a body's
framing is refused and ends the connection.
"""

from __future__ import annotations

import json
import time
from email.utils import formatdate
from http import HTTPStatus

import trio

from .chunked import ChunkTracker, FramingError
from .request_head import BadRequest, RequestHead, find_head_end, parse_request_head
from .socket_streams import RawSocketStream
from .stages import Refusal

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

class Refused(Exception):
    """A refusal decided while reading or relaying (a malformed chunk, a body over the limit,
    a worker that failed): the shell answers it like a stage's ``Refusal``."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class ClientGone(Exception):
    """The client went away, or the connection can only be closed (mid-response)."""


class Client:
    """The downstream side: request heads and bodies read off a (TLS) stream, with timeouts."""

    def __init__(self, stream: RawSocketStream, max_header_bytes: int, max_headers: int, max_target: int) -> None:
        self.stream = stream
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_target = max_target
        self.buffer = bytearray()  # received and not consumed yet: a pipelining client sends ahead

    async def read_head(self, idle: float, header: float, wait_first: bool = False) -> RequestHead | None:
        """Wait up to ``idle`` for a request to start, then ``header`` for its whole head
        (slowloris); None when the client closes the connection between requests.
        ``wait_first`` right after an answer: a client that was waiting for it has sent nothing yet."""
        buffer = self.buffer
        limit = self.max_header_bytes
        deadline = time.monotonic() + (header if buffer else idle)
        started = bool(buffer)
        scanned = 0
        while True:
            if buffer[:1] in (b"\r", b"\n"):  # blank lines between requests are ignored
                del buffer[:len(buffer) - len(buffer.lstrip(b"\r\n"))]
            if buffer:
                end, rest = find_head_end(buffer, max(0, scanned - 3))
                if 0 <= end <= limit:
                    raw = bytes(buffer[:end])
                    del buffer[:rest]
                    return parse_request_head(raw, self.max_headers, self.max_target)
                if end > limit or len(buffer) > limit:
                    raise BadRequest(431, "request head too large", "headers")
                scanned = len(buffer)
                if not started:
                    started = True
                    deadline = time.monotonic() + header
            data = await self.stream.receive_within(deadline - time.monotonic(), wait_first=wait_first and not buffer)
            if not data:
                return None
            buffer += data


class RequestBody:
    """One request's body as it arrives: Content-Length bytes as they are, chunked decoded
    (and checked: a framing error is a 400 and the end of the connection)."""

    __slots__ = ("client", "remaining", "tracker", "done", "acked")

    def __init__(self, client: Client, head: RequestHead) -> None:
        self.client = client
        self.remaining = head.content_length or 0
        self.tracker = ChunkTracker(decode=True) if head.chunked else None
        self.done = not head.has_body
        self.acked = False

    async def read(self, timeout: float) -> bytes:
        """The next piece of payload; b"" once the body is complete."""
        buffer = self.client.buffer
        while not self.done:
            if not buffer:
                if not self.acked:  # the body did not come with the head: the client may wait for our ACK
                    self.acked = True
                    self.client.stream.ack_now()
                data = await self.client.stream.receive_within(timeout)
                if not data:
                    raise ClientGone()
                buffer += data
            tracker = self.tracker
            if tracker is None:
                count = min(self.remaining, len(buffer))
                piece = bytes(buffer[:count])
                del buffer[:count]
                self.remaining -= count
                self.done = not self.remaining
                return piece
            try:
                used = tracker.feed(buffer)
            except FramingError as error:
                raise Refused(Refusal(400, f"malformed chunked body: {error}", close=True, reason="smuggling")) from None
            del buffer[:used]
            self.done = tracker.done
            payload = tracker.payload
            if payload:
                piece = bytes(payload)
                payload.clear()
                return piece
        return b""

    async def drain(self, budget: int = 64 * 1024) -> bool:
        """Read what is left of a refused request's body so the connection can be reused."""
        try:
            while not self.done and budget > 0:
                budget -= len(await self.read(1.0))
        except (trio.TooSlowError, Refused, ClientGone):
            return False
        return self.done


_PHRASES = {status.value: status.phrase.encode() for status in HTTPStatus}


def _phrase(status: int) -> bytes:
    return _PHRASES.get(status, b"")


def _json_body(status: int, message: str) -> bytes:
    return json.dumps({"status": status, "message": message}).encode()


async def linger(stream: trio.abc.Stream, budget: int = 256 * 1024, seconds: float = 1.0) -> None:
    """Read and drop what the client is still sending, so closing doesn't reset away our answer."""
    with trio.move_on_after(seconds):
        try:
            while budget > 0:
                data = await stream.receive_some(65536)
                if not data:
                    return
                budget -= len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return


def response_head(status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytearray:
    """A response head with its closing blank line; ``reason`` defaults to the standard phrase.
    Headers come from the edge itself or from our worker, which h11 validated on the way out."""
    out = bytearray(b"HTTP/1.1 %d %b\r\n" % (status, reason or _phrase(status)))
    for key, value in headers:
        out += key + b": " + value + b"\r\n"
    out += b"\r\n"
    return out


async def send_refusal(client: Client, reject: Refusal, head: RequestHead | None = None, close: bool = False) -> int:
    """Write the edge's own JSON answer; ``close`` (or the refusal's) ends the connection after it.
    Returns the body's size, 0 when the client was gone."""
    close = close or reject.close
    body = _json_body(reject.status, reject.message)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("Date", formatdate(usegmt=True)), ("Cache-Control", "no-store"), *reject.headers]
    if close:
        headers.append(("Connection", "close"))
    elif head is not None and head.version == b"1.0":
        headers.append(("Connection", "keep-alive"))
    head_request = head is not None and head.method == b"HEAD"
    out = response_head(reject.status, b"", [(name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
                                             for name, value in headers])
    if not head_request:
        out += body
    try:
        await client.stream.send_all(out)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return 0
    if close:
        await linger(client.stream)
    return len(body)
