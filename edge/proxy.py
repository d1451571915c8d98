"""One client connection: read each request (``downstream``), run the policy stages
(``stages``), forward what passes (``relay``), and let ``observe`` log, measure and count.

The connection loop owns keep-alive and pipelining: a refused request's body is drained so the
connection can serve the next one, and anything ambiguous about framing closes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import trio

from .access_log import AccessLog
from .control_client import ControlClient, SupervisorUnavailable
from .downstream import Client, ClientGone, Refused, send_refusal
from .limits import QuotaCounter, RateLimiter
from .metrics import Metrics
from .observe import Observer
from .relay import Relay
from .request_head import BadRequest, RequestHead
from .socket_streams import RawSocketStream
from .stages import SUPERVISOR_DOWN, Refusal, check_host, decide, host_of
from .upgrade import TunnelSlots
from .upstream import UpstreamPool
from .websocket_guard import MessageLimits
from .websocket_tunnel import OpenTunnels

PROTOCOL_REJECTIONS = frozenset({"smuggling", "headers", "target", "host", "body", "bad-request", "misdirected"})


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
    websocket_messages: MessageLimits = field(default_factory=MessageLimits)  # per deployment, over its tunnels


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
    message_rates: RateLimiter = field(default_factory=RateLimiter)  # WebSocket messages, by deployment and way
    open_tunnels: OpenTunnels = field(default_factory=OpenTunnels)
    accepting: list[trio.CancelScope] = field(default_factory=list)  # the listeners' (``server._accept``)
    observer: Observer = field(init=False)

    def __post_init__(self) -> None:
        self.tunnels = TunnelSlots(self.limits.max_tunnels_per_deployment)
        self.observer = Observer(self.metrics, self.access_log, self.quota, self.control)

    def stop_accepting(self) -> None:
        for scope in self.accepting:
            scope.cancel()


class Exchange(Relay):
    """One request/response: the stages decide, ``Relay`` forwards."""

    def __init__(self, ctx: EdgeContext, client: Client, request: RequestHead, peer: str, scheme: str = "https",
                 redirect_port: int | None = None, server_name: str | None = None) -> None:
        super().__init__(ctx, client, request, peer, scheme)
        self.server_name = server_name  # what the client asked for in its TLS handshake (SNI)
        self.redirect_port = redirect_port
        self.started = time.perf_counter()

    async def run(self) -> Refusal | None:
        """Forward the request, or the refusal to answer in its place (worker failures are
        raised as ``Refused`` by the relay)."""
        ctx = self.ctx
        request = self.request
        host = self.host = host_of(request)
        refusal = check_host(host, self.server_name)
        if refusal is not None:
            return refusal
        try:
            target = await ctx.control.resolve(host)
        except SupervisorUnavailable:
            return SUPERVISOR_DOWN
        self.deployment = target.deployment or "api"
        decision = decide(request, host, target, self.redirect_port, ctx.rates, ctx.quota, ctx.tunnels)
        if isinstance(decision, Refusal):
            return decision
        await self.relay(target, decision)
        if target.kind == "api" and request.method not in (b"GET", b"HEAD"):
            # a deploy, delete or key rotation answered: the supervisor's invalidation may still
            # be on its way, and the caller's next request must see the change
            ctx.control.cache.clear()
        return None


async def _refuse(ctx: EdgeContext, client: Client, exchange: Exchange, refusal: Refusal) -> bool:
    """Answer ``refusal`` in place of the request; whether the connection must close after it."""
    exchange.status = refusal.status
    exchange.decision = refusal.reason or f"status-{refusal.status}"
    if refusal.limit_hit:
        ctx.metrics.limit_hits[refusal.limit_hit] += 1
    if refusal.reason in PROTOCOL_REJECTIONS:
        ctx.metrics.rejected[refusal.reason] += 1
    if exchange.responded:
        return True  # mid-response: all that is left is to close
    close = refusal.close
    if exchange.request.expect_continue and not exchange.continued and not client.buffer:
        close = True  # the client holds its body back: don't wait for it
    if not close and not exchange.body.done:
        close = not await exchange.body.drain()
    close = close or not exchange.keep_alive
    exchange.bytes_out = await send_refusal(client, refusal, exchange.request, close)
    return close


async def handle_connection(ctx: EdgeContext, stream: RawSocketStream, peer: str, scheme: str = "https",
                            redirect_port: int | None = None, server_name: str | None = None) -> None:
    limits = ctx.limits
    client = Client(stream, limits.max_header_bytes, limits.max_headers, limits.max_target)
    observer = ctx.observer
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
                    await send_refusal(client, Refusal(408, "request head not received in time", close=True))
                return
            except BadRequest as bad:
                ctx.metrics.rejected[bad.reason] += 1
                await send_refusal(client, Refusal(bad.status, f"malformed request: {bad.message}", close=True))
                return
            if head is None:
                return
            answered = True
            exchange = Exchange(ctx, client, head, peer, scheme, redirect_port, server_name)
            try:
                refusal = await exchange.run()
            except Refused as refused:
                refusal = refused.refusal
            except (ClientGone, trio.TooSlowError):
                observer.finished(exchange, exchange.started)
                return
            if refusal is not None:
                close = await _refuse(ctx, client, exchange, refusal)
                observer.finished(exchange, exchange.started)
                if close:
                    return
                continue
            observer.finished(exchange, exchange.started)
            if not exchange.keep_alive or not exchange.body.done:
                return
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return
    finally:
        await trio.aclose_forcefully(stream)
