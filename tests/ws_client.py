"""A small blocking WebSocket client on wsproto for tests and benchmarks: every frame, close code
and dropped connection is visible (a terminated connection is not a close frame)."""

from __future__ import annotations

import socket
import ssl
import time
from collections import deque

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)


class Closed(Exception):
    """The server sent a close frame: its code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


class Dropped(Exception):
    """The connection ended without a close frame."""


class Refused(Exception):
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(f"refused {status}: {body!r}")
        self.status = status
        self.headers = headers
        self.body = body


class WsClient:
    def __init__(self, host: str, port: int, path: str, headers: dict[str, str] | None = None,
                 subprotocols: list[str] | None = None, tls: ssl.SSLContext | None = None,
                 server_name: str | None = None, connect_to: str = "127.0.0.1", timeout: float = 10) -> None:
        raw = socket.create_connection((connect_to, port), timeout=timeout)
        self.sock: socket.socket = tls.wrap_socket(raw, server_hostname=server_name or host) if tls else raw
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.messages: deque[str | bytes] = deque()
        self.subprotocol: str | None = None
        self.accept_headers: list[tuple[bytes, bytes]] = []
        self._partial: list[str | bytes] = []
        self.close_code: int | None = None
        self._send(self.ws.send(Request(host=host, target=path, subprotocols=subprotocols or [],
                                        extra_headers=[(k.encode(), v.encode()) for k, v in (headers or {}).items()])))
        deadline = time.monotonic() + timeout
        status, refused_headers, body = 0, [], b""
        while True:
            for event in self._events(deadline):
                if isinstance(event, AcceptConnection):
                    self.subprotocol = event.subprotocol
                    self.accept_headers = list(event.extra_headers)
                    return
                if isinstance(event, RejectConnection):
                    status, refused_headers = event.status_code, list(event.headers)
                    if not event.has_body:
                        raise Refused(status, refused_headers, body)
                elif isinstance(event, RejectData):
                    body += event.data
                    if event.body_finished:
                        raise Refused(status, refused_headers, body)

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _events(self, deadline: float) -> list[object]:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        except TimeoutError:
            raise
        if not data:
            raise Dropped()
        self.ws.receive_data(data)
        return list(self.ws.events())

    def send(self, message: str | bytes) -> None:
        event = TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
        self._send(self.ws.send(event))

    def recv(self, timeout: float = 10) -> str | bytes:
        """The next message; ``Closed`` on a close frame, ``Dropped`` when the connection just ends."""
        deadline = time.monotonic() + timeout
        while not self.messages:
            if time.monotonic() > deadline:
                raise TimeoutError("no message")
            try:
                events = self._events(deadline)
            except OSError as error:
                if isinstance(error, TimeoutError):
                    raise
                raise Dropped() from error
            for event in events:
                if isinstance(event, Message):
                    self._partial.append(event.data)
                    if event.message_finished:
                        parts = self._partial
                        self._partial = []
                        self.messages.append("".join(parts) if isinstance(parts[0], str)  # type: ignore[arg-type]
                                             else b"".join(parts))  # type: ignore[arg-type]
                elif isinstance(event, Ping):
                    self._send(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self.close_code = event.code
                    try:
                        self._send(self.ws.send(event.response()))
                    except Exception:  # noqa: BLE001 - already closing
                        pass
                    if not self.messages:
                        raise Closed(event.code, event.reason or "")
        return self.messages.popleft()

    def close(self, code: int = 1000, reason: str = "") -> int | None:
        """Send a close frame and wait for the server's; its code (None if the connection just ended)."""
        try:
            self._send(self.ws.send(CloseConnection(code=code, reason=reason)))
            deadline = time.monotonic() + 5
            while True:
                for event in self._events(deadline):
                    if isinstance(event, CloseConnection):
                        return event.code
        except (Dropped, OSError):
            return None
        finally:
            self.sock.close()

    def abort(self) -> None:
        self.sock.close()

    def __enter__(self) -> WsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def client_frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    """One masked client frame by hand (for raw-socket tests that are no full client)."""
    size = len(payload)
    length = bytes([0x80 | size]) if size < 126 else (bytes([0x80 | 126]) + size.to_bytes(2, "big") if size < 65536
                                                     else bytes([0x80 | 127]) + size.to_bytes(8, "big"))
    mask = b"\x9a\x01\x5c\xe3"
    return bytes([(0x80 if fin else 0) | opcode]) + length + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
