"""``mockfleet serve``: run one environment like ``mockoon-cli start`` (TCP or Unix socket)."""

from __future__ import annotations

import argparse
import re
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
    p = sub.add_parser("serve", help="serve Mockoon environments or OpenAPI specs (like mockoon-cli start)")
    p.add_argument("environment", type=Path, nargs="*",
                   help="environment JSON files or OpenAPI/Swagger specs (JSON or YAML, converted as mockoon-cli "
                        "does), each on its own port; or - to read one from standard input")
    p.add_argument("-d", "--data", type=Path, nargs="+", action="extend", metavar="FILE",
                   help="more files, mockoon-cli's spelling (served after the positional ones)")
    p.add_argument("-p", "--port", type=int, nargs="+", action="extend", metavar="PORT",
                   help="TCP port of each file, in order (default: each environment's port)")
    p.add_argument("-l", "--hostname", "--host", dest="host", nargs="+", action="extend", metavar="ADDRESS",
                   help="TCP address of each file, in order (default: the environment's hostname, else 0.0.0.0)")
    p.add_argument("--uds", type=Path, help="listen on this Unix socket instead of TCP (one file)")
    p.add_argument("-s", "--faker-seed", type=int)
    p.add_argument("-c", "--faker-locale", default="en")
    p.add_argument("-x", "--env-vars-prefix", default="MOCKOON_")
    p.add_argument("--admin-api-token", nargs="+", action="extend", metavar="TOKEN",
                   help="Bearer token of /mockoon-admin: one for every file or one per file, repeated or comma-"
                        "separated (default: $MOCKFLEET_ADMIN_TOKEN or $MOCKOON_ADMIN_API_TOKEN, else a random one)")
    p.add_argument("--disable-admin-api", action="store_true",
                   help="no /mockoon-admin: its paths are served as mock paths")
    p.add_argument("--max-request-body-size", type=parse_size, default=parse_size("100mb"))
    p.add_argument("--public-base-url", nargs="+", action="extend", metavar="URL",
                   help="of each file, in order: baseUrl's value and the base of relative callback URLs")
    p.add_argument("-e", "--disable-routes", nargs="+", action="extend", metavar="UUID_OR_KEYWORD",
                   help="routes not served: a route's uuid, a keyword in a route's path or a folder's name "
                        "(no leading slash), or * for all, as mockoon-cli matches them")
    p.add_argument("-t", "--log-transaction", action="store_true",
                   help="print each request and its response as a JSON line on stdout, as mockoon-cli does")
    p.add_argument("--max-transaction-logs", type=int, default=100,
                   help="transactions the admin API's /logs keeps (default 100)")
    p.add_argument("--enable-random-latency", action="store_true",
                   help="each latency becomes a random 0..latency ms, as in Mockoon")
    p.add_argument("-w", "--watch", action="store_true",
                   help="reload a file when it changes, as a live update: requests in flight finish on the old "
                        "version; a version that cannot be served is reported and the previous one kept")
    p.add_argument("--polling-interval", type=int, default=2000, metavar="MS", help="--watch's polling interval")
    p.add_argument("--enable-route-metadata-headers", action="store_true",
                   help="answers name the route and response that served them (x-mockoon-route-uuid, "
                        "x-mockoon-route-response-no, x-mockoon-route-response-uuid), as in Mockoon")
    p.add_argument("--max-callback-depth", type=int, default=100,
                   help="callbacks calling this mock (X-Mockoon-Callback-Depth) stop at this depth (default 100)")
    p.add_argument("--proxy", choices=("enabled", "disabled"), help="override the environments' proxy mode")
    p.add_argument("-r", "--repair", action="store_true",
                   help="accepted for mockoon-cli's sake: environments are always repaired as Mockoon does, "
                        "each repair printed")
    p.add_argument("-X", "--disable-log-to-file", action="store_true",
                   help="accepted for mockoon-cli's sake: serve never writes log files")
    p.add_argument("--disable-tls", action="store_true",
                   help="accepted for mockoon-cli's sake: serve always speaks plain HTTP (the edge does TLS)")
    p.add_argument("--disable-external-refs", action="store_true",
                   help="accepted for mockoon-cli's sake: references outside a spec are never fetched")
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
    p.set_defaults(func=run, usage_error=p.error)


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
    p.add_argument("--outbound-broker", default="", metavar="SOCKET",
                   help="connect through this outbound broker (supervisor/outbound_broker.py) instead of directly; "
                        "with --sandbox as root the worker then runs without network")


def outbound_settings_from(args: argparse.Namespace) -> OutboundSettings:
    """Raises schemas.outbound.InvalidRule for a rule that cannot be read."""
    from schemas.outbound import Guard, OutboundSettings

    settings = OutboundSettings(
        mode=args.outbound_policy, allow=list(args.outbound_allow or []), deny=list(args.outbound_deny or []),
        resolve=list(args.outbound_resolve or []), connect_timeout=args.outbound_connect_timeout,
        total_timeout=args.outbound_timeout, max_concurrent=args.outbound_max_concurrent,
        max_response_bytes=args.outbound_max_response_size, broker=args.outbound_broker)
    Guard.from_settings(settings)  # every rule is read once, here, so a bad one stops the start
    return settings


def run(args: argparse.Namespace) -> int:
    """Build, then serve: everything wrong with the input is reported before a socket is bound."""
    if args.fork_server:
        from .fork_server import serve_forks

        return serve_forks(args.fork_server, args.faker_locale)
    if not (args.handover or args.environment or args.data):
        args.usage_error("the following arguments are required: environment")  # exits 2, as argparse does
    from .serve_build import BuildError, build
    from .serve_loop import serve  # imported before a spare worker waits for its hand-over

    heartbeat = None
    if args.heartbeat:
        from .heartbeat import Heartbeat

        heartbeat = Heartbeat(args.heartbeat)
    try:
        served = build(args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    watcher = None
    if args.watch:
        from functools import partial

        from .serve_watch import watch

        watcher = partial(watch, args=args)
    return serve(served, args, heartbeat, watcher)
