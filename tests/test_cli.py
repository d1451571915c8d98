"""The ``mockfleet`` command as users run it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "schemas" / "fixtures"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_help_and_version() -> None:
    assert "validate" in run("--help").stdout
    assert run("--version").stdout.startswith("mockfleet ")


SCHEMA_20 = {
    "uuid": "e0000000-0000-4000-8000-000000000000", "lastMigration": 20, "name": "n", "endpointPrefix": "",
    "latency": 0, "port": 3000, "hostname": "0.0.0.0", "proxyMode": False, "proxyHost": "", "proxyRemovePrefix": False,
    "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "", "caPath": "",
                   "passphrase": ""},
    "cors": True, "headers": [], "proxyReqHeaders": [], "proxyResHeaders": [],
    "routes": [{"uuid": "a0000000-0000-4000-8000-000000000001", "documentation": "", "method": "get", "endpoint": "a",
                "enabled": True, "randomResponse": False, "sequentialResponse": False, "responses": [
                    {"uuid": "b0000000-0000-4000-8000-000000000001", "statusCode": 200, "body": "x", "latency": 0,
                     "label": "", "headers": [], "filePath": "/x", "sendFileAsBody": False, "rules": [],
                     "rulesOperator": "OR", "disableTemplating": False, "fallbackTo404": False, "default": True}]}],
}


def test_validate_valid_migrates_and_reports_cloud(tmp_path) -> None:
    source = tmp_path / "env.json"
    source.write_text(json.dumps(SCHEMA_20))
    out = tmp_path / "out.json"
    result = run("validate", str(source), "--migrate", str(out), "--cloud")
    assert result.returncode == 0, result.stderr
    assert "valid: 'n'" in result.stdout and "migrated from schema 20" in result.stdout
    assert "cloud: FILE_BODY_NOT_SERVED" in result.stdout
    assert json.loads(out.read_text())["lastMigration"] == 33


def test_validate_is_strict_and_names_every_path_it_would_repair(tmp_path) -> None:
    source = tmp_path / "broken.json"
    source.write_text((FIXTURES / "schema-broken.json").read_text())
    out = tmp_path / "out.json"
    result = run("validate", str(source), "--migrate", str(out))
    assert result.returncode == 1 and not out.exists()
    lines = result.stderr.splitlines()
    assert "8 value(s) Mockoon's schema rejects" in lines[0]
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "$.routes[0].uuid", "$.routes[0].responses[0].statusCode", "$.routes[0].responses[0].headers[0]",
        "$.routes[0].responses[0].rules[1].target", "$.routes[0].responses[0].rulesOperator", "$",
        "$.rootChildren[0]", "$.routes[0]"]


def test_validate_refuses_what_cannot_be_repaired(tmp_path) -> None:
    source = tmp_path / "list.json"
    source.write_text("[]")
    result = run("validate", str(source))
    assert result.returncode == 1 and "$: expected a Mockoon environment object, got array" in result.stderr


def test_validate_invalid_names_the_path(tmp_path) -> None:
    source = tmp_path / "bad.json"
    source.write_text('{"lastMigration": 33, "routes": [{"method": "fetch"}]}')
    result = run("validate", str(source))
    assert result.returncode == 1
    assert "$.routes[0].method" in result.stderr
