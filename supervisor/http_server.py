"""A small HTTP/1.1 server on trio + h11 for the deployments API (bodies are buffered, bounded)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11
import trio

log = logging.getLogger("mockfleet.supervisor.http")


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, payload: Any) -> HttpResponse:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return cls(status, data, [("Content-Type", "application/json")])


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


async def serve_connection(stream: trio.abc.Stream, handler: Handler, max_body: int,
                           idle_timeout: float = 30.0) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    try:
        while True:
            request: h11.Request | None = None
            chunks: list[bytes] = []
            size = 0
            too_large = False
            with trio.move_on_after(idle_timeout) as idle:
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await stream.receive_some(65536)
                        conn.receive_data(bytes(data))
                        if not data and conn.their_state is not h11.DONE:
                            return
                        continue
                    if isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        size += len(event.data)
                        if size > max_body:
                            too_large = True
                            break
                        chunks.append(event.data)
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        return
            if idle.cancelled_caught or request is None:
                return
            if too_large:
                response = HttpResponse.json(413, {"message": f"request body exceeds {max_body} bytes"})
            else:
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in request.headers}
                http_request = HttpRequest(request.method.decode(), request.target.decode("latin-1"), headers,
                                           b"".join(chunks))
                try:
                    response = await handler(http_request)
                except Exception:  # noqa: BLE001 - a bug in one call must not close the API
                    log.exception("handler failed")
                    response = HttpResponse.json(500, {"message": "internal error"})
            headers_out = [*response.headers, ("Content-Length", str(len(response.body)))]
            if too_large:
                headers_out.append(("Connection", "close"))
            await stream.send_all(conn.send(h11.Response(status_code=response.status, headers=headers_out)) or b"")
            await stream.send_all(conn.send(h11.Data(data=response.body)) or b"")
            await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
            if conn.our_state is h11.MUST_CLOSE or too_large:
                return
            conn.start_next_cycle()
    except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
        return
    finally:
        await trio.aclose_forcefully(stream)
