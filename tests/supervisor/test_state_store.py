"""The registry's half of durable state on a real SQLite file and a real PostgreSQL server: epochs, revisions, purge, reset, cap."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from schemas import decode_environment
from schemas.worker_state import LiveUpdate, StatePush
from supervisor import state_store
from supervisor.registry import PlanRow, Registry, Runtime
from tests.conftest import make_env

UUID = "b0000000-0000-4000-8000-000000000001"


@pytest.fixture
def registry(registry_target) -> Registry:
    registry = Registry(registry_target)
    registry.add_runtime(Runtime(name="builtin", command=["python", "-m", "worker"], max_schema=33))
    registry.set_plan(PlanRow(name="SMALL", deployments_quota=3, monthly_requests_quota=10, requests_per_second=1,
                              trial=False, max_state_bytes=1000))
    return registry


def deploy(registry: Registry, epoch: int) -> None:
    env, _ = decode_environment(json.dumps(make_env([], uuid=UUID, name="deployed")))
    account_id = registry.create_account("a", "SMALL")[0].id if not registry.deployments() else 1
    # as the supervisor records a deploy: the deployment and its deployed state in one transaction
    registry.save_deployment(
        account_id=account_id, environment_uuid=UUID, subdomain="sub-abc", name="n", visibility="PUBLIC",
        region="local", live_update=True, runtime="builtin", uploaded=b"{}", migrated=msgspec.json.encode(env),
        warnings=[], quota=3, admin_token="tok", worker_pid=1, worker_started=1.0, worker_socket="/x",
        then=lambda db, revision: state_store.record_deployed(db, UUID, revision, epoch))


def test_a_deploy_and_its_deployed_state_are_one_transaction(registry: Registry) -> None:
    class Interrupted(Exception):
        pass

    def fail(db: object, revision: int) -> None:
        raise Interrupted

    env, _ = decode_environment(json.dumps(make_env([], uuid=UUID, name="deployed")))
    account_id = registry.create_account("a", "SMALL")[0].id

    def save(then: Any) -> None:
        registry.save_deployment(
            account_id=account_id, environment_uuid=UUID, subdomain="sub-abc", name="n", visibility="PUBLIC",
            region="local", live_update=True, runtime="builtin", uploaded=b"{}", migrated=msgspec.json.encode(env),
            warnings=[], quota=3, admin_token="tok", worker_pid=1, worker_started=1.0, worker_socket="/x", then=then)

    with pytest.raises(Interrupted):
        save(fail)
    assert registry.deployment(UUID) is None  # nothing half-recorded
    save(lambda db, revision: state_store.record_deployed(db, UUID, revision, 7))
    save(lambda db, revision: state_store.record_deployed(db, UUID, revision, 8))  # a re-deploy
    assert registry.deployment(UUID).revision == 2  # type: ignore[union-attr]
    assert [row[0] for row in registry.db.execute(
        "SELECT revision FROM revisions WHERE environment_uuid = ? ORDER BY revision", (UUID,)).fetchall()] == [1, 2]


def push(epoch: int, state: bytes = b"s", **fields: object) -> StatePush:
    return StatePush(deployment=UUID, token=fields.pop("token", "tok"), epoch=epoch, state=state, **fields)  # type: ignore[arg-type]


def live(name: str) -> LiveUpdate:
    env, _ = decode_environment(json.dumps(make_env([], uuid=UUID, name=name)))
    return LiveUpdate(environment=msgspec.json.encode(env), disabled_routes=["r1"])


def test_a_push_of_the_current_epoch_is_restored(registry: Registry) -> None:
    deploy(registry, 11)
    fresh = state_store.load(registry, registry.deployment(UUID))
    assert (fresh.epoch, fresh.snapshot, fresh.deployed) == (11, b"", None)
    ack = state_store.store(registry, push(11, b"state-1"), now=5.0)
    assert (ack.stored, ack.epoch, ack.revision) == (True, 11, 1)
    restore = state_store.load(registry, registry.deployment(UUID))
    assert (restore.epoch, restore.snapshot, restore.environment.name) == (11, b"state-1", "deployed")
    assert state_store.describe(registry, UUID)["savedState"] == {"bytes": 7, "savedAt": 5.0}


def test_a_redeploy_starts_a_new_epoch_and_refuses_the_retired_worker(registry: Registry) -> None:
    deploy(registry, 11)
    state_store.store(registry, push(11, b"old"))
    deploy(registry, 22)
    assert state_store.load(registry, registry.deployment(UUID)).snapshot == b""
    refused = state_store.store(registry, push(11, b"late final push"))
    assert not refused.stored and not refused.stale and refused.epoch == 22
    assert state_store.load(registry, registry.deployment(UUID)).snapshot == b""
    assert state_store.store(registry, push(22, b"new")).stored


def test_strangers_and_deleted_deployments_are_told_to_stop(registry: Registry) -> None:
    deploy(registry, 11)
    assert state_store.store(registry, push(11, token="not-the-admin-token")).stale
    registry.delete_deployment(UUID, 1)
    assert state_store.store(registry, push(11)).stale
    assert registry.db.execute("SELECT COUNT(*) FROM revisions").fetchone()[0] == 0
    assert registry.db.execute("SELECT COUNT(*) FROM worker_states").fetchone()[0] == 0


def test_a_live_update_is_a_revision_served_after_restarts(registry: Registry) -> None:
    deploy(registry, 11)
    ack = state_store.store(registry, push(11, live_update=live("updated")))
    assert (ack.stored, ack.revision, ack.epoch) == (True, 2, 11)  # same state lineage
    deployment = registry.deployment(UUID)
    assert deployment.revision == 2
    restore = state_store.load(registry, deployment)
    assert restore.environment.name == "updated" and restore.disabled_routes == ["r1"]
    assert restore.deployed is not None and restore.deployed.environment.name == "deployed"
    kinds = [(r["revision"], r["kind"]) for r in state_store.describe(registry, UUID)["revisions"]]
    assert kinds == [(2, "live-update"), (1, "deploy")]


def test_a_purge_is_a_reset_revision_and_a_new_epoch_then_later_live_updates_count(registry: Registry) -> None:
    deploy(registry, 11)
    state_store.store(registry, push(11, live_update=live("updated")))
    ack = state_store.store(registry, push(11, b"after purge", purged=True, live_update=live("after")))
    assert ack.stored and ack.revision == 4 and ack.epoch not in (0, 11)
    kinds = [r["kind"] for r in state_store.describe(registry, UUID)["revisions"]]
    assert kinds == ["live-update", "reset", "live-update", "deploy"]
    restore = state_store.load(registry, registry.deployment(UUID))
    assert restore.environment.name == "after" and restore.epoch == ack.epoch and restore.snapshot == b"after purge"
    assert not state_store.store(registry, push(11)).stored  # the epoch before the purge is over


def test_reset_drops_the_state_and_the_live_update(registry: Registry) -> None:
    deploy(registry, 11)
    state_store.store(registry, push(11, b"changed", live_update=live("updated")))
    assert state_store.reset(registry, UUID) == 3
    restore = state_store.load(registry, registry.deployment(UUID))
    assert (restore.snapshot, restore.environment.name, restore.deployed) == (b"", "deployed", None)
    assert restore.epoch != 11


def test_snapshots_far_over_the_plans_cap_are_not_stored(registry: Registry) -> None:
    deploy(registry, 11)
    ack = state_store.store(registry, push(11, b"x" * 100_000))
    assert not ack.stored and "1000 bytes" in ack.message
    assert state_store.store(registry, push(11, b"x" * 1000)).stored


def test_an_invalid_live_environment_is_not_recorded(registry: Registry) -> None:
    deploy(registry, 11)
    ack = state_store.store(registry, push(11, live_update=LiveUpdate(environment=b'{"routes": 3}')))
    assert not ack.stored and "live update not recorded" in ack.message
    assert registry.deployment(UUID).revision == 1


def test_history_is_bounded(registry: Registry) -> None:
    deploy(registry, 11)
    for n in range(state_store.HISTORY + 5):
        state_store.store(registry, push(11, live_update=live(f"v{n}")))
    revisions = state_store.describe(registry, UUID)["revisions"]
    assert len(revisions) == state_store.HISTORY and revisions[0]["revision"] == state_store.HISTORY + 6
