"""Per-deployment rate limits (GCRA) and per-account monthly quotas, with an injectable clock.

GCRA keeps one number per key (the theoretical arrival time), is exact, and allows a small
burst; the quota counter separates what the supervisor confirmed from what is not yet reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .usage_ledger import UsageLedger


@dataclass(slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: float  # until the bucket is full again
    retry_after: float  # until the next request would be allowed (0 when allowed)


@dataclass
class RateLimiter:
    """GCRA: ``rate`` requests per second with a burst of ``burst`` requests."""

    clock: Callable[[], float] = time.monotonic
    tat: dict[str, float] = field(default_factory=dict)

    def check(self, key: str, rate: int, burst: int | None = None) -> Decision:
        if rate <= 0:
            return Decision(False, 0, 0, 0.0, 1.0)
        burst = burst if burst is not None else max(1, rate)
        interval = 1.0 / rate
        tolerance = interval * (burst - 1)
        now = self.clock()
        tat = max(self.tat.get(key, now), now)
        allow_at = tat - tolerance
        if now < allow_at - 1e-9:
            return Decision(False, rate, 0, tat - now, allow_at - now)
        new_tat = tat + interval
        self.tat[key] = new_tat
        slack = now + tolerance - new_tat
        remaining = int(math.floor(slack / interval + 1e-9)) + 1 if slack >= -1e-9 else 0
        return Decision(True, rate, remaining, new_tat - now, 0.0)

    def admit(self, key: str, rate: int, count: int) -> int:
        """How many of ``count`` events arriving together pass (each as ``check`` with a burst of
        ``rate``, the ones that pass consumed): one clock read for a batch (a WebSocket read's messages)."""
        if count <= 0:
            return 0
        interval = 1.0 / rate
        now = self.clock()
        tat = max(self.tat.get(key, now), now)
        passing = min(count, max(0, int(math.floor((now + interval * (rate - 1) - tat) / interval + 1e-9)) + 1))
        if passing:
            self.tat[key] = tat + passing * interval
        return passing

    def forget(self, key: str) -> None:
        self.tat.pop(key, None)


@dataclass
class QuotaCounter:
    """Monthly requests per account: confirmed by the supervisor plus counted here and not yet
    acknowledged. Counts go to a ``UsageLedger`` (a file that outlives the edge); reports carry
    its cumulative totals, so a report sent twice is counted once."""

    ledger: UsageLedger = field(default_factory=UsageLedger)
    confirmed: dict[int, int] = field(default_factory=dict)
    resets_at: dict[int, float] = field(default_factory=dict)
    unacknowledged: dict[int, int] = field(default_factory=dict)  # account -> counted, not in an ack yet
    acked: dict[str, int] = field(default_factory=dict)  # deployment -> total the supervisor acknowledged
    wall: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        # what a predecessor counted may not have reached the supervisor: count it as ours
        # until the first acknowledgement says otherwise
        for deployment, total in self.ledger.totals().items():
            account = self.ledger.accounts[deployment]
            self.unacknowledged[account] = self.unacknowledged.get(account, 0) + total

    def learn(self, account: int, used: int, resets_at: float) -> None:
        """Values from a resolve; never move backwards within a month."""
        if resets_at != self.resets_at.get(account):
            self.resets_at[account] = resets_at
            self.confirmed[account] = used
        else:
            self.confirmed[account] = max(self.confirmed.get(account, 0), used)

    def used(self, account: int) -> int:
        if self.resets_at.get(account, math.inf) <= self.wall():
            return self.unacknowledged.get(account, 0)
        return self.confirmed.get(account, 0) + self.unacknowledged.get(account, 0)

    def allow(self, account: int, quota: int) -> bool:
        return self.used(account) < quota

    def count(self, deployment: str, account: int) -> None:
        self.ledger.add(deployment, account)
        self.unacknowledged[account] = self.unacknowledged.get(account, 0) + 1

    def take_report(self) -> dict[str, int]:
        """Cumulative totals of the deployments counted since their last acknowledgement."""
        acked = self.acked
        return {deployment: total for deployment, total in self.ledger.totals().items()
                if total > acked.get(deployment, 0)}

    def acknowledged(self, totals: dict[str, int], used: dict[int, int], resets_at: dict[int, float]) -> None:
        """The supervisor holds ``totals`` (a report's) and answers each account's month total."""
        accounts = self.ledger.accounts
        for deployment, total in totals.items():
            account = accounts[deployment]
            self.unacknowledged[account] = self.unacknowledged.get(account, 0) - (total - self.acked.get(deployment, 0))
            self.acked[deployment] = total
        for account, total in used.items():
            self.resets_at[account] = resets_at.get(account, self.resets_at.get(account, 0.0))
            self.confirmed[account] = total
        if self.ledger.used_slots > self.ledger.capacity // 2 and self.ledger.totals() == self.acked:
            self.ledger.rotate()
            self.acked.clear()
