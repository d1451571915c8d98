"""``mockfleet validate``: check, migrate and cloud-check an environment file.

Strict: anything Mockoon's schema would repair is an error here, with every path named.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schemas import SchemaError, decode_environment, encode_environment
from schemas.sanitise import sanitise_for_cloud


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="validate a Mockoon environment file")
    p.add_argument("environment", type=Path, help="environment JSON file")
    p.add_argument("--migrate", type=Path, metavar="OUT", help="write the environment upgraded to the newest schema")
    p.add_argument("--cloud", action="store_true", help="also print what a hosted deployment disables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        data = args.environment.read_bytes()
    except OSError as error:
        print(f"error: cannot read {args.environment}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        env, report = decode_environment(data)
    except SchemaError as error:
        print(f"invalid: {args.environment}: {error}", file=sys.stderr)
        return 1
    if report.repairs:
        # strict, like `mockoon-cli validate`: what serve and deploy would repair (and warn about) fails here
        print(f"invalid: {args.environment}: {len(report.repairs)} value(s) Mockoon's schema rejects; "
              "`mockfleet serve` and deploys repair them as Mockoon does:", file=sys.stderr)
        for repair in report.repairs:
            print(f"  {repair.path}: {repair.message}", file=sys.stderr)
        return 1
    migrated = f", migrated from schema {report.from_version}" if report.from_version < report.to_version else ""
    print(f"valid: {env.name!r} ({env.uuid}), {len(env.routes)} routes, {len(env.data)} data buckets, "
          f"schema {report.to_version}{migrated}")
    if report.disabled_routes:
        print(f"note: {len(report.disabled_routes)} routes were disabled in the old file: {', '.join(report.disabled_routes)}")
    if args.migrate:
        args.migrate.write_bytes(encode_environment(env) + b"\n")
        print(f"wrote {args.migrate}")
    if args.cloud:
        _, warnings = sanitise_for_cloud(env)
        for warning in warnings:
            print(f"cloud: {warning.code}: {warning.path}: {warning.message}")
        if not warnings:
            print("cloud: nothing to disable")
    return 0
