"""Operator commands against a real platform: runtime rm / re-add, account set-plan, ls showing
FAILED, logs [--follow], up --demo leaving the user's deployments alone, install-service, dockerize."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from supervisor.service_files import ServiceSpec, systemd_unit
from tests.conftest import ROOT, Platform, make_env, running_platform


def mockfleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def _env(body: str) -> dict[str, Any]:
    return make_env([{"uuid": "r1", "type": "http", "method": "get", "endpoint": "x",
                      "responses": [{"uuid": "s1", "body": body, "default": True}]}], uuid=str(uuid.uuid4()))


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory):
    yield from running_platform(tmp_path_factory, "ops")


def _deploy(platform: Platform, tmp_path: Path, env: dict[str, Any], *flags: str) -> None:
    path = tmp_path / f"{env['uuid']}.json"
    path.write_text(json.dumps(env))
    done = mockfleet("deploy", str(path), "--data-dir", str(platform.data_dir), *flags)
    assert done.returncode == 0, done.stderr


def test_runtime_add_as_the_readme_writes_it_refuses_a_second_add_and_rm_while_pinned(platform: Platform,
                                                                                       tmp_path: Path) -> None:
    data = str(platform.data_dir)
    # the README's syntax verbatim, --data-dir before the name
    added = mockfleet("runtime", "add", "--data-dir", data, "next", "--max-schema", "33", "--",
                      sys.executable, "-m", "worker")
    assert added.returncode == 0, added.stderr
    again = mockfleet("runtime", "add", "--data-dir", data, "next", "--max-schema", "33", "--", "/bin/false")
    assert again.returncode == 1 and "exists already" in again.stderr
    listed = {r["name"]: r for r in json.loads(mockfleet("runtime", "ls", "--data-dir", data, "--json").stdout)}
    assert listed["next"]["command"] == [sys.executable, "-m", "worker"]  # the refused add changed nothing
    env = _env("pinned")
    _deploy(platform, tmp_path, env, "--subdomain", "pinned-one")  # new deploys take the newest runtime
    assert platform.api("GET", f"/deployments/{env['uuid']}")[1]["runtime"] == "next"
    refused = mockfleet("runtime", "rm", "--data-dir", data, "next")
    assert refused.returncode == 1 and env["uuid"] in refused.stderr and "pinned" in refused.stderr
    assert platform.request(platform.host("pinned-one"), "GET", "/x")[2] == b"pinned"
    assert mockfleet("rm", env["uuid"], "--data-dir", data).returncode == 0
    removed = mockfleet("runtime", "rm", "--data-dir", data, "next")
    assert removed.returncode == 0, removed.stderr
    assert "next" not in {r["name"] for r in json.loads(mockfleet("runtime", "ls", "--data-dir", data, "--json").stdout)}
    assert mockfleet("runtime", "rm", "--data-dir", data, "next").returncode == 1


def test_account_set_plan(platform: Platform) -> None:
    data = str(platform.data_dir)
    created = json.loads(mockfleet("account", "create", "--data-dir", data, "--plan", "solo", "--json").stdout)
    assert platform.api("GET", "/account", token=created["token"])[1]["plan"] == "SOLO"
    moved = mockfleet("account", "set-plan", "--data-dir", data, str(created["id"]), "team", "--json")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["plan"] == "TEAM"
    assert platform.api("GET", "/account", token=created["token"])[1]["plan"] == "TEAM"
    unknown = mockfleet("account", "set-plan", "--data-dir", data, str(created["id"]), "platinum")
    assert unknown.returncode == 1 and "unknown plan" in unknown.stderr
    missing = mockfleet("account", "set-plan", "--data-dir", data, "99999", "team")
    assert missing.returncode == 1 and "unknown account" in missing.stderr


def test_logs_and_follow(platform: Platform, tmp_path: Path) -> None:
    env = _env("logged")
    _deploy(platform, tmp_path, env, "--subdomain", "logged-one")
    assert platform.request(platform.host("logged-one"), "GET", "/x?a=1")[0] == 200
    shown = mockfleet("logs", "--data-dir", str(platform.data_dir), env["uuid"])
    assert shown.returncode == 0, shown.stderr
    assert f"{env['uuid']} revision 1" in shown.stdout  # the worker's output (its start line)
    access = [json.loads(line) for line in shown.stdout.splitlines() if line.startswith("{")]
    assert [(a["method"], a["path"], a["status"], a["query"]) for a in access] == [("GET", "/x", 200, {"a": "1"})]
    follow = subprocess.Popen([sys.executable, "-m", "supervisor.cli", "logs", "--data-dir", str(platform.data_dir),
                               env["uuid"], "--follow"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert follow.stdout is not None
        seen = [follow.stdout.readline() for _ in range(len(shown.stdout.splitlines()))]
        assert seen == shown.stdout.splitlines(keepends=True)
        assert platform.request(platform.host("logged-one"), "GET", "/x?b=2")[0] == 200
        line = json.loads(follow.stdout.readline())
        assert (line["path"], line["query"]) == ("/x", {"b": "2"})
    finally:
        follow.terminate()
        follow.wait(10)
    assert mockfleet("logs", "--data-dir", str(platform.data_dir), "no-such-uuid").returncode == 1


def _wait_ready(platform: Platform) -> None:
    """``up`` prints ready once --demo's deploy is done."""
    deadline = time.monotonic() + 60
    while "ready" not in platform.log.read_text().split("mockfleet stopped")[-1]:
        assert time.monotonic() < deadline, platform.log.read_text()[-2000:]
        time.sleep(0.1)


