"""Deploys built to break the supervisor: answered 422 with the path and the rule, never a 500.

Before: an environment nested 100,000 levels deep hit a RecursionError (500), and a uuid such
as ``../../etc`` was stored and could never be deleted (no URL names it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from schemas.decode import MAX_ENVIRONMENT_DEPTH
from tests.conftest import Platform, deploy_body, running_platform
from tests.e2e.test_platform import account, env


def with_uuid(name: str, uuid: str) -> dict:
    environment = env(name)
    environment["uuid"] = uuid
    return environment


@pytest.fixture(scope="module")
def supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "hostile-deploys")


def _post(platform: Platform, token: str, body: bytes) -> tuple[int, dict]:
    status, _, data = platform.request(platform.api_host, "POST", "/deployments", body, token=token,
                                       headers={"Content-Type": "application/json"})
    return status, json.loads(data)


@pytest.mark.parametrize("depth", [MAX_ENVIRONMENT_DEPTH + 1, 500, 5_000, 100_000])
def test_a_deeply_nested_environment_is_refused_naming_the_depth_limit(supervisor: Platform, depth: int) -> None:
    token = account(supervisor)
    deep = env("deep")
    text = json.dumps(deploy_body(deep))
    marker = '"name": "deep"'
    nested = '"name": "deep", "extra": ' + "[" * depth + "]" * depth
    status, answer = _post(supervisor, token, text.replace(marker, nested).encode())
    assert status == 422, answer
    assert f"nested deeper than the {MAX_ENVIRONMENT_DEPTH} levels allowed" in answer["message"]
    assert answer["path"].startswith("$"), answer
    assert supervisor.api("GET", "/deployments", token=token)[1] == []


def test_nesting_within_the_limit_deploys(supervisor: Platform) -> None:
    token = account(supervisor)
    fine = env("fine")
    fine["extra"] = json.loads("[" * 20 + "]" * 20)
    status, answer = _post(supervisor, token, json.dumps(deploy_body(fine)).encode())
    assert status == 200, answer


@pytest.mark.parametrize("uuid", ["../../etc", "..", ".", "a/b", "x y", "-leading", "é", "a" * 129, "a%2Fb"])
def test_environment_uuids_that_no_url_could_name_are_refused(supervisor: Platform, uuid: str) -> None:
    token = account(supervisor)
    status, answer = supervisor.api("POST", "/deployments", deploy_body(with_uuid("bad-uuid", uuid)), token=token)
    assert status == 422 and answer["path"] == "$.uuid", answer
    assert "not a valid environment uuid" in answer["message"]
    assert supervisor.api("GET", "/deployments", token=token)[1] == []


def test_a_valid_uuid_deploys_and_deletes(supervisor: Platform) -> None:
    token = account(supervisor)
    for uuid in ("0f8fad5b-d9cb-469f-a165-70867728950e", "legacy_env.1:a"):
        status, answer = supervisor.api("POST", "/deployments", deploy_body(with_uuid("ok", uuid)), token=token)
        assert status == 200, answer
        assert supervisor.api("DELETE", f"/deployments/{uuid}", token=token)[0] == 200
    assert supervisor.api("GET", "/deployments", token=token)[1] == []
