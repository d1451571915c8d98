"""Serve one environment: match the route, pick the response, render headers and body.

``MockServer.handle`` takes a ``RequestView`` and returns a ``MockResponse`` (status,
header list, body bytes, latency); the Quart shell in ``app.py`` only converts HTTP to and
from these. Behaviour follows Mockoon CLI on Express 4, including Express' header rules
(charset on text bodies, no body on 204/304) and its 404 page.
"""

from __future__ import annotations

import base64
import html
import os
import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from schemas import Environment
from schemas.environment import Header, Route, RouteResponse

from .crud import crud_matchers, run_crud
from .jsvalues import UNDEFINED, json_stringify
from .node_timers import node_delay_ms
from .request_model import RequestView
from .routing import InvalidRoutePath, PathMatcher, compile_route_path
from .rules import choose_response
from .state import EnvironmentState, bucket_references, generate_bucket, initial_buckets
from .state_budget import StateFull
from .templating import Budget, Engine, TemplateError
from .templating.faker import faker_context

CORS_HEADERS = [
    Header(key="Access-Control-Allow-Origin", value="*"),
    Header(key="Access-Control-Allow-Methods", value="GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"),
    Header(key="Access-Control-Allow-Headers",
           value="Content-Type, Origin, Accept, Authorization, Content-Length, X-Requested-With"),
]
HEADER_PARSING_ERROR = "-- Header parsing error, see logs for more details --"
_CRUD_WRITES = frozenset({"create", "update", "updateById", "updateMerge", "updateMergeById"})


@dataclass
class WorkerOptions:
    faker_locale: str = "en"
    faker_seed: int | None = None
    env_vars_prefix: str = "MOCKOON_"
    env_vars: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    disabled_routes: frozenset[str] = frozenset()
    public_base_url: str = ""
    cloud: bool = False  # served for the platform: the admin API's new environments are sanitised too
    render_seconds: float = 2.0
    max_output: int = 10 * 1024 * 1024
    disabled_route_keywords: tuple[str, ...] = ()  # `serve --disable-routes`, matched as Mockoon does
    random_latency: bool = False  # `serve --enable-random-latency`: each latency is 0..latency ms
    log_transactions: bool = False  # `serve --log-transaction`: one JSON line per request on stdout
    route_metadata_headers: bool = False  # `serve --enable-route-metadata-headers`: x-mockoon-route-* headers
    max_callback_depth: int = 100  # `serve --max-callback-depth`: Mockoon's defaultMaxCallbackDepth


@dataclass(slots=True)
class MockResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: int = 0
    route_uuid: str = ""
    response_uuid: str = ""
    proxy: bool = False  # no route answered and proxy mode is on: app.py relays it to proxyHost


class Scope:
    """What helpers see during one render: the request, state, faker, limits."""

    __slots__ = ("request", "state", "status", "faker", "random", "budget", "env_vars", "env_vars_prefix", "_now")

    def __init__(self, request: RequestView | None, server: MockServer) -> None:
        self.request = request
        self.state = server.state
        self.status: int | None = None
        self.faker = server.faker
        self.random = server.faker.random
        self.budget = Budget(server.options.render_seconds, server.options.max_output)
        self.env_vars = server.options.env_vars
        self.env_vars_prefix = server.options.env_vars_prefix
        self._now: datetime | None = None

    @property
    def global_vars(self) -> dict[str, Any]:
        return self.state.global_vars

    def find_bucket(self, name: str) -> Any:
        return self.state.find_bucket(name)

    def now(self) -> datetime:
        if self._now is None:
            self._now = datetime.now().astimezone()
        return self._now


@dataclass(slots=True)
class _CompiledRoute:
    route: Route
    matcher: PathMatcher | None
    crud: list[tuple[str, str, PathMatcher]] | None
    buckets: list[str] = field(default_factory=list)  # ids of the buckets to generate when it is served


_LATENCY_RANDOM = random.Random()


