"""Workers that hang or stop answering are found and restarted: heartbeat, health probes, the edge's reports."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from schemas.control import FrameBuffer, Message, Noted, UpstreamFailed, encode_frame
from supervisor.settings import Settings
from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import env


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "health")  # default 60 s stall limit


def control_call(platform: Platform, message: Message) -> Message:
    """One request on the supervisor's control socket, as the edge sends it."""
    path = Settings(data_dir=platform.data_dir).control_socket
    frames = FrameBuffer()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        sock.sendall(encode_frame(message))
        while (reply := frames.next_message()) is None:
            data = sock.recv(65536)
            assert data, "control connection closed"
            frames.feed(data)
    return reply


def deployed(platform: Platform, name: str) -> tuple[str, str, int]:
    status, answer = platform.api("POST", "/deployments", deploy_body(env(name)))
    assert status == 200, answer
    uuid = answer["environmentUuid"]
    host = platform.host(answer["subdomain"])
    assert platform.request(host, "GET", "/hello")[0] == 200
    return uuid, host, platform.api("GET", f"/deployments/{uuid}")[1]["worker"]["pid"]


def wait_for(platform: Platform, uuid: str, text: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    details: dict[str, Any] = {}
    while time.monotonic() < deadline:
        details = platform.api("GET", f"/deployments/{uuid}")[1]
        if any(text in e for e in details["events"]):
            return details
        time.sleep(0.2)
    raise AssertionError(details.get("events"))


def serves_again(platform: Platform, uuid: str, host: str, old_pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker = platform.api("GET", f"/deployments/{uuid}")[1]["worker"]
        if worker and worker["pid"] != old_pid and platform.request(host, "GET", "/hello")[0] == 200:
            return
        time.sleep(0.2)
    raise AssertionError("the deployment was not restarted")


def test_an_edge_timeout_report_kills_a_hung_worker_before_the_stall_limit(plain: Platform) -> None:
    uuid, host, pid = deployed(plain, "reported")
    # a live worker is left alone: the edge's timeout was the request's, not the worker's
    assert control_call(plain, UpstreamFailed(deployment=uuid, kind="timeout")) == Noted(action="none")
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(2.5)  # past CONFIRM_AFTER, far below the 60 s stall limit
        started = time.monotonic()
        assert control_call(plain, UpstreamFailed(deployment=uuid, kind="timeout")) == Noted(action="killed")
        wait_for(plain, uuid, "after the edge's timeout")
        assert time.monotonic() - started < 10
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    serves_again(plain, uuid, host, pid)


def test_a_worker_whose_socket_disappears_is_restarted(plain: Platform) -> None:
    uuid, host, pid = deployed(plain, "unlinked")
    socket_path = Settings(data_dir=plain.data_dir).run_dir
    sockets = [p for p in socket_path.glob("w-*.sock") if str(p) in " ".join(_cmdline(pid))]
    assert len(sockets) == 1
    sockets[0].unlink()
    started = time.monotonic()
    wait_for(plain, uuid, "socket is gone", timeout=15)  # found by the periodic probe, no request needed
    serves_again(plain, uuid, host, pid)
    assert time.monotonic() - started < 20


def test_an_unreachable_report_probes_at_once(plain: Platform) -> None:
    uuid, host, pid = deployed(plain, "unreachable")
    assert control_call(plain, UpstreamFailed(deployment=uuid, kind="unreachable")) == Noted(action="probing")
    time.sleep(1)
    assert plain.api("GET", f"/deployments/{uuid}")[1]["worker"]["pid"] == pid  # it answered: kept
    assert control_call(plain, UpstreamFailed(deployment="no-such", kind="unreachable")) == Noted(action="none")


def _cmdline(pid: int) -> list[str]:
    import psutil

    return psutil.Process(pid).cmdline()
