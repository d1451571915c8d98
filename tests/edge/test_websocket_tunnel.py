"""The tunnel relay over real socket pairs: what each side receives when the edge ends a tunnel
(read back with wsproto's frame parser), when it cannot (mid-frame), and when the client closes."""

from __future__ import annotations

import math
import socket
from collections.abc import Awaitable, Callable

import trio
import trio.testing
from wsproto.frame_protocol import Frame, FrameProtocol, Opcode

from edge.control_client import SupervisorUnavailable
from edge.limits import RateLimiter
from edge.metrics import Metrics
from edge.socket_streams import RawSocketStream
from edge.websocket_guard import (
    DELETED,
    IDLE,
    KEY_ROTATED,
    TOTAL,
    Ending,
    MessageGuard,
    MessageLimits,
)
from edge.websocket_tunnel import OpenTunnels, Tunnel, relay_websocket
from schemas.control import Target
from tests.ws_client import client_frame


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


class Side:
    """The client's or the worker's end of the tunnel: reads until the edge hangs up."""

    def __init__(self, sock: socket.socket, is_client: bool) -> None:
        self.stream = RawSocketStream(sock)
        self.is_client = is_client
        self.received = b""

    async def read_all(self) -> None:
        while data := await self.stream.receive_some():
            self.received += data

    def frames(self) -> list[Frame]:
        protocol = FrameProtocol(client=self.is_client, extensions=[])
        protocol.receive_bytes(self.received)
        return list(protocol.received_frames())


Scenario = Callable[[Tunnel, Side, Side], Awaitable[None]]


def run_tunnel(scenario: Scenario, idle: float = math.inf, limits: MessageLimits | None = None,
               total: float = math.inf) -> tuple[Ending | None, Side, Side, Tunnel]:
    """A tunnel between a client and a worker socket pair; ``scenario`` plays both peers."""
    result: list[Ending | None] = []
    edge_client, client_sock = socket.socketpair()
    edge_worker, worker_sock = socket.socketpair()
    client, worker = Side(client_sock, True), Side(worker_sock, False)
    tunnel = Tunnel("h", Target(host="h", kind="deployment", deployment="d"),
                    MessageGuard("d", limits or MessageLimits(), RateLimiter()))

    async def main() -> None:
        edge_side = RawSocketStream(edge_client), RawSocketStream(edge_worker)
        async with trio.open_nursery() as nursery:
            async def relay() -> None:
                result.append(await relay_websocket(tunnel, *edge_side, Metrics(), idle=idle, total=total))
                for stream in edge_side:
                    await stream.aclose()
            nursery.start_soon(relay)
            await scenario(tunnel, client, worker)
            with trio.fail_after(5):
                async with trio.open_nursery() as readers:
                    readers.start_soon(client.read_all)
                    readers.start_soon(worker.read_all)
            for side in (client, worker):
                await side.stream.aclose()

    trio.run(main)
    return result[0], client, worker, tunnel


def _close(frames: list[Frame]) -> tuple[int, str]:
    assert frames and frames[-1].opcode is Opcode.CLOSE, frames
    code, reason = frames[-1].payload  # type: ignore[misc]
    return int(code), str(reason)


def test_an_ended_tunnel_sends_an_unmasked_close_to_the_client_and_a_masked_one_to_the_worker() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        await client.stream.send_all(client_frame(b"hello"))
        await worker.stream.send_all(server_frame(b"world"))
        await trio.sleep(0.1)
        tunnel.end(KEY_ROTATED)

    ending, client, worker, tunnel = run_tunnel(scenario)
    assert ending == KEY_ROTATED
    # each side's parser (the worker's insists on masks, the client's on none) reads the close
    assert [f.payload for f in client.frames()[:-1]] == ["world"]
    assert _close(client.frames()) == (1008, "API key rotated")
    assert [f.payload for f in worker.frames()[:-1]] == ["hello"]
    assert _close(worker.frames()) == (1008, "API key rotated")
    assert (tunnel.guard.messages_in, tunnel.guard.messages_out) == (1, 1)


def test_no_close_frame_follows_half_a_frame() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        await worker.stream.send_all(bytes([0x81, 100]) + b"x" * 50)  # half of a 100-byte frame
        await trio.sleep(0.1)
        tunnel.end(KEY_ROTATED)

    _, client, worker, _ = run_tunnel(scenario)
    assert client.received == bytes([0x81, 100]) + b"x" * 50  # then the connection ends
    assert _close(worker.frames()) == (1008, "API key rotated")


