"""A platform whose workers get a memory ceiling below what they need: killed, reported, crash loop stops."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import psutil
import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import env
from tests.test_operator_cli import mockfleet


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "tight", "--worker-rss-limit-mb", "20")


def test_worker_over_its_memory_limit_is_killed_and_crash_loop_is_reported(tight: Platform) -> None:
    status, answer = tight.api("POST", "/deployments", deploy_body(env("hungry")))
    assert status == 200, answer
    uuid = answer["environmentUuid"]
    deadline = time.monotonic() + 40
    details: dict = {}
    while time.monotonic() < deadline:
        details = tight.api("GET", f"/deployments/{uuid}")[1]
        if details["state"] == "FAILED":
            break
        time.sleep(0.5)
    assert details["state"] == "FAILED", details
    assert any("memory" in e and "over the limit of 20 MiB" in e for e in details["events"])
    assert "crash loop" in details["lastError"]
    status, headers, body = tight.request(tight.host(answer["subdomain"]), "GET", "/hello")
    assert status == 503 and "retry-after" in headers
    # a re-deploy is the way out; nothing was lost from the registry meanwhile
    assert [d["environmentUuid"] for d in tight.api("GET", "/deployments")[1]] == [uuid]
    # `mockfleet ls` says FAILED too (the Mockoon app's two-valued status says STOPPED)
    listed = mockfleet("ls", "--data-dir", str(tight.data_dir))
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(uuid))
    assert row.split()[1] == "FAILED"
    as_json = {d["environmentUuid"]: d for d in json.loads(mockfleet("ls", "--data-dir", str(tight.data_dir),
                                                                     "--json").stdout)}
    assert as_json[uuid]["state"] == "FAILED" and as_json[uuid]["status"] == "STOPPED"


@pytest.fixture(scope="module")
def watchful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "watch", "--idle-stop-seconds", "2")


@pytest.fixture(scope="module")
def stalling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "stall", "--worker-stall-seconds", "2")


def test_idle_worker_is_stopped_and_the_next_request_wakes_it(watchful: Platform) -> None:
    status, answer = watchful.api("POST", "/deployments", deploy_body(env("sleepy")))
    assert status == 200, answer
    uuid = answer["environmentUuid"]
    host = watchful.host(answer["subdomain"])
    assert watchful.request(host, "GET", "/hello")[0] == 200
    deadline = time.monotonic() + 15
    details: dict = {}
    while time.monotonic() < deadline:
        details = watchful.api("GET", f"/deployments/{uuid}")[1]
        if details["state"] == "STOPPED":  # DRAINING first, while the worker finishes and saves its state
            break
        time.sleep(0.3)
    assert details["worker"] is None and details["state"] == "STOPPED"
    assert any("idle" in e for e in details["events"])
    started = time.monotonic()
    status, _, body = watchful.request(host, "GET", "/hello")
    assert status == 200 and body == b'{"hello": "world"}'
    assert time.monotonic() - started < 5
    assert watchful.api("GET", f"/deployments/{uuid}")[1]["worker"] is not None


def _wait_event(platform: Platform, uuid: str, text: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    details: dict = {}
    while time.monotonic() < deadline:
        details = platform.api("GET", f"/deployments/{uuid}")[1]
        if any(text in e for e in details["events"]):
            return details
        time.sleep(0.3)
    raise AssertionError(details.get("events"))


def _serves_again(platform: Platform, host: str, old_pid: int, uuid: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker = platform.api("GET", f"/deployments/{uuid}")[1]["worker"]
        if worker and worker["pid"] != old_pid and platform.request(host, "GET", "/hello")[0] == 200:
            return
        time.sleep(0.3)
    raise AssertionError("the deployment was not restarted")


def test_a_worker_whose_loop_stops_is_killed_whatever_its_cpu_share(stalling: Platform) -> None:
    """A stopped process uses no CPU at all, below any CPU watchdog; its loop stops beating, so it is killed."""
    status, answer = stalling.api("POST", "/deployments", deploy_body(env("frozen")))
    assert status == 200, answer
    uuid = answer["environmentUuid"]
    host = stalling.host(answer["subdomain"])
    assert stalling.request(host, "GET", "/hello")[0] == 200
    details = stalling.api("GET", f"/deployments/{uuid}")[1]
    assert details["worker"]["loopStalledSeconds"] < 1.5
    pid = details["worker"]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        details = _wait_event(stalling, uuid, "event loop has not turned")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert psutil.pid_exists(pid) is False or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    _serves_again(stalling, host, pid, uuid)


def test_three_stuck_workers_sharing_the_cores_are_all_killed(stalling: Platform) -> None:
    """The probe's evasion: several hung workers each under a CPU threshold. Each is killed on its heartbeat."""
    registry = Registry(stalling.data_dir / "registry.sqlite3")
    registry.set_plan(PlanRow(name="TEAM", deployments_quota=10, monthly_requests_quota=100_000,
                              requests_per_second=10_000, trial=False))
    registry.close()
    pids: dict[str, int] = {}
    for n in range(3):
        status, answer = stalling.api("POST", "/deployments", deploy_body(env(f"stuck{n}")))
        assert status == 200, answer
        pids[answer["environmentUuid"]] = stalling.api("GET", f"/deployments/{answer['environmentUuid']}")[1][
            "worker"]["pid"]
    for pid in pids.values():
        os.kill(pid, signal.SIGSTOP)
    try:
        for uuid in pids:
            _wait_event(stalling, uuid, "event loop has not turned")
    finally:
        for pid in pids.values():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    for uuid in pids:
        stalling.api("DELETE", f"/deployments/{uuid}")


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), hard))  # what `up` inherits: the edge raises it
    platform = running_platform(tmp_path_factory, "capped", "--max-connections", "4", "--header-timeout", "2")
    try:
        started = next(platform)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    yield started
    next(platform, None)  # its stop


