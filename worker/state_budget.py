"""The plan's cap on a deployment's state size, checked per write without re-encoding the state.

The size is known exactly after each snapshot (at most a second old); writes since then add
their own encoded size. Replacing a value is counted as growth, so the estimate only errs high:
when it crosses the cap the state is measured once more, and only a write that would take the
measured state over the cap is refused. Nothing already stored is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class StateFull(Exception):
    """A write would take the deployment's state over its plan's cap; answered 507."""

    status = 507

    def __init__(self, cap: int, size: int, write: int) -> None:
        super().__init__(f"state size cap reached: this write of {write} bytes would take the mock's state "
                         f"({size} bytes) over the plan's limit of {cap} bytes; delete data or purge the state "
                         "(POST /mockoon-admin/state/purge)")
        self.cap = cap
        self.size = size
        self.write = write


class StateBudget:
    def __init__(self, cap: int, size_of: Callable[[Any], int], measure: Callable[[], int], base: int = 0) -> None:
        self.cap = cap
        self.size_of = size_of  # encoded size of one written value
        self.measure = measure  # encoded size of the whole state, exact
        self.base = base  # exact size at the last measure or snapshot
        self.written = 0  # upper bound of what was added since

    def settle(self, size: int) -> None:
        """A snapshot was just encoded: its size is the new exact base."""
        self.base, self.written = size, 0

    def reserve(self, value: Any) -> None:
        write = self.size_of(value)
        if self.base + self.written + write > self.cap:
            self.settle(self.measure())
            if self.base + write > self.cap:
                raise StateFull(self.cap, self.base, write)
        self.written += write
