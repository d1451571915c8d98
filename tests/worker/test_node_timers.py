"""Mockoon's latencies run on Node timers: out-of-range delays fire after 1 ms."""

from worker.node_timers import NODE_MAX_DELAY_MS, node_delay_ms


def test_node_timer_rule() -> None:
    assert node_delay_ms(0) == 0
    assert node_delay_ms(250) == 250
    assert node_delay_ms(NODE_MAX_DELAY_MS) == NODE_MAX_DELAY_MS
    assert node_delay_ms(NODE_MAX_DELAY_MS + 1) == 1
    assert node_delay_ms(10**12) == 1
    assert node_delay_ms(-5) == 1
