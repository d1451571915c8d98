"""``mockfleet serve``: run one environment like ``mockoon-cli start`` (TCP or Unix socket)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from pathlib import Path

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.I)


def parse_size(text: str) -> int:
    """``100mb``, ``512kb``, ``1048576`` → bytes (0 means no limit)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 10mb, 512kb, 1048576)")
    unit = (match.group(2) or "").lower().rstrip("b").rstrip("i")
    return int(float(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve one Mockoon environment (like mockoon-cli start)")
    p.add_argument("environment", type=Path,
                   help="environment JSON file or OpenAPI/Swagger spec (JSON or YAML), or - to read it from standard input "
                        "(how the supervisor hands it over)")
    p.add_argument("--port", type=int, help="TCP port (default: the environment's port)")
    p.add_argument("--host", default="0.0.0.0", help="TCP address to listen on")
    p.add_argument("--uds", type=Path, help="listen on this Unix socket instead of TCP")
    p.add_argument("--faker-seed", type=int)
    p.add_argument("--faker-locale", default="en")
    p.add_argument("--env-vars-prefix", default="MOCKOON_")
    p.add_argument("--admin-api-token", default=os.environ.get("MOCKFLEET_ADMIN_TOKEN"),
                   help="Bearer token of /mockoon-admin (default: $MOCKFLEET_ADMIN_TOKEN, else a random one)")
    p.add_argument("--max-request-body-size", type=parse_size, default=parse_size("100mb"))
    p.add_argument("--public-base-url", default="")
    p.add_argument("--handover", action="store_true",
                   help="read a schemas.handover.WorkerHandover from stdin instead of an environment file: "
                        "lets the supervisor start spare workers ahead of deploys")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from schemas import SchemaError, environment_from_obj
    from schemas.environment_source import read_environment_source
    from schemas.handover import WorkerHandover, decode_handover

    from . import http1_compat, http1_only
    from .app import MockApp
    from .responder import MockServer, WorkerOptions

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        uvloop = None  # type: ignore[assignment]
    if os.environ.get("MOCKFLEET_LOOP") == "asyncio":  # for `just bench worker`'s loop comparison
        uvloop = None  # type: ignore[assignment]
    if args.handover:
        from .templating.helpers.fakes import FakerContext

        FakerContext(args.faker_locale, None)  # imports the locale's providers while waiting
        # everything heavy is imported above, so a spare worker waits here already warm
        try:
            handover = decode_handover(sys.stdin.buffer.read())
        except SchemaError as error:
            print(f"error: invalid hand-over from the supervisor: {error}", file=sys.stderr)
            return 1
    else:
        try:
            data = sys.stdin.buffer.read() if str(args.environment) == "-" else args.environment.read_bytes()
            source = read_environment_source(data)  # an OpenAPI spec is converted as mockoon-cli start does
            for warning in source.warnings:
                print(f"warning: openapi import: {warning}", file=sys.stderr)
            env, report = environment_from_obj(source.environment)
        except OSError as error:
            print(f"error: cannot read {args.environment}: {error.strerror}", file=sys.stderr)
            return 2
        except SchemaError as error:
            print(f"error: invalid environment {args.environment}: {error}", file=sys.stderr)
            return 1
        handover = WorkerHandover(environment=env, disabled_routes=report.disabled_routes, repairs=report.repairs)
    # options the hand-over leaves empty keep the command line's values
    admin_token = handover.admin_token or args.admin_api_token
    max_body = handover.max_request_body_size or args.max_request_body_size
    env = handover.environment
    for repair in handover.repairs:
        print(f"warning: repaired {repair.path}: {repair.message}", file=sys.stderr)
    options = WorkerOptions(
        faker_locale=args.faker_locale, faker_seed=args.faker_seed, env_vars_prefix=args.env_vars_prefix,
        disabled_routes=frozenset(handover.disabled_routes),
        public_base_url=handover.public_base_url or args.public_base_url,
    )
    if args.port is not None and not args.uds:
        env.port = args.port  # like `mockoon-cli start --port`: baseUrl and the logs name the port served
    server = MockServer(env, options)
    for problem in server.route_errors:
        print(f"warning: {problem}", file=sys.stderr)
    if handover.disabled_routes:
        print(f"note: {len(handover.disabled_routes)} route(s) disabled by a migration are not served: "
              f"{', '.join(handover.disabled_routes)}", file=sys.stderr)
    app = MockApp(server, max_body, admin_token)
    http1_compat.install()
    config = Config()
    config.accesslog = None
    config.errorlog = "-"
    config.loglevel = "WARNING"
    config.keep_alive_timeout = 5  # like Node's server; the edge drops pooled connections idle for 4 s
    config.keep_alive_max_requests = 2**31  # hypercorn's default (1,000) would break pooled connections
    http1_only.install(config)  # no h2c upgrade, no HTTP/2 prior knowledge: the edge can't meter those
    if args.uds:
        config.bind = [f"unix:{args.uds}"]
        where = f"unix:{args.uds}"
    else:
        port = args.port if args.port is not None else env.port
        config.bind = [f"{args.host}:{port}"]
        where = f"http://{args.host}:{port}"

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"mockfleet worker serving {env.name!r} ({len(env.routes)} routes) on {where}", flush=True)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())
    if args.uds and os.path.exists(args.uds):
        os.unlink(args.uds)
    return 0
