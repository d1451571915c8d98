"""``just bench edge_tunnel``: what reading frame headers costs a WebSocket tunnel through the edge.

In one process, over Unix socket pairs: a client sends ``COUNT`` pre-built masked messages, a
worker side reads them; between them the edge's tunnel (``relay_websocket``: frame headers read,
messages counted, sized and rated) or, for comparison, the plain byte copy it replaced
(``splice``). Figures: CPU microseconds of the whole process per message with each, and their
difference: the scanner's cost per message (the other work is the same in both runs).
"""

from __future__ import annotations

import socket
import time

import trio

from edge.limits import RateLimiter
from edge.metrics import Metrics
from edge.socket_streams import RawSocketStream, splice
from edge.websocket_guard import MessageGuard, MessageLimits
from edge.websocket_tunnel import Tunnel, relay_websocket
from schemas.control import Target
from tests.bench.common import record
from tests.ws_client import client_frame

COUNT = 200_000


async def _run(batch: bytes, batches: int, count: int, scanned: bool) -> None:
    edge_client, client_sock = socket.socketpair()
    edge_worker, worker_sock = socket.socketpair()
    client, worker = RawSocketStream(client_sock), RawSocketStream(worker_sock)
    one, other = RawSocketStream(edge_client), RawSocketStream(edge_worker)
    expected = len(batch) * batches
    limits = MessageLimits(max_message_bytes=1 << 20, messages_in_per_second=10**9, messages_out_per_second=10**9)
    tunnel = Tunnel("h", Target(host="h", kind="deployment", deployment="d"), MessageGuard("d", limits, RateLimiter()))

    async def feed() -> None:
        for _ in range(batches):
            await client.send_all(batch)

    async def drain(done: trio.CancelScope) -> None:
        received = 0
        while received < expected:
            received += len(await worker.receive_some())
        done.cancel()

    with trio.CancelScope() as done:
        async with trio.open_nursery() as nursery:
            if scanned:
                nursery.start_soon(relay_websocket, tunnel, one, other, Metrics())
            else:
                nursery.start_soon(splice, one, other)
            nursery.start_soon(feed)
            nursery.start_soon(drain, done)
    if scanned:
        assert tunnel.guard.messages_in == count, tunnel.guard.messages_in
    for stream in (client, worker, one, other):
        await stream.aclose()


def per_message(size: int, scanned: bool, count: int = COUNT) -> float:
    frame = client_frame(b"m" * size)
    per_batch = max(1, 65536 // len(frame))
    batches = count // per_batch
    started = time.process_time()
    trio.run(_run, frame * per_batch, batches, batches * per_batch, scanned)
    return (time.process_time() - started) / (batches * per_batch) * 1e6


def main() -> None:
    lines = []
    for size in (32, 1024):
        copy = min(per_message(size, False) for _ in range(3))
        read = min(per_message(size, True) for _ in range(3))
        lines.append(f"edge tunnel, {size}-byte client messages: {read:.2f} µs CPU per message with frame headers read "
                     f"and checked, {copy:.2f} µs with the plain byte copy: +{read - copy:.2f} µs per message "
                     f"(in-process, Unix socket pairs, {COUNT:,} messages, best of 3)")
    record("edge WebSocket tunnel: frame headers read as they pass", lines)


if __name__ == "__main__":
    main()
