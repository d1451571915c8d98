"""Client request heads, parsed and checked in one pass (sans I/O).

The edge is the only process that reads bytes from the network, so this parser is where
anything two HTTP implementations could read differently gets refused: the grammar is RFC
9112's (what h11 accepts, checked side by side in the tests), obsolete line folding, bare CR,
control characters, a malformed, repeated or conflicting Content-Length, any Transfer-Encoding
but a single ``chunked`` and a missing or repeated Host are errors, and the worker behind
the edge only ever sees a head the edge wrote itself. It replaced h11 on this side because
h11's general state machine was the largest single cost per proxied request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .field_names import lower_field_name

MAX_CONTENT_LENGTH_DIGITS = 18

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/(\d)\.(\d)")
# besides the line feeds between lines, only HTAB and visible/obs-text bytes may appear
_CONTROLS = bytes(range(0x00, 0x09)) + bytes(range(0x0b, 0x20)) + b"\x7f"


class BadRequest(Exception):
    """A request the edge refuses before routing it; the connection closes after the answer."""

    def __init__(self, status: int, message: str, reason: str = "bad-request") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


@dataclass(slots=True)
class RequestHead:
    """A parsed request head and the facts about it the edge routes and frames by."""

    method: bytes
    target: bytes
    version: bytes  # b"1.1" or b"1.0"
    headers: list[tuple[bytes, bytes]]  # names lower-cased, values without surrounding whitespace, in order
    host: bytes
    content_length: int | None
    chunked: bool
    authorization: list[bytes]
    keep_alive: bool
    upgrade: bool
    expect_continue: bool = False  # the client waits for "100 Continue" before its body

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


def find_head_end(buffer: bytes | bytearray, start: int = 0) -> tuple[int, int]:
    """Where the head in ``buffer`` ends and where what follows it starts, or (-1, -1).

    A blank line follows a line end as LF LF or LF CR LF (a bare LF ends a line too, RFC 9112
    section 2.2); two ``find`` calls beat a regular-expression search, which tries a match at
    every byte."""
    lf_lf = buffer.find(b"\n\n", start)
    lf_crlf = buffer.find(b"\n\r\n", start)
    if lf_crlf >= 0 and (lf_lf < 0 or lf_crlf < lf_lf):
        at, rest = lf_crlf, lf_crlf + 3
    elif lf_lf >= 0:
        at, rest = lf_lf, lf_lf + 2
    else:
        return -1, -1
    return (at - 1 if at > start and buffer[at - 1] == 13 else at), rest


def parse_request_head(raw: bytes, max_headers: int, max_target: int) -> RequestHead:
    """The head without its blank line. Raises ``BadRequest`` with the status to answer."""
    text = raw.replace(b"\r\n", b"\n") if b"\r" in raw else raw
    if b"\r" in text:
        raise BadRequest(400, "bare CR in request head", "smuggling")
    lines = text.split(b"\n")
    request_line = lines[0]
    if len(text.translate(None, _CONTROLS)) != len(text):
        raise BadRequest(400, "control character in request head")
    matched = _REQUEST_LINE.fullmatch(request_line)
    if matched is None:
        parts = request_line.split(b" ")
        if len(parts) == 3 and len(parts[1]) > max_target:
            raise BadRequest(414, "request target too long", "target")
        raise BadRequest(400, "malformed request line")
    method, target, major, minor = matched.groups()
    if len(target) > max_target:
        raise BadRequest(414, "request target too long", "target")
    if major != b"1" or minor not in (b"0", b"1"):
        raise BadRequest(505, "only HTTP/1.0 and HTTP/1.1 are served")
    version = b"1." + minor
    if len(lines) - 1 > max_headers:
        raise BadRequest(431, "too many header fields", "headers")
    headers: list[tuple[bytes, bytes]] = []
    hosts: list[bytes] = []
    lengths: list[bytes] = []
    encodings: list[bytes] = []
    connection: list[bytes] = []
    authorization: list[bytes] = []
    has_upgrade = False
    expect_continue = False
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise BadRequest(400, "obsolete line folding in header fields", "smuggling")
        raw_name, colon, value = line.partition(b":")
        name = lower_field_name(raw_name) if colon else None
        if name is None:
            raise BadRequest(400, f"malformed header field {line[:40]!r}")
        value = value.strip(b" \t")
        headers.append((name, value))
        if name == b"host":
            hosts.append(value)
        elif name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            encodings.append(value)
        elif name == b"connection":
            connection.append(value)
        elif name == b"authorization":
            authorization.append(value)
        elif name == b"upgrade":
            has_upgrade = True
        elif name == b"expect":
            expect_continue = value.lower() == b"100-continue"
    content_length = _content_length(lengths, encodings)
    chunked = bool(encodings)
    if chunked and version == b"1.0":
        raise BadRequest(400, "Transfer-Encoding in an HTTP/1.0 request", "smuggling")
    if len(hosts) != 1:
        raise BadRequest(400, "exactly one Host header is required", "host")
    tokens = {token.strip(b" \t").lower() for value in connection for token in value.split(b",")}
    # HTTP/1.0 clients (ApacheBench -k among them) keep the connection only when they ask to
    keep_alive = b"close" not in tokens if version == b"1.1" else b"keep-alive" in tokens
    return RequestHead(method, target, version, headers, hosts[0], content_length, chunked, authorization,
                       keep_alive, has_upgrade and b"upgrade" in tokens, expect_continue and version == b"1.1")


def _content_length(lengths: list[bytes], encodings: list[bytes]) -> int | None:
    if len(lengths) > 1:
        raise BadRequest(400, "duplicate Content-Length", "smuggling")
    if lengths and encodings:
        raise BadRequest(400, "Content-Length together with Transfer-Encoding", "smuggling")
    if len(encodings) > 1 or (encodings and encodings[0].lower() != b"chunked"):
        raise BadRequest(501, "only a single Transfer-Encoding: chunked is accepted", "smuggling")
    if not lengths:
        return None
    value = lengths[0]
    if not value.isdigit() or len(value) > MAX_CONTENT_LENGTH_DIGITS:
        raise BadRequest(400, "malformed Content-Length", "smuggling")
    return int(value)
