"""What a server does about a fleet event, decided from values: the event, its own id and whether it
runs a worker of the deployment. ``fleet_member`` carries the reaction out."""

from __future__ import annotations

from typing import Literal

from schemas.fleet import FleetEvent

Reaction = Literal["none", "invalidate-all", "invalidate", "drop", "start", "take-jobs"]


def react(event: FleetEvent, me: str, has_worker: bool) -> Reaction:
    if event.kind == "plans":
        return "invalidate-all"  # limits come with each lookup: every cached host may be stale
    if event.kind == "deploy":
        return "take-jobs" if event.server_id == me else "none"
    if event.kind == "changed":
        return "invalidate" if event.server_id == me else "none"
    if event.kind == "deleted":
        return "drop" if event.server_id == me or has_worker else "none"
    if event.kind == "moved":
        if event.server_id == me:
            return "start"
        return "drop" if has_worker else "none"  # back after a failover: it runs elsewhere now
    return "none"
