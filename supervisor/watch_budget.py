"""Which workers the watch loop looks at on a given tick: every one as often as it did with a few,
and no more checks per second than the budget once there are thousands.

Each check costs the supervisor (psutil reads of /proc, a heartbeat read) and a health probe costs
the worker a wake-up too. With 50 workers, RSS and heartbeat each second and a probe every 3 s
are cheap; with 2,000 they were 2,000 /proc reads and 670 HTTP probes a second. The slots are
spread over the ticks by their position, so a tick never checks them all at once.
"""

from __future__ import annotations

import math

TICKS_PER_SECOND = 4  # the watch loop's 250 ms tick
LIMIT_CHECKS_PER_SECOND = 50  # RSS, heartbeat, log size, idle stop: each worker each second up to 50 workers
EXIT_CHECKS_PER_SECOND = 1000  # workers without a pidfd: a signal 0 each, each tick up to 250 workers
PROBES_PER_SECOND = 5  # socket health probes (each wakes a worker): each worker each 3 s up to 15 workers


def period(count: int, every_ticks: int, per_second: int) -> int:
    """Ticks between two checks of one slot: ``every_ticks``, or longer to stay within ``per_second``."""
    return max(every_ticks, math.ceil(count * TICKS_PER_SECOND / per_second))


def due(index: int, tick: int, count: int, every_ticks: int, per_second: int) -> bool:
    """Is the slot at ``index`` of ``count`` checked on ``tick``?"""
    return (index + tick) % period(count, every_ticks, per_second) == 0


def due_indices(tick: int, count: int, every_ticks: int, per_second: int) -> range:
    """The positions ``due`` selects on ``tick``, without a call per slot (2,000 slots, 4 ticks a second)."""
    step = period(count, every_ticks, per_second)
    return range((-tick) % step, count, step)
