"""Relaying: one request to its worker over a pooled Unix connection and the answer back,
streamed both ways, or a WebSocket tunnel once the worker switched protocols.

``Relay`` holds what the access log reports about the exchange (status, bytes, how it ended);
a worker that fails (no answer in time, a broken connection, nonsense) is answered 502/504 and
reported to the supervisor through ``observe``; what reached a worker is counted there too.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import trio

from schemas.control import Target

from .chunked import FramingError
from .control_client import SupervisorUnavailable
from .downstream import CONTINUE, Client, ClientGone, Refused, RequestBody, response_head
from .request_head import RequestHead
from .stages import Forward, Refusal, body_too_large
from .upstream import (
    BodyReader,
    ResponseHead,
    Upstream,
    UpstreamClosed,
    UpstreamProtocolError,
)
from .websocket_guard import MessageGuard
from .websocket_tunnel import Tunnel, relay_websocket

if TYPE_CHECKING:
    from .proxy import EdgeContext

# HTTP2-Settings only ever accompanies an h2c upgrade (RFC 9113 section 3.2.1), which is never forwarded
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
                        b"upgrade", b"http2-settings", b"proxy-authorization", b"proxy-authenticate"})
FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"})


def upstream_head(request: RequestHead, headers: list[tuple[bytes, bytes]], websocket: bool, peer: str,
                  scheme: str, host: str, target: bytes | None = None) -> bytes:
    """The request head for the worker, as bytes: the parser validated every name and value on
    the way in, so they are copied, minus hop-by-hop and forwarding headers."""
    out = bytearray(request.method + b" " + (target or request.target) + b" HTTP/1.1\r\n")
    if websocket:
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
    chain = (b", ".join(prior) + b", " if prior else b"") + peer.encode()
    out += (b"x-forwarded-for: " + chain + b"\r\nx-forwarded-proto: " + scheme.encode()
            + b"\r\nx-forwarded-host: " + host.encode() + b"\r\n")
    if chunked:
        out += b"transfer-encoding: chunked\r\n"
    out += b"\r\n"
    return bytes(out)


TIMED_OUT = Refusal(504, "the instance did not answer in time", close=True, reason="upstream-timeout")
CLOSED = Refusal(502, "the instance closed the connection; retry shortly", (("Retry-After", "1"),), close=True,
                 reason="upstream-error")
INVALID = Refusal(502, "the instance sent an invalid response", close=True, reason="upstream-error")
UNREACHABLE = Refusal(503, "the instance is not reachable right now; retry shortly", (("Retry-After", "1"),),
                      reason="upstream-down")


class Relay:
    """One request/response between a client connection and a worker."""

    def __init__(self, ctx: EdgeContext, client: Client, request: RequestHead, peer: str, scheme: str) -> None:
        self.ctx = ctx
        self.client = client
        self.request = request
        self.peer = peer
        self.scheme = scheme
        self.host = ""
        self.deployment = ""
        self.status = 0
        self.bytes_out = 0
        self.decision = "forwarded"
        self.upgraded = False
        self.websocket = False  # the request goes to the worker as a WebSocket handshake
        self.tunnel: Tunnel | None = None  # once the handshake is forwarded
        self.body = RequestBody(client, request)
        self.responded = False  # a response head went out: a later failure can only close
        self.continued = False  # "100 Continue" went out: the client is sending its body
        self.keep_alive = request.keep_alive

    async def relay(self, target: Target, forward: Forward) -> None:
        """Forward as ``forward`` says; a WebSocket's tunnel slot is given back when it ends."""
        if forward.dropped_upgrade:
            self.ctx.metrics.rejected[f"upgrade-{forward.dropped_upgrade}"] += 1
            self.decision = "forwarded-without-upgrade"
        if not forward.websocket:
            await self._forward(target, forward.headers, forward.target)
            return
        self.websocket = True
        ctx = self.ctx
        tunnel = self.tunnel = Tunnel(self.host, target, MessageGuard(forward.tunnel_slot, ctx.limits.websocket_messages,
                                                                      ctx.message_rates))
        ctx.open_tunnels.add(tunnel)  # before the handshake: a key rotated meanwhile still reaches it
        try:
            await self._forward(target, forward.headers, forward.target)
        finally:
            ctx.open_tunnels.discard(tunnel)
            ctx.tunnels.release(forward.tunnel_slot)

    def _failed(self, target: Target, socket_path: str, refusal: Refusal) -> Refused:
        """A worker failure: reported (deployments only), then answered."""
        if target.kind == "deployment":
            self.ctx.observer.upstream_failed(target.deployment, refusal.status, refusal.reason, socket_path)
        return Refused(refusal)

    async def _socket_for(self, target: Target) -> str:
        if target.kind == "api" or (target.socket and target.status == "RUNNING"):
            return target.socket
        if target.status == "FAILED":
            raise Refused(Refusal(503, "this instance is failing to start; its owner has been told",
                                  (("Retry-After", "30"),), reason="failed"))
        try:
            woken = await self.ctx.control.wake(target.deployment, self.ctx.limits.wake_timeout)
        except (SupervisorUnavailable, OSError, trio.TooSlowError):
            raise Refused(Refusal(503, "the instance is starting; retry shortly", (("Retry-After", "2"),),
                                  reason="wake")) from None
        if not woken.ok:
            retry = str(max(1, math.ceil(woken.retry_after))) if woken.retry_after else "5"  # a backoff's end
            raise Refused(Refusal(503, f"the instance is unavailable: {woken.reason}", (("Retry-After", retry),),
                                  reason="wake"))
        self.ctx.control.forget(self.host)
        return woken.socket

    async def _forward(self, target: Target, headers: list[tuple[bytes, bytes]],
                       forward_target: bytes | None = None) -> None:
        socket_path = await self._socket_for(target)
        head = upstream_head(self.request, headers, self.websocket, self.peer, self.scheme, self.host,
                             forward_target)
        ctx = self.ctx
        started = time.perf_counter()
        upstream = await self._connect(socket_path, target)
        try:
            bodyless = self.body.done
            # A pooled connection the worker closed just as we reused it fails the write, or
            # (bodyless requests) ends before any answer: the worker read nothing, so the head
            # goes again, once, on a new connection.
            try:
                await self._send_head(upstream, head)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                if not upstream.reused:
                    raise
                upstream = await self._resend_fresh(upstream, socket_path, target, head)
            ctx.observer.forwarded(target)  # it reached the worker: it counts
            if not bodyless:
                await self._stream_request_body(upstream, target)
            try:
                response = await self._response_head(upstream, target, socket_path,
                                                     may_retry=upstream.reused and bodyless)
            except UpstreamClosed:
                upstream = await self._resend_fresh(upstream, socket_path, target, head)
                response = await self._response_head(upstream, target, socket_path, may_retry=False)
            ctx.metrics.upstream_latency.observe(time.perf_counter() - started)
            if response.status == 101:
                if not self.websocket:  # nothing but a WebSocket handshake was forwarded as an upgrade
                    raise self._failed(target, socket_path, Refusal(502, "the instance switched protocols unasked",
                                                                    close=True, reason="upstream-error"))
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
            raise self._failed(target, socket_path, UNREACHABLE) from None

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
                raise Refused(body_too_large(target.max_body))
            await upstream.send(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            await upstream.send(b"0\r\n\r\n")

    async def _response_head(self, upstream: Upstream, target: Target, socket_path: str,
                             may_retry: bool) -> ResponseHead:
        """The worker's response head; ``UpstreamClosed`` only when ``may_retry`` and the
        connection ended before any byte came back, a reported ``Refused`` for every other failure."""
        try:
            return await upstream.read_head(self.request.method == b"HEAD", self.ctx.limits.upstream_timeout)
        except trio.TooSlowError:
            raise self._failed(target, socket_path, TIMED_OUT) from None
        except UpstreamClosed:
            if may_retry and not upstream.received:
                raise
            raise self._failed(target, socket_path, CLOSED) from None
        except UpstreamProtocolError:
            raise self._failed(target, socket_path, INVALID) from None
        except (trio.BrokenResourceError, OSError):
            raise self._failed(target, socket_path, CLOSED) from None

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
        """After a 101 both sides speak WebSocket: relayed both ways, messages counted and
        checked (``websocket_tunnel``)."""
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
        client_stream: trio.abc.Stream = self.client.stream
        upstream_stream: trio.abc.Stream = upstream.stream
        if upstream_rest or client_rest:  # frames that came with the handshake go through the scanners too
            client_stream = _Prefixed(client_stream, client_rest)
            upstream_stream = _Prefixed(upstream_stream, upstream_rest)
        limits = self.ctx.limits
        assert self.tunnel is not None
        deflate = any(k == b"sec-websocket-extensions" and b"permessage-deflate" in v.lower()
                      for k, v in response.headers)
        ending = await relay_websocket(self.tunnel, client_stream, upstream_stream, self.ctx.metrics,
                                       limits.tunnel_idle_timeout, limits.tunnel_max_seconds, deflate)
        self.decision = f"tunnel-{ending.name if ending else 'closed'}"
        if ending is not None:
            self.ctx.metrics.websocket_endings[ending.name] += 1
        raise ClientGone()  # the connection is consumed


class _Prefixed(trio.abc.Stream):
    """A stream whose first read returns bytes already received (after the handshake, in the
    same read) before reading on."""

    def __init__(self, stream: trio.abc.Stream, first: bytes) -> None:
        self.stream = stream
        self.first = first

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.first:
            first, self.first = self.first, b""
            return first
        return await self.stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.stream.aclose()
