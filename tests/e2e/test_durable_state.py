"""What users did to a running mock outlives idle stops, kill -9 and restarts of `mockfleet up`.

Each test changes a deployment the way its users would (a CRUD write, a global variable and an
environment variable through the admin API, a sequential response, a live update), through the
edge and TLS, then stops the worker one way or another and checks everything came back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from supervisor.registry import PlanRow, Registry
from tests.conftest import ROOT, Platform, make_env, running_platform

SAVE_BOUND = 1.0  # seconds of changes a kill -9 may lose
JSON = {"Content-Type": "application/json"}
LIVE_ROUTE, LIVE_RESPONSE = str(uuidlib.uuid4()), str(uuidlib.uuid4())


def environment(name: str) -> dict[str, Any]:
    """Real uuids: the repair Mockoon does would give other ids new random ones at each load."""
    ids = {key: str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{name}/{key}"))
           for key in ("crud", "cr", "vars", "vr", "seq", "s1", "s2", "d")}
    users = {"uuid": ids["crud"], "type": "crud", "method": "", "endpoint": "users",
             "responses": [{"uuid": ids["cr"], "bodyType": "DATABUCKET", "databucketID": "users", "default": True}]}
    variables = {"uuid": ids["vars"], "type": "http", "method": "get", "endpoint": "vars",
                 "responses": [{"uuid": ids["vr"], "default": True,
                                "body": '{"g": "{{getGlobalVar \'g\'}}", "e": "{{getEnvVar \'COLOUR\'}}"}'}]}
    sequence = {"uuid": ids["seq"], "type": "http", "method": "get", "endpoint": "seq", "responseMode": "SEQUENTIAL",
                "responses": [{"uuid": ids["s1"], "body": "one", "default": True}, {"uuid": ids["s2"], "body": "two"}]}
    env = make_env([users, variables, sequence], uuid=str(uuidlib.uuid4()), name=name)
    env["data"] = [{"uuid": ids["d"], "id": "users", "name": "Users", "documentation": "",
                    "value": '[{"id": 1, "name": "deployed"}]'}]
    return env


class Mock:
    """One deployment seen from outside: its host, key and the platform that serves it."""

    def __init__(self, platform: Platform, token: str, env: dict[str, Any], live_update: bool = True) -> None:
        self.platform, self.token, self.env = platform, token, env
        status, answer = platform.api("POST", "/deployments", {
            "environment": env, "visibility": "PUBLIC", "subdomain": None, "region": "local",
            "liveUpdate": live_update, "version": "9.9.0"}, token=token)
        assert status == 200, answer
        self.uuid, self.key, self.host = answer["environmentUuid"], answer["apiKey"], platform.host(answer["subdomain"])

    def call(self, method: str, path: str, body: Any = None, admin: bool = False) -> tuple[int, Any]:
        status, _, data = self.platform.request(self.host, method, path, body, headers=JSON if body is not None else None,
                                                token=self.key if admin else None)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode()

    def details(self) -> dict[str, Any]:
        status, answer = self.platform.api("GET", f"/deployments/{self.uuid}", token=self.token)
        assert status == 200, answer
        return dict(answer)

    def change_everything(self) -> None:
        assert self.call("POST", "/users", {"name": "added"})[0] == 201
        assert self.call("POST", "/mockoon-admin/global-vars", {"key": "g", "value": "kept"}, admin=True)[0] == 200
        assert self.call("POST", "/mockoon-admin/env-vars", {"key": "COLOUR", "value": "blue"}, admin=True)[0] == 200
        assert self.call("GET", "/seq") == (200, "one")

    def assert_changes_kept(self) -> None:
        assert self.call("GET", "/users") == (200, [{"id": 1, "name": "deployed"}, {"id": 2, "name": "added"}])
        assert self.call("GET", "/vars") == (200, {"g": "kept", "e": "blue"})
        assert self.call("GET", "/seq") == (200, "two")

    def assert_deployed_state(self) -> None:
        assert self.call("GET", "/users") == (200, [{"id": 1, "name": "deployed"}])
        assert self.call("GET", "/vars") == (200, {"g": "", "e": ""})
        assert self.call("GET", "/seq") == (200, "one")

    def live_update(self) -> tuple[int, Any]:
        updated = json.loads(json.dumps(self.env))
        updated["routes"].append({"uuid": LIVE_ROUTE, "type": "http", "method": "get", "endpoint": "live",
                                  "responses": [{"uuid": LIVE_RESPONSE, "body": "added live", "default": True}]})
        updated["rootChildren"].append({"type": "route", "uuid": LIVE_ROUTE})
        return self.call("PUT", "/mockoon-admin/environment", updated, admin=True)

    def kill_worker(self) -> None:
        worker = self.details()["worker"]
        assert worker is not None
        os.kill(worker["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # until restarted: a request during the crash backoff gets a 503
            details = self.details()
            if details["state"] == "RUNNING" and details["worker"] and details["worker"]["pid"] != worker["pid"]:
                return
            time.sleep(0.1)
        raise AssertionError(self.details()["events"])


def account(platform: Platform, plan: str = "ROOMY") -> str:
    """An account whose rate limit the tests' bursts of requests stay under."""
    registry = Registry(platform.data_dir / "registry.sqlite3")
    try:
        registry.set_plan(PlanRow(name="ROOMY", deployments_quota=5, monthly_requests_quota=1_000_000,
                                  requests_per_second=1000, trial=False))
        return registry.create_account(f"acct-{uuidlib.uuid4().hex[:6]}", plan)[1]
    finally:
        registry.close()


@pytest.fixture(scope="module")
def durable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "durable")


