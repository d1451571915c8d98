"""The outbound broker over its real socket, with the worker's real client on the other side.

The broker runs on a trio loop in a thread (as in the supervisor), the worker's ``OutboundClient``
in broker mode on asyncio (as in the worker); a stub resolver stands in for DNS on the broker's
side, where the resolving now happens. What the worker's own guard refused before, the broker
refuses now, with the same words; what it reached, the worker reaches through the descriptor the
broker passed, and the upstream sees the name, not the address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from schemas.outbound import IPAddress, OutboundRefused, OutboundSettings, parse_target
from schemas.outbound_broker import (
    BrokerConnect,
    BrokerConnected,
    BrokerFailed,
    BrokerRefused,
    target_of,
)
from supervisor.outbound_broker import OutboundBroker, ResolveFailed
from tests.upstream_server import UpstreamServer
from worker.outbound_broker_client import broker_connect
from worker.outbound_client import OutboundClient, OutboundError


class StubResolver:
    """DNS stand-in on the broker's side: one answer per call (the last repeats); ``missing`` is NXDOMAIN."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        if host == "missing.example":
            raise ResolveFailed(f"Error: getaddrinfo ENOTFOUND {host}")
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class RunningBroker:
    def __init__(self, path: Path, settings: OutboundSettings, resolver: StubResolver, max_in_flight: int = 64) -> None:
        self.path = path
        self.broker = OutboundBroker(settings, resolver, max_in_flight)
        self.resolver = resolver
        self._stop: trio.CancelScope | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        started = threading.Event()

        async def main() -> None:
            with trio.CancelScope() as scope:
                self._stop = scope
                self._token = trio.lowlevel.current_trio_token()
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.broker.serve, path)
                    started.set()

        self.thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
        self.thread.start()
        assert started.wait(10)

    def close(self) -> None:
        assert self._token is not None and self._stop is not None
        trio.from_thread.run_sync(self._stop.cancel, trio_token=self._token)
        self.thread.join(10)


@pytest.fixture
def upstream() -> Iterator[UpstreamServer]:
    with UpstreamServer() as server:
        yield server


def _broker(tmp_path: Path, settings: OutboundSettings, *answers: list[str]) -> RunningBroker:
    return RunningBroker(tmp_path / "outbound.sock", settings, StubResolver(*answers))


def _client(broker: RunningBroker, **settings: object) -> OutboundClient:
    return OutboundClient(OutboundSettings(broker=str(broker.path), **settings))  # type: ignore[arg-type]


async def _get(client: OutboundClient, url: str) -> tuple[int, bytes]:
    response = await client.request(url, "GET", [("X-A", "1")])
    return response.status, await response.read_all()


def test_an_opened_name_is_reached_through_the_passed_socket(tmp_path: Path, upstream: UpstreamServer) -> None:
    # first answer: loopback (opened by the operator by address and port); any later one: private
    settings = OutboundSettings(allow=[f"127.0.0.1:{upstream.port}"])
    broker = _broker(tmp_path, settings, ["127.0.0.1"], ["10.255.255.1"])
    try:
        client = _client(broker)
        status, _ = asyncio.run(_get(client, f"http://api.example.com:{upstream.port}/probe"))
        assert status == 201
        seen = upstream.wait_for(1)[0]
        assert seen["path"] == "/probe" and ["host", f"api.example.com:{upstream.port}"] in seen["headers"]
        assert broker.resolver.asked == ["api.example.com"]
        # a second answer pointing elsewhere (rebinding) is checked again by the broker, and refused
        with pytest.raises(OutboundRefused, match=r"api.example.com \(10.255.255.1\).* private"):
            asyncio.run(_get(_client(broker), f"http://api.example.com:{upstream.port}/again"))
        assert len(upstream.received) == 1 and client.stats.requests == 1
    finally:
        broker.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/", "http://localhost:{port}/",
                                 "http://[::ffff:127.0.0.1]:{port}/", "http://0x7f.1:{port}/",
                                 "http://rebind.example.com:{port}/"])
def test_loopback_in_any_spelling_is_refused_by_the_broker(tmp_path: Path, upstream: UpstreamServer, url: str) -> None:
    broker = _broker(tmp_path, OutboundSettings(), ["93.184.216.34", "127.0.0.1"])
    try:
        client = _client(broker)
        with pytest.raises(OutboundRefused, match="is not a public address: .*loopback"):
            asyncio.run(_get(client, url.format(port=upstream.port)))
        assert upstream.received == [] and client.stats.refused == 1
    finally:
        broker.close()


