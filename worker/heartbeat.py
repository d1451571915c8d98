"""The worker's liveness signal: its event loop stamps the time into a file the supervisor reads.

A CPU share tells nothing about a worker whose loop is stuck (several stuck workers can share
the cores below any threshold, a stopped one uses none); a stamp that stops moving does. The
stamp is CLOCK_MONOTONIC seconds (system-wide on Linux, so the supervisor's ``time.monotonic()``
compares with it), written through a shared mapping: no syscall per beat. The same file carries
the sandbox flags the worker achieved (``schemas/heartbeat.py``).

Beats cost a wake-up each (about 0.2 ms of CPU on this machine), which two thousand idle workers
beating four times a second turn into more than a core, and once every 30 s still into 1.5 % of
one. So the worker beats every INTERVAL only while it has a request or WebSocket open; with none
it parks: it writes the stamp it parked at and beats no more until work arrives, which stamps at
once and restores the fast rhythm. A loop can only hang on work it was given (a callback's
templates are rendered while its request is served; afterwards it only waits on I/O), so a
parked worker is not hung, and the supervisor reads it so. The supervisor allows parking by
writing an idle rhythm into the file (none written: always every INTERVAL, never parked).
"""

from __future__ import annotations

import asyncio
import mmap
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from schemas.heartbeat import (
    FLAGS,
    FLAGS_OFFSET,
    IDLE,
    IDLE_OFFSET,
    PARKED,
    PARKED_OFFSET,
    SIZE,
    STAMP,
)

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

    def park(self) -> None:
        now = time.monotonic()
        STAMP.pack_into(self._map, 0, now)
        PARKED.pack_into(self._map, PARKED_OFFSET, now)

    def report_sandbox(self, flags: int) -> None:
        FLAGS.pack_into(self._map, FLAGS_OFFSET, flags)

    active = 0  # requests and WebSockets being served (``watch``)
    _idle: asyncio.Future[None] | None = None

    def poke(self) -> None:
        """Work arrived: stamp now (unparked), and end an idle wait so the fast rhythm resumes."""
        PARKED.pack_into(self._map, PARKED_OFFSET, 0.0)
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
        while there is work; parked until the next request when there is none (and parking is allowed)."""
        loop = asyncio.get_running_loop()
        while True:
            if self.active or self.idle_interval <= INTERVAL:
                self.beat()
                await asyncio.sleep(INTERVAL)
                continue
            self.park()
            self._idle = loop.create_future()
            try:
                await self._idle
            finally:
                self._idle = None
