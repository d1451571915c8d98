"""Each migration on a hand-made environment of the old shape."""

from __future__ import annotations

import copy

import pytest

from schemas import decode_environment, migrate
from schemas.migrations import MIGRATIONS, rename_faker_v7_methods

V1_ENVIRONMENT = {
    "uuid": "e1", "name": "old", "port": 3000, "endpointPrefix": "", "latency": 0, "https": True,
    "routes": [{
        "uuid": "r1", "method": "get", "endpoint": "users", "statusCode": "201", "contentType": "text/plain",
        "customHeaders": [{"key": "X-A", "value": "1"}], "body": "{{faker 'name.firstName'}}",
        "latency": 0, "file": {"path": "/tmp/x.json"}, "sequentialResponse": True,
    }],
}


def test_v1_environment_migrates_to_33() -> None:
    env, report = decode_environment(__import__("json").dumps(V1_ENVIRONMENT))
    route = env.routes[0]
    response = route.responses[0]
    assert report.from_version == 0 and report.to_version == 33
    assert response.status_code == 201
    assert [(h.key, h.value) for h in response.headers] == [("Content-Type", "text/plain"), ("X-A", "1")]
    assert response.body == "{{faker 'person.firstName'}}"
    assert response.body_type == "FILE" and response.file_path == "/tmp/x.json"
    assert response.default is True
    assert env.tls_options.enabled is True
    assert route.response_mode == "SEQUENTIAL"
    # "r1" is not a UUID: like Mockoon, the repair gives the route a new one and lists that at the root
    assert [c.uuid for c in env.root_children] == [route.uuid] and route.uuid != "r1"
    assert env.hostname == ""


@pytest.mark.parametrize("step,before,check", [
    (18, {"routes": [{"responses": [{"rules": [{"isRegex": True}]}]}]},
     lambda e: e["routes"][0]["responses"][0]["rules"][0] == {"operator": "regex"}),
    (21, {"routes": [{"randomResponse": True, "sequentialResponse": False}]},
     lambda e: e["routes"][0] == {"responseMode": "RANDOM"}),
    (24, {"routes": [{"responses": [{"filePath": ""}]}]},
     lambda e: e["routes"][0]["responses"][0]["bodyType"] == "INLINE"),
    (27, {"hostname": "0.0.0.0"}, lambda e: e["hostname"] == ""),
    (30, {"routes": [{"responses": [{}]}]}, lambda e: e["callbacks"] == [] and e["routes"][0]["responses"][0]["callbacks"] == []),
    (33, {"routes": [{}]}, lambda e: e["routes"][0] == {"streamingMode": None, "streamingInterval": 0}),
])
def test_single_step(step: int, before: dict, check) -> None:
    env = copy.deepcopy(before)
    from schemas.migrations import MigrationReport

    MIGRATIONS[step](env, MigrationReport(step - 1, step))
    assert check(env), env


def test_disabled_routes_and_collapsed_folders_are_reported() -> None:
    env = {"lastMigration": 30, "routes": [{"uuid": "a", "enabled": False}, {"uuid": "b", "enabled": True}],
           "folders": [{"uuid": "f", "collapsed": True}]}
    report = migrate(env)
    assert report.disabled_routes == ["a"] and report.collapsed_folders == ["f"]
    assert "enabled" not in env["routes"][0]


def test_faker_renames_keep_arguments_and_drop_removed_methods() -> None:
    assert rename_faker_v7_methods("{{faker 'datatype.number' min=1}}") == "{{faker 'number.int' min=1 max=99999}}"
    assert rename_faker_v7_methods("a{{faker 'mersenne.rand'}}b") == "ab"
    assert rename_faker_v7_methods("no faker here") == "no faker here"


def test_every_migration_id_is_registered() -> None:
    assert sorted(MIGRATIONS) == list(range(1, 34))


def test_a_negative_last_migration_is_named_at_its_path() -> None:
    env = {"uuid": "u", "lastMigration": -5, "routes": []}
    report = migrate(env, 33)
    assert report.from_version == 0 and env["lastMigration"] == 33
    assert report.repairs[0].path == "$.lastMigration" and "-5 is below the first migration" in report.repairs[0].message
