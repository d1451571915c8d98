"""A worker's durable state and the messages that carry it to the supervisor.

What users change in a running mock (data buckets, global variables, environment variables set
through the admin API, sequential response counters, a live-updated environment) must outlive an
idle stop, a crash or a platform restart. The worker pushes a ``StatePush`` at most once a second
while something changed, and once more when it stops; the supervisor keeps the latest one per
deployment and hands it back in the next ``WorkerHandover``.

``WorkerState`` values are JavaScript values (``undefined``, safe strings, integers beyond 64 bits),
so its msgpack encoding needs the worker's extension hooks: to the supervisor a snapshot is opaque
bytes, bounded by the plan's cap. A state *epoch* names the deployed state a snapshot grew from
(the revision of the last deploy or reset): a push from an older epoch (a worker retired by a
re-deploy) is refused, so it cannot overwrite the new revision's state.
"""

from __future__ import annotations

import struct
from typing import Any

import msgspec

from .environment import Environment

STATE_MAX_FRAME = 64 * 1024 * 1024  # a snapshot within the largest cap plus a live-updated environment
_HEADER = struct.Struct(">I")


class BucketState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One data bucket as the worker holds it: ``value`` is the data (or text) served, not the template."""

    uuid: str
    id: str
    value: Any = None
    parsed: bool = True
    valid_json: bool = True


class WorkerState(msgspec.Struct, kw_only=True, omit_defaults=True):
    buckets: list[BucketState] = msgspec.field(default_factory=list)
    global_vars: dict[str, Any] = msgspec.field(default_factory=dict)
    env_vars: dict[str, str] = msgspec.field(default_factory=dict)  # written through the admin API only
    request_numbers: dict[str, int] = msgspec.field(default_factory=dict)


class StateLink(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where and as whom a worker pushes its state (part of the hand-over)."""

    socket: str
    deployment: str
    epoch: int
    max_state_bytes: int = 0  # 0: no cap


class DeployedRevision(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The deployed environment a purge returns to, when the one served is a live update."""

    environment: Environment
    disabled_routes: list[str] = msgspec.field(default_factory=list)


class LiveUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An accepted ``PUT /mockoon-admin/environment``: the migrated environment now served."""

    environment: bytes  # JSON of the migrated Environment
    disabled_routes: list[str] = msgspec.field(default_factory=list)


class StatePush(msgspec.Struct, tag="state-push", kw_only=True, omit_defaults=True):
    """Worker → supervisor: the whole state now, and what happened to the revision since the last push.

    ``token`` is the deployment's admin token, which only its own workers know. ``purged``: the
    worker returned to the deployed state (applied before ``live_update``, which came after it)."""

    deployment: str
    token: str
    epoch: int
    state: bytes  # WorkerState, msgpack with the worker's value hooks
    purged: bool = False
    live_update: LiveUpdate | None = None


class StateAck(msgspec.Struct, tag="state-ack", kw_only=True, omit_defaults=True):
    """``stored`` false with a message when refused (stale epoch, unknown deployment, over the cap).

    ``epoch`` is the epoch to push with from now on (it changes when a purge was recorded)."""

    stored: bool
    epoch: int = 0
    revision: int = 0
    stale: bool = False  # the deployment moved on (re-deploy, reset, delete): stop pushing
    message: str = ""


StateMessage = StatePush | StateAck

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StateMessage)


class StateFrameError(Exception):
    """A state frame that is too large, truncated or does not decode."""


def encode_state_frame(message: StatePush | StateAck) -> bytes:
    payload = _encoder.encode(message)
    return _HEADER.pack(len(payload)) + payload


def state_frame_length(header: bytes) -> int:
    (length,) = _HEADER.unpack(header)
    if length > STATE_MAX_FRAME:
        raise StateFrameError(f"state frame of {length} bytes exceeds {STATE_MAX_FRAME}")
    return int(length)


def decode_state_payload(payload: bytes) -> StatePush | StateAck:
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise StateFrameError(str(error)) from error
