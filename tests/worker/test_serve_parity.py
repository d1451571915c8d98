"""`mockfleet serve` as a drop-in for `mockoon-cli start`: several files on their own ports,
--disable-routes, --disable-admin-api, --log-transaction, --max-transaction-logs,
--enable-random-latency, --watch; side by side with Mockoon CLI 9.9.0 where it is installed."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from schemas import environment_from_obj
from schemas.handover import WorkerHandover
from tests.bench.common import NODE_DIR
from tests.conftest import ROOT, Worker, free_port, make_env
from worker.responder import served_routes
from worker.serve_build import BuildError, admin_tokens, build_server, file_options, per_file
from worker.serve_command import add_parser
from worker.serve_watch import changed

SPEC = Path(__file__).parents[1] / "schemas" / "openapi_specs" / "petstore-v3.yaml"
MOCKOON = NODE_DIR / "node_modules" / ".bin" / "mockoon-cli"
TOKEN = "parity-token"
ENV_UUID = "22222222-2222-2222-2222-222222222222"


def uid(n: int, kind: int = 1) -> str:
    return f"00000000-0000-4000-8000-{kind:06d}{n:06d}"


def route(n: int, endpoint: str, body: str, latency: int = 0) -> dict[str, Any]:
    return {"uuid": uid(n), "type": "http", "method": "get", "endpoint": endpoint,
            "responses": [{"uuid": uid(n, 2), "body": body, "latency": latency, "default": True}]}


def parity_env() -> dict[str, Any]:
    """Routes at the root and in folders (one nested), to be disabled by uuid, path or folder keyword."""
    routes = [route(1, "public", "open"), route(2, "secret-stuff", "no"), route(3, "by-uuid", "no"),
              route(4, "in-folder", "no"), route(5, "api/users", "users"), route(6, "users/:id", "user"),
              route(7, "nested", "deep")]
    env = make_env(routes, uuid=ENV_UUID)
    env["folders"] = [
        {"uuid": uid(1, 3), "name": "hidden things", "children": [{"type": "route", "uuid": uid(4)}]},
        {"uuid": uid(2, 3), "name": "visible", "children": [{"type": "route", "uuid": uid(5)},
                                                             {"type": "folder", "uuid": uid(3, 3)}]},
        {"uuid": uid(3, 3), "name": "deep", "children": [{"type": "route", "uuid": uid(7)}]},
    ]
    env["rootChildren"] = [{"type": "route", "uuid": uid(n)} for n in (1, 2, 3, 6)] + \
        [{"type": "folder", "uuid": uid(1, 3)}, {"type": "folder", "uuid": uid(2, 3)}]
    return env


PATHS = ("/public", "/secret-stuff", "/by-uuid", "/in-folder", "/api/users", "/users/7", "/nested")


def start(*args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "supervisor.cli", "serve", *args],
                            stdout=subprocess.PIPE, stderr=stderr, cwd=ROOT, start_new_session=True)


def ready(worker: Worker, path: str = "/public") -> None:
    deadline = time.monotonic() + 60
    while True:
        assert worker.proc.poll() is None, worker.proc.stderr.read().decode() if worker.proc.stderr else ""
        try:
            worker.request("GET", path)
            return
        except OSError:
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    return out.decode(), (err or b"").decode()


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# --- the pure parts -----------------------------------------------------------------------------

def test_values_by_position_and_admin_tokens_as_mockoon_cli_reads_them() -> None:
    assert per_file(["3000"], 2) == ["3000", None]
    assert per_file(None, 1) == [None]
    assert admin_tokens(None, 2) == [None, None]
    assert admin_tokens(["a"], 3) == ["a", "a", "a"]  # one token serves every file
    assert admin_tokens(["a,b", " c "], 3) == ["a", "b", "c"]  # repeated or comma-separated
    with pytest.raises(BuildError, match=r"admin API tokens \(2\) must be 1 or match .* \(3\)"):
        admin_tokens(["a", "b"], 3)


def test_a_file_changed_is_a_new_readable_version() -> None:
    assert changed((1, 10), (2, 10)) and changed((1, 10), (1, 11)) and changed(None, (1, 10))
    assert not changed((1, 10), (1, 10))
    assert not changed((1, 10), None)  # gone for a moment (an editor's save): nothing to reload yet


@pytest.mark.parametrize(("keywords", "served"), [
    ((), {"public", "secret-stuff", "by-uuid", "users/:id", "in-folder", "api/users", "nested"}),
    (("secret", uid(3), "hidden"), {"public", "users/:id", "api/users", "nested"}),  # path, uuid, folder name
    (("users",), {"public", "secret-stuff", "by-uuid", "in-folder", "nested"}),  # any part of the path
    (("/public",), {"public", "secret-stuff", "by-uuid", "users/:id", "in-folder", "api/users", "nested"}),
    (("vis",), {"public", "secret-stuff", "by-uuid", "users/:id", "in-folder"}),  # a folder and its subfolders
    (("*",), set()),
])
def test_disable_routes_keywords_match_as_mockoon_does(keywords: tuple[str, ...], served: set[str]) -> None:
    env, _ = environment_from_obj(parity_env())
    assert {r.endpoint for r in served_routes(env, frozenset(), keywords)} == served


def test_command_line_values_reach_each_file() -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", "a.json", "-d", "b.json", "-p", "3001", "3002", "-l", "127.0.0.2",
                              "--public-base-url", "https://a.test", "--proxy", "enabled", "-e", "users", "secret",
                              "--enable-random-latency", "-t", "--max-transaction-logs", "3", "-r", "-X",
                              "--disable-tls", "--disable-external-refs"])
    first, second = file_options(args, 2)
    assert (first.port, first.host, first.public_base_url) == (3001, "127.0.0.2", "https://a.test")
    assert (second.port, second.host, second.public_base_url) == (3002, None, "")
    env, report = environment_from_obj(parity_env())
    server = build_server(WorkerHandover(environment=env, disabled_routes=report.disabled_routes), args, first)
    assert (server.env.port, server.env.hostname, server.env.proxy_mode) == (3001, "127.0.0.2", True)
    assert server.options.public_base_url == "https://a.test"
    assert server.options.random_latency and server.options.log_transactions
    assert server.state.logs.maxlen == 3
    assert {compiled.route.endpoint for compiled in server.routes} == {"public", "by-uuid", "in-folder", "nested"}


# --- real processes -----------------------------------------------------------------------------

def test_several_files_disabled_routes_no_admin_api_random_latency_and_transaction_lines(tmp_path: Path) -> None:
    env = parity_env()
    env["routes"].append(route(8, "slow", "late", latency=1000))
    env["rootChildren"].append({"type": "route", "uuid": uid(8)})
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(env))
    p1, p2 = free_port(), free_port()
    proc = start(str(env_file), "--data", str(SPEC), "--port", str(p1), str(p2), "--hostname", "127.0.0.1",
                 "127.0.0.1", "--disable-routes", "secret", uid(3), "-e", "hidden", "--disable-admin-api",
                 "--log-transaction", "--repair", "--enable-random-latency")
    first, second = Worker(proc, p1, None), Worker(proc, p2, None)
    try:
        ready(first)
        ready(second, "/v2/pets")
        assert first.request("GET", "/public")[2] == b"open"
        for path in ("/secret-stuff", "/by-uuid", "/in-folder"):  # path keyword, uuid, folder name keyword
            assert first.request("GET", path)[0] == 404, path
        assert first.request("GET", "/mockoon-admin/logs", headers={"Authorization": "Bearer x"})[0] == 404
        status, _, body = second.request("GET", "/v2/pets")  # the spec, converted, on its own port
        assert status == 200 and isinstance(json.loads(body), list)
        timings = []
        for _ in range(8):
            started = time.monotonic()
            assert first.request("GET", "/slow")[2] == b"late"
            timings.append(time.monotonic() - started)
        assert min(timings) < 0.75  # 0..1000 ms each: eight draws all above 750 ms: p = 0.25**8
    finally:
        out, err = stop(proc)
    assert f"on http://127.0.0.1:{p1}" in out and f"on http://127.0.0.1:{p2}" in out
    recorded = [line for line in json_lines(out) if line["message"] == "Transaction recorded"]
    public = next(line for line in recorded if line["requestPath"] == "/public")
    assert public["environmentUUID"] == ENV_UUID
    assert (public["requestMethod"], public["responseStatus"], public["app"]) == ("GET", 200, "mockoon-server")
    assert public["transaction"]["request"]["method"] == "GET"
    assert public["transaction"]["request"]["route"] == "/public"
    assert {"key": "content-length", "value": "4"} in public["transaction"]["response"]["headers"]
    admin = next(line for line in recorded if line["requestPath"] == "/mockoon-admin/logs")
    assert {"key": "authorization", "value": "Bearer [REDACTED]"} in admin["transaction"]["request"]["headers"]
    assert {line["environmentName"] for line in recorded} == {"test", "Swagger Petstore v3"}


def test_watch_reloads_in_flight_requests_finish_and_logs_are_capped(tmp_path: Path) -> None:
    env = parity_env()
    env["routes"].append(route(8, "slow", "old slow", latency=3000))
    env["rootChildren"].append({"type": "route", "uuid": uid(8)})
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(env))
    port = free_port()
    errors = tmp_path / "stderr.log"
    with errors.open("wb") as stderr:
        proc = start(str(env_file), "--port", str(port), "--host", "127.0.0.1", "--watch", "--polling-interval",
                     "100", "--max-transaction-logs", "2", "--admin-api-token", TOKEN, stderr=stderr)
    worker = Worker(proc, port, None)
    try:
        ready(worker)
        for _ in range(3):
            worker.request("GET", "/public")
        status, _, body = worker.request("GET", "/mockoon-admin/logs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and len(json.loads(body)) == 2
        in_flight: list[bytes] = []
        slow = threading.Thread(target=lambda: in_flight.append(worker.request("GET", "/slow")[2]))
        slow.start()
        time.sleep(1.0)  # the request is being served (3 s latency) when the file changes
        env["routes"][0]["responses"][0]["body"] = "changed"
        env["routes"][-1]["responses"][0]["body"] = "new slow"
        env_file.write_text(json.dumps(env))
        deadline = time.monotonic() + 30
        while worker.request("GET", "/public")[2] != b"changed":
            assert time.monotonic() < deadline, "the change was not picked up"
            time.sleep(0.1)
        slow.join(30)
        assert in_flight == [b"old slow"]  # finished on the version it started with
        assert worker.request("GET", "/slow")[2] == b"new slow"
        env_file.write_text("{ not json")  # a broken save keeps the last good version
        deadline = time.monotonic() + 30
        while "cannot be served, keeping the previous version" not in errors.read_text():
            assert time.monotonic() < deadline, "the broken save was not noticed"
            time.sleep(0.1)
        assert worker.request("GET", "/public")[2] == b"changed"
    finally:
        out, _ = stop(proc)
    assert "reloaded 'test'" in out


def test_max_callback_depth_stops_a_callback_calling_its_own_mock(tmp_path: Path) -> None:
    port = free_port()
    callback = {"uuid": uid(1, 4), "id": "again", "name": "again", "method": "get",
                "uri": f"http://127.0.0.1:{port}/loop"}
    loop = route(1, "loop", "looped")
    loop["responses"][0]["callbacks"] = [{"uuid": uid(1, 4), "latency": 0}]
    env = make_env([loop], callbacks=[callback])
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(env))
    proc = start(str(env_file), "--port", str(port), "--host", "127.0.0.1", "--max-callback-depth", "2",
                 "--admin-api-token", TOKEN)
    worker = Worker(proc, port, None)
    admin = {"Authorization": f"Bearer {TOKEN}"}
    try:
        ready(worker, "/loop")  # depth 0, its callback depth 1, that one's depth 2: there it stops
        deadline = time.monotonic() + 30
        while True:
            callbacks = json.loads(worker.request("GET", "/mockoon-admin/callbacks", headers=admin)[2])
            if any("Max callback depth reached (2)" in (record.get("error") or "") for record in callbacks):
                break
            assert time.monotonic() < deadline, callbacks
            time.sleep(0.1)
        logs = json.loads(worker.request("GET", "/mockoon-admin/logs", headers=admin)[2])
        depths = sorted(next((h["value"] for h in t["request"]["headers"] if h["key"] == "x-mockoon-callback-depth"),
                             "0") for t in logs if t["request"]["urlPath"] == "/loop")
        assert depths == ["0", "1", "2"]
    finally:
        stop(proc)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_hostname(tmp_path: Path) -> None:
    import http.client

    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(parity_env()))
    port = free_port()
    proc = start(str(env_file), "--hostname", "::1", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                conn = http.client.HTTPConnection("::1", port, timeout=10)
                conn.request("GET", "/public")
                assert conn.getresponse().read() == b"open"
                conn.close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
    finally:
        out, _ = stop(proc)
    assert f"on http://[::1]:{port}" in out


def test_refused_before_anything_is_bound(tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(parity_env()))
    port = str(free_port())
    cases = [
        ((str(env_file), str(SPEC), "--uds", str(tmp_path / "w.sock")), "--uds serves one file"),
        ((str(env_file), "--data", str(SPEC), "--port", port, port), "would both listen on"),
        ((str(env_file), str(SPEC), "--admin-api-token", "a", "b", "c"), "admin API tokens (3)"),
        ((), "mockfleet serve: error: the following arguments are required: environment"),
        (("https://example.com/env.json",), "serve reads local files only"),  # refused, never fetched
    ]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        cases.append(((str(env_file), "--port", str(busy.getsockname()[1])), "cannot listen on http://127.0.0.1:"))
        for args, message in cases:
            done = subprocess.run([sys.executable, "-m", "supervisor.cli", "serve", *args, "--host", "127.0.0.1"],
                                  capture_output=True, text=True, cwd=ROOT, timeout=60)
            assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr


# --- side by side with Mockoon CLI 9.9.0 ----------------------------------------------------------

def _start_mockoon(env_file: Path, port: int, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(MOCKOON), "start", "--data", str(env_file), "--port", str(port), "--hostname",
                             "127.0.0.1", "--disable-log-to-file", "--repair", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _comparable(line: dict[str, Any]) -> dict[str, Any]:
    """A transaction line without what differs by nature: times, uuids, the Host header's port."""
    line = json.loads(json.dumps(line))
    for key in ("timestamp",):
        line.pop(key)
    for key in ("timestampMs", "uuid"):
        line["transaction"].pop(key)
    line["transaction"]["request"]["headers"] = [
        h for h in line["transaction"]["request"]["headers"] if h["key"] != "host"]
    return line


