"""The outbound broker: connects for workers that have no network of their own.

Workers started as root live in a network namespace without interfaces (``worker/sandbox.py``),
so their proxy mode and callbacks ask here, one SOCK_SEQPACKET connection per outbound
connection (``schemas/outbound_broker.py``). The broker resolves the name once (the operator's
``--outbound-resolve`` entries first, as the worker did), hands every address to the same pure
``Guard`` the worker used, connects to the one address the decision names and passes the
connected socket back with SCM_RIGHTS. The worker speaks HTTP and TLS on it itself: the broker
only ever sees a host and a port.
"""

from __future__ import annotations

import array
import errno
import logging
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import trio

from schemas.outbound import (
    Guard,
    IPAddress,
    OutboundRefused,
    OutboundSettings,
    resolve_failure,
    resolved_addresses,
)
from schemas.outbound_broker import (
    MAX_MESSAGE,
    BrokerAnswer,
    BrokerConnect,
    BrokerConnected,
    BrokerFailed,
    BrokerRefused,
    target_of,
)

from .workers import SANDBOX_UID_BASE

log = logging.getLogger("mockfleet.supervisor.outbound_broker")
SANDBOX_UIDS = range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 65536)  # the uids workers started by root run as

READ_TIMEOUT = 5.0  # a worker sends its request at once; one that does not is dropped
MAX_IN_FLIGHT = 512  # connects at once, all workers together: the supervisor's descriptors are not theirs to take
Resolve = Callable[[str, int], Awaitable[list[IPAddress]]]
_decoder = msgspec.json.Decoder(BrokerConnect)


class UnsafeDirectory(Exception):
    """The broker's directory exists but is not a directory of ours (someone else made it first)."""


def prepare_directory(directory: Path) -> None:
    """Make ``directory`` 0711 (workers with a uid of their own may pass, not list) and make sure it is
    ours: under /tmp anybody could have made it first, and then swapped the socket for their own."""
    directory.mkdir(mode=0o711, exist_ok=True)
    found = os.lstat(directory)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
        raise UnsafeDirectory(f"{directory} is not a directory owned by uid {os.geteuid()}")
    os.chmod(directory, 0o711)


def allowed_peer(uid: int, own_uid: int) -> bool:
    """Workers (root, our own uid, or a sandbox uid of theirs) may ask; other local users may not."""
    return uid in (0, own_uid) or uid in SANDBOX_UIDS


def peer_uid(sock: trio.socket.SocketType) -> int:
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return int(uid)


class ResolveFailed(Exception):
    """The name has no address DNS will give; ``str()`` reads like Node's getaddrinfo error."""


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise ResolveFailed(resolve_failure(error, host)) from None
    return resolved_addresses(infos)


@contextmanager
def _removed_at_exit(path: Path) -> Iterator[None]:
    """The socket and its directory go with the broker (workers retry until the next one listens)."""
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


class OutboundBroker:
    def __init__(self, settings: OutboundSettings, resolve: Resolve = system_resolve,
                 max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.settings = settings
        self.guard = Guard.from_settings(settings)
        self.resolve = resolve
        self.slots = trio.CapacityLimiter(max_in_flight)  # past it, requests wait (each within its own deadline)

    async def decide_and_connect(self, request: BrokerConnect) -> tuple[BrokerAnswer, socket.socket | None]:
        """The answer, and the connected socket when there is one (the caller closes it once sent)."""
        timeout = max(0.0, min(request.timeout, self.settings.connect_timeout))
        try:
            target = target_of(request)
        except OutboundRefused as refused:
            return BrokerRefused(reason=refused.reason), None
        timed_out = f"Error: getaddrinfo ETIMEDOUT {target.host}"
        with trio.move_on_after(timeout):
            known = self.guard.known_addresses(target)
            try:
                addresses = known if known is not None else await self.resolve(target.host, target.port)
            except ResolveFailed as error:
                return BrokerFailed(error=str(error)), None
            decision = self.guard.decide(target, addresses)
            if decision.address is None:
                return BrokerRefused(reason=decision.reason), None
            address = decision.address
            timed_out = f"Error: connect ETIMEDOUT {address}:{target.port}"
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = trio.socket.socket(family, socket.SOCK_STREAM)
            try:
                await sock.connect((str(address), target.port))
            except OSError as error:
                sock.close()
                code = errno.errorcode.get(error.errno or 0, "ECONNREFUSED")
                return BrokerFailed(error=f"Error: connect {code} {address}:{target.port}"), None
            except BaseException:
                sock.close()
                raise
            return BrokerConnected(address=str(address)), socket.socket(fileno=sock.detach())
        return BrokerFailed(error=timed_out, timed_out=True), None

    async def serve_one(self, conn: trio.socket.SocketType) -> None:
        with conn:
            try:
                with trio.fail_after(READ_TIMEOUT):
                    data = await conn.recv(MAX_MESSAGE)
                request = _decoder.decode(data)
            except (trio.TooSlowError, OSError, msgspec.DecodeError) as error:
                log.info("outbound broker request dropped: %s", error)
                return
            uid = peer_uid(conn)
            if not allowed_peer(uid, os.getuid()):
                log.warning("outbound broker: uid %d is not a worker's; refused", uid)
                with trio.move_on_after(READ_TIMEOUT):
                    await conn.send(msgspec.json.encode(BrokerRefused(reason=f"uid {uid} may not use the broker")))
                return
            async with self.slots:  # held until our copy of the connected socket is closed
                answer, connected = await self.decide_and_connect(request)
                payload = msgspec.json.encode(answer)
                try:
                    if connected is None:
                        await conn.send(payload)
                    else:
                        fds = array.array("i", [connected.fileno()])
                        await conn.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                except OSError as error:
                    log.info("outbound broker answer not delivered: %s", error)
                finally:
                    if connected is not None:
                        connected.close()

    async def serve(self, path: Path, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on ``path`` until cancelled; one task per request. Its directory is ours and 0711,
        the socket 0666: any worker uid may connect, and ``allowed_peer`` says who is answered."""
        prepare_directory(path.parent)
        listener = trio.socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path.unlink(missing_ok=True)
        old = os.umask(0o077)
        try:
            await listener.bind(str(path))
        finally:
            os.umask(old)
        os.chmod(path, 0o666)
        listener.listen(256)
        with listener, _removed_at_exit(path):
            async with trio.open_nursery() as nursery:
                task_status.started()
                while True:
                    try:
                        conn, _ = await listener.accept()
                    except OSError as error:  # EMFILE and the like: back off, keep serving
                        log.warning("outbound broker accept failed: %s", error)
                        await trio.sleep(0.1)
                        continue
                    nursery.start_soon(self.serve_one, conn)
