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


def test_out_of_range_values_are_named_in_the_deploy_answer_and_served_as_mockoon_does(supervisor: Platform) -> None:
    """Before: ``lastMigration: -5`` was reported at an unrelated path, ``statusCode: 99999`` and
    ``latency: 1e12`` were accepted silently, and the latency held every request for ever."""
    import time

    token = account(supervisor)
    status, answer = supervisor.api("POST", "/deployments", deploy_body(env("old", lastMigration=-5)), token=token)
    assert status == 200, answer
    first = answer["warnings"][0]  # Mockoon applies every migration to it: the reason comes first
    assert first["path"] == "$.lastMigration" and "below the first migration" in first["message"], first
    environment = env("ranges")
    response = environment["routes"][0]["responses"][0]
    response.update(statusCode=99999, latency=10**12)
    status, answer = supervisor.api("POST", "/deployments", deploy_body(environment), token=token)
    assert status == 200, answer
    by_path = {w["path"]: w for w in answer["warnings"]}
    assert "99999 is not a number from 100 to 999: replaced by 200" in by_path[
        "$.routes[0].responses[0].statusCode"]["message"]
    overflow = by_path["$.routes[0].responses[0].latency"]
    assert overflow["code"] == "LATENCY_OVERFLOW" and "sent after 1 ms" in overflow["message"]
    started = time.monotonic()
    status, _, body = supervisor.request(supervisor.host(answer["subdomain"]), "GET", "/hello")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert time.monotonic() - started < 5


def test_the_admin_api_cannot_load_what_a_deploy_would_disable(supervisor: Platform) -> None:
    """Before: ``PUT /mockoon-admin/environment`` skipped the cloud sanitiser, so a proxy to an
    internal address, refused at deploy, could be switched on through the admin API (the worker's
    proxy mode is another branch's work: the log line is what fails without the fix today)."""
    import socket
    import threading

    token = account(supervisor)
    body = deploy_body(env("admin-put"))
    body["liveUpdate"] = True  # a deployment made with liveUpdate: false refuses the PUT outright
    answer = supervisor.api("POST", "/deployments", body, token=token)[1]
    host = supervisor.host(answer["subdomain"])
    connections: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            connections.append(conn.recv(1024))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")
            conn.close()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        updated = env("admin-put", proxyMode=True, proxyHost=f"http://127.0.0.1:{listener.getsockname()[1]}")
        updated["uuid"] = answer["environmentUuid"]
        status, _, body = supervisor.request(host, "PUT", "/mockoon-admin/environment", json.dumps(updated),
                                             token=answer["apiKey"], headers={"Content-Type": "application/json"})
        assert status == 200, body
        status, _, answered = supervisor.request(host, "GET", "/internal")
        # the outbound guard refuses the internal target at each request (Mockoon's proxy error)
        assert status == 504 and b"secret" not in answered, answered
        assert connections == []
        assert supervisor.request(host, "GET", "/hello")[0] == 200  # the new environment is served
        # the worker says what it disabled, in its log (GET /deployments/{uuid} shows the tail)
        details = supervisor.api("GET", f"/deployments/{answer['environmentUuid']}", token=token)[1]
        assert "admin API environment: $.proxyHost" in details["logTail"], details["logTail"]
    finally:
        stop.set()
        thread.join()
        listener.close()
