"""Mockoon's admin API under ``/mockoon-admin``: state, logs, variables, buckets, live update, events.

Every call needs ``Authorization: Bearer <token>`` (``?token=`` too for the events stream,
since browsers' EventSource cannot set headers), compared in constant time. Without a
configured token the worker makes a random one, as Mockoon does, so the API is never open.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from quart import Response

from schemas import SchemaError, decode_environment
from schemas.sanitise import sanitise_for_cloud

from .responder import MockServer
from .state_budget import StateFull
from .state_sync import StateSync
from .transactions import EventHub, redact_headers

PREFIX = "/mockoon-admin"
LIVE_UPDATE_REFUSED = ("Live update is disabled for this deployment: it was deployed with liveUpdate: false. "
                       "Re-deploy it with live update enabled to use PUT /mockoon-admin/environment.")
WELCOME = ("Welcome to Mockoon's admin API. Check the documentation at "
           "https://mockoon.com/docs/latest/admin-api/overview/ for more information.")


@dataclass
class AdminContext:
    holder: dict[str, MockServer]
    hub: EventHub
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    keepalive_seconds: float = 60.0
    on_update: Callable[[], None] | None = None  # told after a live update (WebSocket routes follow it)
    live_update: bool = True  # the deployment's liveUpdate flag (always on for `mockfleet serve`)
    sync: StateSync | None = None  # platform workers: durable state, and purge returns to the deployed state
    outbound: Any = None  # outbound_client.OutboundClient: its counters are the deployment's outbound metrics

    @property
    def server(self) -> MockServer:
        return self.holder["server"]


def _json(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), status=status,
                    headers={"Content-Type": "application/json; charset=utf-8"})


def _msg(status: int, message: str) -> Response:
    return _json(status, {"message": message})


def token_matches(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode(), provided.encode())


def _bearer(value: str | None) -> str:
    if not value:
        return ""
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _materialized(transaction: Any) -> dict[str, Any]:
    """Records are redacted when built; pending ones are built on first read."""
    return transaction.materialize() if hasattr(transaction, "materialize") else transaction


UNAUTHORIZED_BODY = b'{"message":"Unauthorized"}'  # what ``_msg(401, "Unauthorized")`` sends


def authorized(ctx: AdminContext, method: str, path: str, query: dict[str, str], authorization: str | None) -> bool:
    """The Bearer token, or for the events stream a ``token`` query parameter, is the admin token."""
    provided = _bearer(authorization)
    if not provided and method == "GET" and path == f"{PREFIX}/events":
        provided = query.get("token", "").strip()
    return bool(provided) and token_matches(ctx.token, provided)


async def handle(ctx: AdminContext, method: str, path: str, query_string: str,
                 headers: Callable[[str], str | None], body: bytes) -> Response:
    query = {k: v[-1] for k, v in parse_qs(query_string).items()}
    if method == "OPTIONS":
        return Response("", status=403)  # no admin CORS origins are configured in the cloud
    if not authorized(ctx, method, path, query, headers("authorization")):
        return _msg(401, "Unauthorized")
    try:
        return await _route(ctx, method, path, query, body)
    except StateFull as full:
        return _msg(full.status, str(full))


async def _route(ctx: AdminContext, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
    sub = path[len(PREFIX):].rstrip("/") or ""
    server = ctx.server
    state = server.state
    parts = [p for p in sub.split("/") if p]

    if sub == "" and method == "GET":
        return _json(200, {"response": WELCOME})
    if parts == ["events"] and method == "GET":
        return _events(ctx, query)
    if (parts == ["state"] and method == "PURGE") or (parts == ["state", "purge"] and method == "POST"):
        if ctx.sync is not None:
            ctx.sync.reset_to_deployed()  # and live updates and environment variables: the deployed state
            await ctx.sync.flush(timeout=2.0)
        else:
            state.purge()
            server.regenerate_buckets()
            state.logs.clear()
        return _json(200, {"response": "Server has been reset to its initial state"})
    if parts == ["logs"] and method == "GET":
        page = _int(query.get("page"), 1)
        limit = _int(query.get("limit"), 10)
        logs = list(state.logs)
        start = (page - 1) * limit
        return _json(200, [_materialized(t) for t in logs[max(start, 0):start + limit]])
    if (parts == ["logs"] and method == "PURGE") or (parts == ["logs", "purge"] and method == "POST"):
        state.logs.clear()
        return _json(200, {"message": "Logs have been purged"})
    if parts[:1] == ["env-vars"]:
        return _env_vars(server, method, parts, body)
    if parts[:1] == ["global-vars"]:
        return _global_vars(server, method, parts, body)
    if parts[:1] == ["data-buckets"]:
        return _buckets(server, method, parts)
    if parts == ["callbacks"] and method == "GET":
        return _json(200, list(state.callback_logs)[::-1])
    if parts == ["outbound"] and method == "GET" and ctx.outbound is not None:
        return _json(200, ctx.outbound.stats.as_dict())
    if parts == ["environment"] and method == "PUT":
        if not ctx.live_update:
            return _msg(403, LIVE_UPDATE_REFUSED)
        answer = _update_environment(ctx, body)
        if ctx.sync is not None and answer.status_code == 200:
            await ctx.sync.flush(timeout=2.0)  # a new revision in the registry before the answer, when reachable
        return answer
    return _msg(404, f"Cannot {method} {path}")


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _body_kv(body: bytes) -> tuple[Any, Any] | None:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    if not isinstance(data, dict) or "key" not in data or "value" not in data:
        return None
    return data["key"], data["value"]


def _js(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _env_vars(server: MockServer, method: str, parts: list[str], body: bytes) -> Response:
    prefix = server.options.env_vars_prefix
    env = server.options.env_vars
    if method == "GET" and len(parts) == 2:
        name = parts[1] if parts[1].startswith(prefix) else prefix + parts[1]
        if name in env:
            return _json(200, {"key": name, "value": env[name]})
        return _msg(404, "Environment variable not found")
    if method in ("POST", "PUT", "PATCH") and len(parts) == 1:
        kv = _body_kv(body)
        if kv is None or not isinstance(kv[0], str):
            return _msg(400, "Invalid request")
        if not prefix:
            return _msg(403, "Environment variable writes are disabled when the prefix is empty")
        key = kv[0] if kv[0].startswith(prefix) else prefix + kv[0]
        server.state.reserve(key + _js(kv[1]))
        env[key] = server.state.env_var_writes[key] = _js(kv[1])
        server.state.touch()
        return _json(200, {"message": f"Environment variable '{key}' has been set to '{_js(kv[1])}'"})
    return _msg(404, "Not found")


def _global_vars(server: MockServer, method: str, parts: list[str], body: bytes) -> Response:
    variables = server.state.global_vars
    if method == "GET" and len(parts) == 2:
        if parts[1] in variables:
            return _json(200, {"key": parts[1], "value": variables[parts[1]]})
        return _msg(404, "Global variable not found")
    if (method == "PURGE" and len(parts) == 1) or (method == "POST" and parts[1:] == ["purge"]):
        variables.clear()
        server.state.touch()
        return _json(200, {"message": "Global variables have been purged"})
    if method in ("POST", "PUT", "PATCH") and len(parts) == 1:
        kv = _body_kv(body)
        if kv is None:
            return _msg(400, "Invalid request")
        server.state.reserve(kv[1])
        variables[str(kv[0])] = kv[1]
        server.state.touch()
        return _json(200, {"message": f"Global variable '{kv[0]}' has been set to '{_js(kv[1])}'"})
    return _msg(404, "Not found")


def _buckets(server: MockServer, method: str, parts: list[str]) -> Response:
    buckets = server.state.buckets
    if method == "GET" and len(parts) == 1:
        return _json(200, [{"id": b.id, "name": b.name, "parsed": b.parsed, "validJson": b.valid_json}
                           for b in buckets])
    if method == "GET" and len(parts) == 2:
        bucket = server.state.find_bucket(parts[1])
        if bucket is None:
            return _msg(404, "Data bucket not found")
        return _json(200, {"id": bucket.id, "name": bucket.name, "parsed": bucket.parsed,
                           "validJson": bucket.valid_json, "value": bucket.value})
    if (method == "PURGE" and len(parts) == 1) or (method == "POST" and parts[1:] == ["purge"]):
        server.regenerate_buckets()
        server.state.touch()
        return _json(200, {"message": "Data buckets have been reset to their initial state"})
    return _msg(404, "Not found")


def _update_environment(ctx: AdminContext, body: bytes) -> Response:
    """Swap in a new revision; requests already running finish on the one they started with."""
    try:
        env, report = decode_environment(body)
    except SchemaError as error:
        return _msg(400, f"Invalid environment format: {error}")
    if ctx.sync is not None:
        env, _warnings = sanitise_for_cloud(env)  # a live update follows the deploy's rules
    current = ctx.server
    options = current.options
    if options.cloud:  # what a deploy would refuse or disable, this door does too
        env, warnings = sanitise_for_cloud(env)
        for warning in warnings:
            print(f"warning: admin API environment: {warning.path}: {warning.message}", file=sys.stderr)
    options.disabled_routes = frozenset(report.disabled_routes)
    ctx.holder["server"] = MockServer(env, options, state=current.state)
    if ctx.on_update is not None:
        ctx.on_update()
    if ctx.sync is not None:
        ctx.sync.live_update(env, report.disabled_routes)
    return _json(200, {"message": "Environment updated"})


def _events(ctx: AdminContext, query: dict[str, str]) -> Response:
    max_logs = _int(query.get("maxlogs"), 0)
    logs = list(ctx.server.state.logs)
    if max_logs > 0:
        logs = logs[-max_logs:]
    initial = [*ctx.hub.replayable,
               *({"event": "transaction-complete", "transaction": _materialized(t)} for t in logs)]
    queue = ctx.hub.subscribe()

    async def stream() -> AsyncIterator[bytes]:
        try:
            for event in initial:
                yield _sse(event)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), ctx.keepalive_seconds)
                except TimeoutError:
                    yield b":\n\n"
                    continue
                yield _sse(event)
        finally:
            ctx.hub.unsubscribe(queue)

    response = Response(stream(), status=200, headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "Connection": "keep-alive", "X-Accel-Buffering": "no"})
    response.timeout = None  # type: ignore[assignment]
    return response


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


__all__ = ["UNAUTHORIZED_BODY", "AdminContext", "EventHub", "PREFIX", "authorized", "handle", "redact_headers",
           "token_matches"]
