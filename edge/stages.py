"""The edge's policy for one request as named stages over values (sans I/O).

host → resolve → redirect → authorize → limit → size → forward. Each stage takes the request
head, what the supervisor said about its host (a ``Target``) and the limiters' state, and
returns a ``Refusal`` (the answer the edge gives itself) or lets the request go on; ``decide``
runs them in order after the host lookup and returns a ``Refusal`` or a ``Forward``. Clocks
are passed in (the limiters carry theirs). Nothing here counts a request against the monthly quota: only what reaches a
worker is counted (``observe``), so a 413 or a 503 costs the client nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field

from schemas.control import Target

from .limits import QuotaCounter, RateLimiter
from .origin import misdirected, redirect_location
from .request_head import RequestHead
from .upgrade import TunnelSlots, decide_upgrade
from .websocket_key import browser_key

STAGES = ("host", "resolve", "redirect", "authorize", "limit", "size", "forward")


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer the edge gives itself: status, JSON message, extra headers; ``reason`` names it
    in the access log and metrics; ``close`` ends the connection after it."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False
    reason: str = ""
    limit_hit: str = ""  # the limit that refused it, for the metrics ("rate", "quota", "tunnels")


@dataclass(slots=True)
class Forward:
    """Go to the worker with these request headers; ``websocket``: as a WebSocket handshake
    holding a tunnel slot of ``deployment``; ``dropped_upgrade``: why an ``Upgrade`` was left out."""

    headers: list[tuple[bytes, bytes]]
    websocket: bool = False
    dropped_upgrade: str = ""
    tunnel_slot: str = field(default="")
    target: bytes | None = None  # the request target to send when it differs (a browser's key taken out)


# --- host -------------------------------------------------------------------------------------
def host_of(head: RequestHead) -> str:
    raw = head.host.decode("ascii", "replace").lower()
    if raw.startswith("["):
        return raw
    return raw.rsplit(":", 1)[0].rstrip(".")


def check_host(host: str, server_name: str | None) -> Refusal | None:
    """Over TLS the Host must name the host the client's handshake asked for (421 otherwise)."""
    if misdirected(server_name, host):
        return Refusal(421, f"this connection is for {server_name}, not {host}", close=True, reason="misdirected")
    return None


SUPERVISOR_DOWN = Refusal(503, "the platform is restarting; retry shortly", (("Retry-After", "1"),),
                          reason="supervisor")


# --- resolve ----------------------------------------------------------------------------------
def resolve(host: str, target: Target) -> Refusal | None:
    if target.kind == "none":
        return Refusal(404, f"no such instance: {host}", reason="unknown-host")
    return None


# --- redirect ---------------------------------------------------------------------------------
def redirect(host: str, head: RequestHead, redirect_port: int | None) -> Refusal | None:
    """The plain-HTTP port (when it redirects) answers every known host with a 308 to HTTPS."""
    if redirect_port is None:
        return None
    location = redirect_location(host, redirect_port, head.target)
    if location is None:
        return Refusal(400, "only a path (origin-form request target) is redirected to HTTPS", reason="bad-request")
    return Refusal(308, f"this platform is served over HTTPS: {location}", (("Location", location),),
                   reason="https-redirect")


# --- authorize --------------------------------------------------------------------------------
def bearer(head: RequestHead) -> str:
    for value in head.authorization:
        scheme, _, token = value.decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer":
            return token.strip()
    return ""


def key_matches(target: Target, provided: str) -> bool:
    """Constant time: digests of equal length, compared with compare_digest."""
    given = hashlib.sha256(provided.encode()).hexdigest()
    return hmac.compare_digest(given, target.key_digest) and bool(provided)


_NO_KEY = Refusal(401, "this instance requires an API key: send Authorization: Bearer <api key>",
                  (("WWW-Authenticate", 'Bearer realm="mockfleet"'),), reason="auth")
_BAD_KEY = Refusal(401, "invalid API key", (("WWW-Authenticate", 'Bearer realm="mockfleet", error="invalid_token"'),),
                   reason="auth")


