"""``mockfleet registry migrate``: a populated SQLite registry moved into a real PostgreSQL one, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys

from schemas.worker_state import StatePush
from supervisor import state_store
from supervisor.registry import PlanRow, Registry, Runtime
from tests.conftest import ROOT


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor.cli", "registry", "migrate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _populate(registry: Registry) -> dict[str, str]:
    registry.add_runtime(Runtime(name="builtin", command=["python", "-m", "worker"], max_schema=33))
    registry.set_plan(PlanRow(name="GOLD", deployments_quota=7, monthly_requests_quota=123_456, requests_per_second=9,
                              trial=False, max_body_bytes=1234, max_state_bytes=5678))
    registry.replace_outbound_rules("allow", ["10.0.0.0/8", "intranet.corp:8443"])
    registry.replace_outbound_rules("resolve", ["intranet.corp=10.1.2.3"])
    tokens = {}
    for name, plan in (("alice", "TEAM"), ("bob", "GOLD"), ("carol", "SOLO")):
        account, tokens[name] = registry.create_account(name, plan)
        for n in range(2 if plan != "SOLO" else 1):
            uuid = f"{name}-{n}"
            saved = registry.save_deployment(
                account_id=account.id, environment_uuid=uuid, subdomain=f"mock-{name}{n}", name=f"env {n}",
                visibility="PRIVATE" if n else "PUBLIC", region="local", live_update=bool(n), runtime="builtin",
                uploaded=b'{"uploaded": true}', migrated=b'{"migrated": "\xc3\xa9"}',
                warnings=[{"code": "w", "routes": ["r"]}], quota=7, admin_token=f"admin-{uuid}", worker_pid=100 + n,
                worker_started=1.5, worker_socket=f"/run/{uuid}.sock", disabled_routes=["r1"])
            state_store.deployed(registry, uuid, saved.revision, epoch=2**61 + n)
    registry.rotate_key("bob-1")
    alice = registry.account_by_token(tokens["alice"])
    assert alice is not None
    registry.add_usage({"alice-0": 40, "alice-1": 2, "bob-0": 7}, now=1_000_000.0)  # an earlier month
    registry.add_usage({"alice-0": 5})
    registry.add_usage_totals("edge-a", {"bob-1": 11, "carol-0": 3})
    assert state_store.store(registry, StatePush(deployment="alice-1", token="admin-alice-1", epoch=2**61 + 1,
                                                 state=b"\x00snapshot\xff")).stored
    registry.delete_deployment("carol-0", 3)  # gone, but its counted requests and audit stay
    return tokens


def _dump(registry: Registry) -> dict[str, object]:
    tables = {}
    for table, order in (("usage", "account_id, month"), ("deployment_usage", "environment_uuid, month"),
                         ("edge_ledger_marks", "ledger, environment_uuid"), ("audit", "id"),
                         ("worker_states", "environment_uuid"), ("revisions", "environment_uuid, revision"),
                         ("accounts", "id")):
        tables[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                         for row in registry.db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()]
    return {"deployments": registry.deployments(), "plans": registry.plans(), "runtimes": registry.runtimes(),
            "outbound": registry.outbound_rules(), **tables}


def test_a_populated_sqlite_registry_moves_into_postgresql_whole(tmp_path, postgres_server) -> None:
    sqlite_path = tmp_path / "registry.sqlite3"
    source = Registry(sqlite_path)
    tokens = _populate(source)
    before = _dump(source)
    source.close()
    target = postgres_server.create_database()

    result = _cli("--from", f"sqlite:{sqlite_path}", "--to", target, "--json")
    assert result.returncode == 0, result.stderr
    copied = json.loads(result.stdout)
    assert copied["accounts"] == 3 and copied["deployments"] == 4 and copied["usage"] == 5

    moved = Registry(target)
    assert moved.dialect == "postgresql"
    assert _dump(moved) == before  # every row, byte for byte: keys, environments, snapshots, counts, audit
    for name, token in tokens.items():  # tokens still authenticate their owners
        assert moved.account_by_token(token).name == name  # type: ignore[union-attr]
    assert moved.deployment("bob-1").api_key == Registry(sqlite_path).deployment("bob-1").api_key  # type: ignore[union-attr]
    assert moved.monthly_usage(1) == 5 and moved.monthly_usage(1, now=1_000_000.0) == 42
    assert moved.add_usage_totals("edge-a", {"bob-1": 11}) == {}  # the edge's mark came along: no double count
    account, _ = moved.create_account("dave", "TEAM")  # new ids follow the copied ones
    assert account.id == 4
    moved.close()

    again = _cli("--from", f"sqlite:{sqlite_path}", "--to", target)
    assert again.returncode == 1 and "already has" in again.stderr and "accounts" in again.stderr
    assert len(Registry(target).deployments()) == 4


def test_migrate_names_a_registry_it_cannot_use(tmp_path) -> None:
    result = _cli("--from", "mysql://x/y", "--to", f"sqlite:{tmp_path / 'r.sqlite3'}")
    assert result.returncode == 1 and "unknown registry 'mysql://x/y'" in result.stderr
    result = _cli("--from", f"sqlite:{tmp_path / 'a.sqlite3'}", "--to", f"postgresql:///nope?host={tmp_path}")
    assert result.returncode == 1 and "cannot reach the registry" in result.stderr
