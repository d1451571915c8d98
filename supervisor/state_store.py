"""Durable state, the registry's half: the latest snapshot per deployment and the revision history.

Rules (tables ``worker_states`` and ``revisions``, registry schema version 4):
- A deploy (or re-deploy) starts a new *epoch*: the deployed state, no snapshot. Mockoon starts a
  deployed file afresh too, so a re-deploy of the same environment also drops what users changed.
- A push is stored only when it carries the current epoch: a worker retired by a re-deploy or a
  reset cannot overwrite its successor's state. A push from a worker whose deploy is not recorded
  yet is refused the same way and retried by the worker a moment later.
- A purge recorded in a push is a ``reset`` revision and a new epoch; a live update is a
  ``live-update`` revision whose environment is served from then on, across restarts.
- ``reset`` (``mockfleet reset``) is the same as a purge, for a deployment whose worker is stopped.

Pure decisions over the registry's connection; no sockets, no processes.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time

import msgspec

from schemas import Environment
from schemas.worker_state import DeployedRevision, StateAck, StatePush

from .registry import Deployment, Registry
from .registry_db import Database

HISTORY = 50  # revisions kept per deployment (the newest; the environment of the deployed one is kept apart)
_SLACK = 64 * 1024


class Restore(msgspec.Struct, kw_only=True):
    """What a worker of this deployment starts from."""

    environment: Environment
    disabled_routes: list[str]
    epoch: int
    snapshot: bytes
    deployed: DeployedRevision | None  # set when ``environment`` is a live update


def new_epoch() -> int:
    return secrets.randbits(62) + 1


def deployed(registry: Registry, uuid: str, revision: int, epoch: int, now: float | None = None) -> None:
    """A deploy was recorded: its worker was started with ``epoch``; users' changes start from nothing."""
    with registry.transaction() as db:
        record_deployed(db, uuid, revision, epoch, now)


def record_deployed(db: Database, uuid: str, revision: int, epoch: int, now: float | None = None) -> None:
    """``deployed`` within a transaction already open (the deploy's own: ``Registry.save_deployment``'s ``then``)."""
    now = time.time() if now is None else now
    db.execute("INSERT INTO revisions (environment_uuid, revision, kind, at) VALUES (?, ?, 'deploy', ?) "
               "ON CONFLICT (environment_uuid, revision) DO UPDATE SET kind = excluded.kind, at = excluded.at, "
               "environment = NULL, disabled_routes = '[]'", (uuid, revision, now))
    db.execute("INSERT INTO worker_states (environment_uuid, epoch, snapshot, saved_at) "
               "VALUES (?, ?, NULL, ?) ON CONFLICT (environment_uuid) DO UPDATE SET epoch = excluded.epoch, "
               "snapshot = excluded.snapshot, saved_at = excluded.saved_at", (uuid, epoch, now))
    _prune(db, uuid)


def reset(registry: Registry, uuid: str, now: float | None = None) -> int:
    """Back to the deployed state: a ``reset`` revision, a new epoch, no snapshot. Returns the revision."""
    now = time.time() if now is None else now
    with registry.transaction() as db:
        revision = int(db.execute("SELECT revision FROM deployments WHERE environment_uuid = ?",
                                  (uuid,)).fetchone()[0]) + 1
        _add_revision(db, uuid, revision, "reset", now)
        db.execute("INSERT INTO worker_states (environment_uuid, epoch, snapshot, saved_at) "
                   "VALUES (?, ?, NULL, ?) ON CONFLICT (environment_uuid) DO UPDATE SET epoch = excluded.epoch, "
                   "snapshot = excluded.snapshot, saved_at = excluded.saved_at", (uuid, new_epoch(), now))
        db.execute("INSERT INTO audit (at, action, environment_uuid) VALUES (?, 'reset', ?)", (now, uuid))
    return revision


def _add_revision(db: Database, uuid: str, revision: int, kind: str, now: float, environment: bytes | None = None,
                  disabled_routes: list[str] | None = None) -> None:
    db.execute("INSERT INTO revisions (environment_uuid, revision, kind, at, environment, disabled_routes) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (environment_uuid, revision) DO UPDATE SET kind = excluded.kind, "
               "at = excluded.at, environment = excluded.environment, disabled_routes = excluded.disabled_routes", (uuid, revision, kind, now, environment, json.dumps(disabled_routes or [])))
    db.execute("UPDATE deployments SET revision = ?, updated_at = ? WHERE environment_uuid = ?",
               (revision, now, uuid))
    _prune(db, uuid)


def _prune(db: Database, uuid: str) -> None:
    db.execute("DELETE FROM revisions WHERE environment_uuid = ? AND revision NOT IN (SELECT revision FROM revisions "
               "WHERE environment_uuid = ? ORDER BY revision DESC LIMIT ?)", (uuid, uuid, HISTORY))


