"""``new URL(text).pathname`` (WHATWG URL), enough of it for OpenAPI server URLs.

Mockoon takes the endpoint prefix of an import from its first server's URL with the browser's URL
parser; ``urllib.parse`` differs on the cases that matter here (empty paths are ``/`` for http,
dot segments collapse, ``host:port/path`` without a scheme parses as scheme ``host``).
"""

from __future__ import annotations

import re

SPECIAL_SCHEMES = {"http", "https", "ws", "wss", "ftp", "file"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_FORBIDDEN_HOST = set("\0\t\n\r #/:<>?@[\\]^|%")
_PATH_ENCODE = set(' "#<>?`{}')


def _encode(segment: str, keep: set[str]) -> str:
    out = []
    for ch in segment:
        if ord(ch) < 0x20 or ord(ch) == 0x7F or ch in keep:
            out.append("".join(f"%{b:02X}" for b in ch.encode()))
        elif ord(ch) > 0x7E:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    return "".join(out)


def _normalise(path: str) -> str:
    segments: list[str] = []
    parts = path.split("/")[1:]
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        lowered = part.lower()
        if lowered in ("..", ".%2e", "%2e.", "%2e%2e"):
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in (".", "%2e"):
            if last:
                segments.append("")
        else:
            segments.append(_encode(part, _PATH_ENCODE - {"?", "#"}))
    return "/" + "/".join(segments)


def url_pathname(text: str) -> str | None:
    """The pathname ``new URL(text)`` gives, or None where it throws (no scheme, bad host…)."""
    text = text.strip("".join(chr(c) for c in range(0x21))).replace("\t", "").replace("\n", "").replace("\r", "")
    match = _SCHEME.match(text)
    if match is None:
        return None
    scheme = match.group(1).lower()
    rest = text[match.end():]
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    if scheme in SPECIAL_SCHEMES:
        rest = rest.replace("\\", "/")
        if scheme == "file":
            if rest.startswith("//"):
                rest = rest[2:].partition("/")[2]
            return _normalise("/" + rest.lstrip("/"))
        rest = rest.lstrip("/")
        authority, slash, path = rest.partition("/")
        hostport = authority.rpartition("@")[2]
        if hostport.startswith("["):
            host, _, port = hostport.partition("]")
            port = port.removeprefix(":")
        else:
            host, _, port = hostport.partition(":")
            if not host or any(ch in _FORBIDDEN_HOST for ch in host):
                return None
        if port and (not port.isdigit() or int(port) > 65535):
            return None
        return _normalise("/" + path) if slash else "/"
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        return _normalise("/" + path) if slash else ""
    return _encode(rest, set())
