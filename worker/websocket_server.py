"""The ASGI shell of WebSocket routes: handshakes, connections, streams. Decisions (which route,
which refusal, which response, what text) come from ``websocket_routes``; this module only
moves messages, keeps the connections of each route and runs the streaming timers.

As in Mockoon 9.9: one-to-one routes answer each text message (binary ones are ignored) after
the chosen response's latency; UNICAST streams tick per connection from its start; a BROADCAST
stream is one per endpoint, started by its first client with that client's request, shared by
every client of the route. A live update that removes or changes a ws route drops its
connections without a close frame and stops its stream, as Mockoon terminates them.
Differences, on purpose: a broadcast stream pauses while it has no client (Mockoon's keeps
ticking for nobody), and an upgrade to an environment without ws routes gets the "no route"
404 (Mockoon leaves that connection hanging).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from schemas.environment import RouteResponse

from .request_model import RequestView
from .responder import MockServer, Scope, served_routes
from .routing import dedup_slashes
from .templating import TemplateError
from .transactions import EventHub
from .websocket_routes import (
    NO_ROUTE,
    HandshakeRefusal,
    UpgradeRequestView,
    WsRoute,
    choose_ws_response,
    compile_ws_routes,
    file_error_message,
    find_ws_route,
    handshake_refusal,
    message_view,
    parse_subprotocols,
    response_source,
    route_params,
)
from .ws_compat import TERMINATE

log = logging.getLogger("mockfleet.worker.ws")
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
OUTBOX_LIMIT = 1024  # messages waiting for a slow client; beyond it the client loses the oldest


@dataclass
class WsLimits:
    """Per-connection guards of a deployment (0: none). Closing codes are RFC 6455's."""

    max_message_bytes: int = 0  # larger messages close the connection with 1009
    messages_in_per_second: int = 0  # a client sending faster is closed with 1008
    idle_seconds: float = 0  # nothing either way for this long: closed with 1001


class Connection:
    """One accepted WebSocket: its route, upgrade request and an outbox drained by one task."""

    def __init__(self, route: WsRoute, upgrade: RequestView, send: ASGISend, scope: dict[str, Any]) -> None:
        self.id = str(uuid.uuid4())
        self.route = route
        self.upgrade = upgrade
        self._send = send
        self.scope = scope
        self.outbox: deque[str] = deque(maxlen=OUTBOX_LIMIT)
        self.ready = asyncio.Event()
        self.open = True
        self.number = 1  # Mockoon's per-connection response number
        self.last_activity = time.monotonic()
        self.tasks: list[asyncio.Task[None]] = []

    def push(self, text: str) -> None:
        if self.open:
            self.outbox.append(text)
            self.ready.set()

    async def writer(self) -> None:
        while self.open:
            await self.ready.wait()
            self.ready.clear()
            while self.outbox and self.open:
                text = self.outbox.popleft()
                self.last_activity = time.monotonic()
                await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int, reason: str = "") -> None:
        if self.open:
            self.open = False
            self.ready.set()
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def terminate(self) -> None:
        """Drop the TCP connection without a close frame (Mockoon's ``client.terminate()``)."""
        if not self.open:
            return
        self.open = False
        self.ready.set()
        terminate = self.scope.get("extensions", {}).get(TERMINATE)
        if terminate is not None:
            await terminate()
        else:
            await self._send({"type": "websocket.close", "code": 1001, "reason": ""})


@dataclass
class BroadcastStream:
    """One stream per endpoint, shared by every client of the route (Mockoon's BroadcastContext)."""

    route: WsRoute
    upgrade: RequestView  # the first client's request: what the stream's templates read
    clients: set[Connection] = field(default_factory=set)
    number: int = 1
    task: asyncio.Task[None] | None = None


def _route_fingerprint(route: WsRoute) -> bytes:
    return msgspec.json.encode(route.route)


