"""Per-account rate limits of the deployments API (GCRA, clock passed in), so one account's burst
of deploys or calls cannot queue work in front of everyone else's.

Two budgets: every authenticated call, and deploys (each one costs a validation process and a
worker start). Refusals carry the wait, answered as 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


@dataclass(frozen=True)
class Limited:
    what: str  # "API calls" or "deploys"
    retry_after: float  # seconds until the next call would be allowed

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


CALLS = Rate(per_second=20.0, burst=40)
DEPLOYS = Rate(per_second=0.5, burst=10)


@dataclass
class ApiRateLimiter:
    calls: Rate = CALLS
    deploys: Rate = DEPLOYS
    tat: dict[tuple[str, int], float] = field(default_factory=dict)  # (budget, account) -> theoretical arrival

    def _take(self, budget: str, rate: Rate, account: int, now: float) -> float:
        """0 when allowed (and counted), else the seconds to wait."""
        interval = 1.0 / rate.per_second
        tat = max(self.tat.get((budget, account), now), now)
        allow_at = tat - interval * (rate.burst - 1)
        if now < allow_at - 1e-9:
            return allow_at - now
        self.tat[(budget, account)] = tat + interval
        return 0.0

    def check(self, account: int, now: float, *, deploy: bool = False) -> Limited | None:
        """None when the call may go on; a deploy takes from both budgets (nothing when refused)."""
        if len(self.tat) > 4096:
            self.forget_idle(now)
        if deploy:
            wait = self._peek("deploys", self.deploys, account, now)
            if wait:
                return Limited("deploys", wait)
        wait = self._take("calls", self.calls, account, now)
        if wait:
            return Limited("API calls", wait)
        if deploy:
            self._take("deploys", self.deploys, account, now)
        return None

    def _peek(self, budget: str, rate: Rate, account: int, now: float) -> float:
        interval = 1.0 / rate.per_second
        tat = max(self.tat.get((budget, account), now), now)
        wait = tat - interval * (rate.burst - 1) - now
        return wait if wait > 1e-9 else 0.0

    def forget_idle(self, now: float) -> None:
        """Entries whose bucket is full again carry no information; dropping them bounds the table."""
        for key in [key for key, tat in self.tat.items() if tat <= now]:
            del self.tat[key]
