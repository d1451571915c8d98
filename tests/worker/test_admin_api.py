"""The admin API of a real worker: token, state, logs (redacted), variables, buckets, live update, events."""

from __future__ import annotations

import json
import socket
import threading
import time

from tests.conftest import make_env
from tests.worker.test_serve import route

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _env() -> dict[str, object]:
    env = make_env([
        route("hello", '{"n": {{getGlobalVar "n"}}, "env": "{{getEnvVar "COLOUR"}}"}'),
        route("bucket", "", bodyType="DATABUCKET", databucketID="b1"),
    ])
    env["data"] = [{"uuid": "d1", "id": "b1", "name": "Users", "documentation": "", "value": '[{"id": 1}]'}]
    return env


def test_token_is_required_and_compared_exactly(worker_factory):
    worker = worker_factory(_env(), "--admin-api-token", TOKEN)
    assert worker.request("GET", "/mockoon-admin")[0] == 401
    assert worker.request("GET", "/mockoon-admin", headers={"Authorization": "Bearer wrong"})[0] == 401
    assert worker.request("GET", "/mockoon-admin", headers={"Authorization": f"Bearer {TOKEN}x"})[0] == 401
    status, _, body = worker.request("GET", "/mockoon-admin", headers=AUTH)
    assert status == 200 and b"admin API" in body


def test_without_configured_token_the_api_is_closed(worker_factory):
    worker = worker_factory(_env())
    for token in ("", "undefined", "null"):
        assert worker.request("GET", "/mockoon-admin/logs", headers={"Authorization": f"Bearer {token}"})[0] == 401


def test_global_vars_env_vars_and_purge(worker_factory):
    worker = worker_factory(_env(), "--admin-api-token", TOKEN)
    status, _, body = worker.request("POST", "/mockoon-admin/global-vars", json.dumps({"key": "n", "value": 42}),
                                     {**AUTH, "Content-Type": "application/json"})
    assert status == 200, body
    assert json.loads(body)["message"] == "Global variable 'n' has been set to '42'"
    assert json.loads(worker.request("GET", "/mockoon-admin/global-vars/n", headers=AUTH)[2]) == {"key": "n", "value": 42}
    status, _, body = worker.request("PUT", "/mockoon-admin/env-vars", json.dumps({"key": "COLOUR", "value": "blue"}), AUTH)
    assert status == 200
    assert json.loads(worker.request("GET", "/mockoon-admin/env-vars/COLOUR", headers=AUTH)[2]) == {
        "key": "MOCKOON_COLOUR", "value": "blue"}
    assert json.loads(worker.request("GET", "/hello")[2]) == {"n": 42, "env": "blue"}
    assert worker.request("POST", "/mockoon-admin/global-vars", "{}", AUTH)[0] == 400
    assert worker.request("GET", "/mockoon-admin/global-vars/missing", headers=AUTH)[0] == 404
    assert worker.request("POST", "/mockoon-admin/state/purge", headers=AUTH)[0] == 200
    assert worker.request("GET", "/mockoon-admin/global-vars/n", headers=AUTH)[0] == 404


def test_logs_are_redacted_and_paginated(worker_factory):
    worker = worker_factory(_env(), "--admin-api-token", TOKEN)
    for i in range(3):
        worker.request("GET", f"/hello?i={i}", headers={"Authorization": "Bearer consumer-secret", "Cookie": "a=b"})
    status, _, body = worker.request("GET", "/mockoon-admin/logs?limit=2", headers=AUTH)
    logs = json.loads(body)
    assert status == 200 and len(logs) == 2
    first = logs[0]
    assert first["request"]["urlPath"] == "/hello" and first["request"]["query"] == "i=0"
    assert first["request"]["route"] == "/hello" and first["response"]["statusCode"] == 200
    headers = {h["key"]: h["value"] for h in first["request"]["headers"]}
    assert headers["authorization"] == "Bearer [REDACTED]" and headers["cookie"] == "[REDACTED]"
    assert b"consumer-secret" not in body
    # the admin API's own calls are not logged
    assert all(not t["request"]["urlPath"].startswith("/mockoon-admin") for t in logs)
    assert worker.request("PURGE", "/mockoon-admin/logs", headers=AUTH)[0] == 200
    assert json.loads(worker.request("GET", "/mockoon-admin/logs", headers=AUTH)[2]) == []


