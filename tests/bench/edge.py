"""``just bench edge``: a worker directly on its socket, the same through the edge (TLS keep-alive),
through a bare layer-4 TLS relay (the floor of any trio edge: TLS and byte copying, no HTTP),
and Mockoon CLI, in one run; the edge's cost per request in CPU µs and in p50 latency.

Server processes share core 0, the load generator has core 1. Latency is measured with one
connection (closed loop), throughput with 16.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from edge.certificates import ensure_local_certificates
from supervisor.registry import PlanRow, Registry
from tests.bench import loadgen
from tests.bench.common import (
    ROOT,
    SERVER_CPU,
    free_port,
    pin_client,
    record,
    start_mockoon,
    stop,
    write_json,
)
from tests.bench.relay_floor import relay_floor
from tests.bench.worker import environment


def _pin(pid: int) -> None:
    if (os.cpu_count() or 1) > 1:
        psutil.Process(pid).cpu_affinity([SERVER_CPU])


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def h11_floor(cycles: int = 5000) -> float:
    """CPU µs h11 alone needs per proxied request (parse + re-serialise both ways): a floor for the edge."""
    import h11

    request = b"GET /static HTTP/1.1\r\nHost: bench-edge.local.mockfleet.localhost\r\nAccept: */*\r\n\r\n"
    response = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 33\r\n"
                b"server: hypercorn-h11\r\n\r\n" + b"x" * 33)
    server, client = h11.Connection(h11.SERVER), h11.Connection(h11.CLIENT)
    started = time.process_time()
    for _ in range(cycles):
        server.receive_data(request)
        head = server.next_event()
        server.next_event()
        client.send(h11.Request(method=head.method, target=head.target, headers=list(head.headers)))  # type: ignore[union-attr]
        client.send(h11.EndOfMessage())
        client.receive_data(response)
        answer = client.next_event()
        body = client.next_event()
        client.next_event()
        server.send(h11.Response(status_code=200, headers=list(answer.headers)))  # type: ignore[union-attr]
        server.send(body)  # type: ignore[arg-type]
        server.send(h11.EndOfMessage())
        server.start_next_cycle()
        client.start_next_cycle()
    return (time.process_time() - started) / cycles * 1e6


ROUNDS = 3


def main(seconds: float = 3.0) -> None:
    pin_client()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        up = subprocess.Popen([sys.executable, "-m", "supervisor.cli", "up", "--data-dir", str(data), "--https-port",
                               str(port), "--bind", "127.0.0.1", "--metrics-port", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, start_new_session=True)
        mockoon = None
        relay = None
        try:
            deadline = time.monotonic() + 60
            while not (data / "credentials.json").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2)
            credentials = json.loads((data / "credentials.json").read_text())
            registry = Registry(data / "registry.sqlite3")
            registry.set_plan(PlanRow(name="TEAM", deployments_quota=3, monthly_requests_quota=10**9,
                                      requests_per_second=10**6, trial=False))
            from supervisor.settings import Settings
            from supervisor.up_command import api_call

            settings = Settings(data_dir=data, https_port=port)
            env = environment()
            status, answer = api_call(settings, credentials["token"], "POST", "/deployments",
                                      {"environment": env, "visibility": "PUBLIC", "subdomain": "bench-edge",
                                       "region": None, "liveUpdate": False, "version": "bench"})
            assert status == 200, answer
            deployment = registry.deployment(env["uuid"])
            registry.close()
            assert deployment is not None and deployment.worker_socket and deployment.worker_pid
            worker_pid = deployment.worker_pid
            edge_pid = next(p.pid for p in psutil.Process(up.pid).children() if "edge" in p.cmdline())
            files = ensure_local_certificates(data / "certs", "mockfleet.localhost", "local")
            relay_port = free_port()
            relay = subprocess.Popen([sys.executable, "-m", "tests.bench.relay_floor", "serve", str(relay_port),
                                      str(files.instances_cert), str(files.instances_key), deployment.worker_socket],
                                     cwd=ROOT, start_new_session=True)
            _pin(worker_pid)
            _pin(edge_pid)
            _pin(relay.pid)
            host = "bench-edge.local.mockfleet.localhost"
            direct = loadgen.unix(deployment.worker_socket)
            through = loadgen.tls(port, host, credentials["caPath"])
            relayed = loadgen.tls(relay_port, host, credentials["caPath"])
            request = loadgen.get("/static", host)
            results: dict[str, loadgen.Result] = {}
            rounds: dict[str, list[tuple[float, float, float]]] = {"direct": [], "edge": [], "relay": []}
            time.sleep(1)
            for opener in (direct, through, relayed):  # warm-up
                loadgen.run(opener, request, 4, 1.0)
            # alternate the cases round by round so drifts of a noisy machine hit all alike
            servers = {"direct": None, "edge": edge_pid, "relay": relay.pid}
            for _ in range(ROUNDS):
                for label, opener in (("direct", direct), ("edge", through), ("relay", relayed)):
                    latency = loadgen.run(opener, request, 1, seconds)
                    server = servers[label]
                    before, worker_before = (_cpu(server) if server else 0.0), _cpu(worker_pid)
                    load = loadgen.run(opener, request, 16, seconds)
                    rounds[label].append((latency.percentile(0.5),
                                          ((_cpu(server) - before) / load.requests * 1e6) if server else 0.0,
                                          (_cpu(worker_pid) - worker_before) / load.requests * 1e6))
                    results[f"{label}-latency"] = latency.merged(results.get(f"{label}-latency"))
                    results[label] = load.merged(results.get(label))
            env_file = write_json(Path(tmp) / "env.json", env)
            mockoon_port = free_port()
            mockoon = start_mockoon(env_file, mockoon_port)
            if mockoon is not None:
                opener = loadgen.tcp("127.0.0.1", mockoon_port)
                loadgen.run(opener, loadgen.get("/static"), 4, 1.0)
                results["mockoon-latency"] = loadgen.run(opener, loadgen.get("/static"), 1, seconds)
                results["mockoon"] = loadgen.run(opener, loadgen.get("/static"), 16, seconds)
        finally:
            stop(mockoon)
            if relay is not None:
                relay.kill()
                relay.wait(10)
            os.killpg(up.pid, signal.SIGTERM)
            up.wait(30)
    edge_cpu_us = loadgen.median([cpu for _, cpu, _ in rounds["edge"]])
    relay_cpu_us = loadgen.median([cpu for _, cpu, _ in rounds["relay"]])
    relay_p50 = loadgen.median([relay[0] - direct[0] for relay, direct in zip(rounds["relay"], rounds["direct"],
                                                                               strict=True)])
    p50_overhead = loadgen.median([edge[0] - direct[0] for edge, direct in zip(rounds["edge"], rounds["direct"],
                                                                                   strict=True)])
    worker_cpu_us = loadgen.median([cpu for _, _, cpu in rounds["direct"]])
    lines = [
        results["direct"].line("edge bench (a) worker directly on its Unix socket, 16 conns"),
        results["edge"].line("edge bench (b) same worker through the edge, TLS keep-alive, 16 conns"),
        results["direct-latency"].line("edge bench (a) 1 connection"),
        results["edge-latency"].line("edge bench (b) 1 connection"),
        results["relay"].line("edge bench (d) same worker through a bare TLS relay (no HTTP), 16 conns"),
        results["relay-latency"].line("edge bench (d) 1 connection"),
    ]
    if "mockoon" in results:
        lines += [results["mockoon"].line("edge bench (c) Mockoon CLI 9.9.0 over TCP, 16 conns"),
                  results["mockoon-latency"].line("edge bench (c) Mockoon CLI 1 connection")]
    lines.append(f"edge overhead (median of {ROUNDS} alternating rounds): {edge_cpu_us:.0f} µs CPU per request in the "
                 f"edge process (target <= 150), p50 +{p50_overhead:.2f} ms with one connection (target <= 0.5); "
                 f"per round: {', '.join(f'{cpu:.0f}' for _, cpu, _ in rounds['edge'])} µs")
    lines.append(f"edge scale: the worker itself needs {worker_cpu_us:.0f} µs CPU per request here (static route); "
                 f"the edge costs {edge_cpu_us / worker_cpu_us:.2f}x that")
    lines.append(f"edge floor, same load: a bare trio TLS relay to the worker (layer 4, no HTTP, one upstream "
                 f"connection per client) costs {relay_cpu_us:.0f} µs CPU per request and p50 +{relay_p50:.2f} ms; "
                 f"the edge's HTTP work (parsing, routing, keys, limits, pooling, logging) adds "
                 f"{edge_cpu_us - relay_cpu_us:.0f} µs on top")
    lines.append(f"edge floor: h11 alone costs {h11_floor():.0f} µs CPU per proxied request on this machine "
                 "(parse and re-serialise request and response), before TLS and socket work")
    lines.append(f"edge floor: a trio TLS-to-Unix-socket relay doing no HTTP work at all costs {relay_floor():.0f} µs "
                 "CPU per request on this machine (tests/bench/relay_floor.py)")
    record(f"edge (server processes on one core, client on the other; {ROUNDS} rounds of {seconds:.0f} s per case)",
           lines)


if __name__ == "__main__":
    main()
