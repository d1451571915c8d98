"""Workers that hang or stop answering are found and restarted: heartbeat, health probes, the edge's reports."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.control import FrameBuffer, Message, Noted, UpstreamFailed, encode_frame
from supervisor.registry import PlanRow, Registry
from supervisor.settings import Settings
from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import env


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    for platform in running_platform(tmp_path_factory, "health", "--worker-log-kb", "16"):  # default stall limit
        registry = Registry(platform.data_dir / "registry.sqlite3")
        registry.set_plan(PlanRow(name="TEAM", deployments_quota=20, monthly_requests_quota=1_000_000,
                                  requests_per_second=10_000, trial=False))
        registry.close()
        yield platform


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
    environment = env(name)
    slow = {"uuid": f"r-{name}-slow", "type": "http", "method": "get", "endpoint": "slow",
            "responses": [{"uuid": f"s-{name}-slow", "body": "late", "statusCode": 200, "default": True,
                           "latency": 4000}]}
    environment["routes"].append(slow)
    environment["rootChildren"].append({"type": "route", "uuid": slow["uuid"]})
    status, answer = platform.api("POST", "/deployments", deploy_body(environment))
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
    # a live, idle (parked) worker is left alone: it is probed, answers, and keeps serving
    time.sleep(0.6)  # the beat after the last request, then it parks
    assert control_call(plain, UpstreamFailed(deployment=uuid, kind="timeout")) == Noted(action="probing")
    time.sleep(1)
    assert plain.api("GET", f"/deployments/{uuid}")[1]["worker"]["pid"] == pid
    # a request in flight, then the loop stops turning (SIGSTOP stands for a hung template)
    waiting = threading.Thread(target=lambda: _ignore_errors(plain.request, host, "GET", "/slow"), daemon=True)
    waiting.start()
    time.sleep(0.5)
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


def _ignore_errors(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except OSError:
        pass


def test_a_worker_whose_socket_disappears_is_restarted(plain: Platform) -> None:
    uuid, host, pid = deployed(plain, "unlinked")
    _worker_files(plain, uuid)["socket"].unlink()
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


def _worker_files(platform: Platform, uuid: str) -> dict[str, Path]:
    """The worker's socket (as the registry records it: a forked worker's command line does not name
    it), heartbeat and log, named after its socket (w-<hex>)."""
    deployment = platform.recorded(uuid)
    assert deployment.worker_socket
    sock = Path(deployment.worker_socket)
    return {"socket": sock, "heartbeat": sock.with_suffix(".beat"),
            "log": platform.data_dir / "logs" / (sock.stem + ".log")}


def test_a_flooded_worker_log_is_rotated_and_the_worker_keeps_logging(plain: Platform) -> None:
    uuid, host, pid = deployed(plain, "chatty")
    log = _worker_files(plain, uuid)["log"]
    with log.open("ab") as fh:  # what a route failing on every request wrote before: a traceback each time
        fh.write(b"Traceback (most recent call last): ...\n" * 4000)
    assert log.stat().st_size > 100_000
    deadline = time.monotonic() + 10
    while log.stat().st_size > 16 * 1024 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.stat().st_size <= 16 * 1024
    kept = log.with_name(log.name + ".1")
    assert kept.stat().st_size == 16 * 1024 and kept.read_bytes().endswith(b"...\n")
    os.kill(pid, signal.SIGTERM)  # the worker's last lines still land in the (truncated) live file
    wait_for(plain, uuid, "worker exited unexpectedly")
    assert plain.request(host, "GET", "/hello")[0] in (200, 502, 503)


def test_a_helper_error_is_one_line_of_mockoons_text(plain: Platform) -> None:
    status, answer = plain.api("POST", "/deployments", deploy_body(env("fixed", body="{{toFixed 1 1000}}")))
    assert status == 200, answer
    host = plain.host(answer["subdomain"])
    uuid = answer["environmentUuid"]
    log = _worker_files(plain, uuid)["log"]
    before = log.stat().st_size
    conn = plain.connection(host)
    for _ in range(200):
        status, _, body = plain.request(host, "GET", "/hello", conn=conn)
        assert (status, body) == (200, b"Error while serving the content: toFixed() digits argument must be "
                                       b"between 0 and 100")  # as Mockoon CLI 9.9.0 answers
    assert log.stat().st_size - before < 200 * 200  # at most a line per request, no traceback


def test_a_crashed_worker_leaves_no_socket_heartbeat_or_log(plain: Platform) -> None:
    uuid, host, pid = deployed(plain, "crashy")
    files = _worker_files(plain, uuid)
    assert all(path.exists() for path in files.values())
    os.kill(pid, signal.SIGKILL)
    serves_again(plain, uuid, host, pid)
    deadline = time.monotonic() + 5
    while any(path.exists() for path in files.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(path.exists() for path in files.values())


@pytest.mark.parametrize("flag, warm", [("--fork-server", "--fork-server"), ("--no-fork-server", "--handover")])
def test_the_warm_spare_outlives_the_supervisor_start(tmp_path: Path, flag: str, warm: str) -> None:
    """It used to be killed as an orphan right after it was started (a zombie, and a cold first deploy).
    With the fork server (the default) what is kept warm is the fork server; without it, a spare."""
    import psutil

    fresh = Platform(tmp_path / "data", (flag,))
    fresh.start()
    try:
        supervisor = psutil.Process(fresh.pids("supervise")[0])
        children = supervisor.children()
        assert [p for p in children if warm in p.cmdline() and p.status() != psutil.STATUS_ZOMBIE]
        assert not [p for p in children if p.status() == psutil.STATUS_ZOMBIE]
    finally:
        fresh.stop()


def test_a_reused_uuid_does_not_show_the_previous_owners_events(plain: Platform) -> None:
    from tests.e2e.test_platform import account

    environment = env("reused")
    assert plain.api("POST", "/deployments", deploy_body(environment))[0] == 200
    assert plain.api("DELETE", f"/deployments/{environment['uuid']}")[0] == 200
    other = account(plain)
    status, answer = plain.api("POST", "/deployments", deploy_body(environment), token=other)
    assert status == 200, answer
    events = plain.api("GET", f"/deployments/{environment['uuid']}", token=other)[1]["events"]
    assert len(events) == 1 and "deployed revision 1" in events[0], events
