"""Per-render limits so one template cannot stall its worker: time, output size, iterations."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .errors import TemplateBudgetExceeded

DEFAULT_MAX_SECONDS = 2.0
DEFAULT_MAX_OUTPUT = 10 * 1024 * 1024
DEFAULT_MAX_REPEAT = 100_000


class Budget:
    __slots__ = ("deadline", "max_output", "max_repeat", "clock", "_ticks")

    def __init__(self, max_seconds: float = DEFAULT_MAX_SECONDS, max_output: int = DEFAULT_MAX_OUTPUT,
                 max_repeat: int = DEFAULT_MAX_REPEAT, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.deadline = clock() + max_seconds
        self.max_output = max_output
        self.max_repeat = max_repeat
        self._ticks = 0

    def check_repeat(self, count: float) -> None:
        if count > self.max_repeat:
            shown = "Infinity" if count == float("inf") else count  # as JavaScript writes it
            raise TemplateBudgetExceeded(f"repeat count {shown} is over the limit of {self.max_repeat}")

    def _time(self) -> None:
        self._ticks += 1
        if self._ticks & 63 == 0 and self.clock() > self.deadline:
            raise TemplateBudgetExceeded("template rendering took longer than its time budget")

    def tick(self, parts: list[Any]) -> None:
        self._time()
        if self._ticks & 255 == 0 and sum(map(len, parts)) > self.max_output:
            raise TemplateBudgetExceeded(f"template output is over {self.max_output} bytes")
