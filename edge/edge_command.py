"""``mockfleet edge`` (``python -m edge``): the network-facing process, alone (``mockfleet up`` runs it
with the supervisor), and ``python -m edge certificates``, which ``up`` runs first to make the TLS files
and learn where they are."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

import msgspec
import trio

from schemas.platform_flags import add_edge_arguments, add_platform_arguments, places_from
from schemas.tls_files import operator_tls_files

from .certificates import CertificateError, TlsFiles, ensure_local_certificates, sni_context
from .proxy import EdgeLimits
from .server import EdgeConfig, run_edge


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("edge", help="run the edge alone, next to a running supervisor")
    add_platform_arguments(p)
    add_edge_arguments(p)
    p.set_defaults(func=run)


def add_certificates_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("certificates", help="make the local CA and certificates (once) unless --tls-cert/--tls-key "
                                            "are given, check they load, print where they are (JSON)")
    add_platform_arguments(p)  # the edge's own flags: `up` hands both commands the same list
    add_edge_arguments(p)
    p.set_defaults(func=run_certificates)


def tls_files(args: argparse.Namespace, cert_dir: Path, domain: str, server_id: str) -> TlsFiles:
    given = operator_tls_files(args.tls_cert, args.tls_key, args.api_tls_cert, args.api_tls_key)
    if given:
        return TlsFiles.at(given)
    return ensure_local_certificates(cert_dir, domain, server_id)


def run_certificates(args: argparse.Namespace) -> int:
    """Prints a ``schemas.tls_files.TlsLocations`` on stdout; exit 2 with the reason when files do not load."""
    places = places_from(args)
    try:
        files = tls_files(args, places.cert_dir, places.domain, places.server_id)
        sni_context(files, places.api_host)  # an operator's files that do not load are said before anything starts
    except CertificateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.buffer.write(msgspec.json.encode(files.locations()) + b"\n")
    return 0


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
                                        max_tunnels_per_deployment=args.max_tunnels_per_deployment),
                      access_log=args.access_log)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)


async def _main(config: EdgeConfig) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(run_edge, config)
            print(f"mockfleet edge listening on https://{config.bind}:{config.https_port}", flush=True)
            async for _ in signals:
                break
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
    trio.run(_main, config)
    return 0
