"""The API key of a private deployment on a WebSocket handshake from a browser (sans I/O).

A browser's ``new WebSocket(url, protocols)`` cannot set ``Authorization``; it can put the key in
the URL (``?token=<key>``) or offer it as a subprotocol (``mockfleet.bearer.<key>``, next to the
protocol it really speaks, which the mock then accepts). The edge takes the key from either
place and removes it before forwarding, so it never reaches the worker, its logs or templates.
``Authorization: Bearer`` wins when present; the other forms are only read on WebSocket handshakes.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

KEY_PROTOCOL_PREFIX = b"mockfleet.bearer."
TOKEN_PARAMETER = b"token"


def key_from_query(target: bytes) -> tuple[str, bytes]:
    """The first ``token`` parameter's value and the target without any ``token`` parameter."""
    path, question, query = target.partition(b"?")
    if not question:
        return "", target
    found = ""
    kept: list[bytes] = []
    taken = False
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if unquote_to_bytes(name.replace(b"+", b" ")) == TOKEN_PARAMETER:
            if not taken:
                found = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8", "replace")
                taken = True
            continue
        kept.append(part)
    if not taken:
        return "", target
    return found, path + (b"?" + b"&".join(kept) if kept else b"")


def key_from_protocols(headers: list[tuple[bytes, bytes]]) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The key offered as ``mockfleet.bearer.<key>`` and the headers without that offer
    (the ``Sec-WebSocket-Protocol`` field dropped when nothing else is left in it)."""
    found = ""
    out: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name != b"sec-websocket-protocol":
            out.append((name, value))
            continue
        kept: list[bytes] = []
        for offer in value.split(b","):
            token = offer.strip(b" \t")
            if token.startswith(KEY_PROTOCOL_PREFIX):
                found = found or token[len(KEY_PROTOCOL_PREFIX):].decode("latin-1")
            else:
                kept.append(token)
        if kept:
            out.append((name, b", ".join(kept)))
    return found, out


def browser_key(target: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[str, bytes, list[tuple[bytes, bytes]]]:
    """(key or "", target and headers to forward) for a WebSocket handshake."""
    from_protocols, headers = key_from_protocols(headers)
    from_query, target = key_from_query(target)
    return from_protocols or from_query, target, headers
