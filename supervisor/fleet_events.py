"""Changes every server of a fleet must hear about, written beside the change itself.

An event is a row of ``fleet_events`` inserted in the transaction that makes the change, so it is
seen if and only if the change committed. Writers take a lock first (PostgreSQL: a transaction
advisory lock; SQLite's writer lock already serialises them), so sequence numbers commit in order
and a reader that remembers the last one it saw never skips an event. On PostgreSQL a
``NOTIFY`` in the same transaction wakes every listening server at commit; readers also poll, so a
lost notification only delays an event by a poll interval.
"""

from __future__ import annotations

import time

import msgspec

from schemas.fleet import EventKind, FleetEvent

from .registry_db import Database

CHANNEL = "mockfleet_fleet"
_EVENTS_LOCK = 0x666C6565  # pg_advisory_xact_lock key ("flee")
KEEP_SECONDS = 3600.0  # events older than this are pruned (a server away longer resynchronises in full)


def lock(db: Database) -> None:
    """Inside a transaction, before its other locks: every transaction that announces takes this one
    first, so they cannot deadlock on row locks taken in another order."""
    if db.dialect == "postgresql":
        db.execute("SELECT pg_advisory_xact_lock(?)", (_EVENTS_LOCK,))


def announce(db: Database, kind: EventKind, *, server_id: str = "", environment_uuid: str = "",
             subdomain: str = "") -> None:
    """Inside a transaction: record the event and wake the listeners at commit."""
    lock(db)
    db.execute("INSERT INTO fleet_events (at, kind, server_id, environment_uuid, subdomain) VALUES (?, ?, ?, ?, ?)",
               (time.time(), kind, server_id, environment_uuid, subdomain))
    if db.dialect == "postgresql":
        db.execute("SELECT pg_notify(?, ?)", (CHANNEL, kind))


def latest(db: Database) -> int:
    """The newest event's number: a server starting reads only what follows."""
    return int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM fleet_events").fetchone()[0])


def since(db: Database, seq: int, limit: int = 500) -> list[FleetEvent]:
    rows = db.execute("SELECT seq, kind, server_id, environment_uuid, subdomain FROM fleet_events WHERE seq > ? "
                      "ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
    return [msgspec.convert(dict(row), FleetEvent) for row in rows]


def prune(db: Database, now: float) -> None:
    db.execute("DELETE FROM fleet_events WHERE at < ?", (now - KEEP_SECONDS,))
