"""One client connection: parse (bounded, strict), route by Host, authenticate, limit, forward.

Bodies stream in both directions; only request heads are held in memory. Anything the edge
refuses gets a JSON answer; anything ambiguous about message framing closes the connection.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus

import trio

from schemas.control import Target

from .access_log import AccessLog
from .chunked import ChunkTracker, FramingError
from .control_client import ControlClient, SupervisorUnavailable
from .limits import QuotaCounter, RateLimiter
from .metrics import Metrics
from .origin import misdirected, redirect_location
from .request_head import BadRequest, RequestHead, find_head_end, parse_request_head
from .socket_streams import RawSocketStream, splice
from .upgrade import TunnelSlots, decide_upgrade
from .upstream import (
    BodyReader,
    ResponseHead,
    Upstream,
    UpstreamClosed,
    UpstreamPool,
    UpstreamProtocolError,
)
from .websocket_key import browser_key

log = logging.getLogger("mockfleet.edge")

PROTOCOL_REJECTIONS = frozenset({"smuggling", "headers", "target", "host", "body", "bad-request", "misdirected"})
# HTTP2-Settings only ever accompanies an h2c upgrade (RFC 9113 section 3.2.1), which is never forwarded
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
                        b"upgrade", b"http2-settings", b"proxy-authorization", b"proxy-authenticate"})
FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass
class EdgeLimits:
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    max_target: int = 8 * 1024
    header_timeout: float = 10.0
    idle_timeout: float = 30.0
    body_timeout: float = 30.0
    send_timeout: float = 30.0  # a client that reads nothing of a response for this long is dropped
    upstream_timeout: float = 60.0
    wake_timeout: float = 15.0
    handshake_timeout: float = 10.0
    max_connections: int = 10_000
    tunnel_idle_timeout: float = 120.0  # a WebSocket with nothing sent either way for this long is closed
    tunnel_max_seconds: float = 3600.0  # and any WebSocket after this long
    max_tunnels_per_deployment: int = 32  # open WebSockets per deployment (a worker has 256 descriptors)


@dataclass
class EdgeContext:
    control: ControlClient
    quota: QuotaCounter
    limits: EdgeLimits = field(default_factory=EdgeLimits)
    rates: RateLimiter = field(default_factory=RateLimiter)
    pool: UpstreamPool = field(default_factory=UpstreamPool)
    metrics: Metrics = field(default_factory=Metrics)
    access_log: AccessLog = field(default_factory=AccessLog)
    tunnels: TunnelSlots = field(init=False)

    def __post_init__(self) -> None:
        self.tunnels = TunnelSlots(self.limits.max_tunnels_per_deployment)


class Reject(Exception):
    """An answer the edge gives itself: status, JSON message, extra headers."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None,
                 close: bool = False, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.close = close
        self.reason = reason or f"status-{status}"


class ClientGone(Exception):
    pass


class Client:
    """The downstream side: request heads and bodies read off a (TLS) stream, with timeouts."""

    def __init__(self, stream: RawSocketStream, limits: EdgeLimits) -> None:
        self.stream = stream
        self.limits = limits
        self.buffer = bytearray()  # received and not consumed yet: a pipelining client sends ahead

    async def read_head(self, idle: float, header: float, wait_first: bool = False) -> RequestHead | None:
        """Wait up to ``idle`` for a request to start, then ``header`` for its whole head
        (slowloris); None when the client closes the connection between requests.
        ``wait_first`` right after an answer: a client that was waiting for it has sent nothing yet."""
        buffer = self.buffer
        limit = self.limits.max_header_bytes
        deadline = time.monotonic() + (header if buffer else idle)
        started = bool(buffer)
        scanned = 0
        while True:
            if buffer[:1] in (b"\r", b"\n"):  # blank lines between requests are ignored
                del buffer[:len(buffer) - len(buffer.lstrip(b"\r\n"))]
            if buffer:
                end, rest = find_head_end(buffer, max(0, scanned - 3))
                if 0 <= end <= limit:
                    raw = bytes(buffer[:end])
                    del buffer[:rest]
                    return parse_request_head(raw, self.limits.max_headers, self.limits.max_target)
                if end > limit or len(buffer) > limit:
                    raise BadRequest(431, "request head too large", "headers")
                scanned = len(buffer)
                if not started:
                    started = True
                    deadline = time.monotonic() + header
            data = await self.stream.receive_within(deadline - time.monotonic(), wait_first=wait_first and not buffer)
            if not data:
                return None
            buffer += data


