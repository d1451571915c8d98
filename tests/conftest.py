"""Shared fixtures: start a real ``mockfleet serve`` process and wait until it answers."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    """A running worker process with a tiny HTTP client for TCP or its Unix socket."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int | None, uds: Path | None) -> None:
        self.proc = proc
        self.port = port
        self.uds = uds

    def connection(self) -> http.client.HTTPConnection:
        if self.uds is not None:
            uds = str(self.uds)

            class UnixConnection(http.client.HTTPConnection):
                def connect(self) -> None:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.settimeout(10)
                    self.sock.connect(uds)

            return UnixConnection("localhost", timeout=10)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            merged: dict[str, str] = {}
            for key, value in response.getheaders():
                key = key.lower()
                merged[key] = merged[key] + ", " + value if key in merged else value
            return response.status, merged, data
        finally:
            conn.close()


def _wait_ready(worker: Worker, deadline: float) -> None:
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited: {worker.proc.stderr.read().decode() if worker.proc.stderr else ''}")
        try:
            worker.request("GET", "/mockoon-admin")
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("worker did not become ready")


def start_worker(env: dict[str, Any], tmp_path: Path, *extra: str, uds: bool = False) -> Worker:
    env_file = tmp_path / f"env-{time.monotonic_ns()}.json"
    env_file.write_text(json.dumps(env))
    port = None if uds else free_port()
    sock = tmp_path / "worker.sock" if uds else None
    where = ["--uds", str(sock)] if sock else ["--port", str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", str(env_file), *where, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True,
        env={**os.environ, "MOCKOON_GREETING": "hello-env"},
    )
    worker = Worker(proc, port, sock)
    _wait_ready(worker, time.monotonic() + 20)
    return worker


def stop_worker(worker: Worker) -> None:
    try:
        os.killpg(worker.proc.pid, signal.SIGTERM)
        worker.proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(worker.proc.pid, signal.SIGKILL)


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Worker] = []

    def factory(env: dict[str, Any], *extra: str, uds: bool = False) -> Worker:
        worker = start_worker(env, tmp_path, *extra, uds=uds)
        started.append(worker)
        return worker

    yield factory
    for worker in started:
        stop_worker(worker)


def make_env(routes: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A current-schema environment; routes and responses take Mockoon's defaults for what is omitted."""
    env = {"uuid": "11111111-1111-1111-1111-111111111111", "lastMigration": 33, "name": "test", "port": 3000,
           "endpointPrefix": "", "routes": routes, "headers": [{"key": "Content-Type", "value": "application/json"}],
           "data": [], "cors": True}
    env["rootChildren"] = [{"type": "route", "uuid": r["uuid"]} for r in routes if "uuid" in r]
    env.update(fields)
    return env


# --- the whole platform -------------------------------------------------------------------------

class Platform:
    """A real ``mockfleet up`` (supervisor + edge + workers) with a TLS client that trusts its CA."""

    def __init__(self, data_dir: Path, extra: tuple[str, ...] = ()) -> None:
        import ssl  # noqa: F401

        self.data_dir = data_dir
        self.port = free_port()
        self.metrics_port = free_port()
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"up-{self.port}.log"

    def start(self) -> None:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "supervisor.cli", "up", "--data-dir", str(self.data_dir), "--https-port",
             str(self.port), "--bind", "127.0.0.1", "--metrics-port", str(self.metrics_port), *self.extra],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            if (self.data_dir / "credentials.json").exists():
                try:
                    if self.request(self.api_host, "GET", "/health")[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        raise TimeoutError(self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.assert_no_workers_left()

    def assert_no_workers_left(self) -> None:
        """A stopped platform leaves no process behind (workers are started in their own sessions)."""
        import psutil

        marker = str(self.data_dir)
        deadline = time.monotonic() + 10
        while True:
            left = [p for p in psutil.process_iter(["cmdline"])
                    if any(marker in arg for arg in (p.info.get("cmdline") or []))]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for proc in left:
            proc.kill()
        assert not left, f"processes outlived the platform: {[p.info['cmdline'] for p in left]}"

    @property
    def credentials(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "credentials.json").read_text())

    @property
    def token(self) -> str:
        return str(self.credentials["token"])

    api_host = "api.mockfleet.localhost"

    def host(self, subdomain: str) -> str:
        return f"{subdomain}.local.mockfleet.localhost"

    def ssl_context(self) -> Any:
        import ssl

        return ssl.create_default_context(cafile=str(self.credentials["caPath"]))

    def connection(self, host: str) -> http.client.HTTPSConnection:
        port = self.port
        context = self.ssl_context()

        class Pinned(http.client.HTTPSConnection):
            def connect(self) -> None:
                raw = socket.create_connection(("127.0.0.1", port), timeout=15)
                self.sock = context.wrap_socket(raw, server_hostname=host)

        return Pinned(host, port, timeout=15, context=context)

    def request(self, host: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                token: str | None = None, conn: http.client.HTTPSConnection | None = None) -> tuple[int, dict[str, str], bytes]:
        own = conn is None
        conn = conn or self.connection(host)
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            if own:
                conn.close()

    def recorded(self, uuid: str) -> Any:
        """The deployment's row in the registry (the supervisor's record: worker pid, socket, status)."""
        from supervisor.registry import Registry

        registry = Registry(self.data_dir / "registry.sqlite3")
        try:
            deployment = registry.deployment(uuid)
        finally:
            registry.close()
        assert deployment is not None, f"no deployment {uuid} in the registry"
        return deployment

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        status, _, data = self.request(self.api_host, method, path, body, token=token or self.token)
        return status, json.loads(data or b"null")

    def pids(self, kind: str) -> list[int]:
        import psutil

        assert self.proc is not None
        found = []
        for child in psutil.Process(self.proc.pid).children(recursive=False):
            try:
                if kind in child.cmdline():
                    found.append(child.pid)
            except psutil.Error:
                pass
        return found


def deploy_body(env: dict[str, Any], visibility: str = "PUBLIC", subdomain: str | None = None) -> dict[str, Any]:
    """Exactly what the Mockoon desktop app posts."""
    return {"environment": env, "visibility": visibility, "subdomain": subdomain, "region": "local",
            "liveUpdate": False, "version": "9.9.0"}


def running_platform(tmp_path_factory: pytest.TempPathFactory, name: str, *flags: str) -> Iterator[Platform]:
    """Body of a module-scoped fixture: a platform with these `mockfleet up` flags, stopped after."""
    instance = Platform(tmp_path_factory.mktemp(name) / "data", flags)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "mf", "--header-timeout", "2", "--send-timeout", "2")
