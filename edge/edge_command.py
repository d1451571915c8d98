"""``mockfleet edge`` (``python -m edge``): the network-facing process, alone (``mockfleet up`` runs it
with the supervisor)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
from pathlib import Path

import trio

from schemas.platform_flags import add_edge_arguments, add_platform_arguments, places_from

from .certificates import CertificateError, TlsFiles, sni_context
from .certificates_command import tls_files
from .open_files import raise_open_files
from .proxy import EdgeLimits
from .server import EdgeConfig, run_edge
from .websocket_guard import SHUTDOWN, MessageLimits
from .websocket_tunnel import CLOSE_GRACE


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("edge", help="run the edge alone, next to a running supervisor")
    add_platform_arguments(p)
    add_edge_arguments(p)
    p.set_defaults(func=run)


def edge_config(args: argparse.Namespace, control_socket: Path, files: TlsFiles, api_host: str,
                usage_ledger: Path | None = None) -> EdgeConfig:
    return EdgeConfig(control_socket=control_socket, ssl_context=sni_context(files, api_host),
                      usage_ledger=usage_ledger,
                      https_port=args.https_port, bind=args.bind, http_port=args.http_port,
                      http_redirect=not args.http_serve,
                      metrics_port=args.metrics_port or None,
                      limits=EdgeLimits(header_timeout=args.header_timeout, max_connections=args.max_connections,
                                        handshake_timeout=args.header_timeout, send_timeout=args.send_timeout,
                                        tunnel_idle_timeout=args.tunnel_idle_timeout,
                                        tunnel_max_seconds=args.tunnel_max_seconds,
                                        max_tunnels_per_deployment=args.max_tunnels_per_deployment,
                                        websocket_messages=MessageLimits(
                                            max_message_bytes=args.ws_max_message_kb * 1024,
                                            messages_in_per_second=args.ws_messages_in_per_second,
                                            messages_out_per_second=args.ws_messages_out_per_second)),
                      access_log=args.access_log)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)


async def _main(config: EdgeConfig) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            ctx = await nursery.start(run_edge, config)
            print(f"mockfleet edge listening on https://{config.bind}:{config.https_port}", flush=True)
            async for _ in signals:
                break
            ctx.stop_accepting()
            await ctx.open_tunnels.close_all(SHUTDOWN, CLOSE_GRACE + 0.5)  # WebSockets get a close frame (1001)
            nursery.cancel_scope.cancel()


def run(args: argparse.Namespace) -> int:
    places = places_from(args)
    configure_logging()
    try:
        files = tls_files(args, places.cert_dir, places.domain, places.server_id)
        config = edge_config(args, places.control_socket, files, places.api_host, usage_ledger=places.usage_ledger)
    except CertificateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    limits = config.limits or EdgeLimits()
    open_files = raise_open_files(limits.max_connections)
    if open_files.warning:
        logging.getLogger("mockfleet.edge").warning("%s", open_files.warning)
    config.limits = dataclasses.replace(limits, max_connections=open_files.max_connections)
    trio.run(_main, config)
    return 0
