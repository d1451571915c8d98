"""Where a request says it is going, checked against where it arrived (sans I/O).

The plain-HTTP port answers 308 to the same URL over HTTPS; a Location built from a target
that is not a path (``@evil.example/x`` makes ``https://host@evil.example/x``, a URL whose
host is evil.example) would be an open redirect, so only origin-form targets are redirected.
Over TLS, a Host naming another host than the TLS server name (SNI) is a request for a
connection the client opened to someone else: 421 (RFC 9110 section 15.5.20).
"""

from __future__ import annotations

# a path: "/" then visible ASCII, which the parser already guarantees for every target byte
_ORIGIN_FORM_START = b"/"


def redirect_location(host: str, https_port: int, target: bytes) -> str | None:
    """The HTTPS URL for an origin-form ``target`` (``/path?query``), None for any other form
    (absolute, authority, asterisk: anything not starting with ``/``)."""
    if not target.startswith(_ORIGIN_FORM_START):
        return None
    port = "" if https_port == 443 else f":{https_port}"
    return f"https://{host}{port}{target.decode('ascii')}"


def misdirected(server_name: str | None, host: str) -> bool:
    """Whether the TLS server name and the Host (both lower-case, no port) name different hosts;
    a client that sent no server name (an IP address) is not checked."""
    return server_name is not None and server_name.rstrip(".") != host
