"""The worker's liveness signal: its event loop stamps the time into a file the supervisor reads.

A CPU share tells nothing about a worker whose loop is stuck (several stuck workers can share
the cores below any threshold, a stopped one uses none); a stamp that stops moving does. The
file holds one float, CLOCK_MONOTONIC seconds (system-wide on Linux, so the supervisor's
``time.monotonic()`` compares with it), written through a shared mapping: no syscall per beat.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import struct
import time
from pathlib import Path

INTERVAL = 0.25
_STAMP = struct.Struct("=d")


class Heartbeat:
    """Opened before the worker drops privileges or sandboxes itself; beats from its event loop."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, _STAMP.size)
        finally:
            os.close(fd)

    def beat(self) -> None:
        _STAMP.pack_into(self._map, 0, time.monotonic())

    async def run(self) -> None:
        """Beat every INTERVAL for as long as the loop turns (a blocked loop stops the stamps)."""
        while True:
            self.beat()
            await asyncio.sleep(INTERVAL)
