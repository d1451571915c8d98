"""``GET /metrics`` of the supervisor on a loopback TCP port (``--supervisor-metrics-port``), for Prometheus.

The edge's metrics port describes requests; this one describes deployments and their workers,
which only the supervisor knows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import trio

log = logging.getLogger("mockfleet.supervisor.metrics")

MAX_HEAD = 8192


async def _answer(render: Callable[[], bytes], stream: trio.SocketStream) -> None:
    try:
        with trio.move_on_after(5):
            request = b""
            while b"\r\n\r\n" not in request and len(request) < MAX_HEAD:
                data = await stream.receive_some(4096)
                if not data:
                    return
                request += data
            if request.startswith((b"GET /metrics ", b"GET /metrics?")):
                body = render()
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
            else:
                body = b"not found: the supervisor's metrics are at /metrics\n"
                head = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
            await stream.send_all(head + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    except (trio.BrokenResourceError, OSError):
        pass
    finally:
        await trio.aclose_forcefully(stream)


async def serve_metrics(port: int, render: Callable[[], bytes], host: str = "127.0.0.1",
                        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until cancelled; a port that cannot be bound is logged, not fatal (the mocks matter more)."""
    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as error:
        log.warning("supervisor metrics not served: cannot listen on %s:%d: %s", host, port, error.strerror)
        task_status.started()
        return
    log.info("supervisor metrics on http://%s:%d/metrics", host, port)
    task_status.started()
    await trio.serve_listeners(partial(_answer, render), listeners)
