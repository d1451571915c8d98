"""Messages on the outbound broker's socket (worker → supervisor → worker).

A worker in a network namespace of its own has no interface to connect from, so it asks the
broker (``supervisor/outbound_broker.py``) over a Unix SOCK_SEQPACKET socket, one connection per
request: ``BrokerConnect`` names the host and port as the worker parsed them; the broker resolves,
lets ``schemas.outbound.Guard`` decide over every address and connects to the checked one. It
answers ``BrokerConnected`` with the connected TCP socket beside it (SCM_RIGHTS), or
``BrokerRefused`` (policy) / ``BrokerFailed`` (resolution or connect failed; Node-like text).
"""

from __future__ import annotations

import msgspec

from .outbound import OutboundRefused, Target, parse_target

MAX_MESSAGE = 4096


class BrokerConnect(msgspec.Struct, kw_only=True, tag=True):
    scheme: str  # http or https: only for the guard's wording; TLS is the worker's
    host: str  # as ``parse_target`` normalised it
    port: int
    timeout: float  # what is left of the worker's connect deadline, in seconds


class BrokerConnected(msgspec.Struct, kw_only=True, tag=True):
    address: str  # the checked address the descriptor beside this message is connected to


class BrokerRefused(msgspec.Struct, kw_only=True, tag=True):
    reason: str  # the guard's reason, as OutboundRefused carries it


class BrokerFailed(msgspec.Struct, kw_only=True, tag=True):
    error: str  # Node-like text, e.g. "Error: connect ECONNREFUSED 203.0.113.9:80"
    timed_out: bool = False


BrokerAnswer = BrokerConnected | BrokerRefused | BrokerFailed


def request_for(target: Target, timeout: float) -> BrokerConnect:
    return BrokerConnect(scheme=target.scheme, host=target.host, port=target.port, timeout=timeout)


def target_of(request: BrokerConnect) -> Target:
    """The broker's own parse of what the worker asks for (raises OutboundRefused when unusable):
    a worker cannot hand the guard a Target it built itself."""
    host = f"[{request.host}]" if ":" in request.host else request.host
    if not 1 <= request.port <= 65535 or any(c in host for c in "/?#@\\ "):
        raise OutboundRefused(f"invalid outbound target {request.host!r}:{request.port}")
    return parse_target(f"{request.scheme}://{host}:{request.port}/")