@pytest.fixture(scope="module")
def idling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from running_platform(tmp_path_factory, "idling", "--idle-stop-seconds", "2")


def test_changes_and_a_live_update_survive_an_idle_stop(idling: Platform) -> None:
    mock = Mock(idling, account(idling), environment("idle"))
    mock.change_everything()
    assert mock.live_update() == (200, {"message": "Environment updated"})
    deadline = time.monotonic() + 20
    while mock.details()["worker"] is not None and time.monotonic() < deadline:
        time.sleep(0.3)
    assert mock.details()["worker"] is None, "the worker was not stopped when idle"
    mock.assert_changes_kept()  # this request wakes it
    assert mock.call("GET", "/live") == (200, "added live")


def test_changes_older_than_a_second_survive_a_kill_9(durable: Platform) -> None:
    mock = Mock(durable, account(durable), environment("killed"))
    mock.change_everything()
    time.sleep(SAVE_BOUND + 0.5)  # the bound under test, plus the push itself on a loaded machine
    mock.kill_worker()
    mock.assert_changes_kept()
    assert mock.details()["savedState"]["bytes"] > 0


def test_a_live_update_is_a_revision_that_survives_a_kill_9(durable: Platform) -> None:
    mock = Mock(durable, account(durable), environment("live"))
    assert mock.call("GET", "/live")[0] == 404
    assert mock.live_update() == (200, {"message": "Environment updated"})
    assert mock.call("GET", "/live") == (200, "added live")
    revisions = mock.details()["revisions"]  # recorded before the PUT was answered
    assert [(r["revision"], r["kind"]) for r in revisions] == [(2, "live-update"), (1, "deploy")]
    assert mock.details()["revision"] == 2
    mock.kill_worker()
    assert mock.call("GET", "/live") == (200, "added live")


def test_live_update_is_refused_when_deployed_without_it(durable: Platform) -> None:
    mock = Mock(durable, account(durable), environment("frozen"), live_update=False)
    status, answer = mock.live_update()
    assert status == 403 and "liveUpdate: false" in answer["message"]
    assert mock.call("GET", "/live")[0] == 404
    assert [r["kind"] for r in mock.details()["revisions"]] == ["deploy"]


def test_purge_returns_to_the_deployed_state_and_stays_there(durable: Platform) -> None:
    mock = Mock(durable, account(durable), environment("purged"))
    mock.change_everything()
    assert mock.live_update()[0] == 200
    status, answer = mock.call("POST", "/mockoon-admin/state/purge", admin=True)
    assert status == 200, answer
    mock.assert_deployed_state()
    assert mock.call("GET", "/live")[0] == 404
    assert [r["kind"] for r in mock.details()["revisions"]] == ["reset", "live-update", "deploy"]
    time.sleep(SAVE_BOUND + 0.5)
    mock.kill_worker()
    assert mock.call("GET", "/live")[0] == 404
    assert mock.call("GET", "/vars") == (200, {"g": "", "e": ""})
    assert mock.call("GET", "/seq") == (200, "two")  # counted from the purge on, not from the deploy


def test_mockfleet_reset_returns_to_the_deployed_state(durable: Platform) -> None:
    token = account(durable)
    mock = Mock(durable, token, environment("reset"))
    mock.change_everything()
    assert mock.live_update()[0] == 200
    done = subprocess.run([sys.executable, "-m", "supervisor.cli", "reset", mock.uuid, "--data-dir",
                           str(durable.data_dir), "--token", token], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "deployed state" in done.stdout
    mock.assert_deployed_state()
    assert mock.call("GET", "/live")[0] == 404
    assert mock.details()["revisions"][0]["kind"] == "reset"


def test_a_redeploy_starts_from_the_deployed_file(durable: Platform) -> None:
    token = account(durable)
    mock = Mock(durable, token, environment("redeployed"))
    mock.change_everything()
    again = Mock(durable, token, mock.env)
    assert again.uuid == mock.uuid
    time.sleep(SAVE_BOUND + 0.5)  # the retired worker's last pushes must not win either
    again.assert_deployed_state()
    mock.kill_worker()
    again.assert_deployed_state()


def test_writes_over_the_plans_state_cap_are_refused_and_nothing_else_is_lost(durable: Platform) -> None:
    registry = Registry(durable.data_dir / "registry.sqlite3")
    try:
        registry.set_plan(PlanRow(name="TINY", deployments_quota=1, monthly_requests_quota=100_000,
                                  requests_per_second=1000, trial=False, max_state_bytes=4096))
    finally:
        registry.close()
    mock = Mock(durable, account(durable, "TINY"), environment("capped"))
    assert mock.call("POST", "/users", {"name": "small"})[0] == 201
    status, answer = mock.call("POST", "/users", {"name": "x" * 5000})
    assert status == 507 and "state size cap" in answer["message"]
    status, answer = mock.call("POST", "/mockoon-admin/global-vars", {"key": "big", "value": "y" * 5000}, admin=True)
    assert status == 507 and "4096 bytes" in answer["message"]
    assert mock.call("GET", "/users") == (200, [{"id": 1, "name": "deployed"}, {"id": 2, "name": "small"}])
    assert mock.call("POST", "/users", {"name": "still fits"})[0] == 201


def test_changes_survive_a_restart_of_mockfleet_up(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data")
    platform.start()
    try:
        mock = Mock(platform, account(platform), environment("restarted"))
        mock.change_everything()
        assert mock.live_update()[0] == 200
        platform.stop()  # SIGTERM: workers drain and push their final state
        platform.start()
        mock.assert_changes_kept()
        assert mock.call("GET", "/live") == (200, "added live")
    finally:
        platform.stop()