def authorize(head: RequestHead, target: Target) -> Refusal | tuple[list[tuple[bytes, bytes]], bytes | None]:
    """A private instance, and any instance's admin API, need the instance's API key; the
    headers to forward (the admin API gets the worker's own token in place of the key), and the
    target when a browser's WebSocket handshake carried the key in it (taken out)."""
    headers = head.headers
    forward_target: bytes | None = None
    if target.kind != "deployment":
        return headers, None
    path = head.target.split(b"?", 1)[0]
    admin = path == b"/mockoon-admin" or path.startswith(b"/mockoon-admin/")
    if target.visibility == "PRIVATE" or admin:
        provided = bearer(head)
        if (not provided and not admin and head.upgrade
                and decide_upgrade(head.method, head.version, headers).websocket):
            # a browser cannot set Authorization on a WebSocket: ?token= or a key subprotocol
            provided, rewritten, headers = browser_key(head.target, headers)
            forward_target = rewritten if rewritten != head.target else None
        if not provided:
            return _NO_KEY
        if not key_matches(target, provided):
            return _BAD_KEY
    if admin:
        headers = [(k, v) for k, v in headers if k != b"authorization"]
        headers.append((b"authorization", b"Bearer " + target.admin_token.encode()))
    return headers, forward_target


# --- limit ------------------------------------------------------------------------------------
def _rate_headers(limit: int, remaining: int, reset: float) -> tuple[tuple[str, str], ...]:
    return (("RateLimit-Limit", str(limit)), ("RateLimit-Remaining", str(remaining)),
            ("RateLimit-Reset", str(max(1, int(reset + 0.999)))))


def limit(target: Target, rates: RateLimiter, quota: QuotaCounter) -> Refusal | None:
    """The plan's requests per second (per deployment) and monthly quota (per account); the
    limiters carry their clocks."""
    if target.kind != "deployment":
        return None
    decision = rates.check(target.deployment, target.requests_per_second)
    if not decision.allowed:
        return Refusal(429, f"rate limit of {target.requests_per_second} requests per second exceeded",
                       (("Retry-After", str(max(1, int(decision.retry_after + 0.999)))),
                        *_rate_headers(decision.limit, 0, decision.reset_seconds)),
                       reason="rate-limit", limit_hit="rate")
    if not quota.allow(target.account, target.monthly_quota):
        resets = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(target.quota_resets_at))
        retry = max(1, int(target.quota_resets_at - quota.wall())) if math.isfinite(target.quota_resets_at) else 1
        return Refusal(429, f"monthly requests quota of {target.monthly_quota} reached for this account; "
                            f"it resets on {resets}", (("Retry-After", str(retry)),), reason="quota", limit_hit="quota")
    return None


# --- size -------------------------------------------------------------------------------------
def body_too_large(max_body: int) -> Refusal:
    return Refusal(413, f"request body exceeds {max_body} bytes", close=True, reason="body")


def size(head: RequestHead, target: Target) -> Refusal | None:
    """A declared Content-Length over the plan's body limit (a chunked body is counted as it
    streams, in ``relay``)."""
    length = head.content_length
    if length and target.max_body and length > target.max_body:
        return body_too_large(target.max_body)
    return None


# --- forward ----------------------------------------------------------------------------------
def forward(head: RequestHead, target: Target, headers: list[tuple[bytes, bytes]],
            tunnels: TunnelSlots) -> Refusal | Forward:
    """Only a well-formed WebSocket handshake goes on as an upgrade, while its deployment has a
    tunnel slot free (taken here; the caller gives it back); any other ``Upgrade`` is dropped
    and the request forwarded as the plain HTTP/1.1 request it also is."""
    if not head.upgrade:
        return Forward(headers)
    upgrade = decide_upgrade(head.method, head.version, headers)
    if not upgrade.websocket:
        return Forward(headers, dropped_upgrade=upgrade.reason)
    deployment = target.deployment or "api"
    if not tunnels.acquire(deployment):
        return Refusal(429, f"this instance already has {tunnels.cap} open WebSocket connections",
                       (("Retry-After", "5"),), reason="tunnels", limit_hit="tunnels")
    return Forward(headers, websocket=True, tunnel_slot=deployment)


def decide(head: RequestHead, host: str, target: Target, redirect_port: int | None, rates: RateLimiter,
           quota: QuotaCounter, tunnels: TunnelSlots) -> Refusal | Forward:
    """The stages after the host lookup, in order: the first refusal, or how to forward."""
    refusal = resolve(host, target) or redirect(host, head, redirect_port)
    if refusal is not None:
        return refusal
    authorized = authorize(head, target)
    if isinstance(authorized, Refusal):
        return authorized
    headers, forward_target = authorized
    refusal = limit(target, rates, quota) or size(head, target)
    if refusal is not None:
        return refusal
    decision = forward(head, target, headers, tunnels)
    if isinstance(decision, Forward):
        decision.target = forward_target
    return decision
