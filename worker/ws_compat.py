"""Make hypercorn's WebSocket handshake behave as Mockoon's ``ws`` server does.

hypercorn answers a handshake it finds invalid with an empty 400 before the application sees
it, and negotiates permessage-deflate; Mockoon first looks for a ws route (404 "No WebSocket
route found for this path"), then lets the ``ws`` library answer with its own messages, and
never compresses, and reports the code of the client's close frame. ``install()`` hands every HTTP/1.1 handshake to the application
(``websocket_routes.handshake_refusal`` does the checks), leaves extensions out of the 101,
and adds ``scope["extensions"]["mockfleet.terminate"]``: drop the TCP connection without a
close frame, which is how Mockoon ends the connections of a removed route and a refused upgrade.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TERMINATE = "mockfleet.terminate"
_installed = False


def install() -> None:
    """Patch hypercorn 0.17's WebSocket stream once per process (the worker's only)."""
    global _installed
    if _installed:
        return
    from hypercorn.events import Closed
    from hypercorn.protocol import ws_stream
    from hypercorn.protocol.events import Request, StreamClosed
    from wsproto.connection import ConnectionState
    from wsproto.events import CloseConnection

    class NodeHandshake(ws_stream.Handshake):
        def is_valid(self) -> bool:
            return self.http_version == "1.1"  # the application checks the rest, in the ws library's order

        def accept(self, subprotocol: str | None, additional_headers: Iterable[tuple[bytes, bytes]]) -> Any:
            self.extensions = None  # Mockoon's ws server has permessage-deflate off
            return super().accept(subprotocol, additional_headers)

    ws_stream.Handshake = NodeHandshake  # type: ignore[misc]
    original = ws_stream.WSStream.handle
    original_send_event = ws_stream.WSStream._send_wsproto_event

    async def send_event(self: Any, event: Any) -> None:
        if isinstance(event, CloseConnection) and self.connection.state == ConnectionState.REMOTE_CLOSING:
            self.remote_close = (event.code, event.reason)  # the client's close frame, echoed
        await original_send_event(self, event)

    async def handle(self: Any, event: Any) -> None:
        remote = getattr(self, "remote_close", None)
        if isinstance(event, StreamClosed) and remote is not None and not self.closed:
            # hypercorn reports 1006 for a connection the client closed cleanly: report its code
            self.closed = True
            if self.app_put is not None:
                await self.app_put({"type": "websocket.disconnect", "code": remote[0], "reason": remote[1] or ""})
            return
        await original(self, event)
        if isinstance(event, Request) and not self.closed:
            stream = self

            async def terminate() -> None:
                stream.closed = True
                protocol = getattr(stream.send, "__self__", None)
                if protocol is not None:
                    await protocol.send(Closed())

            # the app reads it long after this (the scope is the dict it was given)
            self.scope["extensions"][TERMINATE] = terminate

    ws_stream.WSStream.handle = handle  # type: ignore[method-assign]
    ws_stream.WSStream._send_wsproto_event = send_event  # type: ignore[method-assign]
    _installed = True
