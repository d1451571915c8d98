"""Streams over non-blocking sockets: timeouts kept by one task for every waiting stream."""

from __future__ import annotations

import socket
import time

import pytest
import trio

from edge.socket_streams import DEADLINES, RawSocketStream


async def _with_enforcer(body) -> None:  # type: ignore[no-untyped-def]
    async with trio.open_nursery() as nursery:
        await nursery.start(DEADLINES.enforce)
        await body()
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("enforced", [True, False])
def test_a_receive_gives_up_at_its_deadline_and_the_stream_stays_usable(enforced: bool) -> None:
    async def body() -> None:
        a, b = socket.socketpair()
        stream, peer = RawSocketStream(a), RawSocketStream(b)
        started = time.monotonic()
        with pytest.raises(trio.TooSlowError):
            await stream.receive_within(0.3)
        waited = time.monotonic() - started
        assert 0.3 <= waited < 0.3 + DEADLINES.period + 0.3
        assert not DEADLINES.waiting
        await peer.send_all(b"after")  # a timed-out wait leaves the stream working
        assert await stream.receive_within(1.0) == b"after"
        await stream.aclose()
        await peer.aclose()

    trio.run(_with_enforcer if enforced else lambda b: b(), body)


def test_a_send_to_a_peer_that_reads_nothing_gives_up_after_send_timeout() -> None:
    async def body() -> None:
        a, b = socket.socketpair()
        stream = RawSocketStream(a)
        stream.send_timeout = 0.3
        started = time.monotonic()
        with pytest.raises(trio.TooSlowError):
            await stream.send_all(b"x" * 50_000_000)  # far more than the socket buffers hold
        assert time.monotonic() - started < 0.3 + DEADLINES.period + 0.5
        await stream.aclose()
        b.close()

    trio.run(_with_enforcer, body)


def test_closing_a_stream_while_another_task_waits_is_not_a_timeout() -> None:
    async def body() -> None:
        a, b = socket.socketpair()
        stream = RawSocketStream(a)
        outcome: list[type[BaseException]] = []

        async def wait() -> None:
            try:
                await stream.receive_within(10)
            except (trio.TooSlowError, trio.ClosedResourceError) as error:
                outcome.append(type(error))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait)
            await trio.sleep(0.05)
            await stream.aclose()
        assert outcome == [trio.ClosedResourceError]
        b.close()

    trio.run(_with_enforcer, body)


def test_the_enforcer_survives_a_stream_closed_while_it_was_listed() -> None:
    async def body() -> None:
        a, b = socket.socketpair()
        stream = RawSocketStream(a)
        a.close()  # closed under the enforcer's feet, still listed as waiting
        DEADLINES.waiting[stream] = time.monotonic() - 1
        await trio.sleep(DEADLINES.period * 3)
        assert DEADLINES.running and stream not in DEADLINES.waiting
        b.close()

    trio.run(_with_enforcer, body)