@pytest.mark.skipif(not MOCKOON.exists(), reason="Mockoon CLI 9.9.0 is not installed in .bench/node")
def test_disable_routes_and_transaction_lines_side_by_side_with_mockoon(tmp_path: Path) -> None:
    env = parity_env()
    env["routes"][0]["responses"][0]["headers"] = [{"key": "Set-Cookie", "value": "a=b"},
                                                   {"key": "X-Thing", "value": "1"}]
    env["routes"][0]["responses"].insert(0, {"uuid": uid(9, 2), "body": "first", "rules": [
        {"target": "query", "modifier": "pick", "value": "first", "operator": "equals", "invert": False}]})
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(env))
    keyword_sets = [("secret", uid(3), "hidden", "users", "/public"), ("vis",)]
    procs: list[tuple[Worker, Worker]] = []
    try:
        for keywords in keyword_sets:
            ours, theirs = free_port(), free_port()
            flags = ("--disable-routes", *keywords, "--log-transaction", "--enable-route-metadata-headers")
            procs.append((Worker(start(str(env_file), "--port", str(ours), "--host", "127.0.0.1", *flags), ours, None),
                          Worker(_start_mockoon(env_file, theirs, *flags), theirs, None)))
        for ours_worker, theirs_worker in procs:
            ready(ours_worker, "/")
            ready(theirs_worker, "/")
        for (ours_worker, theirs_worker), keywords in zip(procs, keyword_sets, strict=True):
            for path in PATHS:
                ours_status = ours_worker.request("GET", path)[0]
                assert ours_status == theirs_worker.request("GET", path)[0], (keywords, path)
        headers = {"Authorization": "Bearer abc", "Cookie": "c=d", "Content-Type": "application/json"}
        for worker in procs[0]:
            worker.request("GET", "/public?x=1", body='{"a":1}', headers=headers)
            worker.request("GET", "/public?pick=first", headers=headers)
            worker.request("GET", "/nope", headers=headers)
    finally:
        outputs = [(stop(ours_worker.proc)[0], stop(theirs_worker.proc)[0]) for ours_worker, theirs_worker in procs]
    ours_out, theirs_out = outputs[0]
    ours_lines = [line for line in json_lines(ours_out) if line.get("message") == "Transaction recorded"]
    theirs_lines = [line for line in json_lines(theirs_out) if line.get("message") == "Transaction recorded"]
    assert len(ours_lines) == len(theirs_lines)
    for ours_line, theirs_line in zip(ours_lines, theirs_lines, strict=True):
        assert _comparable(ours_line) == _comparable(theirs_line), ours_line["requestPath"]
    second_response = next(line for line in ours_lines if line["transaction"]["request"]["query"] == "pick=first")
    assert {"key": "x-mockoon-route-response-no", "value": "1"} in second_response["transaction"]["response"]["headers"]
