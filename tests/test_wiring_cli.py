"""The command's wiring: ``mockfleet`` runs other packages' commands by module name (``serve`` is
``python -m worker``, ``edge`` is ``python -m edge``) in its own process, with the same flags, output
and exit codes; ``up`` starts the supervisor and the edge by module name and learns where the TLS
files are from ``python -m edge certificates``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import psutil
import pytest

from schemas.tls_files import TlsLocations
from tests.conftest import ROOT, Platform, free_port, make_env, running_platform

MOCKFLEET = Path(sys.executable).parent / "mockfleet"  # the console script pip installed next to the interpreter


def mockfleet(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MOCKFLEET), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def module(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", name, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


pytestmark = pytest.mark.skipif(not MOCKFLEET.exists(), reason="the mockfleet console script is not installed")


def test_help_lists_every_command_and_each_package_answers_its_own() -> None:
    listing = mockfleet("--help")
    assert listing.returncode == 0
    for command in ("up", "serve", "supervise", "edge", "deploy", "import", "logs"):
        assert f"\n    {command} " in listing.stdout, command
    assert module("supervisor", "--help").stdout == listing.stdout
    assert mockfleet("--version").stdout == module("supervisor", "--version").stdout
    assert mockfleet("--version").stdout.startswith("mockfleet ")
    serve_help = mockfleet("serve", "--help")
    assert serve_help.returncode == 0 and serve_help.stdout.startswith("usage: mockfleet serve ")
    assert serve_help.stdout == module("worker", "--help").stdout
    edge_help = mockfleet("edge", "--help")
    assert edge_help.returncode == 0 and edge_help.stdout.startswith("usage: mockfleet edge ")
    assert "--max-tunnels-per-deployment" in edge_help.stdout and "--outbound-allow" in edge_help.stdout
    assert edge_help.stdout == module("edge", "--help").stdout


@pytest.mark.parametrize("args, error", [
    (["serve"], "mockfleet serve: error: the following arguments are required: environment"),
    (["serve", "env.json", "--bogus"], "mockfleet: error: unrecognized arguments: --bogus"),
    (["edge", "--https-port", "x"], "mockfleet edge: error: argument --https-port: invalid int value: 'x'"),
    (["up", "--https-port", "x"], "mockfleet up: error: argument --https-port: invalid int value: 'x'"),
])
def test_usage_errors_read_and_exit_as_before(args: list[str], error: str) -> None:
    done = mockfleet(*args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == error
    assert done.stderr.startswith("usage: mockfleet ")


def test_serve_becomes_the_worker_process_and_ignores_lookalikes_in_the_current_directory(tmp_path: Path) -> None:
    # a user's own worker.py / edge package in the working directory must not stand in for ours
    (tmp_path / "worker.py").write_text(f"open({str(tmp_path / 'decoy-ran')!r}, 'w').close()\n")
    (tmp_path / "worker").mkdir()
    (tmp_path / "worker" / "__init__.py").write_text(f"open({str(tmp_path / 'decoy-ran')!r}, 'w').close()\n")
    env = make_env([{"uuid": "r1", "method": "get", "endpoint": "hello",
                     "responses": [{"uuid": "s1", "statusCode": 201, "body": "{\"hi\": 1}", "default": True}]}])
    (tmp_path / "env.json").write_text(json.dumps(env))
    port = free_port()
    proc = subprocess.Popen([str(MOCKFLEET), "serve", "env.json", "--port", str(port), "--host", "127.0.0.1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        import http.client

        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/hello")
                answer = conn.getresponse()
                status, body = answer.status, answer.read()
                conn.close()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        assert (status, json.loads(body)) == (201, {"hi": 1})
        cmdline = psutil.Process(proc.pid).cmdline()  # the same process, now the worker module
        assert cmdline[1:4] == ["-P", "-m", "worker"] and cmdline[4:6] == ["env.json", "--port"]
        assert not (tmp_path / "decoy-ran").exists()
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_edge_certificates_makes_the_local_ca_once_and_says_where(tmp_path: Path) -> None:
    first = module("edge", "certificates", "--data-dir", str(tmp_path / "data"), "--domain", "mocks.example.test")
    assert first.returncode == 0, first.stderr
    where = msgspec.json.decode(first.stdout.encode(), type=TlsLocations)
    assert where.ca_cert == str(tmp_path / "data" / "certs" / "mockfleet-ca-cert.pem")
    for path in (where.instances_cert, where.instances_key, where.api_cert, where.api_key, where.ca_cert):
        assert Path(path).is_file()
    made = Path(where.instances_cert).stat().st_mtime_ns
    again = module("edge", "certificates", "--data-dir", str(tmp_path / "data"), "--domain", "mocks.example.test")
    assert again.stdout == first.stdout and Path(where.instances_cert).stat().st_mtime_ns == made  # reused
    given = module("edge", "certificates", "--data-dir", str(tmp_path / "data"), "--tls-cert", where.instances_cert,
                   "--tls-key", where.instances_key)
    assert msgspec.json.decode(given.stdout.encode(), type=TlsLocations) == TlsLocations(
        instances_cert=where.instances_cert, instances_key=where.instances_key, api_cert=where.instances_cert,
        api_key=where.instances_key)


def test_up_refuses_tls_files_that_do_not_load_before_starting_anything(tmp_path: Path) -> None:
    started = time.monotonic()
    done = mockfleet("up", "--data-dir", str(tmp_path / "data"), "--https-port", str(free_port()), "--bind",
                     "127.0.0.1", "--metrics-port", "0", "--tls-cert", str(tmp_path / "missing.crt"),
                     "--tls-key", str(tmp_path / "missing.key"))
    assert done.returncode == 2
    assert f"error: cannot load certificate {tmp_path / 'missing.crt'}" in done.stderr
    assert "ready" not in done.stdout and not (tmp_path / "data" / "credentials.json").exists()
    assert time.monotonic() - started < 60


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from running_platform(tmp_path_factory, "wiring")


def test_up_runs_the_supervisor_and_the_edge_by_module_name(platform: Platform) -> None:
    assert platform.proc is not None
    children = [child.cmdline() for child in psutil.Process(platform.proc.pid).children()]
    modules = sorted(tuple(cmd[1:5]) for cmd in children)
    assert modules == [("-P", "-m", "edge", "--data-dir"), ("-P", "-m", "supervisor", "supervise")], children
    status, answer = platform.api("GET", "/deployments")
    assert status == 200 and answer == []
    assert platform.credentials["caPath"] == str(platform.data_dir / "certs" / "mockfleet-ca-cert.pem")
