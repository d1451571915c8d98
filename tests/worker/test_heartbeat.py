"""The worker's heartbeat: fast while it serves, parked (no beats) when idle, if the supervisor allows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from schemas.heartbeat import PARKED, PARKED_OFFSET, STAMP
from supervisor import liveness
from worker.heartbeat import INTERVAL, Heartbeat


def run_for(heartbeat: Heartbeat, body: Any) -> Any:
    async def main() -> Any:
        beating = asyncio.ensure_future(heartbeat.run())
        try:
            return await body()
        finally:
            beating.cancel()

    return asyncio.run(main())


def _raw(path: Path) -> tuple[float, float]:
    """The stamp and the parked stamp, as the worker wrote them."""
    data = path.read_bytes()
    return STAMP.unpack_from(data, 0)[0], PARKED.unpack_from(data, PARKED_OFFSET)[0]


def test_an_idle_worker_parks_and_a_request_restores_the_fast_rhythm(tmp_path: Path) -> None:
    path = tmp_path / "beat"
    liveness.create(path, idle=30.0)  # the supervisor allows an idle rhythm: the worker parks
    heartbeat = Heartbeat(path)

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(1.2)
        during.append(liveness.read(path))

    during: list[float | None] = []

    async def body() -> tuple[tuple[float, float], tuple[float, float], float | None, tuple[float, float]]:
        await asyncio.sleep(0.05)
        parked = _raw(path)
        await asyncio.sleep(0.8)
        still = _raw(path)  # no beat while parked
        reading = liveness.read(path)
        await heartbeat.watch(slow_app)({"type": "http"}, None, None)
        await asyncio.sleep(0.8)
        return parked, still, reading, _raw(path)

    parked, still, reading, after = run_for(heartbeat, body)
    assert parked[0] > 0 and parked[1] == parked[0] and still == parked
    assert reading is None  # parked: not stalled, however old the stamp
    assert during[0] is not None and during[0] - parked[0] >= 0.9  # beaten while serving, unparked
    assert after[1] >= after[0] - INTERVAL - 0.5 and after[1] > parked[1]  # parked again once idle


def test_a_file_without_an_idle_rhythm_means_beating_at_the_busy_rate(tmp_path: Path) -> None:
    path = tmp_path / "beat"
    liveness.create(path)  # what an older supervisor, or none, leaves: beat every INTERVAL
    heartbeat = Heartbeat(path)

    async def body() -> tuple[float, float]:
        await asyncio.sleep(0.05)
        first = liveness.read(path) or 0.0
        await asyncio.sleep(1.0)
        return first, liveness.read(path) or 0.0

    first, later = run_for(heartbeat, body)
    assert later - first >= 0.5


def test_the_idle_rhythm_stays_well_inside_the_stall_limit() -> None:
    assert liveness.idle_interval(60.0) == 30.0
    assert liveness.idle_interval(20.0) == 10.0
    assert liveness.idle_interval(2.0) == INTERVAL
    assert liveness.idle_interval(0.1) == INTERVAL
