"""The Quart shell: HTTP in, ``RequestView`` to ``MockServer``, HTTP out. No mock logic here."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from quart import Quart, Response, request
from werkzeug.routing import BaseConverter

from schemas.environment import RouteResponse
from schemas.outbound import OutboundSettings

from . import admin_api, callbacks
from .admin_api import AdminContext
from .callbacks import CallbackRunner
from .http1_compat import NODE_METHODS
from .jsvalues import UNDEFINED
from .outbound_client import OutboundClient
from .proxy_relay import ProxyCall, ProxyRelay
from .request_model import (
    BadContentEncoding,
    BodyTooDeep,
    BodyTooLarge,
    RequestView,
    decode_content,
    parse_body,
)
from .responder import MockResponse, MockServer
from .routing import dedup_slashes
from .transaction_log import transaction_log_line
from .transactions import EventHub, build_transaction
from .websocket_server import WebSocketRoutes

log = logging.getLogger("mockfleet.worker")
INFORMATIONAL_HOLD = 5.0  # seconds a 1xx answer keeps the connection (Node's keepAliveTimeout)

METHODS = sorted(NODE_METHODS)


class _AnyPath(BaseConverter):
    regex = ".*"
    part_isolating = False


def _text_response(status: int, message: str) -> Response:
    return Response(message, status=status, headers={"Content-Type": "text/plain; charset=utf-8"})


def admin_context(server: MockServer, admin_token: str | None = None) -> AdminContext:
    admin = AdminContext({"server": server}, EventHub())
    if admin_token:
        admin.token = admin_token
    return admin


def create_app(admin: AdminContext, max_body: int) -> Quart:
    """The Quart app of the admin API, built at its first request (``MockApp.quart``): most
    workers never get one, and building it (URL rules compiled to Python code) costs each
    worker milliseconds of its start and pages of its own."""
    app = Quart(__name__)
    app.url_map.converters["anypath"] = _AnyPath
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = None
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["MOCK_SERVER_HOLDER"] = admin.holder
    app.config["ADMIN"] = admin

    async def handle(path: str = "") -> Response:
        """Only the admin API reaches Quart; mock traffic takes the ASGI fast path below."""
        scope = request.scope
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        query_string = scope.get("query_string", b"").decode("latin-1")
        raw = await request.get_data(cache=False, as_text=False, parse_form_data=False)
        if max_body and len(raw) > max_body:
            return _text_response(413, "Payload too large")
        return await admin_api.handle(admin, request.method, target, query_string, request.headers.get, raw)

    app.add_url_rule("/", "root", handle, methods=METHODS, defaults={"path": ""}, strict_slashes=False)
    app.add_url_rule("/<anypath:path>", "any", handle, methods=METHODS, strict_slashes=False)
    return app


async def _lifespan(receive: Any, send: Any) -> None:
    """ASGI lifespan without an app behind it: startup and shutdown complete at once."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class MockApp:
    """The ASGI entry point: mock requests are served straight from ASGI messages (no framework
    objects per request, measured ~2x faster); the admin API, lifespan and anything else go to Quart."""

    def __init__(self, server: MockServer, max_body: int, admin_token: str | None = None,
                 outbound: OutboundClient | None = None,
                 admin_enabled: bool = True) -> None:
        self.admin: AdminContext = admin_context(server, admin_token)
        self.holder: dict[str, MockServer] = self.admin.holder
        self._quart: Quart | None = None
        self.max_body = max_body
        self.websockets = WebSocketRoutes(self.holder, self.admin.hub)
        self.admin.on_update = self.websockets.refresh  # a live update ends the connections of changed ws routes
        self.outbound = outbound or OutboundClient(OutboundSettings(mode="open"))
        self.admin.outbound = self.outbound
        self.relay = ProxyRelay(self.outbound, self._record_proxied)
        self.callbacks = CallbackRunner(self.outbound, self._record_callback)
        self.admin_enabled = admin_enabled  # `serve --disable-admin-api`: its paths are mock paths

    @property
    def quart(self) -> Quart:
        if self._quart is None:
            self._quart = create_app(self.admin, self.max_body)
        return self._quart

    def _refused_without_quart(self, scope: dict[str, Any], target: str) -> bool:
        """A bodiless GET without the admin token (the supervisor's health probe, a scan) is answered
        the admin API's 401 here: Quart is built for the admin API's real callers only."""
        if scope["method"] != "GET":
            return False
        authorization = None
        for name, value in scope["headers"]:
            name = name.lower()
            if name in (b"content-length", b"transfer-encoding"):
                return False  # Quart reads (and may refuse) the body first
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")  # the first, as Quart's headers.get reads it
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
        return not admin_api.authorized(self.admin, "GET", target, query, authorization)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and self._quart is None:
            await _lifespan(receive, send)  # the admin API has nothing to start or stop
            return
        if scope["type"] == "websocket":
            await self.websockets.serve(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.quart(scope, receive, send)  # type: ignore[arg-type]
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        if target.startswith(admin_api.PREFIX) and self.admin_enabled:
            if self._quart is None and self._refused_without_quart(scope, target):
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(admin_api.UNAUTHORIZED_BODY)).encode())]})
                await send({"type": "http.response.body", "body": admin_api.UNAUTHORIZED_BODY})
                return
            await self.quart(scope, receive, send)  # type: ignore[arg-type]
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        if scope["method"] != "GET" and _websocket_upgrade(headers):
            # hypercorn serves only GET handshakes as WebSockets; Mockoon's ws routes answer the others
            refusal = self.websockets.refusal(scope["method"], target, headers)
            if refusal is not None:
                await send({"type": "http.response.start", "status": refusal.status,
                            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers]})
                await send({"type": "http.response.body", "body": refusal.body})
                return
        status, out_headers, body, latency, after = await self._serve(scope, receive, target, headers)
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        if isinstance(after, ProxyCall):
            await self.relay.relay(after, send)
            return
        if after:
            self.callbacks.schedule(after)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers]})
        if status < 200:
            # Node writes a 1xx status as the whole response: its head, no body, and the
            # connection left idle until its 5 s keep-alive timeout closes it
            await asyncio.sleep(INFORMATIONAL_HOLD)
            return
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _serve(self, scope: dict[str, Any], receive: Any, target: str,
                     headers: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], bytes, int, Any]:
        max_body = self.max_body
        length = next((v for k, v in headers if k == "content-length"), None)
        if length is not None and length.isdigit() and max_body and int(length) > max_body:
            return _plain(413, "Payload too large")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _plain(499, "client closed the request")
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if max_body and size > max_body:
                    return _plain(413, "Payload too large")
                chunks.append(chunk)
            if not message.get("more_body"):
                break
        raw = received = b"".join(chunks)
        lookup = dict(headers)
        encoding = lookup.get("content-encoding", "")
        if encoding and raw:
            try:
                raw = decode_content(raw, encoding, max_body)
            except BodyTooLarge:
                return _plain(413, "Payload too large")
            except BadContentEncoding as error:
                return _plain(415, f"Unsupported or invalid content encoding: {error}")
        try:
            text, parsed = parse_body(raw, lookup.get("content-type", ""))
        except BodyTooDeep as deep:
            log.warning("%s %s: %s (%d bytes); served as unparsed text", scope["method"], target, deep, len(raw))
            text, parsed = deep.text, UNDEFINED
        client = scope.get("client")
        if client:
            ip = client[0] if ":" in client[0] else f"::ffff:{client[0]}"
        else:
            forwarded = lookup.get("x-forwarded-for")
            # the edge appends the address it saw; earlier entries are whatever the client claimed
            ip = forwarded.split(",")[-1].strip() if forwarded else ""
            if ip and ":" not in ip:
                ip = f"::ffff:{ip}"  # Node reports IPv4 peers in their IPv6-mapped form
        query_string = scope.get("query_string", b"").decode("latin-1")
        current = self.holder["server"]
        view = RequestView.build(
            method=scope["method"], path=dedup_slashes(target),
            original_url=target + (f"?{query_string}" if query_string else ""), query_string=query_string,
            headers=headers, body_text=text, body=parsed, ip=ip,
            scheme=lookup.get("x-forwarded-proto", scope.get("scheme", "http")),
            port=current.env.port, prefix=current.env.endpoint_prefix, public_base_url=current.options.public_base_url,
        )
        try:
            result = current.handle(view)
        except Exception as error:  # noqa: BLE001 - one bad request never takes the worker down
            # one line per failure, not a traceback: a route that always fails must not flood the log
            log.error("request failed: %s %s: %s: %.300s", scope["method"], target[:200], type(error).__name__, error)
            return _plain(500, "Error while serving the content: the mock engine failed on this request")
        if result.proxy:
            call = ProxyCall(current, view, headers, received, result.headers)
            return 0, [], b"", result.latency_ms, call
        out = list(result.headers)
        if result.status not in (204, 304):
            out.append(("Content-Length", str(len(result.body))))
        _record(current, self.admin, view, result)
        after = callbacks.prepare(current, response, view) if (response := _served_response(current, result)) else None
        return result.status, out, result.body, result.latency_ms, after

    def _record_proxied(self, server: MockServer, view: RequestView, result: MockResponse) -> None:
        _record(server, self.admin, view, result)

    def _record_callback(self, entry: dict[str, Any]) -> None:
        self.holder["server"].state.callback_logs.append(entry)
        if self.admin.hub.listening:
            self.admin.hub.publish({"event": "callback-invoked", "callback": entry})


