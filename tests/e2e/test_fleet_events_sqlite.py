"""Fleet events without NOTIFY: on SQLite the supervisor polls them, so a plan changed from outside the
supervisor (``mockfleet plan set`` on the registry) reaches its edge within a second, not after the
edge cache's 30 s."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import Platform, deploy_body, make_env, running_platform

ROUTE = {"uuid": "r1", "type": "http", "method": "get", "endpoint": "hello",
         "responses": [{"uuid": "s1", "body": "hi", "statusCode": 200, "default": True}]}


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "events")


def test_a_plan_changed_in_the_registry_reaches_the_edge_by_polling(single: Platform) -> None:
    registry = Registry(single.data_dir / "registry.sqlite3")
    try:
        registry.set_plan(PlanRow(name="POLLED", deployments_quota=1, monthly_requests_quota=1000,
                                  requests_per_second=1000, trial=False))
        account, token = registry.create_account("polled", "POLLED")
        status, answer = single.api("POST", "/deployments", deploy_body(make_env([ROUTE], uuid="polled-env")),
                                    token=token)
        assert status == 200, answer
        host = single.host(answer["subdomain"])
        assert single.request(host, "GET", "/hello")[0] == 200  # the edge caches the plan's limits now
        registry.set_plan(PlanRow(name="POLLED", deployments_quota=1, monthly_requests_quota=0,
                                  requests_per_second=1000, trial=False))
        changed = time.monotonic()
        while single.request(host, "GET", "/hello")[0] != 429:
            assert time.monotonic() - changed < 2.0, "the plan change did not reach the edge within 2 s"
            time.sleep(0.02)
        print(f"plan change applied by the edge after {(time.monotonic() - changed) * 1000:.0f} ms (SQLite, polled)")
        status, _, data = single.request(host, "GET", "/hello")
        assert status == 429 and b"monthly requests quota of 0 reached" in data
    finally:
        registry.close()
