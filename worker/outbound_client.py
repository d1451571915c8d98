"""The outbound shell: resolve, let the guard check every address, connect to the checked one.

Proxy mode and callbacks both go through ``OutboundClient.request``. The host is resolved once
(``Resolver``), ``schemas.outbound.Guard.decide`` sees every address, and the socket is opened to
the address it returned, with the original name as Host header and TLS server name — there is no
second lookup for DNS rebinding to answer differently. HTTP/1.1 is h11 over asyncio streams, so
bodies stream both ways, every wait has a deadline (connect, then total) and the answer's size is
capped. Idle keep-alive connections are pooled per checked address.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

import h11

from schemas.outbound import (
    Decision,
    Guard,
    IPAddress,
    OutboundRefused,
    OutboundSettings,
    Target,
    parse_target,
    resolve_failure,
    resolved_addresses,
)
from schemas.outbound_broker import BrokerFailed, BrokerRefused

from .outbound_broker_client import broker_connect

READ_SIZE = 65536
MAX_IDLE_PER_KEY = 32


class OutboundError(Exception):
    """The upstream could not be reached or answered badly; ``str()`` reads like Node's error."""


class OutboundTimeout(OutboundError):
    """A connect or total deadline passed."""


class ResponseTooLarge(OutboundError):
    """The answer is larger than the deployment's outbound response cap."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """getaddrinfo on the loop's executor; every address it gives is handed to the guard."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except socket.gaierror as error:
            raise OutboundError(resolve_failure(error, host)) from None
        return resolved_addresses(infos)


@dataclass
class OutboundStats:
    """What the deployment's metrics count (``GET /mockoon-admin/outbound``)."""

    requests: int = 0
    refused: int = 0
    failed: int = 0
    timed_out: int = 0
    bytes_received: int = 0
    in_flight: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "refused": self.refused, "failed": self.failed,
                "timedOut": self.timed_out, "bytesReceived": self.bytes_received, "inFlight": self.in_flight}


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection
    key: tuple[str, str, int, str, bool]
    address: IPAddress
    reused: bool = False


@dataclass
class UpstreamResponse:
    """An answer whose body is still on the wire: iterate ``body()`` once, then it is released."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    address: IPAddress
    _client: OutboundClient
    _conn: _Connection
    _deadline: float
    _released: bool = field(default=False)

    async def body(self) -> AsyncIterator[bytes]:
        client, conn = self._client, self._conn
        received = 0
        try:
            while True:
                event = await client._next_event(conn, self._deadline)
                if isinstance(event, h11.Data):
                    received += len(event.data)
                    client.stats.bytes_received += len(event.data)
                    if received > client.settings.max_response_bytes:
                        raise ResponseTooLarge(f"Error: upstream answer larger than "
                                               f"{client.settings.max_response_bytes} bytes (outbound response cap)")
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._release(keep=True)
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    raise OutboundError("Error: socket hang up")
        finally:
            self._release(keep=False)

    async def aclose(self) -> None:
        """Give up on the rest of the body (the connection is closed, not pooled)."""
        self._release(keep=False)

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self.body()])

    def _release(self, keep: bool) -> None:
        if not self._released:
            self._released = True
            self._client._finish(self._conn, keep)


@functools.cache
def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The verifying and the non-verifying client context, made once per process.

    Loading the system's CA certificates takes about 30 ms and a few MiB: a fork server makes them
    before it forks (children share the pages), a spawned worker before its sandbox hides /etc/ssl."""
    verified = ssl.create_default_context()
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    return verified, unverified


