"""The command-line flags ``mockfleet up`` takes and hands on to the supervisor and the edge
(``python -m supervisor supervise …``, ``python -m edge …``), defined once so the three accept the
same spelling and defaults."""

from __future__ import annotations

import argparse
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .platform_places import PlatformPlaces, default_data_dir


def mockfleet_version() -> str:
    try:
        return version("mockfleet")
    except PackageNotFoundError:
        return "0+unknown"


def mockfleet_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The top of the ``mockfleet`` command, the same in each package's ``__main__`` (the usage line and
    errors of ``mockfleet serve`` read the same whether it runs as ``python -m worker`` or not)."""
    parser = argparse.ArgumentParser(prog="mockfleet", description="Run Mockoon environments as hosted mock APIs.")
    parser.add_argument("--version", action="version", version=f"mockfleet {mockfleet_version()}")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def add_platform_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=default_data_dir(), help="registry, certificates, logs")
    add_registry_argument(p)
    p.add_argument("--domain", default="mockfleet.localhost")
    p.add_argument("--server-id", default="local")
    p.add_argument("--region", default="local")
    p.add_argument("--https-port", type=int, default=8443)
    p.add_argument("--worker-rss-limit-mb", type=int, default=384)
    p.add_argument("--worker-stall-seconds", type=float, default=60.0,
                   help="a worker whose event loop has not turned for this long is killed and restarted "
                        "(the edge's request deadline; an edge 504 confirms a hang sooner)")
    p.add_argument("--worker-log-kb", type=int, default=1024,
                   help="a worker's log is rotated past this size (the previous part is kept as .1)")
    p.add_argument("--fork-server", action=argparse.BooleanOptionalAction, default=True,
                   help="fork workers from one warm fork server per runtime (less memory, faster deploys); "
                        "--no-fork-server spawns each worker as its own interpreter")
    p.add_argument("--idle-stop-seconds", type=float, default=0.0,
                   help="stop workers that got no request for this long (0: never); requests wake them")
    p.add_argument("--supervisor-metrics-port", type=int, default=0,
                   help="Prometheus metrics of deployments and workers on 127.0.0.1 (0: off)")
    add_outbound_arguments(p)
    add_fleet_arguments(p)


def add_fleet_arguments(p: argparse.ArgumentParser) -> None:
    """Several servers sharing one PostgreSQL registry (supervisor/fleet.py)."""
    p.add_argument("--capacity", type=int, default=1000, help="deployments this server takes in a fleet")
    p.add_argument("--default-region", default="", help="where a deploy with region null goes (default: --region)")
    p.add_argument("--failover-after", type=float, default=0.0, metavar="SECONDS",
                   help="restart the deployments of a server of this region silent for this long here (0: never)")


def add_registry_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", default=os.environ.get("MOCKFLEET_REGISTRY", ""), metavar="sqlite:PATH|postgresql://…",
                   help="where accounts, plans and deployments live (default: registry.sqlite3 in the data dir; "
                        "also $MOCKFLEET_REGISTRY, which keeps a password out of the process list)")


def add_outbound_arguments(p: argparse.ArgumentParser) -> None:
    """Deployments' proxy mode and callbacks reach public addresses only, unless opened here."""
    p.add_argument("--outbound-allow", action="append", metavar="CIDR|HOST[:PORT]",
                   help="open a range or host to deployments' proxy mode and callbacks (an intranet); repeatable, "
                        "kept in the registry (given: replaces the kept list)")
    p.add_argument("--outbound-deny", action="append", metavar="CIDR|HOST[:PORT]",
                   help="close a range or host that would be public; repeatable, kept in the registry")
    p.add_argument("--outbound-resolve", action="append", metavar="HOST=ADDRESS",
                   help="answer this name without DNS (intranet names); repeatable, kept in the registry")
    p.add_argument("--outbound-connect-timeout", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--outbound-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="total time of one outbound request, answer included")
    p.add_argument("--outbound-max-concurrent", type=int, default=16, help="outbound requests at once, per deployment")
    p.add_argument("--outbound-max-response-mb", type=float, default=16.0, help="largest upstream answer relayed")


def add_edge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bind", default="0.0.0.0", help="address of the HTTPS (and plain HTTP) listeners")
    p.add_argument("--http-port", type=int, default=None,
                   help="also listen for plain HTTP here (off by default); it redirects to HTTPS unless --http-serve")
    p.add_argument("--http-serve", action="store_true",
                   help="serve mocks over the plain-HTTP port instead of redirecting (local development)")
    p.add_argument("--metrics-port", type=int, default=9464, help="Prometheus metrics on 127.0.0.1 (0: off)")
    p.add_argument("--tls-cert", type=Path, help="wildcard certificate for *.<server-id>.<domain> (PEM chain)")
    p.add_argument("--tls-key", type=Path)
    p.add_argument("--api-tls-cert", type=Path, help="certificate for api.<domain> (default: --tls-cert)")
    p.add_argument("--api-tls-key", type=Path)
    p.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds to complete a TLS handshake, and to receive a request head (slowloris)")
    p.add_argument("--send-timeout", type=float, default=30.0,
                   help="seconds a client may read nothing of a response before the edge drops it")
    p.add_argument("--max-connections", type=int, default=10_000)
    p.add_argument("--tunnel-idle-timeout", type=float, default=120.0,
                   help="seconds a WebSocket may carry nothing either way before the edge closes it")
    p.add_argument("--tunnel-max-seconds", type=float, default=3600.0,
                   help="seconds after which the edge closes any WebSocket")
    p.add_argument("--max-tunnels-per-deployment", type=int, default=32,
                   help="open WebSockets per deployment; more are answered 429")
    p.add_argument("--ws-max-message-kb", type=int, default=1024,
                   help="a larger WebSocket message (either way) ends its tunnel with close code 1009 (0: no limit)")
    p.add_argument("--ws-messages-in-per-second", type=int, default=1000,
                   help="messages per second all clients of a deployment may send; beyond, close 1008 (0: no limit)")
    p.add_argument("--ws-messages-out-per-second", type=int, default=5000,
                   help="messages per second a deployment may send its clients; beyond, close 1013 (0: no limit)")


def places_from(args: argparse.Namespace) -> PlatformPlaces:
    """The shared places of parsed ``add_platform_arguments`` flags."""
    return PlatformPlaces(data_dir=args.data_dir, domain=args.domain, server_id=args.server_id,
                          region=args.region, https_port=args.https_port)
