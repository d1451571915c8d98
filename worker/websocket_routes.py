"""WebSocket routes as Mockoon 9 serves them, without I/O: which route an upgrade reaches,
what the ``ws`` library answers to a handshake it refuses, which response a message (or a
streaming tick) gets and the text that response sends.

Mockoon matches an upgrade's path against its ``ws`` routes in tree order (prefix included,
the same path patterns as HTTP routes), then lets the ``ws`` library check the handshake.
A message is the body the rules and the templates see; everything else (headers, query,
cookies, params) is read from the upgrade request. ``websocket_server.py`` is the shell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.environment import Route, RouteResponse

from .jsvalues import UNDEFINED, json_stringify
from .request_model import JSON_TYPES, XML_TYPES, BodyTooDeep, RequestView, parse_body
from .routing import InvalidRoutePath, PathMatcher, compile_route_path
from .rules import choose_response
from .state import EnvironmentState

SMALLEST_STREAMING_INTERVAL_MS = 10  # Mockoon's floor: a smaller interval would starve the server
NO_ROUTE_MESSAGE = "No WebSocket route found for this path"
# what the ws library takes as a Sec-WebSocket-Key: base64 of 16 bytes
_KEY = re.compile(r"[+/0-9A-Za-z]{22}==")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class HandshakeRefusal:
    """An HTTP answer instead of ``101``: status, body and headers exactly as Mockoon writes them."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...]

    @property
    def body(self) -> bytes:
        return self.message.encode()


def _ws_library_refusal(status: int, message: str, *extra: tuple[str, str]) -> HandshakeRefusal:
    """The ``ws`` library's ``abortHandshake``: Connection, Content-Type, Content-Length, extras."""
    return HandshakeRefusal(status, message, (("Connection", "close"), ("Content-Type", "text/html"),
                                              ("Content-Length", str(len(message.encode()))), *extra))


NO_ROUTE = HandshakeRefusal(404, NO_ROUTE_MESSAGE, (("Content-Type", "text/html"),
                                                    ("Content-length", str(len(NO_ROUTE_MESSAGE)))))


@dataclass(slots=True)
class WsRoute:
    route: Route
    matcher: PathMatcher
    params_matcher: PathMatcher | None  # Mockoon reads params against the endpoint without the prefix

    @property
    def streaming_interval_ms(self) -> int:
        return max(SMALLEST_STREAMING_INTERVAL_MS, self.route.streaming_interval)


def compile_ws_routes(routes: list[Route], prefix: str) -> tuple[list[WsRoute], list[str]]:
    """The servable ws routes, in order, and a message for each invalid path (skipped, as Mockoon does)."""
    compiled: list[WsRoute] = []
    errors: list[str] = []
    for route in routes:
        try:
            matcher = compile_route_path(prefix, route.endpoint)
        except InvalidRoutePath as error:
            errors.append(f"Invalid route path: {error} ({route.endpoint})")
            continue
        try:
            params_matcher: PathMatcher | None = compile_route_path("", route.endpoint)
        except InvalidRoutePath:
            params_matcher = None
        compiled.append(WsRoute(route, matcher, params_matcher))
    return compiled, errors


def find_ws_route(routes: list[WsRoute], path: str) -> WsRoute | None:
    for candidate in routes:
        if candidate.matcher.match(path) is not None:
            return candidate
    return None


def route_params(route: WsRoute, path: str) -> dict[str, Any]:
    found = route.params_matcher.match(path) if route.params_matcher is not None else None
    return dict(found) if found else {}


def handshake_refusal(method: str, headers: list[tuple[str, str]]) -> HandshakeRefusal | None:
    """The ``ws`` library's checks once a route matched, in its order; None to accept."""
    values: dict[str, str] = {}
    for key, value in headers:
        values.setdefault(key, value)  # Node keeps the first of repeated fields
    if method != "GET":
        return _ws_library_refusal(405, "Invalid HTTP method")
    if values.get("upgrade", "").lower() != "websocket":
        return _ws_library_refusal(400, "Invalid Upgrade header")
    key = values.get("sec-websocket-key", "")
    if _KEY.fullmatch(key) is None:
        return _ws_library_refusal(400, "Missing or invalid Sec-WebSocket-Key header")
    if _js_number(values.get("sec-websocket-version")) not in (13.0, 8.0):
        return _ws_library_refusal(400, "Missing or invalid Sec-WebSocket-Version header",
                                   ("Sec-WebSocket-Version", "13, 8"))
    protocols = values.get("sec-websocket-protocol")
    if protocols is not None and parse_subprotocols(protocols) is None:
        return _ws_library_refusal(400, "Invalid Sec-WebSocket-Protocol header")
    return None


