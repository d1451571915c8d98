"""GCRA and the quota counter under a deterministic clock."""

from __future__ import annotations

from edge.limits import QuotaCounter, RateLimiter


def test_gcra_allows_burst_then_exact_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    decisions = [limiter.check("d", 5) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions[:5]] == [4, 3, 2, 1, 0]
    assert abs(decisions[5].retry_after - 0.2) < 1e-9
    now[0] += 0.1999
    assert not limiter.check("d", 5).allowed
    now[0] += 0.0002
    assert limiter.check("d", 5).allowed
    # a steady 5/s stream is never refused
    for _ in range(50):
        now[0] += 0.2
        assert limiter.check("d", 5).allowed
    # other keys are independent
    assert limiter.check("other", 5).allowed


def test_zero_rate_refuses() -> None:
    assert not RateLimiter(clock=lambda: 0.0).check("d", 0).allowed


def test_quota_counts_unacknowledged_and_confirmed() -> None:
    wall = [1000.0]
    quota = QuotaCounter(wall=lambda: wall[0])
    quota.learn(1, used=8, resets_at=2000.0)
    assert quota.allow(1, 10)
    quota.count("dep", 1)
    quota.count("dep", 1)
    assert not quota.allow(1, 10)
    report = quota.take_report()
    assert report == {"dep": 2}
    assert not quota.allow(1, 10)  # reported, not acknowledged: still counts
    # the supervisor was down: the next report carries the totals again (and what came since)
    quota.count("dep", 1)
    assert quota.take_report() == {"dep": 3}
    quota.acknowledged({"dep": 3}, {1: 11}, {1: 2000.0})
    assert quota.used(1) == 11 and quota.take_report() == {}
    quota.count("dep", 1)
    assert quota.take_report() == {"dep": 4}  # totals only grow
    quota.acknowledged({"dep": 4}, {1: 12}, {1: 2000.0})
    wall[0] = 2000.0  # the month turned: only what is counted since then matters
    assert quota.allow(1, 10)


def test_admit_lets_a_batch_pass_as_single_checks_would() -> None:
    clock_a, clock_b = [100.0], [100.0]
    single, batched = RateLimiter(lambda: clock_a[0]), RateLimiter(lambda: clock_b[0])
    for count, step in ((3, 0.0), (4, 0.0), (2, 0.25), (10, 0.5), (1, 0.0), (6, 2.0), (0, 0.0)):
        clock_a[0] += step
        clock_b[0] += step
        passed = 0
        for _ in range(count):
            if not single.check("k", 4).allowed:
                break
            passed += 1
        assert batched.admit("k", 4, count) == passed, (count, step)
