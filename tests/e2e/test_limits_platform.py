"""A platform whose workers get a memory ceiling below what they need: killed, reported, crash loop stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import env


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


@pytest.fixture(scope="module")
def watchful(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "watch", "--idle-stop-seconds", "2", "--worker-cpu-window", "2",
                                "--worker-cpu-limit-percent", "70")


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
        if details["worker"] is None:
            break
        time.sleep(0.3)
    assert details["worker"] is None and details["state"] == "STOPPED"
    assert any("idle" in e for e in details["events"])
    started = time.monotonic()
    status, _, body = watchful.request(host, "GET", "/hello")
    assert status == 200 and body == b'{"hello": "world"}'
    assert time.monotonic() - started < 5
    assert watchful.api("GET", f"/deployments/{uuid}")[1]["worker"] is not None


def test_runaway_cpu_worker_is_killed_with_an_event(watchful: Platform) -> None:
    hog = env("hog", body="{{#repeat 3000}}{{faker 'person.fullName'}}{{/repeat}}")
    status, answer = watchful.api("POST", "/deployments", deploy_body(hog))
    assert status == 200, answer
    uuid = answer["environmentUuid"]
    host = watchful.host(answer["subdomain"])
    registry = Registry(watchful.data_dir / "registry.sqlite3")
    registry.set_plan(PlanRow(name="TEAM", deployments_quota=3, monthly_requests_quota=100_000,
                              requests_per_second=10_000, trial=False))
    registry.close()
    stop = threading.Event()

    def hammer() -> None:
        conn = watchful.connection(host)
        while not stop.is_set():
            try:
                watchful.request(host, "GET", "/hello", conn=conn)
            except Exception:  # noqa: BLE001 - the worker is expected to die under us
                conn = watchful.connection(host)
                time.sleep(0.05)

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    killed = False
    try:
        while time.monotonic() < deadline and not killed:
            details = watchful.api("GET", f"/deployments/{uuid}")[1]
            killed = any("CPU" in e for e in details["events"])
            time.sleep(0.5)
    finally:
        stop.set()
    assert killed, details["events"]


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "capped", "--max-connections", "4", "--header-timeout", "2")


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
