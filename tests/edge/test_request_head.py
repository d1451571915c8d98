"""The edge's request-head parser: what it accepts, what it refuses and why, and that it is
never more lenient than h11 (the parser it replaced), checked side by side on generated heads."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.request_head import BadRequest, RequestHead, find_head_end, parse_request_head


def parse(raw: bytes) -> RequestHead:
    return parse_request_head(raw, max_headers=100, max_target=8192)


def test_a_head_is_split_with_names_lowered_and_values_trimmed() -> None:
    head = parse(b"POST /a?b=1 HTTP/1.1\r\nHost: Mock.Example\r\nContent-Length: 5\r\nX-A: \t b c \t\r\n"
                 b"Authorization: Bearer k\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket")
    assert (head.method, head.target, head.version) == (b"POST", b"/a?b=1", b"1.1")
    assert head.headers == [(b"host", b"Mock.Example"), (b"content-length", b"5"), (b"x-a", b"b c"),
                            (b"authorization", b"Bearer k"), (b"connection", b"keep-alive, Upgrade"),
                            (b"upgrade", b"websocket")]
    assert (head.host, head.content_length, head.chunked, head.keep_alive, head.upgrade) == (
        b"Mock.Example", 5, False, True, True)
    assert head.authorization == [b"Bearer k"] and head.has_body


@pytest.mark.parametrize("raw,keep_alive,has_body", [
    (b"GET / HTTP/1.1\r\nHost: a", True, False),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close", False, False),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE", False, False),
    (b"GET / HTTP/1.0\r\nHost: a", False, False),
    (b"GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive", True, False),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0", True, False),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked", True, True),
    (b"GET / HTTP/1.1\nHost: a\nX: y", True, False),  # bare LF line endings (RFC 9112 section 2.2)
])
def test_keep_alive_and_body(raw: bytes, keep_alive: bool, has_body: bool) -> None:
    head = parse(raw)
    assert (head.keep_alive, head.has_body) == (keep_alive, has_body)


@pytest.mark.parametrize("raw,status,reason", [
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b", 400, "smuggling"),  # obs-fold
    (b"GET / HTTP/1.1\r\nHost: a\r\n\tX-A: b", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: " + b"9" * 19, 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked", 501, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 501, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked", 501, "smuggling"),
    (b"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked", 400, "smuggling"),
    (b"GET / HTTP/1.1\r\nHost: a\rX: b", 400, "smuggling"),  # bare CR
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\x00", 400, "bad-request"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: b\x7f", 400, "bad-request"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX : b", 400, "bad-request"),  # whitespace before the colon
    (b"GET / HTTP/1.1\r\nHost: a\r\nX\t: b", 400, "bad-request"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nno colon", 400, "bad-request"),
    (b"GET / HTTP/1.1\r\nHost: a\r\n: empty name", 400, "bad-request"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX(y): b", 400, "bad-request"),
    (b"GET / HTTP/1.1", 400, "host"),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b", 400, "host"),
    (b"GET  / HTTP/1.1\r\nHost: a", 400, "bad-request"),
    (b"GET / HTTP/1.1 \r\nHost: a", 400, "bad-request"),
    (b"GET /a b HTTP/1.1\r\nHost: a", 400, "bad-request"),
    (b"G(T / HTTP/1.1\r\nHost: a", 400, "bad-request"),
    (b"GET / HTTP/2.0\r\nHost: a", 505, "bad-request"),
    (b"GET / HTTP/1.2\r\nHost: a", 505, "bad-request"),
    (b"GET / http/1.1\r\nHost: a", 400, "bad-request"),
    (b"\x16\x03\x01hello", 400, "bad-request"),
    (b"GET /" + b"a" * 8192 + b" HTTP/1.1\r\nHost: a", 414, "target"),
    (b"GET / HTTP/1.1\r\nHost: a" + b"\r\nX: y" * 100, 431, "headers"),
])
def test_refusals_name_their_status_and_reason(raw: bytes, status: int, reason: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse(raw)
    assert (refused.value.status, refused.value.reason) == (status, reason), refused.value.message


def test_a_known_field_name_without_its_colon_is_still_refused() -> None:
    parse(b"GET / HTTP/1.1\r\nHost: a\r\nX-Known: 1")  # now a name seen before
    for line in (b"X-Known", b"Host"):
        with pytest.raises(BadRequest):
            parse(b"GET / HTTP/1.1\r\nHost: a\r\n" + line)


def test_the_head_ends_at_the_first_blank_line_whatever_the_line_endings() -> None:
    assert find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody") == (23, 27)
    assert find_head_end(b"GET / HTTP/1.1\nHost: a\n\nGET / HTTP/1.1\r\n\r\n") == (22, 24)
    assert find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n") == (-1, -1)
    assert find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", start=20) == (23, 27)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40).map(lambda b: bytes(b"a\r\n"[x % 3] for x in b)), st.integers(0, 5))
def test_the_head_end_is_where_a_blank_line_first_follows_a_line_end(buffer: bytes, start: int) -> None:
    import re

    found = re.compile(rb"\r?\n\r?\n").search(buffer, start)
    assert find_head_end(buffer, start) == ((found.start(), found.end()) if found else (-1, -1))


# Side by side with h11: heads built from pieces that are valid, invalid and borderline.
_METHODS = st.sampled_from([b"GET", b"POST", b"HEAD", b"M-SEARCH", b"G T", b"", b"GET\x00", b"g{t"])
_TARGETS = st.sampled_from([b"/", b"/a?b=c", b"*", b"http://x/y", b"/a b", b"/\x7f", b"/\xc3\xa9", b""])
_VERSIONS = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.1 ", b"HTTP/2.0", b"HTTP/1.x", b"HTTPS/1.1"])
_NAMES = st.sampled_from([b"Host", b"host", b"X-A", b"Content-Length", b"Transfer-Encoding", b"Connection",
                          b"X A", b"X:A", b"", b"X\x00", b"X\t", b" X", b"\xff"])
_VALUES = st.sampled_from([b"a", b" a ", b"", b"a b", b"a\tb", b"0", b"12", b"-1", b"1,1", b"chunked", b"close",
                           b"\xc3\xa9", b"a\x00b", b"a\x01", b"a\x7f", b"a\rb", b"a\nb", b"a\r\n b"])


@st.composite
def _heads(draw: st.DrawFn) -> bytes:
    line = draw(_METHODS) + b" " + draw(_TARGETS) + b" " + draw(_VERSIONS)
    fields = draw(st.lists(st.tuples(_NAMES, _VALUES), max_size=5))
    if draw(st.booleans()):
        fields.insert(draw(st.integers(0, len(fields))), (b"Host", b"mock.example"))
    ending = draw(st.sampled_from([b"\r\n", b"\n"]))
    return ending.join([line, *(name + b":" + value for name, value in fields)])


def _h11(raw: bytes) -> h11.Request | None:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(raw + b"\r\n\r\n")
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    return event if isinstance(event, h11.Request) else None


# where the edge is deliberately stricter than h11 (each is a smuggling or routing hazard; h11
# lets any byte but NUL and whitespace into a field value, RFC 9110 only visible ones and obs-text)
_STRICTER = {"control character in request head", "duplicate Content-Length", "Content-Length together with Transfer-Encoding",
             "only a single Transfer-Encoding: chunked is accepted", "exactly one Host header is required",
             "Transfer-Encoding in an HTTP/1.0 request", "obsolete line folding in header fields"}


@settings(max_examples=600, deadline=None)
@given(_heads())
def test_never_more_lenient_than_h11_and_reads_the_same_head(raw: bytes) -> None:
    reference = _h11(raw)
    try:
        head = parse(raw)
    except BadRequest as refused:
        assert reference is None or refused.message in _STRICTER or refused.status == 505, (raw, refused.message)
        return
    assert reference is not None, raw
    assert (head.method, head.target, b"1." + head.version[-1:]) == (
        reference.method, reference.target, reference.http_version)
    assert head.headers == [(name, value) for name, value in reference.headers], raw