def _js_number(text: str | None) -> float | None:
    """``+value`` in JavaScript, enough to tell 13 and 8 from anything else."""
    if text is None:
        return None
    stripped = text.strip()
    if not stripped:
        return 0.0
    try:
        return float(int(stripped, 16)) if stripped.lower().startswith("0x") else float(stripped)
    except ValueError:
        return None


def parse_subprotocols(value: str) -> list[str] | None:
    """Comma-separated tokens, each once; None where the ``ws`` library throws."""
    protocols: list[str] = []
    for part in value.split(","):
        token = part.strip(" \t")
        if not _TOKEN.fullmatch(token) or token in protocols:
            return None
        protocols.append(token)
    return protocols


class UpgradeRequestView(RequestView):
    """Mockoon reads a WebSocket's upgrade headers from Node's object by exact key, and Node keys
    are lower case: ``{{header 'X-Id'}}`` finds nothing there, ``{{header 'x-id'}}`` does."""

    __slots__ = ()

    def header(self, name: str) -> str | None:
        return super().header(name) if name == name.lower() else None


def message_view(upgrade: RequestView, message: str | None) -> RequestView:
    """The request templates and rules see: the upgrade request with ``message`` as its body,
    parsed by the upgrade request's Content-Type as Mockoon does (JSON, XML, else text)."""
    if message is None:
        return upgrade
    view = UpgradeRequestView.build(
        method=upgrade.method, path=upgrade.path, original_url=upgrade.original_url,
        query_string=upgrade.query_string, headers=upgrade.headers, body_text=message, body=UNDEFINED,
        ip=upgrade.ip, scheme=upgrade.scheme, port=upgrade.port, prefix=upgrade.prefix,
        public_base_url=upgrade.public_base_url)
    view.params = upgrade.params
    if not message:
        return view  # an empty message leaves the body undefined, as in Mockoon
    content_type = (upgrade.header("content-type") or "").lower()
    parsed: Any = UNDEFINED
    if JSON_TYPES.search(content_type) or any(t in content_type for t in XML_TYPES):
        try:
            _, parsed = parse_body(message.encode("utf-8", "surrogatepass"), content_type)
        except BodyTooDeep:
            parsed = UNDEFINED
    view.body = message if parsed is UNDEFINED else parsed
    return view


def choose_ws_response(route: Route, view: RequestView, state: EnvironmentState, number: int,
                       render: Callable[[str], str], random_index: Callable[[int], int],
                       message: str | None) -> RouteResponse | None:
    """The response for a message (one-to-one) or a tick (``message`` None): the same
    modes and rules as HTTP; a body rule without a modifier compares the message itself."""
    return choose_response(route, view, state, number, render, random_index, whole_message=bool(message))


def response_source(response: RouteResponse, state: EnvironmentState) -> tuple[str, bool]:
    """The text to send before templating, and whether it is a file the cloud never reads."""
    if response.body_type == "DATABUCKET" and response.databucket_id:
        bucket = next((b for b in state.buckets if b.id == response.databucket_id), None)
        if bucket is not None:
            value = bucket.value
            if value is UNDEFINED:
                return "", False
            if value is None or isinstance(value, (list, dict, bool, int, float)):
                return json_stringify(value), False
            return str(value), False
    if response.body_type == "FILE" and response.file_path:
        return response.file_path, True
    return response.body or "", False


def file_error_message(path: str) -> str:
    """What Mockoon sends before closing when a file body cannot be read (files are never read here)."""
    return f"Status: 500, File reading error! (ENOENT: no such file or directory, open '{path}')"
