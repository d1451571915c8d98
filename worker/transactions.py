"""Transaction records (Mockoon's shape) and the event hub the admin API streams from.

Records are built after the response is sent and kept in a bounded deque, so logging
costs one small dict per request and never grows with traffic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import unquote

SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"}
)
SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})
REDACTED = "[REDACTED]"
MAX_LOGGED_BODY = 64 * 1024


def _redact_value(key: str, value: str) -> str:
    if key in SCHEME_HEADERS:
        scheme, _, rest = value.partition(" ")
        return f"{scheme} {REDACTED}" if rest else REDACTED
    return REDACTED


def redact_headers(headers: list[dict[str, str]]) -> list[dict[str, str]]:
    """Secrets never leave the worker: admin output carries the scheme, not the credential."""
    return [
        {"key": h["key"], "value": _redact_value(h["key"].lower(), h["value"])}
        if h["key"].lower() in SENSITIVE_HEADERS else h
        for h in headers
    ]


def _header_list(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return sorted(({"key": k.lower(), "value": v} for k, v in pairs), key=lambda h: h["key"])


def _text(body: bytes | str) -> str:
    if isinstance(body, bytes):
        body = body[:MAX_LOGGED_BODY].decode("utf-8", "replace")
    return body[:MAX_LOGGED_BODY]


def build_transaction(*, method: str, url_path: str, query: str, query_params: Any, params: dict[str, Any],
                      route: str | None, request_headers: list[tuple[str, str]], request_body: str,
                      status: int, response_headers: list[tuple[str, str]], response_body: bytes,
                      route_uuid: str, response_uuid: str, timestamp_ms: int | None = None,
                      proxied: bool = False) -> dict[str, Any]:
    try:
        query = unquote(query, errors="strict")
    except UnicodeDecodeError:
        pass
    from http import HTTPStatus

    try:
        status_message = HTTPStatus(status).phrase
    except ValueError:
        status_message = ""
    return {
        "request": {
            "method": method.lower(),
            "urlPath": url_path,
            "route": route,
            "params": [{"name": k, "value": v} for k, v in params.items()],
            "query": query,
            "queryParams": query_params,
            "body": _text(request_body),
            "headers": redact_headers(_header_list(request_headers)),
        },
        "response": {
            "statusCode": status,
            "statusMessage": status_message,
            "headers": redact_headers(_header_list(response_headers)),
            "body": _text(response_body),
        },
        "routeResponseUUID": response_uuid,
        "routeUUID": route_uuid,
        "proxied": proxied,
        "timestampMs": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        "uuid": str(uuid.uuid4()),
    }


class EventHub:
    """Fan-out of admin events to SSE subscribers; a slow subscriber loses events, never blocks."""

    def __init__(self, queue_size: int = 256) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._queue_size = queue_size
        self.replayable: list[dict[str, Any]] = []

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    @property
    def listening(self) -> bool:
        return bool(self._subscribers)

    def publish(self, event: dict[str, Any], replay: bool = False) -> None:
        if replay:
            self.replayable.append(event)
            del self.replayable[:-50]
        for queue in self._subscribers:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                pass
