"""Where a deployment runs in a fleet: a pure choice over the servers the registry lists.

A server is live while its heartbeat is recent and it has not signed off. A deploy names a region
(the Mockoon app sends ``us``, ``ca``, ``eu``, ``asia``, ``au``, ``sa`` or null; null means the
operator's default); the deployment goes to the live server of that region with the most room.
A re-deploy stays where it runs. Failover uses the same choice for a dead server's deployments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LIVE_WITHIN = 3.0  # seconds since the last heartbeat (sent every 0.5 s) for a server to count as live


@dataclass(frozen=True)
class ServerInfo:
    server_id: str
    region: str
    capacity: int
    heartbeat_at: float
    stopped: bool = False
    deployments: int = 0
    https_port: int = 8443
    domain: str = ""

    def live(self, now: float, live_within: float = LIVE_WITHIN) -> bool:
        return not self.stopped and now - self.heartbeat_at <= live_within

    @property
    def room(self) -> int:
        return self.capacity - self.deployments


@dataclass(frozen=True)
class Refusal:
    """Why no server can take the deployment, with the status the API answers."""

    status: int
    message: str


def choose_server(region: str | None, servers: Iterable[ServerInfo], now: float, *, default_region: str,
                  current: str = "", live_within: float = LIVE_WITHIN) -> ServerInfo | Refusal:
    """The server for a deploy to ``region`` (``current``: the server a re-deployed deployment runs on)."""
    known = list(servers)
    if current:
        owner = next((s for s in known if s.server_id == current), None)
        if owner is not None and owner.live(now, live_within):
            return owner  # a re-deploy stays on its server, whatever the region asked
        if owner is not None:
            return Refusal(503, f"server {current!r}, which runs this deployment, is not live "
                                f"({_heard(owner, now)}); try again when it is back or after failover")
    wanted = region or default_region
    in_region = [s for s in known if s.region == wanted]
    if not in_region:
        regions = sorted({s.region for s in known})
        return Refusal(422, f"unknown region {wanted!r}: this fleet has servers in {', '.join(regions) or 'no region'}")
    live = [s for s in in_region if s.live(now, live_within)]
    if not live:
        heard = "; ".join(f"{s.server_id} {_heard(s, now)}" for s in sorted(in_region, key=lambda s: s.server_id))
        return Refusal(503, f"no live server in region {wanted!r} ({heard})")
    roomy = [s for s in live if s.room > 0]
    if not roomy:
        used = sum(s.deployments for s in live)
        capacity = sum(s.capacity for s in live)
        return Refusal(503, f"region {wanted!r} is full: its live servers run {used} of {capacity} deployments")
    return max(roomy, key=lambda s: (s.room / max(s.capacity, 1), s.room, _reverse(s.server_id)))


def _reverse(text: str) -> tuple[int, ...]:
    """Orders ids so that max() prefers the smallest on a tie."""
    return tuple(-ord(c) for c in text)


def _heard(server: ServerInfo, now: float) -> str:
    if server.stopped:
        return "stopped"
    return f"last heard {max(now - server.heartbeat_at, 0):.0f} s ago"


def failover_targets(dead: ServerInfo, count: int, servers: Iterable[ServerInfo], now: float, *,
                     live_within: float = LIVE_WITHIN) -> list[str]:
    """Where each of a dead server's ``count`` deployments goes: live servers of its region with room,
    filled one at a time by the same rule as a deploy; fewer than ``count`` ids when the region is full."""
    pool = {s.server_id: s for s in servers if s.server_id != dead.server_id}
    chosen: list[str] = []
    for _ in range(count):
        pick = choose_server(dead.region, pool.values(), now, default_region=dead.region, live_within=live_within)
        if isinstance(pick, Refusal):
            break
        chosen.append(pick.server_id)
        pool[pick.server_id] = ServerInfo(pick.server_id, pick.region, pick.capacity, pick.heartbeat_at,
                                          pick.stopped, pick.deployments + 1, pick.https_port, pick.domain)
    return chosen


def silent_servers(servers: Iterable[ServerInfo], *, me: str, region: str, now: float,
                   failover_after: float) -> list[ServerInfo]:
    """The servers whose deployments this one should move: of its region, with deployments, not signed
    off, unheard for ``failover_after`` seconds (0: failover is off)."""
    if failover_after <= 0:
        return []
    return [s for s in servers if s.server_id != me and s.region == region and not s.stopped
            and s.deployments > 0 and now - s.heartbeat_at >= failover_after]