class OutboundClient:
    """One per worker: the guard, the resolver, the limits, the pool and the counters."""

    def __init__(self, settings: OutboundSettings, resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.guard = Guard.from_settings(settings)
        self.resolver: Resolver = resolver or SystemResolver()
        self.stats = OutboundStats()
        self._slots = asyncio.Semaphore(max(1, settings.max_concurrent))
        self._idle: dict[tuple[str, str, int, str, bool], deque[_Connection]] = {}
        self._verified, self._unverified = tls_contexts()

    # --- the guarded connect ----------------------------------------------------------------
    async def check(self, target: Target) -> Decision:
        known = self.guard.known_addresses(target)
        addresses = known if known is not None else await self.resolver.resolve(target.host, target.port)
        return self.guard.decide(target, addresses)

    async def request(self, url: str | Target, method: str, headers: list[tuple[str, str]], body: bytes = b"", *,
                      verify_tls: bool = True, content_length: bool | None = None) -> UpstreamResponse:
        """Send one request to the checked address; the answer's head is read, its body streams.

        ``content_length``: send one even for an empty body (None: as fetch does, for a body or
        POST/PUT/PATCH).

        Raises OutboundRefused (policy), OutboundTimeout or OutboundError (Node-like text)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self.settings.total_timeout
        connect_deadline = min(deadline, start + self.settings.connect_timeout)
        self.stats.requests += 1
        try:
            target = url if isinstance(url, Target) else parse_target(url)
            try:
                await asyncio.wait_for(self._slots.acquire(), max(0.0, connect_deadline - loop.time()))
            except TimeoutError:
                raise OutboundTimeout(f"Error: more than {self.settings.max_concurrent} outbound requests "
                                      "in flight (outbound concurrency cap)") from None
        except OutboundRefused:
            self.stats.refused += 1
            raise
        except OutboundError as error:
            self._count_failure(error)
            raise
        self.stats.in_flight += 1
        try:
            address: IPAddress | None = None  # through the broker: it resolves, decides and connects
            if not self.settings.broker:
                try:
                    decision = await asyncio.wait_for(self.check(target), max(0.0, connect_deadline - loop.time()))
                except TimeoutError:
                    raise OutboundTimeout(f"Error: getaddrinfo ETIMEDOUT {target.host}") from None
                if decision.address is None:
                    raise OutboundRefused(decision.reason)
                address = decision.address
            if content_length is None:
                content_length = bool(body) or method.upper() in ("POST", "PUT", "PATCH")
            if content_length or body:
                headers = [*headers, ("Content-Length", str(len(body)))]
            response = await self._exchange(target, address, method, headers, body, verify_tls,
                                            connect_deadline, deadline)
        except OutboundRefused:
            self.stats.refused += 1
            self._leave()
            raise
        except OutboundError as error:
            self._count_failure(error)
            self._leave()
            raise
        except BaseException:
            self._leave()
            raise
        return response

    def _count_failure(self, error: OutboundError) -> None:
        if isinstance(error, OutboundTimeout):
            self.stats.timed_out += 1
        else:
            self.stats.failed += 1

    def _leave(self) -> None:
        self.stats.in_flight -= 1
        self._slots.release()

    async def _exchange(self, target: Target, address: IPAddress | None, method: str, headers: list[tuple[str, str]],
                        body: bytes, verify_tls: bool, connect_deadline: float,
                        deadline: float) -> UpstreamResponse:
        key = (target.scheme, str(address or ""), target.port, target.host, verify_tls)
        for attempt in range(2):
            conn = self._pooled(key) if attempt == 0 else None
            if conn is None:
                conn = await self._connect(target, address, verify_tls, connect_deadline, key)
            try:
                await self._send(conn, target, method, headers, body, deadline)
                while True:
                    event = await self._next_event(conn, deadline)
                    if isinstance(event, h11.InformationalResponse):
                        continue
                    if isinstance(event, h11.Response):
                        break
                    raise OutboundError("Error: socket hang up")
            except OutboundError:
                self._discard(conn)
                if conn.reused and attempt == 0:
                    continue  # a pooled connection the upstream had closed: once more on a fresh one
                raise
            except BaseException:
                self._discard(conn)
                raise
            response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()]
            length = next((v for k, v in response_headers if k.lower() == "content-length"), "")
            if length.isdigit() and int(length) > self.settings.max_response_bytes:
                self._discard(conn)
                raise ResponseTooLarge(f"Error: upstream answer of {length} bytes is larger than "
                                       f"{self.settings.max_response_bytes} bytes (outbound response cap)")
            return UpstreamResponse(event.status_code, event.reason.decode("latin-1"), response_headers, conn.address,
                                    self, conn, deadline)
        raise AssertionError("unreachable")

    async def _connect(self, target: Target, address: IPAddress | None, verify_tls: bool, connect_deadline: float,
                       key: tuple[str, str, int, str, bool]) -> _Connection:
        loop = asyncio.get_running_loop()
        sock = None
        if address is None:
            answer, sock = await broker_connect(self.settings.broker, target, max(0.0, connect_deadline - loop.time()))
            if isinstance(answer, BrokerRefused):
                raise OutboundRefused(answer.reason)
            if isinstance(answer, BrokerFailed):
                raise (OutboundTimeout if answer.timed_out else OutboundError)(answer.error)
            address = ipaddress.ip_address(answer.address)
        where = f"{address}:{target.port}"
        context = None
        if target.scheme == "https":
            context = self._verified if verify_tls else self._unverified
        server_hostname = None if context is None or target.literal is not None else target.host
        try:
            if sock is not None:  # connected already: TLS, if any, is ours to do
                opening = asyncio.open_connection(sock=sock, ssl=context, server_hostname=server_hostname,
                                                  limit=READ_SIZE * 2)
            else:
                opening = asyncio.open_connection(str(address), target.port, ssl=context,
                                                  server_hostname=server_hostname, limit=READ_SIZE * 2)
            try:
                reader, writer = await asyncio.wait_for(opening, max(0.0, connect_deadline - loop.time()))
            except BaseException:
                if sock is not None:
                    sock.close()  # the broker's socket, when the TLS handshake failed or was cut
                raise
        except TimeoutError:
            raise OutboundTimeout(f"Error: connect ETIMEDOUT {where}") from None
        except ssl.SSLError as error:
            raise OutboundError(f"Error: {error.reason or error}") from None
        except OSError as error:
            code = errno.errorcode.get(error.errno or 0, "ECONNREFUSED")
            raise OutboundError(f"Error: connect {code} {where}") from None
        return _Connection(reader, writer, h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024), key,
                           address)

    async def _send(self, conn: _Connection, target: Target, method: str, headers: list[tuple[str, str]],
                    body: bytes, deadline: float) -> None:
        out = [("Host", target.host_header), *headers]
        try:
            parts = [conn.h11.send(h11.Request(method=method.upper(), target=target.path, headers=out))]
            if body:
                parts.append(conn.h11.send(h11.Data(data=body)))
            parts.append(conn.h11.send(h11.EndOfMessage()))
            data = b"".join(p for p in parts if p)
        except h11.LocalProtocolError as error:
            raise OutboundError(f"Error: invalid request: {error}") from None
        conn.writer.write(data)
        try:
            await asyncio.wait_for(conn.writer.drain(), self._remaining(deadline))
        except TimeoutError:
            raise self._total_timeout() from None
        except OSError:
            raise OutboundError("Error: socket hang up") from None

    async def _next_event(self, conn: _Connection, deadline: float) -> object:
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as error:
                raise OutboundError(f"Error: Parse Error: {error}") from None
            if event is not h11.NEED_DATA:
                return event
            try:
                data = await asyncio.wait_for(conn.reader.read(READ_SIZE), self._remaining(deadline))
            except TimeoutError:
                raise self._total_timeout() from None
            except (OSError, ssl.SSLError):
                raise OutboundError("Error: read ECONNRESET") from None
            if not data and conn.h11.their_state is h11.SEND_RESPONSE:
                raise OutboundError("Error: socket hang up")
            conn.h11.receive_data(data)

    def _remaining(self, deadline: float) -> float:
        return max(0.0, deadline - asyncio.get_running_loop().time())

    def _total_timeout(self) -> OutboundTimeout:
        return OutboundTimeout(f"Error: no complete answer within {self.settings.total_timeout:g}s "
                               "(outbound total timeout)")

    # --- the pool ---------------------------------------------------------------------------
    def _pooled(self, key: tuple[str, str, int, str, bool]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                conn.reused = True
                return conn
            conn.writer.close()
        return None

    def _finish(self, conn: _Connection, keep: bool) -> None:
        """The body was read (or abandoned): pool the connection when HTTP allows, else close it."""
        self._leave()
        if keep and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            try:
                conn.h11.start_next_cycle()
            except h11.LocalProtocolError:
                keep = False
            else:
                idle = self._idle.setdefault(conn.key, deque())
                if len(idle) < MAX_IDLE_PER_KEY:
                    conn.reused = False
                    idle.append(conn)
                    return
        self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.writer.close()

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.writer.close()
        self._idle.clear()
