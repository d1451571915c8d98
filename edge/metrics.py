"""Counters and a latency histogram, rendered in Prometheus' text format on the operator port."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1


@dataclass
class Metrics:
    requests: Counter[str] = field(default_factory=Counter)  # by status class
    limit_hits: Counter[str] = field(default_factory=Counter)  # by kind
    rejected: Counter[str] = field(default_factory=Counter)  # protocol-level rejections by reason
    upstream_failures: Counter[str] = field(default_factory=Counter)  # worker failures by the status answered
    upstream_latency: Histogram = field(default_factory=Histogram)
    websocket_messages: Counter[str] = field(default_factory=Counter)  # relayed, by direction ("in": from clients)
    websocket_endings: Counter[str] = field(default_factory=Counter)  # tunnels the edge closed, by reason
    open_connections: int = 0
    bytes_out: int = 0

    def render(self, instance_states: dict[str, int], open_websockets: int = 0) -> bytes:
        lines = ["# TYPE mockfleet_edge_requests_total counter"]
        for cls, n in sorted(self.requests.items()):
            lines.append(f'mockfleet_edge_requests_total{{code="{cls}"}} {n}')
        lines.append("# TYPE mockfleet_edge_limit_hits_total counter")
        for kind, n in sorted(self.limit_hits.items()):
            lines.append(f'mockfleet_edge_limit_hits_total{{kind="{kind}"}} {n}')
        lines.append("# TYPE mockfleet_edge_rejected_total counter")
        for reason, n in sorted(self.rejected.items()):
            lines.append(f'mockfleet_edge_rejected_total{{reason="{reason}"}} {n}')
        lines.append("# TYPE mockfleet_edge_upstream_failures_total counter")
        for status, n in sorted(self.upstream_failures.items()):
            lines.append(f'mockfleet_edge_upstream_failures_total{{status="{status}"}} {n}')
        lines.append("# TYPE mockfleet_edge_websocket_messages_total counter")
        for direction, n in sorted(self.websocket_messages.items()):
            lines.append(f'mockfleet_edge_websocket_messages_total{{direction="{direction}"}} {n}')
        lines.append("# TYPE mockfleet_edge_websockets_open gauge")
        lines.append(f"mockfleet_edge_websockets_open {open_websockets}")
        lines.append("# TYPE mockfleet_edge_websocket_closed_total counter")
        for reason, n in sorted(self.websocket_endings.items()):
            lines.append(f'mockfleet_edge_websocket_closed_total{{reason="{reason}"}} {n}')
        lines.append("# TYPE mockfleet_edge_upstream_seconds histogram")
        cumulative = 0
        for bound, count in zip((*BUCKETS, float("inf")), self.upstream_latency.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'mockfleet_edge_upstream_seconds_bucket{{le="{le}"}} {cumulative}')
        lines.append(f"mockfleet_edge_upstream_seconds_sum {self.upstream_latency.total}")
        lines.append(f"mockfleet_edge_upstream_seconds_count {self.upstream_latency.n}")
        lines.append("# TYPE mockfleet_edge_open_connections gauge")
        lines.append(f"mockfleet_edge_open_connections {self.open_connections}")
        lines.append("# TYPE mockfleet_edge_response_bytes_total counter")
        lines.append(f"mockfleet_edge_response_bytes_total {self.bytes_out}")
        lines.append("# HELP mockfleet_edge_instances hosts in the edge's cache by the status last resolved "
                     "(not workers: the supervisor's mockfleet_workers_running counts those)")
        lines.append("# TYPE mockfleet_edge_instances gauge")
        for state, n in sorted(instance_states.items()):
            lines.append(f'mockfleet_edge_instances{{state="{state}"}} {n}')
        return ("\n".join(lines) + "\n").encode()
