"""The supervisor's end of a worker's control channel (``schemas/worker_channel.py``): hand the
environment over, then wait for the worker's ``WorkerReady`` instead of polling its socket."""

from __future__ import annotations

import socket

import trio

from schemas.worker_channel import MAX_LINE, ChannelError, WorkerReady, decode_ready


class WorkerChannel:
    def __init__(self, sock: socket.socket) -> None:
        self._raw = sock
        self._sock = trio.socket.from_stdlib_socket(sock)

    @classmethod
    def pair(cls) -> tuple[WorkerChannel, socket.socket]:
        """Our end, and the worker's (its stdin; close it here once the worker has it)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        return cls(ours), theirs

    @classmethod
    def adopt_fd(cls, fd: int) -> WorkerChannel:
        return cls(socket.socket(fileno=fd))

    async def hand_over(self, payload: bytes) -> None:
        """Write the hand-over, then the end of input; a worker gone meanwhile is the ready wait's to notice."""
        view = memoryview(payload)
        try:
            while view:
                sent = await self._sock.send(view)
                view = view[sent:]
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:  # BrokenPipe, ConnectionReset: the worker exited
            pass

    async def ready(self) -> WorkerReady | None:
        """The worker's ready line; None at the end of input (it exited, or is a runtime that does not report)."""
        data = b""
        while b"\n" not in data:
            try:
                chunk = await self._sock.recv(MAX_LINE)
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
            if len(data) > MAX_LINE:
                raise ChannelError("a worker wrote more than one line's worth on its control channel")
        return decode_ready(data.split(b"\n", 1)[0])

    def ended(self) -> bool:
        """The worker's end is closed (it died) while it waits for its hand-over: a waiting worker never
        writes first, so anything readable is its end of input. (A peek, not select(): with a pidfd per
        worker the supervisor's descriptors pass select's limit of 1,024.)"""
        try:
            return not self._raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def close(self) -> None:
        try:
            self._sock.close()
        except RuntimeError:  # outside trio (a spare pool closed at exit): nobody waits on it
            self._raw.close()
