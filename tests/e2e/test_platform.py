"""The whole platform through real TLS: the app's deploy contract, keys, limits, quotas, deletes, kills."""

from __future__ import annotations

import json
import os
import signal
import ssl
import sys
import threading
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

import pytest

from supervisor.registry import PlanRow, Registry, Runtime
from tests.conftest import ROOT, Platform, deploy_body, make_env


def env(name: str, body: str = '{"hello": "world"}', **fields: Any) -> dict[str, Any]:
    route = {"uuid": f"r-{name}", "type": "http", "method": "get", "endpoint": "hello",
             "responses": [{"uuid": f"s-{name}", "body": body, "statusCode": 200, "default": True}]}
    return make_env([route], uuid=str(uuidlib.uuid4()), name=name, **fields)


def account(platform: Platform, plan: str = "TEAM") -> str:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    try:
        return registry.create_account(f"acct-{uuidlib.uuid4().hex[:6]}", plan)[1]
    finally:
        registry.close()


def deploy(platform: Platform, token: str, environment: dict[str, Any], **kw: Any) -> dict[str, Any]:
    status, answer = platform.api("POST", "/deployments", deploy_body(environment, **kw), token=token)
    assert status == 200, answer
    return answer


def test_deploy_with_the_apps_request_then_call_the_mock(platform: Platform) -> None:
    token = account(platform)
    environment = env("first")
    answer = deploy(platform, token, environment)
    assert answer["environmentUuid"] == environment["uuid"]
    assert answer["subdomain"].startswith("mock-") and len(answer["subdomain"]) == 13
    assert answer["url"] == f"https://{answer['subdomain']}.local.mockfleet.localhost:{platform.port}"
    assert answer["status"] == "RUNNING" and answer["visibility"] == "PUBLIC" and answer["apiKey"]
    status, headers, body = platform.request(platform.host(answer["subdomain"]), "GET", "/hello")
    assert status == 200 and json.loads(body) == {"hello": "world"}
    assert headers["content-type"] == "application/json; charset=utf-8"
    listed = platform.api("GET", "/deployments", token=token)[1]
    assert [d["environmentUuid"] for d in listed] == [environment["uuid"]]
    # unknown hosts and unknown accounts
    assert platform.request(platform.host("nothing-here"), "GET", "/")[0] == 404
    assert platform.api("GET", "/deployments", token="wrong")[0] == 401


def test_subdomain_rules(platform: Platform) -> None:
    token = account(platform)
    taken = deploy(platform, token, env("taken"), subdomain="taken-name")
    check = lambda sub, env_uuid="x": platform.api("POST", "/deployments/subdomain",  # noqa: E731
                                                   {"subdomain": sub, "environmentUuid": env_uuid}, token=token)[0]
    assert check("free-name") == 200
    assert check("taken-name") == 409
    assert check("taken-name", taken["environmentUuid"]) == 200  # its own name
    for bad in ("abcd", "-abcde", "abcde-", "ABCDE", "a" * 51, "has_underscore", "api"):
        assert check(bad) == 422, bad
    status, answer = platform.api("POST", "/deployments", deploy_body(env("dup"), subdomain="taken-name"), token=token)
    assert status == 409 and "taken" in answer["message"]


def test_private_instance_needs_its_key_and_rotation_is_immediate(platform: Platform) -> None:
    token = account(platform)
    answer = deploy(platform, token, env("private"), visibility="PRIVATE")
    host = platform.host(answer["subdomain"])
    status, headers, body = platform.request(host, "GET", "/hello")
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")
    assert json.loads(body)["message"]
    assert platform.request(host, "GET", "/hello", token="not-the-key")[0] == 401
    assert platform.request(host, "GET", "/hello", token=answer["apiKey"])[0] == 200
    status, rotated = platform.api("POST", f"/deployments/{answer['environmentUuid']}/api-key", token=token)
    assert status == 200 and rotated["apiKey"] != answer["apiKey"]
    assert platform.request(host, "GET", "/hello", token=answer["apiKey"])[0] == 401
    assert platform.request(host, "GET", "/hello", token=rotated["apiKey"])[0] == 200


