"""The edge process: TLS listener, optional plain-HTTP listener, metrics port, control tasks."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import trio

from .access_log import AccessLog
from .certificates import server_name
from .control_client import ControlClient
from .limits import QuotaCounter
from .metrics import Metrics
from .proxy import EdgeContext, EdgeLimits, handle_connection
from .socket_streams import DEADLINES, RawSocketStream, TlsSocketStream
from .usage_ledger import LedgerBusy, UsageLedger

log = logging.getLogger("mockfleet.edge")


@dataclass
class EdgeConfig:
    control_socket: Path
    ssl_context: ssl.SSLContext | None
    https_port: int = 8443
    bind: str = "0.0.0.0"
    http_port: int | None = None
    http_redirect: bool = True  # the plain port answers 308 to the same URL over HTTPS
    metrics_port: int | None = 9464
    metrics_bind: str = "127.0.0.1"
    limits: EdgeLimits | None = None
    access_log: bool = False
    usage_ledger: Path | None = None  # where counted requests outlive the edge (None: memory only)
    ledger_wait: float = 10.0  # seconds to wait for a predecessor edge to release the ledger


@asynccontextmanager
async def _admitted(ctx: EdgeContext, limiter: trio.CapacityLimiter, stream: trio.abc.Stream) -> AsyncIterator[bool]:
    """A connection slot, or False (and the connection closed) when the edge is at its limit."""
    try:
        limiter.acquire_nowait()
    except trio.WouldBlock:
        ctx.metrics.rejected["max-connections"] += 1
        await trio.aclose_forcefully(stream)
        yield False
        return
    ctx.metrics.open_connections += 1
    try:
        yield True
    finally:
        ctx.metrics.open_connections -= 1
        limiter.release()


async def _serve_tls(ctx: EdgeContext, limiter: trio.CapacityLimiter, context: ssl.SSLContext,
                     accepted: trio.SocketStream) -> None:
    async with _admitted(ctx, limiter, accepted) as admitted:
        if not admitted:
            return
        try:
            stream = TlsSocketStream.accept(accepted, context)
        except (ssl.SSLError, OSError):
            await trio.aclose_forcefully(accepted)
            return
        with trio.move_on_after(ctx.limits.handshake_timeout) as scope:
            try:
                await stream.do_handshake()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                ctx.metrics.rejected["tls"] += 1
                await trio.aclose_forcefully(stream)
                return
        if scope.cancelled_caught:
            ctx.metrics.rejected["tls-timeout"] += 1
            await trio.aclose_forcefully(stream)
            return
        stream.send_timeout = ctx.limits.send_timeout
        await handle_connection(ctx, stream, stream.peer_host(), server_name=server_name(stream.tls))


async def _serve_plain(ctx: EdgeContext, limiter: trio.CapacityLimiter, redirect_port: int | None,
                       accepted: trio.SocketStream) -> None:
    async with _admitted(ctx, limiter, accepted) as admitted:
        if admitted:
            stream = RawSocketStream.adopt(accepted)
            stream.send_timeout = ctx.limits.send_timeout
            await handle_connection(ctx, stream, stream.peer_host(), scheme="http", redirect_port=redirect_port)


async def _serve_metrics(ctx: EdgeContext, stream: trio.SocketStream) -> None:
    try:
        with trio.move_on_after(5):
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 8192:
                data = await stream.receive_some(4096)
                if not data:
                    return
                request += data
        states: dict[str, int] = {}
        for target, _ in ctx.control.cache.values():
            if target.kind == "deployment":
                states[target.status or "UNKNOWN"] = states.get(target.status or "UNKNOWN", 0) + 1
        if request.startswith(b"GET /metrics"):
            body = ctx.metrics.render(states, sum(ctx.tunnels.open.values()))
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
        else:
            body = b"not found\n"
            head = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
        await stream.send_all(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    except (trio.BrokenResourceError, OSError):
        pass
    finally:
        await trio.aclose_forcefully(stream)


async def _accept(ctx: EdgeContext, handler: Callable[[trio.SocketStream], Awaitable[None]],
                  listeners: list[trio.SocketListener], nursery: trio.Nursery) -> None:
    """Accept until ``ctx.stop_accepting`` (the edge is stopping: its open connections finish
    in ``nursery`` while new ones are refused), then close the listening sockets."""
    with trio.CancelScope() as scope:
        ctx.accepting.append(scope)
        await trio.serve_listeners(handler, listeners, handler_nursery=nursery)
    for listener in listeners:
        await listener.aclose()


async def open_ledger(path: Path | None, wait: float) -> UsageLedger:
    """The ledger file, once an edge that still holds it (exiting, or orphaned) lets it go."""
    with trio.fail_after(wait):
        while True:
            try:
                return UsageLedger(path)
            except LedgerBusy:
                await trio.sleep(0.1)


async def run_edge(config: EdgeConfig, task_status: trio.TaskStatus[EdgeContext] = trio.TASK_STATUS_IGNORED) -> None:
    quota = QuotaCounter(ledger=await open_ledger(config.usage_ledger, config.ledger_wait))
    ctx = EdgeContext(control=ControlClient(config.control_socket, quota), quota=quota,
                      limits=config.limits or EdgeLimits(), metrics=Metrics(),
                      access_log=AccessLog(config.access_log))
    limiter = trio.CapacityLimiter(ctx.limits.max_connections)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(DEADLINES.enforce)
        ctx.control.on_invalidate = ctx.open_tunnels.invalidated
        nursery.start_soon(ctx.open_tunnels.recheck_forever, ctx.control.resolve)
        nursery.start_soon(ctx.control.follow_invalidations)
        nursery.start_soon(ctx.control.report_usage_forever)
        nursery.start_soon(ctx.control.report_failures_forever)
        nursery.start_soon(ctx.access_log.flush_forever)
        if config.ssl_context is not None:
            listeners = await trio.open_tcp_listeners(config.https_port, host=config.bind)
            nursery.start_soon(_accept, ctx, partial(_serve_tls, ctx, limiter, config.ssl_context), listeners, nursery)
        if config.http_port is not None:
            plain = await trio.open_tcp_listeners(config.http_port, host=config.bind)
            redirect = config.https_port if config.http_redirect and config.ssl_context is not None else None
            nursery.start_soon(_accept, ctx, partial(_serve_plain, ctx, limiter, redirect), plain, nursery)
        if config.metrics_port is not None:
            metrics = await trio.open_tcp_listeners(config.metrics_port, host=config.metrics_bind)
            nursery.start_soon(trio.serve_listeners, partial(_serve_metrics, ctx), metrics)
        task_status.started(ctx)
        try:
            await trio.sleep_forever()
        finally:
            ctx.access_log.flush()
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                await ctx.control.report_usage()
                await ctx.control.report_failures()
            quota.ledger.close()