def served_routes(env: Environment, disabled: frozenset[str], keywords: tuple[str, ...] = (),
                  types: tuple[str, ...] = ("http", "crud")) -> list[Route]:
    """The routes of these types (HTTP and CRUD by default) Mockoon serves, in the order it tries them: the tree of
    ``rootChildren`` and folders, depth first. A route no folder lists is not served.

    ``keywords`` (``--disable-routes``) leave out, as Mockoon's ``routesFromFolder`` does, a route
    named by its uuid or whose endpoint contains a keyword, every route of a folder whose name
    contains one, and everything for ``*``."""
    if "*" in keywords:
        return []
    routes: dict[str, Route] = {}
    for route in env.routes:
        routes.setdefault(route.uuid, route)
    folders: dict[str, Any] = {}
    for folder in env.folders:
        folders.setdefault(folder.uuid, folder)
    served: list[Route] = []
    entered: set[str] = set()

    def walk(children: list[Any]) -> None:
        for child in children:
            if child.type == "route":
                route = routes.get(child.uuid)
                if route is not None and route.type in types and route.uuid not in disabled \
                        and route.uuid not in keywords and not any(k in route.endpoint for k in keywords):
                    served.append(route)
            elif child.uuid in folders and child.uuid not in entered \
                    and not any(k in folders[child.uuid].name for k in keywords):  # a folder inside itself is walked once
                entered.add(child.uuid)
                walk(folders[child.uuid].children)

    walk(env.root_children)
    return served


def _route_bucket_ids(env: Environment, route: Route) -> list[str]:
    """The buckets Mockoon generates before serving ``route``: those its texts name, after the
    ones named by a bucket they name (Mockoon keeps the last such bucket's references only)."""
    named: list[str] = []
    for header in env.headers:
        named += bucket_references(header.value)
    callbacks = {callback.uuid: callback for callback in env.callbacks}
    for response in route.responses:
        for header in response.headers:
            named += bucket_references(header.value)
        named += bucket_references(response.body) + bucket_references(response.file_path)
        for invocation in response.callbacks:
            callback = callbacks.get(invocation.uuid)
            if callback is None:
                continue
            named += bucket_references(callback.uri) + bucket_references(callback.body)
            named += bucket_references(callback.file_path)
            for header in callback.headers:
                named += bucket_references(header.value)
            if callback.databucket_id:
                named.append(callback.databucket_id)
        for rule in response.rules:
            if rule.target == "data_bucket":
                segments = rule.modifier.split(".")
                named.append(segments[1] if segments[0].startswith("$") and len(segments) > 1 else segments[0])
                named += bucket_references(rule.value)
        if response.databucket_id:
            named.append(response.databucket_id)
    nested: list[str] = []
    lowered = [name.lower() for name in named]
    for bucket in env.data:
        if bucket.id in named or any(name in bucket.name.lower() for name in lowered):
            nested = bucket_references(bucket.value)
    return list(dict.fromkeys(nested + named))


# --- Express header rules -------------------------------------------------------------------

_CHARSET_TYPES = re.compile(r"^(text/|application/(javascript|json))")  # mime 1's charsets.lookup: case-sensitive


class InvalidContentType(ValueError):
    """What the content-type package throws when Express re-formats a Content-Type it cannot read."""


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(f"{_TOKEN}/{_TOKEN}")
_PARAMETER = re.compile(f'; *({_TOKEN}) *= *("(?:[\\x0b\\x20\\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\x0b\\x20-\\xff])*"|{_TOKEN}) *')
_TEXT = re.compile(r"[\x0b\x20-\x7e\x80-\xff]*")
_SET_CHARSET = re.compile(r";\s*charset\s*=", re.I)


def _parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """The content-type package's ``parse``: media type and parameters, or InvalidContentType."""
    index = value.find(";")
    media = (value[:index] if index >= 0 else value).strip(" \t\n\r\x0b\x0c")
    if not _MEDIA_TYPE.fullmatch(media):
        raise InvalidContentType("invalid media type")
    params: dict[str, str] = {}
    if index >= 0:
        while index < len(value):
            match = _PARAMETER.match(value, index)
            if match is None or match.end() == index:
                raise InvalidContentType("invalid parameter format")
            index = match.end()
            key, param = match.group(1).lower(), match.group(2)
            if param.startswith('"'):
                param = re.sub(r"\\([\x0b\x20-\xff])", r"\1", param[1:-1])
            params[key] = param
    return media.lower(), params


def express_set_content_type(value: str) -> str:
    """``res.set('Content-Type', v)``: add ``charset=utf-8`` to text and JSON types without one."""
    if not _SET_CHARSET.search(value) and _CHARSET_TYPES.match(value.split(";")[0]):
        return f"{value}; charset=utf-8"
    return value


def with_utf8_charset(value: str) -> str:
    """``res.send(string)``: force charset=utf-8, formatting like the content-type package."""
    media, params = _parse_content_type(value)
    params["charset"] = "utf-8"
    rendered = []
    for key in sorted(params):
        param = params[key]
        if not re.fullmatch(_TOKEN, param):
            if not _TEXT.fullmatch(param):
                raise InvalidContentType("invalid parameter value")
            param = '"' + re.sub(r'(["\\])', r"\\\1", param) + '"'
        rendered.append(f"; {key}={param}")
    return media + "".join(rendered)


