"""The whole platform on a PostgreSQL registry: deploy, serve, rotate a key, restart, delete."""

from __future__ import annotations

import json
import time
import uuid as uuidlib

from supervisor.registry import Registry
from tests.conftest import Platform, deploy_body, make_env
from tests.postgres_server import PostgresServer, postgres_server  # noqa: F401  (the session's server)


def test_up_on_a_postgresql_registry_serves_and_keeps_deployments(tmp_path, postgres_server: PostgresServer) -> None:  # noqa: F811
    target = postgres_server.create_database()
    platform = Platform(tmp_path / "data", ("--registry", target))
    platform.start()
    try:
        assert not (platform.data_dir / "registry.sqlite3").exists()  # nothing went to the default file
        route = {"uuid": "r1", "type": "http", "method": "get", "endpoint": "hello",
                 "responses": [{"uuid": "s1", "body": '{"on": "postgres"}', "statusCode": 200, "default": True}]}
        environment = make_env([route], uuid=str(uuidlib.uuid4()), name="pg")
        status, answer = platform.api("POST", "/deployments", deploy_body(environment, visibility="PRIVATE"))
        assert status == 200, answer
        host = platform.host(answer["subdomain"])
        assert platform.request(host, "GET", "/hello")[0] == 401
        status, _, body = platform.request(host, "GET", "/hello", token=answer["apiKey"])
        assert status == 200 and json.loads(body) == {"on": "postgres"}
        registry = Registry(target)
        stored = registry.deployment(environment["uuid"])
        assert stored is not None and stored.api_key == answer["apiKey"] and stored.status == "RUNNING"
        deadline = time.monotonic() + 30  # the edge flushes its counts to the supervisor, which adds them up
        while registry.deployment_usage(environment["uuid"]) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert registry.deployment_usage(environment["uuid"]) == 1
        registry.close()

        platform.stop()
        platform.start()  # a restart finds the deployment in PostgreSQL and serves it again
        status, _, body = platform.request(host, "GET", "/hello", token=answer["apiKey"])
        assert status == 200 and json.loads(body) == {"on": "postgres"}
        assert platform.api("DELETE", f"/deployments/{environment['uuid']}")[0] in (200, 204)
        assert platform.request(host, "GET", "/hello", token=answer["apiKey"])[0] == 404
        assert Registry(target).deployment(environment["uuid"]) is None
    finally:
        platform.stop()
