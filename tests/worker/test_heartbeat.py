"""The worker's heartbeat: fast while it serves, at the supervisor's idle rhythm otherwise."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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


def test_an_idle_worker_beats_at_the_idle_rhythm_and_a_request_restores_the_fast_one(tmp_path: Path) -> None:
    path = tmp_path / "beat"
    liveness.create(path, idle=30.0)
    heartbeat = Heartbeat(path)
    assert heartbeat.idle_interval == 30.0

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(1.2)

    async def body() -> tuple[float, float, float, float]:
        await asyncio.sleep(0.05)
        first = liveness.read(path) or 0.0
        await asyncio.sleep(0.8)
        idle = liveness.read(path) or 0.0  # no beat while idle
        await heartbeat.watch(slow_app)({"type": "http"}, None, None)
        served = liveness.read(path) or 0.0
        await asyncio.sleep(0.8)
        after = liveness.read(path) or 0.0
        return first, idle, served, after

    first, idle, served, after = run_for(heartbeat, body)
    assert first > 0 and idle == first
    assert served - idle >= 0.9  # beaten during the request, the last one near its end
    assert after - served <= INTERVAL + 0.5  # at most the beat that starts the idle wait


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
