"""``mockfleet registry migrate --from sqlite:… --to postgresql://…``: a single server's data into a fleet."""

from __future__ import annotations

import argparse
import json
import sys

from .registry import Registry, RegistryError
from .registry_copy import TABLES, copy_registry
from .registry_db import IntegrityViolation, RegistryTargetError, RegistryUnavailable


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
