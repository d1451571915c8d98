"""``mockfleet serve``: run one environment like ``mockoon-cli start`` (TCP or Unix socket)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.outbound import OutboundSettings

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
                   help="environment JSON file or OpenAPI/Swagger spec (JSON or YAML, converted as mockoon-cli "
                        "does), or - to read it from standard input")
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
    p.add_argument("--websocket-drain-seconds", type=float, default=10.0,
                   help="on SIGTERM, open WebSockets are served this long, then closed with 1001")
    p.add_argument("--websocket-max-message-size", type=parse_size, default=0,
                   help="larger WebSocket messages close the connection with 1009 (0: no limit but hypercorn's 16 MiB)")
    p.add_argument("--websocket-messages-per-second", type=int, default=0,
                   help="a WebSocket client sending faster is closed with 1008 (0: no limit)")
    p.add_argument("--websocket-idle-seconds", type=float, default=0,
                   help="a WebSocket with no message either way for this long is closed with 1001 (0: never)")
    add_outbound_arguments(p)
    p.add_argument("--handover", action="store_true",
                   help="read a schemas.handover.WorkerHandover from stdin instead of an environment file: "
                        "lets the supervisor start spare workers ahead of deploys")
    p.add_argument("--sandbox", action="store_true",
                   help="confine the worker once its socket is bound (see worker/sandbox.py); needs --uds")
    p.add_argument("--sandbox-uid", type=int, help="with --sandbox when started as root: the uid to run as")
    p.add_argument("--fork-server", type=Path, metavar="SOCKET",
                   help="instead of serving: import everything once and fork a worker per request on this "
                        "control socket (see worker/fork_server.py)")
    p.add_argument("--heartbeat", type=Path,
                   help="file the event loop stamps every 250 ms, for the supervisor's liveness check")
    p.set_defaults(func=run)


def add_outbound_arguments(p: argparse.ArgumentParser, default_mode: str = "open") -> None:
    """Proxy mode and callbacks: what they may reach and how long and how much they may take."""
    p.add_argument("--outbound-policy", choices=("open", "cloud"), default=default_mode,
                   help="open: reach anything, like Mockoon CLI; cloud: refuse loopback, private, link-local, "
                        f"metadata and reserved addresses unless --outbound-allow opens them (default {default_mode})")
    p.add_argument("--outbound-allow", action="append", default=None, metavar="CIDR|HOST[:PORT]",
                   help="open a range or host (repeatable)")
    p.add_argument("--outbound-deny", action="append", default=None, metavar="CIDR|HOST[:PORT]",
                   help="close a range or host (repeatable)")
    p.add_argument("--outbound-resolve", action="append", default=None, metavar="HOST=ADDRESS",
                   help="answer this name without DNS (repeatable; names of an intranet)")
    p.add_argument("--outbound-connect-timeout", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--outbound-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="total time for one outbound request, answer included")
    p.add_argument("--outbound-max-concurrent", type=int, default=16)
    p.add_argument("--outbound-max-response-size", type=parse_size, default=parse_size("16mb"))


def outbound_settings_from(args: argparse.Namespace) -> OutboundSettings:
    """Raises schemas.outbound.InvalidRule for a rule that cannot be read."""
    from schemas.outbound import Guard, OutboundSettings

    settings = OutboundSettings(
        mode=args.outbound_policy, allow=list(args.outbound_allow or []), deny=list(args.outbound_deny or []),
        resolve=list(args.outbound_resolve or []), connect_timeout=args.outbound_connect_timeout,
        total_timeout=args.outbound_timeout, max_concurrent=args.outbound_max_concurrent,
        max_response_bytes=args.outbound_max_response_size)
    Guard.from_settings(settings)  # every rule is read once, here, so a bad one stops the start
    return settings


def run(args: argparse.Namespace) -> int:
    if args.fork_server:
        from .fork_server import serve_forks

        return serve_forks(args.fork_server, args.faker_locale)
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from schemas import SchemaError, environment_from_obj
    from schemas.environment_source import read_environment_source
    from schemas.handover import WorkerHandover, decode_handover
    from schemas.outbound import InvalidRule

    from . import http1_compat, http1_only, ws_compat
    from .app import MockApp
    from .outbound_client import OutboundClient
    from .responder import MockServer, WorkerOptions
    from .websocket_server import WsLimits

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        uvloop = None  # type: ignore[assignment]
    if os.environ.get("MOCKFLEET_LOOP") == "asyncio":  # for `just bench worker`'s loop comparison
        uvloop = None  # type: ignore[assignment]
    heartbeat = None
    if args.heartbeat:
        from .heartbeat import Heartbeat

        heartbeat = Heartbeat(args.heartbeat)
    if args.handover:
        from .templating.faker import faker_context

        faker_context(args.faker_locale, None)  # builds the shared unseeded context and imports the locale's providers while waiting
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
        public_base_url=handover.public_base_url or args.public_base_url, cloud=handover.cloud,
    )
    if args.port is not None and not args.uds:
        env.port = args.port  # like `mockoon-cli start --port`: baseUrl and the logs name the port served
    server = MockServer(env, options)
    deployed_env_vars = dict(options.env_vars)  # before restoring the admin API's writes: what a purge returns to
    if handover.state:
        from .snapshot import SnapshotError, decode_state, restore

        try:
            restore(server.state, decode_state(handover.state), options.env_vars)
        except SnapshotError as error:
            print(f"warning: starting from the deployed state: {error}", file=sys.stderr)
    for problem in server.route_errors:
        print(f"warning: {problem}", file=sys.stderr)
    if handover.disabled_routes:
        print(f"note: {len(handover.disabled_routes)} route(s) disabled by a migration are not served: "
              f"{', '.join(handover.disabled_routes)}", file=sys.stderr)
    try:
        outbound = handover.outbound or outbound_settings_from(args)
        client = OutboundClient(outbound)
    except InvalidRule as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = MockApp(server, max_body, admin_token, client)
    app.websockets.limits = WsLimits(
        max_message_bytes=handover.websocket_max_message_bytes or args.websocket_max_message_size,
        messages_in_per_second=handover.websocket_messages_per_second or args.websocket_messages_per_second,
        idle_seconds=handover.websocket_idle_seconds or args.websocket_idle_seconds)
    drain_seconds = handover.websocket_drain_seconds or args.websocket_drain_seconds
    app.admin.live_update = handover.live_update
    sync = None
    if handover.state_link is not None:
        from .state_sync import Deployed, StateSync

        deployed = handover.deployed
        sync = app.admin.sync = StateSync(handover.state_link, admin_token or "", app.holder, Deployed(
            deployed.environment if deployed else env,
            frozenset(deployed.disabled_routes if deployed else handover.disabled_routes), deployed_env_vars))
    http1_compat.install()
    ws_compat.install()
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
        if args.sandbox:
            config.bind = [f"fd://{_bind_unix(args.uds)}"]  # bound before the sandbox takes the filesystem away
            _confine(args, heartbeat)
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
        beating = asyncio.ensure_future(heartbeat.run()) if heartbeat is not None else None
        pusher = asyncio.create_task(sync.run()) if sync is not None else None

        async def shutdown() -> None:
            await stop.wait()
            # hypercorn waits graceful_timeout for open connections: open WebSockets get the drain
            if app.websockets.open_connections():
                config.graceful_timeout = drain_seconds + 2
                asyncio.ensure_future(app.websockets.drain(drain_seconds))

        served = heartbeat.watch(app) if heartbeat is not None else app  # idle workers beat rarely
        await serve(served, config, shutdown_trigger=shutdown)  # type: ignore[arg-type]
        if beating is not None:
            beating.cancel()
        if sync is not None and pusher is not None:
            pusher.cancel()
            await sync.flush(timeout=3.0)  # the final snapshot, after the drain

    if uvloop is not None:
        uvloop.run(main())
    else:
        asyncio.run(main())
    if args.uds and os.path.exists(args.uds):
        try:
            os.unlink(args.uds)
        except OSError:  # a sandboxed worker may not write its run directory: the supervisor removes it
            pass
    return 0


def _bind_unix(path: Path) -> int:
    """A listening Unix socket at ``path``; its descriptor is handed to hypercorn (fd://)."""
    import socket

    if path.is_socket():
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1024)
    return sock.detach()


def _confine(args: argparse.Namespace, heartbeat: object) -> None:
    from schemas.heartbeat import flag_names

    from .heartbeat import Heartbeat
    from .sandbox import confine

    result = confine(args.sandbox_uid)
    if isinstance(heartbeat, Heartbeat):
        heartbeat.report_sandbox(int(result.applied))
    missing = "; ".join(f"{name}: {why}" for name, why in result.missing.items())
    print(f"sandbox: {', '.join(flag_names(result.applied))}" + (f" (missing {missing})" if missing else ""),
          file=sys.stderr, flush=True)
