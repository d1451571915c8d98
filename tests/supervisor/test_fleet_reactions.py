"""What a server does about each fleet event, as values."""

from __future__ import annotations

import pytest

from schemas.fleet import FleetEvent
from supervisor.fleet_reactions import react


@pytest.mark.parametrize(("kind", "server", "has_worker", "expected"), [
    ("plans", "", False, "invalidate-all"),
    ("changed", "eu1", True, "invalidate"),     # a key rotated through any server: its edge forgets the host
    ("changed", "us1", False, "none"),          # another server's deployment: our edge never serves it
    ("deleted", "eu1", True, "drop"),
    ("deleted", "us1", False, "none"),
    ("deleted", "us1", True, "drop"),           # moved away while we were silent, then deleted
    ("moved", "eu1", False, "start"),           # failed over to us: start it with its saved state
    ("moved", "eu2", True, "drop"),             # we are back after our failover: it runs elsewhere now
    ("moved", "eu2", False, "none"),
    ("deploy", "eu1", False, "take-jobs"),
    ("deploy", "us1", False, "none"),
])
def test_reactions(kind: str, server: str, has_worker: bool, expected: str) -> None:
    event = FleetEvent(seq=1, kind=kind, server_id=server, environment_uuid="u", subdomain="s")  # type: ignore[arg-type]
    assert react(event, "eu1", has_worker) == expected