class RequestBody:
    """One request's body as it arrives: Content-Length bytes as they are, chunked decoded
    (and checked: a framing error is a 400 and the end of the connection)."""

    __slots__ = ("client", "remaining", "tracker", "done")

    def __init__(self, client: Client, head: RequestHead) -> None:
        self.client = client
        self.remaining = head.content_length or 0
        self.tracker = ChunkTracker(decode=True) if head.chunked else None
        self.done = not head.has_body

    async def read(self, timeout: float) -> bytes:
        """The next piece of payload; b"" once the body is complete."""
        buffer = self.client.buffer
        while not self.done:
            if not buffer:
                data = await self.client.stream.receive_within(timeout)
                if not data:
                    raise ClientGone()
                buffer += data
            tracker = self.tracker
            if tracker is None:
                count = min(self.remaining, len(buffer))
                piece = bytes(buffer[:count])
                del buffer[:count]
                self.remaining -= count
                self.done = not self.remaining
                return piece
            try:
                used = tracker.feed(buffer)
            except FramingError as error:
                raise Reject(400, f"malformed chunked body: {error}", close=True, reason="smuggling") from None
            del buffer[:used]
            self.done = tracker.done
            payload = tracker.payload
            if payload:
                piece = bytes(payload)
                payload.clear()
                return piece
        return b""

    async def drain(self, budget: int = 64 * 1024) -> bool:
        """Read what is left of a refused request's body so the connection can be reused."""
        try:
            while not self.done and budget > 0:
                budget -= len(await self.read(1.0))
        except (trio.TooSlowError, Reject, ClientGone):
            return False
        return self.done


_PHRASES = {status.value: status.phrase.encode() for status in HTTPStatus}


def _phrase(status: int) -> bytes:
    return _PHRASES.get(status, b"")


def _json_body(status: int, message: str) -> bytes:
    return json.dumps({"status": status, "message": message}).encode()


