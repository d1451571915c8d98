"""`mockfleet import` / `export` against `mockoon-cli import` / `export` 9.9.0 on real public specs.

The environments must be the same JSON once uuids are numbered by first appearance: routes
(method, endpoint), responses per status code, bodies (examples and schema-generated templating),
headers, content types and every environment field. Skipped where the CLI is not installed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.common import NODE_DIR
from tests.conftest import ROOT

CLI = NODE_DIR / "node_modules" / ".bin" / "mockoon-cli"
SPECS = sorted(p for p in (Path(__file__).parent / "openapi_specs").iterdir() if p.suffix in (".json", ".yaml"))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

pytestmark = pytest.mark.skipif(not CLI.exists(), reason="Mockoon CLI not installed (just bench worker installs it)")


def numbered_uuids(text: str) -> str:
    seen: dict[str, str] = {}
    return UUID.sub(lambda m: seen.setdefault(m.group(0), f"uuid-{len(seen)}"), text)


def mockoon(*args: str) -> None:
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def mockfleet(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "supervisor.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def first_difference(a: object, b: object, path: str = "$") -> str | None:
    if type(a) is not type(b):
        return f"{path}: {a!r:.200} != {b!r:.200}"
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)[:10]} != {list(b)[:10]}"
        return next((d for k in a if (d := first_difference(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True)) if (d := first_difference(x, y, f"{path}[{i}]"))), None)
    return None if a == b else f"{path}: {a!r:.200} != {b!r:.200}"


def test_the_set_is_varied() -> None:
    texts = {p.name: p.read_text() for p in SPECS}
    assert len(SPECS) >= 10
    assert sum('swagger: "2.0"' in t or "swagger: '2.0'" in t for t in texts.values()) >= 2
    assert sum(p.suffix == ".yaml" for p in SPECS) >= 3
    assert any(re.search(r'"openapi": ?"3\.1', t) for t in texts.values())
    for keyword in ('"oneOf"', '"allOf"', '"examples"', '"enum"'):
        assert any(keyword in t for t in texts.values()), keyword


@pytest.mark.parametrize("spec", SPECS, ids=[p.name for p in SPECS])
def test_import_and_export_match_mockoon(spec: Path, tmp_path: Path) -> None:
    theirs, ours = tmp_path / "mockoon.json", tmp_path / "ours.json"
    mockoon("import", "--input", str(spec), "--output", str(theirs), "--disable-external-refs")
    mockfleet("import", str(spec), "-o", str(ours))
    env_theirs = json.loads(numbered_uuids(theirs.read_text()))
    env_ours = json.loads(numbered_uuids(ours.read_text()))
    assert env_ours["routes"], "a spec with routes"
    routes = lambda env: [(r["method"], r["endpoint"], [(s["statusCode"], s["headers"][0]["value"], s["body"])  # noqa: E731
                                                        for s in r["responses"]]) for r in env["routes"]]
    assert routes(env_ours) == routes(env_theirs)  # the readable part first
    assert first_difference(env_ours, env_theirs) is None
    assert numbered_uuids(ours.read_text()) == numbered_uuids(theirs.read_text())  # byte for byte
    # export the same environment with both: the OpenAPI documents are the same
    for fmt in ("json", "yaml"):
        out_theirs, out_ours = tmp_path / f"theirs.{fmt}", tmp_path / f"ours.{fmt}"
        mockoon("export", "--input", str(theirs), "--output", str(out_theirs), "--format", fmt)
        mockfleet("export", str(theirs), "-o", str(out_ours))
        if fmt == "json":
            assert out_ours.read_text() == out_theirs.read_text()
        else:
            import yaml

            assert yaml.safe_load(out_ours.read_text()) == yaml.safe_load(out_theirs.read_text())
