"""The edge's WebSocket message policy, without sockets: sizes, rates per deployment and way
(a clock passed in), counts, and which invalidations end a tunnel."""

from __future__ import annotations

from edge.limits import RateLimiter
from edge.websocket_frames import BINARY, CONTINUATION, PING, TEXT, FrameHead
from edge.websocket_guard import (
    DELETED,
    KEY_ROTATED,
    RATE_IN,
    RATE_OUT,
    TOO_BIG,
    MessageGuard,
    MessageLimits,
    recheck,
)
from schemas.control import Target


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def message(offset: int, size: int, opcode: int = TEXT) -> FrameHead:
    return FrameHead(offset, opcode, True, size, size, True)


def test_a_message_over_the_cap_is_refused_at_its_frame_even_when_fragmented() -> None:
    guard = MessageGuard("d", MessageLimits(max_message_bytes=100, messages_in_per_second=0), RateLimiter())
    assert guard.check([message(0, 100)], inbound=True) is None
    fragments = [FrameHead(0, BINARY, False, 60, 60, True), FrameHead(70, PING, True, 0, 0, False),
                 FrameHead(80, CONTINUATION, True, 41, 101, False)]
    assert guard.check(fragments, inbound=False) == (80, TOO_BIG)
    assert (guard.messages_in, guard.messages_out) == (1, 1)  # the fragmented message began; control frames don't count


def test_rates_are_per_deployment_and_way_shared_by_its_tunnels() -> None:
    clock = Clock()
    rates = RateLimiter(clock)
    limits = MessageLimits(max_message_bytes=0, messages_in_per_second=3, messages_out_per_second=5)
    one, two = MessageGuard("d", limits, rates), MessageGuard("d", limits, rates)
    other = MessageGuard("e", limits, rates)
    assert one.check([message(0, 1), message(10, 1)], inbound=True) is None
    assert two.check([message(0, 1), message(5, 1)], inbound=True) == (5, RATE_IN)  # the deployment's 4th
    assert other.check([message(0, 1)] * 3, inbound=True) is None  # another deployment: its own budget
    assert one.check([message(i, 1) for i in range(5)], inbound=False) is None  # the other way: its own
    assert one.check([message(0, 1)], inbound=False) == (0, RATE_OUT)
    clock.now += 1.0  # a second later the budgets are back
    assert two.check([message(0, 1)] * 3, inbound=True) is None
    assert (one.messages_in, two.messages_in, one.messages_out) == (2, 4, 5)


def test_rates_of_zero_mean_no_limit() -> None:
    guard = MessageGuard("d", MessageLimits(0, 0, 0), RateLimiter(Clock()))
    assert guard.check([message(i, 10**9) for i in range(10_000)], inbound=True) is None
    assert guard.messages_in == 10_000


def _target(**changes: object) -> Target:
    fields: dict[str, object] = {"host": "h", "kind": "deployment", "deployment": "u", "visibility": "PRIVATE",
                                 "key_digest": "k1"}
    fields.update(changes)
    return Target(**fields)  # type: ignore[arg-type]


def test_which_invalidations_end_a_tunnel() -> None:
    handshake = _target()
    assert recheck(handshake, _target(status="STOPPED", socket="/other")) is None  # re-deploy, idle stop
    assert recheck(handshake, _target(key_digest="k2")) == KEY_ROTATED
    assert recheck(_target(visibility="PUBLIC", key_digest=""), _target()) == KEY_ROTATED  # made private
    assert recheck(handshake, _target(visibility="PUBLIC")) is None
    assert recheck(handshake, Target(host="h", kind="none")) == DELETED
    assert recheck(handshake, _target(deployment="another")) == DELETED
    assert (KEY_ROTATED.code, DELETED.code, TOO_BIG.code, RATE_IN.code, RATE_OUT.code) == (1008, 1001, 1009, 1008, 1013)