def uri_decodable(path: str) -> bool:
    """Whether ``decodeURIComponent`` accepts ``path`` (no stray ``%``, valid UTF-8 once decoded)."""
    if "%" not in path:
        return True
    if re.search(r"%(?![0-9A-Fa-f]{2})", path):
        return False
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^;\"]*)", re.I)
_LATIN1 = frozenset({"iso-8859-1", "latin1", "binary", "windows-1252", "iso88591", "iso_8859_1", "iso_8859-1", "ascii",
                     "us-ascii"})


def encode_as_charset(content: str, charset: re.Match[str]) -> bytes:
    """A Content-Type that names a charset is kept as written and the body encoded in it, as
    Mockoon does with Node's Buffer encodings: latin1 and ascii keep each character's low byte,
    utf-16 is little-endian without a BOM, hex and base64 decode the text; others are utf-8."""
    name = charset.group(1).strip().lower()
    if name in _LATIN1:
        return bytes(ord(c) & 0xFF for c in content)
    if name in ("utf-16le", "utf16le", "ucs-2", "ucs2", "utf-16", "utf16"):
        return content.encode("utf-16-le", "surrogatepass")
    if name == "hex":
        text = content[: len(content) // 2 * 2]
        match = re.match(r"(?:[0-9a-fA-F]{2})*", text)
        return bytes.fromhex(match.group(0) if match else "")
    if name in ("base64", "base64url"):
        letters = re.sub(r"[^A-Za-z0-9+/\-_]", "", content.split("=", 1)[0]).replace("-", "+").replace("_", "/")
        letters = letters[: len(letters) - (len(letters) % 4 == 1)]
        return base64.b64decode(letters + "=" * (-len(letters) % 4))
    return content.encode("utf-8", "surrogatepass")


class HeaderBag:
    """Response headers with Express' set (replace) and append (Set-Cookie) semantics."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def set(self, key: str, value: str) -> None:
        lowered = key.lower()
        if lowered == "content-type":
            value = express_set_content_type(value)
        self.items = [(k, v) for k, v in self.items if k.lower() != lowered]
        self.items.append((key, value))

    def append(self, key: str, value: str) -> None:
        self.items.append((key, value))

    def get(self, key: str) -> str | None:
        lowered = key.lower()
        for k, v in self.items:
            if k.lower() == lowered:
                return v
        return None

    def remove(self, key: str) -> None:
        lowered = key.lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != lowered]


def is_valid_url(text: str) -> bool:
    """Mockoon's IsValidURL (``new URL(text)`` succeeds), near enough: a scheme and something after it."""
    scheme, sep, rest = text.strip().partition(":")
    return bool(sep and rest and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme))


def not_found_page(method: str, original_url: str) -> str:
    """Express' finalhandler 404 document."""
    path = original_url.split("?", 1)[0]
    message = f"Cannot {method} {quote(path, safe=chr(33) + '#$&()*+,-./:;=?@[]_~%')}"
    escaped = html.escape(message, quote=True).replace("&#x27;", "&#39;")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n"
            f"</head>\n<body>\n<pre>{escaped}</pre>\n</body>\n</html>\n")


