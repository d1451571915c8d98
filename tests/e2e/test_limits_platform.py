"""A platform whose workers get a memory ceiling below what they need: killed, reported, crash loop stops."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import Platform, deploy_body
from tests.e2e.test_platform import env


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    instance = Platform(tmp_path_factory.mktemp("tight") / "data", ("--worker-rss-limit-mb", "20"))
    instance.start()
    yield instance
    instance.stop()


def test_worker_over_its_memory_limit_is_killed_and_crash_loop_is_reported(tight: Platform) -> None:
    status, answer = tight.api("POST", "/deployments", deploy_body(env("hungry")))
    assert status == 200, answer
    uuid = answer["environmentUuid"]
    deadline = time.monotonic() + 40
    details: dict = {}
    while time.monotonic() < deadline:
        details = tight.api("GET", f"/deployments/{uuid}")[1]
        if details["state"] == "FAILED":
            break
        time.sleep(0.5)
    assert details["state"] == "FAILED", details
    assert any("memory" in e and "over the limit of 20 MiB" in e for e in details["events"])
    assert "crash loop" in details["lastError"]
    status, headers, body = tight.request(tight.host(answer["subdomain"]), "GET", "/hello")
    assert status == 503 and "retry-after" in headers
    # a re-deploy is the way out; nothing was lost from the registry meanwhile
    assert [d["environmentUuid"] for d in tight.api("GET", "/deployments")[1]] == [uuid]