def test_data_buckets_list_get_and_reset(worker_factory):
    worker = worker_factory(_env(), "--admin-api-token", TOKEN)
    listing = json.loads(worker.request("GET", "/mockoon-admin/data-buckets", headers=AUTH)[2])
    assert listing == [{"id": "b1", "name": "Users", "parsed": True, "validJson": True}]
    bucket = json.loads(worker.request("GET", "/mockoon-admin/data-buckets/users", headers=AUTH)[2])
    assert bucket["value"] == [{"id": 1}]
    assert worker.request("GET", "/mockoon-admin/data-buckets/none", headers=AUTH)[0] == 404
    assert worker.request("POST", "/mockoon-admin/data-buckets/purge", headers=AUTH)[0] == 200


def test_live_update_swaps_the_environment_and_keeps_state(worker_factory):
    worker = worker_factory(_env(), "--admin-api-token", TOKEN)
    worker.request("POST", "/mockoon-admin/global-vars", json.dumps({"key": "n", "value": 7}), AUTH)
    updated = _env()
    updated["routes"][0]["responses"][0]["body"] = '{"v": 2, "n": {{getGlobalVar "n"}} }'  # type: ignore[index]
    status, _, body = worker.request("PUT", "/mockoon-admin/environment", json.dumps(updated), AUTH)
    assert status == 200, body
    assert json.loads(worker.request("GET", "/hello")[2]) == {"v": 2, "n": 7}
    bad = worker.request("PUT", "/mockoon-admin/environment", json.dumps(["not", "an", "environment"]), AUTH)
    assert bad[0] == 400 and b"expected a Mockoon environment object" in bad[2]
    assert json.loads(worker.request("GET", "/hello")[2]) == {"v": 2, "n": 7}
    # like Mockoon's admin API, a repairable environment is repaired, not refused: routes "nope" -> []
    repaired = worker.request("PUT", "/mockoon-admin/environment", json.dumps({"routes": "nope"}), AUTH)
    assert repaired[0] == 200 and worker.request("GET", "/hello")[0] == 404


def test_live_update_does_not_drop_in_flight_requests(worker_factory):
    env = _env()
    env["routes"].append(route("slow", "old", latency=400))  # type: ignore[attr-defined]
    env["rootChildren"].append({"type": "route", "uuid": "r-slow-get"})  # type: ignore[attr-defined]
    worker = worker_factory(env, "--admin-api-token", TOKEN)
    results: list[tuple[int, bytes]] = []
    thread = threading.Thread(target=lambda: results.append(worker.request("GET", "/slow")[::2]))
    thread.start()
    time.sleep(0.1)
    env["routes"][-1]["responses"][0]["body"] = "new"  # type: ignore[index]
    assert worker.request("PUT", "/mockoon-admin/environment", json.dumps(env), AUTH)[0] == 200
    thread.join()
    assert results == [(200, b"old")]
    assert worker.request("GET", "/slow")[2] == b"new"


def test_events_stream_sends_transactions(worker_factory):
    worker = worker_factory(_env(), "--admin-api-token", TOKEN)
    worker.request("GET", "/hello?before=1")
    sock = socket.create_connection(("127.0.0.1", worker.port), timeout=5)
    sock.sendall(f"GET /mockoon-admin/events?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    received = b""
    while b"before=1" not in received:
        received += sock.recv(65536)
    assert b"text/event-stream" in received
    worker.request("GET", "/hello?after=1")
    while b"after=1" not in received:
        received += sock.recv(65536)
    sock.close()
    event = next(line for line in received.split(b"\n") if b"after=1" in line)
    payload = json.loads(event[event.index(b"data: ") + 6:])
    assert payload["event"] == "transaction-complete"
    assert payload["transaction"]["request"]["queryParams"] == {"after": "1"}
