"""Node's timer rule for Mockoon's latencies: ``setTimeout`` with a delay above 2^31 - 1 ms (about
24.8 days) or below 1 ms fires after 1 ms (a TimeoutOverflowWarning), so Mockoon answers a route
with ``latency: 1e12`` at once, where a plain sleep would hold the connection for 31 years."""

from __future__ import annotations

NODE_MAX_DELAY_MS = 2**31 - 1


def node_delay_ms(ms: float) -> int:
    """The delay Node's ``setTimeout(fn, ms)`` waits; 0 stays 0 (no timer is set without latency)."""
    if ms == 0:
        return 0
    if not 1 <= ms <= NODE_MAX_DELAY_MS:
        return 1
    return int(ms)
