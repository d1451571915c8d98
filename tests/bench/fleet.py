"""``just bench fleet [--deploys N] [--rotations M]``: what a fleet on PostgreSQL costs against one server on SQLite.

Same run, same machine: a throwaway PostgreSQL server (tests/postgres_server.py) with two
``mockfleet up`` servers (eu1 in region eu, us1 in region us), and one ``mockfleet up`` on its SQLite
file. Measured through the edges (TLS), p50/p90:

- deploy latency, from the API call to the first 200 of the instance through its server's edge:
  on SQLite; on PostgreSQL to the server that answers the call (eu1 → eu); on PostgreSQL handed to
  the other server (eu1 → us, through the registry: NOTIFY, the owner starts the worker, answers);
- key-rotation propagation, from the rotate call's answer to the first 401 for the old key on the
  edge that serves the deployment: on SQLite; on PostgreSQL rotated through the other server.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from supervisor.registry import PlanRow, Registry
from tests.bench.common import record
from tests.bench.density import quantile, small_environment
from tests.conftest import Platform
from tests.fleet_platform import FleetServer
from tests.postgres_server import PostgresServer


def new_account(target: str | Path) -> str:
    """An account of its own per series: the API's per-account deploy rate never waits inside a timing."""
    registry = Registry(target)
    try:
        registry.set_plan(PlanRow(name="BENCH", deployments_quota=1000, monthly_requests_quota=10**9,
                                  requests_per_second=10**6, trial=False))
        return registry.create_account(f"bench-{uuid.uuid4().hex[:6]}", "BENCH")[1]
    finally:
        registry.close()


def deploy_series(api: Platform, owner: Platform, token: str, region: str | None, count: int, first: int = 0
                  ) -> tuple[list[float], list[dict[str, Any]]]:
    took: list[float] = []
    answers: list[dict[str, Any]] = []
    for index in range(first, first + count):
        body = {"environment": small_environment(index), "visibility": "PRIVATE", "subdomain": None,
                "region": region, "liveUpdate": False, "version": "9.9.0"}
        while True:
            started = time.perf_counter()
            status, answer = api.api("POST", "/deployments", body, token=token)
            if status != 429:
                break
            time.sleep(float(answer.get("retryAfter", 1.0)))
        if status != 200:
            raise RuntimeError(f"deploy {index}: {status} {answer}")
        host = owner.host(answer["subdomain"])
        while owner.request(host, "GET", "/hello", token=answer["apiKey"])[0] != 200:
            if time.perf_counter() - started > 60:
                raise RuntimeError(f"{host} never answered 200")
        took.append(time.perf_counter() - started)
        answers.append(answer)
    return took, answers


def rotation_series(api: Platform, owner: Platform, token: str, answers: list[dict[str, Any]], rounds: int) -> list[float]:
    took: list[float] = []
    for index in range(rounds):
        answer = answers[index % len(answers)]
        host = owner.host(answer["subdomain"])
        old = answer["apiKey"]
        conn = owner.connection(host)
        assert owner.request(host, "GET", "/hello", token=old, conn=conn)[0] == 200  # cached by the edge
        status, rotated = api.api("POST", f"/deployments/{answer['environmentUuid']}/api-key", token=token)
        if status != 200:
            raise RuntimeError(f"rotate: {status} {rotated}")
        started = time.perf_counter()
        while owner.request(host, "GET", "/hello", token=old, conn=conn)[0] != 401:
            if time.perf_counter() - started > 30:
                raise RuntimeError("the old key was never refused")
        took.append(time.perf_counter() - started)
        conn.close()
        answer["apiKey"] = rotated["apiKey"]
    return took


def line(what: str, values: list[float]) -> str:
    return (f"fleet: {what}: p50 {quantile(values, 0.5) * 1000:.0f} ms, p90 {quantile(values, 0.9) * 1000:.0f} ms "
            f"(n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(prog="just bench fleet")
    parser.add_argument("--deploys", type=int, default=10, help="deploys per series")
    parser.add_argument("--rotations", type=int, default=20, help="key rotations per series")
    args = parser.parse_args()
    lines: list[str] = []
    postgres = PostgresServer()
    try:
        with TemporaryDirectory(prefix="fleet-bench-") as tmp:
            target = postgres.create_database()
            eu = FleetServer(Path(tmp) / "eu1", "eu1", "eu", target)
            us = FleetServer(Path(tmp) / "us1", "us1", "us", target)
            single = Platform(Path(tmp) / "single" / "data")
            single.data_dir.parent.mkdir(parents=True)
            servers = [eu, us, single]
            try:
                for server in servers:
                    server.start()
                time.sleep(1.0)  # warm spares imported
                series = [("one server on SQLite", single, single, str(single.data_dir / "registry.sqlite3"), None),
                          ("PostgreSQL, deployed on the server answering the call (eu1 -> eu)", eu, eu, target, "eu"),
                          ("PostgreSQL, handed to the other server (eu1 -> us1)", eu, us, target, "us")]
                load_before = os.getloadavg()[0]
                tokens = {name: new_account(registry) for name, _, _, registry, _ in series}
                took: dict[str, list[float]] = {name: [] for name, *_ in series}
                made: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in series}
                for index in range(args.deploys):  # interleaved: the three series meet the same machine load
                    for name, api, owner, _, region in series:
                        seconds, answers = deploy_series(api, owner, tokens[name], region, 1, index)
                        took[name] += seconds
                        made[name] += answers
                for name, *_ in series:
                    lines.append(line(f"deploy to first 200, {name}", took[name]))
                    print(lines[-1], flush=True)
                deployed = {name: (api, owner, tokens[name], made[name]) for name, api, owner, _, _ in series}
                api, owner, token, answers = deployed[series[0][0]]
                lines.append(line("key rotation to the old key's first 401, one server on SQLite",
                                  rotation_series(api, owner, token, answers, args.rotations)))
                print(lines[-1], flush=True)
                _, owner, token, answers = deployed[series[2][0]]
                lines.append(line("key rotation to the old key's first 401, PostgreSQL, rotated through eu1, "
                                  "refused by us1's edge", rotation_series(eu, owner, token, answers, args.rotations)))
                print(lines[-1], flush=True)
                lines.append(f"fleet: machine load average (1 min) {load_before:.1f} at the start, "
                             f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores")
            finally:
                for server in servers:
                    server.stop()
    finally:
        postgres.stop()
    record(f"fleet ({args.deploys} deploys, {args.rotations} rotations per series)", lines)


if __name__ == "__main__":
    main()
