"""`mockfleet serve` as a drop-in for `mockoon-cli start`: several files, --disable-routes,
--disable-admin-api, --log-transaction, --max-transaction-logs, --enable-random-latency, --watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, Worker, free_port, make_env

SPEC = Path(__file__).parents[1] / "schemas" / "openapi_specs" / "petstore-v3.yaml"
TOKEN = "parity-token"


def uid(n: int, kind: int = 1) -> str:
    return f"00000000-0000-4000-8000-{kind:06d}{n:06d}"


def route(n: int, endpoint: str, body: str, latency: int = 0) -> dict:
    return {"uuid": uid(n), "type": "http", "method": "get", "endpoint": endpoint,
            "responses": [{"uuid": uid(n, 2), "body": body, "latency": latency, "default": True}]}


def parity_env() -> dict:
    routes = [route(1, "public", "open"), route(2, "secret-stuff", "no"), route(3, "by-uuid", "no"),
              route(4, "in-folder", "no")]
    env = make_env(routes, uuid="22222222-2222-2222-2222-222222222222")
    env["folders"] = [{"uuid": uid(1, 3), "name": "hidden things", "children": [{"type": "route", "uuid": uid(4)}]}]
    env["rootChildren"] = [{"type": "route", "uuid": uid(n)} for n in (1, 2, 3)] + \
        [{"type": "folder", "uuid": uid(1, 3)}]
    return env


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "supervisor.cli", "serve", *args, "--host", "127.0.0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)


def ready(worker: Worker, path: str = "/public") -> None:
    deadline = time.monotonic() + 30
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
    out, err = proc.communicate(timeout=20)
    return out.decode(), err.decode()


def test_several_files_disabled_routes_no_admin_api_and_transaction_lines(tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(parity_env()))
    p1, p2 = free_port(), free_port()
    proc = start(str(env_file), "--data", str(SPEC), "--port", str(p1), str(p2), "--disable-routes", "secret",
                 uid(3), "hidden", "--disable-admin-api", "--log-transaction", "--repair")
    first, second = Worker(proc, p1, None), Worker(proc, p2, None)
    try:
        ready(first)
        ready(second, "/v2/pets")
        assert first.request("GET", "/public")[2] == b"open"
        for path in ("/secret-stuff", "/by-uuid", "/in-folder"):  # endpoint keyword, uuid, folder name keyword
            assert first.request("GET", path)[0] == 404, path
        assert first.request("GET", "/mockoon-admin/logs", headers={"Authorization": "Bearer x"})[0] == 404
        status, _, body = second.request("GET", "/v2/pets")  # the spec, converted, on its own port
        assert status == 200 and isinstance(json.loads(body), list)
    finally:
        out, _ = stop(proc)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    recorded = [line for line in lines if line["message"] == "Transaction recorded"]
    public = next(line for line in recorded if line["requestPath"] == "/public")
    assert public["environmentUUID"] == "22222222-2222-2222-2222-222222222222"
    assert (public["requestMethod"], public["responseStatus"], public["app"]) == ("GET", 200, "mockoon-server")
    assert public["transaction"]["request"]["method"] == "GET"
    admin = next(line for line in recorded if line["requestPath"] == "/mockoon-admin/logs")
    assert "[REDACTED]" in json.dumps(admin["transaction"]["request"]["headers"])
    assert {line["environmentName"] for line in recorded} == {"test", "Swagger Petstore v3"}


def test_watch_reloads_and_logs_are_capped_and_latency_random(tmp_path: Path) -> None:
    env = parity_env()
    env["routes"].append(route(5, "slow", "late", latency=400))
    env["rootChildren"].append({"type": "route", "uuid": uid(5)})
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps(env))
    port = free_port()
    proc = start(str(env_file), "--port", str(port), "--watch", "--polling-interval", "100",
                 "--max-transaction-logs", "2", "--enable-random-latency", "--admin-api-token", TOKEN)
    worker = Worker(proc, port, None)
    try:
        ready(worker)
        timings = []
        for _ in range(8):
            started = time.monotonic()
            assert worker.request("GET", "/slow")[2] == b"late"
            timings.append(time.monotonic() - started)
        assert min(timings) < 0.3  # 0..400 ms each: eight draws all above 300 ms are most unlikely
        status, _, body = worker.request("GET", "/mockoon-admin/logs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and len(json.loads(body)) == 2
        env["routes"][0]["responses"][0]["body"] = "changed"
        env_file.write_text(json.dumps(env))
        deadline = time.monotonic() + 20
        while worker.request("GET", "/public")[2] != b"changed":
            assert time.monotonic() < deadline, "the change was not picked up"
            time.sleep(0.1)
        env_file.write_text("{ not json")  # a broken save keeps the last good version
        time.sleep(0.5)
        assert worker.request("GET", "/public")[2] == b"changed"
    finally:
        out, err = stop(proc)
    assert "reloaded 'test'" in out and "cannot be served, keeping the previous version" in err
