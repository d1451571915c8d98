"""``just bench edge_instructions``: the edge's work per proxied request counted in CPU
instructions (valgrind's callgrind), a figure this noisy machine cannot move.

The edge runs in-process on one TLS keep-alive connection, with its real request path
(``handle_connection``: parse, route, limits, pooled upstream, response relay); a stub worker
in another process answers each request after ``--delay`` seconds so every wait really waits,
as it does in front of a real worker. Two runs of different lengths are counted and the
difference divided by the extra requests, so start-up and the TLS handshake drop out.
``--root`` measures another checkout (an earlier commit) with the same harness.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "bench-edge.local.mockfleet.localhost"
REQUEST = b"GET /static HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nAccept: */*\r\nUser-Agent: bench\r\n\r\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 33\r\n"
            b"date: Wed, 25 Nov 2026 18:40:29 GMT\r\nserver: hypercorn-h11\r\n\r\n" + b"x" * 33)


def stub_worker(path: str, delay: float, ready: multiprocessing.synchronize.Event) -> None:
    """Answers each request on one Unix connection with ``RESPONSE`` after ``delay`` seconds."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    ready.set()
    conn, _ = server.accept()
    while conn.recv(65536):
        if delay:
            time.sleep(delay)
        conn.sendall(RESPONSE)


def keep_alive_client(port: int, cafile: str, count: int) -> None:
    """``count`` requests one after the other on one TLS keep-alive connection."""
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw, server_hostname=HOST) as sock:
        for _ in range(count):
            sock.sendall(REQUEST)
            received = b""
            while not received.endswith(b"x" * 33):
                received += sock.recv(65536)


def serve(count: int, delay: float, certs: Path) -> None:
    """One in-process edge connection serving ``count`` requests (run under valgrind)."""
    import trio

    import edge.socket_streams as streams
    from edge.access_log import AccessLog
    from edge.certificates import ensure_local_certificates, server_context
    from edge.control_client import ControlClient
    from edge.limits import QuotaCounter
    from edge.proxy import EdgeContext, handle_connection
    from schemas.control import Target

    files = ensure_local_certificates(certs, "mockfleet.localhost", "local")
    context = server_context(files.instances_cert, files.instances_key)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "worker.sock")
        ready = multiprocessing.Event()
        worker = multiprocessing.Process(target=stub_worker, args=(path, delay, ready), daemon=True)
        worker.start()
        ready.wait(30)
        quota = QuotaCounter()
        control = ControlClient(Path(tmp) / "no-supervisor.sock", quota)
        control.subscribed = True
        control.cache[HOST] = (Target(host=HOST, kind="deployment", socket=path, deployment="d1", account=1,
                                      requests_per_second=10**6, monthly_quota=10**9, status="RUNNING"),
                               time.monotonic() + 3600)
        # the access log on, as ``mockfleet up`` runs it (lines go to /dev/null)
        access_log = AccessLog(True, os.open(os.devnull, os.O_WRONLY))
        ctx = EdgeContext(control=control, quota=quota, access_log=access_log)

        async def main() -> None:
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            port = listeners[0].socket.getsockname()[1]
            client = multiprocessing.Process(target=keep_alive_client, args=(port, str(files.ca_cert), count), daemon=True)
            client.start()
            accepted = await listeners[0].accept()
            tls = streams.TlsSocketStream.accept(accepted, context)
            await tls.do_handshake()
            async with trio.open_nursery() as nursery:
                if hasattr(streams, "DEADLINES"):
                    nursery.start_soon(streams.DEADLINES.enforce)
                await handle_connection(ctx, tls, "127.0.0.1")
                nursery.cancel_scope.cancel()

        trio.run(main)
        worker.kill()


def _instructions(harness: Path, root: Path, count: int, delay: float, certs: Path) -> int:
    """Instructions the edge's own process executed (callgrind names the process it started first).
    ``harness`` is a copy of this file alone in its folder, so ``root``'s packages are the ones imported."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                           str(harness), "--serve", str(count), "--delay", str(delay), "--certs", str(certs)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=1800, check=True)
    first_pid = re.search(r"==(\d+)==", done.stderr)
    assert first_pid is not None, done.stderr[-2000:]
    collected = re.search(rf"=={first_pid.group(1)}== Collected : ([\d,]+)", done.stderr)
    assert collected is not None, done.stderr[-2000:]
    return int(collected.group(1).replace(",", ""))


def per_request(harness: Path, root: Path, delay: float, certs: Path, short: int = 200, long: int = 1200) -> float:
    return ((_instructions(harness, root, long, delay, certs) - _instructions(harness, root, short, delay, certs))
            / (long - short))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--delay", type=float, default=0.0003, help="the stub worker's answer time, seconds")
    parser.add_argument("--certs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, action="append", default=[],
                        help="another checkout to measure with the same harness (repeatable)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.delay, args.certs)
        return
    from edge.certificates import ensure_local_certificates
    from tests.bench.common import ROOT, record

    with tempfile.TemporaryDirectory() as tmp:
        certs = Path(tmp) / "certs"  # made once, so key generation is not counted
        ensure_local_certificates(certs, "mockfleet.localhost", "local")
        harness = Path(tmp) / "harness" / "edge_instructions_harness.py"
        harness.parent.mkdir()
        harness.write_bytes(Path(__file__).read_bytes())
        lines = []
        for root in [ROOT, *(path.resolve() for path in args.root)]:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip() or "?"
            label = f"this checkout, {commit}" if root == ROOT else f"checkout {root}, {commit}"
            figure = per_request(harness, root, args.delay, certs)
            lines.append(f"edge instructions ({label}): {figure:,.0f} CPU instructions per proxied request "
                         f"(in-process edge, one TLS keep-alive connection, worker answering in "
                         f"{args.delay * 1e6:.0f} µs; callgrind, difference of 200 and 1,200 requests)")
    record("edge instructions per request (callgrind)", lines)


if __name__ == "__main__":
    main()
