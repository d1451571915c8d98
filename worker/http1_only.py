"""hypercorn serving HTTP/1.1 only: no ``Upgrade: h2c`` and no ``PRI *`` prior knowledge.

hypercorn 0.17 has no setting for either: ``H11Protocol._check_protocol`` answers any request
carrying ``Upgrade: h2c`` (and no body) with ``101`` and hands the connection to its HTTP/2
protocol, and a ``PRI * HTTP/2.0`` request line does the same without asking; ALPN
(``Config.alpn_protocols``) only matters under TLS, which workers never use. An HTTP/2
connection behind the edge is a tunnel the edge cannot meter, so the worker refuses to have
one: an h2c upgrade is served as the HTTP/1.1 request it also is (RFC 9110 section 7.8 lets a
server ignore ``Upgrade``) and prior knowledge is answered ``505`` and the connection closed.
"""

from __future__ import annotations

import h11
import hypercorn.protocol
from hypercorn.config import Config
from hypercorn.events import Closed
from hypercorn.protocol.h11 import H11Protocol


class Http11OnlyProtocol(H11Protocol):
    """hypercorn's HTTP/1.1 protocol without its two ways into HTTP/2."""

    _refused = False

    async def _check_protocol(self, event: h11.Request) -> None:
        if event.method == b"PRI" and event.target == b"*" and event.http_version == b"2.0":
            await self._send_error_response(505)
            await self.send(Closed())
            self._refused = True

    async def _create_stream(self, request: h11.Request) -> None:
        if not self._refused:  # a refused request gets no stream: the event loop then stops reading
            await super()._create_stream(request)


def install(config: Config) -> None:
    """Serve through ``Http11OnlyProtocol``: hypercorn's ``ProtocolWrapper`` looks the class up
    in ``hypercorn.protocol`` for every connection."""
    config.alpn_protocols = ["http/1.1"]
    hypercorn.protocol.H11Protocol = Http11OnlyProtocol  # type: ignore[misc]
