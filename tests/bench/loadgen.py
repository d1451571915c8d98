"""A small closed-loop HTTP/1.1 load generator (asyncio + uvloop) for the benchmarks.

Each connection keeps one request in flight; latency is measured per request. It speaks TCP,
Unix sockets and TLS (with SNI), so the same client measures a worker, the edge and Mockoon.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else float("nan")

    def merged(self, other: Result | None) -> Result:
        """This run and an earlier one as one (rounds of the same case)."""
        if other is None:
            return self
        return Result(self.requests + other.requests, self.errors + other.errors, self.seconds + other.seconds,
                      other.latencies + self.latencies)

    def line(self, label: str) -> str:
        return (f"{label}: {self.rps:,.0f} req/s, p50 {self.percentile(0.5):.2f} ms, "
                f"p99 {self.percentile(0.99):.2f} ms ({self.requests} requests, {self.errors} errors)")


def tcp(host: str, port: int) -> Opener:
    return lambda: asyncio.open_connection(host, port)


def unix(path: str) -> Opener:
    return lambda: asyncio.open_unix_connection(path)


def tls(port: int, server_name: str, cafile: str) -> Opener:
    context = ssl.create_default_context(cafile=cafile)
    return lambda: asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=server_name)


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bool]:
    """The answer's status, and whether the server closes the connection after it."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    chunked = False
    closing = False
    for line in head.split(b"\r\n")[1:]:
        lowered = line.lower()
        if lowered.startswith(b"connection:") and b"close" in lowered:
            closing = True
        elif lowered.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif lowered.startswith(b"transfer-encoding:") and b"chunked" in lowered:
            chunked = True
    if length is not None:
        await reader.readexactly(length)
    elif chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, closing


async def _run(opener: Opener, request: bytes, connections: int, seconds: float) -> Result:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await opener()
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                status, closing = await _one(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                writer.close()
                reader, writer = await opener()
                continue
            latencies.append(time.perf_counter() - started)
            if closing:  # Mockoon's proxied answers say Connection: close (its upstream request did)
                writer.close()
                reader, writer = await opener()
            if status >= 500:
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return Result(len(latencies), errors, time.perf_counter() - started, latencies)


def run(opener: Opener, request: bytes, connections: int = 16, seconds: float = 5.0) -> Result:
    try:
        import uvloop

        return uvloop.run(_run(opener, request, connections, seconds))
    except ImportError:  # pragma: no cover
        return asyncio.run(_run(opener, request, connections, seconds))


def get(path: str, host: str = "localhost", headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()


def median(values: list[float]) -> float:
    return statistics.median(values)
