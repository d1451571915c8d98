"""The registry: accounts, plans, deployments, runtimes, usage and audit, in SQLite or PostgreSQL.

SQLite (one file, the default) runs WAL with synchronous=FULL: every committed transaction
survives kill -9 and power loss. PostgreSQL (``postgresql://…``) lets several servers share one
registry. Each deploy is one transaction on either, so it is recorded fully or not at all. One
schema (``SCHEMA``, versioned, migrated forward at open) serves both; ``registry_db`` spells it
per backend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from schemas.deployments import DEFAULT_PLANS, TRIAL_REQUESTS_PER_SECOND
from schemas.fleet import EventKind

from .fleet_events import announce
from .registry_db import Database, RegistryTarget, connect, parse_target, schema_statements
from .registry_db import IntegrityViolation as IntegrityViolation  # callers catch it from here


class RegistryError(Exception):
    """A registry rule was broken (unknown plan, account, runtime …)."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return "mft_" + secrets.token_urlsafe(32)


def new_api_key() -> str:
    return secrets.token_urlsafe(24)


SCHEMA: list[str] = [
    # version 1
    """
    CREATE TABLE plans (
        name TEXT PRIMARY KEY,
        deployments_quota INTEGER NOT NULL,
        monthly_requests_quota INTEGER NOT NULL,
        requests_per_second INTEGER NOT NULL,
        trial INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_digest TEXT NOT NULL UNIQUE,
        plan TEXT NOT NULL REFERENCES plans(name),
        created_at REAL NOT NULL
    );
    CREATE TABLE runtimes (
        name TEXT PRIMARY KEY,
        command TEXT NOT NULL,          -- JSON argv
        max_schema INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE deployments (
        environment_uuid TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        subdomain TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        visibility TEXT NOT NULL CHECK (visibility IN ('PUBLIC', 'PRIVATE')),
        api_key TEXT NOT NULL,
        region TEXT NOT NULL,
        live_update INTEGER NOT NULL DEFAULT 0,
        runtime TEXT NOT NULL REFERENCES runtimes(name),
        environment_uploaded BLOB NOT NULL,
        environment_migrated BLOB NOT NULL,
        warnings TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL,
        revision INTEGER NOT NULL DEFAULT 1,
        admin_token TEXT NOT NULL,
        worker_pid INTEGER,
        worker_started REAL,
        worker_socket TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE usage (
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        month TEXT NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, month)
    );
    CREATE TABLE deployment_usage (
        environment_uuid TEXT NOT NULL,
        month TEXT NOT NULL,
        requests INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (environment_uuid, month)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        account_id INTEGER,
        action TEXT NOT NULL,
        environment_uuid TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
    # version 2: request body limit per plan (bytes), enforced by the edge and the worker
    """
    ALTER TABLE plans ADD COLUMN max_body_bytes INTEGER NOT NULL DEFAULT 10485760;
    UPDATE plans SET max_body_bytes = 5242880 WHERE name IN ('FREE', 'TRIAL', 'SOLO');
    """,
    # version 3: routes a migration disabled (JSON list of uuids), handed to every worker of the deployment
    """
    ALTER TABLE deployments ADD COLUMN disabled_routes TEXT NOT NULL DEFAULT '[]';
    """,
    # version 4: durable worker state (supervisor/state_store.py): a cap per plan, the latest snapshot per
    # deployment with the epoch (deploy or reset revision) it grew from, and the revision history
    """
    ALTER TABLE plans ADD COLUMN max_state_bytes INTEGER NOT NULL DEFAULT 2097152;
    CREATE TABLE worker_states (
        environment_uuid TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        snapshot BLOB,
        saved_at REAL NOT NULL
    );
    CREATE TABLE revisions (
        environment_uuid TEXT NOT NULL,
        revision INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('deploy', 'live-update', 'reset')),
        at REAL NOT NULL,
        environment BLOB,
        disabled_routes TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (environment_uuid, revision)
    );
    INSERT INTO revisions (environment_uuid, revision, kind, at) SELECT environment_uuid, revision, 'deploy', updated_at
        FROM deployments;
    INSERT INTO worker_states (environment_uuid, epoch, saved_at) SELECT environment_uuid, revision, updated_at
        FROM deployments;
    """,
    # version 5: the operator's outbound rules (--outbound-allow/--outbound-deny/--outbound-resolve)
    """
    CREATE TABLE outbound_rules (
        kind TEXT NOT NULL CHECK (kind IN ('allow', 'deny', 'resolve')),
        value TEXT NOT NULL,
        PRIMARY KEY (kind, value)
    );
    """,
    # version 6: the last cumulative total applied per edge ledger and deployment (reports count once)
    """
    CREATE TABLE edge_ledger_marks (
        ledger TEXT NOT NULL,
        environment_uuid TEXT NOT NULL,
        counted INTEGER NOT NULL,
        PRIMARY KEY (ledger, environment_uuid)
    );
    """,
    # version 7: outbound rules keep their order in a column of their own (PostgreSQL has no rowid)
    """
    ALTER TABLE outbound_rules ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
    UPDATE outbound_rules SET position = {rowid};
    """,
    # version 8: a fleet (supervisor/fleet.py): the servers sharing the registry and their heartbeats, the
    # server owning each deployment ('' until one claims it), the changes every server must hear about
    # (read in order; NOTIFY on PostgreSQL wakes the readers), and deploys handed to the owning server
    """
    CREATE TABLE servers (
        server_id TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        domain TEXT NOT NULL,
        https_port INTEGER NOT NULL,
        capacity INTEGER NOT NULL,
        holder TEXT NOT NULL,
        heartbeat_at REAL NOT NULL,
        started_at REAL NOT NULL,
        stopped INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE deployments ADD COLUMN server_id TEXT NOT NULL DEFAULT '';
    CREATE TABLE fleet_events (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        server_id TEXT NOT NULL DEFAULT '',
        environment_uuid TEXT NOT NULL DEFAULT '',
        subdomain TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE deploy_requests (
        id INTEGER PRIMARY KEY,
        server_id TEXT NOT NULL,
        account_id INTEGER NOT NULL,
        environment_uuid TEXT NOT NULL,
        request BLOB NOT NULL,
        state TEXT NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        answer BLOB,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    """,
    # version 9: an account's deployments found by index (each deploy reads them for its quota: a scan
    # of every row, environments included, cost 1.5 ms per deploy with 1,200 deployments)
    """
    CREATE INDEX deployments_by_account ON deployments (account_id, created_at);
    """,
]


class Account(msgspec.Struct, kw_only=True):
    id: int
    name: str
    plan: str


class PlanRow(msgspec.Struct, kw_only=True):
    name: str
    deployments_quota: int
    monthly_requests_quota: int
    requests_per_second: int
    trial: bool
    max_body_bytes: int = 10 * 1024 * 1024
    max_state_bytes: int = 2 * 1024 * 1024


class Runtime(msgspec.Struct, kw_only=True):
    name: str
    command: list[str]
    max_schema: int


class Deployment(msgspec.Struct, kw_only=True):
    environment_uuid: str
    account_id: int
    subdomain: str
    name: str
    visibility: str
    api_key: str
    region: str
    live_update: bool
    runtime: str
    environment_migrated: bytes
    warnings: list[dict[str, Any]]
    disabled_routes: list[str]
    status: str
    revision: int
    admin_token: str
    worker_pid: int | None
    worker_started: float | None
    worker_socket: str | None
    last_error: str
    created_at: float
    updated_at: float
    server_id: str = ""  # the fleet server that runs it ('' on a registry no server has claimed yet)


def month_key(now: float | None = None) -> str:
    return dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC).strftime("%Y-%m")


def next_reset(now: float | None = None) -> dt.datetime:
    """Quotas reset at 00:00 UTC on the first day of the next month."""
    current = dt.datetime.fromtimestamp(now if now is not None else time.time(), dt.UTC)
    year, month = (current.year + 1, 1) if current.month == 12 else (current.year, current.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


class Registry:
    def __init__(self, target: str | Path | RegistryTarget) -> None:
        """``target``: a SQLite file (``Path``, ``sqlite:PATH``) or ``postgresql://…``."""
        self.target = parse_target(target)
        self.db: Database = connect(self.target)
        self._migrate()

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        with self.db.transaction() as db:
            yield db

    def schema_version(self) -> int:
        return self.db.schema_version()

    def _migrate(self) -> None:
        while True:  # one version per transaction, under a lock so two servers don't both migrate
            with self.transaction() as db:
                db.lock_schema()
                version = db.schema_version()
                if version > len(SCHEMA):
                    raise RegistryError(f"the registry {self.target} is at schema version {version}, newer than "
                                        f"this mockfleet ({len(SCHEMA)}): upgrade mockfleet")
                if version == len(SCHEMA):
                    break
                for statement in schema_statements(SCHEMA[version], db.dialect):
                    db.execute(statement)
                db.set_schema_version(version + 1)
        with self.transaction() as db:
            for plan in DEFAULT_PLANS.values():
                db.execute("INSERT INTO plans (name, deployments_quota, monthly_requests_quota, "
                           "requests_per_second, trial, max_body_bytes) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
                           (plan.name, plan.deployments_quota, plan.monthly_requests_quota, plan.requests_per_second,
                            10 * 1024 * 1024 if plan.name == "TEAM" else 5 * 1024 * 1024))
            db.execute("INSERT INTO plans (name, deployments_quota, monthly_requests_quota, "
                       "requests_per_second, trial, max_body_bytes) VALUES ('TRIAL', 1, 50000, ?, 1, 5242880) "
                       "ON CONFLICT DO NOTHING", (TRIAL_REQUESTS_PER_SECOND,))

    # --- plans and accounts -----------------------------------------------------------------
    def plan(self, name: str) -> PlanRow:
        row = self.db.execute("SELECT * FROM plans WHERE name = ?", (name.upper(),)).fetchone()
        if row is None:
            raise RegistryError(f"unknown plan {name!r}")
        return PlanRow(name=row["name"], deployments_quota=row["deployments_quota"],
                       monthly_requests_quota=row["monthly_requests_quota"],
                       requests_per_second=row["requests_per_second"], trial=bool(row["trial"]),
                       max_body_bytes=row["max_body_bytes"], max_state_bytes=row["max_state_bytes"])

    def plans(self) -> list[PlanRow]:
        return [self.plan(r["name"]) for r in self.db.execute("SELECT name FROM plans ORDER BY name")]

    def set_plan(self, plan: PlanRow) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO plans (name, deployments_quota, monthly_requests_quota, requests_per_second, "
                       "trial, max_body_bytes, max_state_bytes) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                       "SET deployments_quota = excluded.deployments_quota, monthly_requests_quota = "
                       "excluded.monthly_requests_quota, requests_per_second = excluded.requests_per_second, "
                       "trial = excluded.trial, max_body_bytes = excluded.max_body_bytes, "
                       "max_state_bytes = excluded.max_state_bytes",
                       (plan.name.upper(), plan.deployments_quota, plan.monthly_requests_quota,
                        plan.requests_per_second, int(plan.trial), plan.max_body_bytes, plan.max_state_bytes))
            announce(db, "plans")

    def create_account(self, name: str, plan: str, token: str | None = None) -> tuple[Account, str]:
        """Returns the account and its token; only the token's digest is stored."""
        plan_row = self.plan(plan)
        token = token or new_token()
        with self.transaction() as db:
            account_id = int(db.execute("INSERT INTO accounts (name, token_digest, plan, created_at) "
                                        "VALUES (?, ?, ?, ?) RETURNING id",
                                        (name, digest(token), plan_row.name, time.time())).fetchone()[0])
            db.execute("INSERT INTO audit (at, account_id, action, detail) VALUES (?, ?, 'account-create', ?)",
                       (time.time(), account_id, plan_row.name))
        return Account(id=account_id, name=name, plan=plan_row.name), token

    def account_by_token(self, token: str) -> Account | None:
        row = self.db.execute("SELECT id, name, plan FROM accounts WHERE token_digest = ?", (digest(token),)).fetchone()
        return Account(id=row["id"], name=row["name"], plan=row["plan"]) if row else None

    def account(self, account_id: int) -> Account:
        row = self.db.execute("SELECT id, name, plan FROM accounts WHERE id = ?", (account_id,)).fetchone()
        if row is None:
            raise RegistryError(f"unknown account {account_id}")
        return Account(id=row["id"], name=row["name"], plan=row["plan"])

    # --- runtimes ------------------------------------------------------------------------------
    def add_runtime(self, runtime: Runtime) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO runtimes VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                       "command = excluded.command, max_schema = excluded.max_schema, created_at = excluded.created_at",
                       (runtime.name, json.dumps(runtime.command), runtime.max_schema, time.time()))
            db.execute("INSERT INTO audit (at, action, detail) VALUES (?, 'runtime-add', ?)",
                       (time.time(), f"{runtime.name} schema {runtime.max_schema}"))

    def register_runtime(self, runtime: Runtime) -> None:
        """``mockfleet runtime add``: a new name only, so pinned deployments never see their command change."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM runtimes WHERE name = ?", (runtime.name,)).fetchone():
                raise RuntimeExists(runtime.name)
            db.execute("INSERT INTO runtimes VALUES (?, ?, ?, ?)",
                       (runtime.name, json.dumps(runtime.command), runtime.max_schema, time.time()))
            db.execute("INSERT INTO audit (at, action, detail) VALUES (?, 'runtime-add', ?)",
                       (time.time(), f"{runtime.name} schema {runtime.max_schema}"))

    def remove_runtime(self, name: str) -> None:
        """Refused while a deployment is pinned to it: its worker could not be started again."""
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM runtimes WHERE name = ?", (name,)).fetchone():
                raise RegistryError(f"no runtime named {name!r}")
            pinned = [r[0] for r in db.execute("SELECT environment_uuid FROM deployments WHERE runtime = ? "
                                               "ORDER BY created_at", (name,))]
            if pinned:
                raise RuntimeInUse(name, pinned)
            db.execute("DELETE FROM runtimes WHERE name = ?", (name,))
            db.execute("INSERT INTO audit (at, action, detail) VALUES (?, 'runtime-rm', ?)", (time.time(), name))

    def set_account_plan(self, account_id: int, plan: str) -> Account:
        """``mockfleet account set-plan``; the edge picks the new limits up with its next push."""
        plan_row = self.plan(plan)
        with self.transaction() as db:
            if db.execute("UPDATE accounts SET plan = ? WHERE id = ?", (plan_row.name, account_id)).rowcount == 0:
                raise RegistryError(f"unknown account {account_id}")
            db.execute("INSERT INTO audit (at, account_id, action, detail) VALUES (?, ?, 'account-set-plan', ?)",
                       (time.time(), account_id, plan_row.name))
            announce(db, "plans")
        return self.account(account_id)

    def runtimes(self) -> list[Runtime]:
        rows = self.db.execute("SELECT * FROM runtimes ORDER BY max_schema DESC, created_at DESC").fetchall()
        return [Runtime(name=r["name"], command=json.loads(r["command"]), max_schema=r["max_schema"]) for r in rows]

    def runtime(self, name: str) -> Runtime | None:
        return next((r for r in self.runtimes() if r.name == name), None)

    # --- outbound rules ----------------------------------------------------------------------------
    def outbound_rules(self) -> dict[str, list[str]]:
        rules: dict[str, list[str]] = {"allow": [], "deny": [], "resolve": []}
        for row in self.db.execute("SELECT kind, value FROM outbound_rules ORDER BY position, kind, value"):
            rules[row["kind"]].append(row["value"])
        return rules

    def replace_outbound_rules(self, kind: str, values: list[str]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM outbound_rules WHERE kind = ?", (kind,))
            db.executemany("INSERT INTO outbound_rules (kind, value, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           [(kind, v, position) for position, v in enumerate(values, start=1)])
            db.execute("INSERT INTO audit (at, action, detail) VALUES (?, 'outbound-rules', ?)",
                       (time.time(), f"{kind}: {', '.join(values) or '(none)'}"))

    # --- deployments -----------------------------------------------------------------------------
    _COLUMNS = ("environment_uuid, account_id, subdomain, name, visibility, api_key, region, live_update, runtime, "
                "environment_migrated, warnings, disabled_routes, status, revision, admin_token, worker_pid, worker_started, "
                "worker_socket, last_error, created_at, updated_at, server_id")

    def _deployment(self, row: Any) -> Deployment:
        data = dict(row)
        data["environment_migrated"] = bytes(data["environment_migrated"])
        data["live_update"] = bool(data["live_update"])
        data["warnings"] = json.loads(data["warnings"])
        data["disabled_routes"] = json.loads(data["disabled_routes"])
        return Deployment(**data)

    def deployment(self, environment_uuid: str) -> Deployment | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM deployments WHERE environment_uuid = ?",
                              (environment_uuid,)).fetchone()
        return self._deployment(row) if row else None

    def deployment_by_subdomain(self, subdomain: str) -> Deployment | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM deployments WHERE subdomain = ?", (subdomain,)).fetchone()
        return self._deployment(row) if row else None

    def deployments(self, account_id: int | None = None) -> list[Deployment]:
        if account_id is None:
            rows = self.db.execute(f"SELECT {self._COLUMNS} FROM deployments ORDER BY created_at").fetchall()
        else:
            rows = self.db.execute(f"SELECT {self._COLUMNS} FROM deployments WHERE account_id = ? ORDER BY created_at",
                                   (account_id,)).fetchall()
        return [self._deployment(r) for r in rows]

    def deployment_uuids(self, account_id: int) -> set[str]:
        """The account's deployments, by uuid only (the quota's question, without their environments)."""
        rows = self.db.execute("SELECT environment_uuid FROM deployments WHERE account_id = ?", (account_id,))
        return {row[0] for row in rows.fetchall()}

    def count_deployments(self, account_id: int) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM deployments WHERE account_id = ?", (account_id,)).fetchone()[0])

    def save_deployment(self, *, account_id: int, environment_uuid: str, subdomain: str, name: str, visibility: str,
                        region: str, live_update: bool, runtime: str, uploaded: bytes, migrated: bytes,
                        warnings: list[dict[str, Any]], quota: int, admin_token: str, worker_pid: int,
                        worker_started: float, worker_socket: str, disabled_routes: list[str] | None = None,
                        server_id: str = "", then: Callable[[Database, int], None] | None = None) -> Deployment:
        """Insert or re-deploy in one transaction; the quota is checked inside it so two racing deploys can't both pass.
        ``then(db, revision)`` writes what goes with the deploy in the same transaction (one commit, one fsync)."""
        now = time.time()
        disabled = json.dumps(disabled_routes or [])
        with self.transaction() as db:
            db.lock_account(account_id)
            existing = db.execute("SELECT account_id, api_key, admin_token, revision, created_at FROM deployments "
                                  "WHERE environment_uuid = ?", (environment_uuid,)).fetchone()
            if existing is None:
                used = db.execute("SELECT COUNT(*) FROM deployments WHERE account_id = ?", (account_id,)).fetchone()[0]
                if used >= quota:
                    raise QuotaExceeded(used, quota)
                db.execute(
                    "INSERT INTO deployments (environment_uuid, account_id, subdomain, name, visibility, api_key, region, "
                    "live_update, runtime, environment_uploaded, environment_migrated, warnings, disabled_routes, "
                    "status, revision, admin_token, worker_pid, worker_started, worker_socket, created_at, updated_at, "
                    "server_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'RUNNING', 1, ?, ?, ?, ?, ?, ?, ?)",
                    (environment_uuid, account_id, subdomain, name, visibility, new_api_key(), region, int(live_update),
                     runtime, uploaded, migrated, json.dumps(warnings), disabled, admin_token, worker_pid,
                     worker_started, worker_socket, now, now, server_id))
                action = "deploy"
            else:
                if existing["account_id"] != account_id:
                    raise OwnedElsewhere(environment_uuid)
                db.execute(
                    "UPDATE deployments SET subdomain = ?, name = ?, visibility = ?, region = ?, live_update = ?, "
                    "runtime = ?, environment_uploaded = ?, environment_migrated = ?, warnings = ?, disabled_routes = ?, "
                    "revision = revision + 1, status = 'RUNNING', last_error = '', worker_pid = ?, worker_started = ?, "
                    "worker_socket = ?, updated_at = ?, server_id = ? WHERE environment_uuid = ?",
                    (subdomain, name, visibility, region, int(live_update), runtime, uploaded, migrated,
                     json.dumps(warnings), disabled, worker_pid, worker_started, worker_socket, now, server_id,
                     environment_uuid))
                action = "redeploy"
            db.execute("INSERT INTO audit (at, account_id, action, environment_uuid, detail) VALUES (?, ?, ?, ?, ?)",
                       (now, account_id, action, environment_uuid, f"{subdomain} runtime={runtime}"))
            if then is not None:
                then(db, 1 if existing is None else int(existing["revision"]) + 1)
        found = self.deployment(environment_uuid)
        assert found is not None
        return found

    def set_worker(self, environment_uuid: str, *, status: str, pid: int | None = None, started: float | None = None,
                   socket: str | None = None, last_error: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE deployments SET status = ?, worker_pid = ?, worker_started = ?, worker_socket = ?, "
                       "last_error = COALESCE(?, last_error), updated_at = ? WHERE environment_uuid = ?",
                       (status, pid, started, socket, last_error, time.time(), environment_uuid))

    def set_status(self, environment_uuid: str, status: str, last_error: str | None = None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE deployments SET status = ?, last_error = COALESCE(?, last_error), updated_at = ? "
                       "WHERE environment_uuid = ?", (status, last_error, time.time(), environment_uuid))

    def rotate_key(self, environment_uuid: str) -> str:
        key = new_api_key()
        with self.transaction() as db:
            self._announce_deployment(db, "changed", environment_uuid)  # the events lock first, always
            db.execute("UPDATE deployments SET api_key = ?, updated_at = ? WHERE environment_uuid = ?",
                       (key, time.time(), environment_uuid))
            db.execute("INSERT INTO audit (at, action, environment_uuid) VALUES (?, 'rotate-key', ?)",
                       (time.time(), environment_uuid))
        return key

    def _announce_deployment(self, db: Database, kind: EventKind, environment_uuid: str) -> None:
        """Tell the fleet (the owning server's edge above all) that this deployment changed."""
        row = db.execute("SELECT server_id, subdomain FROM deployments WHERE environment_uuid = ?",
                         (environment_uuid,)).fetchone()
        if row is not None:
            announce(db, kind, server_id=row[0], environment_uuid=environment_uuid, subdomain=row[1])

    def delete_deployment(self, environment_uuid: str, account_id: int) -> None:
        with self.transaction() as db:
            self._announce_deployment(db, "deleted", environment_uuid)
            db.execute("DELETE FROM deployments WHERE environment_uuid = ?", (environment_uuid,))
            db.execute("DELETE FROM worker_states WHERE environment_uuid = ?", (environment_uuid,))
            db.execute("DELETE FROM revisions WHERE environment_uuid = ?", (environment_uuid,))
            db.execute("INSERT INTO audit (at, account_id, action, environment_uuid) VALUES (?, ?, 'delete', ?)",
                       (time.time(), account_id, environment_uuid))

    def add_usage(self, counts: dict[str, int], now: float | None = None) -> dict[int, int]:
        """Count edge-reported requests; returns the month's total for each account touched."""
        with self.transaction() as db:
            return self._add_usage(db, counts, now)

    def _add_usage(self, db: Database, counts: dict[str, int], now: float | None) -> dict[int, int]:
        month = month_key(now)
        touched: dict[int, int] = {}
        for environment_uuid, count in counts.items():
            row = db.execute("SELECT account_id FROM deployments WHERE environment_uuid = ?",
                             (environment_uuid,)).fetchone()
            if row is None or count <= 0:
                continue
            account_id = row[0]
            db.execute("INSERT INTO usage VALUES (?, ?, ?) ON CONFLICT (account_id, month) "
                       "DO UPDATE SET requests = usage.requests + excluded.requests", (account_id, month, count))
            db.execute("INSERT INTO deployment_usage VALUES (?, ?, ?) ON CONFLICT (environment_uuid, month) "
                       "DO UPDATE SET requests = deployment_usage.requests + excluded.requests", (environment_uuid, month, count))
            touched[account_id] = 0
        for account_id in touched:
            touched[account_id] = self.monthly_usage(account_id, now)
        return touched

    def add_usage_totals(self, ledger: str, totals: dict[str, int], now: float | None = None) -> dict[int, int]:
        """Apply an edge ledger's cumulative totals: only what exceeds the last total applied for
        the same ledger and deployment is counted, in the same transaction that moves the mark."""
        deltas: dict[str, int] = {}
        with self.transaction() as db:
            for environment_uuid, total in totals.items():
                row = db.execute("SELECT counted FROM edge_ledger_marks WHERE ledger = ? AND environment_uuid = ?",
                                 (ledger, environment_uuid)).fetchone()
                seen = int(row[0]) if row else 0
                if total > seen:
                    deltas[environment_uuid] = total - seen
                    db.execute("INSERT INTO edge_ledger_marks VALUES (?, ?, ?) ON CONFLICT (ledger, environment_uuid) "
                               "DO UPDATE SET counted = excluded.counted", (ledger, environment_uuid, total))
            return self._add_usage(db, deltas, now) if deltas else {}

    def monthly_usage(self, account_id: int, now: float | None = None) -> int:
        row = self.db.execute("SELECT requests FROM usage WHERE account_id = ? AND month = ?",
                              (account_id, month_key(now))).fetchone()
        return int(row[0]) if row else 0

    def deployment_usage(self, environment_uuid: str, now: float | None = None) -> int:
        row = self.db.execute("SELECT requests FROM deployment_usage WHERE environment_uuid = ? AND month = ?",
                              (environment_uuid, month_key(now))).fetchone()
        return int(row[0]) if row else 0


class QuotaExceeded(RegistryError):
    def __init__(self, used: int, quota: int) -> None:
        super().__init__(f"deployments quota reached: {used} of {quota} used")
        self.used = used
        self.quota = quota


class OwnedElsewhere(RegistryError):
    def __init__(self, environment_uuid: str) -> None:
        super().__init__(f"environment {environment_uuid} is deployed by another account")


class RuntimeExists(RegistryError):
    def __init__(self, name: str) -> None:
        super().__init__(f"runtime {name!r} exists already; deployments pinned to it keep its command "
                         "(add the new command under a new name)")


class RuntimeInUse(RegistryError):
    def __init__(self, name: str, pinned: list[str]) -> None:
        shown = ", ".join(pinned[:5]) + (f" and {len(pinned) - 5} more" if len(pinned) > 5 else "")
        super().__init__(f"runtime {name!r} is pinned by {len(pinned)} deployment(s): {shown}; "
                         "re-deploy or remove them first")
        self.pinned = pinned
