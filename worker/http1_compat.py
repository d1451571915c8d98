"""Speak HTTP/1.1 as Mockoon's Node server does where hypercorn and h11 differ.

Methods: Node's parser accepts only the methods it knows, by their exact upper-case names,
and answers anything else (``get /x``) with a bare 400; hypercorn upper-cases whatever token
it is given. ``install()`` makes h11 refuse other methods, so hypercorn answers 400 too.

Header values: Node writes them as given, with their leading and trailing spaces.

Node writes a header value as given; hypercorn strips every value and h11 refuses one with
outer whitespace. A template such as ``{{method}} {{urlParam 'x'}}`` therefore answered
``GET`` where Mockoon answers ``GET ``. ``install()`` narrows both to what Node checks (no
CR, LF or NUL; names still stripped). It only touches headers we send: h11 validates the
headers it parses with its own grammar, before this check is reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NODE_METHODS = frozenset({
    "ACL", "BIND", "CHECKOUT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE", "MKACTIVITY",
    "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH", "PURGE", "PUT",
    "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK", "UNLOCK", "UNSUBSCRIBE",
})
_installed = False
# field content with optional spaces/tabs around it, still no control characters but HTAB
_VALUE = re.compile(rb"[ \t]*(?:[\x21-\x7e\x80-\xff]+(?:[ \t]+[\x21-\x7e\x80-\xff]+)*)?[ \t]*")


def _headers_as_given(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    validated: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name[:1] == b":":
            raise ValueError("Pseudo headers are not valid")
        validated.append((bytes(name).strip(), bytes(value)))
    return validated


def install() -> None:
    """Patch hypercorn 0.17's HTTP/1 response path once per process (the worker's only)."""
    global _installed
    if _installed:
        return
    import h11._headers
    import h11._readers
    from h11 import _abnf
    from hypercorn.protocol import http_stream

    token_method = f"(?P<method>{_abnf.method})"
    assert token_method in _abnf.request_line
    known = "|".join(re.escape(m) for m in sorted(NODE_METHODS, key=len, reverse=True))
    h11._readers.request_line_re = re.compile(  # type: ignore[attr-defined]
        _abnf.request_line.replace(token_method, f"(?P<method>{known})").encode("ascii"))
    h11._headers._field_value_re = _VALUE  # type: ignore[attr-defined]
    http_stream.build_and_validate_headers = _headers_as_given  # type: ignore[attr-defined]
    _installed = True