class MockServer:
    """One environment revision with its state; ``handle`` is called once per request."""

    def __init__(self, env: Environment, options: WorkerOptions | None = None, state: EnvironmentState | None = None) -> None:
        self.env = env
        self.options = options or WorkerOptions()
        self.engine = Engine()
        self.faker = faker_context(self.options.faker_locale, self.options.faker_seed)
        self.routes: list[_CompiledRoute] = []
        self.route_errors: list[str] = []
        for route in served_routes(env, self.options.disabled_routes, self.options.disabled_route_keywords):
            try:
                if route.type == "crud":
                    compiled = _CompiledRoute(route, None, crud_matchers(env.endpoint_prefix, route.endpoint))
                else:
                    compiled = _CompiledRoute(route, compile_route_path(env.endpoint_prefix, route.endpoint), None)
                compiled.buckets = _route_bucket_ids(env, route) if env.data else []
                self.routes.append(compiled)
            except InvalidRoutePath as error:
                self.route_errors.append(f"Invalid route path: {error} ({route.endpoint})")
        self.state = state or EnvironmentState()
        if state is None:
            self.regenerate_buckets()
        self.proxying = env.proxy_mode and is_valid_url(env.proxy_host)

    def route_endpoint(self, route_uuid: str) -> str | None:
        for compiled in self.routes:
            if compiled.route.uuid == route_uuid:
                return compiled.route.endpoint
        return None

    # --- state --------------------------------------------------------------------------------
    def regenerate_buckets(self) -> None:
        scope = Scope(None, self)
        self.state.buckets = initial_buckets(self.env, lambda text: self.engine.render(text, scope))

    def _render_or_raw(self, text: str, scope: Scope) -> str:
        try:
            return self.engine.render(text, scope)
        except TemplateError:
            return text

    def _generate_request_buckets(self, compiled: _CompiledRoute, scope: Scope) -> None:
        """Generate, with this request, the not yet generated buckets the served route names."""
        for name in compiled.buckets:
            bucket = self.state.find_bucket(name)
            if bucket is not None and not bucket.parsed:
                generate_bucket(bucket, bucket.value, lambda text: self.engine.render(text, scope))

    # --- request handling ------------------------------------------------------------------------
    def _latency(self, latency: int) -> int:
        """Mockoon's ``getLatency``: with random latency on, a whole number of ms in 0..latency."""
        if self.options.random_latency and latency > 0:
            return _LATENCY_RANDOM.randint(0, latency)  # apart from faker's seeded stream, as in Mockoon
        return latency

    def handle(self, request: RequestView) -> MockResponse:
        self.state.touch()
        try:
            return self._handle(request)
        except StateFull as full:  # a write over the plan's state cap: refused, nothing else lost
            body = json_stringify({"message": str(full)}).encode()
            return MockResponse(full.status, [("Content-Type", "application/json; charset=utf-8")], body)

    def _handle(self, request: RequestView) -> MockResponse:
        scope = Scope(request, self)
        headers = HeaderBag()
        self._apply_headers(self.env.headers, headers, scope)
        latency = node_delay_ms(self._latency(self.env.latency))  # Mockoon's two timers, each as Node runs it
        if not uri_decodable(request.path):
            # Express decodes the catch-all route's parameter (the whole path) before Mockoon routes
            return self._error(headers, f"Failed to decode param '{request.path}'", 500, latency)
        for compiled in self.routes:
            found = self._match(compiled, request, scope)
            if found is None:
                continue
            response, crud_op = found
            if compiled.buckets:
                self._generate_request_buckets(compiled, scope)
            result = self._serve(compiled.route, response, crud_op, request, scope, headers, latency)
            result.response_uuid = response.uuid
            return result
        if request.method == "OPTIONS" and self.env.cors:
            cors = HeaderBag()
            self._apply_headers([*CORS_HEADERS, *self.env.headers], cors, scope)
            return MockResponse(200, cors.items, b"", latency)
        if self.proxying:
            return MockResponse(0, headers.items, b"", latency, proxy=True)
        return self._not_found(request, headers, latency)

    def _match(self, compiled: _CompiledRoute, request: RequestView, scope: Scope) -> tuple[RouteResponse, str | None] | None:
        route = compiled.route
        method = request.method.lower()
        candidates: list[tuple[str | None, PathMatcher]]
        if compiled.crud is not None:
            candidates = [(op, m) for op, crud_method, m in compiled.crud if crud_method == method]
        elif compiled.matcher is not None and (route.method == "all" or route.method == method):
            candidates = [(None, compiled.matcher)]
        else:
            return None
        for crud_op, matcher in candidates:
            params = matcher.match(request.path)
            if params is None:
                continue
            numbers = self.state.request_numbers
            numbers.setdefault(route.uuid, 1)
            request.params = params
            response = choose_response(route, request, self.state, numbers[route.uuid],
                                       lambda text: self._render_or_raw(text, scope),
                                       lambda n: scope.random.randrange(n))
            if response is not None:
                return response, crud_op
        return None

    def _apply_headers(self, source: list[Header], target: HeaderBag, scope: Scope) -> None:
        for header in source:
            if not header.key or not header.value:
                continue
            try:
                value = self.engine.render(header.value, scope)
            except TemplateError:
                value = HEADER_PARSING_ERROR
            value = re.sub(r"[\r\n]", "", value)
            if header.key.lower() == "set-cookie":
                target.append(header.key, value)
            else:
                target.set(header.key, value)

    def _serve(self, route: Route, response: RouteResponse, crud_op: str | None, request: RequestView,
               scope: Scope, headers: HeaderBag, latency: int) -> MockResponse:
        self.state.request_numbers[route.uuid] += 1
        latency += node_delay_ms(self._latency(response.latency))
        status = response.status_code
        self._apply_headers(response.headers, headers, scope)
        if self.options.route_metadata_headers:
            number = next((str(n) for n, r in enumerate(route.responses, 1) if r.uuid == response.uuid), "")
            headers.set("x-mockoon-route-uuid", route.uuid)
            headers.set("x-mockoon-route-response-no", number)
            headers.set("x-mockoon-route-response-uuid", response.uuid)

        if response.body_type == "FILE" and response.file_path:
            return self._file_not_served(route, response, request, scope, headers, latency)

        content: Any = response.body
        template = True
        if response.body_type == "DATABUCKET" and response.databucket_id:
            template = False
            bucket = next((b for b in self.state.buckets if b.id == response.databucket_id), None)
            if bucket is not None:
                content = bucket.value
                if route.type == "crud" and crud_op:
                    if bucket.valid_json:
                        headers.set("Content-Type", "application/json")
                    if crud_op in _CRUD_WRITES:
                        self.state.reserve(request.body if request.body is not UNDEFINED else request.body_text)
                    result = run_crud(crud_op, bucket, request.params, request.query, request.body,
                                      request.body_text, route.responses[0].crud_key)
                    content = result.body
                    for key, value in result.headers:
                        headers.set(key, value)
                    if result.status is not None:
                        status = result.status
                if isinstance(content, (list, dict, bool, int, float)) and content is not None:
                    content = json_stringify(content)
                elif content is UNDEFINED or content is None:
                    content = ""
        return self._send_body(content or "", route, response, scope, headers, status, latency, template)

    def _send_body(self, content: str, route: Route, response: RouteResponse, scope: Scope, headers: HeaderBag,
                   status: int, latency: int, template: bool) -> MockResponse:
        if template and not response.disable_templating:
            try:
                content = self.engine.render(content, scope)
            except TemplateError as error:
                # Mockoon's sendError keeps the status the route set
                return self._error(headers, f"Error while serving the content: {error}", status, latency, route.uuid)
        if scope.status is not None:
            status = scope.status
        return self._finish(headers, status, content, latency, route.uuid)

    def _file_not_served(self, route: Route, response: RouteResponse, request: RequestView, scope: Scope,
                         headers: HeaderBag, latency: int) -> MockResponse:
        """The cloud never reads files: answer as Mockoon does when the file cannot be read."""
        if response.fallback_to404:
            return self._send_body(response.body or "", route, response, scope, headers, 404, latency, True)
        try:
            path = self.engine.render(response.file_path, scope)
        except TemplateError:
            path = response.file_path
        message = f"Error while serving the file content: ENOENT: no such file or directory, open '{path}'"
        return self._error(headers, message, response.status_code, latency, route.uuid)

    def _error(self, headers: HeaderBag, message: str, status: int, latency: int, route_uuid: str = "") -> MockResponse:
        headers.set("Content-Type", "text/plain")
        return self._finish(headers, status, message, latency, route_uuid)

    def _finish(self, headers: HeaderBag, status: int, content: str, latency: int, route_uuid: str) -> MockResponse:
        if not 100 <= status <= 999:
            headers = HeaderBag()
            headers.set("Content-Type", "text/plain")
            status, content = 500, f"Invalid status code: {status}"
        ctype = headers.get("Content-Type")
        charset = _CHARSET.search(ctype) if ctype else None
        if charset is None:
            try:
                headers.set("Content-Type", with_utf8_charset(ctype) if ctype else "text/html; charset=utf-8")
            except InvalidContentType as error:  # thrown by res.send, answered by Mockoon's sendError
                headers.set("Content-Type", "text/plain; charset=utf-8")
                charset, content = None, f"Error while serving the content: {error}"
        if status in (204, 304):
            headers.remove("Content-Type")
            headers.remove("Content-Length")
            headers.remove("Transfer-Encoding")
            content = ""
        body = content.encode("utf-8", "surrogatepass") if charset is None else encode_as_charset(content, charset)
        return MockResponse(status, headers.items, body, latency, route_uuid)

    def _not_found(self, request: RequestView, headers: HeaderBag, latency: int) -> MockResponse:
        for name in ("Content-Encoding", "Content-Language", "Content-Range"):
            headers.remove(name)
        headers.set("Content-Security-Policy", "default-src 'none'")
        headers.set("X-Content-Type-Options", "nosniff")
        headers.set("Content-Type", "text/html; charset=utf-8")
        return MockResponse(404, headers.items, not_found_page(request.method, request.original_url).encode(), latency)

