"""The lifecycle with real processes: a request during a crash backoff is answered 503 with Retry-After
and does not restart the worker; the restart comes when the backoff is over."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Platform, deploy_body, running_platform
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