def test_admin_api_needs_the_key_even_when_public_and_events_stream_through_the_edge(platform: Platform) -> None:
    token = account(platform)
    answer = deploy(platform, token, env("admin"))
    host = platform.host(answer["subdomain"])
    assert platform.request(host, "GET", "/mockoon-admin")[0] == 401
    status, _, body = platform.request(host, "GET", "/mockoon-admin", token=answer["apiKey"])
    assert status == 200 and b"admin API" in body
    # server-sent events through TLS and the edge
    conn = platform.connection(host)
    conn.request("GET", "/mockoon-admin/events", headers={"Authorization": f"Bearer {answer['apiKey']}"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-type") == "text/event-stream"
    platform.request(host, "GET", "/hello?via=edge")
    line = b""
    deadline = time.monotonic() + 10
    while b"via=edge" not in line and time.monotonic() < deadline:
        line = response.fp.readline()
    conn.close()
    assert b"transaction-complete" in line and b"via=edge" in line


def test_rate_limit_answers_429_with_headers(platform: Platform) -> None:
    token = account(platform, "SOLO")  # 3 requests per second
    answer = deploy(platform, token, env("limited"))
    host = platform.host(answer["subdomain"])
    conn = platform.connection(host)
    statuses = []
    for _ in range(8):
        status, headers, body = platform.request(host, "GET", "/hello", conn=conn)
        statuses.append(status)
        if status == 429:
            limited = (headers, json.loads(body))
    conn.close()
    assert statuses[:3] == [200, 200, 200] and 429 in statuses
    headers, payload = limited
    assert int(headers["retry-after"]) >= 1
    assert headers["ratelimit-limit"] == "3" and headers["ratelimit-remaining"] == "0"
    assert "3 requests per second" in payload["message"]
    time.sleep(1.1)
    assert platform.request(host, "GET", "/hello")[0] == 200


def test_monthly_quota_is_enforced_and_counted_requests_are_persisted(platform: Platform) -> None:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.set_plan(PlanRow(name="TINY", deployments_quota=1, monthly_requests_quota=4, requests_per_second=100,
                              trial=False))
    account_obj, token = registry.create_account("tiny", "TINY")
    answer = deploy(platform, token, env("quota"))
    host = platform.host(answer["subdomain"])
    statuses = [platform.request(host, "GET", "/hello")[0] for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    status, _, body = platform.request(host, "GET", "/hello")
    assert status == 429 and "monthly requests quota of 4" in json.loads(body)["message"]
    time.sleep(1.5)  # the edge reports at least every second
    assert registry.monthly_usage(account_obj.id) == 4
    info = platform.api("GET", "/account", token=token)[1]
    assert info["monthlyRequestsUsed"] == 4 and info["nextQuotaResetOn"].endswith("T00:00:00.000Z")
    # second deployment is over this plan's deployments quota
    status, answer2 = platform.api("POST", "/deployments", deploy_body(env("quota2")), token=token)
    assert status == 403 and "quota" in answer2["message"]
    registry.close()


def test_delete_frees_quota_and_url_answers_404(platform: Platform) -> None:
    token = account(platform, "SOLO")
    answer = deploy(platform, token, env("deleted"))
    host = platform.host(answer["subdomain"])
    assert platform.request(host, "GET", "/hello")[0] == 200
    assert platform.api("POST", "/deployments", deploy_body(env("over")), token=token)[0] == 403
    status, _ = platform.api("DELETE", f"/deployments/{answer['environmentUuid']}", token=token)
    assert status == 200
    assert platform.request(host, "GET", "/hello")[0] == 404
    assert platform.api("GET", "/deployments", token=token)[1] == []
    assert platform.api("DELETE", f"/deployments/{answer['environmentUuid']}", token=token)[0] == 404
    deploy(platform, token, env("after-delete"))


def test_invalid_environments_are_refused_with_their_path(platform: Platform) -> None:
    token = account(platform)
    status, answer = platform.api("POST", "/deployments", deploy_body([1, 2]), token=token)  # type: ignore[arg-type]
    assert status == 422  # the deploy request itself: environment must be an object
    future = env("future", lastMigration=99)
    status, answer = platform.api("POST", "/deployments", deploy_body(future), token=token)
    assert status == 422 and "99" in answer["message"] and "33" in answer["message"]
    status, answer = platform.api("POST", "/deployments", b"{not json", token=token)
    assert status == 400
    assert platform.api("GET", "/deployments", token=token)[1] == []


def test_file_bodies_are_reported_and_not_served(platform: Platform) -> None:
    token = account(platform)
    environment = env("files")
    environment["routes"][0]["responses"][0].update({"bodyType": "FILE", "filePath": "/etc/passwd"})
    answer = deploy(platform, token, environment)
    assert [w["code"] for w in answer["warnings"] if not w["code"].startswith("REPAIR_")] == ["FILE_BODY_NOT_SERVED"]
    status, _, body = platform.request(platform.host(answer["subdomain"]), "GET", "/hello")
    assert b"root:" not in body and b"ENOENT" in body


def test_repairable_environments_are_repaired_and_each_repair_is_a_warning(platform: Platform) -> None:
    token = account(platform)
    broken = env("broken")
    broken["routes"][0]["responses"][0]["statusCode"] = "two hundred"
    answer = deploy(platform, token, broken)
    repair = next(w for w in answer["warnings"] if w["path"] == "$.routes[0].responses[0].statusCode")
    assert repair["code"] == "REPAIR_DEFAULT" and "replaced by 200" in repair["message"]
    assert platform.request(platform.host(answer["subdomain"]), "GET", "/hello")[0] == 200
    details = platform.api("GET", f"/deployments/{answer['environmentUuid']}", token=token)[1]
    assert repair in details["warnings"]


def test_a_route_disabled_in_the_file_stays_refused_after_deploy_and_restart(platform: Platform) -> None:
    """The migration's decision reaches the worker in the hand-over, and the registry keeps it for restarts."""
    from tests.worker.test_handover import OFF, schema_30

    token = account(platform)
    environment = schema_30()
    environment["uuid"] = str(uuidlib.uuid4())
    answer = deploy(platform, token, environment)
    host = platform.host(answer["subdomain"])
    assert platform.request(host, "GET", "/on")[0] == 200
    assert platform.request(host, "GET", "/off")[0] == 404
    uuid = answer["environmentUuid"]
    pid = platform.api("GET", f"/deployments/{uuid}", token=token)[1]["worker"]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        worker = platform.api("GET", f"/deployments/{uuid}", token=token)[1]["worker"]
        if worker and worker["pid"] != pid and platform.request(host, "GET", "/on")[0] == 200:
            break
        time.sleep(0.2)
    assert platform.request(host, "GET", "/on")[0] == 200
    assert platform.request(host, "GET", "/off")[0] == 404, f"route {OFF} is served after a restart"


def test_zero_downtime_redeploy_under_a_steady_stream(platform: Platform) -> None:
    token = account(platform)
    environment = env("steady", body="v1")
    answer = deploy(platform, token, environment)
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.set_plan(PlanRow(name="TEAM", deployments_quota=3, monthly_requests_quota=100_000,
                              requests_per_second=1000, trial=False))
    registry.close()
    host = platform.host(answer["subdomain"])
    failures: list[Any] = []
    bodies: set[bytes] = set()
    done = threading.Event()

    def stream() -> None:
        conn = platform.connection(host)
        while not done.is_set():
            try:
                status, _, body = platform.request(host, "GET", "/hello", conn=conn)
                if status != 200:
                    failures.append((status, body))
                bodies.add(body)
            except Exception as error:  # noqa: BLE001 - every failure is recorded
                failures.append(repr(error))
                conn = platform.connection(host)
            time.sleep(0.01)

    # cached plan limits: resolve again after the plan change
    threads = [threading.Thread(target=stream, daemon=True) for _ in range(2)]
    for version in ("v2", "v3", "v4"):
        if not threads[0].is_alive():
            for t in threads:
                t.start()
        environment["routes"][0]["responses"][0]["body"] = version
        deploy(platform, token, environment)
        time.sleep(0.5)
    done.set()
    for t in threads:
        t.join()
    assert failures == []
    assert b"v4" in bodies and b"v3" in bodies


def test_worker_kill_is_restarted_and_memory_limit_reported(platform: Platform) -> None:
    import psutil

    token = account(platform)
    answer = deploy(platform, token, env("killed"))
    uuid = answer["environmentUuid"]
    host = platform.host(answer["subdomain"])
    pid = platform.api("GET", f"/deployments/{uuid}", token=token)[1]["worker"]["pid"]
    os.kill(pid, signal.SIGKILL)
    # while it restarts, consumers get an answer at once (never a hang): 503 with a retry hint, or 200
    started = time.monotonic()
    status, headers, body = platform.request(host, "GET", "/hello")
    assert time.monotonic() - started < 10
    assert status == 200 or (status in (502, 503) and "retry-after" in headers and json.loads(body)["message"])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        details = platform.api("GET", f"/deployments/{uuid}", token=token)[1]
        if details["worker"] and details["worker"]["pid"] != pid:
            break
        time.sleep(0.2)
    assert details["worker"]["pid"] != pid and psutil.pid_exists(details["worker"]["pid"])
    assert any("exited unexpectedly" in e for e in details["events"])
    assert platform.request(host, "GET", "/hello")[0] == 200


def test_pinning_survives_a_new_runtime_and_a_supervisor_restart(platform: Platform) -> None:
    token = account(platform)
    environment = env("pinned")
    answer = deploy(platform, token, environment)
    host = platform.host(answer["subdomain"])
    assert platform.request(host, "GET", "/hello")[2] == b'{"hello": "world"}'
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.add_runtime(Runtime(name="fake-next", command=[sys.executable, str(ROOT / "tests" / "fake_runtime.py")],
                                 max_schema=33))
    registry.close()
    # supervisor restart (kill -9): the deployment stays on its runtime and keeps serving
    for pid in platform.pids("supervise"):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    ok = False
    while time.monotonic() < deadline:
        try:
            status, _, body = platform.request(host, "GET", "/hello")
            if status == 200 and body == b'{"hello": "world"}':
                ok = True
                break
        except OSError:
            pass
        time.sleep(0.2)
    assert ok
    # the API answers 503 with Retry-After until the new supervisor is up
    while True:
        status, details = platform.api("GET", f"/deployments/{answer['environmentUuid']}", token=token)
        if status != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200, details
    assert details["runtime"] == "builtin"
    # a re-deploy moves it to the newest runtime
    moved = deploy(platform, token, environment)
    assert moved["runtime"] == "fake-next"
    identity = json.loads(platform.request(host, "GET", "/hello")[2])
    assert identity == {"runtime": "fake", "environment": "pinned", "lastMigration": 33, "adminTokenSet": True}
    registry = Registry(platform.data_dir / "registry.sqlite3")
    # the operator rolls forward again: later deploys use the in-tree worker under a new name
    registry.add_runtime(Runtime(name="builtin-next", command=[sys.executable, "-m", "worker"], max_schema=33))
    registry.close()


def test_failed_redeploy_leaves_the_previous_version_serving(platform: Platform) -> None:
    token = account(platform)
    environment = env("sturdy", body="old")
    answer = deploy(platform, token, environment)
    host = platform.host(answer["subdomain"])
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.add_runtime(Runtime(name="broken", command=[sys.executable, "-c", "import sys; sys.exit('boom: no runtime')"],
                                 max_schema=33))
    try:
        environment["routes"][0]["responses"][0]["body"] = "new"
        status, failed = platform.api("POST", "/deployments", deploy_body(environment), token=token)
        assert status == 422 and "previous version keeps serving" in failed["message"]
        assert "boom: no runtime" in failed["stderr"]
        assert platform.request(host, "GET", "/hello")[2] == b"old"
        details = platform.api("GET", f"/deployments/{answer['environmentUuid']}", token=token)[1]
        assert details["revision"] == 1 and "re-deploy failed" in details["lastError"]
    finally:
        registry.add_runtime(Runtime(name="builtin-again", command=[sys.executable, "-m", "worker"], max_schema=33))
        registry.close()
    assert deploy(platform, token, environment)["runtime"] == "builtin-again"
    assert platform.request(host, "GET", "/hello")[2] == b"new"


def test_hostile_input_is_rejected_while_a_good_client_is_unaffected(platform: Platform) -> None:
    token = account(platform)
    answer = deploy(platform, token, env("hostile"))
    host = platform.host(answer["subdomain"])
    errors: list[Any] = []
    done = threading.Event()

    def good_client() -> None:
        conn = platform.connection(host)
        while not done.is_set():
            try:
                status = platform.request(host, "GET", "/hello", conn=conn)[0]
                if status not in (200, 429):
                    errors.append(status)
            except Exception as error:  # noqa: BLE001
                errors.append(repr(error))
                conn = platform.connection(host)
            time.sleep(0.05)

    thread = threading.Thread(target=good_client, daemon=True)
    thread.start()
    context = platform.ssl_context()

    def raw(payload: bytes, wait: float = 5.0) -> bytes:
        import socket

        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", platform.port), timeout=wait),
                                   server_hostname=host)
        data = b""
        try:
            sock.sendall(payload)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except (TimeoutError, OSError):
            return data
        finally:
            sock.close()

    h = host.encode()
    cases = {
        "cl+te": b"POST /hello HTTP/1.1\r\nHost: " + h + b"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "dup-cl": b"POST /hello HTTP/1.1\r\nHost: " + h + b"\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "obs-fold": b"GET /hello HTTP/1.1\r\nHost: " + h + b"\r\nX-A: a\r\n b\r\n\r\n",
        "bad-chunk": b"POST /hello HTTP/1.1\r\nHost: " + h + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "te-gzip": b"POST /hello HTTP/1.1\r\nHost: " + h + b"\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "huge-header": b"GET /hello HTTP/1.1\r\nHost: " + h + b"\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n",
        "two-hosts": b"GET /hello HTTP/1.1\r\nHost: " + h + b"\r\nHost: evil\r\n\r\n",
        "garbage": b"\x16\x03\x01hello there\r\n\r\n",
    }
    for name, payload in cases.items():
        reply = raw(payload)
        status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
        assert 400 <= status <= 501, (name, reply[:200])  # 501: unsupported transfer coding
    # slowloris: a head that never ends is cut off after the header timeout (2 s in this fixture)
    started = time.monotonic()
    reply = raw(b"GET /hello HTTP/1.1\r\nHost: " + h + b"\r\nX-Slow: ", wait=10)
    assert time.monotonic() - started < 6
    assert reply.startswith(b"HTTP/1.1 408") or reply == b""
    # a plain-HTTP request and a bad TLS hello on the TLS port
    import socket

    with socket.create_connection(("127.0.0.1", platform.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert not sock.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
    # TLS 1.1 is refused
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    try:
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.minimum_version = ssl.TLSVersion.TLSv1
        with pytest.raises((ssl.SSLError, OSError)):
            with socket.create_connection(("127.0.0.1", platform.port), timeout=5) as sock:
                old.wrap_socket(sock, server_hostname=host).close()
    except ValueError:
        pass
    done.set()
    thread.join()
    assert errors == []


def test_metrics_port_exposes_counters(platform: Platform) -> None:
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{platform.metrics_port}/metrics", timeout=5).read().decode()
    assert "mockfleet_edge_requests_total" in text and "mockfleet_edge_upstream_seconds_bucket" in text
    assert "mockfleet_edge_open_connections" in text


def test_credentials_file_is_private(platform: Platform) -> None:
    path = Path(platform.data_dir) / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())
    assert data["token"].startswith("mft_") and Path(data["caPath"]).exists()
    assert data["apiUrl"] == f"https://api.mockfleet.localhost:{platform.port}"


def test_websocket_upgrade_is_tunnelled_through_the_edge(platform: Platform) -> None:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.add_runtime(Runtime(name="fake-ws", command=[sys.executable, str(ROOT / "tests" / "fake_runtime.py")],
                                 max_schema=33))
    try:
        token = account(platform)
        answer = deploy(platform, token, env("sockets"))
        assert answer["runtime"] == "fake-ws"
    finally:
        registry.add_runtime(Runtime(name="builtin-after-ws", command=[sys.executable, "-m", "worker"], max_schema=33))
        registry.close()
    host = platform.host(answer["subdomain"])
    import socket

    sock = platform.ssl_context().wrap_socket(socket.create_connection(("127.0.0.1", platform.port), timeout=5),
                                              server_hostname=host)
    sock.sendall(f"GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101") and b"upgrade: websocket" in head.lower()
    from tests.ws_client import client_frame

    # 301 messages: within the edge's default burst of 1,000 client messages per second (--ws-messages-in-per-second)
    for frame, echo in ((client_frame(b"hello"), b"\x81\x05hello"), (client_frame(b"abc") * 300, b"\x81\x03abc" * 300)):
        sock.sendall(frame)
        echoed = b""
        while len(echoed) < len(echo):
            echoed += sock.recv(65536)
        assert echoed == echo
    sock.close()


def test_counted_requests_survive_edge_and_supervisor_kills(platform: Platform) -> None:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.set_plan(PlanRow(name="COUNTED", deployments_quota=1, monthly_requests_quota=10_000,
                              requests_per_second=1000, trial=False))
    account_obj, token = registry.create_account("counted", "COUNTED")
    answer = deploy(platform, token, env("counted"))
    host = platform.host(answer["subdomain"])

    def call(n: int) -> None:
        for _ in range(n):
            deadline = time.monotonic() + 20
            while True:
                try:
                    if platform.request(host, "GET", "/hello")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "platform did not come back"
                time.sleep(0.1)

    call(10)
    time.sleep(1.2)  # reported at least every second
    for pid in platform.pids("edge"):
        os.kill(pid, signal.SIGKILL)
    call(5)  # served by the edge `up` restarted
    for pid in platform.pids("supervise"):
        os.kill(pid, signal.SIGKILL)
    call(5)  # counted while the supervisor restarts: reports are retried until acknowledged
    deadline = time.monotonic() + 10
    while registry.monthly_usage(account_obj.id) < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert registry.monthly_usage(account_obj.id) == 20
    registry.close()


def test_a_second_up_on_the_same_data_directory_resumes_every_deployment(platform: Platform) -> None:
    token = account(platform)
    answers = [deploy(platform, token, env(f"resume-{i}", body=f"r{i}")) for i in range(2)]
    platform.stop()  # SIGTERM: edge, supervisor and workers stop cleanly
    assert platform.proc is not None and platform.proc.returncode == 0
    platform.start()
    for i, answer in enumerate(answers):
        assert platform.request(platform.host(answer["subdomain"]), "GET", "/hello")[2] == f"r{i}".encode()
    listed = platform.api("GET", "/deployments", token=token)[1]
    assert sorted(d["environmentUuid"] for d in listed) == sorted(a["environmentUuid"] for a in answers)


def test_request_bodies_are_limited_per_plan(platform: Platform) -> None:
    registry = Registry(platform.data_dir / "registry.sqlite3")
    registry.set_plan(PlanRow(name="SMALLBODY", deployments_quota=1, monthly_requests_quota=1000,
                              requests_per_second=100, trial=False, max_body_bytes=1024))
    _, token = registry.create_account("small", "SMALLBODY")
    registry.close()
    environment = env("bodies")
    environment["routes"][0]["method"] = "post"
    answer = deploy(platform, token, environment)
    host = platform.host(answer["subdomain"])
    assert platform.request(host, "POST", "/hello", b"x" * 1000)[0] == 200
    status, _, body = platform.request(host, "POST", "/hello", b"x" * 2000)
    assert status == 413 and b"1024 bytes" in body
    # chunked bodies are counted as they stream
    conn = platform.connection(host)
    conn.putrequest("POST", "/hello")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(4):
            conn.send(b"200\r\n" + b"y" * 512 + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        assert response.status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the edge may close before the last chunk is written
    finally:
        conn.close()
    assert platform.api("GET", "/account", token=token)[1]["maxRequestBodyBytes"] == 1024


def test_the_mock_sees_the_client_address_the_edge_saw(platform: Platform) -> None:
    token = account(platform)
    answer = deploy(platform, token, env("whoami", body="{{ip}}|{{header 'X-Forwarded-Proto'}}|{{hostname}}"))
    host = platform.host(answer["subdomain"])
    status, _, body = platform.request(host, "GET", "/hello", headers={"X-Forwarded-For": "6.6.6.6"})
    assert status == 200
    assert body.decode() == f"::ffff:127.0.0.1|https|{host}"


def test_keep_alive_pipelining_http10_and_connection_close_through_the_edge(platform: Platform) -> None:
    import socket

    token = account(platform)
    answer = deploy(platform, token, env("framing", body="{{method}} {{queryParam 'n'}}"))
    host = platform.host(answer["subdomain"])
    h = host.encode()

    def exchange(payload: bytes) -> bytes:
        sock = platform.ssl_context().wrap_socket(socket.create_connection(("127.0.0.1", platform.port), timeout=5),
                                                  server_hostname=host)
        data = b""
        try:
            sock.sendall(payload)
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
        finally:
            sock.close()
        return data

    # three pipelined requests in one write, the last asking to close: three answers, in order, then EOF
    data = exchange(b"".join(b"GET /hello?n=%d HTTP/1.1\r\nHost: %b\r\n%b\r\n" % (i, h, b"Connection: close\r\n" if i == 2
                                                                                     else b"") for i in range(3)))
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.index(b"GET 0") < data.index(b"GET 1") < data.index(b"GET 2")
    assert data.split(b"\r\n\r\n")[-2].lower().count(b"connection: close") == 1
    # an HTTP/1.0 client gets its answer and the connection closes
    time.sleep(1.2)
    data = exchange(b"GET /hello?n=9 HTTP/1.0\r\nHost: %b\r\n\r\n" % h)
    assert data.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in data.lower() and data.endswith(b"GET 9")
    # one that asks for keep-alive (ApacheBench -k) keeps its connection while it asks
    data = exchange(b"GET /hello?n=7 HTTP/1.0\r\nHost: %b\r\nConnection: keep-alive\r\n\r\n"
                    b"GET /hello?n=8 HTTP/1.0\r\nHost: %b\r\n\r\n" % (h, h))
    first, second = data.split(b"HTTP/1.1 200 OK")[1:]
    assert b"connection: keep-alive" in first.lower() and first.endswith(b"GET 7")
    assert b"connection: close" in second.lower() and second.endswith(b"GET 8")
    # a chunked request body is re-framed for the worker; HEAD gets the length and no body
    # (the route is GET only: Mockoon answers both with its 404 page)
    time.sleep(1.2)  # the test plan allows 5 requests per second
    data = exchange(b"POST /hello HTTP/1.1\r\nHost: %b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                    b"HEAD /hello?n=1 HTTP/1.1\r\nHost: %b\r\nConnection: close\r\n\r\n" % (h, h))
    first, second = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"404") and first.endswith(b"</html>\n")
    assert second.startswith(b"404") and b"content-length: 145" in second.lower() and second.endswith(b"\r\n\r\n")
    # a pipelined request is held to the same rules as a first one: obsolete line folding is refused
    time.sleep(1.2)
    data = exchange(b"GET /hello?n=1 HTTP/1.1\r\nHost: %b\r\n\r\n"
                    b"GET /hello?n=2 HTTP/1.1\r\nHost: %b\r\nX-A: a\r\n b\r\n\r\n" % (h, h))
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"}")
    assert b"HTTP/1.1 400 Bad Request" in data and b"obsolete line folding" in data
    # blank lines between pipelined requests are skipped and bare-LF line endings read as lines
    # (RFC 9112 section 2.2); a body that is not valid chunking is a 400 and the end of the connection
    time.sleep(1.2)
    data = exchange(b"GET /hello?n=1 HTTP/1.1\nHost: %b\n\n\r\n\r\n"
                    b"POST /hello HTTP/1.1\r\nHost: %b\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n"
                    b"GET /hello?n=3 HTTP/1.1\r\nHost: %b\r\n\r\n" % (h, h, h))
    assert data.startswith(b"HTTP/1.1 200 OK") and b"GET 1" in data
    assert b"HTTP/1.1 400 Bad Request" in data and b"malformed chunked body" in data and b"GET 3" not in data


def test_one_json_access_log_line_per_request(platform: Platform) -> None:
    token = account(platform)
    answer = deploy(platform, token, env("logged"), visibility="PRIVATE")
    host = platform.host(answer["subdomain"])
    marker = uuidlib.uuid4().hex
    assert platform.request(host, "GET", f"/hello-{marker}")[0] == 401  # refused: no key
    status = platform.request(host, "GET", f"/hello?{marker}", headers={"Authorization": f"Bearer {answer['apiKey']}"})[0]
    assert status == 200
    deadline = time.monotonic() + 5
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(lines) < 2:
        time.sleep(0.3)  # lines are written in batches, every quarter second
        lines = [json.loads(line) for line in platform.log.read_text().splitlines()
                 if line.startswith("{") and answer["environmentUuid"] in line]
    refused, served = lines[-2:]
    assert (refused["status"], refused["decision"], refused["path"]) == (401, "auth", f"/hello-{marker}")
    assert (served["status"], served["decision"], served["path"]) == (200, "forwarded", "/hello")
    assert served["deployment"] == answer["environmentUuid"] and served["host"] == host
    assert served["bytes"] == len('{"hello": "world"}') and served["ms"] > 0 and served["client"] == "127.0.0.1"


def test_large_bodies_stream_through_the_edge_both_ways(platform: Platform) -> None:
    token = account(platform)
    big = "".join(f"{i:07d}\n" for i in range(250_000))  # 2 MB, every line different
    route = {"uuid": "r-echo", "type": "http", "method": "post", "endpoint": "echo",
             "responses": [{"uuid": "s-echo", "body": "{{len (bodyRaw 'd')}}", "statusCode": 200, "default": True}]}
    environment = env("large", body=big)
    environment["routes"].append(route)
    answer = deploy(platform, token, environment)
    host = platform.host(answer["subdomain"])
    conn = platform.connection(host)
    status, _, body = platform.request(host, "GET", "/hello", conn=conn)
    assert status == 200 and body.decode() == big
    # the same keep-alive connection then streams 3 MB of JSON up, chunked, and gets its size back
    conn.putrequest("POST", "/echo", skip_accept_encoding=True)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    pieces = [b'{"d": "'] + [b"y" * 65536] * 48 + [b'"}']
    for piece in pieces:
        conn.send(b"%x\r\n%b\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, str(48 * 65536).encode())


def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout(platform: Platform) -> None:
    import socket

    token = account(platform)
    size = 6_000_000  # more than the edge's socket send buffer can take (4 MiB at most here)
    environment = env("slow-reader", body="x" * size)
    environment["routes"][0]["responses"][0]["disableTemplating"] = True
    answer = deploy(platform, token, environment)
    host = platform.host(answer["subdomain"])
    raw = socket.create_connection(("127.0.0.1", platform.port), timeout=10)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock = platform.ssl_context().wrap_socket(raw, server_hostname=host)
    sock.sendall(b"GET /hello HTTP/1.1\r\nHost: %b\r\n\r\n" % host.encode())
    time.sleep(6)  # the fixture's send timeout is 2 s per stalled write
    received = 0
    try:
        while chunk := sock.recv(65536):
            received += len(chunk)
    except (ssl.SSLError, OSError):
        pass
    finally:
        sock.close()
    assert 0 < received < size  # cut off, not served to the end
    # the instance and the edge go on serving others
    assert platform.request(host, "GET", "/hello")[0] == 200


def test_expect_100_continue_is_answered_by_the_edge_once_the_request_passes_its_checks(platform: Platform) -> None:
    import socket

    token = account(platform)
    echo = {"uuid": "r-echo", "type": "http", "method": "post", "endpoint": "echo",
            "responses": [{"uuid": "s-echo", "body": "got {{body}}", "statusCode": 200, "default": True}]}
    environment = env("expect")
    environment["routes"].append(echo)
    public = platform.host(deploy(platform, token, environment)["subdomain"])
    private_env = env("expect-private")
    private_env["routes"].append(echo)
    private = platform.host(deploy(platform, token, private_env, visibility="PRIVATE")["subdomain"])

    def connect(host: str) -> ssl.SSLSocket:
        return platform.ssl_context().wrap_socket(socket.create_connection(("127.0.0.1", platform.port), timeout=5),
                                                  server_hostname=host)

    head = b"POST /echo HTTP/1.1\r\nHost: %b\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    with connect(public) as sock:
        sock.sendall(head % public.encode())
        # answered before any body was sent (a wait for the body would end in the socket timeout)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        reply = b""
        while not reply.endswith(b"got hello"):
            reply += sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200 OK") and b"100 Continue" not in reply
    # refused before the body: the final answer comes at once, without "100 Continue", and the
    # connection closes rather than wait for a body the client holds back
    with connect(private) as sock:
        sock.sendall(head % private.encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 401 ") and b"100 Continue" not in reply


def test_a_host_other_than_the_tls_server_name_is_misdirected(platform: Platform) -> None:
    """One TLS connection opened for a private mock must not carry requests for another (421)."""
    token = account(platform)
    first = platform.host(deploy(platform, token, env("sni-a"))["subdomain"])
    second = platform.host(deploy(platform, token, env("sni-b"))["subdomain"])
    import socket

    sock = platform.ssl_context().wrap_socket(socket.create_connection(("127.0.0.1", platform.port), timeout=10),
                                              server_hostname=first)
    sock.sendall(f"GET /hello HTTP/1.1\r\nHost: {first}\r\n\r\n".encode())
    received = b""
    while not received.endswith(b'{"hello": "world"}'):
        received += sock.recv(65536)
    assert received.startswith(b"HTTP/1.1 200")
    sock.sendall(f"GET /hello HTTP/1.1\r\nHost: {second}\r\n\r\n".encode())
    received = b""
    while data := sock.recv(65536):
        received += data
    assert received.startswith(b"HTTP/1.1 421") and f"this connection is for {first}".encode() in received
    sock.close()
    # the same host with a port and in another case is the same host
    conn = platform.connection(first)
    assert platform.request(first, "GET", "/hello", headers={"Host": f"{first.upper()}:{platform.port}"},
                            conn=conn)[0] == 200
    conn.close()
