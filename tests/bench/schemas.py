"""``just bench schemas``: decode + migrate + sanitise time for a 1,000-route environment."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from schemas import decode_environment
from schemas.sanitise import sanitise_for_cloud


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


def main() -> None:
    current = measure(build(1000, 33))
    legacy = measure(build(1000, 20))
    line = (f"schemas: 1,000-route environment, decode+migrate+sanitise median: {current:.1f} ms at schema 33, "
            f"{legacy:.1f} ms from schema 20 (migrations 21-33 applied)")
    print(line)
    path = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"
    with path.open("a") as out:
        out.write(f"\n- {time.strftime('%Y-%m-%d')}: {line}\n")


if __name__ == "__main__":
    main()
