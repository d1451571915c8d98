"""What the edge lets through a WebSocket tunnel, and how it ends one itself (sans I/O).

Per deployment, over all its tunnels: a largest message, and messages per second each way
(GCRA, a second's worth of burst). Each is checked on a frame's header, before its payload is
relayed, so a refused message never reaches the other side. Only data messages count (control
frames do not); they count when their first frame passes. Messages do not count against the
monthly requests quota: the upgrade did.

Close codes (RFC 6455 section 7.4.1) when the edge ends a tunnel:
- 1009 a message over the size cap (the sender's peer never sees it);
- 1008 a client sending faster than the deployment's inbound rate: policy, as the worker's own
  per-connection guard closes it, and the client is the one to slow down;
- 1013 ("try again later") when the mock sends faster than the outbound rate: the client did
  nothing wrong, the deployment is over its budget for now;
- 1001 idle, or the deployment deleted (or re-deployed under another subdomain: its old address
  is gone); 1000 after the tunnel's maximum lifetime (a normal end the client can reconnect after);
- 1001 when the edge stops (an upgrade, a restart): clients reconnect to its successor;
- 1008 when the key the handshake was authorised with is no longer the deployment's (rotated,
  or a public deployment made private);
- 1002 a protocol violation, to both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.control import Target

from .limits import RateLimiter
from .websocket_frames import FrameHead


@dataclass(frozen=True, slots=True)
class Ending:
    """Why the edge ends a tunnel: the close frame's ``code`` and ``reason``, and ``name`` for
    the access log and metrics."""

    code: int
    reason: str
    name: str


TOO_BIG = Ending(1009, "message too big", "too-big")
RATE_IN = Ending(1008, "too many messages per second", "rate-in")
RATE_OUT = Ending(1013, "the mock sends more messages per second than allowed; try again later", "rate-out")
IDLE = Ending(1001, "idle timeout", "idle")
TOTAL = Ending(1000, "connection time limit reached", "total")
KEY_ROTATED = Ending(1008, "API key rotated", "key-rotated")
DELETED = Ending(1001, "deployment deleted or moved to another address", "deleted")
SHUTDOWN = Ending(1001, "edge restarting", "shutdown")


def protocol_error(reason: str) -> Ending:
    return Ending(1002, reason, "protocol")


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """Per deployment; 0: no limit."""

    max_message_bytes: int = 1024 * 1024
    messages_in_per_second: int = 1000
    messages_out_per_second: int = 5000


@dataclass(slots=True)
class MessageGuard:
    """One tunnel's messages: counted, sized and rated (``rates`` shared by the edge's tunnels,
    keyed by deployment and direction; it carries its clock)."""

    deployment: str
    limits: MessageLimits
    rates: RateLimiter
    messages_in: int = 0
    messages_out: int = 0
    _keys: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self._keys = (self.deployment + " in", self.deployment + " out")

    def check(self, heads: list[FrameHead], inbound: bool) -> tuple[int, Ending] | None:
        """The frames one read brought (``inbound``: from the client); None when all may pass,
        else where the first refused frame starts and why."""
        limits = self.limits
        biggest = limits.max_message_bytes
        rate = limits.messages_in_per_second if inbound else limits.messages_out_per_second
        starts = 0
        too_big: FrameHead | None = None
        for head in heads:
            if biggest and head.message_bytes > biggest:
                too_big = head
                break
            starts += head.starts_message
        passing = self.rates.admit(self._keys[0 if inbound else 1], rate, starts) if rate else starts
        if inbound:
            self.messages_in += passing
        else:
            self.messages_out += passing
        if passing < starts:  # the first message over the rate is where the tunnel ends
            refused = [head for head in heads if head.starts_message][passing]
            return refused.offset, RATE_IN if inbound else RATE_OUT
        return None if too_big is None else (too_big.offset, TOO_BIG)


def recheck(handshake: Target, now: Target) -> Ending | None:
    """After the supervisor invalidated the host of an open tunnel: does the tunnel's handshake
    (authorised against ``handshake``) still hold against what the host is ``now``? A re-deploy
    under the same address keeps its deployment and key (its open tunnels drain in the old
    worker); a deletion, a move to another subdomain or a new key does not."""
    if now.kind != "deployment" or now.deployment != handshake.deployment:
        return DELETED
    if now.visibility == "PRIVATE" and (handshake.visibility != "PRIVATE" or now.key_digest != handshake.key_digest):
        return KEY_ROTATED
    return None
