"""The edge's policy stages over values: no sockets, clocks passed in."""

from __future__ import annotations

import hashlib

from edge.limits import QuotaCounter, RateLimiter
from edge.request_head import RequestHead, parse_request_head
from edge.stages import (
    STAGES,
    Forward,
    Refusal,
    authorize,
    check_host,
    decide,
    forward,
    host_of,
    limit,
    redirect,
    resolve,
    size,
)
from edge.upgrade import TunnelSlots
from schemas.control import Target

HOST = "m.local.mockfleet.localhost"
WS = (b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


def head(extra: bytes = b"", target: bytes = b"/x", method: bytes = b"GET") -> RequestHead:
    raw = method + b" " + target + b" HTTP/1.1\r\nHost: " + HOST.encode() + b":8443\r\n" + extra
    return parse_request_head(raw.rstrip(b"\r\n"), 100, 8192)


def deployment(**fields: object) -> Target:
    values: dict[str, object] = {"host": HOST, "kind": "deployment", "socket": "/s", "deployment": "d1",
                                 "account": 1, "requests_per_second": 2, "monthly_quota": 100,
                                 "quota_resets_at": 5000.0, "max_body": 10, "status": "RUNNING",
                                 "key_digest": hashlib.sha256(b"k3y").hexdigest(), "admin_token": "adm"}
    values.update(fields)
    return Target(**values)  # type: ignore[arg-type]


def run(request: RequestHead, target: Target, rates: RateLimiter | None = None, quota: QuotaCounter | None = None,
        tunnels: TunnelSlots | None = None, redirect_port: int | None = None) -> Refusal | Forward:
    return decide(request, host_of(request), target, redirect_port, rates or RateLimiter(clock=lambda: 0.0),
                  quota or QuotaCounter(wall=lambda: 1000.0), tunnels or TunnelSlots(2))


def test_the_stages_are_named_in_order() -> None:
    assert STAGES == ("host", "resolve", "redirect", "authorize", "limit", "size", "forward")


def test_host_is_the_lower_case_name_without_port_and_must_match_sni() -> None:
    request = head()
    assert host_of(request) == HOST
    assert check_host(HOST, HOST) is None and check_host(HOST, None) is None
    refused = check_host(HOST, "other.example")
    assert refused is not None and (refused.status, refused.close, refused.reason) == (421, True, "misdirected")


def test_unknown_hosts_are_404_and_known_ones_pass() -> None:
    none = resolve(HOST, Target(host=HOST, kind="none"))
    assert none is not None and none.status == 404
    assert resolve(HOST, deployment()) is None


def test_the_plain_port_redirects_origin_form_targets_only() -> None:
    assert redirect(HOST, head(), None) is None
    moved = redirect(HOST, head(target=b"/a?b=1"), 443)
    assert moved is not None and moved.status == 308 and moved.headers == (("Location", f"https://{HOST}/a?b=1"),)
    refused = redirect(HOST, head(target=b"@evil.example/x"), 443)
    assert refused is not None and refused.status == 400


def test_private_instances_and_the_admin_api_need_the_key() -> None:
    private = deployment(visibility="PRIVATE")
    missing = authorize(head(), private)
    assert isinstance(missing, Refusal) and missing.status == 401 and "requires an API key" in missing.message
    wrong = authorize(head(b"Authorization: Bearer nope\r\n"), private)
    assert isinstance(wrong, Refusal) and wrong.message == "invalid API key"
    assert isinstance(authorize(head(b"Authorization: Bearer k3y\r\n"), private), tuple)
    assert isinstance(authorize(head(target=b"/mockoon-admin/state"), deployment()), Refusal)
    authorized = authorize(head(b"Authorization: Bearer k3y\r\n", target=b"/mockoon-admin/state"), deployment())
    assert isinstance(authorized, tuple)
    headers, target = authorized
    assert target is None and (b"authorization", b"Bearer adm") in headers
    assert (b"authorization", b"Bearer k3y") not in headers  # the consumer's key never reaches the worker


def test_rate_limit_then_monthly_quota_with_the_clock_passed_in() -> None:
    now = [0.0]
    rates = RateLimiter(clock=lambda: now[0])
    quota = QuotaCounter(wall=lambda: 1000.0)
    target = deployment()
    assert limit(target, rates, quota) is None
    assert limit(target, rates, quota) is None
    refused = limit(target, rates, quota)
    assert refused is not None and refused.status == 429 and refused.limit_hit == "rate"
    assert dict(refused.headers)["Retry-After"] == "1"
    now[0] = 10.0
    quota.learn(1, used=100, resets_at=5000.0)
    refused = limit(target, rates, quota)
    assert refused is not None and refused.limit_hit == "quota" and dict(refused.headers)["Retry-After"] == "4000"


def test_deciding_never_counts_against_the_quota() -> None:
    quota = QuotaCounter(wall=lambda: 1000.0)
    big = head(b"Content-Length: 11\r\n", method=b"POST")
    refused = run(big, deployment(requests_per_second=1000), quota=quota)
    assert isinstance(refused, Refusal) and refused.status == 413
    assert isinstance(run(head(), deployment(requests_per_second=1000), quota=quota), Forward)
    assert quota.used(1) == 0 and quota.take_report() == {}  # counting is the relay's, once forwarded


def test_size_refuses_a_declared_body_over_the_plan() -> None:
    assert size(head(b"Content-Length: 10\r\n", method=b"POST"), deployment()) is None
    refused = size(head(b"Content-Length: 11\r\n", method=b"POST"), deployment())
    assert refused is not None and (refused.status, refused.close) == (413, True)


def test_only_websocket_upgrades_go_on_and_they_take_a_tunnel_slot() -> None:
    tunnels = TunnelSlots(1)
    h2c = head(b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQ\r\n")
    plain = forward(h2c, deployment(), h2c.headers, tunnels)
    assert isinstance(plain, Forward) and not plain.websocket and plain.dropped_upgrade == "not-websocket"
    ws = head(WS)
    first = forward(ws, deployment(), ws.headers, tunnels)
    assert isinstance(first, Forward) and first.websocket and first.tunnel_slot == "d1"
    second = forward(ws, deployment(), ws.headers, tunnels)
    assert isinstance(second, Refusal) and second.status == 429 and second.limit_hit == "tunnels"
    tunnels.release("d1")
    assert isinstance(forward(ws, deployment(), ws.headers, tunnels), Forward)


def test_decide_runs_the_stages_in_order() -> None:
    # a private instance on the redirecting port: the redirect comes before the key check
    moved = run(head(), deployment(visibility="PRIVATE"), redirect_port=443)
    assert isinstance(moved, Refusal) and moved.status == 308
    # a missing key comes before the rate limit (a refused key costs no token)
    rates = RateLimiter(clock=lambda: 0.0)
    for _ in range(3):
        refused = run(head(), deployment(visibility="PRIVATE", requests_per_second=1), rates=rates)
        assert isinstance(refused, Refusal) and refused.status == 401
    # the limit comes before the size
    quota = QuotaCounter(wall=lambda: 1000.0)
    quota.learn(1, used=100, resets_at=5000.0)
    refused = run(head(b"Content-Length: 99\r\n", method=b"POST"), deployment(), quota=quota)
    assert isinstance(refused, Refusal) and refused.reason == "quota"
    api = run(head(), Target(host="api.mockfleet.localhost", kind="api", socket="/api"))
    assert isinstance(api, Forward)
