"""The registry on a real SQLite file and a real PostgreSQL server: versioned tables, quotas in the
transaction, hashed tokens."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from supervisor.registry import (
    SCHEMA,
    IntegrityViolation,
    QuotaExceeded,
    Registry,
    Runtime,
    digest,
    next_reset,
)


def _save(registry: Registry, account_id: int, uuid: str, quota: int = 1):
    if registry.runtime("builtin") is None:
        registry.add_runtime(Runtime(name="builtin", command=["python", "-m", "worker"], max_schema=33))
    return registry.save_deployment(
        account_id=account_id, environment_uuid=uuid, subdomain=f"sub-{uuid}", name="n", visibility="PUBLIC",
        region="local", live_update=False, runtime="builtin", uploaded=b"{}", migrated=b"{}", warnings=[],
        quota=quota, admin_token="t", worker_pid=1, worker_started=1.0, worker_socket="/x")


def test_schema_is_versioned_and_reopen_is_idempotent(registry_target) -> None:
    Registry(registry_target).close()
    registry = Registry(registry_target)
    assert registry.schema_version() == len(SCHEMA) == 9
    if registry.dialect == "sqlite":
        assert registry.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {p.name for p in registry.plans()} >= {"FREE", "SOLO", "TEAM", "TRIAL"}
    team = registry.plan("team")
    assert (team.deployments_quota, team.monthly_requests_quota, team.requests_per_second) == (3, 100_000, 5)
    assert registry.plan("TRIAL").trial and registry.plan("TRIAL").requests_per_second == 1


def test_tokens_are_stored_hashed(registry_target) -> None:
    registry = Registry(registry_target)
    account, token = registry.create_account("a", "SOLO")
    stored = registry.db.execute("SELECT token_digest FROM accounts").fetchone()[0]
    assert stored == digest(token) and token not in stored
    assert registry.account_by_token(token) == account
    assert registry.account_by_token(token + "x") is None


def test_quota_is_checked_inside_the_deploy_transaction(registry_target) -> None:
    registry = Registry(registry_target)
    account, _ = registry.create_account("a", "SOLO")
    first = _save(registry, account.id, "u1")
    assert first.revision == 1 and first.status == "RUNNING"
    with pytest.raises(QuotaExceeded):
        _save(registry, account.id, "u2")
    again = _save(registry, account.id, "u1")  # a re-deploy is not a new deployment
    assert again.revision == 2 and again.api_key == first.api_key
    assert [d.environment_uuid for d in registry.deployments(account.id)] == ["u1"]


def test_usage_accumulates_per_month(registry_target) -> None:
    registry = Registry(registry_target)
    account, _ = registry.create_account("a", "TEAM")
    _save(registry, account.id, "u1", quota=3)
    assert registry.add_usage({"u1": 3, "unknown": 5}) == {account.id: 3}
    assert registry.add_usage({"u1": 2})[account.id] == 5
    assert registry.deployment_usage("u1") == 5
    assert next_reset(0).isoformat() == "1970-02-01T00:00:00+00:00"


def test_foreign_keys_are_enforced(registry_target) -> None:
    registry = Registry(registry_target)
    with pytest.raises(IntegrityViolation):
        _save(registry, 999, "u1")


def test_version_1_registries_are_migrated_forward(tmp_path) -> None:
    """A registry written before plans had body limits opens, migrates and keeps its rows."""

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA[0] + "; PRAGMA user_version=1;")
    old.execute("INSERT INTO plans VALUES ('SOLO', 1, 50000, 3, 0)")
    old.execute("INSERT INTO accounts (name, token_digest, plan, created_at) VALUES ('a', 'd', 'SOLO', 0)")
    old.commit()
    old.close()
    registry = Registry(path)
    assert registry.schema_version() == len(SCHEMA)
    assert registry.plan("SOLO").max_body_bytes == 5 * 1024 * 1024
    assert registry.account(1).plan == "SOLO"


def test_disabled_routes_are_kept_with_the_deployment_for_restarts(registry_target) -> None:
    registry = Registry(registry_target)
    registry.add_runtime(Runtime(name="builtin", command=["python", "-m", "worker"], max_schema=33))
    account, _ = registry.create_account("a", "TEAM")
    saved = registry.save_deployment(
        account_id=account.id, environment_uuid="e", subdomain="sub-a", name="n", visibility="PUBLIC",
        region="local", live_update=False, runtime="builtin", uploaded=b"{}", migrated=b"{}", warnings=[],
        quota=3, admin_token="t", worker_pid=1, worker_started=1.0, worker_socket="s", disabled_routes=["r1"])
    assert saved.disabled_routes == ["r1"]
    registry.close()
    assert Registry(registry_target).deployment("e").disabled_routes == ["r1"]  # type: ignore[union-attr]


def test_outbound_rules_are_kept_and_replaced_per_kind(registry_target) -> None:
    registry = Registry(registry_target)
    registry.replace_outbound_rules("allow", ["10.0.0.0/8", "intranet.corp:8443"])
    registry.replace_outbound_rules("resolve", ["intranet.corp=10.1.2.3"])
    registry.close()
    registry = Registry(registry_target)
    assert registry.outbound_rules() == {"allow": ["10.0.0.0/8", "intranet.corp:8443"], "deny": [],
                                         "resolve": ["intranet.corp=10.1.2.3"]}
    registry.replace_outbound_rules("allow", [])
    assert registry.outbound_rules()["allow"] == [] and registry.outbound_rules()["resolve"] != []


def test_edge_ledger_totals_count_once_however_often_they_are_reported(registry_target) -> None:
    registry = Registry(registry_target)
    account, _ = registry.create_account("ledger", "TEAM")
    registry.add_runtime(Runtime(name="builtin", command=["python", "-m", "worker"], max_schema=33))
    registry.db.execute("INSERT INTO deployments (environment_uuid, account_id, subdomain, name, visibility, api_key, "
                        "region, runtime, environment_uploaded, environment_migrated, status, admin_token, created_at, "
                        "updated_at) VALUES ('d1', ?, 'sub', 'n', 'PUBLIC', 'k', 'local', ?, ?, ?, 'RUNNING', 'a', "
                        "0, 0)", (account.id, "builtin", b"", b""))
    assert registry.add_usage_totals("edge-a", {"d1": 5}) == {account.id: 5}
    assert registry.add_usage_totals("edge-a", {"d1": 5}) == {}  # the same report again (its answer was lost)
    assert registry.add_usage_totals("edge-a", {"d1": 7}) == {account.id: 7}
    assert registry.add_usage_totals("edge-b", {"d1": 2}) == {account.id: 9}  # another ledger counts on its own
    assert registry.add_usage_totals("edge-a", {"d1": 6, "gone": 3}) == {}  # totals never go back; unknown ignored
    assert registry.monthly_usage(account.id) == 9 and registry.deployment_usage("d1") == 9
    registry.close()


def test_two_connections_racing_for_the_last_deployment_slot_let_one_through(registry_target) -> None:
    """Two supervisors sharing a registry: the quota is counted inside each deploy's transaction."""
    import threading

    first, second = Registry(registry_target), Registry(registry_target)
    first.add_runtime(Runtime(name="builtin", command=["python", "-m", "worker"], max_schema=33))
    for round_ in range(8):
        account, _ = first.create_account(f"race{round_}", "SOLO")
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def deploy(registry: Registry, uuid: str, account_id: int = account.id, barrier: threading.Barrier = barrier,
                   outcomes: list[str] = outcomes) -> None:
            barrier.wait()
            try:
                _save(registry, account_id, uuid)
                outcomes.append("saved")
            except QuotaExceeded:
                outcomes.append("refused")

        threads = [threading.Thread(target=deploy, args=(r, f"race{round_}-{i}")) for i, r in enumerate((first, second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["refused", "saved"]
        assert first.count_deployments(account.id) == second.count_deployments(account.id) == 1
    first.close()
    second.close()


def test_a_server_frozen_inside_a_transaction_does_not_hold_the_others_for_ever(
        postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL ends a session idle inside a transaction (a SIGSTOPped or paused server) after
    IDLE_IN_TRANSACTION_MS: the others' writes go through, and the frozen one reconnects when it resumes."""
    import time

    from supervisor import registry_db
    from supervisor.registry_db import RegistryUnavailable, connect

    monkeypatch.setattr(registry_db, "IDLE_IN_TRANSACTION_MS", 1000)
    target = postgres_server.create_database()
    Registry(target).close()  # the schema
    frozen, other = connect(target), connect(target)
    try:
        other.execute("SET lock_timeout = '15s'")  # without the idle timeout this test fails, not hangs
        frozen.execute("BEGIN")
        frozen.execute("UPDATE registry_meta SET value = value WHERE key = 'schema_version'")  # holds the row
        started = time.monotonic()
        other.execute("UPDATE registry_meta SET value = value WHERE key = 'schema_version'")  # waits, then goes
        assert 0.5 < time.monotonic() - started < 10
        with pytest.raises(RegistryUnavailable):
            frozen.execute("COMMIT")  # its session was ended: the transaction is gone, and it says so
        assert frozen.execute("SELECT 1").fetchone()[0] == 1  # a new connection
    finally:
        frozen.close()
        other.close()
