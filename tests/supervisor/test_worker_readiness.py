"""Readiness on the worker's control channel, with real worker processes (spawned and forked): the
supervisor's wait ends on the worker's ``WorkerReady`` line, not on a probe of its socket."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import trio

from schemas import decode_environment, encode_environment
from schemas.handover import HandoverHeader, encode_handover_raw
from supervisor import workers
from supervisor.settings import Settings
from tests.conftest import ROOT, make_env

NEVER = 3600.0  # a first probe this late: only the channel can make a worker ready within a test


def _payload(report_ready: bool) -> bytes:
    env = make_env([{"uuid": "r1", "type": "http", "method": "get", "endpoint": "hello",
                     "responses": [{"uuid": "s1", "body": "hi", "default": True}]}])
    decoded, _ = decode_environment(json.dumps(env))
    return encode_handover_raw(HandoverHeader(admin_token="t", report_ready=report_ready), encode_environment(decoded))


async def _get(socket: Path) -> bytes:
    """One answer, read to its Content-Length (the fake runtime keeps the connection open)."""
    stream = await trio.open_unix_socket(str(socket))
    await stream.send_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    with trio.fail_after(10):
        while True:
            data += await stream.receive_some(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(body) >= length:
                break
    await stream.aclose()
    return data


def _settings(tmp_path: Path, fork_server: bool = False) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", fork_server=fork_server)
    settings.prepare()
    return settings


@pytest.mark.parametrize("fork_server", [False, True], ids=["spawned", "forked"])
def test_a_worker_is_ready_when_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork_server: bool) -> None:
    monkeypatch.setattr(workers, "FIRST_PROBE", NEVER)
    settings = _settings(tmp_path, fork_server=fork_server)
    pool = workers.SparePool(settings)

    async def main() -> tuple[float, bytes]:
        started = time.monotonic()
        worker = await workers.spawn(settings, deployment="d", revision=1,
                                     command=[sys.executable, "-m", "worker"], handover=_payload(True), pool=pool)
        took = time.monotonic() - started
        try:
            return took, await _get(worker.socket)
        finally:
            await workers.stop(worker, 2)

    try:
        took, answer = trio.run(main)
    finally:
        pool.close()
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hi")
    assert took < 30  # ready long before any probe could have said so


def test_a_runtime_that_does_not_report_is_found_by_probing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)

    async def main() -> bytes:
        worker = await workers.spawn(settings, deployment="d", revision=1,
                                     command=[sys.executable, str(ROOT / "tests" / "fake_runtime.py")],
                                     handover=_payload(True))
        try:
            return await _get(worker.socket)
        finally:
            await workers.stop(worker, 2)

    answer = trio.run(main)
    assert answer.startswith(b"HTTP/1.1 200") and b'"runtime": "fake"' in answer


def test_a_worker_that_exits_before_it_is_ready_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The channel's end of input tells: no wait for a probe, nor for the ready timeout."""
    monkeypatch.setattr(workers, "FIRST_PROBE", NEVER)
    settings = _settings(tmp_path)

    async def main() -> None:
        await workers.spawn(settings, deployment="d", revision=1, command=[sys.executable, "-m", "worker"],
                            handover=b'{"adminToken": "t"}\n{"routes": 5}')

    started = time.monotonic()
    with pytest.raises(workers.WorkerStartError, match="exited with status 1 before it was ready") as raised:
        trio.run(main)
    assert time.monotonic() - started < 15
    assert "invalid hand-over" in raised.value.stderr_tail


def test_a_slow_start_says_where_its_time_went(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import re

    settings = _settings(tmp_path)

    async def main(limit: float) -> None:
        monkeypatch.setattr(workers, "SLOW_START", limit)
        worker = await workers.spawn(settings, deployment="d", revision=1,
                                     command=[sys.executable, "-m", "worker"], handover=_payload(True))
        await workers.stop(worker, 2)

    with caplog.at_level(logging.INFO, logger="mockfleet.supervisor.workers"):
        trio.run(main, NEVER)  # not slow by that measure: nothing said
        assert not [r for r in caplog.records if "slow start" in r.getMessage()]
        trio.run(main, 0.0)  # every start is slow by this one
    said = [r.getMessage() for r in caplog.records if "slow start" in r.getMessage()]
    assert len(said) == 1, said
    found = re.fullmatch(r"d: slow start, (\d+) ms: a child in (\d+) ms, its hand-over in (\d+) ms, ready (\d+) ms after",
                         said[0])
    assert found, said
    total, *parts = (int(v) for v in found.groups())
    assert total > 0 and abs(total - sum(parts)) <= 2  # the parts add up to the whole (each rounded)
