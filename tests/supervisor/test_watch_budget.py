"""The watch loop's budget: few workers are checked as often as before, thousands within the budget."""

from __future__ import annotations

from collections import Counter

from supervisor.watch_budget import (
    LIMIT_CHECKS_PER_SECOND,
    PROBES_PER_SECOND,
    TICKS_PER_SECOND,
    due,
    period,
)


def checks(count: int, ticks: int, every: int, per_second: int) -> Counter[int]:
    """How often each slot is checked over ``ticks`` ticks."""
    return Counter(i for tick in range(ticks) for i in range(count) if due(i, tick, count, every, per_second))


def test_a_few_workers_are_checked_each_second_and_probed_each_three_seconds() -> None:
    assert period(50, 4, LIMIT_CHECKS_PER_SECOND) == 4 and period(10, 12, PROBES_PER_SECOND) == 12
    per_minute = checks(50, 60 * TICKS_PER_SECOND, 4, LIMIT_CHECKS_PER_SECOND)
    assert set(per_minute.values()) == {60}
    assert set(checks(10, 60 * TICKS_PER_SECOND, 12, PROBES_PER_SECOND).values()) == {20}


def test_thousands_of_workers_stay_within_the_budget_and_none_is_forgotten() -> None:
    count = 2000
    for every, budget in ((4, LIMIT_CHECKS_PER_SECOND), (12, PROBES_PER_SECOND)):
        ticks = period(count, every, budget)  # 20 s for the limits, 100 s for probes
        seen = checks(count, ticks, every, budget)
        assert set(seen.values()) == {1} and len(seen) == count  # every worker once per period
        assert sum(seen.values()) <= budget * ticks / TICKS_PER_SECOND
        per_tick = [sum(due(i, tick, count, every, budget) for i in range(count)) for tick in range(8)]
        assert max(per_tick) <= budget / TICKS_PER_SECOND + 1  # spread over the ticks, not in bursts


def test_due_indices_are_exactly_the_slots_due_on_each_tick() -> None:
    from supervisor.watch_budget import due_indices

    for count in (0, 1, 7, 50, 51, 333, 2000):
        for every, per_second in ((1, 4000), (4, 50), (12, 5)):
            for tick in range(1, 400, 7):
                expected = [i for i in range(count) if due(i, tick, count, every, per_second)]
                assert list(due_indices(tick, count, every, per_second)) == expected
