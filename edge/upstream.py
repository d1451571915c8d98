"""Keep-alive HTTP/1.1 connections to instance sockets, pooled per socket path."""

from __future__ import annotations

from dataclasses import dataclass, field

import h11
import trio

MAX_IDLE_PER_SOCKET = 32
MAX_IDLE_SECONDS = 4.0  # workers close keep-alive connections after 5 s idle


async def next_event(conn: h11.Connection, stream: trio.abc.ReceiveStream,
                     timeout: float) -> h11.Event | type[h11.PAUSED] | type[h11.NEED_DATA]:
    """The next h11 event, receiving as needed; TooSlowError after ``timeout`` seconds."""
    with trio.fail_after(timeout):
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(bytes(await stream.receive_some(65536)))


@dataclass
class Upstream:
    path: str
    stream: trio.SocketStream
    conn: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024))
    reused: bool = False
    idle_since: float = 0.0

    async def next_event(self, timeout: float) -> h11.Event | type[h11.PAUSED] | type[h11.NEED_DATA]:
        return await next_event(self.conn, self.stream, timeout)

    async def send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            await self.stream.send_all(data)


class UpstreamPool:
    def __init__(self) -> None:
        self.idle: dict[str, list[Upstream]] = {}

    async def get(self, path: str, fresh: bool = False) -> Upstream:
        if not fresh:
            idle = self.idle.get(path)
            while idle:
                upstream = idle.pop()
                fresh_enough = trio.current_time() - upstream.idle_since < MAX_IDLE_SECONDS
                if fresh_enough and upstream.conn.our_state is h11.IDLE and upstream.conn.their_state is h11.IDLE:
                    upstream.reused = True
                    return upstream
                await trio.aclose_forcefully(upstream.stream)
        stream = await trio.open_unix_socket(path)
        return Upstream(path, stream)

    async def release(self, upstream: Upstream) -> None:
        conn = upstream.conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                await trio.aclose_forcefully(upstream.stream)
                return
            idle = self.idle.setdefault(upstream.path, [])
            if len(idle) < MAX_IDLE_PER_SOCKET:
                upstream.idle_since = trio.current_time()
                idle.append(upstream)
                return
        await trio.aclose_forcefully(upstream.stream)

    async def discard(self, upstream: Upstream) -> None:
        await trio.aclose_forcefully(upstream.stream)

    async def drop_path(self, path: str) -> None:
        for upstream in self.idle.pop(path, []):
            await trio.aclose_forcefully(upstream.stream)
