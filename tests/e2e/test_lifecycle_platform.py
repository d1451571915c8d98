"""The lifecycle with real processes: a request during a crash backoff is answered 503 with Retry-After
and does not restart the worker (the restart comes when the backoff is over); the supervisor's
metrics follow deployments through deploys, idle stops, wakes and crashes."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from tests.conftest import Platform, deploy_body, free_port, running_platform
from tests.e2e.test_platform import env


@pytest.fixture(scope="module")
def life(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "life")


def _details(platform: Platform, uuid: str) -> dict[str, Any]:
    status, answer = platform.api("GET", f"/deployments/{uuid}")
    assert status == 200, answer
    return dict(answer)


def _until(platform: Platform, uuid: str, test: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    details: dict[str, Any] = {}
    while time.monotonic() < deadline:
        details = _details(platform, uuid)
        if test(details):
            return details
        time.sleep(0.05)
    raise AssertionError(details)


def _serving(details: dict[str, Any]) -> bool:
    return details["state"] == "RUNNING" and details["worker"] is not None


def test_a_request_during_a_crash_backoff_is_refused_and_does_not_restart_the_worker(life: Platform) -> None:
    status, answer = life.api("POST", "/deployments", deploy_body(env("crashy")))
    assert status == 200, answer
    uuid, host = answer["environmentUuid"], life.host(answer["subdomain"])
    assert life.request(host, "GET", "/hello")[0] == 200
    # three crashes (backoffs of 0.25, 0.5 and 1 s), then the fourth: a 2 s backoff, long enough to ask in
    for crash in range(4):
        pid = _until(life, uuid, _serving)["worker"]["pid"]
        os.kill(pid, signal.SIGKILL)
        if crash < 3:
            _until(life, uuid, lambda d, pid=pid: _serving(d) and d["worker"]["pid"] != pid)
    backoff = _until(life, uuid, lambda d: d["state"] == "BACKOFF")
    assert backoff["worker"] is None and "exited unexpectedly" in backoff["lastError"]
    asked = time.monotonic()
    status, headers, body = life.request(host, "GET", "/hello")
    assert status == 503, body
    assert 1 <= int(headers["retry-after"]) <= 2 and b"restarting after a crash" in body
    if time.monotonic() - asked < 1.0:  # the answer came within the backoff: it must not have started anything
        assert _details(life, uuid)["state"] == "BACKOFF"
    restarted = _until(life, uuid, _serving)
    assert time.monotonic() - asked >= 0.5  # not before the backoff was over
    assert not any("woken by a request" in e for e in restarted["events"])
    assert sum("restart after exit" in e for e in restarted["events"]) == 4
    assert life.request(host, "GET", "/hello")[0] == 200


METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "metered", "--idle-stop-seconds", "5",
                                "--supervisor-metrics-port", str(METRICS_PORT))


def scrape() -> dict[str, float]:
    """The supervisor's /metrics as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def worker_processes(platform: Platform) -> int:
    """Worker processes of this platform serving a deployment, found from the processes themselves: a
    spawned one names its socket in the run directory, which exists; a forked one (a child of the run
    directory's fork server, with its command line) listens on such a socket. A spare, waiting for a
    hand-over, has bound nothing yet."""
    run_dir = str(platform.data_dir.resolve() / "run")

    def forked(cmdline: list[str]) -> bool:
        return "--fork-server" in cmdline and any(arg.startswith(run_dir + "/fork-") for arg in cmdline)

    def listening(proc: psutil.Process) -> bool:
        try:
            return any(isinstance(c.laddr, str) and c.laddr.startswith(run_dir + "/w-")
                       for c in proc.net_connections(kind="unix"))
        except psutil.Error:
            return False

    count = 0
    for proc in psutil.process_iter(["cmdline", "status", "ppid"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        if "--uds" in cmdline and any(arg.startswith(run_dir) and arg.endswith(".sock") and os.path.exists(arg)
                                      for arg in cmdline):
            count += 1
        elif forked(cmdline):
            try:
                count += forked(psutil.Process(proc.info["ppid"]).cmdline()) and listening(proc)
            except psutil.Error:
                pass
    return count


def _scrape_until(test: Any, timeout: float = 30) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    samples: dict[str, float] = {}
    while time.monotonic() < deadline:
        samples = scrape()
        if test(samples):
            return samples
        time.sleep(0.2)
    raise AssertionError(samples)


def test_supervisor_metrics_per_deployment_with_real_workers(metered: Platform) -> None:
    deployed = []
    environments = [env(f"metered-{index}") for index in range(3)]
    for environment in environments:
        status, answer = metered.api("POST", "/deployments", deploy_body(environment))
        assert status == 200, answer
        deployed.append((answer["environmentUuid"], metered.host(answer["subdomain"])))
        assert metered.request(deployed[-1][1], "GET", "/hello")[0] == 200

    def state(samples: dict[str, float], uuid: str, name: str) -> float:
        return samples[f'mockfleet_deployment_state{{deployment="{uuid}",state="{name}"}}']

    # all three serve: their state, their memory, and as many running workers as there are processes
    samples = _scrape_until(lambda s: all(f'mockfleet_deployment_rss_bytes{{deployment="{u}"}}' in s
                                          for u, _ in deployed))
    for uuid, _ in deployed:
        assert state(samples, uuid, "RUNNING") == 1 and state(samples, uuid, "STOPPED") == 0
        assert samples[f'mockfleet_deployment_rss_bytes{{deployment="{uuid}"}}'] > 10 * 2**20
        assert samples[f'mockfleet_deployment_restarts_total{{deployment="{uuid}"}}'] == 0
    assert samples["mockfleet_workers_running"] == 3 == worker_processes(metered)
    assert samples['mockfleet_deployments{state="RUNNING"}'] == 3
    assert samples["mockfleet_deploy_seconds_count"] == 3 and samples["mockfleet_deploy_seconds_sum"] > 0
    assert samples['mockfleet_deploy_seconds_bucket{le="+Inf"}'] == 3

    # idle: all stopped, no worker runs, and the gauge says so
    samples = _scrape_until(lambda s: s['mockfleet_deployments{state="STOPPED"}'] == 3)
    assert samples["mockfleet_workers_running"] == 0 == worker_processes(metered)
    assert not any(name.startswith("mockfleet_deployment_rss_bytes") for name in samples)

    # woken by requests: three wakes in the histogram
    for _, host in deployed:
        assert metered.request(host, "GET", "/hello")[0] == 200
    samples = scrape()
    assert samples["mockfleet_wake_seconds_count"] == 3 and samples['mockfleet_wake_seconds_bucket{le="+Inf"}'] == 3
    assert samples["mockfleet_workers_running"] == 3 == worker_processes(metered)

    # a crash is a restart
    uuid, host = deployed[0]
    assert metered.request(host, "GET", "/hello")[0] == 200  # a fresh request: no idle stop for 5 s
    details = _until(metered, uuid, _serving)
    os.kill(details["worker"]["pid"], signal.SIGKILL)
    samples = _scrape_until(lambda s: s[f'mockfleet_deployment_restarts_total{{deployment="{uuid}"}}'] == 1
                            and state(s, uuid, "RUNNING") == 1)
    assert samples['mockfleet_lifecycle_transitions_total{from="RUNNING",to="BACKOFF"}'] == 1
    assert metered.request(host, "GET", "/hello")[0] == 200

    # a re-deploy: one more deploy timed; the previous revision, draining, counts while it lives
    uuid, host = deployed[1]
    assert metered.request(host, "GET", "/hello")[0] == 200
    environments[1]["routes"][0]["responses"][0]["body"] = '{"hello": "again"}'
    status, answer = metered.api("POST", "/deployments", deploy_body(environments[1]))
    assert status == 200, answer
    samples = scrape()
    assert samples["mockfleet_deploy_seconds_count"] == 4 and state(samples, uuid, "RUNNING") == 1
    _scrape_until(lambda s: s["mockfleet_workers_running"] == worker_processes(metered))


def test_the_supervisors_metrics_port_answers_404_elsewhere(metered: Platform) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/other", timeout=10)
    assert refused.value.code == 404