def test_connection_cap_and_slow_handshakes(capped: Platform) -> None:
    import socket
    import ssl

    status, answer = capped.api("POST", "/deployments", deploy_body(env("capped")))
    assert status == 200, answer
    host = capped.host(answer["subdomain"])
    time.sleep(0.5)  # the API call's connection is closed and its slot given back

    def tls() -> ssl.SSLSocket:
        sock = socket.create_connection(("127.0.0.1", capped.port), timeout=5)
        return capped.ssl_context().wrap_socket(sock, server_hostname=host)

    # a client that never finishes its TLS handshake is cut off after the header timeout
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", capped.port), timeout=10) as stalled:
        stalled.sendall(b"\x16\x03\x01\x00")  # the start of a ClientHello, then nothing
        assert stalled.recv(100) == b""
    assert time.monotonic() - started < 5
    # four connections fill the cap; a fifth is closed at once; a freed slot serves again
    held = [tls() for _ in range(4)]
    with pytest.raises((ssl.SSLError, OSError)):
        extra = tls()
        extra.sendall(b"GET /hello HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
        if not extra.recv(100):
            raise ConnectionResetError("closed by the edge")
    held.pop().close()
    time.sleep(0.3)
    status, _, body = capped.request(host, "GET", "/hello")
    assert (status, body) == (200, b'{"hello": "world"}')
    for sock in held:
        sock.close()


def test_the_edge_runs_with_its_soft_open_files_limit_at_the_hard_one(capped: Platform) -> None:
    """Two descriptors per connection: a soft limit of 1,024 would refuse connections long before
    --max-connections does (edge/open_files.py)."""
    import psutil

    assert capped.proc is not None
    def module(cmdline: list[str]) -> str | None:
        return cmdline[cmdline.index("-m") + 1] if "-m" in cmdline[:-1] else None

    edges = [p for p in psutil.Process(capped.proc.pid).children(recursive=True) if module(p.cmdline()) == "edge"]
    assert len(edges) == 1, [p.cmdline() for p in psutil.Process(capped.proc.pid).children(recursive=True)]
    soft, hard = edges[0].rlimit(psutil.RLIMIT_NOFILE)  # started under a soft limit of 512 at most
    assert soft == (hard if hard != psutil.RLIM_INFINITY else 2 * 4 + 256), (soft, hard)
