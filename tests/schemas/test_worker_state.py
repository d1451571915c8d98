"""The durable-state messages: the hand-over's state fields and the state socket's frames."""

from __future__ import annotations

import json
import struct

import pytest

from schemas import decode_environment
from schemas.handover import WorkerHandover, decode_handover, encode_handover
from schemas.worker_state import (
    STATE_MAX_FRAME,
    DeployedRevision,
    LiveUpdate,
    StateAck,
    StateFrameError,
    StateLink,
    StatePush,
    decode_state_payload,
    encode_state_frame,
    state_frame_length,
)
from tests.conftest import make_env


def env(name: str):  # type: ignore[no-untyped-def]
    return decode_environment(json.dumps(make_env([], name=name)))[0]


def test_state_fields_cross_the_hand_over() -> None:
    handover = WorkerHandover(environment=env("live"), admin_token="t", live_update=False,
                              state_link=StateLink(socket="/run/state.sock", deployment="u", epoch=7, max_state_bytes=9),
                              state=b"\x00\xffsnapshot", deployed=DeployedRevision(environment=env("deployed"),
                                                                                   disabled_routes=["r"]))
    back = decode_handover(encode_handover(handover))
    assert back == handover


def test_a_hand_over_without_state_fields_means_a_local_worker() -> None:
    back = decode_handover(b'{"adminToken": "t"}\n' + json.dumps(make_env([])).encode())
    assert back.live_update and back.state_link is None and back.state == b"" and back.deployed is None


def test_frames_round_trip_and_oversize_frames_are_refused() -> None:
    push = StatePush(deployment="u", token="t", epoch=3, state=b"s", purged=True,
                     live_update=LiveUpdate(environment=b"{}", disabled_routes=["r"]))
    frame = encode_state_frame(push)
    assert state_frame_length(frame[:4]) == len(frame) - 4
    assert decode_state_payload(frame[4:]) == push
    ack = StateAck(stored=False, stale=True, message="gone")
    assert decode_state_payload(encode_state_frame(ack)[4:]) == ack
    with pytest.raises(StateFrameError):
        state_frame_length(struct.pack(">I", STATE_MAX_FRAME + 1))
    with pytest.raises(StateFrameError):
        decode_state_payload(b"\x93garbage")
