"""``mockfleet edge``: the network-facing process, alone (``mockfleet up`` runs it with the supervisor)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import trio

from .certificates import CertificateError, TlsFiles, ensure_local_certificates, sni_context
from .proxy import EdgeLimits
from .server import EdgeConfig, run_edge
from .websocket_guard import SHUTDOWN, MessageLimits
from .websocket_tunnel import CLOSE_GRACE


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


def add_parser(sub: argparse._SubParsersAction) -> None:
    from supervisor.supervise_command import add_platform_arguments

    p = sub.add_parser("edge", help="run the edge alone, next to a running supervisor")
    add_platform_arguments(p)
    add_edge_arguments(p)
    p.set_defaults(func=run)


def tls_files(args: argparse.Namespace, cert_dir: Path, domain: str, server_id: str) -> TlsFiles:
    if args.tls_cert and args.tls_key:
        return TlsFiles(args.tls_cert, args.tls_key, args.api_tls_cert or args.tls_cert,
                        args.api_tls_key or args.tls_key)
    return ensure_local_certificates(cert_dir, domain, server_id)


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
    from supervisor.supervise_command import settings_from

    settings = settings_from(args)
    configure_logging()
    try:
        files = tls_files(args, settings.data_dir / "certs", settings.domain, settings.server_id)
        config = edge_config(args, settings.control_socket, files, settings.api_host,
                             usage_ledger=settings.data_dir / "edge" / "usage.ledger")
    except CertificateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    trio.run(_main, config)
    return 0
