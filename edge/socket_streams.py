"""Trio streams over non-blocking stdlib sockets: TLS through ``ssl.SSLSocket`` and plain
Unix/TCP sockets.

trio's ``SSLStream`` pumps OpenSSL through memory BIOs in Python and its ``SocketStream``
adds checkpoints and conflict detection around every call; on the edge's hot path that was
a third of the CPU per request. Here each operation tries the syscall first and only waits
for readiness (``wait_readable``/``wait_writable``) when the kernel says so. Operations
stay cancellable: they check for cancellation on entry and every wait is a checkpoint.

Timeouts are kept by one task for all streams (``Deadlines``) rather than by a cancel scope
per wait, which costs as much here as the rest of a wait together.
"""

from __future__ import annotations

import enum
import errno
import math
import socket
import ssl
import time

import trio

READ_SIZE = 65536


class Wait(enum.Enum):
    READABLE = "readable"
    WRITABLE = "writable"


class SocketClosed(trio.BrokenResourceError):
    """The peer reset the connection, or TLS failed mid-stream."""


class Deadlines:
    """Every stream that waits with a timeout, and when it must give up.

    One task (``enforce``) wakes every ``period`` seconds and ends the expired waits with
    ``notify_closing``, which the waiting stream turns into ``trio.TooSlowError``; a wait so
    costs two dict operations instead of a cancel scope, and ends at most ``period`` late.
    Without that task running, streams fall back to cancel scopes.
    """

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self.waiting: dict[RawSocketStream, float] = {}
        self.running = False

    async def enforce(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.running = True
        task_status.started()
        try:
            while True:
                await trio.sleep(self.period)
                now = time.monotonic()
                expired = [stream for stream, deadline in self.waiting.items() if deadline <= now]
                for stream in expired:
                    del self.waiting[stream]
                    stream.timed_out = True
                    try:
                        trio.lowlevel.notify_closing(stream.sock)
                    except (OSError, ValueError, KeyError):  # closed meanwhile: its waiter is awake already
                        stream.timed_out = False
        finally:
            self.running = False
            self.waiting.clear()


DEADLINES = Deadlines()


class RawSocketStream(trio.abc.Stream):
    """A connected non-blocking socket as a trio stream."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self._closed = False
        self.timed_out = False
        self.send_timeout = math.inf  # how long one send may wait for the peer to read
        self.waited = False  # went through the scheduler since the flag was last cleared
        self._tcp = sock.family in (socket.AF_INET, socket.AF_INET6)

    @classmethod
    def adopt(cls, stream: trio.SocketStream) -> RawSocketStream:
        """Take over the socket of a trio stream (from a listener or ``open_unix_socket``)."""
        return cls(_detach(stream))

    def peer_host(self) -> str:
        return _peer_of(self.sock)

    def ack_now(self) -> None:
        """Acknowledge what has arrived now rather than up to 40 ms later (delayed ACK). A client that
        writes a request's head and its body apart without TCP_NODELAY (Python's http.client does)
        holds the body back until the head is acknowledged (Nagle), so each such POST waited 40 ms.
        TCP only: a Unix socket has no acknowledgements."""
        if self._tcp:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except OSError:
                self._tcp = False

    def _buffered(self) -> bool:
        """Bytes already received by a layer above the socket (TLS), which readiness won't show."""
        return False

    # One attempt each, without waiting: bytes (or a count), or which readiness to wait for.
    def _try_recv(self, size: int) -> bytes | Wait:
        try:
            return self.sock.recv(size)
        except BlockingIOError:
            return Wait.READABLE
        except OSError as error:
            raise SocketClosed(str(error)) from error

    def _try_send(self, view: memoryview) -> int | Wait:
        try:
            return self.sock.send(view)
        except BlockingIOError:
            return Wait.WRITABLE
        except OSError as error:
            raise SocketClosed(str(error)) from error

    async def _wait(self, wait: Wait) -> None:
        self.waited = True
        if wait is Wait.READABLE:
            await trio.lowlevel.wait_readable(self.sock)
        else:
            await trio.lowlevel.wait_writable(self.sock)

    async def _wait_until(self, wait: Wait, deadline: float) -> None:
        """``_wait``, ended by ``trio.TooSlowError`` at ``deadline`` (``time.monotonic``)."""
        if not DEADLINES.running:
            with trio.move_on_at(trio.current_time() + deadline - time.monotonic()):
                await self._wait(wait)
                return
            raise trio.TooSlowError
        if deadline <= time.monotonic():
            raise trio.TooSlowError
        waiting = DEADLINES.waiting
        waiting[self] = deadline
        self.timed_out = False
        try:
            await self._wait(wait)
        except trio.ClosedResourceError:
            if self.timed_out:
                self.timed_out = False
                raise trio.TooSlowError from None
            raise
        finally:
            waiting.pop(self, None)

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint_if_cancelled()
        size = max_bytes or READ_SIZE
        while True:
            if self._closed:
                raise trio.ClosedResourceError("stream is closed")
            result = self._try_recv(size)
            if not isinstance(result, Wait):
                return result
            await self._wait(result)

    async def receive_within(self, seconds: float, max_bytes: int = READ_SIZE, wait_first: bool = False) -> bytes:
        """``receive_some`` bounded in time (``trio.TooSlowError``). ``wait_first`` when the
        peer is known to have nothing to say yet (it waits for our answer): the receive that
        would fail is skipped."""
        await trio.lowlevel.checkpoint_if_cancelled()
        wait = Wait.READABLE
        if not wait_first or self._buffered():
            result = self._try_recv(max_bytes)
            if not isinstance(result, Wait):
                return result
            wait = result
        deadline = time.monotonic() + seconds
        while True:
            if self._closed:
                raise trio.ClosedResourceError("stream is closed")
            await self._wait_until(wait, deadline)
            result = self._try_recv(max_bytes)
            if not isinstance(result, Wait):
                return result
            wait = result

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()
        view = memoryview(data)
        while view:
            if self._closed:
                raise trio.ClosedResourceError("stream is closed")
            result = self._try_send(view)
            if not isinstance(result, Wait):
                view = view[result:]
            elif self.send_timeout == math.inf:
                await self._wait(result)
            else:  # a peer that stops reading gets ``send_timeout`` per wait, then TooSlowError
                await self._wait_until(result, time.monotonic() + self.send_timeout)

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.wait_writable(self.sock)

    async def send_eof(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    async def aclose(self) -> None:
        self._close()
        await trio.lowlevel.checkpoint()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()


class TlsSocketStream(RawSocketStream):
    """Server-side TLS on a non-blocking ``ssl.SSLSocket``."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        sock.setblocking(False)
        tls = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        super().__init__(tls)
        self.tls = tls

    @classmethod
    def accept(cls, stream: trio.SocketStream, context: ssl.SSLContext) -> TlsSocketStream:
        return cls(_detach(stream), context)

    async def do_handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                await self._wait(Wait.READABLE)
            except ssl.SSLWantWriteError:
                await self._wait(Wait.WRITABLE)
            except (ssl.SSLError, OSError) as error:
                raise SocketClosed(f"TLS handshake failed: {error}") from error

    def _buffered(self) -> bool:
        return self.tls.pending() > 0

    def _try_recv(self, size: int) -> bytes | Wait:
        try:
            return self.tls.recv(size)
        except ssl.SSLWantReadError:
            return Wait.READABLE
        except ssl.SSLWantWriteError:
            return Wait.WRITABLE
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except (ssl.SSLError, OSError) as error:
            if isinstance(error, OSError) and error.errno in (errno.ECONNRESET, errno.EPIPE):
                return b""
            raise SocketClosed(str(error)) from error

    def _try_send(self, view: memoryview) -> int | Wait:
        try:
            return self.tls.send(view)
        except ssl.SSLWantReadError:
            return Wait.READABLE
        except ssl.SSLWantWriteError:
            return Wait.WRITABLE
        except (ssl.SSLError, OSError) as error:
            raise SocketClosed(str(error)) from error


def _detach(stream: trio.SocketStream) -> socket.socket:
    trio_socket = stream.socket
    family, kind, proto = trio_socket.family, trio_socket.type, trio_socket.proto
    return socket.socket(family, kind, proto, fileno=trio_socket.detach())


def _peer_of(sock: socket.socket) -> str:
    try:
        address = sock.getpeername()
    except OSError:
        return ""
    return str(address[0]) if isinstance(address, tuple) else ""


async def splice(one: trio.abc.Stream, other: trio.abc.Stream, idle: float = math.inf,
                 total: float = math.inf) -> str:
    """Copy bytes both ways until either side ends (a WebSocket after its 101, a bare relay),
    nothing moved either way for ``idle`` seconds, or ``total`` seconds passed: a tunnel holds
    descriptors on both sides, so none may last for ever. Says which ended it:
    ``"closed"``, ``"idle"`` or ``"total"``."""

    async def copy(source: trio.abc.ReceiveStream, sink: trio.abc.SendStream, quiet: trio.CancelScope) -> None:
        try:
            while data := await source.receive_some(READ_SIZE):
                await sink.send_all(data)
                quiet.deadline = trio.current_time() + idle
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        quiet.cancel()

    started = trio.current_time()
    with trio.CancelScope(deadline=started + idle) as quiet, trio.move_on_at(started + total) as whole:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(copy, one, other, quiet)
            nursery.start_soon(copy, other, one, quiet)
    if whole.cancelled_caught:
        return "total"
    return "idle" if quiet.cancelled_caught and trio.current_time() >= quiet.deadline else "closed"


async def open_unix_stream(path: str) -> RawSocketStream:
    return RawSocketStream.adopt(await trio.open_unix_socket(path))
