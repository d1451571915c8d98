"""A fleet on one machine: `mockfleet up` processes with their own server ids, regions, ports and data
directories sharing one real PostgreSQL registry (issue 18)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import ROOT, free_port, make_env
from tests.fleet_platform import FleetServer
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401  (the session's server)

PROPAGATION_BOUND = 1.0  # seconds: a change made through one server, seen by another server's edge (measured 5-40 ms)
POLLED_BOUND = 1.5  # without notifications: the 0.5 s poll, with room for a loaded 2-core machine


def environment(name: str) -> dict[str, Any]:
    ids = {key: str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{name}/{key}")) for key in ("r", "s", "v", "vs")}
    hello = {"uuid": ids["r"], "type": "http", "method": "get", "endpoint": "hello",
             "responses": [{"uuid": ids["s"], "body": json.dumps({"mock": name}), "statusCode": 200, "default": True}]}
    variables = {"uuid": ids["v"], "type": "http", "method": "get", "endpoint": "vars",
                 "responses": [{"uuid": ids["vs"], "default": True, "body": '{"g": "{{getGlobalVar \'g\'}}"}'}]}
    return make_env([hello, variables], uuid=str(uuidlib.uuid4()), name=name)


def body(env: dict[str, Any], region: str | None, visibility: str = "PUBLIC") -> dict[str, Any]:
    return {"environment": env, "visibility": visibility, "subdomain": None, "region": region, "liveUpdate": False,
            "version": "9.9.0"}


def wait_for(check: Any, timeout: float, what: str) -> float:
    """Seconds until ``check()`` is true (polled every 20 ms)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer  # noqa: F811
          ) -> Iterator[tuple[str, FleetServer, FleetServer]]:
    target = postgres_server.create_database()
    root = tmp_path_factory.mktemp("fleet")
    eu = FleetServer(root / "eu1", "eu1", "eu", target, "--failover-after", "2")
    us = FleetServer(root / "us1", "us1", "us", target, "--failover-after", "2")
    eu.start()
    us.start()
    registry = Registry(target)
    registry.set_plan(PlanRow(name="TEAM", deployments_quota=3, monthly_requests_quota=100_000,
                              requests_per_second=1000, trial=False))
    registry.close()
    yield target, eu, us
    us.stop()
    eu.stop()


