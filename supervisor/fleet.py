"""A fleet's shared records in the registry: servers and their heartbeats, deploys handed to the
server that runs them, and failover of a dead server's deployments. Plain registry I/O; the choices
are ``placement``'s, the loop that drives them ``fleet_member``'s.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import msgspec

from schemas.fleet import RemoteDeploy, RemoteDeployAnswer, RemoteJob

from . import fleet_events
from .fleet_events import announce
from .placement import LIVE_WITHIN, ServerInfo, failover_targets
from .registry import Registry
from .settings import Settings

HEARTBEAT_EVERY = 0.5


class ServerTaken(Exception):
    """Another live process holds this server id."""


def holder_token(data_dir: Path) -> str:
    """Who holds a server id: one token per data directory, so ``up`` restarted on its own data
    directory (which its lock proves no other ``up`` uses) takes its server id back at once."""
    path = data_dir / "server-holder"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        token = secrets.token_hex(16)
        path.write_text(token)
        return token


def claim(registry: Registry, settings: Settings, holder: str, now: float | None = None) -> None:
    """Register this server (address, region, capacity) with a fresh heartbeat, unless another live
    process holds its id; deployments no server owns yet (a migrated single server's) become ours."""
    now = time.time() if now is None else now
    with registry.transaction() as db:
        lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
        row = db.execute(f"SELECT holder, heartbeat_at, stopped, region FROM servers WHERE server_id = ?{lock}",
                         (settings.server_id,)).fetchone()
        if row is not None and row["holder"] != holder and not row["stopped"] and now - row["heartbeat_at"] <= LIVE_WITHIN:
            raise ServerTaken(f"server id {settings.server_id!r} is already running on this registry (region "
                              f"{row['region']}, heartbeat {max(now - row['heartbeat_at'], 0):.1f} s ago); stop it first "
                              f"or choose another --server-id")
        db.execute("INSERT INTO servers (server_id, region, domain, https_port, capacity, holder, heartbeat_at, "
                   "started_at, stopped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (server_id) DO UPDATE SET "
                   "region = excluded.region, domain = excluded.domain, https_port = excluded.https_port, "
                   "capacity = excluded.capacity, holder = excluded.holder, heartbeat_at = excluded.heartbeat_at, "
                   "started_at = excluded.started_at, stopped = 0",
                   (settings.server_id, settings.region, settings.domain, settings.https_port, settings.capacity,
                    holder, now, now))
        # one server per SQLite file: all of its deployments are this server's, whatever id it had before
        unowned = "server_id <> ?" if db.dialect == "sqlite" else "server_id = ''"
        db.execute(f"UPDATE deployments SET server_id = ? WHERE {unowned}",
                   (settings.server_id,) * (2 if db.dialect == "sqlite" else 1))


def heartbeat(registry: Registry, server_id: str, holder: str, now: float | None = None) -> bool:
    """False when another process has taken the id over (ours had lapsed)."""
    with registry.transaction() as db:
        changed = db.execute("UPDATE servers SET heartbeat_at = ?, stopped = 0 WHERE server_id = ? AND holder = ?",
                             (time.time() if now is None else now, server_id, holder)).rowcount
    return bool(changed)


def sign_off(registry: Registry, server_id: str, holder: str) -> None:
    """A clean stop: the server is not live, and its deployments are not failed over (it comes back)."""
    with registry.transaction() as db:
        db.execute("UPDATE servers SET stopped = 1 WHERE server_id = ? AND holder = ?", (server_id, holder))


def servers(registry: Registry) -> list[ServerInfo]:
    rows = registry.db.execute(
        "SELECT s.server_id, s.region, s.capacity, s.heartbeat_at, s.stopped, s.https_port, s.domain, "
        "(SELECT COUNT(*) FROM deployments d WHERE d.server_id = s.server_id) AS used FROM servers s "
        "ORDER BY s.server_id").fetchall()
    return [ServerInfo(server_id=r["server_id"], region=r["region"], capacity=int(r["capacity"]),
                       heartbeat_at=float(r["heartbeat_at"]), stopped=bool(r["stopped"]), deployments=int(r["used"]),
                       https_port=int(r["https_port"]), domain=r["domain"]) for r in rows]


# --- deploys handed to their server -------------------------------------------------------------------

def submit_deploy(registry: Registry, server_id: str, job: RemoteJob) -> int:
    now = time.time()
    uuid = job.request.uuid if isinstance(job, RemoteDeploy) else job.environment_uuid
    with registry.transaction() as db:
        request_id = int(db.execute(
            "INSERT INTO deploy_requests (server_id, account_id, environment_uuid, request, state, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING id",
            (server_id, job.account_id, uuid, msgspec.msgpack.encode(job), now, now)).fetchone()[0])
        announce(db, "deploy", server_id=server_id, environment_uuid=uuid)
    return request_id


def take_deploys(registry: Registry, server_id: str) -> list[tuple[int, RemoteJob]]:
    """The pending jobs for this server, marked taken so no other process runs them."""
    with registry.transaction() as db:
        rows = db.execute("UPDATE deploy_requests SET state = 'taken', updated_at = ? WHERE server_id = ? "
                          "AND state = 'pending' RETURNING id, request", (time.time(), server_id)).fetchall()
    return [(int(r[0]), msgspec.msgpack.decode(bytes(r[1]), type=RemoteJob)) for r in rows]


def finish_deploy(registry: Registry, request_id: int, answer: RemoteDeployAnswer) -> None:
    with registry.transaction() as db:
        db.execute("UPDATE deploy_requests SET state = 'done', status = ?, answer = ?, request = ?, updated_at = ? "
                   "WHERE id = ?", (answer.status, msgspec.json.encode(answer.body), b"", time.time(), request_id))


def deploy_answer(registry: Registry, request_id: int) -> RemoteDeployAnswer | None:
    row = registry.db.execute("SELECT state, status, answer FROM deploy_requests WHERE id = ?", (request_id,)).fetchone()
    if row is None or row["state"] != "done":
        return None
    return RemoteDeployAnswer(status=int(row["status"]), body=msgspec.json.decode(bytes(row["answer"])))


def abandon_deploy(registry: Registry, request_id: int) -> bool:
    """Withdraw a deploy its server has not taken; False when it is under way already."""
    with registry.transaction() as db:
        return bool(db.execute("UPDATE deploy_requests SET state = 'abandoned', updated_at = ? WHERE id = ? "
                               "AND state = 'pending'", (time.time(), request_id)).rowcount)


def prune_deploys(registry: Registry, now: float, keep: float = 3600.0) -> None:
    with registry.transaction() as db:
        db.execute("DELETE FROM deploy_requests WHERE updated_at < ? AND state <> 'pending'", (now - keep,))


# --- failover -----------------------------------------------------------------------------------------

def fail_over(registry: Registry, dead_id: str, silent_for: float, now: float | None = None) -> list[tuple[str, str]]:
    """Move the deployments of ``dead_id`` (silent for ``silent_for`` seconds, not signed off) to live
    servers of its region with room, in one transaction under the dead server's row lock so that two
    servers noticing together move them once. Returns (environment_uuid, new server) pairs."""
    now = time.time() if now is None else now
    with registry.transaction() as db:
        fleet_events.lock(db)
        lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
        row = db.execute(f"SELECT heartbeat_at, stopped FROM servers WHERE server_id = ?{lock}", (dead_id,)).fetchone()
        if row is None or row["stopped"] or now - row["heartbeat_at"] < silent_for:
            return []
        moving = [(r[0], r[1]) for r in db.execute("SELECT environment_uuid, subdomain FROM deployments "
                                                   "WHERE server_id = ? ORDER BY created_at", (dead_id,))]
        if not moving:
            return []
        fleet = servers(registry)
        dead = next(s for s in fleet if s.server_id == dead_id)
        targets = failover_targets(dead, len(moving), fleet, now)
        moved: list[tuple[str, str]] = []
        for (uuid, subdomain), target in zip(moving, targets, strict=False):
            db.execute("UPDATE deployments SET server_id = ?, worker_pid = NULL, worker_started = NULL, "
                       "worker_socket = NULL, updated_at = ? WHERE environment_uuid = ?", (target, now, uuid))
            db.execute("INSERT INTO audit (at, action, environment_uuid, detail) VALUES (?, 'failover', ?, ?)",
                       (now, uuid, f"{dead_id} -> {target}"))
            announce(db, "moved", server_id=target, environment_uuid=uuid, subdomain=subdomain)
            moved.append((uuid, target))
        return moved


def claim_problem(settings: Settings) -> str | None:
    """For ``mockfleet up`` before it starts anything: why this server id cannot be taken, if it cannot."""
    from .registry_db import RegistryUnavailable

    try:
        registry = Registry(settings.registry_target)
    except RegistryUnavailable as error:
        return str(error)
    try:
        claim(registry, settings, holder_token(settings.data_dir))
    except ServerTaken as error:
        return str(error)
    finally:
        registry.close()
    return None
