"""``just bench schemas``: decode + migrate + sanitise time for a 1,000-route environment, and the
OpenAPI import of the largest spec of the differential test set against ``mockoon-cli import``."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from schemas import decode_environment
from schemas.openapi_import import import_openapi
from schemas.openapi_parse import parse_spec_text
from schemas.sanitise import sanitise_for_cloud

SPECS = Path(__file__).resolve().parents[1] / "schemas" / "openapi_specs"


def build(routes: int, last_migration: int) -> bytes:
    return json.dumps({
        "lastMigration": last_migration, "name": "bench", "routes": [
            {"uuid": f"r{i}", "method": "get", "endpoint": f"items/{i}/:id", "enabled": True,
             "responses": [{"uuid": f"s{i}", "statusCode": 200, "body": "{{faker 'name.firstName'}}",
                            "headers": [{"key": "X-I", "value": str(i)}], "rules": [{"target": "query", "modifier": "a", "value": "1"}]}]}
            for i in range(routes)]}).encode()


def measure(payload: bytes, runs: int = 15) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        env, _ = decode_environment(payload)
        sanitise_for_cloud(env)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def openapi_import(runs: int = 5) -> str:
    """Parse + convert the largest spec in-process (median), then `mockfleet import` and
    `mockoon-cli import` as commands on the same file (median wall time, start-up included)."""
    import subprocess
    import sys
    import tempfile

    from tests.bench.common import mockoon_cli

    spec = max((p for p in SPECS.iterdir() if p.suffix in (".json", ".yaml")), key=lambda p: p.stat().st_size)
    data = spec.read_bytes()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        import_openapi(parse_spec_text(data))
        samples.append(time.perf_counter() - started)

    def command(argv: list[str]) -> float:
        walls = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        return statistics.median(walls) * 1000

    with tempfile.TemporaryDirectory() as scratch:
        ours = command([sys.executable, "-m", "supervisor.cli", "import", str(spec), "-o", f"{scratch}/a.json",
                        "--no-validate"])
        cli = mockoon_cli()
        theirs = command([str(cli), "import", "-i", str(spec), "-o", f"{scratch}/b.json",
                          "--disable-external-refs"]) if cli else None
    versus = f", mockoon-cli import {theirs:.0f} ms" if theirs is not None else ", mockoon-cli not installed"
    return (f"schemas: OpenAPI import of {spec.name} ({len(data) // 1024} KiB): parse+convert median "
            f"{statistics.median(samples) * 1000:.0f} ms in-process; as commands `mockfleet import` "
            f"{ours:.0f} ms{versus} (median of {runs}, start-up included)")


def main() -> None:
    current = measure(build(1000, 33))
    legacy = measure(build(1000, 20))
    lines = [f"schemas: 1,000-route environment, decode+migrate+sanitise median: {current:.1f} ms at schema 33, "
             f"{legacy:.1f} ms from schema 20 (migrations 21-33 applied)", openapi_import()]
    path = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"
    with path.open("a") as out:
        for line in lines:
            print(line)
            out.write(f"\n- {time.strftime('%Y-%m-%d')}: {line}\n")


if __name__ == "__main__":
    main()
