"""Placement of deployments in a fleet, as values: no database, no clock but the one passed in."""

from __future__ import annotations

from supervisor.placement import (
    LIVE_WITHIN,
    Refusal,
    ServerInfo,
    choose_server,
    failover_targets,
    silent_servers,
)

NOW = 1_000_000.0


def server(server_id: str, region: str, *, capacity: int = 10, used: int = 0, silent: float = 0.0,
           stopped: bool = False) -> ServerInfo:
    return ServerInfo(server_id=server_id, region=region, capacity=capacity, heartbeat_at=NOW - silent,
                      stopped=stopped, deployments=used, https_port=8443, domain="example.test")


FLEET = [server("eu1", "eu", used=5), server("eu2", "eu", used=2), server("us1", "us", used=9)]


def test_a_region_goes_to_its_live_server_with_the_most_room() -> None:
    pick = choose_server("eu", FLEET, NOW, default_region="us")
    assert isinstance(pick, ServerInfo) and pick.server_id == "eu2"
    pick = choose_server("us", FLEET, NOW, default_region="eu")
    assert isinstance(pick, ServerInfo) and pick.server_id == "us1"


def test_null_region_means_the_operators_default() -> None:
    pick = choose_server(None, FLEET, NOW, default_region="us")
    assert isinstance(pick, ServerInfo) and pick.server_id == "us1"


def test_an_unknown_region_is_422_naming_it_and_the_known_ones() -> None:
    pick = choose_server("asia", FLEET, NOW, default_region="eu")
    assert pick == Refusal(422, "unknown region 'asia': this fleet has servers in eu, us")


def test_a_full_region_is_503_naming_it() -> None:
    fleet = [server("us1", "us", capacity=3, used=3), server("us2", "us", capacity=2, used=2)]
    pick = choose_server("us", fleet, NOW, default_region="us")
    assert isinstance(pick, Refusal) and pick.status == 503
    assert pick.message == "region 'us' is full: its live servers run 5 of 5 deployments"


def test_a_region_whose_servers_are_silent_or_stopped_is_503() -> None:
    fleet = [server("sa1", "sa", silent=LIVE_WITHIN + 1), server("sa2", "sa", stopped=True), *FLEET]
    pick = choose_server("sa", fleet, NOW, default_region="eu")
    assert isinstance(pick, Refusal) and pick.status == 503
    assert pick.message == "no live server in region 'sa' (sa1 last heard 4 s ago; sa2 stopped)"
    # a dead server is skipped for a live one of its region
    pick = choose_server("eu", [server("eu0", "eu", silent=60), *FLEET], NOW, default_region="eu")
    assert isinstance(pick, ServerInfo) and pick.server_id == "eu2"


def test_a_redeploy_stays_on_its_server_even_full_or_asked_elsewhere() -> None:
    fleet = [server("eu1", "eu", capacity=1, used=1), server("us1", "us")]
    pick = choose_server("us", fleet, NOW, default_region="us", current="eu1")
    assert isinstance(pick, ServerInfo) and pick.server_id == "eu1"
    fleet = [server("eu1", "eu", silent=30), server("eu2", "eu")]
    pick = choose_server("eu", fleet, NOW, default_region="eu", current="eu1")
    assert isinstance(pick, Refusal) and pick.status == 503 and "'eu1', which runs this deployment" in pick.message


def test_ties_go_to_the_smallest_id() -> None:
    pick = choose_server("eu", [server("eu2", "eu"), server("eu1", "eu")], NOW, default_region="eu")
    assert isinstance(pick, ServerInfo) and pick.server_id == "eu1"


def test_failover_spreads_a_dead_servers_deployments_over_its_region_within_room() -> None:
    dead = server("eu1", "eu", silent=120, used=5)
    fleet = [dead, server("eu2", "eu", capacity=4, used=2), server("eu3", "eu", capacity=4, used=0),
             server("us1", "us")]
    targets = failover_targets(dead, 5, fleet, NOW)
    # each goes where the most room is left (by share of capacity), the smallest id on a tie; never us1
    assert targets == ["eu3", "eu3", "eu2", "eu3", "eu2"]
    assert failover_targets(dead, 3, [dead, server("eu2", "eu", capacity=1)], NOW) == ["eu2"]  # the region is full


def test_silent_servers_of_this_region_with_deployments_are_failed_over_only_when_on() -> None:
    fleet = [server("eu1", "eu", silent=0.2, used=3), server("eu2", "eu", silent=12, used=2),
             server("eu3", "eu", silent=12, used=0), server("eu4", "eu", silent=60, used=1, stopped=True),
             server("us1", "us", silent=60, used=4), server("eu5", "eu", silent=9, used=1)]
    found = silent_servers(fleet, me="eu1", region="eu", now=NOW, failover_after=10)
    assert [s.server_id for s in found] == ["eu2"]  # not empty eu3, signed-off eu4, us1 elsewhere, eu5 not yet
    assert silent_servers(fleet, me="eu1", region="eu", now=NOW, failover_after=0) == []  # off by default
    assert [s.server_id for s in silent_servers(fleet, me="eu2", region="eu", now=NOW, failover_after=5)] == ["eu5"]