def test_a_second_up_with_a_live_server_id_is_refused_and_the_first_untouched(fleet, tmp_path: Path) -> None:
    target, eu, _ = fleet
    result = subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "up", "--data-dir", str(tmp_path / "other"), "--server-id", "eu1",
         "--region", "eu", "--registry", target, "--https-port", str(free_port()), "--bind", "127.0.0.1",
         "--metrics-port", "0"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "server id 'eu1' is already running on this registry" in result.stderr
    alone = subprocess.run(  # the supervisor alone checks too (a race with `up`'s check)
        [sys.executable, "-m", "supervisor.cli", "supervise", "--data-dir", str(tmp_path / "alone"), "--server-id",
         "eu1", "--region", "eu", "--registry", target], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert alone.returncode == 75 and "server id 'eu1' is already running" in alone.stderr, alone.stderr[-2000:]
    assert eu.request(eu.api_host, "GET", "/health")[0] == 200
    holder = (eu.data_dir / "server-holder").read_text()
    registry = Registry(target)
    row = registry.db.execute("SELECT holder, stopped FROM servers WHERE server_id = 'eu1'").fetchone()
    registry.close()
    assert (row[0], row[1]) == (holder, 0)
    listed = subprocess.run([sys.executable, "-m", "supervisor.cli", "registry", "servers", "--registry", target,
                             "--data-dir", str(tmp_path / "cli"), "--json"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert listed.returncode == 0, listed.stderr
    servers = {row["serverId"]: row for row in json.loads(listed.stdout)}
    assert {k: (v["region"], v["state"]) for k, v in servers.items()} == {"eu1": ("eu", "live"), "us1": ("us", "live")}
    assert servers["eu1"]["url"] == f"https://*.eu1.mockfleet.localhost:{eu.port}"


def test_deploys_go_to_their_region_and_any_server_answers(fleet) -> None:
    _, eu, us = fleet
    token = eu.token  # one account for the whole fleet: eu1's credentials work on us1's API
    for api, region, owner in ((eu, "eu", eu), (eu, "us", us), (us, "eu", eu), (us, None, us)):
        env = environment(f"{api.server_id}-{region}")
        started = time.monotonic()
        status, answer = api.api("POST", "/deployments", body(env, region, "PRIVATE"), token=token)
        took = time.monotonic() - started
        assert status == 200, answer
        print(f"deploy through {api.server_id} to {region}: {took * 1000:.0f} ms")
        assert answer["region"] == owner.server_id[:2]
        assert answer["url"] == f"https://{answer['subdomain']}.{owner.server_id}.mockfleet.localhost:{owner.port}"
        host = owner.host(answer["subdomain"])
        status, _, data = owner.request(host, "GET", "/hello", token=answer["apiKey"])  # serving when answered
        assert status == 200 and json.loads(data) == {"mock": env["name"]}
        other = us if owner is eu else eu
        assert other.request(other.host(answer["subdomain"]), "GET", "/hello", token=answer["apiKey"])[0] == 404
        listed = {d["environmentUuid"]: d for d in api.api("GET", "/deployments", token=token)[1]}
        assert listed[env["uuid"]]["url"] == answer["url"]
        assert api.api("DELETE", f"/deployments/{env['uuid']}", token=token)[0] == 200
        assert wait_for(lambda h=host, o=owner, k=answer["apiKey"]: o.request(h, "GET", "/hello", token=k)[0] == 404,
                        PROPAGATION_BOUND, "the delete reaching the owner's edge") < PROPAGATION_BOUND


def test_unknown_and_dead_regions_are_refused_naming_them(fleet) -> None:
    _, eu, _ = fleet
    status, answer = eu.api("POST", "/deployments", body(environment("nowhere"), "asia"))
    assert status == 422 and answer["message"] == "unknown region 'asia': this fleet has servers in eu, us", answer
    assert answer["path"] == "$.region"


def test_quota_rotation_and_delete_across_servers(fleet) -> None:
    _, eu, us = fleet
    token = us.token
    deployed: list[dict[str, Any]] = []
    for api, region in ((eu, "us"), (us, "eu"), (eu, "eu")):
        status, answer = api.api("POST", "/deployments", body(environment(f"quota-{region}-{len(deployed)}"), region,
                                                              "PRIVATE"), token=token)
        assert status == 200, answer
        deployed.append(answer)
    # the fourth is refused on TEAM whichever server is asked, by the count of the whole fleet
    for api in (eu, us):
        status, answer = api.api("POST", "/deployments", body(environment("one-too-many"), "us"), token=token)
        assert status == 403 and "quota" in answer["message"], answer
    on_us = deployed[0]
    host, old_key = us.host(on_us["subdomain"]), on_us["apiKey"]
    assert us.request(host, "GET", "/hello", token=old_key)[0] == 200  # the edge caches this key now
    status, rotated = eu.api("POST", f"/deployments/{on_us['environmentUuid']}/api-key", token=token)
    assert status == 200
    took = wait_for(lambda: us.request(host, "GET", "/hello", token=old_key)[0] == 401, PROPAGATION_BOUND,
                    "the rotated key refused on the other server")
    print(f"key rotated on eu1 refused on us1 after {took * 1000:.0f} ms")
    assert us.request(host, "GET", "/hello", token=rotated["apiKey"])[0] == 200
    # a delete through us1 of a deployment eu1 runs: gone from eu1's edge, and a slot free again
    on_eu = deployed[1]
    eu_host = eu.host(on_eu["subdomain"])
    assert eu.request(eu_host, "GET", "/hello", token=on_eu["apiKey"])[0] == 200
    assert us.api("DELETE", f"/deployments/{on_eu['environmentUuid']}", token=token)[0] == 200
    took = wait_for(lambda: eu.request(eu_host, "GET", "/hello", token=on_eu["apiKey"])[0] == 404,
                    PROPAGATION_BOUND, "the delete seen by eu1's edge")
    print(f"delete through us1 seen on eu1 after {took * 1000:.0f} ms")
    for answer in (deployed[0], deployed[2]):
        assert eu.api("DELETE", f"/deployments/{answer['environmentUuid']}", token=token)[0] == 200


def test_details_and_reset_asked_of_another_server_come_from_the_owner(fleet) -> None:
    _, eu, us = fleet
    token = eu.token
    status, answer = eu.api("POST", "/deployments", body(environment("reset-me"), "us"), token=token)
    assert status == 200, answer
    uuid, host = answer["environmentUuid"], us.host(answer["subdomain"])
    assert us.request(host, "POST", "/mockoon-admin/global-vars", {"key": "g", "value": "changed"},
                      token=answer["apiKey"])[0] == 200
    assert json.loads(us.request(host, "GET", "/vars")[2]) == {"g": "changed"}
    status, details = eu.api("GET", f"/deployments/{uuid}", token=token)  # asked of eu1, told by us1
    assert status == 200 and details["worker"] is not None and details["state"] == "RUNNING", details
    assert any("deployed revision 1" in event for event in details["events"]) and "outbound" in details
    status, details = eu.api("POST", f"/deployments/{uuid}/reset", token=token)
    assert status == 200, details
    assert details["revisions"][0]["kind"] == "reset" and details["worker"] is not None  # us1's own view
    assert json.loads(us.request(host, "GET", "/vars")[2]) == {"g": ""}
    # a re-deploy stays on its server, whatever region it names and whichever server is asked
    env = environment("reset-me")
    env["uuid"], env["name"] = uuid, "redeployed"
    env["routes"][0]["responses"][0]["body"] = json.dumps({"mock": "redeployed"})
    status, again = eu.api("POST", "/deployments", body(env, "eu"), token=token)
    assert status == 200 and again["url"] == answer["url"] and again["region"] == "us", again
    assert json.loads(us.request(host, "GET", "/hello")[2]) == {"mock": "redeployed"}
    assert eu.api("DELETE", f"/deployments/{uuid}", token=token)[0] == 200


def test_changes_still_arrive_within_a_second_when_notifications_are_lost(fleet) -> None:
    target, eu, us = fleet
    token = eu.token
    status, answer = eu.api("POST", "/deployments", body(environment("unnotified"), "us", "PRIVATE"), token=token)
    assert status == 200, answer
    host, key = us.host(answer["subdomain"]), answer["apiKey"]
    assert us.request(host, "GET", "/hello", token=key)[0] == 200
    with psycopg.connect(target, autocommit=True) as conn:  # cut every server's LISTEN connection
        cut = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()").fetchall()
    assert len(cut) >= 2
    assert eu.api("POST", f"/deployments/{answer['environmentUuid']}/api-key", token=token)[0] == 200
    took = wait_for(lambda: us.request(host, "GET", "/hello", token=key)[0] == 401, POLLED_BOUND,
                    "the rotation heard by polling")
    print(f"rotation heard without NOTIFY after {took * 1000:.0f} ms")
    assert eu.api("DELETE", f"/deployments/{answer['environmentUuid']}", token=token)[0] == 200


QUOTA, RATE = 40, 20


def test_the_monthly_quota_is_counted_and_enforced_fleet_wide(fleet) -> None:
    target, eu, us = fleet
    registry = Registry(target)
    registry.set_plan(PlanRow(name="METERED", deployments_quota=2, monthly_requests_quota=QUOTA,
                              requests_per_second=RATE, trial=False))
    account, token = registry.create_account("metered", "METERED")
    hosts = {}
    for server, region in ((eu, "eu"), (us, "us")):
        status, answer = eu.api("POST", "/deployments", body(environment(f"metered-{region}"), region), token=token)
        assert status == 200, answer
        hosts[server.server_id] = server.host(answer["subdomain"])

    def send(server: FleetServer, count: int) -> tuple[int, int]:
        """Requests at the plan's rate; (served, refused for the monthly quota)."""
        served = refused = 0
        for _ in range(count):
            status, _, data = server.request(hosts[server.server_id], "GET", "/hello")
            if status == 200:
                served += 1
            elif status == 429 and b"monthly" in data:
                refused += 1
            time.sleep(1 / RATE)
        return served, refused

    assert send(us, 1) == (1, 0)  # us1's edge knows the account now (and keeps what it learnt)
    assert send(eu, 30) == (30, 0)
    flushed = wait_for(lambda: registry.monthly_usage(account.id) >= 31, 5, "the edges' counts in the registry")
    print(f"counted requests in the registry {flushed * 1000:.0f} ms after the last one")
    served_us, refused_us = send(us, 30)
    served_eu, refused_eu = send(eu, 10)
    total = 31 + served_us + served_eu
    print(f"quota {QUOTA}: served {total} in the fleet (overshoot {total - QUOTA}; us1 {served_us}, eu1 {served_eu})")
    assert refused_us > 0 and refused_eu > 0  # both edges refuse on the fleet's total, not their own
    assert QUOTA - 31 <= served_us + served_eu
    assert total <= QUOTA + RATE * 2  # the documented bound: flush interval (0.5 s) + ack, times the rate, per server
    assert wait_for(lambda: registry.monthly_usage(account.id) == total, 5, "every served request counted") < 5
    # a plan change reaches every edge through its supervisor (a fleet event), not after the cache's 30 s
    registry.set_plan(PlanRow(name="METERED", deployments_quota=2, monthly_requests_quota=QUOTA * 10,
                              requests_per_second=RATE, trial=False))
    for server in (us, eu):
        took = wait_for(lambda s=server: s.request(hosts[s.server_id], "GET", "/hello")[0] == 200, PROPAGATION_BOUND,
                        f"the raised quota on {server.server_id}")
        print(f"plan change served by {server.server_id} after {took * 1000:.0f} ms")
    registry.close()


def test_a_killed_servers_deployments_fail_over_with_their_state(fleet, tmp_path: Path) -> None:
    target, eu, _ = fleet
    token = eu.token
    # the most room in region eu: the deploy goes there (eu1 is the other eu server, failing over after 2 s)
    lost = FleetServer(tmp_path / "eu3", "eu3", "eu", target, "--capacity", "100000")
    lost.start()
    try:
        status, answer = eu.api("POST", "/deployments", body(environment("survivor"), "eu"), token=token)
        assert status == 200 and f".{lost.server_id}." in answer["url"], answer
        uuid, host = answer["environmentUuid"], lost.host(answer["subdomain"])
        assert lost.request(host, "POST", "/mockoon-admin/global-vars", {"key": "g", "value": "kept"},
                            token=answer["apiKey"])[0] == 200
        time.sleep(1.5)  # the worker pushes its state within 0.9 s of a change
        lost.kill_hard()
        killed_at = time.monotonic()
        new_host = eu.host(answer["subdomain"])
        wait_for(lambda: eu.request(new_host, "GET", "/vars")[0] == 200, 30, "the deployment serving on eu1")
        print(f"failed over to eu1 and serving {time.monotonic() - killed_at:.1f} s after the kill")
        status, _, data = eu.request(new_host, "GET", "/vars")
        assert json.loads(data) == {"g": "kept"}  # its durable state came along
        details = eu.api("GET", f"/deployments/{uuid}", token=token)[1]
        assert details["url"] == f"https://{answer['subdomain']}.eu1.mockfleet.localhost:{eu.port}"
        assert any("failed over" in event for event in details["events"]), details["events"]
        assert eu.api("DELETE", f"/deployments/{uuid}", token=token)[0] == 200
    finally:
        if lost.proc is not None and lost.proc.poll() is None:
            lost.stop()


def test_a_server_back_after_its_failover_stops_its_workers_of_the_moved_deployments(fleet, tmp_path: Path) -> None:
    target, eu, _ = fleet
    token = eu.token
    frozen = FleetServer(tmp_path / "eu4", "eu4", "eu", target, "--capacity", "100000")
    frozen.start()
    try:
        status, answer = eu.api("POST", "/deployments", body(environment("frozen"), "eu"), token=token)
        assert status == 200 and ".eu4." in answer["url"], answer
        uuid, subdomain = answer["environmentUuid"], answer["subdomain"]
        worker = frozen.api("GET", f"/deployments/{uuid}", token=token)[1]["worker"]["pid"]
        [supervisor] = frozen.pids("supervise")
        os.kill(supervisor, signal.SIGSTOP)  # silent, not dead: its edge and worker keep running
        try:
            wait_for(lambda: ".eu1." in eu.api("GET", f"/deployments/{uuid}", token=token)[1]["url"], 30,
                     "the failover of the silent server's deployment")
        finally:
            os.kill(supervisor, signal.SIGCONT)

        def worker_gone() -> bool:
            try:
                return psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        took = wait_for(worker_gone, 15, "the returning server stopping its worker of the moved deployment")
        print(f"the returning server stopped its worker {took:.1f} s after it resumed")
        assert frozen.request(frozen.host(subdomain), "GET", "/hello")[0] == 404
        assert eu.request(eu.host(subdomain), "GET", "/hello")[0] == 200
        assert eu.api("DELETE", f"/deployments/{uuid}", token=token)[0] == 200
    finally:
        frozen.stop()
