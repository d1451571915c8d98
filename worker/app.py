"""The Quart shell: HTTP in, ``RequestView`` to ``MockServer``, HTTP out. No mock logic here."""

from __future__ import annotations

import asyncio
import logging

from quart import Quart, Response, request
from werkzeug.routing import BaseConverter

from . import admin_api
from .admin_api import AdminContext
from .request_model import BadContentEncoding, BodyTooLarge, RequestView, decode_content, parse_body
from .responder import MockResponse, MockServer
from .routing import dedup_slashes
from .transactions import EventHub, build_transaction

log = logging.getLogger("mockfleet.worker")

METHODS = ["ACL", "BIND", "CHECKOUT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE",
           "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND",
           "PROPPATCH", "PURGE", "PUT", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND",
           "UNLINK", "UNLOCK", "UNSUBSCRIBE"]  # every method Node's HTTP parser accepts


class _AnyPath(BaseConverter):
    regex = ".*"
    part_isolating = False


def _text_response(status: int, message: str) -> Response:
    return Response(message, status=status, headers={"Content-Type": "text/plain; charset=utf-8"})


def create_app(server: MockServer, max_body: int, admin_token: str | None = None) -> Quart:
    app = Quart(__name__)
    app.url_map.converters["anypath"] = _AnyPath
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = None
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    holder = {"server": server}
    app.config["MOCK_SERVER_HOLDER"] = holder
    admin = AdminContext(holder, EventHub())
    if admin_token:
        admin.token = admin_token
    app.config["ADMIN"] = admin

    async def handle(path: str = "") -> Response:
        scope = request.scope
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        query_string = scope.get("query_string", b"").decode("latin-1")
        if request.content_length is not None and max_body and request.content_length > max_body:
            return _text_response(413, "Payload too large")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.body:
            size += len(chunk)
            if max_body and size > max_body:
                return _text_response(413, "Payload too large")
            chunks.append(chunk)
        raw = b"".join(chunks)
        headers = [(k.lower(), v) for k, v in request.headers.items()]
        encoding = request.headers.get("Content-Encoding", "")
        if encoding and raw:
            try:
                raw = decode_content(raw, encoding, max_body)
            except BodyTooLarge:
                return _text_response(413, "Payload too large")
            except BadContentEncoding as error:
                return _text_response(415, f"Unsupported or invalid content encoding: {error}")
        if target.startswith(admin_api.PREFIX):
            return await admin_api.handle(admin, request.method, target, query_string, request.headers.get, raw)
        text, parsed = parse_body(raw, request.headers.get("Content-Type", ""))
        client = scope.get("client")
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded and not client:
            ip = forwarded.split(",")[0].strip()
        elif client:
            ip = client[0] if ":" in client[0] else f"::ffff:{client[0]}"
        else:
            ip = ""
        view = RequestView.build(
            method=request.method, path=dedup_slashes(target), original_url=target + (f"?{query_string}" if query_string else ""),
            query_string=query_string, headers=headers, body_text=text, body=parsed, ip=ip,
            scheme=request.headers.get("X-Forwarded-Proto", scope.get("scheme", "http")),
            port=holder["server"].env.port, prefix=holder["server"].env.endpoint_prefix,
            public_base_url=holder["server"].options.public_base_url,
        )
        current: MockServer = holder["server"]
        try:
            result = current.handle(view)
        except Exception as error:  # noqa: BLE001 - one bad request never takes the worker down
            log.exception("request failed")
            return _text_response(500, f"Error while serving the content: {type(error).__name__}: {error}")
        if result.latency_ms > 0:
            await asyncio.sleep(result.latency_ms / 1000)
        response = Response(result.body, status=result.status)
        response.headers.clear()
        for key, value in result.headers:
            response.headers.add(key, value)
        if result.status >= 200 and result.status not in (204, 304):
            response.headers["Content-Length"] = str(len(result.body))
        _record(current, admin, view, result)
        return response

    app.add_url_rule("/", "root", handle, methods=METHODS, defaults={"path": ""}, strict_slashes=False)
    app.add_url_rule("/<anypath:path>", "any", handle, methods=METHODS, strict_slashes=False)
    return app


def _record(server: MockServer, admin: AdminContext, view: RequestView, result: MockResponse) -> None:
    """Keep the transaction for the admin API's logs and stream it to event subscribers."""
    route = server.route_endpoint(result.route_uuid)
    path, _, _ = view.original_url.partition("?")
    transaction = build_transaction(
        method=view.method, url_path=path, query=view.query_string, query_params=view.query,
        params=view.params, route=route, request_headers=view.headers, request_body=view.body_text,
        status=result.status, response_headers=result.headers, response_body=result.body,
        route_uuid=result.route_uuid, response_uuid=result.response_uuid)
    server.state.logs.append(transaction)
    if admin.hub.listening:
        admin.hub.publish({"event": "transaction-complete", "transaction": transaction})
