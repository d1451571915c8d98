"""A WebSocket tunnel after its 101: bytes relayed both ways as they come, each read's frame
headers checked on the way (``websocket_frames``, ``websocket_guard``), and, when the edge ends
the tunnel itself, a close frame to each side before both connections close.

The client's own close handshake passes through untouched. When the edge ends a tunnel (a
refused message, a timeout, a rotated key) it sends the client an unmasked close frame and the
worker a masked one, each only where that side's stream stands between frames (a frame cut in
the middle cannot be followed by another: that side's connection just closes), then waits up to
``CLOSE_GRACE`` seconds for both to answer and hang up, so no reset destroys the close frame
before the peer read it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from schemas.control import Target

from .control_client import SupervisorUnavailable
from .metrics import Metrics
from .socket_streams import READ_SIZE
from .websocket_frames import CLOSE, FrameScanner, close_frame
from .websocket_guard import IDLE, TOTAL, Ending, MessageGuard, protocol_error, recheck

CLOSE_GRACE = 1.0  # seconds both sides get to answer the edge's close frame and hang up


class Tunnel:
    """One open WebSocket: the target its handshake was authorised against, its messages, and
    how it ends (``end`` may be called from any task: the relay sends the close frames)."""

    def __init__(self, host: str, handshake: Target, guard: MessageGuard) -> None:
        self.host = host
        self.handshake = handshake
        self.guard = guard
        self.ending: Ending | None = None
        self.scope = trio.CancelScope()
        self.peer_closed = False

    def end(self, ending: Ending) -> None:
        if self.ending is None:
            self.ending = ending
        self.scope.cancel()


class OpenTunnels:
    """Every open tunnel by host, so that an invalidation from the supervisor (a key rotated, a
    deployment deleted) reaches the tunnels it concerns: ``invalidated`` notes the hosts (no
    I/O, called by the control client), ``recheck_forever`` looks them up again and ends the
    tunnels whose handshake no longer holds."""

    def __init__(self) -> None:
        self.by_host: dict[str, set[Tunnel]] = {}
        self._dirty: set[str] = set()
        self._wake = trio.Event()
        self.closing: Ending | None = None  # the edge is stopping: tunnels end as they open
        self._empty: trio.Event | None = None

    def add(self, tunnel: Tunnel) -> None:
        self.by_host.setdefault(tunnel.host, set()).add(tunnel)
        if self.closing is not None:
            tunnel.end(self.closing)

    def discard(self, tunnel: Tunnel) -> None:
        tunnels = self.by_host.get(tunnel.host)
        if tunnels is not None:
            tunnels.discard(tunnel)
            if not tunnels:
                del self.by_host[tunnel.host]
        if not self.by_host and self._empty is not None:
            self._empty.set()

    async def close_all(self, ending: Ending, seconds: float) -> None:
        """End every tunnel (and any opened meanwhile) with ``ending``, and wait up to ``seconds``
        for their close frames to go out and their peers to hang up."""
        self.closing = ending
        self._empty = trio.Event()
        for tunnels in list(self.by_host.values()):
            for tunnel in list(tunnels):
                tunnel.end(ending)
        if self.by_host:
            with trio.move_on_after(seconds):
                await self._empty.wait()

    def invalidated(self, hosts: list[str]) -> None:
        """``hosts`` changed (empty: any may have)."""
        self._dirty.update(host for host in hosts or list(self.by_host) if host in self.by_host)
        if self._dirty:
            self._wake.set()

    async def recheck_forever(self, resolve: Callable[[str], Awaitable[Target]]) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            hosts, self._dirty = self._dirty, set()
            for host in hosts:
                if host not in self.by_host:
                    continue
                try:
                    now = await resolve(host)
                except (SupervisorUnavailable, OSError):
                    continue  # nothing changes while the supervisor is away; the next push rechecks
                for tunnel in list(self.by_host.get(host, ())):
                    ending = recheck(tunnel.handshake, now)
                    if ending is not None:
                        tunnel.end(ending)


@dataclass(slots=True)
class _Direction:
    """One way through the tunnel: its frames, and whether what its sink received so far ends
    between frames (``clean``) and included a close frame."""

    scanner: FrameScanner
    inbound: bool  # from the client to the worker
    clean: bool = True
    close_sent: bool = False


async def relay_websocket(tunnel: Tunnel, client: trio.abc.Stream, worker: trio.abc.Stream, metrics: Metrics,
                          idle: float = math.inf, total: float = math.inf, deflate: bool = False) -> Ending | None:
    """Relay until either side hangs up (None) or the edge ends the tunnel: a refused frame, a
    protocol violation, ``idle`` seconds with nothing either way, ``total`` seconds in all, or
    ``tunnel.end`` from outside. Then the close frames (``Ending``) go out and both sides get
    ``CLOSE_GRACE`` to answer."""
    guard = tunnel.guard
    started = trio.current_time()
    last_call = started + total
    up = _Direction(FrameScanner(masked=True, deflate=deflate), inbound=True)
    down = _Direction(FrameScanner(masked=False, deflate=deflate), inbound=False)
    counted = metrics.websocket_messages
    scope = tunnel.scope

    async def copy(source: trio.abc.ReceiveStream, sink: trio.abc.SendStream, way: _Direction) -> None:
        label = "in" if way.inbound else "out"
        try:
            while data := await source.receive_some(READ_SIZE):
                scanned = way.scanner.feed(data)
                heads = scanned.heads
                cut: tuple[int, Ending] | None = None
                if heads:
                    before = guard.messages_in if way.inbound else guard.messages_out
                    cut = guard.check(heads, way.inbound)
                    counted[label] += (guard.messages_in if way.inbound else guard.messages_out) - before
                if scanned.violation is not None and (cut is None or scanned.violation.offset < cut[0]):
                    cut = scanned.violation.offset, protocol_error(scanned.violation.reason)
                out = scanned.data if cut is None else scanned.data[:cut[0]]
                if heads and not way.close_sent:
                    way.close_sent = any(head.opcode == CLOSE and head.offset < len(out) for head in heads)
                if out:
                    way.clean = False
                    await sink.send_all(out)
                if cut is not None:
                    way.clean = True  # cut before a frame: the sink's stream ends between frames
                    tunnel.end(cut[1])
                    return
                way.clean = way.scanner.remaining == 0
                scope.deadline = min(last_call, trio.current_time() + idle)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        tunnel.peer_closed = True
        scope.cancel()

    scope.deadline = min(last_call, started + idle)
    with scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(copy, client, worker, up)
            nursery.start_soon(copy, worker, client, down)
    ending = tunnel.ending
    if ending is None:
        if tunnel.peer_closed:  # a side hung up (after its close handshake, or not): nothing to add
            return None
        ending = tunnel.ending = TOTAL if trio.current_time() >= last_call else IDLE
    await _close_both(ending, client, worker, up, down)
    return ending


async def _close_both(ending: Ending, client: trio.abc.Stream, worker: trio.abc.Stream, up: _Direction,
                      down: _Direction) -> None:
    """The edge's close frame to each side that can take one, then up to ``CLOSE_GRACE`` for
    both to answer and hang up (what they send meanwhile is dropped)."""

    async def drain(stream: trio.abc.ReceiveStream) -> None:
        try:
            while await stream.receive_some(READ_SIZE):
                pass
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass

    with trio.move_on_after(CLOSE_GRACE):
        try:
            if down.clean and not down.close_sent:
                await client.send_all(close_frame(ending.code, ending.reason))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        try:
            if up.clean and not up.close_sent:
                await worker.send_all(close_frame(ending.code, ending.reason, os.urandom(4)))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, client)
            nursery.start_soon(drain, worker)
