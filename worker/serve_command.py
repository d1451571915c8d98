"""``mockfleet serve``: run one environment like ``mockoon-cli start`` (TCP or Unix socket)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)?\s*$", re.I)


def parse_size(text: str) -> int:
    """``100mb``, ``512kb``, ``1048576`` → bytes (0 means no limit)."""
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 10mb, 512kb, 1048576)")
    unit = (match.group(2) or "").lower().rstrip("b").rstrip("i")
    return int(float(match.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve Mockoon environments or OpenAPI specs (like mockoon-cli start)")
    p.add_argument("environment", type=Path, nargs="*",
                   help="environment JSON files or OpenAPI/Swagger specs (JSON or YAML), each on its own port; "
                        "or - to read one from standard input (how the supervisor hands it over)")
    p.add_argument("-d", "--data", type=Path, nargs="+", default=[], help="more files (mockoon-cli's spelling)")
    p.add_argument("-p", "--port", type=int, nargs="+", default=[],
                   help="TCP port of each file, in order (default: each environment's port)")
    p.add_argument("-l", "--host", "--hostname", dest="host", default="0.0.0.0", help="TCP address to listen on")
    p.add_argument("--uds", type=Path, help="listen on this Unix socket instead of TCP")
    p.add_argument("-s", "--faker-seed", type=int)
    p.add_argument("-c", "--faker-locale", default="en")
    p.add_argument("-x", "--env-vars-prefix", default="MOCKOON_")
    p.add_argument("--admin-api-token", default=os.environ.get("MOCKFLEET_ADMIN_TOKEN"),
                   help="Bearer token of /mockoon-admin (default: $MOCKFLEET_ADMIN_TOKEN, else a random one)")
    p.add_argument("--max-request-body-size", type=parse_size, default=parse_size("100mb"))
    p.add_argument("--public-base-url", default="")
    p.add_argument("-e", "--disable-routes", nargs="+", default=[], metavar="UUID_OR_KEYWORD",
                   help="routes not served: a route uuid, a keyword in an endpoint or folder name, or * for all")
    p.add_argument("--disable-admin-api", action="store_true", help="no /mockoon-admin (its paths are mock paths)")
    p.add_argument("--log-transaction", action="store_true",
                   help="print each request and response as a JSON line, like mockoon-cli")
    p.add_argument("--max-transaction-logs", type=int, default=100, help="transactions the admin API keeps")
    p.add_argument("--enable-random-latency", action="store_true",
                   help="each latency becomes a random 0..latency ms, as in Mockoon")
    p.add_argument("-w", "--watch", action="store_true",
                   help="reload a file when it changes (requests in flight finish on the old version)")
    p.add_argument("--polling-interval", type=int, default=2000, help="--watch's polling interval in ms")
    p.add_argument("-r", "--repair", action="store_true",
                   help="accepted for mockoon-cli parity: environments are always repaired as Mockoon does")
    p.add_argument("-X", "--disable-log-to-file", action="store_true",
                   help="accepted for mockoon-cli parity: serve never writes log files (output goes to stdout/stderr)")
    p.add_argument("--disable-external-refs", action="store_true",
                   help="accepted for mockoon-cli parity: a spec's references outside the file are never fetched")
    p.add_argument("--handover", action="store_true",
                   help="read a schemas.handover.WorkerHandover from stdin instead of an environment file: "
                        "lets the supervisor start spare workers ahead of deploys")
    p.set_defaults(func=run)


def _read_handover(path: Path) -> Any:
    """The hand-over for one environment file or spec; raises ``SchemaError`` or ``OSError``."""
    from schemas import environment_from_obj
    from schemas.environment_source import read_environment_source
    from schemas.handover import WorkerHandover

    data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    source = read_environment_source(data)  # an OpenAPI spec is converted as mockoon-cli start does
    for warning in source.warnings:
        print(f"warning: openapi import: {warning}", file=sys.stderr)
    env, report = environment_from_obj(source.environment)
    return WorkerHandover(environment=env, disabled_routes=report.disabled_routes, repairs=report.repairs)


def _file_version(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def run(args: argparse.Namespace) -> int:
    from collections import deque

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from schemas import SchemaError
    from schemas.handover import decode_handover

    from . import http1_compat, http1_only
    from .app import MockApp
    from .responder import MockServer, WorkerOptions

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        uvloop = None  # type: ignore[assignment]
    if os.environ.get("MOCKFLEET_LOOP") == "asyncio":  # for `just bench worker`'s loop comparison
        uvloop = None  # type: ignore[assignment]
    paths: list[Path] = [*args.environment, *args.data]
    if args.handover:
        from .templating.helpers.fakes import FakerContext

        FakerContext(args.faker_locale, None)  # imports the locale's providers while waiting
        # everything heavy is imported above, so a spare worker waits here already warm
        try:
            handovers = [decode_handover(sys.stdin.buffer.read())]
        except SchemaError as error:
            print(f"error: invalid hand-over from the supervisor: {error}", file=sys.stderr)
            return 1
        paths = [Path("-")]
    else:
        if not paths:
            print("error: which environment? give one or more files", file=sys.stderr)
            return 2
        if len(paths) > 1 and (args.uds or len(args.port) not in (0, len(paths))):
            print("error: several files need one --port each (or none: each environment's own), and TCP",
                  file=sys.stderr)
            return 2
        handovers = []
        for path in paths:
            try:
                handovers.append(_read_handover(path))
            except OSError as error:
                print(f"error: cannot read {path}: {error.strerror}", file=sys.stderr)
                return 2
            except SchemaError as error:
                print(f"error: invalid environment {path}: {error}", file=sys.stderr)
                return 1
    http1_compat.install()

    def build(handover: Any, port: int | None) -> tuple[MockServer, str]:
        env = handover.environment
        for repair in handover.repairs:
            print(f"warning: repaired {repair.path}: {repair.message}", file=sys.stderr)
        options = WorkerOptions(
            faker_locale=args.faker_locale, faker_seed=args.faker_seed, env_vars_prefix=args.env_vars_prefix,
            disabled_routes=frozenset(handover.disabled_routes),
            public_base_url=handover.public_base_url or args.public_base_url,
            disabled_route_keywords=tuple(args.disable_routes), random_latency=args.enable_random_latency,
            log_transactions=args.log_transaction,
        )
        if port is not None and not args.uds:
            env.port = port  # like `mockoon-cli start --port`: baseUrl and the logs name the port served
        server = MockServer(env, options)
        server.state.logs = deque(server.state.logs, maxlen=max(args.max_transaction_logs, 0))
        for problem in server.route_errors:
            print(f"warning: {problem}", file=sys.stderr)
        if handover.disabled_routes:
            print(f"note: {len(handover.disabled_routes)} route(s) disabled by a migration are not served: "
                  f"{', '.join(handover.disabled_routes)}", file=sys.stderr)
        return server, env.name

    apps: list[tuple[MockApp, Config, str, Path]] = []
    for index, handover in enumerate(handovers):
        port = args.port[index] if index < len(args.port) else None
        server, _ = build(handover, port)
        # options the hand-over leaves empty keep the command line's values
        app = MockApp(server, handover.max_request_body_size or args.max_request_body_size,
                      handover.admin_token or args.admin_api_token, admin_enabled=not args.disable_admin_api)
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
            config.bind = [f"{args.host}:{server.env.port}"]
            where = f"http://{args.host}:{server.env.port}"
        apps.append((app, config, where, paths[index]))

    async def watch(app: MockApp, path: Path, port: int) -> None:
        """Poll the file; a new version replaces the served one between requests (live update)."""
        seen = _file_version(path)
        while True:
            await asyncio.sleep(args.polling_interval / 1000)
            version = _file_version(path)
            if version is None or version == seen:
                continue
            seen = version
            try:
                server, name = build(_read_handover(path), port)
            except (OSError, SchemaError) as error:
                print(f"warning: {path} changed but cannot be served, keeping the previous version: {error}",
                      file=sys.stderr, flush=True)
                continue
            app.holder["server"] = server
            print(f"reloaded {name!r} from {path} ({len(server.env.routes)} routes)", flush=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        servers, watchers = [], []
        for app, config, where, path in apps:
            env = app.holder["server"].env
            print(f"mockfleet worker serving {env.name!r} ({len(env.routes)} routes) on {where}", flush=True)
            servers.append(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
            if args.watch and str(path) != "-":
                watchers.append(asyncio.ensure_future(watch(app, path, env.port)))
        try:
            await asyncio.gather(*servers)
        finally:
            for task in watchers:
                task.cancel()

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())
    if args.uds and os.path.exists(args.uds):
        os.unlink(args.uds)
    return 0
