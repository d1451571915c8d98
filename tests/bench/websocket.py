"""The WebSocket case of ``just bench worker``: our worker against Mockoon CLI, same run.

- one-to-one: 8 clients keep 32 text messages each in flight on a templated echo route;
  figure: answers per second.
- broadcast fan-out: 100 clients on one BROADCAST route ticking at Mockoon's 10 ms floor;
  figures: messages delivered per second (10,000/s is every tick reaching every client) and the
  server's CPU milliseconds per 1,000 delivered messages.
A raw-socket client (pre-built masked frames, frames counted by their headers) keeps the load
generator cheap; it runs on its own core.
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from tests.bench.common import (
    free_port,
    pin_client,
    record,
    start_mockoon,
    start_worker,
    stop,
    write_json,
)

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
MASK = b"\x01\x02\x03\x04"


def environment() -> dict[str, Any]:
    def route(uuid: str, endpoint: str, body: str, **extra: Any) -> dict[str, Any]:
        return {"uuid": uuid, "type": "ws", "method": "get", "endpoint": endpoint, "responseMode": None,
                "streamingMode": extra.get("mode"), "streamingInterval": extra.get("interval", 0),
                "responses": [{"uuid": f"{uuid}-r", "body": body, "statusCode": 200, "default": True, "rules": []}]}

    routes = [route("echo", "echo/:room", "{{urlParam 'room'}}: {{body}}"),
              route("feed", "feed", '{"tick": true}', mode="BROADCAST", interval=10)]
    return {"uuid": "bench-ws", "lastMigration": 33, "name": "bench-ws", "port": 3000, "endpointPrefix": "",
            "latency": 0, "routes": routes, "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "headers": [], "cors": True, "proxyMode": False, "data": [], "folders": [], "callbacks": []}


def _text_frame(text: bytes) -> bytes:
    assert len(text) < 126
    return bytes([0x81, 0x80 | len(text)]) + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(text))


def _open(port: int, path: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    sock.setblocking(False)
    return sock, head.split(b"\r\n\r\n", 1)[1]  # and the first frames, when they came along


def _count_frames(buffer: bytearray) -> int:
    """Complete server frames at the start of ``buffer`` (consumed)."""
    count = at = 0
    while len(buffer) - at >= 2:
        length = buffer[at + 1] & 0x7F
        header = 2
        if length == 126:
            if len(buffer) - at < 4:
                break
            length, header = struct.unpack_from("!H", buffer, at + 2)[0], 4
        elif length == 127:
            if len(buffer) - at < 10:
                break
            length, header = struct.unpack_from("!Q", buffer, at + 2)[0], 10
        if len(buffer) - at < header + length:
            break
        at += header + length
        count += 1
    del buffer[:at]
    return count


def one_to_one(port: int, seconds: float, clients: int = 8, window: int = 32) -> float:
    frame = _text_frame(b"hello bench")
    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytearray] = {}
    for i in range(clients):
        sock, _ = _open(port, f"/echo/room{i}")
        buffers[sock] = bytearray()
        selector.register(sock, selectors.EVENT_READ)
        sock.sendall(frame * window)
    answered = 0
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(262144)
            except BlockingIOError:
                continue
            buffer = buffers[sock]
            buffer += data
            got = _count_frames(buffer)
            answered += got
            if got:
                sock.setblocking(True)
                sock.sendall(frame * got)  # keep the window full
                sock.setblocking(False)
    elapsed = time.monotonic() - started
    for sock in buffers:
        sock.close()
    return answered / elapsed


def fan_out(port: int, pid: int, seconds: float, clients: int = 100) -> tuple[float, float]:
    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytearray] = {}
    for _ in range(clients):
        sock, _ = _open(port, "/feed")
        buffers[sock] = bytearray()
        selector.register(sock, selectors.EVENT_READ)
    time.sleep(0.5)  # every client in the stream before measuring
    for sock in buffers:
        try:
            while sock.recv(262144):
                pass
        except BlockingIOError:
            pass
        buffers[sock].clear()
    server = psutil.Process(pid)
    cpu_before = sum(server.cpu_times()[:2])
    delivered = 0
    started = time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(262144)
            except BlockingIOError:
                continue
            buffer = buffers[sock]
            buffer += data
            delivered += _count_frames(buffer)
    elapsed = time.monotonic() - started
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    for sock in buffers:
        sock.close()
    return delivered / elapsed, cpu * 1000 / max(1, delivered) * 1000


def _server_pid(proc: Any) -> int:
    """The server under ``taskset``/the CLI wrapper: the busiest process of its group."""
    parent = psutil.Process(proc.pid)
    family = [parent, *parent.children(recursive=True)]
    return max(family, key=lambda p: p.memory_info().rss).pid


def main(seconds: float = 5.0) -> list[str]:
    pin_client()
    lines: list[str] = []
    results: dict[str, tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env_file = write_json(Path(tmp) / "env.json", environment())
        for name, starter in (("mockfleet", start_worker), ("mockoon", start_mockoon)):
            port = free_port()
            proc = starter(env_file, port)
            if proc is None:
                print("Mockoon CLI not available (no node/npm): measuring mockfleet only")
                continue
            try:
                one_to_one(port, 1.0)  # warm-up
                rate = one_to_one(port, seconds)
                delivered, cpu_per_k = fan_out(port, _server_pid(proc), seconds)
                results[name] = (rate, delivered, cpu_per_k)
            finally:
                stop(proc)
    for name, label in (("mockfleet", "mockfleet"), ("mockoon", "Mockoon CLI 9.9.0")):
        if name in results:
            rate, delivered, cpu_per_k = results[name]
            lines.append(f"websocket one-to-one: {label} {rate:,.0f} answers/s (8 clients, 32 in flight each)")
            lines.append(f"websocket broadcast to 100 clients every 10 ms: {label} {delivered:,.0f} messages/s "
                         f"delivered, {cpu_per_k:.1f} ms server CPU per 1,000")
    if len(results) == 2:
        ours, theirs = results["mockfleet"], results["mockoon"]
        lines.append(f"websocket one-to-one: throughput ratio mockfleet/Mockoon = {ours[0] / theirs[0]:.2f}x")
        lines.append(f"websocket broadcast: delivered ratio {ours[1] / theirs[1]:.2f}x, "
                     f"CPU per message ratio Mockoon/mockfleet = {theirs[2] / ours[2]:.2f}x")
    return lines


if __name__ == "__main__":
    record("worker WebSockets (one core each)", main())
    os._exit(0)
