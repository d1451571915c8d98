"""The control socket the edge talks to: framed msgpack requests and invalidation pushes."""

from __future__ import annotations

import logging

import trio

from schemas.control import (
    Failure,
    FrameBuffer,
    FrameError,
    Invalidate,
    Message,
    Resolve,
    Subscribe,
    UpstreamFailed,
    Usage,
    Wake,
    encode_frame,
)
from schemas.edge_reports import UpstreamFailure, UsageTotals

from .registry_db import RegistryUnavailable
from .service import Supervisor

log = logging.getLogger("mockfleet.supervisor.control")


async def read_frame(stream: trio.abc.ReceiveStream, frames: FrameBuffer) -> Message | None:
    """One message, or None at a clean end of stream."""
    while (message := frames.next_message()) is None:
        data = await stream.receive_some(65536)
        if not data:
            if frames.pending:
                raise FrameError("connection closed mid-frame")
            return None
        frames.feed(data)
    return message


async def serve_control(stream: trio.SocketStream, supervisor: Supervisor) -> None:
    frames = FrameBuffer()
    try:
        while True:
            message = await read_frame(stream, frames)
            if message is None:
                return
            if isinstance(message, Subscribe):
                await _push(stream, supervisor)
                return
            reply: Message
            if isinstance(message, Resolve):
                reply = supervisor.resolve(message.host)
            elif isinstance(message, Wake):
                reply = await supervisor.wake(message.deployment)
            elif isinstance(message, Usage):
                reply = supervisor.usage(message.counts)
            elif isinstance(message, UpstreamFailed):
                reply = supervisor.upstream_failed(message)
            elif isinstance(message, UsageTotals):
                reply = supervisor.usage_totals(message.ledger, message.totals)
            elif isinstance(message, UpstreamFailure):
                reply = supervisor.upstream_failure(message)
            else:
                reply = Failure(f"unexpected message {type(message).__name__}")
            await stream.send_all(encode_frame(reply))
    except (FrameError, trio.BrokenResourceError, trio.ClosedResourceError) as error:
        log.debug("control connection closed: %s", error)
    except RegistryUnavailable as error:  # no answer: the edge serves known hosts from its cache, keeps its counts
        log.warning("control call dropped, the registry is unavailable: %s", error)
    finally:
        await trio.aclose_forcefully(stream)


async def _push(stream: trio.SocketStream, supervisor: Supervisor) -> None:
    send, receive = trio.open_memory_channel[Invalidate](1024)
    supervisor.subscribers.add(send)
    try:
        # a new subscriber may hold stale entries from before it (re)connected
        await stream.send_all(encode_frame(Invalidate([])))
        async for message in receive:
            await stream.send_all(encode_frame(message))
    finally:
        supervisor.subscribers.discard(send)
