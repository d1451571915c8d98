"""The user and operator commands against a real platform, over the local socket and over HTTPS."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from tests.conftest import ROOT, Platform, make_env


def mockfleet(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor.cli", *args, "--data-dir", str(platform.data_dir)]
                          if args[0] not in ("runtime", "account", "plan") else
                          [sys.executable, "-m", "supervisor.cli", *args[:2], "--data-dir", str(platform.data_dir),
                           *args[2:]], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_deploy_ls_rotate_rm(platform: Platform, tmp_path) -> None:
    env = make_env([{"uuid": "r1", "type": "http", "method": "get", "endpoint": "x",
                     "responses": [{"uuid": "s1", "body": "cli", "default": True}]}], uuid=str(uuid.uuid4()))
    path = tmp_path / "env.json"
    path.write_text(json.dumps(env))
    created = json.loads(mockfleet(platform, "account", "create", "--plan", "team", "--json").stdout)
    token = created["token"]
    done = mockfleet(platform, "deploy", str(path), "--visibility", "private", "--subdomain", "cli-demo",
                     "--token", token)
    assert done.returncode == 0, done.stderr
    assert "https://cli-demo.local.mockfleet.localhost" in done.stdout and "api key" in done.stdout
    listed = mockfleet(platform, "ls", "--json", "--token", token, "--api-url",
                       f"https://api.mockfleet.localhost:{platform.port}")
    assert listed.returncode == 0, listed.stderr
    assert [d["subdomain"] for d in json.loads(listed.stdout)] == ["cli-demo"]
    rotated = mockfleet(platform, "rotate-key", env["uuid"], "--json", "--token", token)
    key = json.loads(rotated.stdout)["apiKey"]
    assert platform.request(platform.host("cli-demo"), "GET", "/x", token=key)[2] == b"cli"
    assert mockfleet(platform, "rm", env["uuid"], "--token", token).returncode == 0
    missing = mockfleet(platform, "rm", env["uuid"], "--token", token)
    assert missing.returncode == 1 and "404" in missing.stderr
    bad = mockfleet(platform, "ls", "--token", "nope")
    assert bad.returncode == 1 and "401" in bad.stderr


def test_runtime_ls_and_add(platform: Platform) -> None:
    listed = mockfleet(platform, "runtime", "ls", "--json")
    names = [r["name"] for r in json.loads(listed.stdout)]
    assert "builtin" in names


def test_plans_are_operator_editable(platform: Platform) -> None:
    saved = mockfleet(platform, "plan", "set", "GOLD", "--deployments", "10", "--monthly-requests", "1000000",
                      "--requests-per-second", "50")
    assert saved.returncode == 0, saved.stderr
    plans = {p["name"]: p for p in json.loads(mockfleet(platform, "plan", "ls", "--json").stdout)}
    assert plans["GOLD"] == {"name": "GOLD", "deployments": 10, "monthlyRequests": 1000000, "requestsPerSecond": 50,
                             "trial": False, "maxBodyBytes": 10 * 1024 * 1024,
                             "maxStateBytes": 2 * 1024 * 1024}
    assert plans["SOLO"]["requestsPerSecond"] == 3
    created = mockfleet(platform, "account", "create", "--plan", "gold", "--json")
    assert json.loads(created.stdout)["plan"] == "GOLD"
    assert mockfleet(platform, "account", "create", "--plan", "nope").returncode == 1
