"""The state socket: workers push their state snapshots here, one connection per push.

It lives in the run directory (0700) beside the control socket; a push names its deployment and
proves it with the deployment's admin token (see ``state_store.store``). Workers outlive a
supervisor restart and simply retry until this socket answers again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from schemas.worker_state import (
    StateAck,
    StateFrameError,
    StatePush,
    decode_state_payload,
    encode_state_frame,
    state_frame_length,
)

from . import state_store
from .registry import Registry
from .registry_db import RegistryUnavailable

log = logging.getLogger("mockfleet.supervisor.state")

READ_TIMEOUT = 10.0


async def _read_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = await stream.receive_some(min(size - len(data), 1 << 20))
        if not chunk:
            raise StateFrameError("connection closed mid-frame")
        data += chunk
    return bytes(data)


async def serve_state(stream: trio.SocketStream, registry: Registry,
                      on_revision: Callable[[str, str], None] | None = None) -> None:
    """One push, one answer; ``on_revision(uuid, text)`` hears of resets and live updates recorded."""
    try:
        with trio.fail_after(READ_TIMEOUT):
            length = state_frame_length(await _read_exactly(stream, 4))
            message = decode_state_payload(await _read_exactly(stream, length))
        if isinstance(message, StatePush):
            ack = state_store.store(registry, message)
            if ack.stored and (message.purged or message.live_update is not None):
                what = "live update" if message.live_update is not None else "reset to the deployed state"
                if on_revision is not None:
                    on_revision(message.deployment, f"revision {ack.revision}: {what} (from the admin API)")
        else:
            ack = StateAck(stored=False, message=f"unexpected message {type(message).__name__}")
        await stream.send_all(encode_state_frame(ack))
    except (StateFrameError, trio.TooSlowError, trio.BrokenResourceError, trio.ClosedResourceError,
            RegistryUnavailable) as error:  # unanswered: the worker pushes again
        log.info("state push dropped: %s", error)
    finally:
        await trio.aclose_forcefully(stream)
