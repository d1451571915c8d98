"""A worker's state as bytes and back: what ``schemas.worker_state.WorkerState`` holds, losslessly.

State values are JavaScript values, so plain msgpack is not enough: ``undefined``, safe strings
and integers beyond 64 bits travel as msgpack extension types only this module reads. Pure
functions: the pusher (``state_sync``) and the size cap (``state_budget``) call them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.worker_state import BucketState, WorkerState

from .jsvalues import UNDEFINED, SafeString, to_string
from .state import EnvironmentState

_UNDEFINED, _BIG_INT, _SAFE_STRING, _OTHER = 1, 2, 3, 4


class SnapshotError(Exception):
    """The state cannot be encoded (a value that contains itself) or a snapshot cannot be read."""


class _BigInt:
    __slots__ = ("digits",)

    def __init__(self, value: int) -> None:
        self.digits = str(value)


def _enc_hook(value: Any) -> Any:
    if value is UNDEFINED:
        return msgspec.msgpack.Ext(_UNDEFINED, b"")
    if isinstance(value, SafeString):
        return msgspec.msgpack.Ext(_SAFE_STRING, str.__str__(value).encode("utf-8", "surrogatepass"))
    if isinstance(value, _BigInt):
        return msgspec.msgpack.Ext(_BIG_INT, value.digits.encode())
    # anything else a helper produced (dates …) is kept as the text JavaScript would show
    return msgspec.msgpack.Ext(_OTHER, to_string(value).encode("utf-8", "surrogatepass"))


def _ext_hook(code: int, data: memoryview) -> Any:
    if code == _UNDEFINED:
        return UNDEFINED
    if code == _BIG_INT:
        return int(bytes(data))
    text = bytes(data).decode("utf-8", "surrogatepass")
    return SafeString(text) if code == _SAFE_STRING else text


_encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_state_decoder = msgspec.msgpack.Decoder(WorkerState, ext_hook=_ext_hook)
_value_decoder = msgspec.msgpack.Decoder(ext_hook=_ext_hook)


def _wrap_big_ints(value: Any) -> Any:
    """The slow path, taken only when msgpack met an integer it cannot hold."""
    if isinstance(value, dict):
        return {key: _wrap_big_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wrap_big_ints(item) for item in value]
    if value.__class__ is int and not -2**63 <= value < 2**64:
        return _BigInt(value)
    return value


def _encode(value: Any) -> bytes:
    try:
        try:
            return _encoder.encode(value)
        except OverflowError:
            return _encoder.encode(_wrap_big_ints(value))
    except (RecursionError, ValueError, TypeError, msgspec.EncodeError) as error:
        raise SnapshotError(f"the state cannot be saved: {error}") from error


def encode_value(value: Any) -> bytes:
    return _encode(value)


def decode_value(data: bytes) -> Any:
    return _value_decoder.decode(data)


def value_size(value: Any) -> int:
    """What writing ``value`` adds to a snapshot at most (the size cap's unit)."""
    try:
        return len(_encode(value))
    except SnapshotError:
        return 0  # a value inside itself is refused at the next snapshot, not here


def capture(state: EnvironmentState) -> WorkerState:
    return WorkerState(
        buckets=[BucketState(uuid=b.uuid, id=b.id, value=b.value, parsed=b.parsed, valid_json=b.valid_json)
                 for b in state.buckets],
        global_vars=state.global_vars, env_vars=state.env_var_writes, request_numbers=state.request_numbers)


def encode_state(state: EnvironmentState) -> bytes:
    return _encode(capture(state))


def decode_state(data: bytes) -> WorkerState:
    try:
        return _state_decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as error:
        raise SnapshotError(f"unreadable state snapshot: {error}") from error


def restore(state: EnvironmentState, saved: WorkerState, env_vars: dict[str, str]) -> None:
    """Put a snapshot back over a freshly loaded state: buckets the environment still has (by uuid,
    else id) take their saved values, the others stay as generated; ``env_vars`` gets the writes."""
    by_uuid = {b.uuid: b for b in saved.buckets if b.uuid}
    by_id = {b.id: b for b in saved.buckets}
    for bucket in state.buckets:
        found = by_uuid.get(bucket.uuid) or by_id.get(bucket.id)
        if found is not None:
            bucket.value, bucket.parsed, bucket.valid_json = found.value, found.parsed, found.valid_json
    state.global_vars.clear()
    state.global_vars.update(saved.global_vars)
    state.request_numbers.update(saved.request_numbers)
    state.env_var_writes = dict(saved.env_vars)
    env_vars.update(saved.env_vars)