def test_the_client_close_handshake_passes_through() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        close = client_frame((1000).to_bytes(2, "big") + b"bye", opcode=0x8)
        await client.stream.send_all(close)
        assert await worker.stream.receive_some() == close  # verbatim
        await worker.stream.send_all(server_frame((1000).to_bytes(2, "big"), opcode=0x8))
        await worker.stream.send_eof()  # the worker hangs up after its close

    ending, client, _, _ = run_tunnel(scenario)
    assert ending is None
    assert client.received == server_frame((1000).to_bytes(2, "big"), opcode=0x8)


def test_a_protocol_violation_closes_both_sides_with_1002_and_is_not_relayed() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        await client.stream.send_all(client_frame(b"fine") + server_frame(b"unmasked"))

    ending, client, worker, _ = run_tunnel(scenario)
    assert ending is not None and ending.code == 1002
    assert _close(client.frames()) == (1002, "client frames must be masked")
    assert [f.payload for f in worker.frames()[:-1]] == ["fine"]
    assert _close(worker.frames())[0] == 1002


def test_a_message_over_the_cap_is_cut_before_its_payload() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        await client.stream.send_all(client_frame(b"a" * 10) + client_frame(b"b" * 11))

    ending, client, worker, _ = run_tunnel(scenario, limits=MessageLimits(max_message_bytes=10))
    assert ending is not None and ending.code == 1009
    assert b"b" * 11 not in worker.received and worker.frames()[0].payload == "a" * 10
    assert _close(client.frames()) == (1009, "message too big")


def test_an_idle_tunnel_ends_with_1001() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        await client.stream.send_all(client_frame(b"once"))

    ending, client, worker, _ = run_tunnel(scenario, idle=0.3)
    assert ending == IDLE
    assert _close(client.frames()) == (1001, "idle timeout") == _close(worker.frames())


def test_a_tunnel_open_too_long_ends_with_1000_however_busy() -> None:
    async def scenario(tunnel: Tunnel, client: Side, worker: Side) -> None:
        with trio.move_on_after(0.6):
            while True:  # never idle
                await client.stream.send_all(client_frame(b"busy"))
                await trio.sleep(0.05)

    ending, client, worker, _ = run_tunnel(scenario, idle=0.2, total=0.4)
    assert ending == TOTAL
    assert _close(client.frames()) == (1000, "connection time limit reached") == _close(worker.frames())


def test_invalidations_end_the_tunnels_whose_handshake_no_longer_holds() -> None:
    """``OpenTunnels`` with a stand-in for the supervisor's answers: a rotated key ends that host's
    private tunnels, a re-deploy (same key) ends none, an unreachable supervisor ends none, and an
    empty invalidation (the supervisor restarted) rechecks every host."""
    def target(host: str, digest: str, kind: str = "deployment") -> Target:
        return Target(host=host, kind=kind, deployment=host, visibility="PRIVATE", key_digest=digest)  # type: ignore[arg-type]

    answers: dict[str, Target | None] = {}

    async def resolve(host: str) -> Target:
        answer = answers[host]
        if answer is None:
            raise SupervisorUnavailable("down")
        return answer

    def tunnel(host: str) -> Tunnel:
        return Tunnel(host, target(host, "k1"), MessageGuard(host, MessageLimits(), RateLimiter()))

    async def main() -> None:
        tunnels = OpenTunnels()
        a1, a2, b = tunnel("a"), tunnel("a"), tunnel("b")
        for each in (a1, a2, b):
            tunnels.add(each)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tunnels.recheck_forever, resolve)
            answers.update(a=target("a", "k1"), b=target("b", "k2"))
            tunnels.invalidated(["a", "b", "unknown"])
            await trio.testing.wait_all_tasks_blocked()
            assert (a1.ending, a2.ending, b.ending) == (None, None, KEY_ROTATED)
            answers.update(a=None)
            tunnels.invalidated([])
            await trio.testing.wait_all_tasks_blocked()
            assert a1.ending is None  # nothing changes while the supervisor is away
            answers.update(a=target("a", "", kind="none"))
            tunnels.invalidated([])
            await trio.testing.wait_all_tasks_blocked()
            assert a1.ending == a2.ending == DELETED
            nursery.cancel_scope.cancel()

    trio.run(main)
