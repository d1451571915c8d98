"""The critical and high attacks of issue 13, run against the whole platform while a neighbour
deployment is measured: its p99 latency under attack must stay within 2x of its unloaded p99.

- ``Upgrade: h2c``: 242 connections ask for an HTTP/2 tunnel to the neighbour's own mock (it
  got 101 and a raw tunnel to the worker before, and held all of its file descriptors: 502s);
- catastrophic regexes (``^((a+))+$`` …) in another tenant's rules against 100 KB bodies (each
  held a worker for 60 s before).

The attacker runs in its own process, so its work does not stall the measuring client's. The
unloaded p99 is floored at ``FLOOR`` seconds: below that, a 2-core machine shared with other
test runs measures its scheduler, not the platform; for the same reason the attacked p99 is the
best of up to three windows while the attack goes on (every request of every window must succeed).
"""

from __future__ import annotations

import multiprocessing
import socket
import ssl
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import Platform, deploy_body, make_env, running_platform
from tests.e2e.test_platform import env

MEASURE_SECONDS = 3.0
FLOOR = 0.005
TUNNELS = 242
PATTERNS = ["^((a+))+$", "a*a*a*a*a*a*b", "(a|a)*", "(a?){30}a{30}"]


def read_answer(sock: Any) -> tuple[bytes, bytes]:
    """One HTTP/1.1 answer read off a raw socket: its head and its Content-Length body (short if the
    peer closes; an empty head when it closed first)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(65536)
        if not data:
            break
        answer += data
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = int(next((line.split(b":")[1] for line in head.lower().split(b"\r\n")
                       if line.startswith(b"content-length")), b"0"))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    return head, rest


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "attacks")


def _token(platform: Platform, name: str, rate: int) -> str:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    try:
        registry.set_plan(PlanRow(name=name, deployments_quota=3, monthly_requests_quota=10_000_000,
                                  requests_per_second=rate, trial=False))
        return registry.create_account(name.lower(), name)[1]
    finally:
        registry.close()


def _p99(platform: Platform, host: str, seconds: float = MEASURE_SECONDS) -> tuple[float, int, list[Any]]:
    """p99 of back-to-back requests on one keep-alive connection, their count, what failed."""
    conn = platform.connection(host)
    latencies: list[float] = []
    failures: list[Any] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status, _, body = platform.request(host, "GET", "/hello", conn=conn)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append((status, body[:200]))
    finally:
        conn.close()
    latencies.sort()
    return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], len(latencies), failures


def _tls(port: int, cafile: str, host: str) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    return ssl.create_default_context(cafile=cafile).wrap_socket(raw, server_hostname=host)


def _status(sock: ssl.SSLSocket) -> bytes:
    """The status code of the next answer, read whole (head and Content-Length body)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = sock.recv(4096)
        if not data:
            return b"closed"
        answer += data
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = int(next((line.split(b":")[1] for line in head.lower().split(b"\r\n")
                       if line.startswith(b"content-length")), b"0"))
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    return head[9:12]