def _websocket_upgrade(headers: list[tuple[str, str]]) -> bool:
    """What Node reports as an upgrade to Mockoon: ``Upgrade: websocket`` and a Connection naming upgrade."""
    lookup = dict(headers)
    return lookup.get("upgrade", "").lower() == "websocket" and "upgrade" in lookup.get("connection", "").lower()


def _plain(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes, int, Any]:
    body = message.encode()
    return status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))], body, 0, None


def _served_response(server: MockServer, result: MockResponse) -> RouteResponse | None:
    """The route response that answered, when it lists callbacks (most do not: no lookup then)."""
    if not result.response_uuid or not server.env.callbacks:
        return None
    for compiled in server.routes:
        if compiled.route.uuid == result.route_uuid:
            for response in compiled.route.responses:
                if response.uuid == result.response_uuid:
                    return response if response.callbacks else None
    return None


def _record(server: MockServer, admin: AdminContext, view: RequestView, result: MockResponse) -> None:
    """Keep the transaction for the admin API's logs and stream it to event subscribers.

    The record is built only when somebody reads it: logging costs a tuple per request."""
    pending = PendingTransaction(server, view, result, int(time.time() * 1000))
    server.state.logs.append(pending)
    if server.options.log_transactions:
        print(transaction_log_line(server.env.name, server.env.uuid, pending.materialize(), time.time()), flush=True)
    if admin.hub.listening:
        admin.hub.publish({"event": "transaction-complete", "transaction": pending.materialize()})