def test_failures_read_like_node(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = _broker(tmp_path, OutboundSettings(mode="open"), ["127.0.0.1"])
    try:
        with pytest.raises(OutboundError, match=f"^Error: connect ECONNREFUSED 127.0.0.1:{port}$"):
            asyncio.run(_get(_client(broker), f"http://127.0.0.1:{port}/"))
        with pytest.raises(OutboundError, match="^Error: getaddrinfo ENOTFOUND missing.example$"):
            asyncio.run(_get(_client(broker), "http://missing.example/"))
    finally:
        broker.close()
    with pytest.raises(OutboundError, match="^Error: outbound broker unreachable"):
        asyncio.run(_get(_client(broker), "http://example.com/"))


def test_answers_are_values_and_the_descriptor_is_connected(tmp_path: Path, upstream: UpstreamServer) -> None:
    broker = _broker(tmp_path, OutboundSettings(allow=["127.0.0.0/8"]), ["127.0.0.1"])

    async def ask(url: str) -> tuple[object, socket.socket | None]:
        return await broker_connect(str(broker.path), parse_target(url), 2.0)

    try:
        answer, sock = asyncio.run(ask(f"http://127.0.0.1:{upstream.port}/"))
        assert answer == BrokerConnected(address="127.0.0.1") and sock is not None
        with sock:
            assert sock.getpeername() == ("127.0.0.1", upstream.port)
        answer, sock = asyncio.run(ask("http://10.1.2.3/"))
        assert isinstance(answer, BrokerRefused) and "private" in answer.reason and sock is None
        answer, sock = asyncio.run(ask("http://missing.example/"))
        assert isinstance(answer, BrokerFailed) and sock is None
    finally:
        broker.close()


@pytest.mark.parametrize("host", ["a/b", "x@127.0.0.1", "a b", "h?q", ""])
def test_the_broker_parses_what_a_worker_asks_itself(host: str) -> None:
    with pytest.raises(OutboundRefused):
        target_of(BrokerConnect(scheme="http", host=host, port=80, timeout=1.0))
    with pytest.raises(OutboundRefused):
        target_of(BrokerConnect(scheme="file", host="example.com", port=80, timeout=1.0))
    with pytest.raises(OutboundRefused):
        target_of(BrokerConnect(scheme="http", host="example.com", port=0, timeout=1.0))


def test_connects_past_the_cap_wait_their_turn(tmp_path: Path, upstream: UpstreamServer) -> None:
    broker = RunningBroker(tmp_path / "outbound.sock", OutboundSettings(mode="open"), StubResolver(["127.0.0.1"]),
                           max_in_flight=1)

    async def many() -> list[int]:
        clients = [_client(broker) for _ in range(6)]
        answers = await asyncio.gather(*(_get(c, f"http://127.0.0.1:{upstream.port}/n{i}") for i, c in enumerate(clients)))
        return [status for status, _ in answers]

    try:
        assert asyncio.run(many()) == [201] * 6
        assert len(upstream.received) == 6
    finally:
        broker.close()


def _ask_as(uid: int, path: Path, request: bytes) -> bytes:
    """In a child that has become ``uid``: one broker request, the answer's text (and '+fd' if one came)."""
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
                sock.settimeout(10)
                sock.connect(str(path))
                sock.send(request)
                data, fds, _, _ = socket.recv_fds(sock, 4096, 1)
            os.write(write, data + (b"+fd" if fds else b""))
        except OSError as error:
            os.write(write, f"error {error.errno}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as answer:
        return answer.read()


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="needs root to become other uids")
def test_workers_with_a_uid_of_their_own_reach_the_broker_other_users_do_not(upstream: UpstreamServer) -> None:
    import msgspec

    from supervisor.outbound_broker import SANDBOX_UIDS
    from supervisor.settings import Settings

    settings = Settings(data_dir=Path("/nonexistent/mockfleet-broker-test") / uuid_tag())
    path = settings.outbound_broker_socket  # under /tmp: reachable whatever the data directory's modes
    broker = RunningBroker(path, OutboundSettings(mode="open"), StubResolver(["127.0.0.1"]))
    try:
        assert oct(path.parent.stat().st_mode & 0o777) == "0o711" and path.stat().st_mode & 0o777 == 0o666
        request = msgspec.json.encode(BrokerConnect(scheme="http", host="127.0.0.1", port=upstream.port, timeout=5))
        assert _ask_as(SANDBOX_UIDS[7], path, request) == b'{"type":"BrokerConnected","address":"127.0.0.1"}+fd'
        refused = _ask_as(54321, path, request)
        assert refused.startswith(b'{"type":"BrokerRefused"') and b"uid 54321 may not use the broker" in refused
    finally:
        broker.close()
    assert not path.parent.exists()  # the broker takes its socket and directory with it


def uuid_tag() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


def test_a_broker_directory_someone_else_made_is_refused(tmp_path: Path) -> None:
    import os

    from supervisor.outbound_broker import UnsafeDirectory, prepare_directory

    prepare_directory(tmp_path / "ours")
    assert (tmp_path / "ours").stat().st_mode & 0o777 == 0o711
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "link")
    with pytest.raises(UnsafeDirectory):
        prepare_directory(tmp_path / "link")
    if os.geteuid() == 0:
        (tmp_path / "theirs").mkdir()
        os.chown(tmp_path / "theirs", 54321, 54321)
        with pytest.raises(UnsafeDirectory):
            prepare_directory(tmp_path / "theirs")
