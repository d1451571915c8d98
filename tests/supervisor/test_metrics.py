"""The supervisor's metrics text, from values (the scrape with real processes is in tests/e2e/test_lifecycle_platform.py)."""

from __future__ import annotations

from supervisor.lifecycle import Life, State
from supervisor.metrics import DeploymentSample, SupervisorMetrics


def lines(text: bytes) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in text.decode().splitlines()
            if line and not line.startswith("#")}


def test_states_restarts_memory_and_the_running_workers() -> None:
    metrics = SupervisorMetrics()
    metrics.deploy_seconds.observe(0.04)
    metrics.deploy_seconds.observe(0.7)
    metrics.wake_seconds.observe(0.02)
    metrics.transition("b", Life(state=State.READY), Life(state=State.BACKOFF))
    samples = [DeploymentSample("a", Life(state=State.READY, worker=1, restarts=2), rss=50 * 2**20, processes=1),
               DeploymentSample("b", Life(state=State.BACKOFF), rss=None, processes=0),
               DeploymentSample("c", Life(state=State.FAILED), rss=None, processes=0)]
    got = lines(metrics.render(samples, extra_processes=1))
    assert got['mockfleet_deployment_state{deployment="a",state="RUNNING"}'] == "1"
    assert got['mockfleet_deployment_state{deployment="a",state="STOPPED"}'] == "0"
    assert got['mockfleet_deployment_state{deployment="b",state="BACKOFF"}'] == "1"
    assert got['mockfleet_deployment_state{deployment="c",state="FAILED"}'] == "1"
    assert not any('state="DELETED"' in name for name in got)
    assert got['mockfleet_deployment_restarts_total{deployment="a"}'] == "2"
    assert got['mockfleet_deployment_rss_bytes{deployment="a"}'] == str(50 * 2**20)
    assert 'mockfleet_deployment_rss_bytes{deployment="b"}' not in got
    assert got["mockfleet_workers_running"] == "2"  # a's worker and a previous revision still draining
    assert got['mockfleet_deployments{state="RUNNING"}'] == "1" and got['mockfleet_deployments{state="STARTING"}'] == "0"
    assert got['mockfleet_lifecycle_transitions_total{from="RUNNING",to="BACKOFF"}'] == "1"
    assert got['mockfleet_deploy_seconds_bucket{le="0.05"}'] == "1"
    assert got['mockfleet_deploy_seconds_bucket{le="1.0"}'] == "2"
    assert got['mockfleet_deploy_seconds_bucket{le="+Inf"}'] == "2" and got["mockfleet_deploy_seconds_count"] == "2"
    assert got["mockfleet_wake_seconds_count"] == "1"


def test_leaving_ready_forgets_the_memory_measured() -> None:
    metrics = SupervisorMetrics()
    metrics.rss["a"] = 123
    metrics.transition("a", Life(state=State.READY), Life(state=State.DRAINING))
    assert "a" not in metrics.rss