def current_epoch(registry: Registry, uuid: str) -> int:
    row = registry.db.execute("SELECT epoch FROM worker_states WHERE environment_uuid = ?", (uuid,)).fetchone()
    return int(row[0]) if row else 0


def load(registry: Registry, deployment: Deployment) -> Restore:
    """The environment to serve (the live update in force, else the deployed one) and the state to restore."""
    uuid = deployment.environment_uuid
    deployed_env = msgspec.json.decode(deployment.environment_migrated, type=Environment)
    state = registry.db.execute("SELECT epoch, snapshot FROM worker_states WHERE environment_uuid = ?",
                                (uuid,)).fetchone()
    if state is None:  # a deployment recorded before durable state existed: start its first epoch now
        epoch = new_epoch()
        with registry.transaction() as db:
            db.execute("INSERT INTO worker_states (environment_uuid, epoch, saved_at) VALUES (?, ?, ?) "
                       "ON CONFLICT DO NOTHING",
                       (uuid, epoch, time.time()))
        epoch, snapshot = current_epoch(registry, uuid), b""
    else:
        epoch, snapshot = int(state["epoch"]), bytes(state["snapshot"] or b"")
    live = registry.db.execute("SELECT environment, disabled_routes FROM revisions WHERE environment_uuid = ? AND "
                               "revision = ? AND kind = 'live-update'", (uuid, deployment.revision)).fetchone()
    if live is None or live["environment"] is None:
        return Restore(environment=deployed_env, disabled_routes=deployment.disabled_routes, epoch=epoch,
                       snapshot=snapshot, deployed=None)
    return Restore(environment=msgspec.json.decode(live["environment"], type=Environment),
                   disabled_routes=json.loads(live["disabled_routes"]), epoch=epoch, snapshot=snapshot,
                   deployed=DeployedRevision(environment=deployed_env, disabled_routes=deployment.disabled_routes))


def store(registry: Registry, push: StatePush, now: float | None = None) -> StateAck:
    """Record a worker's push, or say why not."""
    now = time.time() if now is None else now
    deployment = registry.deployment(push.deployment)
    if deployment is None:
        return StateAck(stored=False, stale=True, message=f"deployment {push.deployment} no longer exists")
    if not hmac.compare_digest(deployment.admin_token.encode(), push.token.encode()):
        return StateAck(stored=False, stale=True, message="not a worker of this deployment")
    cap = registry.plan(registry.account(deployment.account_id).plan).max_state_bytes
    if len(push.state) > 2 * cap + _SLACK:  # the worker enforces the cap per write; this bounds a broken one
        return StateAck(stored=False, message=f"state of {len(push.state)} bytes is over the plan's cap of {cap} bytes")
    live_env: bytes | None = None
    if push.live_update is not None:
        try:
            msgspec.json.decode(push.live_update.environment, type=Environment)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            return StateAck(stored=False, message=f"live update not recorded: {error}")
        live_env = push.live_update.environment
    with registry.transaction() as db:
        row = db.execute("SELECT epoch FROM worker_states WHERE environment_uuid = ?", (push.deployment,)).fetchone()
        epoch = int(row[0]) if row else push.epoch
        if push.epoch != epoch:
            return StateAck(stored=False, epoch=epoch, message="state from another revision of the deployment")
        revision = int(db.execute("SELECT revision FROM deployments WHERE environment_uuid = ?",
                                  (push.deployment,)).fetchone()[0])
        if push.purged:
            revision += 1
            epoch = new_epoch()
            _add_revision(db, push.deployment, revision, "reset", now)
        if push.live_update is not None:
            revision += 1
            _add_revision(db, push.deployment, revision, "live-update", now, live_env, push.live_update.disabled_routes)
        db.execute("INSERT INTO worker_states (environment_uuid, epoch, snapshot, saved_at) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (environment_uuid) DO UPDATE SET epoch = excluded.epoch, snapshot = excluded.snapshot, "
                   "saved_at = excluded.saved_at", (push.deployment, epoch, push.state, now))
    return StateAck(stored=True, epoch=epoch, revision=revision)


def describe(registry: Registry, uuid: str) -> dict[str, object]:
    """For ``GET /deployments/{uuid}``: the revision history and the saved state's size and age."""
    rows = registry.db.execute("SELECT revision, kind, at FROM revisions WHERE environment_uuid = ? "
                               "ORDER BY revision DESC", (uuid,)).fetchall()
    state = registry.db.execute("SELECT length(snapshot), saved_at FROM worker_states WHERE environment_uuid = ?",
                                (uuid,)).fetchone()
    return {
        "revisions": [{"revision": r["revision"], "kind": r["kind"], "at": r["at"]} for r in rows],
        "savedState": {"bytes": state[0] or 0, "savedAt": state[1]} if state else {"bytes": 0, "savedAt": None},
    }