def _effective_route(server: MockServer, route_uuid: str) -> str | None:
    """The route as Mockoon's transactions name it: ``/prefix/endpoint``, slashes deduplicated."""
    endpoint = server.route_endpoint(route_uuid)
    if endpoint is None:
        return None
    return dedup_slashes(f"/{server.env.endpoint_prefix}/{endpoint.replace(' ', '%20')}")


def _sent_headers(result: MockResponse) -> list[tuple[str, str]]:
    """The headers as Node had them once the response was sent: Express adds the length it sent."""
    if result.status < 200 or result.status in (204, 304) or \
            any(key.lower() in ("content-length", "transfer-encoding") for key, _ in result.headers):
        return result.headers
    return [*result.headers, ("content-length", str(len(result.body)))]


class PendingTransaction:
    __slots__ = ("server", "view", "result", "timestamp_ms", "_built")

    def __init__(self, server: MockServer, view: RequestView, result: MockResponse, timestamp_ms: int) -> None:
        self.server = server
        self.view = view
        self.result = result
        self.timestamp_ms = timestamp_ms
        self._built: dict[str, Any] | None = None

    def materialize(self) -> dict[str, Any]:
        if self._built is None:
            view, result = self.view, self.result
            path, _, _ = view.original_url.partition("?")
            self._built = build_transaction(
                method=view.method, url_path=path, query=view.query_string, query_params=view.query,
                params=view.params, route=_effective_route(self.server, result.route_uuid),
                request_headers=view.headers, request_body=view.body_text, status=result.status,
                response_headers=_sent_headers(result), response_body=result.body, route_uuid=result.route_uuid,
                response_uuid=result.response_uuid, timestamp_ms=self.timestamp_ms, proxied=result.proxy)
            if result.status == 404 and not result.route_uuid and not result.proxy:
                # no route answered, Express' 404 page: Mockoon's record has no body and no route uuids
                del self._built["response"]["body"], self._built["routeResponseUUID"], self._built["routeUUID"]
            self.server = None  # type: ignore[assignment]
        return self._built
