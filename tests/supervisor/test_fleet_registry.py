"""The fleet's records on both backends: server claims and heartbeats, the event log, deploys handed
to their server, and failover under the dead server's lock."""

from __future__ import annotations

import msgspec

from schemas.deploy_validation import Validated
from schemas.fleet import RemoteDeploy, RemoteDeployAnswer
from supervisor import fleet, fleet_events
from supervisor.placement import LIVE_WITHIN
from supervisor.registry import Registry
from supervisor.settings import Settings


def settings(tmp_path, server_id: str, region: str, capacity: int = 10) -> Settings:
    return Settings(data_dir=tmp_path / server_id, server_id=server_id, region=region, capacity=capacity,
                    https_port=9443)


def deploy(registry: Registry, account_id: int, uuid: str, server_id: str) -> None:
    registry.save_deployment(account_id=account_id, environment_uuid=uuid, subdomain=f"sub-{uuid}", name=uuid,
                             visibility="PUBLIC", region="eu", live_update=False, runtime="builtin", uploaded=b"{}",
                             migrated=b"{}", warnings=[], quota=10, admin_token="t", worker_pid=1, worker_started=1.0,
                             worker_socket="/x", server_id=server_id)


def fresh(registry_target: str) -> tuple[Registry, int]:
    from supervisor.registry import Runtime

    registry = Registry(registry_target)
    registry.add_runtime(Runtime(name="builtin", command=["true"], max_schema=33))
    account, _ = registry.create_account("a", "TEAM")
    return registry, account.id


def test_a_live_server_id_is_refused_to_another_holder_and_free_after_silence_or_sign_off(registry_target,
                                                                                          tmp_path) -> None:
    registry, _ = fresh(registry_target)
    eu1 = settings(tmp_path, "eu1", "eu")
    fleet.claim(registry, eu1, "first", now=1000.0)
    try:
        fleet.claim(registry, eu1, "second", now=1000.0 + LIVE_WITHIN - 0.5)
        raise AssertionError("a live server id was claimed twice")
    except fleet.ServerTaken as error:
        assert "server id 'eu1' is already running on this registry (region eu" in str(error)
    fleet.claim(registry, eu1, "first", now=1001.0)  # its own holder (the same data directory) takes it back
    assert fleet.heartbeat(registry, "eu1", "first", now=1002.0)
    fleet.claim(registry, eu1, "second", now=1002.0 + LIVE_WITHIN + 0.1)  # silent too long: taken over
    assert not fleet.heartbeat(registry, "eu1", "first", now=1006.0)  # the old holder learns it lost the id
    fleet.sign_off(registry, "eu1", "second")
    fleet.claim(registry, eu1, "third", now=1006.0)  # signed off: free at once
    [server] = fleet.servers(registry)
    assert (server.server_id, server.region, server.capacity, server.https_port, server.stopped) == \
        ("eu1", "eu", 10, 9443, False)
    registry.close()


def test_unowned_deployments_become_a_claimants(registry_target, tmp_path) -> None:
    registry, account = fresh(registry_target)
    deploy(registry, account, "migrated", "")  # a single server's registry, moved into the fleet
    fleet.claim(registry, settings(tmp_path, "eu1", "eu"), "h")
    fleet.claim(registry, settings(tmp_path, "us1", "us"), "h2")
    found = registry.deployment("migrated")
    if registry.dialect == "postgresql":
        assert found is not None and found.server_id == "eu1"  # the first claimant keeps it
        assert {s.server_id: s.deployments for s in fleet.servers(registry)} == {"eu1": 1, "us1": 0}
    else:  # one server per SQLite file: the one starting takes them all (its server id may have changed)
        assert found is not None and found.server_id == "us1"
    registry.close()


def test_changes_are_read_in_order_from_where_a_reader_left(registry_target) -> None:
    registry, account = fresh(registry_target)
    start = fleet_events.latest(registry.db)
    deploy(registry, account, "d1", "eu1")
    registry.rotate_key("d1")
    registry.set_account_plan(account, "SOLO")
    registry.delete_deployment("d1", account)
    events = fleet_events.since(registry.db, start)
    assert [(e.kind, e.server_id, e.environment_uuid, e.subdomain) for e in events] == [
        ("changed", "eu1", "d1", "sub-d1"), ("plans", "", "", ""), ("deleted", "eu1", "d1", "sub-d1")]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert fleet_events.since(registry.db, events[-1].seq) == []
    registry.close()


def test_a_deploy_is_taken_once_by_its_server_and_answered(registry_target) -> None:
    registry, account = fresh(registry_target)
    request = Validated(uuid="u1", name="n", visibility="PUBLIC", subdomain=None, region="us", live_update=False,
                        migrated=b"{}", uploaded=b"{}", repairs=[], warnings=[], disabled_routes=[], from_version=33)
    request_id = fleet.submit_deploy(registry, "us1", RemoteDeploy(account_id=account, request=request, runtime="builtin"))
    assert fleet.take_deploys(registry, "eu1") == []
    [(taken_id, job)] = fleet.take_deploys(registry, "us1")
    assert taken_id == request_id and msgspec.to_builtins(job.request) == msgspec.to_builtins(request)
    assert fleet.take_deploys(registry, "us1") == []  # taken once
    assert fleet.deploy_answer(registry, request_id) is None
    assert not fleet.abandon_deploy(registry, request_id)  # under way: too late to withdraw
    fleet.finish_deploy(registry, request_id, RemoteDeployAnswer(status=200, body={"url": "https://x"}))
    assert fleet.deploy_answer(registry, request_id) == RemoteDeployAnswer(status=200, body={"url": "https://x"})
    other = fleet.submit_deploy(registry, "us1", RemoteDeploy(account_id=account, request=request, runtime="builtin"))
    assert fleet.abandon_deploy(registry, other)
    assert fleet.take_deploys(registry, "us1") == []  # withdrawn before its server took it
    registry.close()


def test_failover_moves_a_silent_servers_deployments_once_within_its_region(registry_target, tmp_path) -> None:
    registry, account = fresh(registry_target)
    fleet.claim(registry, settings(tmp_path, "eu1", "eu"), "a", now=1000.0)
    fleet.claim(registry, settings(tmp_path, "eu2", "eu", capacity=1), "b", now=1000.0)
    fleet.claim(registry, settings(tmp_path, "us1", "us"), "c", now=1000.0)
    for uuid in ("d1", "d2", "d3"):
        deploy(registry, account, uuid, "eu1")
    start = fleet_events.latest(registry.db)
    fleet.heartbeat(registry, "eu2", "b", now=1010.0)
    fleet.heartbeat(registry, "us1", "c", now=1010.0)
    assert fleet.fail_over(registry, "eu1", 30.0, now=1010.0) == []  # silent 10 s: not yet
    assert fleet.fail_over(registry, "eu1", 5.0, now=1010.0) == [("d1", "eu2")]  # eu2 has room for one
    assert fleet.fail_over(registry, "eu1", 5.0, now=1010.0) == []  # the region is full now; us1 is not eu
    moved = registry.deployment("d1")
    assert moved is not None and moved.server_id == "eu2" and moved.worker_pid is None
    assert [(e.kind, e.server_id, e.environment_uuid) for e in fleet_events.since(registry.db, start)] == [
        ("moved", "eu2", "d1")]
    fleet.sign_off(registry, "eu1", "a")  # a server that signed off is coming back: nothing moves
    assert fleet.fail_over(registry, "eu1", 5.0, now=2000.0) == []
    registry.close()
