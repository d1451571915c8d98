"""The worker's liveness signal: its event loop stamps the time into a file the supervisor reads.

A CPU share tells nothing about a worker whose loop is stuck (several stuck workers can share
the cores below any threshold, a stopped one uses none); a stamp that stops moving does. The
stamp is CLOCK_MONOTONIC seconds (system-wide on Linux, so the supervisor's ``time.monotonic()``
compares with it), written through a shared mapping: no syscall per beat. The same file carries
the sandbox flags the worker achieved (``schemas/heartbeat.py``).
"""

from __future__ import annotations

import asyncio
import mmap
import os
import time
from pathlib import Path

from schemas.heartbeat import FLAGS, FLAGS_OFFSET, SIZE, STAMP

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

    def beat(self) -> None:
        STAMP.pack_into(self._map, 0, time.monotonic())

    def report_sandbox(self, flags: int) -> None:
        FLAGS.pack_into(self._map, FLAGS_OFFSET, flags)

    async def run(self) -> None:
        """Beat every INTERVAL for as long as the loop turns (a blocked loop stops the stamps)."""
        while True:
            self.beat()
            await asyncio.sleep(INTERVAL)
