"""The worker's liveness signal: its event loop stamps the time into a file the supervisor reads.

A CPU share tells nothing about a worker whose loop is stuck (several stuck workers can share
the cores below any threshold, a stopped one uses none); a stamp that stops moving does. The
stamp is CLOCK_MONOTONIC seconds (system-wide on Linux, so the supervisor's ``time.monotonic()``
compares with it), written through a shared mapping: no syscall per beat. The same file carries
the sandbox flags the worker achieved (``schemas/heartbeat.py``).

Beats cost a wake-up each (about 0.2 ms of CPU on this machine), which two thousand idle workers
beating four times a second turn into more than a core. So the worker beats every INTERVAL only
while it has a request or WebSocket open, and otherwise at the idle rhythm the supervisor wrote
into the file (half its stall limit, at most 30 s; none written: always every INTERVAL); a request arriving
stamps at once and restores the fast rhythm. A loop can only hang on work it was given, so the
supervisor's checks keep their meaning: the edge reports a timeout for a request in flight (the
fast rhythm), and the stall limit (60 s) is longer than the idle rhythm.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from schemas.heartbeat import FLAGS, FLAGS_OFFSET, IDLE, IDLE_OFFSET, SIZE, STAMP

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
INTERVAL = 0.25


class Heartbeat:
    """Opened before the worker drops privileges or sandboxes itself; beats from its event loop."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)
        self.idle_interval = max(INTERVAL, IDLE.unpack_from(self._map, IDLE_OFFSET)[0])

    def beat(self) -> None:
        STAMP.pack_into(self._map, 0, time.monotonic())

    def report_sandbox(self, flags: int) -> None:
        FLAGS.pack_into(self._map, FLAGS_OFFSET, flags)

    active = 0  # requests and WebSockets being served (``watch``)
    _idle: asyncio.Future[None] | None = None

    def poke(self) -> None:
        """Work arrived: stamp now, and end an idle wait so the fast rhythm resumes."""
        self.beat()
        idle = self._idle
        if idle is not None and not idle.done():
            idle.set_result(None)

    def watch(self, app: ASGIApp) -> ASGIApp:
        """``app`` with its HTTP requests and WebSockets counted (the lifespan is not work)."""
        async def watched(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] not in ("http", "websocket"):
                await app(scope, receive, send)
                return
            self.active += 1
            if self.active == 1:
                self.poke()
            try:
                await app(scope, receive, send)
            finally:
                self.active -= 1
        return watched

    async def run(self) -> None:
        """Beat for as long as the loop turns (a blocked loop stops the stamps): every INTERVAL
        while there is work, every ``idle_interval`` (or at the next request) when there is none."""
        loop = asyncio.get_running_loop()
        while True:
            self.beat()
            if self.active or self.idle_interval <= INTERVAL:
                await asyncio.sleep(INTERVAL)
                continue
            idle = self._idle = loop.create_future()
            timer = loop.call_later(self.idle_interval, _settle, idle)
            try:
                await idle
            finally:
                timer.cancel()
                self._idle = None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