def _wait_demo(platform: Platform) -> None:
    """The edge may still answer a miss it cached for the demo's host about a second after ``ready``."""
    deadline = time.monotonic() + 40
    while (answer := platform.request(platform.host("demo-mock"), "GET", "/users"))[0] != 200:
        assert time.monotonic() < deadline, answer
        time.sleep(0.25)


def test_up_demo_leaves_the_users_deployments_alone(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    demo = Platform(tmp_path_factory.mktemp("demo") / "data", ("--demo",))
    demo.start()
    _wait_ready(demo)
    try:
        _wait_demo(demo)
        # the tour deploys the demo file privately as my-mock
        tour = mockfleet("deploy", str(ROOT / "worker" / "demo_environment.json"), "--visibility", "private",
                         "--subdomain", "my-mock", "--data-dir", str(demo.data_dir), "--json")
        assert tour.returncode == 0, tour.stderr
        key = json.loads(tour.stdout)["apiKey"]
        assert demo.request(demo.host("demo-mock"), "GET", "/users")[0] == 200
        demo.stop()
        demo.start()  # --demo again
        _wait_ready(demo)
        _wait_demo(demo)
        assert demo.request(demo.host("my-mock"), "GET", "/users")[0] == 401  # still private
        assert demo.request(demo.host("my-mock"), "GET", "/users", token=key)[0] == 200
        assert demo.request(demo.host("demo-mock"), "GET", "/users")[0] == 200
        listed = json.loads(mockfleet("ls", "--json", "--data-dir", str(demo.data_dir)).stdout)
        assert sorted((d["subdomain"], d["visibility"]) for d in listed) == [("demo-mock", "PUBLIC"),
                                                                             ("my-mock", "PRIVATE")]
    finally:
        demo.stop()


def test_install_service_writes_a_unit_systemd_accepts(tmp_path: Path) -> None:
    unit_path = tmp_path / "mockfleet.service"
    done = mockfleet("install-service", "-o", str(unit_path), "--data-dir", str(tmp_path / "data"), "--",
                     "--domain", "mocks.example.test")
    assert done.returncode == 0, done.stderr
    unit = unit_path.read_text()
    for line in ("User=mockfleet", "NoNewPrivileges=yes", "ProtectSystem=strict", f"ReadWritePaths={tmp_path / 'data'}",
                 "KillMode=mixed", "CapabilityBoundingSet=\n"):
        assert line in unit
    assert f"-m supervisor.cli up --data-dir {tmp_path / 'data'} --https-port 8443 --domain mocks.example.test" in unit
    low = systemd_unit(ServiceSpec(python="/opt/m/bin/python", data_dir=Path("/var/lib/mockfleet"), https_port=443))
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in low and "ProtectHome=yes" in low
    if shutil.which("systemd-analyze"):
        checked = subprocess.run(["systemd-analyze", "verify", str(unit_path)], capture_output=True, text=True,
                                 timeout=60)
        assert checked.returncode == 0, checked.stderr
        assert "Unknown key" not in checked.stderr and "Unknown lvalue" not in checked.stderr


def test_dockerize_writes_a_dockerfile_of_the_platform(tmp_path: Path) -> None:
    target = tmp_path / "Dockerfile"
    done = mockfleet("dockerize", "-o", str(target), "--https-port", "9443")
    assert done.returncode == 0, done.stderr
    text = target.read_text()
    assert text.startswith("# mockfleet") and "FROM python:3.11-slim" in text and "USER mockfleet" in text
    assert "EXPOSE 9443" in text and "VOLUME /data" in text
    cmd = json.loads(next(line for line in text.splitlines() if line.startswith("CMD "))[4:])
    assert cmd[1:5] == ["-m", "supervisor.cli", "up", "--data-dir"] and "--bind" in cmd and "9443" in cmd
    for line in text.splitlines():  # every COPY source exists in the build context (the source tree)
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    assert (tmp_path / ".dockerignore").read_text().startswith(".venv")
