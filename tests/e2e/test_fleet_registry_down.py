"""PostgreSQL goes down under a running server and comes back: the edge keeps serving the hosts it
knows, API calls fail clearly, counted requests are kept and reach the registry once it is back."""

from __future__ import annotations

import json
import time
import uuid as uuidlib

import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import make_env
from tests.fleet_platform import FleetServer
from tests.postgres_server import PostgresServer, PostgresUnavailable

OUTAGE_SECONDS = 4.0


def environment(name: str) -> dict:
    route = {"uuid": str(uuidlib.uuid4()), "type": "http", "method": "get", "endpoint": "hello",
             "responses": [{"uuid": str(uuidlib.uuid4()), "body": json.dumps({"mock": name}), "default": True}]}
    return make_env([route], uuid=str(uuidlib.uuid4()), name=name)


def deploy_body(env: dict) -> dict:
    return {"environment": env, "visibility": "PRIVATE", "subdomain": None, "region": "eu", "liveUpdate": False,
            "version": "9.9.0"}


def test_a_registry_outage_is_survived(tmp_path) -> None:
    try:
        postgres = PostgresServer()  # its own server: this test stops it
    except PostgresUnavailable as error:
        pytest.skip(f"no PostgreSQL server for this test: {error}")
    server = FleetServer(tmp_path / "eu1", "eu1", "eu", postgres.create_database())
    try:
        server.start()
        registry = Registry(server.extra[server.extra.index("--registry") + 1])
        registry.set_plan(PlanRow(name="TEAM", deployments_quota=3, monthly_requests_quota=100_000,
                                  requests_per_second=1000, trial=False))
        registry.close()
        status, answer = server.api("POST", "/deployments", deploy_body(environment("before")))
        assert status == 200, answer
        host, key, uuid = server.host(answer["subdomain"]), answer["apiKey"], answer["environmentUuid"]
        status, unseen = server.api("POST", "/deployments", deploy_body(environment("never asked")))
        assert status == 200, unseen
        # after the last API write through this edge (which empties its cache): the host it will know
        assert server.request(host, "GET", "/hello", token=key)[0] == 200

        processes = (server.pids("supervise"), server.pids("edge"))
        postgres.pause()
        served = 0
        until = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < until:  # the edge serves what it knows, and counts it
            status, _, body = server.request(host, "GET", "/hello", token=key)
            assert status == 200 and json.loads(body) == {"mock": "before"}, (status, body)
            served += 1
            time.sleep(0.05)
        assert server.request(host, "GET", "/hello", token="wrong")[0] == 401  # keys still checked from the cache
        unseen_host = server.host(unseen["subdomain"])
        assert server.request(unseen_host, "GET", "/hello", token=unseen["apiKey"])[0] == 503  # not known to the edge
        status, refused = server.api("POST", "/deployments", deploy_body(environment("during")))
        assert status == 503 and refused["message"].startswith("the registry is unavailable, nothing was changed"), refused
        assert server.api("POST", f"/deployments/{uuid}/api-key")[0] == 503
        assert "password" not in refused["message"]

        assert (server.pids("supervise"), server.pids("edge")) == processes  # nothing crashed or restarted
        postgres.resume()
        # a deploy as soon as PostgreSQL answers: the server's own heartbeat, held back by the outage
        # (longer than a server stays live without one), is no reason to refuse it
        deadline = time.monotonic() + 15
        while True:
            status, answer = server.api("POST", "/deployments", deploy_body(environment("after")))
            if status != 503 or not answer["message"].startswith("the registry is unavailable") \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # the connection is opened again at the next call
        assert status == 200, answer  # the supervisor found its registry again
        registry = Registry(server.extra[server.extra.index("--registry") + 1])
        while registry.deployment_usage(uuid) < 1 + served and time.monotonic() < deadline:
            time.sleep(0.2)
        assert registry.deployment_usage(uuid) == 1 + served  # nothing counted during the outage was lost
        registry.close()
        assert server.request(server.host(answer["subdomain"]), "GET", "/hello", token=answer["apiKey"])[0] == 200
    finally:
        server.stop()
        postgres.stop()