async def linger(stream: trio.abc.Stream, budget: int = 256 * 1024, seconds: float = 1.0) -> None:
    """Read and drop what the client is still sending, so closing doesn't reset away our answer."""
    with trio.move_on_after(seconds):
        try:
            while budget > 0:
                data = await stream.receive_some(65536)
                if not data:
                    return
                budget -= len(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return


def response_head(status: int, reason: bytes, headers: list[tuple[bytes, bytes]]) -> bytearray:
    """A response head with its closing blank line; ``reason`` defaults to the standard phrase.
    Headers come from the edge itself or from our worker, which h11 validated on the way out."""
    out = bytearray(b"HTTP/1.1 %d %b\r\n" % (status, reason or _phrase(status)))
    for key, value in headers:
        out += key + b": " + value + b"\r\n"
    out += b"\r\n"
    return out


async def send_reject(client: Client, reject: Reject, head: RequestHead | None = None) -> int:
    body = _json_body(reject.status, reject.message)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("Date", formatdate(usegmt=True)), ("Cache-Control", "no-store"), *reject.headers]
    if reject.close:
        headers.append(("Connection", "close"))
    elif head is not None and head.version == b"1.0":
        headers.append(("Connection", "keep-alive"))
    head_request = head is not None and head.method == b"HEAD"
    out = response_head(reject.status, b"", [(name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
                                             for name, value in headers])
    if not head_request:
        out += body
    try:
        await client.stream.send_all(out)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return 0
    if reject.close:
        await linger(client.stream)
    return len(body)


def host_of(head: RequestHead) -> str:
    raw = head.host.decode("ascii", "replace").lower()
    if raw.startswith("["):
        return raw
    return raw.rsplit(":", 1)[0].rstrip(".")


def bearer(head: RequestHead) -> str:
    for value in head.authorization:
        scheme, _, token = value.decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer":
            return token.strip()
    return ""


def key_matches(target: Target, provided: str) -> bool:
    """Constant time: digests of equal length, compared with compare_digest."""
    given = hashlib.sha256(provided.encode()).hexdigest()
    return hmac.compare_digest(given, target.key_digest) and bool(provided)


def _rate_headers(limit: int, remaining: int, reset: float) -> list[tuple[str, str]]:
    return [("RateLimit-Limit", str(limit)), ("RateLimit-Remaining", str(remaining)),
            ("RateLimit-Reset", str(max(1, int(reset + 0.999))))]


class Exchange:
    """One request/response; fields feed the access log."""

    def __init__(self, ctx: EdgeContext, client: Client, request: RequestHead, peer: str, scheme: str = "https",
                 redirect_port: int | None = None, server_name: str | None = None) -> None:
        self.ctx = ctx
        self.server_name = server_name  # what the client asked for in its TLS handshake (SNI)
        self.scheme = scheme
        self.redirect_port = redirect_port
        self.client = client
        self.request = request
        self.peer = peer
        self.started = time.perf_counter()
        self.host = ""
        self.deployment = ""
        self.status = 0
        self.bytes_out = 0
        self.decision = "forwarded"
        self.upgraded = False
        self.websocket = False  # the request goes to the worker as a WebSocket handshake
        self.body = RequestBody(client, request)
        self.responded = False  # a response head went out: a later failure can only close
        self.continued = False  # "100 Continue" went out: the client is sending its body
        self.keep_alive = request.keep_alive
        self.forward_target = request.target  # without the key a browser's WebSocket put in the URL

    async def run(self) -> None:
        self.host = host_of(self.request)
        if misdirected(self.server_name, self.host):
            raise Reject(421, f"this connection is for {self.server_name}, not {self.host}", close=True,
                         reason="misdirected")
        try:
            target = await self.ctx.control.resolve(self.host)
        except SupervisorUnavailable:
            raise Reject(503, "the platform is restarting; retry shortly", [("Retry-After", "1")],
                         reason="supervisor") from None
        if target.kind == "none":
            raise Reject(404, f"no such instance: {self.host}", reason="unknown-host")
        self.deployment = target.deployment or "api"
        if self.redirect_port is not None:
            location = redirect_location(self.host, self.redirect_port, self.request.target)
            if location is None:
                raise Reject(400, "only a path (origin-form request target) is redirected to HTTPS",
                             reason="bad-request")
            raise Reject(308, f"this platform is served over HTTPS: {location}", [("Location", location)],
                         reason="https-redirect")
        path = self.request.target.split(b"?", 1)[0]
        headers = self.request.headers
        if target.kind == "deployment":
            provided = ""
            if (target.visibility == "PRIVATE" and self.request.upgrade and not bearer(self.request)
                    and decide_upgrade(self.request.method, self.request.version, headers).websocket):
                provided, self.forward_target, headers = browser_key(self.request.target, headers)
            headers = self._authorize(target, path, headers, provided)
            self._limit(target)
        length = self.request.content_length
        if length and target.max_body and length > target.max_body:
            raise Reject(413, f"request body exceeds {target.max_body} bytes", close=True, reason="body")
        if self.request.upgrade:
            await self._forward_upgrade(target, headers)
        else:
            await self._forward(target, headers)
        if target.kind == "api" and self.request.method not in (b"GET", b"HEAD"):
            # a deploy, delete or key rotation answered: the supervisor's invalidation may still
            # be on its way, and the caller's next request must see the change
            self.ctx.control.cache.clear()

    def _authorize(self, target: Target, path: bytes, headers: list[tuple[bytes, bytes]],
                   provided: str = "") -> list[tuple[bytes, bytes]]:
        admin = path == b"/mockoon-admin" or path.startswith(b"/mockoon-admin/")
        if target.visibility == "PRIVATE" or admin:
            provided = bearer(self.request) or provided
            if not provided:
                raise Reject(401, "this instance requires an API key: send Authorization: Bearer <api key>",
                             [("WWW-Authenticate", 'Bearer realm="mockfleet"')], reason="auth")
            if not key_matches(target, provided):
                raise Reject(401, "invalid API key", [("WWW-Authenticate", 'Bearer realm="mockfleet", error="invalid_token"')],
                             reason="auth")
        if admin:
            # the worker trusts its own token; the consumer's key never reaches it
            headers = [(k, v) for k, v in headers if k != b"authorization"]
            headers.append((b"authorization", b"Bearer " + target.admin_token.encode()))
        return headers

    def _limit(self, target: Target) -> None:
        decision = self.ctx.rates.check(target.deployment, target.requests_per_second)
        if not decision.allowed:
            self.ctx.metrics.limit_hits["rate"] += 1
            raise Reject(429, f"rate limit of {target.requests_per_second} requests per second exceeded",
                         [("Retry-After", str(max(1, int(decision.retry_after + 0.999)))),
                          *_rate_headers(decision.limit, 0, decision.reset_seconds)], reason="rate-limit")
        quota = self.ctx.quota
        if not quota.allow(target.account, target.monthly_quota):
            self.ctx.metrics.limit_hits["quota"] += 1
            resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(target.quota_resets_at))
            retry = max(1, int(target.quota_resets_at - time.time()))
            raise Reject(429, f"monthly requests quota of {target.monthly_quota} reached for this account; "
                              f"it resets on {resets}", [("Retry-After", str(retry))], reason="quota")
        quota.count(target.deployment, target.account)

    async def _forward_upgrade(self, target: Target, headers: list[tuple[bytes, bytes]]) -> None:
        """A WebSocket handshake goes on while the deployment has a tunnel slot free; any other
        upgrade is forwarded as a plain request (``_upstream_head`` leaves its fields out)."""
        request = self.request
        decision = decide_upgrade(request.method, request.version, headers)
        if not decision.websocket:
            self.ctx.metrics.rejected[f"upgrade-{decision.reason}"] += 1
            self.decision = "forwarded-without-upgrade"
            await self._forward(target, headers)
            return
        tunnels = self.ctx.tunnels
        if not tunnels.acquire(self.deployment):
            self.ctx.metrics.limit_hits["tunnels"] += 1
            raise Reject(429, f"this instance already has {tunnels.cap} open WebSocket connections",
                         [("Retry-After", "5")], reason="tunnels")
        self.websocket = True
        try:
            await self._forward(target, headers)
        finally:
            tunnels.release(self.deployment)

    async def _socket_for(self, target: Target) -> str:
        if target.kind == "api" or (target.socket and target.status == "RUNNING"):
            return target.socket
        if target.status == "FAILED":
            raise Reject(503, "this instance is failing to start; its owner has been told",
                         [("Retry-After", "30")], reason="failed")
        try:
            woken = await self.ctx.control.wake(target.deployment, self.ctx.limits.wake_timeout)
        except (SupervisorUnavailable, OSError, trio.TooSlowError):
            raise Reject(503, "the instance is starting; retry shortly", [("Retry-After", "2")], reason="wake") from None
        if not woken.ok:
            raise Reject(503, f"the instance is unavailable: {woken.reason}", [("Retry-After", "5")], reason="wake")
        self.ctx.control.forget(self.host)
        return woken.socket

    def _upstream_head(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        """The request head for the worker, as bytes: the parser validated every name and
        value on the way in, so they are copied, minus hop-by-hop and forwarding headers."""
        out = bytearray(self.request.method + b" " + self.forward_target + b" HTTP/1.1\r\n")
        if self.websocket:
            out += b"connection: upgrade\r\nupgrade: websocket\r\n"
        prior: list[bytes] = []
        chunked = False
        for key, value in headers:
            if key in FORWARDED:  # rewritten below: the edge is the only source of these
                if key == b"x-forwarded-for":
                    prior.append(value)
                continue
            if key in HOP_BY_HOP:
                chunked = chunked or key == b"transfer-encoding"
                continue
            if key == b"expect":  # the edge answers "100 Continue" itself (``_stream_request_body``)
                continue
            out += key + b": " + value + b"\r\n"
        chain = (b", ".join(prior) + b", " if prior else b"") + self.peer.encode()
        out += (b"x-forwarded-for: " + chain + b"\r\nx-forwarded-proto: " + self.scheme.encode()
                + b"\r\nx-forwarded-host: " + self.host.encode() + b"\r\n")
        if chunked:
            out += b"transfer-encoding: chunked\r\n"
        out += b"\r\n"
        return bytes(out)

    async def _forward(self, target: Target, headers: list[tuple[bytes, bytes]]) -> None:
        socket_path = await self._socket_for(target)
        upstream_head = self._upstream_head(headers)
        ctx = self.ctx
        started = time.perf_counter()
        upstream = await self._connect(socket_path, target)
        try:
            bodyless = self.body.done
            # A pooled connection the worker closed just as we reused it fails the write, or
            # (bodyless requests) ends before any answer: the worker read nothing, so the head
            # goes again, once, on a new connection.
            try:
                await self._send_head(upstream, upstream_head)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                if not upstream.reused:
                    raise
                upstream = await self._resend_fresh(upstream, socket_path, target, upstream_head)
            if not bodyless:
                await self._stream_request_body(upstream, target)
            try:
                response = await self._response_head(upstream, may_retry=upstream.reused and bodyless)
            except UpstreamClosed:
                upstream = await self._resend_fresh(upstream, socket_path, target, upstream_head)
                response = await self._response_head(upstream, may_retry=False)
            ctx.metrics.upstream_latency.observe(time.perf_counter() - started)
            if response.status == 101:
                if not self.websocket:  # nothing but a WebSocket handshake was forwarded as an upgrade
                    raise Reject(502, "the instance switched protocols unasked", close=True,
                                 reason="upstream-error")
                await self._tunnel(upstream, response)
                return
            await self._stream_response(upstream, response)
        except BaseException:
            await ctx.pool.discard(upstream)
            raise
        await ctx.pool.release(upstream)

    async def _resend_fresh(self, stale: Upstream, socket_path: str, target: Target, head: bytes) -> Upstream:
        await self.ctx.pool.discard(stale)
        upstream = await self._connect(socket_path, target, fresh=True)
        await self._send_head(upstream, head)
        return upstream

    @staticmethod
    async def _send_head(upstream: Upstream, head: bytes) -> None:
        upstream.received = False
        await upstream.stream.send_all(head)

    async def _connect(self, socket_path: str, target: Target, fresh: bool = False) -> Upstream:
        try:
            return await self.ctx.pool.get(socket_path, fresh)
        except OSError:
            self.ctx.control.forget(self.host)
            await self.ctx.pool.drop_path(socket_path)
            # the worker may have been replaced a moment ago: look again once
            try:
                again = await self.ctx.control.resolve(self.host)
                if again.socket and again.socket != socket_path:
                    return await self.ctx.pool.get(again.socket)
            except (SupervisorUnavailable, OSError):
                pass
            raise Reject(503, "the instance is not reachable right now; retry shortly",
                         [("Retry-After", "1")], reason="upstream-down") from None

    async def _stream_request_body(self, upstream: Upstream, target: Target) -> None:
        """Client body to the worker as it arrives: as is with a Content-Length, re-chunked
        (decoded and checked on the way in) otherwise."""
        chunked = self.request.chunked
        timeout = self.ctx.limits.body_timeout
        size = 0
        if self.request.expect_continue and not self.client.buffer:
            # the request passed every check: the client may send its body now
            await self.client.stream.send_all(CONTINUE)
            self.continued = True
        while piece := await self.body.read(timeout):
            size += len(piece)
            if target.max_body and size > target.max_body:
                raise Reject(413, f"request body exceeds {target.max_body} bytes", close=True, reason="body")
            await upstream.send(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            await upstream.send(b"0\r\n\r\n")

    async def _response_head(self, upstream: Upstream, may_retry: bool) -> ResponseHead:
        """The worker's response head; ``UpstreamClosed`` only when ``may_retry`` and the
        connection ended before any byte came back, a ``Reject`` for every other failure."""
        try:
            return await upstream.read_head(self.request.method == b"HEAD", self.ctx.limits.upstream_timeout)
        except trio.TooSlowError:
            raise Reject(504, "the instance did not answer in time", close=True, reason="upstream-timeout") from None
        except UpstreamClosed:
            if may_retry and not upstream.received:
                raise
            raise Reject(502, "the instance closed the connection; retry shortly", [("Retry-After", "1")],
                         close=True, reason="upstream-error") from None
        except UpstreamProtocolError:
            raise Reject(502, "the instance sent an invalid response", close=True, reason="upstream-error") from None
        except (trio.BrokenResourceError, OSError):
            raise Reject(502, "the instance closed the connection; retry shortly", [("Retry-After", "1")],
                         close=True, reason="upstream-error") from None

    async def _stream_response(self, upstream: Upstream, response: ResponseHead) -> None:
        """The worker's response to the client, written by us (no second h11 pass): the head
        minus hop-by-hop headers, then the body bytes as they come, chunked framing passed
        through to HTTP/1.1 clients, decoded for HTTP/1.0 ones."""
        client_11 = self.request.version == b"1.1"
        framing = response.framing
        headers = [(k, v) for k, v in response.headers if k not in HOP_BY_HOP]
        rechunk = framing == "close" and client_11  # an unknown length goes out chunked
        if framing == "chunked" and client_11 or rechunk:
            headers.append((b"transfer-encoding", b"chunked"))
        if framing in ("chunked", "close") and not client_11:
            self.keep_alive = False  # an HTTP/1.0 client reads to the end of the connection
        if not self.keep_alive:
            headers.append((b"connection", b"close"))
        elif not client_11:
            headers.append((b"connection", b"keep-alive"))
        self.status = response.status
        self.responded = True
        out = response_head(response.status, response.reason, headers)
        reader = BodyReader(response, decode_chunks=framing == "chunked" and not client_11)
        send = self.client.stream.send_all
        timeout = self.ctx.limits.upstream_timeout
        buffer = upstream.buffer
        try:
            while not reader.done:
                if buffer:
                    piece = reader.take(buffer)
                    self.bytes_out += len(piece)
                    if rechunk and piece:
                        out += b"%x\r\n%b\r\n" % (len(piece), piece)
                    else:
                        out += piece
                    if len(out) >= 65536:
                        await send(bytes(out))
                        out.clear()
                    continue
                # flush what is ready before waiting on the worker (server-sent events)
                if out:
                    await send(bytes(out))
                    out.clear()
                more = await upstream.fill(timeout)
                if not more:
                    if framing != "close":
                        raise ClientGone()  # cut short: all we can do is close
                    break
        except (trio.TooSlowError, UpstreamProtocolError, FramingError, trio.BrokenResourceError, OSError):
            raise ClientGone() from None
        if rechunk:
            out += b"0\r\n\r\n"
        if out:
            await send(bytes(out))
        upstream.reusable = response.keep_alive and framing != "close" and not buffer

    async def _tunnel(self, upstream: Upstream, response: ResponseHead) -> None:
        """After a 101 both sides speak another protocol (WebSocket): copy bytes both ways."""
        self.status = 101
        self.upgraded = True
        self.responded = True
        self.keep_alive = False
        head = response_head(101, response.reason, response.headers)
        await self.client.stream.send_all(head)
        upstream_rest = bytes(upstream.buffer)
        upstream.buffer.clear()
        client_rest = bytes(self.client.buffer)
        self.client.buffer.clear()
        if upstream_rest:
            await self.client.stream.send_all(upstream_rest)
        if client_rest:
            await upstream.stream.send_all(client_rest)
        limits = self.ctx.limits
        ended = await splice(self.client.stream, upstream.stream, limits.tunnel_idle_timeout, limits.tunnel_max_seconds)
        self.decision = f"tunnel-{ended}"
        raise ClientGone()  # the connection is consumed

    def log(self) -> None:
        elapsed = time.perf_counter() - self.started
        cls = f"{self.status // 100}xx" if self.status else "none"
        self.ctx.metrics.requests[cls] += 1
        self.ctx.metrics.bytes_out += self.bytes_out
        if self.ctx.access_log.enabled:
            self.ctx.access_log.write({
                "ts": round(time.time(), 3), "host": self.host, "deployment": self.deployment,
                "method": self.request.method.decode(), "path": self.request.target.split(b"?", 1)[0].decode("latin-1"),
                "status": self.status, "bytes": self.bytes_out, "ms": round(elapsed * 1000, 2),
                "decision": self.decision, "client": self.peer})


async def handle_connection(ctx: EdgeContext, stream: RawSocketStream, peer: str, scheme: str = "https",
                            redirect_port: int | None = None, server_name: str | None = None) -> None:
    client = Client(stream, ctx.limits)
    limits = ctx.limits
    answered = False
    try:
        while True:
            if not stream.waited:
                # every operation of the last exchange completed at once (a pipelining client,
                # answers the edge gives itself): let other connections run before the next
                await trio.lowlevel.checkpoint()
            stream.waited = False
            try:
                head = await client.read_head(limits.idle_timeout, limits.header_timeout, wait_first=answered)
            except trio.TooSlowError:
                if client.buffer:
                    ctx.metrics.rejected["header-timeout"] += 1
                    await send_reject(client, Reject(408, "request head not received in time", close=True))
                return
            except BadRequest as bad:
                ctx.metrics.rejected[bad.reason] += 1
                await send_reject(client, Reject(bad.status, f"malformed request: {bad.message}", close=True))
                return
            if head is None:
                return
            answered = True
            exchange = Exchange(ctx, client, head, peer, scheme, redirect_port, server_name)
            try:
                await exchange.run()
            except Reject as reject:
                exchange.status = reject.status
                exchange.decision = reject.reason
                if reject.reason in PROTOCOL_REJECTIONS:
                    ctx.metrics.rejected[reject.reason] += 1
                if exchange.responded:
                    reject.close = True  # mid-response: all that is left is to close
                else:
                    if head.expect_continue and not exchange.continued and not client.buffer:
                        reject.close = True  # the client holds its body back: don't wait for it
                    if not reject.close and not exchange.body.done:
                        reject.close = not await exchange.body.drain()
                    reject.close = reject.close or not exchange.keep_alive
                    exchange.bytes_out = await send_reject(client, reject, head)
                exchange.log()
                if reject.close:
                    return
                continue
            except (ClientGone, trio.TooSlowError):
                exchange.log()
                return
            exchange.log()
            if not exchange.keep_alive or not exchange.body.done:
                return
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return
    finally:
        await trio.aclose_forcefully(stream)