def h2c_attacker(port: int, cafile: str, host: str, ready: Any, stop: Any, results: Any) -> None:
    """Open ``TUNNELS`` connections that each ask for an h2c upgrade and then speak HTTP/2 as if
    it had been granted; hold them until ``stop``; report every status line seen."""
    seen: Counter[bytes] = Counter()
    held = []
    request = (f"GET /hello HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n").encode()
    for _ in range(TUNNELS):
        sock = _tls(port, cafile, host)
        sock.sendall(request)
        seen[_status(sock)] += 1
        held.append(sock)
    ready.set()
    # an h2c client that got its 101 sends the HTTP/2 preface and SETTINGS next
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    for sock in held[: TUNNELS // 4]:
        try:  # (the 200 answer is small: ``_status`` read it whole)
            sock.sendall(preface)
            seen[_status(sock)] += 1
        except OSError:
            seen[b"error"] += 1
    stop.wait(60)
    for sock in held:
        sock.close()
    results.put(dict(seen))


def regex_attacker(port: int, cafile: str, host: str, ready: Any, stop: Any, results: Any) -> None:
    """Post 100 KB bodies to the catastrophic-regex routes, one pattern after the other, until
    ``stop``; report statuses and the slowest answer."""
    seen: Counter[bytes] = Counter()
    slowest = 0.0
    body = b"a" * 100_000 + b"!"
    sock = _tls(port, cafile, host)
    ready.set()
    n = 0
    while not stop.is_set():
        started = time.perf_counter()
        sock.sendall(f"POST /regex/{n % len(PATTERNS)} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
                     "Content-Type: text/plain\r\n\r\n".encode() + body)
        head, _ = read_answer(sock)
        slowest = max(slowest, time.perf_counter() - started)
        seen[head[9:12]] += 1
        n += 1
        if b"connection: close" in head.lower():
            sock.close()
            sock = _tls(port, cafile, host)
    sock.close()
    results.put({"seen": dict(seen), "slowest": slowest})


def _under_attack(platform: Platform, neighbour: str, attacker: Any, target: str) -> tuple[float, float, Any]:
    """The neighbour's p99 unloaded, then while ``attacker`` runs against ``target``."""
    _p99(platform, neighbour, 1.0)  # warm: pooled worker connection, caches
    unloaded, n, failures = _p99(platform, neighbour)
    assert failures == [] and n > 50
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=attacker, args=(platform.port, str(platform.credentials["caPath"]), target,
                                                     ready, stop, results), daemon=True)
    process.start()
    try:
        assert ready.wait(120), "the attack did not start"
        # the machine is shared: a window that others' work spoiled is measured again (up to 3)
        loaded, failures = float("inf"), []
        for _ in range(3):
            window, n, spoiled = _p99(platform, neighbour)
            loaded, failures = min(loaded, window), failures + spoiled
            if loaded <= 2 * max(unloaded, FLOOR):
                break
    finally:
        stop.set()
    outcome = results.get(timeout=120)
    process.join(30)
    assert failures == [], failures[:5]
    return unloaded, loaded, outcome


def test_h2c_tunnels_to_a_neighbours_mock_leave_its_p99_within_2x(platform: Platform) -> None:
    token = _token(platform, "NEIGHBOUR1", 100_000)
    host = platform.host(platform.api("POST", "/deployments", deploy_body(env("neighbour-h2c")), token=token)[1]
                         ["subdomain"])
    unloaded, loaded, seen = _under_attack(platform, host, h2c_attacker, host)
    print(f"\nh2c attack ({TUNNELS} connections): neighbour p99 {unloaded * 1000:.1f} ms unloaded, "
          f"{loaded * 1000:.1f} ms under attack; attacker saw {seen}")
    assert b"101" not in seen and seen.get(b"200") == TUNNELS  # served as plain HTTP/1.1, never a tunnel
    assert seen.get(b"505") == TUNNELS // 4  # and HTTP/2 bytes after it are refused by the edge's parser
    assert loaded <= 2 * max(unloaded, FLOOR)


def test_catastrophic_regexes_of_another_tenant_leave_the_neighbours_p99_within_2x(platform: Platform) -> None:
    neighbour_token = _token(platform, "NEIGHBOUR2", 100_000)
    neighbour = platform.host(platform.api("POST", "/deployments", deploy_body(env("neighbour-re")),
                                           token=neighbour_token)[1]["subdomain"])
    route = {"uuid": "r-regex", "type": "http", "method": "post", "endpoint": "regex/:n",
             "responses": [*({"uuid": f"s{i}", "statusCode": 201, "body": f"rule {i}",
                              "rules": [{"target": "params", "modifier": "n", "value": str(i), "invert": False,
                                         "operator": "equals"},
                                        {"target": "body", "modifier": "", "value": pattern, "invert": False,
                                         "operator": "regex"}],
                              "rulesOperator": "AND"} for i, pattern in enumerate(PATTERNS)),
                           {"uuid": "s-default", "statusCode": 200, "body": "none", "default": True}]}
    hostile = make_env([route], uuid="regex-attacker", name="regex-attacker")
    attacker_token = _token(platform, "ATTACKER", 1000)
    status, answer = platform.api("POST", "/deployments", deploy_body(hostile), token=attacker_token)
    assert status == 200, answer
    unloaded, loaded, outcome = _under_attack(platform, neighbour, regex_attacker, platform.host(answer["subdomain"]))
    seen = outcome["seen"]
    print(f"\nregex attack ({sum(seen.values())} requests of 100 KB): neighbour p99 {unloaded * 1000:.1f} ms "
          f"unloaded, {loaded * 1000:.1f} ms under attack; attacker saw {seen}, slowest "
          f"{outcome['slowest'] * 1000:.0f} ms")
    assert set(seen) <= {b"200", b"201"} and sum(seen.values()) >= 4  # every answer in time, no 504
    assert outcome["slowest"] < 3.0
    assert loaded <= 2 * max(unloaded, FLOOR)
