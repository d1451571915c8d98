"""A worker's control channel: its stdin is one end of a Unix socket pair, not a pipe, so the worker
can answer on the descriptor it read its hand-over from.

The supervisor writes the hand-over (``schemas/handover.py``) and shuts its side for writing (the
worker reads to the end of input, as before); the worker writes one ``WorkerReady`` line once its
listener accepts. The supervisor waits for that line instead of polling the worker's socket; a
runtime that never writes it (an older one) is still found ready by probing, only later.
"""

from __future__ import annotations

import msgspec

MAX_LINE = 4096


class WorkerReady(msgspec.Struct, tag="ready", kw_only=True):
    pid: int
    socket: str  # the Unix socket the worker serves on


class ChannelError(Exception):
    """A line on a worker's control channel that is not a message we know."""


_decoder = msgspec.json.Decoder(WorkerReady)


def encode_ready(message: WorkerReady) -> bytes:
    return msgspec.json.encode(message) + b"\n"


def decode_ready(line: bytes) -> WorkerReady:
    try:
        return _decoder.decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise ChannelError(f"unexpected line on a worker's control channel: {error}") from None
