"""The ``mockfleet`` command as users run it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_help_and_version() -> None:
    assert "validate" in run("--help").stdout
    assert run("--version").stdout.startswith("mockfleet ")


def test_validate_valid_migrates_and_reports_cloud(tmp_path) -> None:
    source = tmp_path / "env.json"
    source.write_text(json.dumps({"lastMigration": 20, "name": "n", "https": False, "routes": [
        {"uuid": "r", "method": "get", "endpoint": "a", "enabled": True, "responses": [{"statusCode": 200, "body": "x", "filePath": "/x"}]}]}))
    out = tmp_path / "out.json"
    result = run("validate", str(source), "--migrate", str(out), "--cloud")
    assert result.returncode == 0, result.stderr
    assert "valid: 'n'" in result.stdout and "migrated from schema 20" in result.stdout
    assert "cloud: FILE_BODY_NOT_SERVED" in result.stdout
    assert json.loads(out.read_text())["lastMigration"] == 33


def test_validate_invalid_names_the_path(tmp_path) -> None:
    source = tmp_path / "bad.json"
    source.write_text('{"lastMigration": 33, "routes": [{"method": "fetch"}]}')
    result = run("validate", str(source))
    assert result.returncode == 1
    assert "$.routes[0].method" in result.stderr
