"""The edge's side of the control socket: cached host lookups, wakes, usage and failure
reports, pushes.

The cache is trusted while the push connection is up; without it lookups go to the
supervisor, so a deleted or re-keyed instance is not served from a stale entry while the
supervisor can say otherwise. When the supervisor does not answer at all (killed, restarting)
a known host is served as last known (keys, plans, socket) until it is back: a supervisor
restart used to cost 1,269 answers of 503 in 0.55 s (issue 13). Nothing changes a deployment
while the supervisor is down, and the first push of its successor empties the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import trio

from schemas.control import (
    FrameBuffer,
    FrameError,
    Invalidate,
    Message,
    Resolve,
    Subscribe,
    Target,
    UsageAck,
    Wake,
    Woken,
    encode_frame,
)
from schemas.edge_reports import Noted, UpstreamFailure, UsageTotals

from .limits import QuotaCounter

log = logging.getLogger("mockfleet.edge.control")

CACHE_TTL = 30.0
NEGATIVE_TTL = 2.0
UNREACHABLE_BACKOFF = 0.25  # after a failed call, known hosts are served from the cache this long without asking
FAILURE_REPORT_INTERVAL = 1.0  # upstream failures of one deployment are folded into one report per interval


class SupervisorUnavailable(Exception):
    """The control socket does not answer."""


async def _read(stream: trio.abc.ReceiveStream, frames: FrameBuffer) -> Message:
    while (message := frames.next_message()) is None:
        data = await stream.receive_some(65536)
        if not data:
            raise SupervisorUnavailable("control connection closed")
        frames.feed(data)
    return message


class ControlClient:
    def __init__(self, socket_path: Path, quota: QuotaCounter) -> None:
        self.socket_path = socket_path
        self.quota = quota
        self.cache: dict[str, tuple[Target, float]] = {}
        self.subscribed = False
        self._stream: trio.SocketStream | None = None
        self._frames = FrameBuffer()
        self._lock = trio.Lock()
        self._unreachable_until = 0.0
        self.failures: dict[str, UpstreamFailure] = {}  # deployment -> failures not reported yet
        self.on_invalidate: Callable[[list[str]], None] | None = None  # told of every push (open tunnels)

    async def _call(self, message: Message, timeout: float = 5.0) -> Message:
        async with self._lock:
            for attempt in (1, 2):
                try:
                    with trio.fail_after(timeout):
                        if self._stream is None:
                            self._stream = await trio.open_unix_socket(str(self.socket_path))
                            self._frames = FrameBuffer()
                        await self._stream.send_all(encode_frame(message))
                        return await _read(self._stream, self._frames)
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, SupervisorUnavailable,
                        FrameError, trio.TooSlowError) as error:
                    if self._stream is not None:
                        await trio.aclose_forcefully(self._stream)
                    self._stream = None
                    if attempt == 2:
                        raise SupervisorUnavailable(str(error) or type(error).__name__) from error
        raise SupervisorUnavailable("unreachable")

    async def resolve(self, host: str) -> Target:
        now = time.monotonic()
        cached = self.cache.get(host)
        if cached is not None and (self.subscribed and cached[1] > now or now < self._unreachable_until):
            return cached[0]
        try:
            reply = await self._call(Resolve(host))
        except SupervisorUnavailable:
            if cached is None:
                raise
            self._unreachable_until = time.monotonic() + UNREACHABLE_BACKOFF
            return cached[0]  # as last known, until the supervisor answers again
        if not isinstance(reply, Target):
            raise SupervisorUnavailable(f"unexpected reply {type(reply).__name__}")
        if reply.kind == "deployment":
            self.quota.learn(reply.account, reply.monthly_used, reply.quota_resets_at)
        self.cache[host] = (reply, now + (NEGATIVE_TTL if reply.kind == "none" else CACHE_TTL))
        return reply

    def forget(self, host: str) -> None:
        self.cache.pop(host, None)

    async def wake(self, deployment: str, timeout: float) -> Woken:
        """On its own connection: a slow start must not hold up other lookups."""
        with trio.fail_after(timeout):
            stream = await trio.open_unix_socket(str(self.socket_path))
            try:
                await stream.send_all(encode_frame(Wake(deployment)))
                reply = await _read(stream, FrameBuffer())
            finally:
                await stream.aclose()
        if not isinstance(reply, Woken):
            raise SupervisorUnavailable(f"unexpected reply {type(reply).__name__}")
        return reply

    async def report_usage_forever(self, interval: float = 0.5) -> None:
        """Counted requests reach the registry at least every second; failures are retried."""
        while True:
            await trio.sleep(interval)
            await self.report_usage()

    async def report_usage(self) -> None:
        """The ledger's totals for what changed since the last acknowledgement; one that fails
        is simply sent again, larger, next time (the supervisor counts totals once)."""
        report = self.quota.take_report()
        if not report:
            return
        try:
            reply = await self._call(UsageTotals(ledger=self.quota.ledger.edge_id, totals=report))
        except SupervisorUnavailable as error:
            log.warning("usage report failed, will retry: %s", error)
            return
        if isinstance(reply, UsageAck):
            self.quota.acknowledged(report, reply.used, reply.resets_at)

    def upstream_failed(self, deployment: str, status: int, reason: str, socket: str) -> None:
        """Note a worker failure for the next report (no I/O on the request path)."""
        pending = self.failures.get(deployment)
        if pending is None:
            self.failures[deployment] = UpstreamFailure(deployment=deployment, status=status,  # type: ignore[arg-type]
                                                        reason=reason, socket=socket)
        else:
            pending.count += 1

    async def report_failures_forever(self, interval: float = FAILURE_REPORT_INTERVAL) -> None:
        while True:
            await trio.sleep(interval)
            await self.report_failures()

    async def report_failures(self) -> None:
        """What ``upstream_failed`` noted, one report per deployment; lost if the supervisor is down
        (the next failure is reported anyway)."""
        failures, self.failures = self.failures, {}
        for report in failures.values():
            try:
                reply = await self._call(report)
            except SupervisorUnavailable as error:
                log.warning("upstream failure report for %s not delivered: %s", report.deployment, error)
                return
            if not isinstance(reply, Noted):
                log.warning("upstream failure report for %s: unexpected reply %s", report.deployment,
                            type(reply).__name__)

    async def follow_invalidations(self) -> None:
        """Keep the push connection up; while it is down the cache is asked only when the
        supervisor does not answer."""
        while True:
            try:
                stream = await trio.open_unix_socket(str(self.socket_path))
            except OSError:
                self.subscribed = False
                await trio.sleep(0.2)
                continue
            frames = FrameBuffer()
            try:
                await stream.send_all(encode_frame(Subscribe()))
                while True:
                    message = await _read(stream, frames)
                    if isinstance(message, Invalidate):
                        if message.hosts:
                            for host in message.hosts:
                                self.cache.pop(host, None)
                        else:
                            self.cache.clear()
                        self.subscribed = True
                        if self.on_invalidate is not None:
                            self.on_invalidate(message.hosts)
            except (SupervisorUnavailable, FrameError, trio.BrokenResourceError, OSError):
                pass
            finally:
                # entries stay: they serve known hosts while the supervisor is unreachable
                self.subscribed = False
                await trio.aclose_forcefully(stream)
            await trio.sleep(0.1)
