"""The control protocol between edge and supervisor: msgpack frames on a local Unix socket.

A frame is a 4-byte big-endian length then one msgpack-encoded tagged message. The edge
asks (resolve, wake, usage, upstream failures) on one connection and receives pushes (invalidate) on another,
so a slow push never delays an answer.
"""

from __future__ import annotations

import struct
from typing import Literal

import msgspec

from .edge_reports import Noted, UpstreamFailure, UsageTotals

MAX_FRAME = 4 * 1024 * 1024
_HEADER = struct.Struct(">I")


class Resolve(msgspec.Struct, tag="resolve"):
    host: str


class Target(msgspec.Struct, tag="target", kw_only=True):
    """What the edge needs to serve one host; ``kind`` api means the deployments API."""

    host: str
    kind: Literal["deployment", "api", "none"]
    socket: str = ""
    deployment: str = ""  # environmentUuid
    account: int = 0
    visibility: Literal["PUBLIC", "PRIVATE"] = "PUBLIC"
    key_digest: str = ""  # sha256 hex of the API key; the key itself never leaves the supervisor
    admin_token: str = ""  # the worker's own admin token, sent in place of a verified API key
    requests_per_second: int = 0
    monthly_quota: int = 0
    monthly_used: int = 0
    quota_resets_at: float = 0.0  # unix seconds
    max_body: int = 0
    status: Literal["RUNNING", "STOPPED", "STARTING", "FAILED", ""] = ""


class Wake(msgspec.Struct, tag="wake"):
    deployment: str


class Woken(msgspec.Struct, tag="woken", kw_only=True):
    ok: bool
    socket: str = ""
    reason: str = ""
    retry_after: float = 0.0  # when not ok: seconds until a start may be tried (a crash backoff); 0: unknown


class Usage(msgspec.Struct, tag="usage"):
    """Requests counted at the edge since its last report: {environmentUuid: count}."""

    counts: dict[str, int]


class UsageAck(msgspec.Struct, tag="usage_ack"):
    """Authoritative monthly totals per account after the report."""

    used: dict[int, int]
    resets_at: dict[int, float]


class UpstreamFailed(msgspec.Struct, tag="upstream_failed", kw_only=True):
    """The edge got no answer from a deployment's worker: ``timeout`` (it answered 504 after the
    request deadline) or ``unreachable`` (its socket refused or reset). The supervisor checks that
    worker at once (heartbeat, probe) and restarts it if it hangs or does not answer."""

    deployment: str  # environmentUuid
    kind: Literal["timeout", "unreachable"]


class Subscribe(msgspec.Struct, tag="subscribe"):
    pass


class Invalidate(msgspec.Struct, tag="invalidate"):
    """Drop cached targets; empty ``hosts`` means all of them."""

    hosts: list[str]


class Failure(msgspec.Struct, tag="failure"):
    message: str


Message = (Resolve | Target | Wake | Woken | Usage | UsageAck | UpstreamFailed | Noted | Subscribe | Invalidate
           | Failure | UsageTotals | UpstreamFailure)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Message)


class FrameError(Exception):
    """A peer sent a frame that is too large or does not decode."""


def encode_frame(message: Message) -> bytes:
    payload = _encoder.encode(message)
    return _HEADER.pack(len(payload)) + payload


def frame_length(header: bytes) -> int:
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise FrameError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    return int(length)


def decode_payload(payload: bytes) -> Message:
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise FrameError(str(error)) from error


class FrameBuffer:
    """Sans-I/O frame reassembly: feed bytes as they arrive, take whole messages out."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes | bytearray) -> None:
        self._data += data

    def next_message(self) -> Message | None:
        """The next whole message, or None until more bytes arrive."""
        if len(self._data) < 4:
            return None
        length = frame_length(bytes(self._data[:4]))
        if len(self._data) < 4 + length:
            return None
        payload = bytes(self._data[4:4 + length])
        del self._data[:4 + length]
        return decode_payload(payload)

    @property
    def pending(self) -> bool:
        return bool(self._data)
