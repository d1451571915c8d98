"""The deployments quota is judged before the body is decoded; the API's per-account rate limits."""

from __future__ import annotations

import json

from supervisor.api_rate import ApiRateLimiter, Rate
from supervisor.deploy_admission import needs_uuid, peek_uuid, quota_refusal


def test_an_account_with_no_deployment_left_and_none_of_its_own_needs_no_uuid() -> None:
    assert not needs_uuid(0, set())  # FREE plan: refused without reading the body
    assert quota_refusal(0, set(), None, "FREE") == (
        "deployments quota reached: your FREE plan allows 0 deployment(s); delete one or upgrade")


def test_a_full_account_may_re_deploy_its_own_environment_only() -> None:
    owned = {"a", "b"}
    assert needs_uuid(2, owned)
    assert quota_refusal(2, owned, "a", "TEAM") is None
    assert quota_refusal(2, owned, "c", "TEAM") is not None
    assert quota_refusal(2, owned, None, "TEAM") is not None


def test_a_free_slot_needs_no_uuid() -> None:
    assert not needs_uuid(3, {"a"})
    assert quota_refusal(3, {"a"}, None, "TEAM") is None


def test_peek_reads_the_uuid_and_nothing_else() -> None:
    body = json.dumps({"environment": {"routes": [{"x": [1, 2, {"y": None}]}], "uuid": "u-1"}, "visibility": "PUBLIC"})
    assert peek_uuid(body.encode()) == "u-1"
    for bad in (b"", b"nope", b"[]", b'{"environment": 3}', b'{"environment": {"uuid": 5}}', b"{}",
                b'{"environment": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        assert peek_uuid(bad) is None, bad


def test_calls_are_limited_per_account_with_the_wait() -> None:
    limiter = ApiRateLimiter(calls=Rate(per_second=2.0, burst=3), deploys=Rate(per_second=0.5, burst=2))
    assert all(limiter.check(1, 100.0) is None for _ in range(3))
    refused = limiter.check(1, 100.0)
    assert refused is not None and refused.what == "API calls" and abs(refused.retry_after - 0.5) < 1e-9
    assert refused.retry_after_header == "1"
    assert limiter.check(2, 100.0) is None  # another account is not affected
    assert limiter.check(1, 100.5) is None


def test_deploys_have_a_budget_of_their_own_and_a_refusal_costs_nothing() -> None:
    limiter = ApiRateLimiter(calls=Rate(per_second=100.0, burst=100), deploys=Rate(per_second=0.5, burst=2))
    assert limiter.check(1, 0.0, deploy=True) is None
    assert limiter.check(1, 0.0, deploy=True) is None
    refused = limiter.check(1, 0.0, deploy=True)
    assert refused is not None and refused.what == "deploys" and abs(refused.retry_after - 2.0) < 1e-9
    assert limiter.check(1, 0.0) is None  # other calls go on
    assert limiter.check(1, 1.9, deploy=True) is not None
    assert limiter.check(1, 2.0, deploy=True) is None


def test_idle_entries_are_forgotten() -> None:
    limiter = ApiRateLimiter()
    for account in range(5000):
        limiter.check(account, 0.0)
    limiter.check(1, 1000.0)
    assert len(limiter.tat) < 10
