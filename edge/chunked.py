"""Chunked transfer coding followed over raw bytes (sans I/O), for request bodies from clients
and response bodies from workers alike.

The tracker never guesses: a size that is not hex, a missing CRLF after chunk data, a bare LF
or an endless line is a ``FramingError``, because a message whose end two parsers could place
differently is how requests get smuggled.
"""

from __future__ import annotations

MAX_LINE_BYTES = 4096
MAX_SIZE_DIGITS = 16
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


class FramingError(ValueError):
    """Chunked framing that does not follow RFC 9112 section 7.1."""


class ChunkTracker:
    """Finds where a chunked message ends; with ``decode`` it also collects the payload."""

    __slots__ = ("state", "remaining", "line", "done", "payload")

    def __init__(self, decode: bool = False) -> None:
        self.state = "size"  # size → data → data-crlf → size … → trailer
        self.remaining = 0
        self.line = bytearray()
        self.done = False
        self.payload: bytearray | None = bytearray() if decode else None

    def feed(self, data: bytes | bytearray) -> int:
        """How many leading bytes of ``data`` belong to the message (all, until it ends)."""
        pos = 0
        end = len(data)
        while pos < end and not self.done:
            state = self.state
            if state == "data":
                take = min(self.remaining, end - pos)
                if self.payload is not None:
                    self.payload += data[pos:pos + take]
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.state, self.remaining = "data-crlf", 2
            elif state == "data-crlf":
                take = min(self.remaining, end - pos)
                expected = b"\r\n"[2 - self.remaining:2 - self.remaining + take]
                if bytes(data[pos:pos + take]) != expected:
                    raise FramingError("chunk data not followed by CRLF")
                pos += take
                self.remaining -= take
                if not self.remaining:
                    self.state = "size"
            else:  # a line: a chunk size, or a trailer line
                newline = data.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                self.line += data[pos:stop]
                pos = stop
                if len(self.line) > MAX_LINE_BYTES:
                    raise FramingError("chunk line too long")
                if newline >= 0:
                    self._line_done(bytes(self.line))
                    self.line.clear()
        return pos

    def _line_done(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise FramingError("bare LF in chunked framing")
        text = line[:-2]
        if self.state == "trailer":
            if not text:
                self.done = True
            elif text[:1] in (b" ", b"\t") or b":" not in text:
                raise FramingError("malformed trailer field")
            return
        size_text = text.split(b";", 1)[0].rstrip(b" \t")
        if not size_text or len(size_text) > MAX_SIZE_DIGITS or not HEX_DIGITS.issuperset(size_text):
            raise FramingError(f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            self.state = "trailer"
        else:
            self.state, self.remaining = "data", size