class WebSocketRoutes:
    """The ws routes of the revision being served, their open connections and streams."""

    def __init__(self, holder: dict[str, MockServer], hub: EventHub, limits: WsLimits | None = None) -> None:
        self.holder = holder
        self.hub = hub
        self.limits = limits or WsLimits()
        self._server: MockServer | None = None
        self.routes: list[WsRoute] = []
        self.connections: dict[str, set[Connection]] = {}  # route uuid → open connections
        self.broadcasts: dict[str, BroadcastStream] = {}  # endpoint → stream
        self.refresh()

    # --- revisions --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Follow a live update: routes removed or changed lose their connections and streams."""
        server = self.holder["server"]
        if server is self._server:
            return
        self._server = server
        routes, errors = compile_ws_routes(served_routes(server.env, server.options.disabled_routes, types=("ws",)),
                                           server.env.endpoint_prefix)
        for problem in errors:
            log.warning("%s", problem)
        before = {r.route.uuid: _route_fingerprint(r) for r in self.routes}
        after = {r.route.uuid: _route_fingerprint(r) for r in routes}
        self.routes = routes
        for route_uuid, fingerprint in before.items():
            if after.get(route_uuid) != fingerprint:
                self._end_route(route_uuid)

    def _end_route(self, route_uuid: str) -> None:
        for endpoint, stream in list(self.broadcasts.items()):
            if stream.route.route.uuid == route_uuid:
                if stream.task is not None:
                    stream.task.cancel()
                del self.broadcasts[endpoint]
        for connection in self.connections.pop(route_uuid, set()):
            asyncio.ensure_future(connection.terminate())

    @property
    def server(self) -> MockServer:
        self.refresh()
        return self.holder["server"]

    def open_connections(self) -> int:
        return sum(len(connections) for connections in self.connections.values())

    async def drain(self, seconds: float) -> None:
        """The worker is stopping (a re-deploy retired it): serve open connections until they
        close or ``seconds`` pass, then close them with 1001 (going away)."""
        deadline = time.monotonic() + seconds
        while self.open_connections() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for connections in list(self.connections.values()):
            for connection in list(connections):
                await connection.close(1001, "server restarting")

    # --- handshakes ---------------------------------------------------------------------------
    def refusal(self, method: str, path: str, headers: list[tuple[str, str]]) -> HandshakeRefusal | None:
        """None to accept; otherwise the HTTP answer Mockoon gives this upgrade."""
        self.refresh()
        found = find_ws_route(self.routes, dedup_slashes(path))
        if found is None:
            return NO_ROUTE
        return handshake_refusal(method, headers)

    async def serve(self, scope: dict[str, Any], receive: Any, send: ASGISend) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        refusal = self.refusal("GET", target, headers)
        if refusal is not None:
            await _send_refusal(scope, send, refusal)
            return
        route = find_ws_route(self.routes, dedup_slashes(target))
        assert route is not None  # refusal() found it
        upgrade = self._upgrade_view(scope, target, headers, route)
        protocols = parse_subprotocols(dict(headers).get("sec-websocket-protocol", "")) if any(
            k == "sec-websocket-protocol" for k, _ in headers) else None
        await send({"type": "websocket.accept", "subprotocol": protocols[0] if protocols else None})
        connection = Connection(route, upgrade, send, scope)
        self.connections.setdefault(route.route.uuid, set()).add(connection)
        self._report("ws-new-connection", "New WebSocket connection", connection)
        connection.tasks.append(asyncio.ensure_future(connection.writer()))
        mode = route.route.streaming_mode
        if mode == "BROADCAST":
            self._join_broadcast(connection)
        elif mode == "UNICAST":
            connection.tasks.append(asyncio.ensure_future(self._unicast(connection)))
        if self.limits.idle_seconds > 0:
            connection.tasks.append(asyncio.ensure_future(self._idle_guard(connection)))
        code, reason = 1005, ""
        try:
            code, reason = await self._read_loop(connection, receive, mode is None)
        finally:
            connection.open = False
            connection.ready.set()
            for task in connection.tasks:
                task.cancel()
            self.connections.get(route.route.uuid, set()).discard(connection)
            self._leave_broadcast(connection)
            self._report("ws-closed", "WebSocket closed", connection, code=code, reason=reason or None)

    async def _read_loop(self, connection: Connection, receive: Any, answers: bool) -> tuple[int, str]:
        limits = self.limits
        window_start, window_count = time.monotonic(), 0
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return int(message.get("code", 1005)), str(message.get("reason") or "")
            if kind != "websocket.receive":
                continue
            connection.last_activity = now = time.monotonic()
            text = message.get("text")
            size = len(text.encode("utf-8", "surrogatepass")) if text is not None else len(message.get("bytes") or b"")
            if limits.max_message_bytes and size > limits.max_message_bytes:
                await connection.close(1009, "message too big")
                continue
            if limits.messages_in_per_second:
                if now - window_start >= 1.0:
                    window_start, window_count = now, 0
                window_count += 1
                if window_count > limits.messages_in_per_second:
                    await connection.close(1008, "too many messages per second")
                    continue
            if text is None or not connection.open:
                continue  # Mockoon ignores binary messages (WS_UNSUPPORTED_CONTENT)
            self._report("ws-message-received", "WebSocket message received", connection, messageData=text)
            if answers:
                self._answer(connection, text)

    # --- one-to-one -------------------------------------------------------------------------------
    def _answer(self, connection: Connection, text: str) -> None:
        route = self._current_route(connection)
        if route is None:
            return  # Mockoon: WS_UNKNOWN_ROUTE, nothing sent
        view = message_view(connection.upgrade, text)
        response = self._choose(route, view, connection.number, text)
        if response is None:
            return
        connection.number += 1
        if response.latency > 0:
            connection.tasks.append(asyncio.ensure_future(self._later(connection, response, view, response.latency)))
        else:
            self._deliver(connection, response, view)

    async def _later(self, connection: Connection, response: RouteResponse, view: RequestView, latency: int) -> None:
        await asyncio.sleep(latency / 1000)
        self._deliver(connection, response, view)

    def _choose(self, route: WsRoute, view: RequestView, number: int, message: str | None) -> RouteResponse | None:
        server = self.server
        scope = Scope(view, server)
        return choose_ws_response(route.route, view, server.state, number, lambda t: _render_or_raw(server, t, scope),
                                  lambda n: scope.random.randrange(n), message)

    def _current_route(self, connection: Connection) -> WsRoute | None:
        self.refresh()
        for route in self.routes:
            if route.route.uuid == connection.route.route.uuid:
                return route
        return None

    def _deliver(self, connection: Connection, response: RouteResponse, view: RequestView) -> None:
        text = self._content(response, view)
        if text is None:
            asyncio.ensure_future(self._file_error(connection, response, view))
        elif text:
            connection.push(text)
            self._report_sent(connection, text)

    def _content(self, response: RouteResponse, view: RequestView) -> str | None:
        """The text to send ('' sends nothing), None for a file body (never read in the cloud)."""
        server = self.server
        source, is_file = response_source(response, server.state)
        if is_file:
            return None
        if response.disable_templating:
            return source
        try:
            return server.engine.render(source, Scope(view, server))
        except TemplateError as error:
            log.warning("WebSocket response %s not sent: template error: %s", response.uuid, error)
            return ""

    async def _file_error(self, connection: Connection, response: RouteResponse, view: RequestView) -> None:
        server = self.server
        path = _render_or_raw(server, response.file_path, Scope(view, server))
        connection.push(file_error_message(path))
        await asyncio.sleep(0)
        while connection.outbox and connection.open:
            await asyncio.sleep(0.001)
        await _close_without_code(connection)

    # --- streams ------------------------------------------------------------------------------
    async def _unicast(self, connection: Connection) -> None:
        interval = connection.route.streaming_interval_ms / 1000
        number = 1
        next_tick = time.monotonic() + interval
        while connection.open:
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            next_tick += interval
            response = self._choose(connection.route, connection.upgrade, number, None)
            if response is None:
                continue
            text = self._content(response, connection.upgrade)
            number += 1
            if text:
                connection.push(text)
                self._report_sent(connection, text)

    def _join_broadcast(self, connection: Connection) -> None:
        endpoint = connection.route.route.endpoint
        stream = self.broadcasts.get(endpoint)
        if stream is None:
            stream = self.broadcasts[endpoint] = BroadcastStream(connection.route, connection.upgrade)
        stream.clients.add(connection)
        if stream.task is None or stream.task.done():
            stream.task = asyncio.ensure_future(self._broadcast(stream))

    def _leave_broadcast(self, connection: Connection) -> None:
        stream = self.broadcasts.get(connection.route.route.endpoint)
        if stream is not None:
            stream.clients.discard(connection)
            if not stream.clients and stream.task is not None:
                stream.task.cancel()
                stream.task = None

    async def _broadcast(self, stream: BroadcastStream) -> None:
        interval = stream.route.streaming_interval_ms / 1000
        next_tick = time.monotonic() + interval
        while stream.clients:
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            next_tick += interval
            response = self._choose(stream.route, stream.upgrade, stream.number, None)
            if response is None:
                continue
            stream.number += 1
            text = self._content(response, stream.upgrade)
            if not text:
                continue
            for client in stream.clients:
                client.push(text)
            if self.hub.listening:
                for client in stream.clients:
                    self._report_sent(client, text)

    async def _idle_guard(self, connection: Connection) -> None:
        limit = self.limits.idle_seconds
        while connection.open:
            left = connection.last_activity + limit - time.monotonic()
            if left <= 0:
                await connection.close(1001, "idle timeout")
                return
            await asyncio.sleep(left)

    # --- reports --------------------------------------------------------------------------------
    def _upgrade_view(self, scope: dict[str, Any], target: str, headers: list[tuple[str, str]], route: WsRoute) -> RequestView:
        server = self.server
        lookup = dict(headers)
        forwarded = lookup.get("x-forwarded-for")
        client = scope.get("client")
        ip = forwarded or (client[0] if client and ":" in client[0] else f"::ffff:{client[0]}" if client else "")
        query_string = scope.get("query_string", b"").decode("latin-1")
        path = dedup_slashes(target)
        view = UpgradeRequestView.build(
            method="GET", path=path, original_url=target + (f"?{query_string}" if query_string else ""),
            query_string=query_string, headers=headers, body_text="", ip=ip,
            scheme=lookup.get("x-forwarded-proto", "http"), port=server.env.port,
            prefix=server.env.endpoint_prefix, public_base_url=server.options.public_base_url)
        view.params = route_params(route, path)
        return view

    def _report(self, event: str, message: str, connection: Connection, **extra: Any) -> None:
        """Mockoon's log line for this event (worker output), and the admin events stream."""
        meta = {"websocketUuid": connection.id, "url": connection.upgrade.path, "routeUUID": connection.route.route.uuid,
                **extra}
        if event == "ws-closed":
            meta = {"websocketUuid": connection.id, **extra}
        sys.stdout.write(json.dumps({"app": "mockfleet-worker", "level": "info", "message": message, **meta},
                                    ensure_ascii=False) + "\n")
        if self.hub.listening:
            self.hub.publish({"event": event, **meta})

    def _report_sent(self, connection: Connection, text: str) -> None:
        if self.hub.listening:
            self.hub.publish({"event": "ws-message-sent", "websocketUuid": connection.id,
                              "routeUUID": connection.route.route.uuid, "messageData": text})


def _render_or_raw(server: MockServer, text: str, scope: Scope) -> str:
    try:
        return server.engine.render(text, scope)
    except TemplateError:
        return text


async def _close_without_code(connection: Connection) -> None:
    """Mockoon's ``socket.close()`` sends a close frame without a code (the client reads 1005);
    hypercorn's close always carries one, so the client reads 1000."""
    if connection.open:
        connection.open = False
        connection.ready.set()
        await connection._send({"type": "websocket.close", "code": 1000, "reason": ""})


async def _send_refusal(scope: dict[str, Any], send: ASGISend, refusal: HandshakeRefusal) -> None:
    """The refusal as Mockoon writes it, then the connection dropped (Mockoon destroys the socket)."""
    await send({"type": "websocket.http.response.start", "status": refusal.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers]})
    await send({"type": "websocket.http.response.body", "body": refusal.body})
    terminate = scope.get("extensions", {}).get(TERMINATE)
    if terminate is not None:
        await terminate()
