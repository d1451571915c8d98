"""What the edge does with a request that asks to switch protocols, and how many tunnels a
deployment may hold open (sans I/O).

After a ``101`` the edge only copies bytes, out of reach of its per-request checks (rate limit,
quota, head size), so only a well-formed WebSocket handshake may reach a worker as an upgrade.
Anything else (``Upgrade: h2c`` above all, which hypercorn answers with 101 and then serves as
HTTP/2) loses its ``Upgrade``, ``HTTP2-Settings`` and ``Connection`` fields on the way and is
served as the plain HTTP/1.1 request it also is: RFC 9110 section 7.8 lets a server ignore
``Upgrade``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# base64 of exactly 16 bytes (RFC 6455 section 4.2.1): 22 digits, the last carrying 2 bits, then "=="
_WEBSOCKET_KEY = re.compile(rb"[A-Za-z0-9+/]{21}[AQgw]==")


@dataclass(frozen=True, slots=True)
class UpgradeDecision:
    """``websocket``: forward the handshake; otherwise ``reason`` says why the upgrade is dropped."""

    websocket: bool
    reason: str = ""


WEBSOCKET = UpgradeDecision(True)


def decide_upgrade(method: bytes, version: bytes, headers: list[tuple[bytes, bytes]]) -> UpgradeDecision:
    """For a request whose ``Connection`` names ``upgrade`` and that carries ``Upgrade``
    (``RequestHead.upgrade``); ``headers`` as the parser returns them (lower-case names)."""
    protocols: list[bytes] = []
    versions: list[bytes] = []
    keys: list[bytes] = []
    for name, value in headers:
        if name == b"upgrade":
            protocols += (token.strip(b" \t").lower() for token in value.split(b","))
        elif name == b"sec-websocket-version":
            versions.append(value)
        elif name == b"sec-websocket-key":
            keys.append(value)
    if protocols != [b"websocket"]:
        return UpgradeDecision(False, "not-websocket")
    if method != b"GET" or version != b"1.1":
        return UpgradeDecision(False, "websocket-method")
    if versions != [b"13"]:
        return UpgradeDecision(False, "websocket-version")
    if len(keys) != 1 or _WEBSOCKET_KEY.fullmatch(keys[0]) is None:
        return UpgradeDecision(False, "websocket-key")
    return WEBSOCKET


@dataclass
class TunnelSlots:
    """Open tunnels per deployment, under a cap: each holds a file descriptor in its worker
    (whose descriptors are limited) and one in the edge for as long as it lasts."""

    cap: int
    open: dict[str, int] = field(default_factory=dict)

    def acquire(self, deployment: str) -> bool:
        count = self.open.get(deployment, 0)
        if count >= self.cap:
            return False
        self.open[deployment] = count + 1
        return True

    def release(self, deployment: str) -> None:
        count = self.open.get(deployment, 0) - 1
        if count > 0:
            self.open[deployment] = count
        else:
            self.open.pop(deployment, None)
