"""Is a worker's event loop turning? Read its heartbeat file and judge the age of the stamp.

The worker stamps ``time.monotonic()`` every 250 ms while it serves, less often when idle
(``worker/heartbeat.py``); the judgement
is a pure function of the stamp, the clock and the limit, so it is tested without processes.
"""

from __future__ import annotations

import os
from pathlib import Path

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

CONFIRM_AFTER = 2.0  # a stamp this old when the edge reports a timeout confirms the hang
IDLE_CEILING = 30.0  # an older runtime's idle beats (current workers park: no beats when idle)
INTERVAL_FLOOR = 0.25  # the busy rhythm (worker/heartbeat.py)


def idle_interval(stall_limit: float) -> float:
    """How long an idle worker may go between beats: half the stall limit and 10 s inside it, at most
    30 s (a limit of a few seconds keeps the busy rhythm: a late beat must not read as a hang).
    Workers of older runtimes beat at this rhythm; current ones read any idle rhythm as leave to park."""
    return max(INTERVAL_FLOOR, min(IDLE_CEILING, stall_limit / 2, stall_limit - 10))


def create(path: Path, idle: float = 0.0) -> None:
    """An empty heartbeat (stamp 0: the worker has not beaten yet) the worker will map, with the
    idle rhythm it may use (0: none, beat at the busy rate)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        data = bytearray(SIZE)
        IDLE.pack_into(data, IDLE_OFFSET, idle)
        os.write(fd, bytes(data))
    finally:
        os.close(fd)


def read(path: Path) -> float | None:
    """The last stamp (``stamp_of``), None if there is no heartbeat file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.pread(fd, SIZE, 0)
    finally:
        os.close(fd)
    return stamp_of(data)


def stamp_of(data: bytes) -> float | None:
    """The last stamp in a heartbeat file's bytes, 0.0 before the first beat; None when the worker is
    parked (idle with nothing to hang on: its loop is not stalled, however old the stamp) or the
    file is short. Files of older runtimes end before the parked field: never parked."""
    if len(data) < STAMP.size:
        return None
    stamp = float(STAMP.unpack_from(data, 0)[0])
    if len(data) >= PARKED_OFFSET + PARKED.size:
        parked = float(PARKED.unpack_from(data, PARKED_OFFSET)[0])
        if parked and parked >= stamp:
            return None
    return stamp


def sandbox_flags(path: Path) -> int | None:
    """The SandboxFlag bits the worker reported, None if it reported nothing (file gone or short)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(SIZE)
    except OSError:
        return None
    return int(FLAGS.unpack_from(data, FLAGS_OFFSET)[0]) if len(data) == SIZE else None


def stalled_for(stamp: float | None, now: float) -> float:
    """Seconds since the loop last turned; 0 when unknown (no file, or a runtime that never beats)."""
    if not stamp:
        return 0.0
    return max(0.0, now - stamp)


def is_hung(stamp: float | None, now: float, limit: float) -> bool:
    """The loop has not turned for ``limit`` seconds: every request it holds is past its deadline."""
    return stalled_for(stamp, now) >= limit
