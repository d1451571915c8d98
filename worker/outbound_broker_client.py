"""The worker's half of the outbound broker: ask for a connected socket to a host and port.

A worker in its own network namespace cannot resolve or connect (it has no interface but a
loopback that is down, and seccomp refuses it IP sockets), so ``OutboundClient`` asks the broker
(``supervisor/outbound_broker.py``) instead: one SOCK_SEQPACKET connection per request, the
answer comes with the connected TCP socket (SCM_RIGHTS). The broker decides with the same guard;
its refusals and failures come back with the texts the worker would have produced itself, as
values: ``OutboundClient`` turns them into its exceptions.
"""

from __future__ import annotations

import asyncio
import os
import socket

import msgspec

from schemas.outbound import Target
from schemas.outbound_broker import (
    MAX_MESSAGE,
    BrokerAnswer,
    BrokerConnected,
    BrokerFailed,
    request_for,
)

_decoder: msgspec.json.Decoder[BrokerAnswer] = msgspec.json.Decoder(BrokerAnswer)  # type: ignore[arg-type]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _receive_with_descriptor(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One message and the descriptors beside it (asyncio has no recvmsg of its own)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(sock, MAX_MESSAGE, 1)
            return data, fds
        except BlockingIOError:
            pass
        readable: asyncio.Future[None] = loop.create_future()
        loop.add_reader(sock.fileno(), _wake, readable)
        try:
            await readable
        finally:
            loop.remove_reader(sock.fileno())


async def broker_connect(path: str, target: Target, timeout: float) -> tuple[BrokerAnswer, socket.socket | None]:
    """The broker's answer, and with ``BrokerConnected`` the TCP socket connected to the checked address.

    A broker that cannot be reached or does not answer in time is a ``BrokerFailed`` too."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    sock.setblocking(False)
    fds: list[int] = []
    try:
        async with asyncio.timeout(timeout + 1.0):  # the broker cuts at ``timeout`` and says so first
            await loop.sock_connect(sock, path)
            await loop.sock_sendall(sock, msgspec.json.encode(request_for(target, timeout)))
            data, fds = await _receive_with_descriptor(sock)
    except TimeoutError:
        return BrokerFailed(error=f"Error: connect ETIMEDOUT {target.host}:{target.port}", timed_out=True), None
    except OSError as error:
        return BrokerFailed(error=f"Error: outbound broker unreachable ({error.strerror or error})"), None
    finally:
        sock.close()
    try:
        answer: BrokerAnswer = _decoder.decode(data)
    except msgspec.DecodeError:
        answer = BrokerFailed(error="Error: the outbound broker answered nonsense")
    if isinstance(answer, BrokerConnected) and len(fds) == 1:
        connected = socket.socket(fileno=fds[0])
        connected.setblocking(False)
        return answer, connected
    for fd in fds:
        os.close(fd)
    if isinstance(answer, BrokerConnected):
        answer = BrokerFailed(error="Error: the outbound broker sent no connection")
    return answer, None
