"""What the edge reports to the supervisor beyond lookups: counted requests that survive an
edge crash, and upstream failures it saw (a worker that hung or broke a connection).

Kept apart from ``control`` (which frames them, in its ``Message`` union) so the two can grow
independently.
"""

from __future__ import annotations

from typing import Literal

import msgspec


class UsageTotals(msgspec.Struct, tag="usage_totals", kw_only=True):
    """Cumulative requests counted per environmentUuid in the edge's ledger ``ledger``; the
    supervisor adds the difference from the last total it applied for that ledger, so a report
    repeated after a crash counts once. Answered with ``UsageAck``."""

    ledger: str
    totals: dict[str, int]


class UpstreamFailure(msgspec.Struct, tag="upstream_failure", kw_only=True):
    """A request the edge forwarded and the worker failed: 504 (no answer within the request
    deadline: the worker is likely hung), 502 (it broke the connection or answered nonsense),
    503 (its socket refused the connection). Answered with ``Noted``."""

    deployment: str  # environmentUuid
    status: Literal[502, 503, 504]
    reason: str
    socket: str = ""  # the worker socket the edge used, so a report about a replaced worker can be told apart
    count: int = 1  # failures folded into this report since the previous one


class Noted(msgspec.Struct, tag="noted", kw_only=True):
    """The supervisor's answer to a report: what it did (``killed``, ``probing`` or ``none``)."""

    action: Literal["killed", "probing", "none"] = "none"
