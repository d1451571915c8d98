"""``mockfleet registry migrate --from sqlite:… --to postgresql://…``: a single server's data into a fleet."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from schemas.platform_flags import add_registry_argument

from .registry import Registry, RegistryError
from .registry_copy import TABLES, copy_registry
from .registry_db import IntegrityViolation, RegistryTargetError, RegistryUnavailable
from .settings import Settings, default_data_dir


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("registry", help="operator: the registry database")
    registry_sub = p.add_subparsers(dest="registry_command", required=True)
    migrate = registry_sub.add_parser(
        "migrate", help="copy every account, plan, deployment, key and counted request into an empty registry "
                        "(stop the server first)")
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH|postgresql://…")
    migrate.add_argument("--to", dest="destination", required=True, metavar="postgresql://…|sqlite:PATH")
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(func=migrate_command)
    servers = registry_sub.add_parser("servers", help="the fleet's servers: region, capacity, deployments, heartbeat")
    servers.add_argument("--data-dir", type=Path, default=default_data_dir())
    add_registry_argument(servers)
    servers.add_argument("--json", action="store_true")
    servers.set_defaults(func=servers_command)


def migrate_command(args: argparse.Namespace) -> int:
    try:
        source = Registry(args.source)
        try:
            destination = Registry(args.destination)
            try:
                copied = copy_registry(source, destination)
            finally:
                destination.close()
        finally:
            source.close()
    except (RegistryError, RegistryTargetError, RegistryUnavailable, IntegrityViolation) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(copied))
    else:
        print("copied: " + ", ".join(f"{copied[t]} {t}" for t in TABLES))
    return 0


def servers_command(args: argparse.Namespace) -> int:
    """``mockfleet registry servers``: who is in the fleet and whether it is live."""
    from .fleet import servers
    from .placement import LIVE_WITHIN

    try:
        registry = Registry(Settings(data_dir=args.data_dir, registry=args.registry).registry_target)
        try:
            listed = servers(registry)
        finally:
            registry.close()
    except (RegistryError, RegistryTargetError, RegistryUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    now = time.time()
    rows = [{"serverId": s.server_id, "region": s.region, "deployments": s.deployments, "capacity": s.capacity,
             "url": f"https://*.{s.server_id}.{s.domain}:{s.https_port}",
             "state": "stopped" if s.stopped else "live" if s.live(now) else "silent",
             "heardSecondsAgo": round(max(now - s.heartbeat_at, 0.0), 1)} for s in listed]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'SERVER':<12} {'REGION':<8} {'STATE':<8} {'DEPLOYMENTS':>12} {'HEARD':>8}  URL")
    for row in rows:
        print(f"{row['serverId']:<12} {row['region']:<8} {row['state']:<8} "
              f"{str(row['deployments']) + '/' + str(row['capacity']):>12} {str(row['heardSecondsAgo']) + ' s':>8}  "
              f"{row['url']}")
    print(f"(live: heard within {LIVE_WITHIN:.0f} s)")
    return 0
