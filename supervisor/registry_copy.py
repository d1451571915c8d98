"""Copy a whole registry into an empty one (a single server's SQLite file into a fleet's PostgreSQL).

Both sides are opened as registries first, so both are at the newest schema and the copy is
column for column. The source is read inside one transaction (a consistent snapshot; on SQLite
it also holds writers off), the destination written inside one: it gets everything or nothing.
Account and audit ids are kept, so tokens, deployments and usage stay attached to their owners.
"""

from __future__ import annotations

from typing import Any

from .registry import Registry, RegistryError
from .registry_db import PostgresDatabase

# Parents before children (foreign keys); every table of SCHEMA.
TABLES = ("plans", "runtimes", "accounts", "deployments", "usage", "deployment_usage", "audit", "worker_states",
          "revisions", "outbound_rules", "edge_ledger_marks")
_KEYS = {"plans": "name"}  # rows the destination already has (the default plans): the source's win
_CARRIED = ("accounts", "deployments", "runtimes", "audit")  # a destination with any of these is not empty


class DestinationNotEmpty(RegistryError):
    def __init__(self, table: str, rows: int) -> None:
        super().__init__(f"the destination registry already has {rows} row(s) in {table}: "
                         "migrate into an empty registry")


def copy_registry(source: Registry, destination: Registry) -> dict[str, int]:
    """Copies every row; returns the rows copied per table (checked against the destination's count)."""
    for table in _CARRIED:
        rows = _count(destination, table)
        if rows:
            raise DestinationNotEmpty(table, rows)
    copied: dict[str, int] = {}
    with source.transaction() as src, destination.transaction() as dst:
        for table in TABLES:
            rows = src.execute(f"SELECT * FROM {table}").fetchall()
            copied[table] = len(rows)
            if not rows:
                continue
            columns = list(rows[0].keys())
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
            if table in _KEYS:
                updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != _KEYS[table])
                sql += f" ON CONFLICT ({_KEYS[table]}) DO UPDATE SET {updates}"
            dst.executemany(sql, [tuple(_value(row[c]) for c in columns) for row in rows])
        if isinstance(dst, PostgresDatabase):
            dst.reset_identities(("accounts", "audit"))
        for table in TABLES:
            if table not in _KEYS and _count(destination, table) != copied[table]:
                raise RegistryError(f"{table}: {copied[table]} rows read but the destination holds "
                                    f"{_count(destination, table)}; nothing was written")
    return copied


def _count(registry: Registry, table: str) -> int:
    return int(registry.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _value(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value
