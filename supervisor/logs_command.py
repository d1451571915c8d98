"""``mockfleet logs UUID [--follow]``: a deployment's worker output and its access-log lines.

An operator command, run on the machine of ``mockfleet up`` (like ``runtime`` and ``plan``): the
worker's output is its file in ``<data-dir>/logs/`` (the rotated ``.1`` half first), the access
lines are the worker's recorded transactions (``/mockoon-admin/logs`` over its Unix socket, with
the deployment's admin token), one JSON line per request. ``--follow`` polls both until Ctrl-C,
following the deployment to a new worker when it is restarted or re-deployed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .settings import Settings, default_data_dir

POLL_SECONDS = 0.5


class LogsError(Exception):
    pass


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("logs", help="operator: a deployment's worker output and access-log lines")
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("uuid")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until Ctrl-C")
    p.add_argument("--lines", "-n", type=int, default=100, help="worker output lines shown first (default 100)")
    p.set_defaults(func=run)


def access_line(transaction: dict[str, Any]) -> str:
    """One recorded transaction as an access-log line (JSON, keys in a fixed order)."""
    request, response = transaction.get("request", {}), transaction.get("response", {})
    stamp = datetime.fromtimestamp(transaction.get("timestampMs", 0) / 1000, UTC)
    query = request.get("queryParams") or {}
    return json.dumps({
        "timestamp": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": str(request.get("method", "")).upper(), "path": request.get("urlPath", ""),
        "query": query or None, "status": response.get("statusCode"),
        "route": transaction.get("routeUUID"), "proxied": bool(transaction.get("proxied", False)),
    }, ensure_ascii=False, separators=(",", ":"))


def _key(transaction: dict[str, Any]) -> str:
    return json.dumps(transaction, sort_keys=True, default=str)


@dataclass
class AccessCursor:
    """Which transactions were printed already: the worker keeps only its newest ones, so a key set
    (bounded to what the worker can still return) tells new from seen."""

    seen: set[str] = field(default_factory=set)

    def fresh(self, transactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The unseen transactions, oldest first; ``transactions`` is the admin API's list (newest first)."""
        keys = [_key(t) for t in transactions]
        new = [t for t, k in zip(transactions, keys, strict=True) if k not in self.seen]
        self.seen = set(keys)
        return sorted(new, key=lambda t: t.get("timestampMs", 0))


@dataclass
class OutputCursor:
    """Where the worker's log file was read up to; a new file (worker restarted) or a shorter one
    (rotated) starts from its beginning."""

    path: Path | None = None
    offset: int = 0

    def read(self, path: Path) -> str:
        if path != self.path:
            self.path, self.offset = path, 0
        try:
            size = path.stat().st_size
        except OSError:
            return ""
        if size < self.offset:
            self.offset = 0
        with path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        return data.decode("utf-8", "replace")


def tail(text: str, lines: int) -> str:
    kept = text.splitlines(keepends=True)
    return "".join(kept[-lines:]) if lines > 0 else ""


def _transactions(socket_path: str, admin_token: str) -> list[dict[str, Any]]:
    class Local(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(10)
            self.sock.connect(socket_path)

    conn = Local("worker", timeout=10)
    try:
        conn.request("GET", "/mockoon-admin/logs", headers={"Authorization": f"Bearer {admin_token}"})
        response = conn.getresponse()
        body = response.read()
    except OSError:
        return []  # the worker is stopping or stopped: no access lines to show
    finally:
        conn.close()
    if response.status != 200:
        return []
    answer = json.loads(body or b"[]")
    return answer if isinstance(answer, list) else []


def _deployment(settings: Settings, uuid: str) -> Any:
    from .registry import Registry

    registry = Registry(settings.registry_path)
    try:
        return registry.deployment(uuid)
    finally:
        registry.close()


def _log_path(settings: Settings, worker_socket: str | None) -> Path | None:
    return settings.logs_dir / (Path(worker_socket).stem + ".log") if worker_socket else None


def run(args: argparse.Namespace) -> int:
    settings = Settings(data_dir=args.data_dir)
    if not settings.registry_path.exists():
        print(f"error: no registry in {settings.data_dir}", file=sys.stderr)
        return 1
    deployment = _deployment(settings, args.uuid)
    if deployment is None:
        print(f"error: no deployment {args.uuid}", file=sys.stderr)
        return 1
    output, access = OutputCursor(), AccessCursor()
    first = True
    try:
        while True:
            path = _log_path(settings, deployment.worker_socket)
            text = ""
            if path is not None:
                if first:
                    rotated = path.with_name(path.name + ".1")
                    text = rotated.read_text("utf-8", "replace") if rotated.exists() else ""
                text += output.read(path)
            if first:
                text = tail(text, args.lines)
                if path is None:
                    print(f"({args.uuid} has no worker now: {deployment.status}"
                          + (f", {deployment.last_error.strip()[-500:]}" if deployment.last_error else "") + ")",
                          file=sys.stderr)
            sys.stdout.write(text)
            if deployment.worker_socket:
                for transaction in access.fresh(_transactions(deployment.worker_socket, deployment.admin_token)):
                    sys.stdout.write(access_line(transaction) + "\n")
            sys.stdout.flush()
            first = False
            if not args.follow:
                return 0
            time.sleep(POLL_SECONDS)
            deployment = _deployment(settings, args.uuid)
            if deployment is None:
                print(f"{args.uuid} was deleted", file=sys.stderr)
                return 0
    except KeyboardInterrupt:
        return 0
