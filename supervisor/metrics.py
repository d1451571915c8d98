"""The supervisor's Prometheus metrics: per deployment, its lifecycle state, restarts and RSS; deploy
and wake durations; the worker processes actually running.

The edge's ``mockfleet_edge_instances`` counts the targets it has cached, not workers (it said 1
while 41 ran); only the supervisor knows its processes. Rendering is a pure function of values.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.lifecycle import DeploymentState

from .lifecycle import Life

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1

    def render(self, name: str) -> list[str]:
        lines = [f"# TYPE {name} histogram"]
        cumulative = 0
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            lines.append(f'{name}_bucket{{le="{le}"}} {cumulative}')
        lines += [f"{name}_sum {self.total}", f"{name}_count {self.n}"]
        return lines


@dataclass(frozen=True)
class DeploymentSample:
    """One deployment as the metrics see it."""

    uuid: str
    life: Life
    rss: int | None  # bytes, last measured; None without a worker
    processes: int  # worker processes alive: the serving one, one starting, old revisions draining


@dataclass
class SupervisorMetrics:
    deploy_seconds: Histogram = field(default_factory=Histogram)  # API request to the new revision serving
    wake_seconds: Histogram = field(default_factory=Histogram)  # a request's wake to the worker serving
    rss: dict[str, int] = field(default_factory=dict)  # by deployment, as the watch last measured
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)  # (from, to) → count

    def transition(self, uuid: str, before: Life, after: Life) -> None:
        key = (before.state.value, after.state.value)
        self.transitions[key] = self.transitions.get(key, 0) + 1
        if after.state is not DeploymentState.READY:
            self.rss.pop(uuid, None)

    def render(self, samples: Iterable[DeploymentSample], extra_processes: int = 0) -> bytes:
        """``extra_processes``: workers of no deployment's own (previous revisions still draining)."""
        samples = list(samples)
        lines = ["# HELP mockfleet_deployment_state 1 for the lifecycle state each deployment is in",
                 "# TYPE mockfleet_deployment_state gauge"]
        for sample in samples:
            for state in DeploymentState:
                if state is DeploymentState.DELETED:
                    continue
                value = int(sample.life.state is state)
                lines.append(f'mockfleet_deployment_state{{deployment="{sample.uuid}",state="{state.value}"}} {value}')
        lines += ["# HELP mockfleet_deployment_restarts_total restarts after an unexpected exit",
                  "# TYPE mockfleet_deployment_restarts_total counter"]
        lines += [f'mockfleet_deployment_restarts_total{{deployment="{s.uuid}"}} {s.life.restarts}' for s in samples]
        lines += ["# HELP mockfleet_deployment_rss_bytes resident memory of the deployment's serving worker",
                  "# TYPE mockfleet_deployment_rss_bytes gauge"]
        lines += [f'mockfleet_deployment_rss_bytes{{deployment="{s.uuid}"}} {s.rss}' for s in samples
                  if s.rss is not None]
        by_state: dict[str, int] = {state.value: 0 for state in DeploymentState if state is not DeploymentState.DELETED}
        for sample in samples:
            by_state[sample.life.state.value] = by_state.get(sample.life.state.value, 0) + 1
        lines += ["# HELP mockfleet_deployments deployments by lifecycle state", "# TYPE mockfleet_deployments gauge"]
        lines += [f'mockfleet_deployments{{state="{state}"}} {n}' for state, n in sorted(by_state.items())]
        lines += ["# HELP mockfleet_workers_running worker processes alive (serving, starting or draining)",
                  "# TYPE mockfleet_workers_running gauge",
                  f"mockfleet_workers_running {sum(s.processes for s in samples) + extra_processes}"]
        lines += ["# TYPE mockfleet_lifecycle_transitions_total counter"]
        lines += [f'mockfleet_lifecycle_transitions_total{{from="{a}",to="{b}"}} {n}'
                  for (a, b), n in sorted(self.transitions.items())]
        lines += self.deploy_seconds.render("mockfleet_deploy_seconds")
        lines += self.wake_seconds.render("mockfleet_wake_seconds")
        return ("\n".join(lines) + "\n").encode()
