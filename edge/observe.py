"""Observation of the pipeline, kept out of its decisions: the access log line and metrics of
each exchange, the monthly count of what reached a worker, and worker failures for the
supervisor.

Only a request whose head reached a worker is counted against the monthly quota; the edge's
own refusals (401, 404, 413, 429, 503 …) are not.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from schemas.control import Target

from .access_log import AccessLog
from .control_client import ControlClient
from .limits import QuotaCounter
from .metrics import Metrics

if TYPE_CHECKING:
    from .relay import Relay


class Observer:
    def __init__(self, metrics: Metrics, access_log: AccessLog, quota: QuotaCounter, control: ControlClient) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self.quota = quota
        self.control = control

    def forwarded(self, target: Target) -> None:
        """A request's head reached the worker of ``target``."""
        if target.kind == "deployment":
            self.quota.count(target.deployment, target.account)

    def upstream_failed(self, deployment: str, status: int, reason: str, socket: str) -> None:
        self.metrics.upstream_failures[str(status)] += 1
        self.control.upstream_failed(deployment, status, reason, socket)

    def finished(self, exchange: Relay, started: float) -> None:
        """One exchange ended (answered, refused, tunnelled or cut short); ``started`` is its
        ``time.perf_counter()`` at the start."""
        metrics = self.metrics
        status = exchange.status
        metrics.requests[f"{status // 100}xx" if status else "none"] += 1
        metrics.bytes_out += exchange.bytes_out
        if self.access_log.enabled:
            request = exchange.request
            record = {
                "ts": round(time.time(), 3), "host": exchange.host, "deployment": exchange.deployment,
                "method": request.method.decode(), "path": request.target.split(b"?", 1)[0].decode("latin-1"),
                "status": status, "bytes": exchange.bytes_out,
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "decision": exchange.decision, "client": exchange.peer}
            if exchange.upgraded and exchange.tunnel is not None:  # a WebSocket's messages, each way
                guard = exchange.tunnel.guard
                record["ws_in"] = guard.messages_in
                record["ws_out"] = guard.messages_out
                ending = exchange.tunnel.ending
                if ending is not None:
                    record["ws_close"] = ending.code
            self.access_log.write(record)
